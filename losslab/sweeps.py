"""Sweeps: the whole trajectory of one run for many values of one setting, in one batched pass.

A sweep takes a run's config and an axis: a numeric hyperparameter ("lr", "betas.0", ...) or a
coordinate of the start point ("start_x", "start_y"). Row i of the sweep is the run with the
axis's i-th value, stepped with every other row as one (N, 2) leaf (losslab/batched_optim.py), and
its frames are what the single run yields: the same points, losses and gradients, bit for bit
where the batched rule is (tests/test_sweeps.py), and the same stop (converged, diverged,
max_steps) at the same step.

Hyperparameter axes run on the per-cell rules (SGD, Adam, AdamW, RMSprop, Adagrad); start
axes run the element-wise torch.optim optimizers themselves (and Adafactor's row-wise rule),
as basin maps do. Everything else a sweep cannot replay cell by cell is refused before any
work, naming the field: other optimizers, schedulers, clipping, noise, mini-batches.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import batched_optim as batched
from . import maps
from .batched_optim import RULES, Trace
from .config import Settings, get_settings
from .engine import RunConfig
from .errors import InvalidInput
from .maps import Axis, InvalidAxis, InvalidMap
from .optimizers import OptimizerSpec

START_AXES = ("start_x", "start_y")
HYPERPARAMETER_OPTIMIZERS = RULES
START_OPTIMIZERS = maps.BASIN_ROWS | maps.BASIN_RULES
AXIS: tuple[str, ...] = ("axis",)
F64 = torch.float64
STATUS = {
    batched.RUNNING: "max_steps",
    batched.CONVERGED: "converged",
    batched.DIVERGED: "diverged",
}

MakeConfig = Callable[[Mapping[str, Any], tuple[float, float]], RunConfig]
"""Builds and validates a single run's config with these hyperparameters and start."""


@dataclass(frozen=True)
class Sweep:
    """Row i is the run with `values[i]`; the path arrays are (n, steps + 1) in the run's dtype,
    NaN after row i's last frame (frame `steps_taken[i]`)."""

    axis: Axis
    values: list[float]
    dtype: str
    status: list[str]
    steps_taken: list[int]
    final_loss: list[float | None]
    x: Tensor
    y: Tensor
    loss: Tensor
    grad_norm: Tensor

    PATHS = ("x", "y", "loss", "grad_norm")

    def header(self) -> dict[str, Any]:
        """Everything but the paths."""
        return {
            "axis": dataclasses.asdict(self.axis),
            "values": self.values,
            "dtype": self.dtype,
            "status": self.status,
            "steps_taken": self.steps_taken,
            "final_loss": self.final_loss,
        }

    def as_json(self) -> dict[str, Any]:
        """The JSON answer: each path a list per row, as long as the row's frames."""
        answer = self.header()
        lengths = [
            0 if loss is None else taken + 1
            for taken, loss in zip(self.steps_taken, self.final_loss, strict=True)
        ]
        for name in self.PATHS:
            rows = getattr(self, name).tolist()
            answer[name] = [row[:length] for row, length in zip(rows, lengths, strict=True)]
        return answer

    def arrays(self) -> dict[str, Tensor]:
        """The paths in the run's dtype (the gradient norm is computed in float64)."""
        dtype = self.x.dtype
        return {name: getattr(self, name).to(dtype) for name in self.PATHS}


def check(
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    start: tuple[float, float],
    make_config: MakeConfig,
    axis: Axis,
    *,
    limits: Settings | None = None,
) -> tuple[RunConfig, list[float]]:
    """Everything a sweep refuses, checked before any work: the config to sweep (that of the
    axis's first value) and the axis's values. `hyperparameters` and `start` are the run's
    own; `make_config` validates a single run's settings as the engine does."""
    limits = limits or get_settings()
    max_values, max_cell_steps = limits.max_sweep_values, limits.max_sweep_cell_steps
    if axis.name in START_AXES:
        if optimizer.name not in START_OPTIMIZERS:
            raise _unsupported(optimizer.name, START_OPTIMIZERS, "a start axis")
        values = _start_values(axis, max_values)
    else:
        if optimizer.name not in HYPERPARAMETER_OPTIMIZERS:
            raise _unsupported(optimizer.name, HYPERPARAMETER_OPTIMIZERS, "a hyperparameter axis")
        values = maps.axis_values(AXIS, axis, optimizer, max_values)
    settings = functools.partial(_row_settings, optimizer, hyperparameters, start, axis.name)
    config = _check_ends(make_config, settings, axis, values)
    if axis.name in START_AXES:
        maps.check_rows_independent(optimizer, config.hyperparameters)
    for field, present in (
        ("scheduler", config.scheduler is not None),
        ("clip", config.clip is not None),
        ("noise", config.noise is not None),
        ("param_groups", config.param_groups is not None),
    ):
        if present:
            raise InvalidMap(
                (field,),
                f"sweeps replay plain optimizer steps; a run with a {field} is not swept "
                "(run it on its own)",
            )
    maps.check_surface(config.surface)
    if len(values) * config.steps > max_cell_steps:
        raise InvalidMap(
            ("steps",),
            f"{len(values)} values × {config.steps} steps exceeds the limit of "
            f"{max_cell_steps:,}; ask for fewer values or steps",
        )
    return config, values


