"""Benchmarks: optimizers tuned with one budget on the same surfaces, and measured.

Every optimizer gets the same budget on every surface: the same log-spaced grid of learning
rates (its other settings at their defaults unless the request fixes them) and the same
seeded random starts. A run succeeds when its loss reaches the surface's target: the global
minimum's loss + `tolerance`, or on a surface without a minimum (a saddle) the saddle's loss −
`escape_margin`. Its steps to target is the first frame at or below the target. A run is the
engine's single run (losslab/engine.py), with its stops: it ends when it leaves the divergence
bound or a value turns non-finite (diverged, a failure) or when its gradient and step both
fall within the dtype's tolerance (converged).

Each optimizer is run the fastest way that gives every cell its single run (`Path`): the
per-cell rules or a parameter group per cell for all cells at once (`per_cell`), a real
optimizer over each lr's starts as rows of one leaf for element-wise optimizers (`rows`), or
the engine's single runs one by one (`single`) for everything else, within
`Settings.max_benchmark_fallback_cell_steps`.

From the cells: the tuned lr (highest success rate, then fewer median steps to target, then
lower median final loss, then the lower lr), its success rate with a 95% Wilson score
interval, median steps, the spread of final losses, the lr sensitivity and the whole success
curve; per optimizer, its state memory and the cost of one real step() (`measure`); and a
rank. Everything but the measured times is a function of the request alone.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

import torch
from torch import Tensor

from . import engine, maps
from .batched_optim import DIVERGED, CellOptimizer, TorchGroups, descend
from .batched_optim import RULES as RULES_OF_CELLS
from .config import Settings, get_settings
from .engine import DTYPES, RunCancelled, RunConfig
from .errors import InvalidInput
from .landscapes.surfaces import SURFACES, Surface, UnknownSurface
from .optimizers import (
    LIBRARY_ERRORS,
    OPTIMIZERS,
    HyperparameterError,
    OptimizerSpec,
    UnknownOptimizer,
)
from .randomness import RunRandomness

Path = Literal["per_cell", "rows", "single"]
F64 = torch.float64
Z95 = 1.959963984540054
"""The standard normal's 97.5% quantile: a two-sided 95% interval."""
SENSITIVITY_FRACTION = 0.9
START_BOX_FRACTION = 0.05
"""On a surface without a minimum, starts lie within this fraction of the domain's span of
the saddle (on each side): a run far from the saddle has nothing to escape."""
START_DECIMALS = 4
MEMORY_SHAPE = (64, 64)
"""The parameter state memory and step cost are measured on: a matrix, so that optimizers
which factor or precondition matrices (Adafactor, Shampoo) keep the state they would keep."""
TIMED_STEPS = 30
UNTIMED_STEPS = 3

# What a batched step costs, measured on the development machine: they size a benchmark
# before it runs (`Plan.estimated_seconds`). A single run's step is timed on the spot
# (`_probe_seconds`): its cost ranges over two orders of magnitude (LBFGS's line search).
BATCH_STEP_SECONDS = 2e-4
"""One batched forward, backward, checks and step of a per-cell rule, whatever the batch."""
CELL_STEP_SECONDS = 5e-8
"""What each cell adds to a batched step."""
GROUP_STEP_SECONDS = 1e-4
"""Each parameter group's share of a step (a group per cell, or per lr for `rows`)."""
PROBE_STEPS = 5

RULES = {
    "success": "a run succeeds when its loss reaches the target: the global minimum's loss + "
    "tolerance, or, on a surface without a minimum, the saddle's loss − escape_margin; steps "
    "to target is the first step (frame) at or below it. A run stops as the engine's single "
    "run does: diverged (a failure) when it leaves `bounds` or a value is not finite, "
    "converged when its gradient norm and last step are both at most sqrt(dtype's eps).",
    "starts": f"start i is (lo + u·(hi − lo)) per axis, rounded to {START_DECIMALS} decimals, "
    "with u from torch.rand((starts, 2), generator=torch.Generator().manual_seed(seed), "
    "dtype=torch.float64); lo and hi are the domain's, or, on a surface without a minimum, "
    f"the saddle ± {START_BOX_FRACTION:.0%} of the domain's span",
    "tuning": "the tuned lr has the highest success rate; ties go to fewer median steps to "
    "target, then to the lower median final loss, then to the lower lr",
    "interval": "95% Wilson score interval of the success rate at the tuned lr",
    "sensitivity": "the width in decades of the unbroken run of grid lrs around the tuned lr "
    f"whose success rate is at least {SENSITIVITY_FRACTION:.0%} of the best (0: only the "
    "tuned lr; null: no success)",
    "final_loss": "min, quartiles and max of the final losses at the tuned lr, over the runs "
    "that did not diverge (linear interpolation between order statistics)",
    "rank": "on each surface, optimizers are ranked by success rate at the tuned lr, then "
    "median steps to target (ties share a rank); the overall rank orders the mean of those "
    "ranks, ties going to more successes over all surfaces, then to the request's order",
    "memory": "bytes of optimizer state per parameter element: every tensor in the state "
    f"(a wrapper's base included) after one step on a {MEMORY_SHAPE[0]}×{MEMORY_SHAPE[1]} "
    f"parameter, divided by {math.prod(MEMORY_SHAPE)}: what persists between steps (a "
    "sharpness-aware optimizer's copy of the point lives only during its step)",
    "step_cost": "median seconds of one optimizer.step() (with its closure's evaluations) "
    f"on a {MEMORY_SHAPE[0]}×{MEMORY_SHAPE[1]} parameter with loss ½‖p‖², over "
    f"{TIMED_STEPS} steps after {UNTIMED_STEPS} untimed ones; measured on this machine, the "
    "one value that is not a function of the request",
}


