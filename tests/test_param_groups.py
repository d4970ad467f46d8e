"""Parameter groups: x and y as two groups with their own settings, pinned to the plain loop
`Optimizer([{"params": [x], **g0}, {"params": [y], **g1}], **hyperparameters)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab import engine
from losslab.errors import InvalidInput
from losslab.landscapes.surfaces import get_surface
from losslab.optimizers import OPTIMIZERS

CASES = [
    ("bowl", "SGD", {"lr": 0.1}, [{}, {"lr": 0.01}]),
    ("rosenbrock", "SGD", {"lr": 0.001, "momentum": 0.9}, [{"momentum": 0.0}, {"lr": 0.0005}]),
    ("elliptic", "Adam", {"lr": 0.05}, [{"betas": [0.5, 0.9]}, {"lr": 0.2, "amsgrad": True}]),
    ("four_wells", "RMSprop", {"lr": 0.01}, [{"centered": True}, {"weight_decay": 0.1}]),
    ("rosenbrock", "Lion", {"lr": 0.001}, [{}, {"lr": 0.003}]),
]


def plain_loop(
    surface: str,
    optimizer: str,
    hyperparameters: Mapping[str, Any],
    groups: list[dict[str, Any]],
    start: tuple[float, float],
    steps: int,
    dtype: torch.dtype,
) -> list[tuple[list[float], float, list[float]]]:
    fn = get_surface(surface).fn
    x = torch.tensor([start[0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([start[1]], dtype=dtype, requires_grad=True)
    cls = OPTIMIZERS[optimizer].cls
    coerced = [{k: tuple(v) if isinstance(v, list) else v for k, v in g.items()} for g in groups]
    opt = cls([{"params": [x], **coerced[0]}, {"params": [y], **coerced[1]}], **hyperparameters)
    out = []
    for _ in range(steps + 1):
        opt.zero_grad()
        loss = fn(torch.cat([x, y]))
        loss.backward()
        assert x.grad is not None and y.grad is not None
        out.append(([x.item(), y.item()], loss.item(), [x.grad.item(), y.grad.item()]))
        opt.step()
    return out


@pytest.mark.parametrize(("surface", "optimizer", "hyperparameters", "groups"), CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_frames_are_the_plain_loop_with_two_groups(
    surface: str,
    optimizer: str,
    hyperparameters: dict[str, Any],
    groups: list[dict[str, Any]],
    dtype: str,
) -> None:
    config = engine.make_config(
        surface=surface,
        optimizer=optimizer,
        hyperparameters=hyperparameters,
        steps=60,
        dtype=dtype,
        param_groups=groups,
    )
    _, frames, _ = engine.run(config)
    expected = plain_loop(
        surface, optimizer, config.hyperparameters, groups, config.start, 60, engine.DTYPES[dtype]
    )
    got = [([f["x"], f["y"]], f["loss"], f["grad"]) for f in frames]
    assert got == expected[: len(got)]
    # and the groups matter: without them the path differs
    plain = engine.run(engine.make_config(
        surface=surface, optimizer=optimizer, hyperparameters=hyperparameters, steps=60,
        dtype=dtype,
    ))[1]  # fmt: skip
    assert [(f["x"], f["y"]) for f in plain] != [(f["x"], f["y"]) for f in frames]


def test_state_is_shown_side_by_side() -> None:
    config = engine.make_config(
        surface="bowl",
        optimizer="Adam",
        hyperparameters={"lr": 0.1},
        start=(3, 2),
        steps=3,
        param_groups=[{}, {"lr": 0.01}],
    )
    frames = engine.run(config)[1]
    assert frames[2]["state"]["step"] == 2.0
    assert len(frames[2]["state"]["exp_avg"]) == 2  # type: ignore[arg-type]
    assert frames[2]["lr"] == 0.1  # the first group's, as for every run


@pytest.mark.parametrize(
    ("optimizer", "groups", "loc"),
    [
        ("SGD", [{}], ("param_groups",)),
        ("SGD", [{}, {}, {}], ("param_groups",)),
        ("SGD", [{"lr": -1}, {}], ("param_groups", 0, "lr")),
        ("SGD", [{}, {"betas": [0.9, 0.99]}], ("param_groups", 1, "betas")),
        ("LBFGS", [{}, {}], ("param_groups",)),
        ("SAM", [{}, {}], ("param_groups",)),
        ("Lookahead", [{}, {}], ("param_groups",)),
        ("Muon", [{}, {}], ("param_groups",)),
    ],
)
def test_bad_groups_are_refused_naming_the_field(
    optimizer: str, groups: list[dict[str, Any]], loc: tuple[Any, ...]
) -> None:
    with pytest.raises(InvalidInput) as refused:
        engine.make_config(surface="bowl", optimizer=optimizer, param_groups=groups)
    assert refused.value.loc == loc


def test_the_api_runs_them_and_refuses_what_cannot_take_them(client: TestClient) -> None:
    body = {
        "surface": "bowl",
        "optimizer": "SGD",
        "hyperparameters": {"lr": 0.1},
        "start": [3, 2],
        "steps": 10,
        "param_groups": [{}, {"lr": 0.01}],
    }
    run = client.post("/api/runs", json=body).json()
    assert run["frames"][1]["x"] == pytest.approx(2.4) and run["frames"][1]["y"] == pytest.approx(
        1.96
    )
    assert run["analysis"]["stability"]["threshold"] is None  # no single lr bound
    for extra, loc in (
        ({"clip": {"max_norm": 1.0}}, ["body", "param_groups"]),
        ({"noise": {"std": 0.1}}, ["body", "param_groups"]),
        ({"param_groups": [{}]}, ["body", "param_groups"]),
    ):
        response = client.post("/api/runs", json=body | extra)
        assert response.status_code == 422, extra
        assert response.json()["detail"][0]["loc"] == loc
    sweep = body | {"axis": {"name": "lr", "min": 0.01, "max": 0.1, "n": 4}}
    response = client.post("/api/sweeps", json=sweep)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "param_groups"]


def test_the_listing_says_which_optimizers_take_them(client: TestClient) -> None:
    """`supports.param_groups` in GET /api/optimizers is what a run then accepts."""
    listed = [o for o in client.get("/api/optimizers").json() if not o["excluded"]]
    taken = set()
    for spec in listed:
        try:
            engine.make_config(surface="bowl", optimizer=spec["name"], param_groups=[{}, {}])
        except InvalidInput as error:
            if error.loc == ("param_groups",):
                continue
        taken.add(spec["name"])
    assert {o["name"] for o in listed if o["supports"]["param_groups"]} == taken
    assert {"SGD", "Adam", "Lion"} <= taken
    assert not {"LBFGS", "SAM", "Lookahead", "Muon", "ScheduleFreeAdamW"} & taken
