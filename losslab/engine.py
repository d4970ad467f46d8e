"""Single runs of torch optimizers: a validated config in, an iterator of frames out.

Three other places step torch optimizers, each for a reason of its own: batched_optim.py
steps a whole grid of runs as one tensor (maps and sweeps, pinned to this module's runs by
tests), network.py trains every weight of the MLP (not a 2D point), and script.py writes the
standalone script a run is exported as. Everything that moves a 2D point one run at a time
comes here.

Each step is the plain torch loop `zero_grad(); loss.backward(); step()` on one leaf tensor,
so a trajectory is exactly what that loop produces. Other optimizer families are stepped as
their authors document (optimizer_catalog.FAMILIES): a closure for LBFGS, AliG and the SAM
family, the gradient's graph kept for the Hessian-based ones, and Schedule-Free frames at
the evaluation point. Frame k is the state after k steps: the
point, the loss and gradient there, the learning rate in force and the optimizer's state.

When a run ends early:
- **diverged**: a value of the next frame (point, loss, gradient or optimizer state) is not
  finite (that frame is not emitted, so the last frame is the last finite one), or the point
  lies more than `DIVERGENCE_SPAN_FACTOR` domain widths from the domain's centre along either
  axis (that frame is emitted, it is finite), or the library raised inside a later step()
  (the reason quotes it; the frame before that step is the last);
- **converged**: after at least one step, both the gradient norm and the length of the last
  step are at most `sqrt(machine epsilon)` of the dtype (3.5e-4 in float32, 1.5e-8 in
  float64): the point is stationary and the optimizer has stopped moving it. The gradient
  judged is the loss's own (`true_grad` where a frame has it): with mini-batches the
  full-data gradient, with noise or clipping the gradient before them. A batch whose own
  gradient vanishes says nothing about the loss.

A run is bounded in time: `Trajectory(config, time_limit, should_stop)` raises `RunTimeout`
once the run has computed for `time_limit` seconds (time spent suspended between frames does
not count) and `RunCancelled` once `should_stop()` is true. Both are checked before every
step and inside every closure evaluation, so even one long LBFGS step stops in time.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict, cast

import torch

from .config import get_settings
from .errors import InvalidInput
from .hyperparameters import Hyperparameter
from .landscapes.surfaces import Surface, get_surface
from .optimizers import (
    LIBRARY_ERRORS,
    OptimizerSpec,
    blame_hyperparameters,
    get_optimizer,
)
from .randomness import RunRandomness
from .schedulers import SchedulerConfig, SchedulerError

Status = Literal["converged", "diverged", "max_steps"]
DType = Literal["float32", "float64"]
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
DIVERGENCE_SPAN_FACTOR = 100.0
SCRATCH_STEP_SECONDS = 5.0
"""The validation step (see `make_config`) may take this long (an LBFGS step on a costly
formula can evaluate it a hundred times); longer is a RunTimeout."""


class _FrameFields(TypedDict):
    step: int
    x: float
    y: float
    loss: float
    grad: list[float]
    lr: float | None
    """The first parameter group's learning rate; None where the optimizer has none (AliG
    sets its own step size, A2Grad's lr may be None)."""
    state: dict[str, float | list[float]]


class Frame(_FrameFields, total=False):
    ascent: list[float]
    """Sharpness-aware runs: the ascent point w + ε(w) where the step leaving this frame took
    its second gradient (the closure's point)."""
    train_point: list[float]
    """Schedule-Free runs: the training point y where step() takes its gradient (`x`, `y`
    are the evaluation point that optimizer.eval() puts in the parameters)."""
    train_loss: float
    """Schedule-Free runs: the loss at `train_point`."""
    true_grad: list[float]
    """With noise or clipping, the loss's own gradient before them; with mini-batches, the
    full-data gradient. `grad` is always what step() saw."""
    batch_loss: float
    """Models only: the loss of the batch this step trains on (`loss` is the full-data loss)."""
    epoch: int
    """Models only: the pass over the data this batch belongs to."""