class InvalidBenchmark(InvalidInput):
    """A benchmark request that cannot run."""


class BenchmarkCancelled(maps.MapCancelled):
    """should_stop() asked a running benchmark to stop."""


@dataclass(frozen=True)
class Entry:
    """One optimizer of a benchmark: a registered name, settings fixed for every cell, and
    the label its rows carry."""

    name: str
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def title(self) -> str:
        if self.label:
            return self.label
        settings = " ".join(f"{k}={_short(v)}" for k, v in self.hyperparameters.items())
        return f"{self.name} {settings}".strip()


DEFAULT_OPTIMIZERS = (
    Entry("SGD"),
    Entry("SGD", {"momentum": 0.9}, "SGD momentum"),
    Entry("Adagrad"),
    Entry("RMSprop"),
    Entry("Adam"),
    Entry("AdamW"),
    Entry("Lion"),
    Entry("AdaBelief"),
    Entry("Adan"),
)
"""The tutorials' comparison table (SGD, momentum, Adagrad, RMSprop, Adam, AdamW) and the
zoo's most asked-for element-wise optimizers."""
DEFAULT_SURFACES = ("bowl", "elliptic", "four_wells", "rosenbrock", "saddle")
"""A convex bowl, an ill-conditioned valley, several minima, Rosenbrock and a saddle."""


@dataclass(frozen=True)
class LrGrid:
    min: float = 1e-4
    max: float = 1.0
    n: int = 13

    def values(self) -> list[float]:
        return maps.Axis("lr", self.min, self.max, self.n, log=True).values()

    @property
    def spacing(self) -> float:
        """Decades between neighbouring values."""
        return math.log10(self.max / self.min) / (self.n - 1)


@dataclass(frozen=True)
class Request:
    optimizers: tuple[Entry, ...] = DEFAULT_OPTIMIZERS
    surfaces: tuple[str, ...] = DEFAULT_SURFACES
    steps: int = 500
    lr: LrGrid = LrGrid(1e-4, 10.0, 16)
    starts: int = 16
    seed: int = 0
    tolerance: float = 1e-3
    escape_margin: float = 1.0
    dtype: str = "float32"


@dataclass(frozen=True)
class Goal:
    """A surface of the benchmark: its target loss, its starts and how it is described."""

    surface: Surface
    target: float
    rule: str
    starts: list[tuple[float, float]]

    def as_json(self) -> dict[str, Any]:
        (xlo, xhi), (ylo, yhi) = engine.divergence_bounds(self.surface)
        return {
            "name": self.surface.name,
            "title": self.surface.title,
            "target": self.target,
            "target_rule": self.rule,
            "starts": [list(point) for point in self.starts],
            "bounds": {"x": [xlo, xhi], "y": [ylo, yhi]},
        }


@dataclass(frozen=True)
class Contender:
    """A validated optimizer entry: its spec, coerced settings and how its cells run."""

    entry: Entry
    spec: OptimizerSpec
    hyperparameters: dict[str, Any]
    path: Path
    label: str
    probe_seconds: float = 0.0
    """The single path: one step of a single run, timed while planning."""


@dataclass(frozen=True)
class Plan:
    """A benchmark checked before any work: everything `run` needs."""

    request: Request
    contenders: list[Contender]
    goals: list[Goal]
    lrs: list[float]

    @property
    def cells(self) -> int:
        return len(self.lrs) * self.request.starts

    def estimated_seconds(self) -> float:
        steps, total = self.request.steps + 1, 0.0
        for contender in self.contenders:
            if contender.path == "single":
                per_cell = contender.probe_seconds
            elif contender.path == "rows":
                per_cell = (BATCH_STEP_SECONDS + len(self.lrs) * GROUP_STEP_SECONDS) / self.cells
            elif contender.spec.name in RULES_OF_CELLS:
                per_cell = BATCH_STEP_SECONDS / self.cells
            else:
                per_cell = GROUP_STEP_SECONDS
            total += len(self.goals) * self.cells * steps * (per_cell + CELL_STEP_SECONDS)
        return total

    def work(self) -> int:
        """Progress units: cell steps over the whole benchmark."""
        return len(self.contenders) * len(self.goals) * self.cells * (self.request.steps + 1)


