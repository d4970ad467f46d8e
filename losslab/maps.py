"""Batched maps: one optimizer run per cell of a grid, every cell stepped at once.

A basin map starts a run at each point of a grid over the surface's domain, all with the same
optimizer and settings. A hyperparameter map starts every run at one point and gives each cell
its own values of two numeric hyperparameters (the axes). Cells are the rows of one (N, 2)
tensor: a step is one batched forward, backward and optimizer step (losslab/batched_optim.py).

Every cell follows the single-run engine's rules (losslab/engine.py) with the same dtype, checked
at every frame in the engine's order: diverged (a non-finite point, loss, gradient or
optimizer state, or the point outside `RunConfig.bounds()`), then converged (gradient norm and
last step both at most the dtype's tolerance, after at least one step). A stopped cell is
frozen at its last frame until enough cells have stopped to drop them from the batch; rows
never mix, so a frozen cell cannot disturb the others.

Optimizers. Basin maps run the element-wise torch.optim optimizers (`BASIN_TORCH`) and the
element-wise pytorch_optimizer classes people ask for most (`BASIN_LIBRARY`: Lion,
AdaBelief, Adan) as they are, over the whole batch, and Adafactor by a row-wise
re-implementation; LBFGS and Muon couple the elements of their parameter and are refused, as
are the other pytorch_optimizer classes (many take norms over a whole parameter).
Hyperparameter maps run SGD, Adam, AdamW, RMSprop and Adagrad by per-cell update rules, and
every other plain first-order optimizer whose step treats its parameter groups independently
with one parameter group per cell (`groups_refusal` says why others cannot), within
`Settings.max_map_fallback_cell_steps` (some 30 µs per cell and step, bench/bench_maps.py).
The sizes a map may have are the `Settings` it is given as `limits` (losslab/config.py). Every
path gives each cell the trajectory of its single run, bit for bit (tests/test_maps.py and
tests/test_zoo.py).

A model's landscape (losslab/landscapes/models.py) is mapped with full-batch steps on its
full-data loss `fn`; the engine computes the same loss as torch.nn does, so those cells agree
with single runs to rounding (~1e-7) rather than bit for bit. Mini-batch runs are not mapped.

A cell's outcome is the index in `surface.minima` of the nearest minimum within
`MINIMUM_RADIUS_FRACTION` of the domain's diagonal of its final point, `DIVERGED` (-1), or
`UNDECIDED` (-2): near no minimum (still moving, or stopped elsewhere such as a saddle). 1% of
the diagonal covers runs still settling into or hovering around a minimum, yet stays far
below the distance between any two listed minima (rastrigin's, 1 apart, get 0.145).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import analysis, engine
from . import batched_optim as batched
from .batched_optim import (
    RULES,
    AdafactorRule,
    CellOptimizer,
    Ends,
    TorchGroups,
    TorchRows,
    descend,
    make_rule,
)
from .calculus import gradient_and_hessian
from .config import Settings, get_settings
from .engine import RunConfig
from .errors import InvalidInput
from .hyperparameters import Hyperparameter
from .landscapes.models import ModelSurface
from .landscapes.network import NetworkSurface
from .landscapes.surfaces import Surface
from .optimizer_catalog import GROUPS_COUPLED
from .optimizers import LIBRARY_ERRORS, OPTIMIZERS, HyperparameterError, OptimizerSpec

PROGRESS_EVERY = 10
# What one cell costs per step on one core, measured on the development machine (a batched
# forward, backward and SGD step): analytic and formula surfaces, a model per data row, and
# the network plane (a 2-16-16-2 MLP over its data set). They size the answers' time.
ANALYTIC_CELL_STEP_SECONDS = 2e-8
MODEL_ROW_CELL_STEP_SECONDS = 1.6e-8
NETWORK_CELL_STEP_SECONDS = 8e-5
MINIMUM_RADIUS_FRACTION = 0.01
DIVERGED, UNDECIDED = -1, -2

# Element-wise torch.optim optimizers: rows of one leaf are independent (tests pin each).
BASIN_TORCH = frozenset(
    {"SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta"}
    | {"ASGD", "Rprop"}
)
BASIN_LIBRARY = frozenset({"Lion", "AdaBelief", "Adan"})
"""pytorch_optimizer classes whose every operation is element-wise (read from their source,
pinned by tests), but for the settings in `ROW_COUPLING`."""
ROW_COUPLING = {
    ("Adan", "max_grad_norm"): "clips by the norm of the whole parameter, which would couple "
    "the map's rows; a basin map needs max_grad_norm 0",
}
BASIN_RULES = frozenset({"Adafactor"})
BASIN_ROWS = BASIN_TORCH | BASIN_LIBRARY
"""Optimizers run as they are over all rows of one leaf."""
COUPLED = {
    "LBFGS": "searches along a line through all its parameters at once and takes one group",
    "Muon": "orthogonalizes each parameter's update as a matrix, so cells cannot share one",
}
FAMILY_REFUSAL = {
    "closure": "re-evaluates the loss inside step() (a closure), which one batched step "
    "cannot give each cell",
    "hessian": "differentiates the gradient again (create_graph) with random probes drawn "
    "across all its parameters",
    "sharpness": "takes a second gradient at a perturbed point inside step() (a closure)",
    "wrapper": "wraps a base optimizer and steps all its parameters together",
    "schedule_free": "shows its evaluation point, which a parameter group per cell does not carry",
}


def groups_refusal(spec: OptimizerSpec) -> str | None:
    """Why one parameter group per cell would not reproduce `spec`'s single runs (None when
    it would: the hyperparameter map's fallback)."""
    if spec.family != "first_order":
        return FAMILY_REFUSAL[spec.family]
    if spec.group_options or spec.takes_model:
        return "needs parameter groups or a model of its own"
    return GROUPS_COUPLED.get(spec.cls.__name__)


