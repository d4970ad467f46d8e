"""Gradient clipping and gradient noise, applied between backward() and step()."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from tests.conftest import strict_json

BASE: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.001, "momentum": 0.9},
    "steps": 80,
}


def run(client: TestClient, body: dict[str, Any]) -> Any:
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def plain_loop(clip: Any, noise: tuple[float, int] | None, steps: int) -> list[list[float]]:
    x = torch.tensor([-1.2, 1.0], requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.001, momentum=0.9)
    generator = torch.Generator().manual_seed(noise[1]) if noise else None
    points = []
    for step in range(steps + 1):
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        assert x.grad is not None
        if noise:
            x.grad.add_(torch.randn(x.shape, generator=generator, dtype=x.dtype) * noise[0])
        if clip:
            clip(x)
        points.append(x.detach().tolist())
        if step < steps:
            opt.step()
    return points


@pytest.mark.parametrize(
    ("clip", "reference"),
    [
        ({"max_norm": 1.0}, lambda x: torch.nn.utils.clip_grad_norm_([x], 1.0)),
        ({"max_norm": 2.0, "norm_type": 1}, lambda x: torch.nn.utils.clip_grad_norm_([x], 2.0, 1)),
        ({"max_norm": 1.5, "norm_type": "inf"},
         lambda x: torch.nn.utils.clip_grad_norm_([x], 1.5, math.inf)),
        ({"max_value": 0.5}, lambda x: torch.nn.utils.clip_grad_value_([x], 0.5)),
    ],
    ids=["norm", "l1 norm", "inf norm", "value"],
)  # fmt: skip
def test_clipping_is_torchs_own(client: TestClient, clip: dict[str, Any], reference: Any) -> None:
    frames = run(client, BASE | {"clip": clip})["frames"]
    expected = plain_loop(reference, None, BASE["steps"])
    assert [[f["x"], f["y"]] for f in frames] == expected[: len(frames)]
    for frame in frames:
        assert "true_grad" in frame
        if "max_value" in clip:
            assert max(abs(g) for g in frame["grad"]) <= clip["max_value"] + 1e-7
    if clip.get("norm_type", 2) == 2 and "max_norm" in clip:
        assert all(math.hypot(*f["grad"]) <= 1.0 + 1e-6 for f in frames)
        assert any(math.hypot(*f["true_grad"]) > 10 for f in frames)


def test_noise_is_reproducible_by_seed(client: TestClient) -> None:
    noisy = BASE | {"noise": {"std": 2.0, "seed": 7}}
    first, again = run(client, noisy)["frames"], run(client, noisy)["frames"]
    other = run(client, BASE | {"noise": {"std": 2.0, "seed": 8}})["frames"]
    assert first == again
    assert [f["x"] for f in first] != [f["x"] for f in other]
    assert [[f["x"], f["y"]] for f in first] == plain_loop(None, (2.0, 7), BASE["steps"])
    for frame in first[1:]:
        assert frame["grad"] != frame["true_grad"]


def test_noise_then_clipping_in_that_order(client: TestClient) -> None:
    body = BASE | {"noise": {"std": 5.0, "seed": 1}, "clip": {"max_norm": 1.0}}
    frames = run(client, body)["frames"]
    expected = plain_loop(lambda x: torch.nn.utils.clip_grad_norm_([x], 1.0), (5.0, 1), 80)
    assert [[f["x"], f["y"]] for f in frames] == expected


def test_zero_noise_changes_nothing_but_reports_true_grad(client: TestClient) -> None:
    plain = run(client, BASE)["frames"]
    zero = run(client, BASE | {"noise": {"std": 0.0, "seed": 3}})["frames"]
    assert [f["x"] for f in plain] == [f["x"] for f in zero]


def test_ensemble_draws_distinct_noisy_paths(client: TestClient) -> None:
    body = BASE | {"noise": {"std": 1.0, "seed": 100}, "members": 20}
    response = client.post("/api/runs/ensemble", json=body)
    assert response.status_code == 200, response.text
    members = strict_json(response.text)["runs"]
    assert [m["seed"] for m in members] == list(range(100, 120))
    assert len({tuple(m["x"]) for m in members}) == 20
    single = run(client, BASE | {"noise": {"std": 1.0, "seed": 105}})["frames"]
    assert members[5]["x"] == [f["x"] for f in single]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (BASE | {"clip": {"max_norm": 1.0, "max_value": 1.0}}, ["body", "clip"]),
        (BASE | {"clip": {}}, ["body", "clip"]),
        (BASE | {"clip": {"max_norm": -1}}, ["body", "clip", "max_norm"]),
        (BASE | {"clip": {"max_norm": 1, "norm_type": "two"}}, ["body", "clip", "norm_type"]),
        (BASE | {"noise": {"std": -1}}, ["body", "noise", "std"]),
        (BASE | {"noise": {"std": 1, "seed": -5}}, ["body", "noise", "seed"]),
        (BASE | {"noise": {"std": 1, "seed": 1.5}}, ["body", "noise", "seed"]),
    ],
)
def test_bad_transforms_get_422(client: TestClient, body: dict[str, Any], loc: list[str]) -> None:
    response = client.post("/api/runs", json=body)
    assert response.status_code == 422
    assert strict_json(response.text)["detail"][0]["loc"][: len(loc)] == loc


def test_ensemble_needs_noise_and_is_bounded(client: TestClient) -> None:
    response = client.post("/api/runs/ensemble", json=BASE)
    assert response.status_code == 422
    assert strict_json(response.text)["detail"][0]["loc"] == ["body", "noise"]
    too_big = BASE | {"noise": {"std": 1.0}, "members": 50, "steps": 10_000}
    response = client.post("/api/runs/ensemble", json=too_big)
    assert response.status_code == 422
    assert strict_json(response.text)["detail"][0]["loc"] == ["body", "members"]