def plan(request: Request, *, limits: Settings | None = None) -> Plan:
    """Validate `request` field by field (InvalidBenchmark naming the field) and size it."""
    limits = limits or get_settings()
    _check_numbers(request, limits)
    goals = [_goal(request, k, name) for k, name in enumerate(request.surfaces)]
    lrs = _lr_values(request.lr, limits)
    contenders = [
        _contender(request, k, entry, goals, lrs) for k, entry in enumerate(request.optimizers)
    ]
    labels: dict[str, int] = {}
    for k, contender in enumerate(contenders):
        if contender.label in labels:
            raise InvalidBenchmark(
                ("optimizers", k, "label"),
                f"optimizers {labels[contender.label]} and {k} are both labelled "
                f"{contender.label!r}; give one a label of its own",
            )
        labels[contender.label] = k
    result = Plan(request, contenders, goals, lrs)
    _check_budget(result, limits)
    return result


def _check_numbers(request: Request, limits: Settings) -> None:
    counts = (
        ("optimizers", len(request.optimizers), limits.max_benchmark_optimizers),
        ("surfaces", len(request.surfaces), limits.max_benchmark_surfaces),
    )
    for name, count, most in counts:
        if not 1 <= count <= most:
            raise InvalidBenchmark((name,), f"give from 1 to {most} {name}")
    for name in ("steps", "starts", "seed"):
        value = getattr(request, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidBenchmark((name,), f"{name} must be a whole number")
    if not 1 <= request.steps <= limits.max_benchmark_steps:
        raise InvalidBenchmark(("steps",), f"steps must be from 1 to {limits.max_benchmark_steps}")
    if not 1 <= request.starts <= limits.max_benchmark_starts:
        raise InvalidBenchmark(
            ("starts",), f"starts must be from 1 to {limits.max_benchmark_starts}"
        )
    if not 0 <= request.seed < 2**63:
        raise InvalidBenchmark(("seed",), "seed must be from 0 to 2⁶³ − 1")
    for name in ("tolerance", "escape_margin"):
        value = getattr(request, name)
        if not maps.is_finite_number(value) or value < 0:
            raise InvalidBenchmark((name,), f"{name} must be a finite number ≥ 0")
    if request.dtype not in DTYPES:
        raise InvalidBenchmark(("dtype",), f"dtype must be one of {list(DTYPES)}")


def _lr_values(grid: LrGrid, limits: Settings) -> list[float]:
    most = limits.max_benchmark_lrs
    if isinstance(grid.n, bool) or not isinstance(grid.n, int) or not 2 <= grid.n <= most:
        raise InvalidBenchmark(("lr", "n"), f"lr.n must be a whole number from 2 to {most}")
    for name in ("min", "max"):
        value = getattr(grid, name)
        if not maps.is_finite_number(value) or value <= 0:
            raise InvalidBenchmark(("lr", name), f"lr.{name} must be a finite number > 0")
    if not grid.min < grid.max:
        raise InvalidBenchmark(("lr", "max"), "lr.max must be greater than lr.min")
    return grid.values()


def _goal(request: Request, index: int, name: str) -> Goal:
    loc = ("surfaces", index)
    if not isinstance(name, str) or name not in SURFACES:
        message = UnknownSurface(str(name)).message
        raise InvalidBenchmark(loc, message + " (benchmarks take the built-in surfaces)")
    if request.surfaces.index(name) != index:
        raise InvalidBenchmark(loc, f"{name} is listed twice")
    surface = SURFACES[name]
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    lowest = [surface.loss_at(m.x, m.y) for m in surface.minima if m.kind == "global"]
    if lowest:
        target = min(lowest) + request.tolerance
        rule = f"global minimum {min(lowest):.6g} + tolerance {request.tolerance:g}"
    else:
        saddle = surface.saddles[0]
        target = surface.loss_at(saddle.x, saddle.y) - request.escape_margin
        rule = (
            f"saddle at ({saddle.x:g}, {saddle.y:g}) loss "
            f"{surface.loss_at(saddle.x, saddle.y):.6g} − escape_margin {request.escape_margin:g}"
        )
        dx, dy = START_BOX_FRACTION * (xhi - xlo), START_BOX_FRACTION * (yhi - ylo)
        (xlo, xhi), (ylo, yhi) = (saddle.x - dx, saddle.x + dx), (saddle.y - dy, saddle.y + dy)
    return Goal(
        surface, target, rule, random_starts(request.seed, request.starts, (xlo, xhi), (ylo, yhi))
    )


def random_starts(
    seed: int, count: int, x: tuple[float, float], y: tuple[float, float]
) -> list[tuple[float, float]]:
    """`count` points drawn uniformly in the box x × y (see RULES["starts"])."""
    u = torch.rand((count, 2), generator=torch.Generator().manual_seed(seed), dtype=F64)
    points = []
    for ux, uy in u.tolist():
        px = round(x[0] + ux * (x[1] - x[0]), START_DECIMALS)
        py = round(y[0] + uy * (y[1] - y[0]), START_DECIMALS)
        points.append((px, py))
    return points


def _contender(
    request: Request, index: int, entry: Entry, goals: list[Goal], lrs: list[float]
) -> Contender:
    loc: tuple[str | int, ...] = ("optimizers", index)
    try:
        spec = OPTIMIZERS.get(entry.name) if isinstance(entry.name, str) else None
        if spec is None:
            raise UnknownOptimizer(str(entry.name))
        values = spec.coerce(entry.hyperparameters)
        spec.hyperparameter("lr", spec.base_of(values))
    except UnknownOptimizer as error:
        raise InvalidBenchmark((*loc, "name"), error.message) from None
    except HyperparameterError as error:
        if error.loc[-1] == "lr":
            raise InvalidBenchmark(
                (*loc, "name"), f"{entry.name} has no learning rate for a benchmark to tune"
            ) from None
        raise InvalidBenchmark((*loc, *error.loc), error.message) from None
    if "lr" in values:
        raise InvalidBenchmark(
            (*loc, "hyperparameters", "lr"),
            "lr is what the benchmark tunes (the lr grid); it cannot be fixed",
        )
    # torch's checks are ranges, independent of the surface: the first one speaks for all
    # (and a hostile request of many surfaces costs no more to check).
    _check_lr_ends(request, loc, spec, values, goals[0], lrs)
    path = _path(spec, values)
    contender = Contender(entry, spec, values, path, entry.title())
    if path == "single":
        probe = _probe_seconds(contender, goals[0], lrs[len(lrs) // 2], request)
        contender = dataclasses.replace(contender, probe_seconds=probe)
    return contender


def _probe_seconds(contender: Contender, goal: Goal, lr: float, request: Request) -> float:
    """The seconds of one step of a single run of `contender` on `goal`, timed."""
    values, start = contender.hyperparameters, goal.starts[0]
    config = config_for(contender.spec, values, goal, lr, start, request)
    probe = dataclasses.replace(config, steps=PROBE_STEPS)
    trajectory = engine.Trajectory(probe, time_limit=engine.SCRATCH_STEP_SECONDS)
    began = time.perf_counter()
    frames = sum(1 for _ in trajectory)
    return (time.perf_counter() - began) / max(frames, 1)


def _check_lr_ends(
    request: Request,
    loc: tuple[str | int, ...],
    spec: OptimizerSpec,
    values: Mapping[str, Any],
    goal: Goal,
    lrs: list[float],
) -> None:
    """Validate as the single runs at both ends of the lr grid would be, and name the
    culprit: the fixed settings when both ends fail, else that end of the grid."""
    failures: dict[str, tuple[float, InvalidInput]] = {}
    for name, lr in (("min", lrs[0]), ("max", lrs[-1])):
        try:
            config_for(spec, values, goal, lr, goal.starts[0], request)
        except InvalidInput as error:
            failures[name] = (lr, error)
    if len(failures) == 2:
        blamed = failures["min"][1]
        raise InvalidBenchmark((*loc, *blamed.loc), f"{spec.name}: {blamed.message}")
    for name, (lr, blamed) in failures.items():
        message = f"{spec.name} at lr {lr:g} on {goal.surface.name}: {blamed.message}"
        raise InvalidBenchmark(("lr", name), message)


def config_for(
    spec: OptimizerSpec,
    values: Mapping[str, Any],
    goal: Goal,
    lr: float,
    start: tuple[float, float],
    request: Request,
) -> RunConfig:
    """The single run of one cell, validated as POST /api/runs validates it."""
    return engine.make_config(
        surface=goal.surface,
        optimizer=spec.name,
        hyperparameters={**values, "lr": lr},
        start=start,
        steps=request.steps,
        dtype=request.dtype,
        max_steps=max(request.steps, 1),
    )


def _path(spec: OptimizerSpec, values: Mapping[str, Any]) -> Path:
    if spec.name in maps.BASIN_ROWS:
        try:
            maps.check_rows_independent(spec, values)
        except HyperparameterError:
            return "single"
        return "per_cell" if spec.name in RULES_OF_CELLS else "rows"
    if maps.supports_hyperparameter_map(spec):
        return "per_cell"
    return "single"


def _check_budget(result: Plan, limits: Settings) -> None:
    request = result.request
    total = result.work()
    if total > limits.max_benchmark_cell_steps:
        raise InvalidBenchmark(
            ("steps",),
            f"{len(result.contenders)} optimizers × {len(result.goals)} surfaces × "
            f"{len(result.lrs)} lrs × {request.starts} starts × {request.steps + 1} frames is "
            f"{total:,} cell steps, more than the limit of {limits.max_benchmark_cell_steps:,}; "
            "ask for fewer",
        )
    one_by_one = 0
    for k, contender in enumerate(result.contenders):
        slow = contender.path == "single" or (
            contender.path == "per_cell" and contender.spec.name not in RULES_OF_CELLS
        )
        if not slow:
            continue
        one_by_one += len(result.goals) * result.cells * (request.steps + 1)
        if one_by_one > limits.max_benchmark_fallback_cell_steps:
            how = "runs each cell on its own"
            if contender.path != "single":
                how = "steps a parameter group per cell"
            raise InvalidBenchmark(
                ("optimizers", k, "name"),
                f"{contender.spec.name} has no batched rule and {how}: the optimizers without "
                f"one may take {limits.max_benchmark_fallback_cell_steps:,} cell steps in all, "
                f"and this benchmark asks for {one_by_one:,} by here; ask for fewer lrs, "
                "starts, steps or surfaces, or leave it out",
            )
    seconds = result.estimated_seconds()
    if seconds > limits.job_seconds:
        raise InvalidBenchmark(
            ("steps",),
            f"this benchmark would take about {seconds:.0f} s, more than the job limit of "
            f"{limits.job_seconds:g} s; ask for fewer optimizers, surfaces, lrs, starts or steps",
        )


@dataclass
class Cells:
    """Every cell of one optimizer on one surface: [lr index][start index]."""

    first_hit: list[list[int | None]]
    final_loss: list[list[float | None]]
    """None where the run diverged."""


class _Progress:
    def __init__(
        self,
        total: int,
        report: Callable[[float], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.total, self.done = max(total, 1), 0
        self.report, self.should_stop = report, should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise BenchmarkCancelled("the benchmark was cancelled")

    def advance(self, units: int) -> None:
        self.done += units
        self.check()
        if self.report is not None:
            self.report(min(self.done / self.total, 1.0))


class FirstHit:
    """A `descend` recorder: the first frame at which each cell's loss is at or below
    `target` (a frame the single run yields), and -1 for none."""

    def __init__(self, cells: int, target: float) -> None:
        self.target = target
        self.first = torch.full((cells,), -1, dtype=torch.int64)

    def record(self, step: int, cells: Tensor, data: Tensor, loss: Tensor, grad: Tensor) -> None:
        hit = cells[loss.to(F64) <= self.target]
        fresh = hit[self.first[hit] < 0]
        self.first[fresh] = step

    def finish(self, frames: Tensor) -> None:
        # A parked cell keeps being recorded at its last point; a diverged one is reset.
        self.first[self.first >= frames] = -1


def run_pair(
    contender: Contender,
    goal: Goal,
    lrs: list[float],
    request: Request,
    progress: _Progress,
) -> Cells:
    """All cells of one optimizer on one surface, each its single run's outcome."""
    if contender.path == "single":
        return _single_cells(contender, goal, lrs, request, progress)
    try:
        return _batched_cells(contender, goal, lrs, request, progress)
    except LIBRARY_ERRORS:
        # The library raised inside a batched step (SWATS at a huge lr): a single run ends
        # `diverged` there, but a batch cannot tell which cell broke. Run them one by one.
        return _single_cells(contender, goal, lrs, request, progress)


def _batched_cells(
    contender: Contender,
    goal: Goal,
    lrs: list[float],
    request: Request,
    progress: _Progress,
) -> Cells:
    config = _first_config(contender, goal, lrs, request)
    n_starts = len(goal.starts)
    # Cell k is lr k // n_starts from start k % n_starts.
    starts = torch.tensor(goal.starts, dtype=F64).repeat(len(lrs), 1)
    param = starts.to(config.torch_dtype).requires_grad_()
    if contender.path == "rows":
        # One group per lr, its parameter the starts as rows (element-wise optimizers whose
        # groups are independent): every cell is still its own single run.
        groups = [{**contender.hyperparameters, "lr": lr} for lr in lrs]
        cells: CellOptimizer = TorchGroups(param, contender.spec, groups, block=n_starts)
    else:
        column = torch.tensor(lrs, dtype=F64).repeat_interleave(n_starts)
        base = maps.resolved(contender.spec, contender.hyperparameters)
        cells = maps.per_cell_optimizer(contender.spec, param, base, {"lr": column})
    hits, losses = _descend(config, param, cells, goal.target, progress, len(lrs) * n_starts)
    return Cells(
        first_hit=[hits[k : k + n_starts] for k in range(0, len(hits), n_starts)],
        final_loss=[losses[k : k + n_starts] for k in range(0, len(losses), n_starts)],
    )


def _first_config(
    contender: Contender, goal: Goal, lrs: list[float], request: Request
) -> RunConfig:
    """The config of the pair's first cell; the others differ only in lr and start."""
    values, start = contender.hyperparameters, goal.starts[0]
    return config_for(contender.spec, values, goal, lrs[0], start, request)


def _descend(
    config: RunConfig,
    param: Tensor,
    cells: CellOptimizer,
    target: float,
    progress: _Progress,
    count: int,
) -> tuple[list[int | None], list[float | None]]:
    recorder = FirstHit(count, target)
    ticks = 0

    def tick(step: int) -> None:
        nonlocal ticks
        if step and step % maps.PROGRESS_EVERY == 0:
            ticks += 1
            progress.advance(count * maps.PROGRESS_EVERY)

    ends = descend(config, param, cells, tick, recorder)
    progress.advance(count * (config.steps + 1) - ticks * count * maps.PROGRESS_EVERY)
    first = [None if k < 0 else k for k in recorder.first.tolist()]
    diverged = (ends.status == DIVERGED).tolist()
    final = [None if d else v for d, v in zip(diverged, ends.loss.tolist(), strict=True)]
    return first, final


def _single_cells(
    contender: Contender, goal: Goal, lrs: list[float], request: Request, progress: _Progress
) -> Cells:
    first_hit: list[list[int | None]] = []
    final_loss: list[list[float | None]] = []
    base = _first_config(contender, goal, lrs, request)
    for lr in lrs:
        hits: list[int | None] = []
        finals: list[float | None] = []
        for start in goal.starts:
            config = dataclasses.replace(
                base, hyperparameters={**contender.hyperparameters, "lr": lr}, start=start
            )
            hit, final = _single_run(config, goal.target, progress)
            hits.append(hit)
            finals.append(final)
            progress.advance(request.steps + 1)
        first_hit.append(hits)
        final_loss.append(finals)
    return Cells(first_hit, final_loss)


def _single_run(
    config: RunConfig, target: float, progress: _Progress
) -> tuple[int | None, float | None]:
    trajectory = engine.Trajectory(config, should_stop=progress.should_stop)
    hit: int | None = None
    loss: float | None = None
    try:
        for frame in trajectory:
            loss = frame["loss"]
            if hit is None and loss <= target:
                hit = frame["step"]
    except RunCancelled:
        raise BenchmarkCancelled("the benchmark was cancelled") from None
    return hit, None if trajectory.status == "diverged" else loss


def wilson_interval(successes: int, runs: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion."""
    if runs == 0:
        return 0.0, 1.0
    p = successes / runs
    denominator = 1 + z * z / runs
    centre = (p + z * z / (2 * runs)) / denominator
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / denominator
    # At 0 or all successes one end is exactly 0 or 1 (centre ± half would round off it).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == runs else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class LrOutcome:
    """What one lr of the grid gave: the tuning rule compares these."""

    lr: float
    successes: int
    runs: int
    median_steps: float | None
    median_final_loss: float | None

    @property
    def success_rate(self) -> float:
        return self.successes / self.runs

    def key(self) -> tuple[float, float, float, float]:
        """Smaller is better (RULES["tuning"])."""
        inf = math.inf
        steps = inf if self.median_steps is None else self.median_steps
        loss = inf if self.median_final_loss is None else self.median_final_loss
        return (-self.success_rate, steps, loss, self.lr)


def lr_outcome(lr: float, hits: Sequence[int | None], finals: Sequence[float | None]) -> LrOutcome:
    reached = [h for h in hits if h is not None]
    kept = [f for f in finals if f is not None]
    return LrOutcome(
        lr=lr,
        successes=len(reached),
        runs=len(hits),
        median_steps=statistics.median(reached) if reached else None,
        median_final_loss=statistics.median(kept) if kept else None,
    )


def tuned_index(outcomes: Sequence[LrOutcome]) -> int:
    """The tuned lr's index in the grid (RULES["tuning"])."""
    return min(range(len(outcomes)), key=lambda k: outcomes[k].key())


def sensitivity_decades(outcomes: Sequence[LrOutcome], tuned: int) -> float | None:
    """RULES["sensitivity"]: decades spanned by the unbroken run of grid lrs around the tuned
    one that keep at least 90% of the best success rate."""
    best = outcomes[tuned].success_rate
    if best == 0:
        return None
    floor = SENSITIVITY_FRACTION * best
    lo = hi = tuned
    while lo > 0 and outcomes[lo - 1].success_rate >= floor:
        lo -= 1
    while hi < len(outcomes) - 1 and outcomes[hi + 1].success_rate >= floor:
        hi += 1
    return math.log10(outcomes[hi].lr / outcomes[lo].lr)


def spread(values: Sequence[float]) -> dict[str, float] | None:
    """Min, quartiles and max, interpolating linearly between order statistics."""
    if not values:
        return None
    ordered = sorted(values)

    def quantile(q: float) -> float:
        position = q * (len(ordered) - 1)
        below = math.floor(position)
        above = min(below + 1, len(ordered) - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (position - below)

    return {
        "min": ordered[0],
        "q1": quantile(0.25),
        "median": quantile(0.5),
        "q3": quantile(0.75),
        "max": ordered[-1],
    }


def row(contender: Contender, goal: Goal, lrs: list[float], cells: Cells) -> dict[str, Any]:
    """One optimizer on one surface, summarized (without its rank)."""
    outcomes = [
        lr_outcome(lr, hits, finals)
        for lr, hits, finals in zip(lrs, cells.first_hit, cells.final_loss, strict=True)
    ]
    k = tuned_index(outcomes)
    tuned = outcomes[k]
    hits = cells.first_hit[k]
    finals = [f for f in cells.final_loss[k] if f is not None]
    low, high = wilson_interval(tuned.successes, tuned.runs)
    return {
        "optimizer": contender.label,
        "surface": goal.surface.name,
        "tuned_lr": tuned.lr,
        "tuned_at_edge": k in (0, len(outcomes) - 1) and tuned.successes > 0,
        "success_rate": tuned.success_rate,
        "successes": tuned.successes,
        "runs": tuned.runs,
        "interval": [low, high],
        "median_steps": tuned.median_steps,
        "final_loss": spread(finals),
        "diverged": tuned.runs - len(finals),
        "sensitivity_decades": sensitivity_decades(outcomes, k),
        "curve": [
            {"lr": o.lr, "success_rate": o.success_rate, "median_steps": o.median_steps}
            for o in outcomes
        ],
        "steps_to_target": hits,
        "example_start": _example_start(hits),
    }


def _example_start(hits: Sequence[int | None]) -> int:
    """The start whose steps to target is the median of the successful ones (the lower
    middle), else the first start: a representative run to show."""
    reached = sorted((h, i) for i, h in enumerate(hits) if h is not None)
    return reached[(len(reached) - 1) // 2][1] if reached else 0


def rank_rows(
    rows: list[dict[str, Any]], labels: list[str], surfaces: list[str]
) -> list[dict[str, Any]]:
    """Set each row's `rank` on its surface; answer the overall ranking (RULES["rank"])."""
    for surface in surfaces:
        mine = [r for r in rows if r["surface"] == surface]

        def key(r: dict[str, Any]) -> tuple[float, float]:
            steps = math.inf if r["median_steps"] is None else r["median_steps"]
            return (-r["success_rate"], steps)

        for r in mine:
            r["rank"] = 1 + sum(1 for other in mine if key(other) < key(r))
    overall = []
    for order, label in enumerate(labels):
        mine = [r for r in rows if r["optimizer"] == label]
        overall.append(
            {
                "optimizer": label,
                "mean_rank": statistics.fmean(r["rank"] for r in mine),
                "successes": sum(r["successes"] for r in mine),
                "runs": sum(r["runs"] for r in mine),
                "order": order,
            }
        )
    overall.sort(key=lambda o: (o["mean_rank"], -o["successes"], o["order"]))
    for place, entry in enumerate(overall, start=1):
        entry["rank"] = place
        del entry["order"]
    return overall


def measure(spec: OptimizerSpec, values: Mapping[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    """State bytes per parameter element after one step, and the median cost of step(), on a
    64×64 parameter (RULES["memory"], RULES["step_cost"])."""
    generator = torch.Generator().manual_seed(0)
    param = torch.randn(MEMORY_SHAPE, generator=generator, dtype=dtype).requires_grad_()
    randomness = RunRandomness(0, needed=spec.source != "torch.optim")
    try:
        with randomness.active():
            optimizer = spec.create([param], {**values, "lr": 1e-3})
        if spec.family == "schedule_free":
            optimizer.train()  # type: ignore[attr-defined]
        step = _stepper(spec, optimizer, param)
        with randomness.active():
            step()
        memory = _state_bytes(optimizer, param) / param.numel()
        times = []
        for _ in range(UNTIMED_STEPS + TIMED_STEPS):
            with randomness.active():
                times.append(step())
        seconds = statistics.median(times[UNTIMED_STEPS:])
    except LIBRARY_ERRORS as error:
        return {
            "state_bytes_per_parameter": None,
            "step_seconds": None,
            "measure_error": str(error),
        }
    return {"state_bytes_per_parameter": memory, "step_seconds": seconds, "measure_error": None}


def _stepper(
    spec: OptimizerSpec, optimizer: torch.optim.Optimizer, param: Tensor
) -> Callable[[], float]:
    """One training step the way `spec`'s family takes it; answers the seconds of step()."""

    def objective() -> Tensor:
        optimizer.zero_grad()
        loss = 0.5 * (param * param).sum()
        if spec.family == "hessian":
            (param.grad,) = torch.autograd.grad(loss, param, create_graph=True)
        else:
            loss.backward()
        return loss

    def closure() -> Tensor:
        with torch.enable_grad():
            return objective()

    def step() -> float:
        if spec.needs_closure:
            began = time.perf_counter()
            optimizer.step(closure)  # type: ignore[arg-type]
            return time.perf_counter() - began
        objective()
        began = time.perf_counter()
        optimizer.step()
        return time.perf_counter() - began

    return step


def _state_bytes(optimizer: torch.optim.Optimizer, param: Tensor) -> int:
    """Bytes of every distinct tensor in the optimizer's state, a wrapped base's included,
    the parameter's own storage excepted."""
    seen = {param.untyped_storage().data_ptr()}
    total = 0
    for tensor in _state_tensors(optimizer, set()):
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen:
            continue
        seen.add(pointer)
        total += tensor.untyped_storage().nbytes()
    return total


def _state_tensors(optimizer: torch.optim.Optimizer, visited: set[int]) -> Iterator[Tensor]:
    if id(optimizer) in visited:
        return
    visited.add(id(optimizer))
    yield from _tensors_in(list(optimizer.state.values()))
    for value in vars(optimizer).values():
        if isinstance(value, torch.optim.Optimizer):
            yield from _state_tensors(value, visited)


def _tensors_in(value: Any) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _tensors_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors_in(item)


def versions() -> dict[str, str]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "losslab": version("losslab"),
        "torch": torch.__version__,
        "pytorch_optimizer": version("pytorch_optimizer"),
        "python": platform.python_version(),
    }


def protocol(checked: Plan) -> dict[str, Any]:
    request = checked.request
    return {
        "lr": {
            "min": request.lr.min,
            "max": request.lr.max,
            "n": request.lr.n,
            "log": True,
            "values": checked.lrs,
        },
        "starts": request.starts,
        "steps": request.steps,
        "seed": request.seed,
        "tolerance": request.tolerance,
        "escape_margin": request.escape_margin,
        "dtype": request.dtype,
        "rules": RULES,
        "versions": versions(),
    }


def run(
    checked: Plan,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run a planned benchmark; the answer docs/API.md describes under "Benchmarks"."""
    began = time.perf_counter()
    ticker = _Progress(checked.work(), progress, should_stop)
    rows = []
    for contender in checked.contenders:
        for goal in checked.goals:
            ticker.check()
            cells = run_pair(contender, goal, checked.lrs, checked.request, ticker)
            rows.append(row(contender, goal, checked.lrs, cells))
    labels = [c.label for c in checked.contenders]
    ranking = rank_rows(rows, labels, [g.surface.name for g in checked.goals])
    places = {entry["optimizer"]: entry for entry in ranking}
    dtype = DTYPES[checked.request.dtype]
    optimizers = []
    for contender in checked.contenders:
        ticker.check()
        optimizers.append(
            {
                "label": contender.label,
                "name": contender.spec.name,
                "hyperparameters": contender.hyperparameters,
                "source": contender.spec.source,
                "family": contender.spec.family,
                "path": contender.path,
                **measure(contender.spec, contender.hyperparameters, dtype),
                "rank": places[contender.label]["rank"],
                "mean_rank": places[contender.label]["mean_rank"],
            }
        )
    return {
        "protocol": protocol(checked),
        "surfaces": [goal.as_json() for goal in checked.goals],
        "optimizers": optimizers,
        "rows": rows,
        "ranking": ranking,
        "seconds": time.perf_counter() - began,
    }


TABLE_COLUMNS = (
    "rank",
    "optimizer",
    "surface",
    "surface_rank",
    "tuned_lr",
    "at_grid_edge",
    "success",
    "interval_95",
    "median_steps",
    "final_loss_median",
    "diverged",
    "lr_decades",
    "state_bytes",
    "step_us",
)


def table(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One line per optimizer and surface, in overall rank order: the comparison table."""
    optimizers = {o["label"]: o for o in answer["optimizers"]}
    order = [entry["optimizer"] for entry in answer["ranking"]]
    lines = []
    for label in order:
        o = optimizers[label]
        for r in (r for r in answer["rows"] if r["optimizer"] == label):
            spread_ = r["final_loss"]
            lines.append(
                {
                    "rank": o["rank"],
                    "optimizer": label,
                    "surface": r["surface"],
                    "surface_rank": r["rank"],
                    "tuned_lr": r["tuned_lr"],
                    "at_grid_edge": "edge" if r["tuned_at_edge"] else "",
                    "success": f"{r['successes']}/{r['runs']}",
                    "interval_95": r["interval"],
                    "median_steps": r["median_steps"],
                    "final_loss_median": None if spread_ is None else spread_["median"],
                    "diverged": r["diverged"],
                    "lr_decades": r["sensitivity_decades"],
                    "state_bytes": o["state_bytes_per_parameter"],
                    "step_us": None if o["step_seconds"] is None else o["step_seconds"] * 1e6,
                }
            )
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return f"{value[0]:.2f}–{value[1]:.2f}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def to_markdown(answer: Mapping[str, Any]) -> str:
    """The table as Markdown, with the protocol in a line above it."""
    p = answer["protocol"]
    lr = p["lr"]
    head = (
        f"lr grid: {lr['n']} values from {lr['min']:g} to {lr['max']:g} (log); "
        f"{p['starts']} starts per surface (seed {p['seed']}); {p['steps']} steps; "
        f"tolerance {p['tolerance']:g}; escape margin {p['escape_margin']:g}; {p['dtype']}; "
        + ", ".join(f"{k} {v}" for k, v in p["versions"].items())
    )
    lines = [head, "", "| " + " | ".join(TABLE_COLUMNS) + " |"]
    lines.append("|" + "---|" * len(TABLE_COLUMNS))
    for line in table(answer):
        lines.append("| " + " | ".join(_cell(line[c]) for c in TABLE_COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def to_csv(answer: Mapping[str, Any]) -> str:
    """The table as CSV, every number in full."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = [c for c in TABLE_COLUMNS if c != "interval_95"]
    split = columns.index("success") + 1
    writer.writerow([*columns[:split], "interval_low", "interval_high", *columns[split:]])
    for line in table(answer):
        low, high = line["interval_95"]
        values = ["" if line[c] is None else line[c] for c in columns]
        writer.writerow([*values[:split], low, high, *values[split:]])
    return out.getvalue()


def with_exports(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with the table as Markdown and CSV (`exports`), as the API gives it."""
    return {**answer, "exports": {"markdown": to_markdown(answer), "csv": to_csv(answer)}}


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(_short(v) for v in value)
    return str(value)