def supports_basin_map(spec: OptimizerSpec) -> bool:
    return spec.name in BASIN_ROWS | BASIN_RULES


def check_rows_independent(spec: OptimizerSpec, values: Mapping[str, Any]) -> None:
    """Refuse a setting under which an element-wise optimizer couples the rows of a leaf."""
    for (owner, name), reason in ROW_COUPLING.items():
        if spec.name == owner and values.get(name):
            raise HyperparameterError((name,), f"{name} {reason}")


def supports_hyperparameter_map(spec: OptimizerSpec) -> bool:
    return spec.name in RULES or groups_refusal(spec) is None


F64 = torch.float64


class InvalidMap(InvalidInput):
    """A map request that cannot run."""


class UnsupportedOptimizer(InvalidMap):
    def __init__(self, name: str, supported: frozenset[str], reason: str | None = None) -> None:
        reason = reason or COUPLED.get(name, "has no batched implementation")
        if len(supported) > 20:  # the list is long: say where it is
            choices = "the optimizers GET /api/optimizers marks supports.hyperparameter_map"
        else:
            choices = ", ".join(sorted(supported))
        super().__init__(("optimizer",), f"maps support: {choices}; {name} {reason}")


class InvalidAxis(InvalidMap):
    """`loc` is where the axis sits in the request: ("axes", "x") in a map, ("axis",) in a sweep."""

    def __init__(self, loc: str | tuple[str, ...], field: str, message: str) -> None:
        where = ("axes", loc) if isinstance(loc, str) else loc
        super().__init__((*where, field), message)


class MapCancelled(Exception):
    """should_stop() asked a running map to stop."""


@dataclass(frozen=True)
class Axis:
    name: str
    min: float
    max: float
    n: int
    log: bool = False

    def values(self) -> list[float]:
        """n values from min to max, evenly spaced (geometrically if log), ends exact."""
        fractions = [k / (self.n - 1) for k in range(1, self.n - 1)]
        if self.log:
            inner = [self.min * (self.max / self.min) ** f for f in fractions]
        else:
            inner = [self.min + (self.max - self.min) * f for f in fractions]
        return [self.min, *inner, self.max]


