"""Batched maps against the single-run engine: each sampled cell is one engine run."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from losslab import batched_optim, engine, maps
from losslab.config import Settings
from losslab.errors import InvalidInput
from losslab.landscapes.models import model_surface
from losslab.landscapes.surfaces import Surface, get_surface
from losslab.maps import (
    DIVERGED,
    UNDECIDED,
    Axis,
    BasinMap,
    CellGrid,
    HyperparameterMap,
    MapCancelled,
)
from losslab.optimizers import HyperparameterError, get_optimizer

SAMPLES = 20


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """These batches are small: intra-op threads only add synchronization (and, on a busy
    machine, long waits for a descheduled thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def basin(
    surface: str, optimizer: str, hp: dict[str, Any], steps: int, resolution: int, **kw: Any
) -> BasinMap:
    return maps.basin_map(
        get_surface(surface), get_optimizer(optimizer), hp, steps, resolution, **kw
    )


def hyper(
    surface: str,
    optimizer: str,
    hp: dict[str, Any],
    steps: int,
    x: Axis,
    y: Axis,
    start: tuple[float, float] | None = None,
    **kw: Any,
) -> HyperparameterMap:
    surf = get_surface(surface)
    point = surf.default_start if start is None else start
    return maps.hyperparameter_map(surf, get_optimizer(optimizer), hp, point, steps, x, y, **kw)


def sample_cells(grid: CellGrid, count: int, seed: int) -> list[tuple[int, int]]:
    """`count` random cells, plus two that diverged, two undecided and two at each of two
    minima, so that every kind of ending is checked."""
    rng = random.Random(seed)
    cells = [(i, j) for i in range(len(grid.y)) for j in range(len(grid.x))]
    chosen = set(rng.sample(cells, min(count, len(cells))))
    minima = sorted({o for row in grid.outcome for o in row} - {DIVERGED, UNDECIDED})
    for code in [DIVERGED, UNDECIDED, *rng.sample(minima, min(2, len(minima)))]:
        with_code = [(i, j) for i, j in cells if grid.outcome[i][j] == code]
        chosen |= set(rng.sample(with_code, min(2, len(with_code))))
    return sorted(chosen)


def radius(surface: Surface) -> float:
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    return maps.MINIMUM_RADIUS_FRACTION * math.hypot(xhi - xlo, yhi - ylo)


def outcome_of_run(surface: Surface, x: float, y: float) -> int:
    """The documented rule: the nearest listed minimum within the radius, else undecided."""
    distance, index = min(
        ((math.hypot(x - m.x, y - m.y), k) for k, m in enumerate(surface.minima)),
        default=(math.inf, UNDECIDED),
    )
    return index if distance <= radius(surface) else UNDECIDED


def near_boundary(surface: Surface, x: float, y: float) -> bool:
    """Within 1e-5 of the radius around a minimum, where rounding may flip the outcome."""
    r = radius(surface)
    return any(abs(math.hypot(x - m.x, y - m.y) - r) < 1e-5 for m in surface.minima)


def assert_cell_is_the_run(
    grid: CellGrid, i: int, j: int, surface: Surface, config: engine.RunConfig
) -> None:
    status, _, summary = engine.run(config)
    where = f"cell ({i}, {j}): {config.hyperparameters} from {config.start}"
    if status == "diverged":
        assert grid.outcome[i][j] == DIVERGED, where
        assert grid.final_loss[i][j] is None and grid.steps_to_converge[i][j] is None, where
        return
    assert grid.outcome[i][j] != DIVERGED, where
    assert grid.final_x[i][j] == pytest.approx(summary.final_x, abs=1e-5), where
    assert grid.final_y[i][j] == pytest.approx(summary.final_y, abs=1e-5), where
    assert grid.final_loss[i][j] == pytest.approx(summary.final_loss, rel=1e-5, abs=1e-5), where
    converged = summary.steps_taken if status == "converged" else None
    assert grid.steps_to_converge[i][j] == converged, where
    if not near_boundary(surface, summary.final_x, summary.final_y):
        expected = outcome_of_run(surface, summary.final_x, summary.final_y)
        assert grid.outcome[i][j] == expected, where
        assert maps.nearest_minimum(surface, summary.final_x, summary.final_y) == expected


BASIN_CASES = [
    ("himmelblau", "Adam", {"lr": 0.05}, 80, "float32"),
    ("four_wells", "SGD", {"lr": 0.01, "momentum": 0.9}, 120, "float32"),
    ("rastrigin", "RMSprop", {"lr": 0.01}, 80, "float32"),
    ("himmelblau", "Adam", {"lr": 0.05}, 80, "float64"),
]


@pytest.mark.parametrize(
    ("surface", "optimizer", "hp", "steps", "dtype"),
    BASIN_CASES,
    ids=[f"{c[1]}-{c[0]}-{c[4]}" for c in BASIN_CASES],
)
def test_basin_cells_are_single_runs(
    surface: str, optimizer: str, hp: dict[str, Any], steps: int, dtype: str
) -> None:
    grid = basin(surface, optimizer, hp, steps, 40, dtype=dtype)
    surf = get_surface(surface)
    for i, j in sample_cells(grid, SAMPLES, seed=1):
        config = engine.make_config(
            surface=surf,
            optimizer=optimizer,
            hyperparameters=hp,
            start=(grid.x[j], grid.y[i]),
            steps=steps,
            dtype=dtype,
        )
        assert_cell_is_the_run(grid, i, j, surf, config)


# One setting per batched optimizer: every cell of a small map against its single run.
EVERY_BASIN_OPTIMIZER = {
    "SGD": {"lr": 0.002, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01},
    "Adam": {"lr": 0.05, "amsgrad": True},
    "AdamW": {"lr": 0.05},
    "Adamax": {"lr": 0.05},
    "NAdam": {"lr": 0.05},
    "RAdam": {"lr": 0.05},
    "RMSprop": {"lr": 0.01, "centered": True, "momentum": 0.5},
    "Adagrad": {"lr": 0.5},
    "Adadelta": {},
    "ASGD": {"lr": 0.002, "t0": 10.0},
    "Rprop": {},
    "Adafactor": {"lr": 0.05, "weight_decay": 0.01},
    "Lion": {"lr": 0.02, "weight_decay": 0.1},
    "AdaBelief": {"lr": 0.05, "rectify": True, "ams_bound": True},
    "Adan": {"lr": 0.05, "weight_decay": 0.02},
}


def test_every_batched_basin_optimizer_is_listed() -> None:
    assert set(EVERY_BASIN_OPTIMIZER) == maps.BASIN_ROWS | maps.BASIN_RULES


def test_a_setting_that_couples_rows_is_refused_by_name() -> None:
    surface = get_surface("himmelblau")
    with pytest.raises(HyperparameterError) as caught:
        maps.basin_map(surface, get_optimizer("Adan"), {"max_grad_norm": 1.0}, 10, 4)
    assert caught.value.loc == ("hyperparameters", "max_grad_norm")


@pytest.mark.parametrize("optimizer", sorted(EVERY_BASIN_OPTIMIZER))
def test_every_batched_optimizer_keeps_rows_independent(optimizer: str) -> None:
    hp = EVERY_BASIN_OPTIMIZER[optimizer]
    grid = basin("himmelblau", optimizer, hp, 30, 4)
    surf = get_surface("himmelblau")
    for i in range(4):
        for j in range(4):
            config = engine.make_config(
                surface=surf,
                optimizer=optimizer,
                hyperparameters=hp,
                start=(grid.x[j], grid.y[i]),
                steps=30,
            )
            assert_cell_is_the_run(grid, i, j, surf, config)


def log_lr(lo: float, hi: float, n: int = 12) -> Axis:
    return Axis("lr", lo, hi, n, log=True)


HYPER_CASES: list[tuple[str, str, str, dict[str, Any], int, Axis, Axis]] = [
    ("SGD-elliptic", "elliptic", "SGD", {}, 80, log_lr(1e-3, 0.2), Axis("momentum", 0, 0.95, 12)),
    (
        "SGD-four_wells",
        "four_wells",
        "SGD",
        {"dampening": 0.1, "weight_decay": 0.001},
        80,
        log_lr(1e-3, 0.05),
        Axis("momentum", 0, 0.95, 12),
    ),
    (
        "nesterov",
        "four_wells",
        "SGD",
        {"nesterov": True},
        80,
        log_lr(1e-3, 0.05),
        Axis("momentum", 0.1, 0.95, 12),
    ),
    (
        "SGD-diverging",
        "rosenbrock",
        "SGD",
        {},
        80,
        log_lr(1e-4, 0.05),
        Axis("momentum", 0, 0.9, 10),
    ),
    (
        "SGD-maximize",
        "bowl",
        "SGD",
        {"maximize": True},
        80,
        log_lr(1e-3, 0.5),
        Axis("weight_decay", 0, 1, 8),
    ),
    ("Adam-beta1", "rosenbrock", "Adam", {}, 80, log_lr(1e-3, 0.1), Axis("betas.0", 0, 0.99, 12)),
    (
        "AdamW-amsgrad",
        "himmelblau",
        "AdamW",
        {"amsgrad": True},
        80,
        log_lr(1e-3, 0.3),
        Axis("betas.1", 0.9, 0.9999, 12),
    ),
    (
        "Adam-decoupled",
        "beale",
        "Adam",
        {"decoupled_weight_decay": True, "weight_decay": 0.01},
        80,
        log_lr(1e-3, 0.1),
        Axis("eps", 1e-8, 0.1, 10, log=True),
    ),
    (
        "RMSprop-alpha",
        "himmelblau",
        "RMSprop",
        {},
        80,
        log_lr(1e-3, 0.3),
        Axis("alpha", 0.5, 0.99, 12),
    ),
    (
        "RMSprop-centered",
        "rosenbrock",
        "RMSprop",
        {"centered": True, "weight_decay": 0.01},
        80,
        log_lr(1e-4, 0.05),
        Axis("momentum", 0, 0.9, 12),
    ),
    ("Adagrad", "rosenbrock", "Adagrad", {}, 80, log_lr(1e-2, 1.0), Axis("lr_decay", 0, 0.1, 12)),
    (
        "Adagrad-accumulator",
        "himmelblau",
        "Adagrad",
        {"weight_decay": 0.01},
        80,
        log_lr(1e-2, 2.0),
        Axis("initial_accumulator_value", 0, 1, 12),
    ),
    (
        "Adamax-groups",
        "himmelblau",
        "Adamax",
        {},
        60,
        log_lr(1e-3, 0.5, 6),
        Axis("betas.0", 0, 0.99, 6),
    ),
    ("Muon-groups", "bowl", "Muon", {}, 40, log_lr(1e-3, 0.5, 4), Axis("momentum", 0, 0.99, 4)),
]


@pytest.mark.parametrize(
    ("surface", "optimizer", "hp", "steps", "x", "y"),
    [case[1:] for case in HYPER_CASES],
    ids=[case[0] for case in HYPER_CASES],
)
def test_hyperparameter_cells_are_single_runs(
    surface: str, optimizer: str, hp: dict[str, Any], steps: int, x: Axis, y: Axis
) -> None:
    grid = hyper(surface, optimizer, hp, steps, x, y)
    surf = get_surface(surface)
    for i, j in sample_cells(grid, SAMPLES, seed=2):
        cell = {x.name: grid.x[j], y.name: grid.y[i]}
        values = maps.cell_hyperparameters(get_optimizer(optimizer), hp, cell)
        config = engine.make_config(
            surface=surf, optimizer=optimizer, hyperparameters=values, steps=steps
        )
        assert_cell_is_the_run(grid, i, j, surf, config)


def counting(surface: Surface) -> tuple[Surface, list[int]]:
    """The surface, counting evaluations of a batch of points."""
    calls: list[int] = []

    def fn(p: Tensor) -> Tensor:
        if p.dim() == 2:
            calls.append(p.shape[0])
        return surface.fn(p)

    return dataclasses.replace(surface, fn=fn), calls


COMPACTION_CASES = [
    ("SGD", {"nesterov": True}, Axis("momentum", 0.1, 0.9, 8)),
    ("Adam", {"amsgrad": True}, Axis("betas.0", 0, 0.9, 8)),
    ("RMSprop", {"centered": True}, Axis("momentum", 0, 0.9, 8)),
]


@pytest.mark.parametrize(
    ("optimizer", "hp", "y"), COMPACTION_CASES, ids=[c[0] for c in COMPACTION_CASES]
)
def test_rules_carry_their_state_when_stopped_cells_leave(
    optimizer: str, hp: dict[str, Any], y: Axis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batched_optim, "COMPACT_AT", 1)
    surface, calls = counting(get_surface("rosenbrock"))
    x = log_lr(1e-3, 1e4, 8)  # the large rates diverge at once, leaving the batch
    spec = get_optimizer(optimizer)
    grid = maps.hyperparameter_map(surface, spec, hp, surface.default_start, 40, x, y)
    assert calls[0] == 64 and calls[-1] < 64
    for i, j in sample_cells(grid, SAMPLES, seed=4):
        values = maps.cell_hyperparameters(spec, hp, {x.name: grid.x[j], y.name: grid.y[i]})
        config = engine.make_config(
            surface=surface, optimizer=optimizer, hyperparameters=values, steps=40
        )
        assert_cell_is_the_run(grid, i, j, surface, config)


def _step(param: Tensor, optimizer: batched_optim.CellOptimizer) -> None:
    param.grad = None
    get_surface("himmelblau").fn(param).sum().backward()
    optimizer.step()


@pytest.mark.parametrize("optimizer", sorted(EVERY_BASIN_OPTIMIZER))
def test_dropping_rows_keeps_the_others_trajectories(optimizer: str) -> None:
    """What a basin map does when stopped cells leave the batch, for every batched optimizer."""
    spec, hp = get_optimizer(optimizer), EVERY_BASIN_OPTIMIZER[optimizer]
    axis = torch.linspace(-5, 5, 6)
    starts = torch.stack(torch.meshgrid(axis, axis, indexing="xy"))
    full, part = (starts.reshape(2, -1).T.contiguous().requires_grad_() for _ in range(2))
    make = maps.basin_optimizer
    full_opt, part_opt = make(spec, hp, full), make(spec, hp, part)
    for _ in range(10):
        _step(full, full_opt)
        _step(part, part_opt)
    keep = torch.arange(0, 36, 3)
    part = part.detach()[keep].clone().requires_grad_()
    assert part_opt.compact(keep, part)
    for _ in range(10):
        _step(full, full_opt)
        _step(part, part_opt)
    torch.testing.assert_close(part.detach(), full.detach()[keep], rtol=0, atol=0, equal_nan=True)


EXACT_CASES = [
    ("Adam", {"amsgrad": True, "weight_decay": 0.1}, Axis("betas.1", 0.9, 0.9999, 5)),
    ("SGD", {"nesterov": True, "weight_decay": 0.01}, Axis("momentum", 0.1, 0.99, 5)),
    ("RMSprop", {"centered": True}, Axis("momentum", 0, 0.9, 5)),
    ("Adagrad", {"lr_decay": 0.01}, Axis("eps", 1e-10, 1e-2, 5, log=True)),
]


@pytest.mark.parametrize(("optimizer", "hp", "y"), EXACT_CASES, ids=[c[0] for c in EXACT_CASES])
def test_rules_match_torch_bit_for_bit(optimizer: str, hp: dict[str, Any], y: Axis) -> None:
    """Each per-cell rule repeats torch's kernels with the same rounding, not just closely."""
    x = log_lr(1e-3, 0.3, 5)
    grid = hyper("himmelblau", optimizer, hp, 30, x, y)
    spec, surface = get_optimizer(optimizer), get_surface("himmelblau")
    for i, j in itertools.product(range(5), range(5)):
        values = maps.cell_hyperparameters(spec, hp, {x.name: grid.x[j], y.name: grid.y[i]})
        config = engine.make_config(
            surface=surface, optimizer=optimizer, hyperparameters=values, steps=30
        )
        status, _, summary = engine.run(config)
        if status != "diverged":
            final = (grid.final_x[i][j], grid.final_y[i][j], grid.final_loss[i][j])
            assert final == (summary.final_x, summary.final_y, summary.final_loss)


def test_hyperparameter_map_in_float64() -> None:
    x, y = log_lr(1e-3, 0.2), Axis("momentum", 0, 0.95, 12)
    grid = hyper("elliptic", "SGD", {}, 100, x, y, dtype="float64")
    surf = get_surface("elliptic")
    for i, j in sample_cells(grid, SAMPLES, seed=3):
        values = {"lr": grid.x[j], "momentum": grid.y[i]}
        config = engine.make_config(
            surface=surf, optimizer="SGD", hyperparameters=values, steps=100, dtype="float64"
        )
        assert_cell_is_the_run(grid, i, j, surf, config)


def test_full_batch_models_agree_with_their_runs() -> None:
    surface = model_surface("logistic_regression", "two_classes")
    x, y = log_lr(1e-2, 10.0, 10), Axis("momentum", 0, 0.95, 10)
    grid = maps.hyperparameter_map(
        surface, get_optimizer("SGD"), {}, surface.default_start, 50, x, y
    )
    for i, j in sample_cells(grid, SAMPLES, seed=6):
        values = {"lr": grid.x[j], "momentum": grid.y[i]}
        config = engine.make_config(
            surface=surface, optimizer="SGD", hyperparameters=values, steps=50
        )
        assert_cell_is_the_run(grid, i, j, surface, config)
    with pytest.raises(InvalidInput) as caught:
        mini_batch = model_surface("logistic_regression", "two_classes", batch_size=8)
        maps.basin_map(mini_batch, get_optimizer("SGD"), {}, 10, 8)
    assert caught.value.loc == ("surface", "batch_size")


def test_himmelblau_basins_hold_all_four_minima() -> None:
    grid = basin("himmelblau", "SGD", {"lr": 0.002}, 300, 41)
    surf = get_surface("himmelblau")
    assert {o for row in grid.outcome for o in row} >= {0, 1, 2, 3}
    for index, minimum in enumerate(surf.minima):
        j = min(range(41), key=lambda k: abs(grid.x[k] - minimum.x))
        i = min(range(41), key=lambda k: abs(grid.y[k] - minimum.y))
        assert grid.outcome[i][j] == index
    assert [m["kind"] for m in grid.minima] == ["global"] * 4


def elliptic_sgd_map() -> HyperparameterMap:
    return hyper("elliptic", "SGD", {}, 300, log_lr(0.01, 0.5, 24), Axis("momentum", 0, 0.9, 16))


def test_lr_beyond_two_over_lambda_diverges() -> None:
    grid = elliptic_sgd_map()
    assert grid.y[0] == 0.0  # plain gradient descent: stable iff lr < 2 / 25
    plain = dict(zip(grid.x, grid.outcome[0], strict=True))
    assert all(outcome == DIVERGED for lr, outcome in plain.items() if lr > 2 / 25 * 1.02)
    assert all(outcome != DIVERGED for lr, outcome in plain.items() if lr < 2 / 25 * 0.98)


def test_stability_boundary_separates_diverged_cells() -> None:
    grid = elliptic_sgd_map()
    assert grid.stability_boundary is not None
    lrs, betas = zip(*grid.stability_boundary, strict=True)
    stable, unstable = [], []
    for i, beta in enumerate(grid.y):
        boundary = float(np.interp(beta, betas, lrs))
        assert boundary == pytest.approx(2 * (1 + beta) / 25)
        for j, lr in enumerate(grid.x):
            if lr < 0.95 * boundary:
                stable.append(grid.outcome[i][j] != DIVERGED)
            elif lr > 1.05 * boundary:
                unstable.append(grid.outcome[i][j] == DIVERGED)
    assert len(stable) > 50 and len(unstable) > 50
    assert sum(stable) >= 0.95 * len(stable)
    assert sum(unstable) >= 0.95 * len(unstable)


def test_stability_boundary_needs_sgd_lr_and_a_convex_quadratic() -> None:
    lr, momentum = log_lr(1e-3, 10.0), Axis("momentum", 0, 0.9, 8)
    wd = Axis("weight_decay", 0, 1, 8)
    bowl = get_surface("bowl")  # λ = 2: lr < (1 + β) without weight decay
    curve = maps.stability_boundary(bowl, "SGD", lr, momentum)
    assert curve is not None and curve[0] == pytest.approx((1.0, 0.0))
    assert curve[-1] == pytest.approx((1.9, 0.9))
    # lr on y: points are still (x, y) in axis coordinates, here (weight_decay, lr)
    curve = maps.stability_boundary(bowl, "SGD", wd, lr)
    assert curve is not None and curve[-1] == pytest.approx((1.0, 2 / 3))
    assert maps.stability_boundary(get_surface("rosenbrock"), "SGD", lr, momentum) is None
    assert maps.stability_boundary(get_surface("saddle"), "SGD", lr, momentum) is None
    assert maps.stability_boundary(bowl, "Adam", lr, momentum) is None
    assert maps.stability_boundary(bowl, "SGD", wd, momentum) is None
    narrow = log_lr(1e-3, 1e-2)
    assert maps.stability_boundary(bowl, "SGD", narrow, momentum) == []


def test_a_full_resolution_map_is_one_batch_per_step() -> None:
    surface, calls = counting(get_surface("himmelblau"))
    began = time.perf_counter()
    grid = maps.basin_map(surface, get_optimizer("Adam"), {"lr": 0.05}, 20, 256)
    assert time.perf_counter() - began < 20  # one run per cell in Python would take minutes
    assert calls == [256 * 256] * 21
    assert len(grid.outcome) == 256 and len(grid.outcome[0]) == 256


def test_stopped_cells_leave_the_batch() -> None:
    surface, calls = counting(get_surface("bowl"))
    maps.basin_map(surface, get_optimizer("SGD"), {"lr": 0.3}, 200, 20)
    assert calls[0] == 400
    assert len(calls) < 201 and calls[-1] < 400


def test_cancellation_and_progress() -> None:
    polls: list[int] = []
    reports: list[float] = []

    def should_stop() -> bool:
        polls.append(1)
        return len(polls) == 3

    with pytest.raises(MapCancelled):
        basin("himmelblau", "Adam", {}, 100, 16, should_stop=should_stop)
    basin("himmelblau", "Adam", {}, 100, 16, progress=reports.append)
    assert reports == sorted(reports) and len(reports) >= 10 and reports[-1] == 1.0


def test_default_axes() -> None:
    assert [a.name for a in maps.default_axes(get_optimizer("SGD"))] == ["lr", "momentum"]
    assert [a.name for a in maps.default_axes(get_optimizer("Adam"))] == ["lr", "betas.0"]
    assert maps.default_axes(get_optimizer("SGD"))[0].log


def test_axis_values() -> None:
    assert Axis("lr", 1e-3, 1e-1, 3, log=True).values() == pytest.approx([1e-3, 1e-2, 1e-1])
    assert Axis("momentum", 0, 0.9, 4).values() == pytest.approx([0, 0.3, 0.6, 0.9])
    grid = hyper("bowl", "Muon", {}, 5, Axis("ns_steps", 1, 6, 4), log_lr(1e-3, 0.1, 2))
    assert grid.x == [1, 3, 4, 6]


X, Y = log_lr(1e-3, 0.1, 8), Axis("momentum", 0, 0.9, 8)
beta1 = Axis("betas.0", 0, 0.9, 8)


def bowl_basin(
    optimizer: str = "SGD", hp: dict[str, Any] | None = None, steps: int = 10, **kw: Any
) -> BasinMap:
    return basin("bowl", optimizer, hp or {}, steps, kw.pop("resolution", 8), **kw)


def bowl_hyper(
    x: Axis = X, y: Axis = Y, optimizer: str = "SGD", hp: dict[str, Any] | None = None, **kw: Any
) -> HyperparameterMap:
    return hyper("bowl", optimizer, hp or {}, kw.pop("steps", 10), x, y, **kw)


INVALID: list[tuple[str, Callable[[], object], tuple[str | int, ...]]] = [
    ("resolution", lambda: bowl_basin(resolution=1), ("resolution",)),
    ("resolution-max", lambda: bowl_basin(resolution=257), ("resolution",)),
    ("steps", lambda: bowl_basin(steps=0), ("steps",)),
    ("budget", lambda: bowl_basin(steps=100, limits=Settings(max_map_cell_steps=1000)), ("steps",)),
    ("dtype", lambda: bowl_basin(dtype="float16"), ("dtype",)),
    ("lr", lambda: bowl_basin(hp={"lr": -1}), ("hyperparameters", "lr")),
    ("unknown-hp", lambda: bowl_basin(hp={"beta": 1}), ("hyperparameters", "beta")),
    ("LBFGS-basin", lambda: bowl_basin("LBFGS"), ("optimizer",)),
    ("Muon-basin", lambda: bowl_basin("Muon"), ("optimizer",)),
    ("LBFGS-hyper", lambda: bowl_hyper(optimizer="LBFGS"), ("optimizer",)),
    ("start", lambda: bowl_hyper(start=(1e6, 0)), ("start",)),
    ("hyper-lr", lambda: bowl_hyper(hp={"dampening": 2}), ("hyperparameters", "dampening")),
    ("x-name", lambda: bowl_hyper(x=Axis("beta", 0, 1, 4)), ("axes", "x", "name")),
    ("bool-axis", lambda: bowl_hyper(y=Axis("nesterov", 0, 1, 4)), ("axes", "y", "name")),
    (
        "pair-index",
        lambda: bowl_hyper(optimizer="Adam", y=Axis("betas.2", 0, 1, 4)),
        ("axes", "y", "name"),
    ),
    ("same-axes", lambda: bowl_hyper(y=X), ("axes", "y", "name")),
    ("n-small", lambda: bowl_hyper(x=Axis("lr", 0.1, 1, 1)), ("axes", "x", "n")),
    ("n-large", lambda: bowl_hyper(y=Axis("momentum", 0, 1, 129)), ("axes", "y", "n")),
    ("reversed", lambda: bowl_hyper(x=Axis("lr", 1, 0.1, 4)), ("axes", "x", "max")),
    ("above-range", lambda: bowl_hyper(y=Axis("momentum", 0, 1.5, 4)), ("axes", "y", "max")),
    ("below-range", lambda: bowl_hyper(x=Axis("lr", -1, 1, 4)), ("axes", "x", "min")),
    ("log-zero", lambda: bowl_hyper(x=Axis("lr", 0, 1, 4, log=True)), ("axes", "x", "min")),
    ("not-finite", lambda: bowl_hyper(y=Axis("momentum", 0, math.nan, 4)), ("axes", "y", "max")),
    ("huge", lambda: bowl_hyper(x=Axis("lr", 0.1, 10**400, 4)), ("axes", "x", "max")),
    ("torch-rejects", lambda: bowl_hyper(hp={"nesterov": True}), ("axes", "y", "min")),
    ("groups-budget", lambda: bowl_hyper(X, beta1, optimizer="Adamax", steps=5000), ("steps",)),
]


@pytest.mark.parametrize(
    ("make", "loc"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_requests_name_their_field(
    make: Callable[[], object], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        make()
    assert caught.value.loc == loc
    assert caught.value.message
