"""Batched maps: one optimizer run per cell of a grid, every cell stepped at once.

A basin map starts a run at each point of a grid over the surface's domain, all with the same
optimizer and settings. A hyperparameter map starts every run at one point and gives each cell
its own values of two numeric hyperparameters (the axes). Cells are the rows of one (N, 2)
tensor: a step is one batched forward, backward and optimizer step (app/batched_optim.py).

Every cell follows the single-run engine's rules (app/engine.py) with the same dtype, checked
at every frame in the engine's order: diverged (a non-finite point, loss, gradient or
optimizer state, or the point outside `RunConfig.bounds()`), then converged (gradient norm and
last step both at most the dtype's tolerance, after at least one step). A stopped cell is
frozen: its point is put back after every later step, so its final point and loss are those
of its last frame. Its optimizer state keeps changing, harmlessly, since rows never mix; a
diverged cell is parked at its start with its non-finite state zeroed, so that the cheap
whole-batch checks below keep passing.

A cell's outcome is the index in `surface.minima` of the nearest minimum within
`MINIMUM_RADIUS_FRACTION` of the domain's diagonal of its final point, `DIVERGED` (-1), or
`UNDECIDED` (-2): near no minimum (still moving, or stopped elsewhere such as a saddle). 1% of
the diagonal covers runs still settling into or hovering around a minimum, yet stays far
below the distance between any two listed minima (rastrigin's, 1 apart, get 0.145).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from app import engine
from app.batched_optim import RULES, AdafactorRule, CellOptimizer, TorchGroups, TorchRows, make_rule
from app.engine import RunConfig
from app.errors import InvalidInput
from app.hyperparameters import Hyperparameter
from app.optimizers import OPTIMIZERS, OptimizerSpec
from app.surfaces import Surface

MAX_STEPS = 10_000
MAX_RESOLUTION = 256
MAX_AXIS_CELLS = 128
MAX_CELL_STEPS = 256 * 256 * 1000
# One torch.optim parameter group per cell costs ~20 µs per cell and step (see bench/).
MAX_FALLBACK_CELL_STEPS = 100_000
PROGRESS_EVERY = 10
# Parked (stopped) rows are dropped from the batch once they are this many and a quarter.
COMPACT_AT = 64
MINIMUM_RADIUS_FRACTION = 0.01
DIVERGED, UNDECIDED = -1, -2

# Element-wise torch.optim optimizers: rows of one leaf are independent (tests pin each).
BASIN_TORCH = frozenset(
    {"SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta"}
    | {"ASGD", "Rprop"}
)
BASIN_RULES = frozenset({"Adafactor"})
# Hyperparameter maps run any other optimizer with one parameter group per cell.
HYPERPARAMETER_REFUSED = frozenset({"LBFGS"})
COUPLED = {
    "LBFGS": "runs a line search over the whole parameter, so cells cannot share one optimizer",
    "Muon": "orthogonalizes each parameter's update as a matrix, so cells cannot share one",
}
_RUNNING, _CONVERGED, _DIVERGED = 0, 1, 2
F64 = torch.float64


class InvalidMap(InvalidInput):
    """A map request that cannot run."""


class UnsupportedOptimizer(InvalidMap):
    def __init__(self, name: str, supported: frozenset[str]) -> None:
        reason = COUPLED.get(name, "has no batched implementation")
        choices = ", ".join(sorted(supported))
        super().__init__(("optimizer",), f"maps support: {choices}; {name} {reason}")


class InvalidAxis(InvalidMap):
    def __init__(self, key: str, field: str, message: str) -> None:
        super().__init__(("axes", key, field), message)


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
    max_steps: int = MAX_STEPS,
    max_resolution: int = MAX_RESOLUTION,
    max_cell_steps: int = MAX_CELL_STEPS,
) -> BasinMap:
    if optimizer.name not in BASIN_TORCH | BASIN_RULES:
        raise UnsupportedOptimizer(optimizer.name, BASIN_TORCH | BASIN_RULES)
    config = _run_config(surface, optimizer, hyperparameters, None, steps, dtype, max_steps)
    _check_count(("resolution",), resolution, max_resolution)
    _check_budget(resolution * resolution, steps, max_cell_steps)
    xs = torch.linspace(*surface.domain.x, resolution, dtype=F64)
    ys = torch.linspace(*surface.domain.y, resolution, dtype=F64)
    starts = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    param = starts.to(config.torch_dtype).requires_grad_()
    cells: CellOptimizer
    if optimizer.name in BASIN_TORCH:
        cells = TorchRows(optimizer, config.hyperparameters, param)
    else:
        cells = AdafactorRule(param, _resolved(optimizer, config.hyperparameters))
    ends = _Descent(config, param, cells, _Ticker(steps, progress, should_stop)).run()
    return BasinMap(x=xs.tolist(), y=ys.tolist(), **_grids(ends, surface, resolution))


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
    max_steps: int = MAX_STEPS,
    max_axis_cells: int = MAX_AXIS_CELLS,
    max_cell_steps: int = MAX_CELL_STEPS,
    max_fallback_cell_steps: int = MAX_FALLBACK_CELL_STEPS,
) -> HyperparameterMap:
    if optimizer.name in HYPERPARAMETER_REFUSED:
        raise UnsupportedOptimizer(optimizer.name, frozenset(OPTIMIZERS) - HYPERPARAMETER_REFUSED)
    config = _run_config(surface, optimizer, hyperparameters, start, steps, dtype, max_steps)
    xs = _axis_values("x", x_axis, optimizer, max_axis_cells)
    ys = _axis_values("y", y_axis, optimizer, max_axis_cells)
    if x_axis.name == y_axis.name:
        raise InvalidAxis("y", "name", "the two axes must name different hyperparameters")
    cells = len(xs) * len(ys)
    _check_budget(cells, steps, max_cell_steps)
    if optimizer.name not in RULES and cells * steps > max_fallback_cell_steps:
        raise InvalidMap(
            ("steps",),
            f"{optimizer.name} has no per-cell rule (those are {', '.join(sorted(RULES))}) and "
            f"runs one parameter group per cell, limited to {max_fallback_cell_steps:,} "
            f"cells × steps; this map asks for {cells * steps:,}",
        )
    _check_axis_ends(config, (x_axis, xs), (y_axis, ys))
    base = _resolved(optimizer, config.hyperparameters)
    param = torch.tensor(config.start, dtype=config.torch_dtype).repeat(cells, 1)
    param.requires_grad_()
    cell_optimizer = _cell_optimizer(optimizer, param, base, (x_axis.name, xs), (y_axis.name, ys))
    ends = _Descent(config, param, cell_optimizer, _Ticker(steps, progress, should_stop)).run()
    boundary = stability_boundary(surface, optimizer.name, x_axis, y_axis, base)
    grids = _grids(ends, surface, len(xs))
    return HyperparameterMap(
        x=xs, y=ys, **grids, x_axis=x_axis, y_axis=y_axis, stability_boundary=boundary
    )


def default_axes(optimizer: OptimizerSpec, n: int = 32) -> tuple[Axis, Axis]:
    """lr on a log axis against momentum, or else against the first other numeric setting."""
    others = [name for name in _numeric_names(optimizer) if name != "lr"]
    y_name = "momentum" if "momentum" in others else others[0]
    y_hp = optimizer.hyperparameter(y_name.partition(".")[0])
    y_lo, y_hi = y_hp.slider_min, y_hp.slider_max
    assert y_lo is not None and y_hi is not None
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

    On a quadratic with largest Hessian eigenvalue λ (positive definite; found by sampling the
    Hessian, not by name), heavy-ball SGD is stable for lr < 2(1 + β) / ((1 − dampening)(λ +
    weight_decay)), Nesterov's for lr < 2(1 + β) / ((1 + 2β)(λ + weight_decay)). One axis must
    be lr; the other may be momentum, dampening or weight_decay (a curve) or anything else (a
    line); values not on an axis come from `hyperparameters` (torch's defaults otherwise).
    None when there is no such theory: another optimizer, no lr axis, a surface that is not a
    convex quadratic, or maximize.
    """
    settings = {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    settings |= dict(hyperparameters or {})
    names = (x_axis.name, y_axis.name)
    if optimizer_name != "SGD" or "lr" not in names or settings.get("maximize"):
        return None
    curvature = _constant_curvature(surface)
    if curvature is None:
        return None
    lr_axis, other = (x_axis, y_axis) if x_axis.name == "lr" else (y_axis, x_axis)
    points = []
    for value in Axis(other.name, other.min, other.max, 101, other.log).values():
        lr_max = _sgd_lr_max(curvature, settings | {other.name: value})
        if lr_axis.min <= lr_max <= lr_axis.max:
            points.append((lr_max, value) if lr_axis is x_axis else (value, lr_max))
    return points


def _sgd_lr_max(curvature: float, settings: Mapping[str, Any]) -> float:
    momentum, effective = float(settings["momentum"]), curvature + float(settings["weight_decay"])
    if settings["nesterov"]:
        return 2 * (1 + momentum) / ((1 + 2 * momentum) * effective)
    damped = (1 - float(settings["dampening"])) * effective
    return 2 * (1 + momentum) / damped if damped > 0 else math.inf


@functools.lru_cache(maxsize=32)
def _constant_curvature(surface: Surface) -> float | None:
    """λmax when the Hessian is the same positive definite matrix at a few spread points."""
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    fractions = [(0.5, 0.5), (0.13, 0.21), (0.87, 0.66), (0.31, 0.92), (0.72, 0.08)]
    hessians = [
        torch.autograd.functional.hessian(
            surface.fn, torch.tensor([xlo + fx * (xhi - xlo), ylo + fy * (yhi - ylo)], dtype=F64)
        )
        for fx, fy in fractions
    ]
    if not all(torch.allclose(h, hessians[0], rtol=1e-9, atol=1e-9) for h in hessians):
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


def _check_count(loc: tuple[str, ...], value: object, most: int) -> None:
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
        elif hp.type == "pair":
            names += [f"{hp.name}.0", f"{hp.name}.1"]
    return names


def _axis_values(key: str, axis: Axis, spec: OptimizerSpec, most: int) -> list[float]:
    if axis.name not in _numeric_names(spec):
        raise InvalidAxis(
            key,
            "name",
            f"{axis.name!r} is not a numeric hyperparameter of {spec.name}; "
            f"choose one of: {', '.join(_numeric_names(spec))}",
        )
    _check_count(("axes", key, "n"), axis.n, most)
    hp = spec.hyperparameter(axis.name.partition(".")[0])
    for field, value in (("min", axis.min), ("max", axis.max)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidAxis(key, field, f"{field} must be a number")
        if not math.isfinite(value):
            raise InvalidAxis(key, field, f"{field} must be finite")
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


def _check_axis_ends(
    config: RunConfig, x: tuple[Axis, list[float]], y: tuple[Axis, list[float]]
) -> None:
    """Let torch judge each axis's ends and the four corners, as a single run would."""
    for key, (axis, values) in (("x", x), ("y", y)):
        for field, value in (("min", values[0]), ("max", values[-1])):
            try:
                _scratch_config(config, {axis.name: value})
            except InvalidInput as error:
                raise InvalidAxis(key, field, f"{axis.name} = {value:g}: {error}") from None
    for x_value in (x[1][0], x[1][-1]):
        for y_value in (y[1][0], y[1][-1]):
            try:
                _scratch_config(config, {x[0].name: x_value, y[0].name: y_value})
            except InvalidInput as error:
                message = f"{x[0].name} = {x_value:g} with {y[0].name} = {y_value:g}: {error}"
                raise InvalidMap(("axes",), message) from None


def _scratch_config(config: RunConfig, overrides: Mapping[str, float]) -> None:
    values = dict(config.hyperparameters)
    for name, value in overrides.items():
        _assign(config.optimizer, values, name, value)
    _run_config(
        config.surface, config.optimizer, values, config.start, 1, config.dtype, max_steps=1
    )


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


def _resolved(spec: OptimizerSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every hyperparameter's value: the given one, else torch's default."""
    return {hp.name: values.get(hp.name, _default(hp)) for hp in spec.hyperparameters}


def _cell_optimizer(
    spec: OptimizerSpec,
    param: Tensor,
    base: dict[str, Any],
    x: tuple[str, list[float]],
    y: tuple[str, list[float]],
) -> CellOptimizer:
    """A per-cell rule where there is one, else a parameter group per cell. x varies fastest."""
    nx, ny = len(x[1]), len(y[1])
    if spec.name in RULES:
        numbers: dict[str, Tensor] = {}
        for name in _numeric_names(spec):
            stem, _, index = name.partition(".")
            value = base[stem][int(index)] if index else base[stem]
            numbers[name] = torch.full((nx * ny,), float(value), dtype=F64)
        numbers[x[0]] = torch.tensor(x[1], dtype=F64).repeat(ny)
        numbers[y[0]] = torch.tensor(y[1], dtype=F64).repeat_interleave(nx)
        rule = make_rule(spec.name, param, numbers, base)
        assert rule is not None
        return rule
    groups = []
    for y_value in y[1]:
        for x_value in x[1]:
            group = dict(base)
            _assign(spec, group, x[0], x_value)
            _assign(spec, group, y[0], y_value)
            groups.append(group)
    return TorchGroups(param, spec, groups)


class _Ticker:
    """Progress reports and cancellation polls every PROGRESS_EVERY steps."""

    def __init__(
        self,
        steps: int,
        progress: Callable[[float], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.steps, self.progress, self.should_stop = steps, progress, should_stop

    def __call__(self, step: int) -> None:
        if step % PROGRESS_EVERY:
            return
        if self.should_stop is not None and self.should_stop():
            raise MapCancelled(f"cancelled at step {step}")
        if self.progress is not None:
            self.progress(step / (self.steps + 1))


@dataclass
class _Ends:
    points: Tensor  # (N, 2) float64: each cell's last frame
    loss: Tensor  # (N,) float64
    status: Tensor  # (N,) int8: _RUNNING (took every step), _CONVERGED or _DIVERGED
    stopped_at: Tensor  # (N,) int64: the frame where the cell stopped


class _Descent:
    """All cells' runs, stepped together, with the engine's stops applied per cell.

    The checks cost a few whole-batch reductions per step: cells are examined one by one
    only when a reduction says that some cell may have diverged or converged. A stopped cell
    stays in the batch, parked, until enough have stopped to make dropping them worth a
    rebuild of the batch (`_compact`).
    """

    def __init__(
        self, config: RunConfig, param: Tensor, optimizer: CellOptimizer, ticker: _Ticker
    ) -> None:
        self.config, self.optimizer, self.ticker = config, optimizer, ticker
        n = param.shape[0]
        self.ends = _Ends(
            points=torch.zeros(n, 2, dtype=F64),
            loss=torch.zeros(n, dtype=F64),
            status=torch.zeros(n, dtype=torch.int8),
            stopped_at=torch.full((n,), config.steps, dtype=torch.int64),
        )
        self.active = n
        self.compactable = True
        self.bounds = config.bounds()
        (xlo, xhi), (ylo, yhi) = self.bounds
        self.box = (max(xlo, ylo), min(xhi, yhi))  # inside both axes' bounds
        self.tol = config.tolerance
        # A float32 difference may round up past tol: the screen lets such cells through.
        self.screen = config.tolerance * (1 + 1e-6)
        self._batch(param, torch.arange(n), param.detach().clone())

    def _batch(self, param: Tensor, cells: Tensor, starts: Tensor) -> None:
        """Work on leaf `param`, whose rows are the cells `cells` (all running)."""
        self.param, self.cells, self.starts = param, cells, starts
        self.data = param.detach()
        self.prev = self.data.clone()
        m, dtype = len(cells), self.data.dtype
        self.ones = torch.ones(m, dtype=dtype)
        self.penalty = torch.zeros(m, dtype=dtype)  # +inf hides parked rows from the screens
        self.frozen = torch.zeros(m, 2, dtype=torch.bool)
        self.parked = 0

    def run(self) -> _Ends:
        fn = self.config.surface.fn
        for step in range(self.config.steps + 1):
            self.ticker(step)
            self.param.grad = None
            loss = fn(self.param)
            loss.backward(self.ones)
            grad = self.param.grad
            assert grad is not None
            loss = loss.detach()
            if not self._all_healthy(loss, grad):
                self._stop_diverged(step, loss, grad)
            if step > 0:
                self._stop_converged(step, loss, grad)
            if step == self.config.steps:
                self._record((self.penalty == 0).nonzero().squeeze(1), loss)
            if step == self.config.steps or self.active == 0:
                return self.ends
            if self.parked >= max(COMPACT_AT, len(self.cells) // 4) and self.compactable:
                self._compact()
            self.prev.copy_(self.data)
            self.optimizer.step()
            if self.parked:
                torch.where(self.frozen, self.prev, self.data, out=self.data)
        raise AssertionError("unreachable: the last step returns")

    def _all_healthy(self, loss: Tensor, grad: Tensor) -> bool:
        """No value anywhere is non-finite and every point is inside the bounds."""
        lowest, highest = torch.aminmax(self.data)
        if not (self.box[0] <= lowest.item() and highest.item() <= self.box[1]):
            return False
        sums = [loss.sum(), grad.sum(), *(s.sum() for s in self.optimizer.state())]
        # A sum is finite if all its terms are (a finite overflow only costs a closer look).
        return all(math.isfinite(s.item()) for s in sums)

    def _stop_diverged(self, step: int, loss: Tensor, grad: Tensor) -> None:
        (xlo, xhi), (ylo, yhi) = self.bounds
        x, y = self.data[:, 0].to(F64), self.data[:, 1].to(F64)
        ok = (xlo <= x) & (x <= xhi) & (ylo <= y) & (y <= yhi)
        ok &= torch.isfinite(loss) & torch.isfinite(grad).all(dim=1)
        for state in self.optimizer.state():
            if state.dim() == 0:
                ok &= bool(torch.isfinite(state))
            else:
                ok &= torch.isfinite(state.reshape(len(ok), -1)).all(dim=1)
        rows = ((self.penalty == 0) & ~ok).nonzero().squeeze(1)
        self._stop(rows, _DIVERGED, step, loss)
        self.data[rows] = self.starts[rows]
        self.optimizer.sanitize()

    def _stop_converged(self, step: int, loss: Tensor, grad: Tensor) -> None:
        """Stop cells whose gradient norm and last step are both within tolerance."""
        worst = torch.maximum((self.data - self.prev).abs_(), grad.abs())
        worst = torch.maximum(worst[:, 0], worst[:, 1]).add_(self.penalty)
        if worst.min().item() > self.screen:
            return
        rows = (worst <= self.screen).nonzero().squeeze(1)
        # complex abs is the same hypot as the engine's math.hypot, to the last bit
        g = torch.view_as_complex(grad[rows].to(F64)).abs()
        d = torch.view_as_complex(self.data[rows].to(F64) - self.prev[rows].to(F64)).abs()
        self._stop(rows[(g <= self.tol) & (d <= self.tol)], _CONVERGED, step, loss)

    def _stop(self, rows: Tensor, status: int, step: int, loss: Tensor) -> None:
        if rows.numel() == 0:
            return
        self._record(rows, loss)
        cells = self.cells[rows]
        self.ends.status[cells] = status
        self.ends.stopped_at[cells] = step
        self.penalty[rows] = math.inf
        self.frozen[rows] = True
        self.parked += rows.numel()
        self.active -= rows.numel()

    def _record(self, rows: Tensor, loss: Tensor) -> None:
        cells = self.cells[rows]
        self.ends.points[cells] = self.data[rows].to(F64)
        self.ends.loss[cells] = loss[rows].to(F64)

    def _compact(self) -> None:
        """Drop the parked rows: a new leaf, and the optimizer's state for the rest."""
        keep = (self.penalty == 0).nonzero().squeeze(1)
        param = self.data[keep].clone().requires_grad_()
        if not self.optimizer.compact(keep, param):
            self.compactable = False
            return
        self._batch(param, self.cells[keep], self.starts[keep])


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


def _grids(ends: _Ends, surface: Surface, nx: int) -> dict[str, Any]:
    diverged = (ends.status == _DIVERGED).tolist()
    converged = (ends.status == _CONVERGED).tolist()
    outcome = torch.where(ends.status == _DIVERGED, DIVERGED, _classify(surface, ends.points))

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