@dataclass(frozen=True)
class CellGrid:
    """Per-cell results; row i is y[i] and column j is x[j], as Plotly draws them."""

    x: list[float]
    y: list[float]
    outcome: list[list[int]]
    final_loss: list[list[float | None]]
    steps_to_converge: list[list[int | None]]
    final_x: list[list[float | None]]
    final_y: list[list[float | None]]
    minima: list[dict[str, Any]]


@dataclass(frozen=True)
class BasinMap(CellGrid):
    """x and y are the start coordinates."""


@dataclass(frozen=True)
class HyperparameterMap(CellGrid):
    """x and y are the axes' values; `stability_boundary` as `stability_boundary()` gives it."""

    x_axis: Axis
    y_axis: Axis
    stability_boundary: list[tuple[float, float]] | None


def basin_map(
    surface: Surface,
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    steps: int,
    resolution: int,
    dtype: str = "float32",
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    limits: Settings | None = None,
) -> BasinMap:
    limits = limits or get_settings()
    if not supports_basin_map(optimizer):
        raise UnsupportedOptimizer(optimizer.name, BASIN_ROWS | BASIN_RULES)
    check_surface(surface)
    config = _run_config(surface, optimizer, hyperparameters, None, steps, dtype, limits.max_steps)
    check_rows_independent(optimizer, config.hyperparameters)
    check_count(("resolution",), resolution, limits.max_map_resolution)
    _check_budget(resolution * resolution, steps, limits.max_map_cell_steps)
    xs = torch.linspace(*surface.domain.x, resolution, dtype=F64)
    ys = torch.linspace(*surface.domain.y, resolution, dtype=F64)
    starts = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    param = starts.to(config.torch_dtype).requires_grad_()
    cells = basin_optimizer(optimizer, config.hyperparameters, param)
    ends = run_cells(config, param, cells, progress, should_stop)
    return BasinMap(x=xs.tolist(), y=ys.tolist(), **_grids(ends, surface, resolution))


def check_hyperparameter_map(
    surface: Surface,
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    start: tuple[float, float],
    steps: int,
    x_axis: Axis,
    y_axis: Axis,
    dtype: str = "float32",
    *,
    limits: Settings | None = None,
) -> tuple[RunConfig, list[float], list[float]]:
    """Everything a hyperparameter map refuses, checked before any work: the config of its
    first corner (with the request's own values) and the axes' values."""
    limits = limits or get_settings()
    max_fallback_cell_steps = limits.max_map_fallback_cell_steps
    if not supports_hyperparameter_map(optimizer):
        supported = frozenset(s.name for s in OPTIMIZERS.values() if supports_hyperparameter_map(s))
        raise UnsupportedOptimizer(optimizer.name, supported, groups_refusal(optimizer))
    check_surface(surface)
    xs = axis_values("x", x_axis, optimizer, limits.max_map_axis)
    ys = axis_values("y", y_axis, optimizer, limits.max_map_axis)
    if x_axis.name == y_axis.name:
        raise InvalidAxis("y", "name", "the two axes must name different hyperparameters")
    cells = len(xs) * len(ys)
    _check_budget(cells, steps, limits.max_map_cell_steps)
    if optimizer.name not in RULES and cells * steps > max_fallback_cell_steps:
        raise InvalidMap(
            ("steps",),
            f"{optimizer.name} has no per-cell rule (those are {', '.join(sorted(RULES))}) and "
            f"runs one parameter group per cell, limited to {max_fallback_cell_steps:,} "
            f"cells × steps; this map asks for {cells * steps:,}",
        )
    corner = functools.partial(
        _run_config,
        surface,
        optimizer,
        start=start,
        steps=steps,
        dtype=dtype,
        max_steps=limits.max_steps,
    )
    config = _corner_configs(corner, optimizer, hyperparameters, (x_axis, xs), (y_axis, ys))
    return config, xs, ys


