"""The only place that steps torch optimizers: a validated config in, an iterator of frames out.

Each step is the plain torch loop `zero_grad(); loss.backward(); step()` on one leaf tensor,
so a trajectory is exactly what that loop produces. Frame k is the state after k steps: the
point, the loss and gradient there, the learning rate in force and the optimizer's state.

When a run ends early:
- **diverged**: a value of the next frame (point, loss, gradient or optimizer state) is not
  finite (that frame is not emitted, so the last frame is the last finite one), or the point
  lies more than `DIVERGENCE_SPAN_FACTOR` domain widths from the domain's centre along either
  axis (that frame is emitted, it is finite);
- **converged**: after at least one step, both the gradient norm and the length of the last
  step are at most `sqrt(machine epsilon)` of the dtype (3.5e-4 in float32, 1.5e-8 in
  float64): the point is stationary and the optimizer has stopped moving it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import torch

from app.errors import InvalidInput
from app.optimizers import HyperparameterError, OptimizerSpec, get_optimizer
from app.surfaces import Surface, get_surface

Status = Literal["converged", "diverged", "max_steps"]
DType = Literal["float32", "float64"]
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
DIVERGENCE_SPAN_FACTOR = 100.0


class Frame(TypedDict):
    step: int
    x: float
    y: float
    loss: float
    grad: list[float]
    lr: float
    state: dict[str, float | list[float]]


class InvalidRun(InvalidInput):
    """A run config that cannot run: bad start, steps or dtype, or values torch refuses."""


@dataclass(frozen=True)
class RunConfig:
    surface: Surface
    optimizer: OptimizerSpec
    hyperparameters: Mapping[str, Any]
    start: tuple[float, float]
    steps: int
    dtype: DType = "float32"

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def tolerance(self) -> float:
        return math.sqrt(torch.finfo(self.torch_dtype).eps)

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The box outside which a run counts as diverged, per axis (lo, hi)."""
        box = []
        for lo, hi in (self.surface.domain.x, self.surface.domain.y):
            centre, reach = (lo + hi) / 2, DIVERGENCE_SPAN_FACTOR * (hi - lo)
            box.append((centre - reach, centre + reach))
        return box[0], box[1]


@dataclass
class Summary:
    final_loss: float
    steps_taken: int
    final_x: float
    final_y: float
    final_grad_norm: float
    best_loss: float
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def make_config(
    *,
    surface: str | Surface,
    optimizer: str,
    hyperparameters: Mapping[str, object] | None = None,
    start: Sequence[float] | None = None,
    steps: int = 100,
    dtype: str = "float32",
    max_steps: int = 10_000,
) -> RunConfig:
    """Validate a run request field by field; raise an InvalidInput naming the culprit."""
    surf = surface if isinstance(surface, Surface) else get_surface(surface)
    spec = get_optimizer(optimizer)
    values = spec.coerce(hyperparameters or {})
    if dtype not in DTYPES:
        raise InvalidRun(("dtype",), f"dtype must be one of {list(DTYPES)}")
    if not 1 <= steps <= max_steps:
        raise InvalidRun(("steps",), f"steps must be between 1 and {max_steps}")
    point = tuple(float(v) for v in (surf.default_start if start is None else start))
    if len(point) != 2 or not all(math.isfinite(v) for v in point):
        raise InvalidRun(("start",), "start must be two finite numbers [x, y]")
    config = RunConfig(surf, spec, values, (point[0], point[1]), steps, dtype)  # type: ignore[arg-type]
    (xlo, xhi), (ylo, yhi) = config.bounds()
    if not (xlo <= point[0] <= xhi and ylo <= point[1] <= yhi):
        raise InvalidRun(
            ("start",),
            f"start must lie within x in [{xlo:g}, {xhi:g}] and y in [{ylo:g}, {yhi:g}]",
        )
    _check_start(config)
    _check_torch_accepts(config)
    return config


def _check_start(config: RunConfig) -> None:
    point = torch.tensor(config.start, dtype=config.torch_dtype, requires_grad=True)
    loss = config.surface.fn(point)
    loss.backward()
    assert point.grad is not None
    if not (torch.isfinite(loss) and torch.isfinite(point.grad).all()):
        raise InvalidRun(("start",), "the loss or its gradient is not finite at start")


def _check_torch_accepts(config: RunConfig) -> None:
    """Construct the optimizer and take one step on a scratch copy, as the run will.

    torch validates some values only at construction and some only in step(); either way the
    client hears about it before any frame is streamed. The culprit is found by retrying with
    one user value at a time.
    """
    try:
        _scratch_step(config, config.hyperparameters)
    except (ValueError, RuntimeError, TypeError) as error:
        for name, value in config.hyperparameters.items():
            try:
                _scratch_step(config, {name: value})
            except (ValueError, RuntimeError, TypeError) as alone:
                raise HyperparameterError((name,), f"torch rejects {name}: {alone}") from None
        raise HyperparameterError((), f"torch rejects these hyperparameters: {error}") from None