class RunTimeout(Exception):
    """A run went past its wall-clock limit (a server limit, not the client's fault)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the run exceeded the server's {seconds:g} s limit")
        self.seconds = seconds


class RunCancelled(Exception):
    """should_stop() asked a run to stop: its client left, or a newer run replaced it."""


class RunClock:
    """A run's compute-time budget and its stop signal, checked between and inside steps."""

    def __init__(
        self, time_limit: float | None, should_stop: Callable[[], bool] | None = None
    ) -> None:
        self.time_limit = time_limit
        self.should_stop = should_stop
        self.spent = 0.0
        self._resumed: float | None = None

    def resume(self) -> None:
        self._resumed = time.perf_counter()

    def pause(self) -> None:
        if self._resumed is not None:
            self.spent += time.perf_counter() - self._resumed
            self._resumed = None

    def elapsed(self) -> float:
        running = 0.0 if self._resumed is None else time.perf_counter() - self._resumed
        return self.spent + running

    def check(self) -> None:
        """Raise RunCancelled or RunTimeout when the run must stop now."""
        if self.should_stop is not None and self.should_stop():
            raise RunCancelled
        if self.time_limit is not None and self.elapsed() > self.time_limit:
            raise RunTimeout(self.time_limit)


class InvalidRun(InvalidInput):
    """A run config that cannot run: bad start, steps or dtype, or values torch refuses."""


@dataclass(frozen=True)
class Clip:
    """clip_grad_norm_(max_norm, norm_type) or, with max_value, clip_grad_value_."""

    max_norm: float | None = None
    norm_type: float = 2.0
    max_value: float | None = None

    def apply(self, param: torch.Tensor) -> None:
        if self.max_value is not None:
            torch.nn.utils.clip_grad_value_([param], self.max_value)
        else:
            assert self.max_norm is not None
            torch.nn.utils.clip_grad_norm_([param], self.max_norm, self.norm_type)


@dataclass(frozen=True)
class Noise:
    """Gaussian noise of standard deviation `std` added to every gradient, from `seed`."""

    std: float
    seed: int = 0


@dataclass(frozen=True)
class RunConfig:
    surface: Surface
    optimizer: OptimizerSpec
    hyperparameters: Mapping[str, Any]
    start: tuple[float, float]
    steps: int
    dtype: DType = "float32"
    scheduler: SchedulerConfig | None = None
    clip: Clip | None = None
    noise: Noise | None = None
    param_groups: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
    """x and y as two parameter groups, each group's settings over `hyperparameters`:
    `SGD([{"params": [x], **groups[0]}, {"params": [y], **groups[1]}], **hyperparameters)`."""

    @property
    def transforms_gradient(self) -> bool:
        return self.clip is not None or self.noise is not None

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def tolerance(self) -> float:
        return math.sqrt(torch.finfo(self.torch_dtype).eps)

    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The box outside which a run counts as diverged, per axis (lo, hi)."""
        return divergence_bounds(self.surface)


def divergence_bounds(surface: Surface) -> tuple[tuple[float, float], tuple[float, float]]:
    """The box outside which a run on `surface` counts as diverged, per axis (lo, hi)."""
    box = []
    for lo, hi in (surface.domain.x, surface.domain.y):
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
    max_steps: int | None = None,
    scheduler: SchedulerConfig | None = None,
    clip: Clip | None = None,
    noise: Noise | None = None,
    param_groups: Sequence[Mapping[str, object]] | None = None,
) -> RunConfig:
    """Validate a run request field by field; raise an InvalidInput naming the culprit."""
    surf = surface if isinstance(surface, Surface) else get_surface(surface)
    spec = get_optimizer(optimizer)
    values = spec.coerce(hyperparameters or {})
    groups = None if param_groups is None else _groups(spec, param_groups, clip, noise)
    if groups is not None and surf.parameters != 2:
        raise InvalidRun(("param_groups",), "param_groups split x and y; this model has one")
    if dtype not in DTYPES:
        raise InvalidRun(("dtype",), f"dtype must be one of {list(DTYPES)}")
    if max_steps is None:
        max_steps = get_settings().max_steps
    if not 1 <= steps <= max_steps:
        raise InvalidRun(("steps",), f"steps must be between 1 and {max_steps}")
    point = tuple(float(v) for v in (surf.default_start if start is None else start))
    if surf.parameters == 1 and start is not None:
        # A one-parameter model starts at [w]; its run keeps the second coordinate at 0.
        if len(point) != 1 or not math.isfinite(point[0]):
            raise InvalidRun(("start",), "this model has one parameter: start must be [w]")
        point = (point[0], 0.0)
    if len(point) != 2 or not all(math.isfinite(v) for v in point):
        raise InvalidRun(("start",), "start must be two finite numbers [x, y]")
    config = RunConfig(
        surf, spec, values, (point[0], point[1]), steps, dtype,  # type: ignore[arg-type]
        scheduler=scheduler, clip=clip, noise=noise, param_groups=groups,
    )  # fmt: skip
    (xlo, xhi), (ylo, yhi) = config.bounds()
    if not (xlo <= point[0] <= xhi and ylo <= point[1] <= yhi):
        raise InvalidRun(
            ("start",),
            f"start must lie within x in [{xlo:g}, {xhi:g}] and y in [{ylo:g}, {yhi:g}]",
        )
    _check_start(config)
    _check_torch_accepts(config)
    return config


def param_groups_refusal(spec: OptimizerSpec) -> str | None:
    """Why `spec` cannot take x and y as two parameter groups, or None when it can."""
    if spec.family != "first_order" or spec.wraps or spec.group_options or spec.takes_model:
        return (
            f"{spec.name} is not stepped as a plain optimizer over its parameters; "
            "param_groups take a first-order torch-style optimizer (SGD, Adam, Lion, ...)"
        )
    if spec.param_shape != (2,):
        return f"{spec.name} steps the point as a matrix"
    return None


def _groups(
    spec: OptimizerSpec,
    groups: Sequence[Mapping[str, object]],
    clip: Clip | None,
    noise: Noise | None,
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Two parameter groups (x, then y), each a mapping of the optimizer's own settings."""
    refusal = param_groups_refusal(spec)
    if refusal is not None:
        raise InvalidRun(("param_groups",), refusal)
    if clip is not None or noise is not None:
        raise InvalidRun(("param_groups",), "param_groups do not combine with clip or noise yet")
    if isinstance(groups, str | bytes) or not isinstance(groups, Sequence) or len(groups) != 2:
        raise InvalidRun(
            ("param_groups",), "param_groups must be two objects: x's settings, then y's"
        )
    coerced = []
    for index, group in enumerate(groups):
        if not isinstance(group, Mapping):
            raise InvalidRun(("param_groups", index), "a parameter group must be an object")
        try:
            coerced.append(spec.coerce(group))
        except InvalidInput as error:
            raise InvalidRun(("param_groups", index, *error.loc[1:]), error.message) from None
    return coerced[0], coerced[1]