def hyperparameter_map(
    surface: Surface,
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    start: tuple[float, float],
    steps: int,
    x_axis: Axis,
    y_axis: Axis,
    dtype: str = "float32",
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    limits: Settings | None = None,
) -> HyperparameterMap:
    config, xs, ys = check_hyperparameter_map(
        surface, optimizer, hyperparameters, start, steps, x_axis, y_axis, dtype, limits=limits
    )
    cells = len(xs) * len(ys)
    base = resolved(optimizer, config.hyperparameters)
    param = torch.tensor(config.start, dtype=config.torch_dtype).repeat(cells, 1)
    param.requires_grad_()
    cell_optimizer = _cell_optimizer(optimizer, param, base, (x_axis.name, xs), (y_axis.name, ys))
    ends = run_cells(config, param, cell_optimizer, progress, should_stop)
    boundary = stability_boundary(surface, optimizer.name, x_axis, y_axis, base)
    grids = _grids(ends, surface, len(xs))
    return HyperparameterMap(
        x=xs, y=ys, **grids, x_axis=x_axis, y_axis=y_axis, stability_boundary=boundary
    )


def default_axes(
    optimizer: OptimizerSpec, n: int = 32, hyperparameters: Mapping[str, Any] | None = None
) -> tuple[Axis, Axis]:
    """lr on a log axis against momentum, or else against the first other numeric setting.

    With `nesterov` on, momentum starts above 0: torch refuses Nesterov without momentum.
    """
    others = [name for name in _numeric_names(optimizer) if name != "lr"]
    y_name = "momentum" if "momentum" in others else others[0]
    y_hp = optimizer.hyperparameter(y_name.partition(".")[0])
    y_lo, y_hi = y_hp.slider_min, y_hp.slider_max
    assert y_lo is not None and y_hi is not None
    if y_name == "momentum" and (hyperparameters or {}).get("nesterov") and y_lo <= 0:
        y_lo = (y_hi - y_lo) / (n - 1)
    return Axis("lr", 1e-4, 1.0, n, log=True), Axis(y_name, y_lo, y_hi, n, log=y_hp.log)


def nearest_minimum(surface: Surface, x: float, y: float) -> int:
    """The outcome of a run that ends at (x, y) without diverging."""
    return int(_classify(surface, torch.tensor([[x, y]], dtype=F64))[0])


def stability_boundary(
    surface: Surface,
    optimizer_name: str,
    x_axis: Axis,
    y_axis: Axis,
    hyperparameters: Mapping[str, Any] | None = None,
) -> list[tuple[float, float]] | None:
    """SGD's largest stable lr on a quadratic surface, as (x, y) points inside the axes.

    On a quadratic whose Hessian's largest eigenvalue is λ (found by sampling the Hessian,
    not by name; it must be positive definite), `analysis.stability_rule` gives the bound:
    lr_max(β) = 2(1 + β) / λ for heavy-ball SGD, 2 / λ for plain gradient descent (and the
    dampening, weight decay and Nesterov forms). One axis must be lr; the other may be
    momentum, dampening or weight_decay (a curve) or anything else (a straight line). Values
    not on an axis come from `hyperparameters`, else torch's defaults. None when there is no
    such theory: another optimizer, no lr axis, a surface that is not a convex quadratic, or
    maximize; [] when the boundary lies outside the axes' ranges.
    """
    settings = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    settings |= dict(hyperparameters or {})
    if optimizer_name != "SGD" or "lr" not in (x_axis.name, y_axis.name):
        return None
    curvature = _constant_curvature(surface)
    if curvature is None or settings.get("maximize"):
        return None
    lr_axis, other = (x_axis, y_axis) if x_axis.name == "lr" else (y_axis, x_axis)
    points = []
    for value in Axis(other.name, other.min, other.max, 101, other.log).values():
        cell = settings | {other.name: value, "lr": 1.0}
        rule = analysis.stability_rule("SGD", cell)
        assert rule is not None
        # stable while λ < c / lr − weight_decay: rule[0] is that bound at lr = 1
        decay = float(cell["weight_decay"])
        lr_max = (rule[0] + decay) / (curvature + decay)
        if lr_axis.min <= lr_max <= lr_axis.max:
            points.append((lr_max, value) if lr_axis is x_axis else (value, lr_max))
    return points