def _scratch_step(config: RunConfig, hyperparameters: Mapping[str, Any]) -> None:
    trajectory = Trajectory(config)
    param, optimizer = trajectory.setup(hyperparameters)
    trajectory.step(optimizer, lambda: trajectory.evaluate(param, optimizer))


class Trajectory:
    """Iterating yields the frames of one run; `status` and `reason` are set when it ends."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.status: Status | None = None
        self.reason = ""

    def setup(
        self, hyperparameters: Mapping[str, Any]
    ) -> tuple[torch.Tensor, torch.optim.Optimizer]:
        spec = self.config.optimizer
        param = torch.tensor(self.config.start, dtype=self.config.torch_dtype)
        param = param.reshape(spec.param_shape).requires_grad_()
        return param, spec.create([param], hyperparameters)

    def evaluate(self, param: torch.Tensor, optimizer: torch.optim.Optimizer) -> torch.Tensor:
        optimizer.zero_grad()
        point = param if param.dim() == 1 else param.reshape(2)
        loss = self.config.surface.fn(point)
        loss.backward()
        return loss

    def step(self, optimizer: torch.optim.Optimizer, closure: Any) -> None:
        if self.config.optimizer.needs_closure:
            optimizer.step(closure)
        else:
            optimizer.step()

    def __iter__(self) -> Iterator[Frame]:
        config = self.config
        param, optimizer = self.setup(config.hyperparameters)
        (xlo, xhi), (ylo, yhi) = config.bounds()
        tol = config.tolerance

        def closure() -> torch.Tensor:
            return self.evaluate(param, optimizer)

        previous: tuple[float, float] | None = None
        for step in range(config.steps + 1):
            loss = closure()
            frame = _frame(step, param, loss, optimizer)
            if frame is None:
                self._end("diverged", f"a value became non-finite at step {step}")
                return
            yield frame
            x, y = frame["x"], frame["y"]
            if not (xlo <= x <= xhi and ylo <= y <= yhi):
                self._end("diverged", f"the point left the divergence bound at step {step}")
                return
            if previous is not None:
                grad_norm = math.hypot(*frame["grad"])
                moved = math.hypot(x - previous[0], y - previous[1])
                if grad_norm <= tol and moved <= tol:
                    self._end(
                        "converged",
                        f"gradient norm {grad_norm:.2g} and step {moved:.2g} are below {tol:.2g}",
                    )
                    return
            if step == config.steps:
                self._end("max_steps", f"took all {config.steps} steps")
                return
            previous = (x, y)
            self.step(optimizer, closure)

    def _end(self, status: Status, reason: str) -> None:
        self.status, self.reason = status, reason


def _frame(
    step: int, param: torch.Tensor, loss: torch.Tensor, optimizer: torch.optim.Optimizer
) -> Frame | None:
    """The frame for the current point, or None when any of its values is not finite."""
    x, y = param.detach().reshape(-1).tolist()
    grad = param.grad.reshape(-1).tolist() if param.grad is not None else [0.0, 0.0]
    loss_value = loss.item()
    state = _state(optimizer.state.get(param, {}))
    finite = math.isfinite
    if not (finite(x) and finite(y) and finite(loss_value) and finite(grad[0]) and finite(grad[1])):
        return None
    if state is None:
        return None
    lr = optimizer.param_groups[0]["lr"]
    return {
        "step": step,
        "x": x,
        "y": y,
        "loss": loss_value,
        "grad": grad,
        "lr": float(lr),
        "state": state,
    }


def _state(raw: Mapping[str, Any]) -> dict[str, float | list[float]] | None:
    """The optimizer's per-parameter state as numbers, or None when a value is not finite.

    Tensors become a number or a flat list; history lists (LBFGS) are left out.
    """
    state: dict[str, float | list[float]] = {}
    for name, value in raw.items():
        if isinstance(value, torch.Tensor):
            if value.numel() == 1:
                number = value.item()
                if not math.isfinite(number):
                    return None
                state[name] = float(number)
            else:
                numbers = value.reshape(-1).tolist()
                if not all(math.isfinite(v) for v in numbers):
                    return None
                state[name] = numbers
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                return None
            state[name] = float(value)
    return state


def summarize(frames: Sequence[Frame], status: Status, reason: str) -> Summary:
    last = frames[-1]
    return Summary(
        final_loss=last["loss"],
        steps_taken=last["step"],
        final_x=last["x"],
        final_y=last["y"],
        final_grad_norm=math.hypot(*last["grad"]),
        best_loss=min(frame["loss"] for frame in frames),
        reason=reason,
    )


def run(config: RunConfig) -> tuple[Status, list[Frame], Summary]:
    """Run to the end: status, all frames and the summary."""
    trajectory = Trajectory(config)
    frames = list(trajectory)
    assert trajectory.status is not None
    return trajectory.status, frames, summarize(frames, trajectory.status, trajectory.reason)
