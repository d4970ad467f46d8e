from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from losslab import engine
from losslab.engine import InvalidRun, Trajectory, make_config
from losslab.landscapes.surfaces import FOUR_WELLS_ESCAPE_LR, UnknownSurface, get_surface
from losslab.optimizers import HyperparameterError, UnknownOptimizer


def plain_torch_loop(
    surface: str,
    optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: tuple[float, float],
    steps: int,
    dtype: torch.dtype = torch.float32,
    shape: tuple[int, ...] = (2,),
    closure: bool = False,
) -> list[tuple[list[float], float, list[float]]]:
    """The seed-style loop a torch user writes: (point, loss, grad) after each step."""
    f = get_surface(surface).fn
    x = torch.tensor(start, dtype=dtype).reshape(shape).requires_grad_()
    opt = optimizer([x])
    out = []

    def evaluate() -> torch.Tensor:
        opt.zero_grad()
        loss = f(x.reshape(2))
        loss.backward()
        return loss

    for _ in range(steps + 1):
        loss = evaluate()
        assert x.grad is not None
        out.append((x.detach().reshape(-1).tolist(), loss.item(), x.grad.reshape(-1).tolist()))
        if closure:
            opt.step(evaluate)  # type: ignore[arg-type]
        else:
            opt.step()
    return out


def frames_of(**kwargs: Any) -> tuple[str, list[engine.Frame]]:
    status, frames, _ = engine.run(make_config(**kwargs))
    return status, frames