@functools.lru_cache(maxsize=32)
def _constant_curvature(surface: Surface) -> float | None:
    """λmax when the Hessian is the same positive definite matrix at a few spread points."""
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    fractions = torch.tensor([[0.5, 0.5], [0.13, 0.21], [0.87, 0.66], [0.31, 0.92], [0.72, 0.08]])
    points = torch.tensor([xlo, ylo]) + fractions * torch.tensor([xhi - xlo, yhi - ylo])
    _, hessians = gradient_and_hessian(surface.fn, points.to(F64))
    if not torch.allclose(hessians, hessians[0].expand_as(hessians), rtol=1e-9, atol=1e-9):
        return None
    eigenvalues = torch.linalg.eigvalsh(hessians[0])
    return float(eigenvalues[-1]) if float(eigenvalues[0]) > 0 else None


def _run_config(
    surface: Surface,
    optimizer: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    start: tuple[float, float] | None,
    steps: int,
    dtype: str,
    max_steps: int,
) -> RunConfig:
    """The engine's own validation: hyperparameters, dtype, steps, start, torch's checks."""
    return engine.make_config(
        surface=surface,
        optimizer=optimizer.name,
        hyperparameters=hyperparameters,
        start=start,
        steps=steps,
        dtype=dtype,
        max_steps=max_steps,
    )


def cell_step_seconds(surface: Surface) -> float:
    """The estimated cost of one cell's step on `surface` (see the constants above)."""
    if isinstance(surface, ModelSurface):
        return MODEL_ROW_CELL_STEP_SECONDS * max(1, len(surface.data_x))
    if isinstance(surface, NetworkSurface):
        return NETWORK_CELL_STEP_SECONDS
    return ANALYTIC_CELL_STEP_SECONDS


def estimated_seconds(surface: Surface, cells: int, steps: int) -> float:
    return cells * steps * cell_step_seconds(surface)


def check_surface(surface: Surface) -> None:
    if surface.parameters != 2:
        raise InvalidMap(
            ("surface", "bias"),
            "a one-parameter model's landscape is a curve: maps and sweeps take two parameters",
        )
    if isinstance(surface, ModelSurface) and surface.batch_size is not None:
        raise InvalidMap(
            ("surface", "batch_size"),
            "maps train models on the full data set only (batch_size null): the batches of "
            "a mini-batch run are not replayed cell by cell",
        )