def _check_start(config: RunConfig) -> None:
    point = torch.tensor(config.start, dtype=config.torch_dtype, requires_grad=True)
    loss = config.surface.fn(point)
    loss.backward()
    assert point.grad is not None
    if not (torch.isfinite(loss) and torch.isfinite(point.grad).all()):
        raise InvalidRun(("start",), "the loss or its gradient is not finite at start")


def _check_torch_accepts(config: RunConfig) -> None:
    """Build the run and take one step on a scratch copy, as the run will.

    torch validates some values only at construction and some only in step(); either way the
    client hears about it before any frame is streamed. The culprit is found by retrying with
    one user value at a time.
    """
    bare = replace(config, scheduler=None, param_groups=None)
    blame_hyperparameters(functools.partial(_scratch_step, bare), config.hyperparameters)
    if config.param_groups is not None:
        try:
            _scratch_step(replace(config, scheduler=None), config.hyperparameters)
        except LIBRARY_ERRORS as error:
            raise InvalidRun(
                ("param_groups",), f"the optimizer rejects these param_groups: {error}"
            ) from None
    if config.scheduler is not None:
        spec = config.optimizer
        if not any(hp.name == "lr" for hp in _all_settings(spec, config.hyperparameters)):
            message = f"{spec.name} has no learning rate for a scheduler to set"
            raise SchedulerError(("name",), message)
        try:
            _scratch_step(config, config.hyperparameters)
        except LIBRARY_ERRORS as error:
            raise SchedulerError(("params",), f"torch rejects this scheduler: {error}") from None


def _all_settings(spec: OptimizerSpec, values: Mapping[str, Any]) -> list[Hyperparameter]:
    """An optimizer's settings, and its base's for a wrapper."""
    base = spec.base_of(values)
    return [*spec.hyperparameters, *(base.hyperparameters if base else ())]


def _scratch_step(config: RunConfig, hyperparameters: Mapping[str, Any]) -> None:
    clock = RunClock(SCRATCH_STEP_SECONDS)
    clock.resume()
    run = _Run(config, hyperparameters, clock)
    run.step(run.evaluate().item())


