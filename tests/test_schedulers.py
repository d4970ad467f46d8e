from __future__ import annotations

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab.schedulers import SCHEDULERS
from tests.conftest import strict_json

S = torch.optim.lr_scheduler
STEPS = 60
BASE = {"surface": "bowl", "optimizer": "SGD", "steps": STEPS}
HP: dict[str, Any] = {"lr": 0.01, "momentum": 0.5}

# name -> (params sent to the API, the same scheduler built by hand on an optimizer)
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "StepLR": ({"step_size": 7, "gamma": 0.5}, lambda o: S.StepLR(o, 7, 0.5)),
    "MultiStepLR": ({"milestones": [5, 20]}, lambda o: S.MultiStepLR(o, [5, 20])),
    "ExponentialLR": ({"gamma": 0.9}, lambda o: S.ExponentialLR(o, 0.9)),
    "CosineAnnealingLR": ({}, lambda o: S.CosineAnnealingLR(o, STEPS)),
    "CosineAnnealingWarmRestarts": (
        {"T_0": 10, "T_mult": 2, "eta_min": 0.001},
        lambda o: S.CosineAnnealingWarmRestarts(o, 10, 2, 0.001),
    ),
    "CyclicLR": (
        {"step_size_up": 8, "mode": "triangular2"},
        lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=8, mode="triangular2"),
    ),
    "OneCycleLR": ({"max_lr": 0.2}, lambda o: S.OneCycleLR(o, 0.2, STEPS)),
    "LinearLR": ({"total_iters": 30}, lambda o: S.LinearLR(o, total_iters=30)),
    "ConstantLR": ({"factor": 0.5, "total_iters": 9}, lambda o: S.ConstantLR(o, 0.5, 9)),
    "PolynomialLR": (
        {"total_iters": 40, "power": 2.0},
        lambda o: S.PolynomialLR(o, 40, 2.0),
    ),
    "ReduceLROnPlateau": (
        {"patience": 2, "factor": 0.5, "threshold": 0.5},
        lambda o: S.ReduceLROnPlateau(o, patience=2, factor=0.5, threshold=0.5),
    ),
}


def torch_lrs(make: Any, warmup: int | None = None) -> list[float]:
    """The lr at each frame of the plain loop with this scheduler (frame k: after k steps)."""
    x = torch.tensor([3.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([x], **HP)
    scheduler = make(opt)
    if warmup is not None:
        warm = S.LinearLR(opt, 0.1, 1.0, total_iters=warmup)
        main = make(opt)
        scheduler = S.SequentialLR(opt, [warm, main], [warmup])
    lrs = []
    for step in range(STEPS + 1):
        opt.zero_grad()
        loss = x[0] ** 2 + x[1] ** 2
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        if step == STEPS:
            break
        opt.step()
        if isinstance(scheduler, S.ReduceLROnPlateau):
            scheduler.step(loss.item())
        else:
            scheduler.step()
    return lrs


def test_every_scheduler_is_listed_with_its_schema(client: TestClient) -> None:
    listed = {s["name"]: s for s in strict_json(client.get("/api/schedulers").text)}
    assert set(listed) == set(CASES) == set(SCHEDULERS)
    multistep = {h["name"]: h for h in listed["MultiStepLR"]["hyperparameters"]}
    assert multistep["milestones"]["type"] == "int_list"
    assert multistep["gamma"]["default"] == 0.1
    assert listed["ReduceLROnPlateau"]["needs_loss"] is True
    assert not listed["ReduceLROnPlateau"]["supports_warmup"]
    cosine = {h["name"]: h for h in listed["CosineAnnealingLR"]["hyperparameters"]}
    assert cosine["T_max"]["nullable"] and cosine["T_max"]["default"] is None


@pytest.mark.parametrize("name", list(CASES), ids=str)
def test_lr_of_every_frame_is_torchs_own(client: TestClient, name: str) -> None:
    params, make = CASES[name]
    body = BASE | {"hyperparameters": HP, "scheduler": {"name": name, "params": params}}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200, response.text
    frames = response.json()["frames"]
    assert [f["lr"] for f in frames] == torch_lrs(make)[: len(frames)]
    assert len({f["lr"] for f in frames}) > 1


@pytest.mark.parametrize("name", ["CosineAnnealingLR", "StepLR", "OneCycleLR"], ids=str)
def test_warmup_then_schedule_is_sequential_lr(client: TestClient, name: str) -> None:
    params, make = CASES[name]
    scheduler = {"name": name, "params": params, "warmup": {"steps": 10, "start_factor": 0.1}}
    response = client.post("/api/runs", json=BASE | {"hyperparameters": HP, "scheduler": scheduler})
    assert response.status_code == 200, response.text
    frames = response.json()["frames"]
    assert [f["lr"] for f in frames] == torch_lrs(make, warmup=10)[: len(frames)]


@pytest.mark.parametrize(
    ("scheduler", "loc"),
    [
        ({"name": "Nope"}, ["body", "scheduler", "name"]),
        ({"name": "StepLR", "params": {"step_size": 0}},
         ["body", "scheduler", "params", "step_size"]),
        ({"name": "StepLR", "params": {"gamma": "x"}}, ["body", "scheduler", "params", "gamma"]),
        ({"name": "StepLR", "params": {"foo": 1}}, ["body", "scheduler", "params", "foo"]),
        ({"name": "MultiStepLR", "params": {"milestones": [5, 3]}},
         ["body", "scheduler", "params", "milestones"]),
        ({"name": "OneCycleLR", "params": {"total_steps": 10}},
         ["body", "scheduler", "params", "total_steps"]),
        ({"name": "ReduceLROnPlateau", "warmup": {"steps": 5}}, ["body", "scheduler", "warmup"]),
        ({"name": "StepLR", "warmup": {"steps": 500}}, ["body", "scheduler", "warmup", "steps"]),
        ({"name": "LinearLR", "params": {"start_factor": 0.0}}, ["body", "scheduler", "params"]),
        ({"name": "CyclicLR", "params": {"cycle_momentum": True}, "optimizer": "Adagrad"},
         ["body", "scheduler", "params"]),
    ],
)  # fmt: skip
def test_bad_schedulers_get_422_naming_the_field(
    client: TestClient, scheduler: dict[str, Any], loc: list[str]
) -> None:
    # Adagrad has neither momentum nor betas for CyclicLR to cycle.
    optimizer = scheduler.pop("optimizer", "SGD")
    body = BASE | {"optimizer": optimizer, "hyperparameters": {"lr": 0.01}, "scheduler": scheduler}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 422, response.text
    assert strict_json(response.text)["detail"][0]["loc"] == loc