def check_count(loc: tuple[str, ...], value: object, most: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= most:
        raise InvalidMap(loc, f"{loc[-1]} must be a whole number from 2 to {most}")


def _check_budget(cells: int, steps: int, most: int) -> None:
    if cells * steps > most:
        raise InvalidMap(
            ("steps",),
            f"{cells:,} cells × {steps} steps exceeds the limit of {most:,} cell-steps; "
            "ask for fewer steps or fewer cells",
        )


def _numeric_names(spec: OptimizerSpec) -> list[str]:
    names = []
    for hp in spec.hyperparameters:
        if hp.type in ("float", "int"):
            names.append(hp.name)
        elif hp.type == "pair":  # a pair or a triple
            names += [f"{hp.name}.{i}" for i in range(len(hp.default))]
    return names


def axis_values(
    key: str | tuple[str, ...], axis: Axis, spec: OptimizerSpec, most: int
) -> list[float]:
    """The values of a hyperparameter axis, once it is known to fit the optimizer's ranges;
    `key` locates the axis in the request (see `InvalidAxis`)."""
    if axis.name not in _numeric_names(spec):
        raise InvalidAxis(
            key,
            "name",
            f"{axis.name!r} is not a numeric hyperparameter of {spec.name}; "
            f"choose one of: {', '.join(_numeric_names(spec))}",
        )
    loc = ("axes", key) if isinstance(key, str) else key
    check_count((*loc, "n"), axis.n, most)
    hp = spec.hyperparameter(axis.name.partition(".")[0])
    for field, value in (("min", axis.min), ("max", axis.max)):
        if not is_finite_number(value):
            raise InvalidAxis(key, field, f"{field} must be a finite number")
    if not axis.min < axis.max:
        raise InvalidAxis(key, "max", "max must be greater than min")
    assert hp.min is not None and hp.max is not None
    if axis.min < hp.min:
        raise InvalidAxis(key, "min", f"{axis.name} must be at least {hp.min:g}")
    if axis.max > hp.max:
        raise InvalidAxis(key, "max", f"{axis.name} must be at most {hp.max:g}")
    if axis.log and axis.min <= 0:
        raise InvalidAxis(key, "min", "a log axis needs min > 0")
    values = axis.values()
    return [float(round(v)) for v in values] if hp.type == "int" else values


def is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _corner_configs(
    corner: Callable[..., RunConfig],
    spec: OptimizerSpec,
    hyperparameters: Mapping[str, Any],
    x: tuple[Axis, list[float]],
    y: tuple[Axis, list[float]],
) -> RunConfig:
    """Validate as a single run at each corner of the map would, and name the culprit.

    torch's checks are ranges, so the corners speak for every cell. An axis end that fails
    with both ends of the other axis is to blame; failing everywhere, the fixed values are.
    """
    values = spec.coerce(hyperparameters)
    (x_axis, xs), (y_axis, ys) = x, y
    ends = {"x": (("min", xs[0]), ("max", xs[-1])), "y": (("min", ys[0]), ("max", ys[-1]))}
    configs, failures = [], {}
    for x_field, x_value in ends["x"]:
        for y_field, y_value in ends["y"]:
            cell = cell_hyperparameters(spec, values, {x_axis.name: x_value, y_axis.name: y_value})
            try:
                configs.append(corner(hyperparameters=cell))
            except HyperparameterError as error:
                failures[x_field, y_field] = error
    if len(failures) == 4:
        raise failures["min", "min"]
    for index, (key, axis) in enumerate((("x", x_axis), ("y", y_axis))):
        for field, value in ends[key]:
            blamed = [error for fields, error in failures.items() if fields[index] == field]
            if len(blamed) == 2:
                raise InvalidAxis(key, field, f"{axis.name} = {value:g}: {blamed[0]}")
    if failures:
        first = next(iter(failures.values()))
        raise InvalidMap(("axes",), f"torch rejects a corner of this map: {first}")
    return dataclasses.replace(configs[0], hyperparameters=values)


def cell_hyperparameters(
    optimizer: OptimizerSpec, hyperparameters: Mapping[str, Any], cell: Mapping[str, float]
) -> dict[str, Any]:
    """The hyperparameters of one cell of a map, as a single run takes them: `cell` maps axis
    names ("lr", or "betas.0" for a pair's element) to the cell's values."""
    values = dict(hyperparameters)
    for name, value in cell.items():
        _assign(optimizer, values, name, value)
    return values


def _assign(spec: OptimizerSpec, values: dict[str, Any], name: str, value: float) -> None:
    """Set hyperparameter `name` ("lr", or "betas.0" for a pair's element) in `values`."""
    base, _, index = name.partition(".")
    hp = spec.hyperparameter(base)
    number: float | int = int(value) if hp.type == "int" else value
    if index:
        pair = list(values.get(base, _default(hp)))
        pair[int(index)] = number
        values[base] = tuple(pair)
    else:
        values[base] = number


def _default(hp: Hyperparameter) -> Any:
    return tuple(hp.default) if hp.type == "pair" else hp.default


def resolved(spec: OptimizerSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyperparameter's value: the given one, else torch's default."""
    return {hp.name: values.get(hp.name, _default(hp)) for hp in spec.hyperparameters}


def basin_optimizer(
    spec: OptimizerSpec, hyperparameters: Mapping[str, Any], param: Tensor
) -> CellOptimizer:
    if spec.name in BASIN_ROWS:
        return TorchRows(spec, hyperparameters, param)
    return AdafactorRule(param, resolved(spec, hyperparameters))


def _cell_optimizer(
    spec: OptimizerSpec,
    param: Tensor,
    base: dict[str, Any],
    x: tuple[str, list[float]],
    y: tuple[str, list[float]],
) -> CellOptimizer:
    """A per-cell rule where there is one, else a parameter group per cell. x varies fastest."""
    nx, ny = len(x[1]), len(y[1])
    columns = {
        x[0]: torch.tensor(x[1], dtype=F64).repeat(ny),
        y[0]: torch.tensor(y[1], dtype=F64).repeat_interleave(nx),
    }
    return per_cell_optimizer(spec, param, base, columns)


def per_cell_optimizer(
    spec: OptimizerSpec, param: Tensor, base: dict[str, Any], columns: Mapping[str, Tensor]
) -> CellOptimizer:
    """Cell k runs with `base` but `columns[name][k]` for each named setting ("lr", or
    "betas.0" for a pair's element): a per-cell rule where there is one, else a parameter
    group per cell."""
    cells = param.shape[0]
    if spec.name in RULES:
        numbers: dict[str, Tensor] = {}
        for name in _numeric_names(spec):
            stem, _, index = name.partition(".")
            value = base[stem][int(index)] if index else base[stem]
            numbers[name] = torch.full((cells,), float(value), dtype=F64)
        numbers.update(columns)
        rule = make_rule(spec.name, param, numbers, base)
        assert rule is not None
        return rule
    groups = []
    for k in range(cells):
        group = dict(base)
        for name, column in columns.items():
            _assign(spec, group, name, float(column[k]))
        groups.append(group)
    return TorchGroups(param, spec, groups)


def run_cells(
    config: RunConfig,
    param: Tensor,
    optimizer: CellOptimizer,
    progress: Callable[[float], None] | None,
    should_stop: Callable[[], bool] | None,
    trace: batched.Recorder | None = None,
) -> Ends:
    def tick(step: int) -> None:
        if step % PROGRESS_EVERY:
            return
        if should_stop is not None and should_stop():
            raise MapCancelled(f"cancelled at step {step}")
        if progress is not None:
            progress(step / (config.steps + 1))

    try:
        ends = descend(config, param, optimizer, tick, trace)
    except LIBRARY_ERRORS as error:
        # A single run ends `diverged` when its library raises mid-run (engine.py); in a
        # batch there is no telling which cell broke it, so the whole request is refused.
        name = config.optimizer.name
        raise InvalidMap(
            ("optimizer",),
            f"{name} failed inside a batched step ({type(error).__name__}: {error}); some "
            "cell's settings break it: narrow the axes, or run those settings on their own",
        ) from None
    if progress is not None:
        progress(1.0)
    return ends


def _classify(surface: Surface, points: Tensor) -> Tensor:
    """Index of the nearest listed minimum within the radius, else UNDECIDED."""
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    radius = MINIMUM_RADIUS_FRACTION * math.hypot(xhi - xlo, yhi - ylo)
    best = torch.full((points.shape[0],), radius * radius, dtype=F64)
    index = torch.full((points.shape[0],), UNDECIDED, dtype=torch.int64)
    for k, minimum in enumerate(surface.minima):
        d2 = (points[:, 0] - minimum.x) ** 2 + (points[:, 1] - minimum.y) ** 2
        index = torch.where(d2 <= best, k, index)
        best = torch.minimum(best, d2)
    return index


def _grids(ends: Ends, surface: Surface, nx: int) -> dict[str, Any]:
    diverged = (ends.status == batched.DIVERGED).tolist()
    converged = (ends.status == batched.CONVERGED).tolist()
    nearest = _classify(surface, ends.points)
    outcome = torch.where(ends.status == batched.DIVERGED, DIVERGED, nearest)

    def grid(values: list[Any], keep: list[bool]) -> list[list[Any]]:
        cells = [v if k else None for v, k in zip(values, keep, strict=True)]
        return [cells[k : k + nx] for k in range(0, len(cells), nx)]

    finite = [not d for d in diverged]
    return {
        "outcome": grid(outcome.tolist(), [True] * len(diverged)),
        "final_loss": grid(ends.loss.tolist(), finite),
        "steps_to_converge": grid(ends.stopped_at.tolist(), converged),
        "final_x": grid(ends.points[:, 0].tolist(), finite),
        "final_y": grid(ends.points[:, 1].tolist(), finite),
        "minima": [
            {"x": m.x, "y": m.y, "loss": surface.loss_at(m.x, m.y), "kind": m.kind}
            for m in surface.minima
        ],
    }