def _unsupported(name: str, supported: frozenset[str], what: str) -> InvalidMap:
    return InvalidMap(
        ("optimizer",),
        f"{what} is swept for {', '.join(sorted(supported))}; {name} has no batched rule "
        "for it (run it on its own)",
    )


def _start_values(axis: Axis, most: int) -> list[float]:
    """The start axis's values; whether they lie in the domain is the single runs' check."""
    maps.check_count((*AXIS, "n"), axis.n, most)
    for field, value in (("min", axis.min), ("max", axis.max)):
        if not maps.is_finite_number(value):
            raise InvalidAxis(AXIS, field, f"{field} must be a finite number")
    if not axis.min < axis.max:
        raise InvalidAxis(AXIS, "max", "max must be greater than min")
    if axis.log and axis.min <= 0:
        raise InvalidAxis(AXIS, "min", "a log axis needs min > 0")
    return axis.values()


def _check_ends(
    make_config: MakeConfig,
    settings: Callable[[float], tuple[dict[str, Any], tuple[float, float]]],
    axis: Axis,
    values: list[float],
) -> RunConfig:
    """Validate as the single runs at both ends of the axis would, and name the culprit.

    torch's checks are ranges, so the ends speak for every value. Failing at both ends, the
    fixed settings are to blame; at one end, that end of the axis. (So `{"nesterov": true}`
    with momentum 0 sweeps a momentum axis that starts above 0.)
    """
    configs: list[RunConfig] = []
    failures: dict[str, InvalidInput] = {}
    for field, value in (("min", values[0]), ("max", values[-1])):
        try:
            configs.append(make_config(*settings(value)))
        except InvalidInput as error:
            failures[field] = error
    if len(failures) == 2:
        raise failures["min"]
    for field, failure in failures.items():
        value = values[0] if field == "min" else values[-1]
        raise InvalidAxis(AXIS, field, f"{axis.name} = {value:g}: {failure.message}")
    return configs[0]


def _row_settings(
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    start: tuple[float, float],
    name: str,
    value: float,
) -> tuple[dict[str, Any], tuple[float, float]]:
    """The hyperparameters and start of the single run with the axis `name` at `value`."""
    if name == "start_x":
        return dict(hyperparameters), (value, start[1])
    if name == "start_y":
        return dict(hyperparameters), (start[0], value)
    return maps.cell_hyperparameters(optimizer, hyperparameters, {name: value}), start


def sweep(
    config: RunConfig,
    axis: Axis,
    values: list[float],
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Sweep:
    """Run `config` once per value of `axis` (as `check` gave them), all rows at once."""
    spec, n, dtype = config.optimizer, len(values), config.torch_dtype
    column = torch.tensor(values, dtype=F64)
    starts = torch.tensor(config.start, dtype=F64).repeat(n, 1)
    if axis.name in START_AXES:
        starts[:, START_AXES.index(axis.name)] = column
        param = starts.to(dtype).requires_grad_()
        cells = maps.basin_optimizer(spec, config.hyperparameters, param)
    else:
        param = starts.to(dtype).requires_grad_()
        base = maps.resolved(spec, config.hyperparameters)
        cells = maps.per_cell_optimizer(spec, param, base, {axis.name: column})
    trace = Trace(n, config.steps, dtype)
    ends = maps.run_cells(config, param, cells, progress, should_stop, trace)
    frames = ends.frames.tolist()
    last = [max(count - 1, 0) for count in frames]
    loss = trace.loss.T.contiguous()
    final = [float(loss[i, k]) if frames[i] else None for i, k in enumerate(last)]
    # complex abs is the same hypot as the engine's math.hypot, to the last bit
    grad = trace.grad.to(F64).transpose(0, 1).contiguous()
    grad_norm = torch.view_as_complex(grad).abs()
    points = trace.points.transpose(0, 1)
    return Sweep(
        axis=axis,
        values=values,
        dtype=config.dtype,
        status=[STATUS[code] for code in ends.status.tolist()],
        steps_taken=last,
        final_loss=final,
        x=points[:, :, 0].contiguous(),
        y=points[:, :, 1].contiguous(),
        loss=loss,
        grad_norm=grad_norm,
    )