class _Run:
    """The torch objects of one run: the point, its optimizer, scheduler and noise source."""

    def __init__(
        self,
        config: RunConfig,
        hyperparameters: Mapping[str, Any],
        clock: RunClock | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        spec = config.optimizer
        param = torch.tensor(config.start, dtype=config.torch_dtype)
        self.randomness = RunRandomness(
            0 if config.noise is None else config.noise.seed,
            needed=spec.source != "torch.optim",
        )
        self.leaves: list[torch.Tensor] | None = None
        if config.surface.parameters == 1:
            # w alone: nn.Linear(1, 1, bias=False)'s weight (a 1×1 matrix for optimizers
            # that step matrices).
            shape = (1,) if spec.param_shape == (2,) else (1, 1)
            self.param = param[:1].reshape(shape).requires_grad_()
            with self.randomness.active():
                self.optimizer = spec.create([self.param], hyperparameters)
        elif config.param_groups is None:
            self.param = param.reshape(spec.param_shape).requires_grad_()
            with self.randomness.active():
                self.optimizer = spec.create([self.param], hyperparameters)
        else:
            # x and y are leaves of their own, one per group; `param` mirrors them (their
            # values and gradients) for the frames.
            self.param = param
            self.leaves = [param[0:1].clone().requires_grad_(), param[1:2].clone().requires_grad_()]
            groups = [
                {**hyperparameters, **group, "params": [leaf]}
                for leaf, group in zip(self.leaves, config.param_groups, strict=True)
            ]
            with self.randomness.active():
                self.optimizer = spec.create_per_group(groups)
        if spec.family == "schedule_free":
            self.optimizer.train()  # type: ignore[attr-defined]
        self.ascent: list[float] | None = None
        self.scheduler = (
            None
            if config.scheduler is None
            else config.scheduler.create(self.optimizer, config.steps)
        )
        self.noise = None
        if config.noise is not None:
            self.noise = torch.Generator().manual_seed(config.noise.seed)
        self.true_grad: list[float] | None = None
        # A surface made of data gives every step its batch (a DataLoader's, or all of it).
        self.surface = config.surface
        self.batches = self.surface.batches(config.torch_dtype)
        self.batch: tuple[torch.Tensor, torch.Tensor, int] | None = None

    @property
    def point(self) -> torch.Tensor:
        if self.leaves is not None:
            return torch.cat(self.leaves)
        return self.param if self.param.dim() == 1 else self.param.reshape(-1)

    def raw_state(self) -> dict[str, Any]:
        """The optimizer's state for the point: with two groups, each value of x's and y's
        state side by side (a per-element tensor), or x's (a step count, a number)."""
        if self.leaves is None:
            return _param_state(self.optimizer, self.param)
        x, y = (self.optimizer.state.get(leaf, {}) for leaf in self.leaves)
        merged: dict[str, Any] = {}
        for name, value in x.items():
            other = y.get(name)
            if isinstance(value, torch.Tensor) and value.dim() and isinstance(other, torch.Tensor):
                merged[name] = torch.cat([value.reshape(-1), other.reshape(-1)])
            else:
                merged[name] = value
        return merged

    def next_batch(self) -> None:
        """Draw the data the next step trains on (surfaces of data only): one per step."""
        if self.batches is not None:
            self.batch = next(self.batches)

    def objective(self) -> torch.Tensor:
        """What the optimizer follows: the surface, or its loss on the current batch."""
        if self.batches is None:
            return self.surface.fn(self.point)
        if self.batch is None:
            self.next_batch()
        assert self.batch is not None
        x, y, _ = self.batch
        return self.surface.batch_loss(self.point, x, y)

    def evaluation_point(self) -> torch.Tensor:
        """Schedule-Free: the point optimizer.eval() puts in the parameters.

        eval() and train() move the parameters by interpolation, which does not round-trip
        exactly in floating point; so after train() the training point is restored as it
        was, and the training sequence is the one a loop that never calls eval() follows.
        """
        saved = self.param.detach().clone()
        self.optimizer.eval()  # type: ignore[attr-defined]
        point = self.point.detach().clone()
        self.optimizer.train()  # type: ignore[attr-defined]
        with torch.no_grad():
            self.param.copy_(saved)
        return point

    def data_fields(self) -> dict[str, Any]:
        """Frame fields of a run on data: the full-data loss, the epoch, the full gradient."""
        assert self.batch is not None
        point = self.point.detach().requires_grad_()
        full = self.surface.fn(point)
        (grad,) = torch.autograd.grad(full, point)
        fields: dict[str, Any] = {"loss": full.item(), "epoch": self.batch[2]}
        if self.surface.mini_batched:
            fields["true_grad"] = _pair(grad.reshape(-1).tolist())
        return fields

    def evaluate(self) -> torch.Tensor:
        """zero_grad(); loss.backward(); then noise and clipping, as a torch user would."""
        param, config = self.param, self.config
        if self.clock is not None:
            self.clock.check()
        self.optimizer.zero_grad()
        loss = self.objective()
        if self.config.optimizer.family == "hessian":
            # backward(create_graph=True), as these optimizers document: their Hutchinson
            # probes differentiate the gradient again. autograd.grad computes the same
            # gradient without backward()'s warning about the parameter-gradient cycle
            # (zero_grad() breaks that cycle every step).
            (param.grad,) = torch.autograd.grad(loss, param, create_graph=True)
        else:
            loss.backward()
        if self.leaves is not None:
            with torch.no_grad():
                param.copy_(torch.cat([leaf.detach() for leaf in self.leaves]))
            param.grad = torch.cat([_grad_of(leaf) for leaf in self.leaves])
        if config.transforms_gradient:
            grad = param.grad
            assert grad is not None
            self.true_grad = _pair(grad.reshape(-1).tolist())
            if config.noise is not None:
                noise = torch.randn(param.shape, generator=self.noise, dtype=param.dtype)
                grad.add_(noise * config.noise.std)
            if config.clip is not None:
                config.clip.apply(param)
        return loss

    def _closure(self) -> torch.Tensor:
        """evaluate() with gradients on (optimizers call closures under no_grad); for a
        sharpness-aware run it first notes the point it is called at: the ascent point."""
        if self.config.optimizer.family == "sharpness":
            self.ascent = _pair(self.point.detach().reshape(-1).tolist())
        with torch.enable_grad():
            return self.evaluate()

    def step(self, loss: float) -> None:
        """optimizer.step() (with a closure where the family takes one), then
        scheduler.step()."""
        self.ascent = None
        with self.randomness.active():
            if self.config.optimizer.needs_closure:
                # torch types the closure as returning float; LBFGS takes float() of a tensor.
                self.optimizer.step(cast(Callable[[], float], self._closure))
            else:
                self.optimizer.step()
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(loss)
        else:
            self.scheduler.step()


class Trajectory:
    """Iterating yields the frames of one run; `status` and `reason` are set when it ends.

    `clock` bounds the run (see the module's docstring); iterating may raise RunTimeout or
    RunCancelled. The iterator may be advanced from different threads, one at a time.
    """

    def __init__(
        self,
        config: RunConfig,
        time_limit: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.config = config
        self.clock = RunClock(time_limit, should_stop)
        self.status: Status | None = None
        self.reason = ""

    def __iter__(self) -> Iterator[Frame]:
        clock = self.clock
        clock.resume()
        try:
            for frame in self._frames():
                clock.pause()
                yield frame
                clock.resume()
        finally:
            clock.pause()

    def _frames(self) -> Iterator[Frame]:
        config = self.config
        run = _Run(config, config.hyperparameters, self.clock)
        (xlo, xhi), (ylo, yhi) = config.bounds()
        tol = config.tolerance
        previous: tuple[float, float] | None = None
        for step in range(config.steps + 1):
            run.next_batch()
            loss = run.evaluate()
            frame = _frame(step, run.param, loss, run.optimizer, run.raw_state())
            if frame is not None and run.true_grad is not None:
                frame["true_grad"] = run.true_grad
            if frame is not None and run.batches is not None:
                frame["batch_loss"] = frame["loss"]
                frame.update(run.data_fields())  # type: ignore[typeddict-item]
                if not math.isfinite(frame["loss"]):
                    frame = None
            if frame is not None and config.optimizer.family == "schedule_free":
                frame = _at_evaluation_point(frame, run)
            if frame is None:
                self._end("diverged", f"a value became non-finite at step {step}")
                return
            ending = self._ending(frame, previous, step, ((xlo, xhi), (ylo, yhi)), tol)
            if ending is None:
                # The step leaving this frame is taken before the frame is emitted, so a
                # sharpness-aware frame can say where that step looked (its ascent point).
                try:
                    run.step(frame["loss"])
                except LIBRARY_ERRORS as error:
                    # The scratch step (make_config) took the first step; a library that
                    # breaks down later (a preconditioner's eigh on a degenerate matrix) ends
                    # the run here, as numbers that stopped making sense.
                    name = config.optimizer.name
                    ending = "diverged", f"{name} failed in step {step + 1}: {error}"
                if run.ascent is not None:
                    frame["ascent"] = run.ascent
            yield frame
            if ending is not None:
                self._end(*ending)
                return
            previous = (frame["x"], frame["y"])

    def _ending(
        self,
        frame: Frame,
        previous: tuple[float, float] | None,
        step: int,
        box: tuple[tuple[float, float], tuple[float, float]],
        tol: float,
    ) -> tuple[Status, str] | None:
        """How the run ends at this frame (status and reason), or None when it goes on."""
        (xlo, xhi), (ylo, yhi) = box
        x, y = frame["x"], frame["y"]
        if not (xlo <= x <= xhi and ylo <= y <= yhi):
            return "diverged", f"the point left the divergence bound at step {step}"
        if previous is not None:
            grad_norm = math.hypot(*frame.get("true_grad", frame["grad"]))
            moved = math.hypot(x - previous[0], y - previous[1])
            if grad_norm <= tol and moved <= tol:
                return (
                    "converged",
                    f"gradient norm {grad_norm:.2g} and step {moved:.2g} are below {tol:.2g}",
                )
        if step == self.config.steps:
            return "max_steps", f"took all {self.config.steps} steps"
        return None

    def _end(self, status: Status, reason: str) -> None:
        self.status, self.reason = status, reason


def _at_evaluation_point(frame: Frame, run: _Run) -> Frame | None:
    """A Schedule-Free frame moved to the evaluation point, the training point kept beside.

    The loss is the loss there (the full-data loss on data); `grad` stays what step() saw,
    at the training point. None when a value at the evaluation point is not finite.
    """
    point = run.evaluation_point()
    with torch.no_grad():
        loss = run.surface.fn(point.to(run.param.dtype)).item()
    x, y = _pair(point.reshape(-1).tolist())
    if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(loss)):
        return None
    frame["train_point"] = [frame["x"], frame["y"]]
    frame["train_loss"] = frame["loss"]
    frame["x"], frame["y"], frame["loss"] = x, y, loss
    return frame


def _frame(
    step: int,
    param: torch.Tensor,
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    raw_state: Mapping[str, Any],
) -> Frame | None:
    """The frame for the current point, or None when any of its values is not finite. A
    one-parameter run's frame has x = w, y = 0 and a gradient of 0 along y."""
    x, y = _pair(param.detach().reshape(-1).tolist())
    grad = _pair(param.grad.reshape(-1).tolist()) if param.grad is not None else [0.0, 0.0]
    loss_value = loss.item()
    state = _state(raw_state)
    finite = math.isfinite
    if not (finite(x) and finite(y) and finite(loss_value) and finite(grad[0]) and finite(grad[1])):
        return None
    if state is None:
        return None
    lr = optimizer.param_groups[0].get("lr")
    if isinstance(lr, torch.Tensor):
        lr = lr.item()
    if not isinstance(lr, int | float) or isinstance(lr, bool) or not finite(lr):
        lr = None
    return {
        "step": step,
        "x": x,
        "y": y,
        "loss": loss_value,
        "grad": grad,
        "lr": None if lr is None else float(lr),
        "state": state,
    }


def _pair(values: list[float]) -> list[float]:
    """A point or gradient as (x, y): a one-parameter run's w, and 0 along y."""
    return values if len(values) == 2 else [values[0], 0.0]


def _grad_of(leaf: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(leaf) if leaf.grad is None else leaf.grad.detach()


def _param_state(optimizer: torch.optim.Optimizer, param: torch.Tensor) -> dict[str, Any]:
    """The optimizer's state for `param`; a wrapper's merged over its base's (Lookahead
    keeps slow weights in its own state, the base keeps its moments in its own)."""
    state: dict[str, Any] = {}
    inner = getattr(optimizer, "optimizer", None)
    if isinstance(inner, torch.optim.Optimizer) and inner is not optimizer:
        state |= inner.state.get(param, {})
    state |= optimizer.state.get(param, {})
    return state


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


def run(
    config: RunConfig,
    time_limit: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Status, list[Frame], Summary]:
    """Run to the end: status, all frames and the summary."""
    trajectory = Trajectory(config, time_limit, should_stop)
    frames = list(trajectory)
    assert trajectory.status is not None
    return trajectory.status, frames, summarize(frames, trajectory.status, trajectory.reason)