@pytest.mark.parametrize(
    ("name", "hp", "factory", "surface", "shape", "closure"),
    [
        ("SGD", {"lr": 0.1}, lambda p: torch.optim.SGD(p, lr=0.1), "bowl", (2,), False),
        (
            "SGD",
            {"lr": 0.01, "momentum": 0.9, "nesterov": True},
            lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
            "rosenbrock",
            (2,),
            False,
        ),
        ("Adam", {"lr": 0.05}, lambda p: torch.optim.Adam(p, lr=0.05), "himmelblau", (2,), False),
        ("RMSprop", {}, lambda p: torch.optim.RMSprop(p), "elliptic", (2,), False),
        ("LBFGS", {}, lambda p: torch.optim.LBFGS(p), "rosenbrock", (2,), True),
        ("Muon", {"lr": 0.02}, lambda p: torch.optim.Muon(p, lr=0.02), "bowl", (1, 2), False),
    ],
    ids=["SGD-bowl", "nesterov-rosenbrock", "Adam-himmelblau", "RMSprop-elliptic", "LBFGS", "Muon"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_is_the_plain_torch_loop(
    name: str,
    hp: dict[str, Any],
    factory: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    surface: str,
    shape: tuple[int, ...],
    closure: bool,
    dtype: str,
) -> None:
    start = get_surface(surface).default_start
    steps = 30
    _, frames = frames_of(
        surface=surface, optimizer=name, hyperparameters=hp, start=start, steps=steps, dtype=dtype
    )
    reference = plain_torch_loop(
        surface, factory, start, steps, engine.DTYPES[dtype], shape=shape, closure=closure
    )
    assert len(frames) <= steps + 1
    for frame, (point, loss, grad) in zip(frames, reference, strict=False):
        assert [frame["x"], frame["y"]] == point
        assert frame["loss"] == loss
        assert frame["grad"] == grad


def test_frames_carry_torchs_own_state() -> None:
    config = make_config(surface="bowl", optimizer="Adam", hyperparameters={"lr": 0.1}, steps=3)
    frames = list(Trajectory(config))
    assert frames[0]["state"] == {}
    x = torch.tensor(config.start, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.1)
    for frame in frames[1:]:
        opt.zero_grad()
        (x[0] ** 2 + x[1] ** 2).backward()
        opt.step()
        assert frame["state"]["exp_avg"] == opt.state[x]["exp_avg"].tolist()
        assert frame["state"]["exp_avg_sq"] == opt.state[x]["exp_avg_sq"].tolist()
        assert frame["state"]["step"] == frame["step"]
        assert frame["lr"] == 0.1


def test_momentum_buffer_is_a_flat_pair_for_muon() -> None:
    _, frames = frames_of(surface="bowl", optimizer="Muon", hyperparameters={"lr": 0.02}, steps=2)
    buffer = frames[2]["state"]["momentum_buffer"]
    assert isinstance(buffer, list) and len(buffer) == 2


def test_reference_example() -> None:
    status, frames = frames_of(
        surface="bowl",
        optimizer="SGD",
        hyperparameters={"lr": 0.1, "momentum": 0},
        start=[3, 2],
        steps=10,
    )
    assert status == "max_steps"
    assert len(frames) == 11
    assert [frames[1]["x"], frames[1]["y"]] == [2.4000000953674316, 1.600000023841858]
    assert frames[1]["loss"] == 8.320000648498535
    assert [frames[10]["x"], frames[10]["y"]] == [0.32212257385253906, 0.2147483378648758]
    assert frames[10]["loss"] == 0.1498797982931137


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_converges_at_a_stationary_point_by_the_documented_tolerance(dtype: str) -> None:
    config = make_config(
        surface="bowl", optimizer="SGD", hyperparameters={"lr": 0.1}, steps=5000, dtype=dtype
    )
    trajectory = Trajectory(config)
    frames = list(trajectory)
    assert trajectory.status == "converged"
    assert len(frames) < 5001
    tol = math.sqrt(torch.finfo(engine.DTYPES[dtype]).eps)
    last, before = frames[-1], frames[-2]
    assert math.hypot(*last["grad"]) <= tol
    assert math.hypot(last["x"] - before["x"], last["y"] - before["y"]) <= tol
    # One step earlier it had not converged yet: the run stops at the first such frame.
    earlier = frames[-3]
    assert (
        math.hypot(*before["grad"]) > tol
        or math.hypot(before["x"] - earlier["x"], before["y"] - earlier["y"]) > tol
    )


def test_takes_every_step_when_not_converging() -> None:
    status, frames = frames_of(surface="rosenbrock", optimizer="SGD", steps=40)
    assert status == "max_steps"
    assert [f["step"] for f in frames] == list(range(41))


def test_huge_learning_rate_diverges_with_finite_frames() -> None:
    trajectory = Trajectory(
        make_config(surface="bowl", optimizer="SGD", hyperparameters={"lr": 1e6}, steps=100)
    )
    frames = list(trajectory)
    assert trajectory.status == "diverged"
    assert len(frames) < 101
    for frame in frames:
        values = [frame["x"], frame["y"], frame["loss"], *frame["grad"]]
        assert all(math.isfinite(v) for v in values)


def test_leaving_the_bound_is_divergence_before_overflow() -> None:
    config = make_config(surface="saddle", optimizer="SGD", hyperparameters={"lr": 0.1}, steps=2000)
    trajectory = Trajectory(config)
    frames = list(trajectory)
    assert trajectory.status == "diverged"
    (_, _), (ylo, yhi) = config.bounds()
    assert not ylo <= frames[-1]["y"] <= yhi
    assert all(ylo <= f["y"] <= yhi for f in frames[:-1])
    assert "bound" in trajectory.reason


def test_non_finite_state_ends_the_run_as_diverged() -> None:
    # Adam's exp_avg_sq overflows float32 long before the point does.
    trajectory = Trajectory(
        make_config(
            surface="rosenbrock",
            optimizer="Adam",
            hyperparameters={"lr": 1e5},
            steps=200,
        )
    )
    frames = list(trajectory)
    assert trajectory.status == "diverged"
    for frame in frames:
        for value in frame["state"].values():
            numbers = value if isinstance(value, list) else [value]
            assert all(math.isfinite(v) for v in numbers)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_momentum_escapes_the_local_minimum_where_plain_sgd_stops(dtype: str) -> None:
    surface = get_surface("four_wells")

    def reached(momentum: float) -> float:
        _, frames = frames_of(
            surface="four_wells",
            optimizer="SGD",
            hyperparameters={"lr": FOUR_WELLS_ESCAPE_LR, "momentum": momentum},
            steps=3000,
            dtype=dtype,
        )
        x, y = frames[-1]["x"], frames[-1]["y"]
        nearest = min(surface.minima, key=lambda m: math.hypot(m.x - x, m.y - y))
        assert math.hypot(nearest.x - x, nearest.y - y) < 1e-2
        assert nearest.kind == "local" or momentum > 0
        return surface.loss_at(nearest.x, nearest.y)

    assert reached(0.9) < reached(0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "loc"),
    [
        ({"surface": "nope"}, UnknownSurface, ("surface",)),
        ({"optimizer": "nope"}, UnknownOptimizer, ("optimizer",)),
        ({"steps": 0}, InvalidRun, ("steps",)),
        ({"steps": 10_001}, InvalidRun, ("steps",)),
        ({"dtype": "float16"}, InvalidRun, ("dtype",)),
        ({"start": [math.nan, 0.0]}, InvalidRun, ("start",)),
        ({"start": [1e12, 0.0]}, InvalidRun, ("start",)),
        ({"hyperparameters": {"foo": 1}}, HyperparameterError, ("hyperparameters", "foo")),
        (
            {"optimizer": "Adam", "hyperparameters": {"betas": [1.0, 0.999]}},
            HyperparameterError,
            ("hyperparameters", "betas"),
        ),
        (
            {"optimizer": "Rprop", "hyperparameters": {"lr": 0.1, "etas": [1.5, 1.2]}},
            HyperparameterError,
            ("hyperparameters", "etas"),
        ),
        (
            {"optimizer": "SGD", "hyperparameters": {"nesterov": True}},
            HyperparameterError,
            ("hyperparameters", "nesterov"),
        ),
    ],
    ids=lambda v: str(v) if isinstance(v, tuple) else None,
)
def test_invalid_configs_name_their_field(
    kwargs: dict[str, Any], error: type[Exception], loc: tuple[str | int, ...]
) -> None:
    base: dict[str, Any] = {"surface": "bowl", "optimizer": "SGD", "steps": 10}
    with pytest.raises(error) as caught:
        make_config(**(base | kwargs))
    assert caught.value.loc == loc  # type: ignore[attr-defined]
