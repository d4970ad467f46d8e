from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import engine
from app.analysis import analyze
from app.presets import PRESETS
from app.surfaces import FOUR_WELLS_ESCAPE_LR
from tests.conftest import strict_json

LAMBDA_MAX, LAMBDA_MIN = 25.0, 1.0  # elliptic: 0.5·(x² + 25·y²)


def analyzed(**kwargs: Any) -> tuple[str, list[engine.Frame], dict[str, Any]]:
    config = engine.make_config(**kwargs)
    status, frames, _ = engine.run(config)
    return status, frames, analyze(config, frames, status)


def types(analysis: dict[str, Any]) -> set[str]:
    return {event["type"] for event in analysis["events"]}


def test_just_below_the_bound_converges_with_oscillation() -> None:
    lr = 0.99 * 2 / LAMBDA_MAX
    status, _, analysis = analyzed(
        surface="elliptic", optimizer="SGD", hyperparameters={"lr": lr}, steps=10_000,
        dtype="float64",
    )  # fmt: skip
    assert status == "converged"
    assert {"oscillation", "overshoot"} <= types(analysis)
    assert analysis["outcome"]["type"] == "minimum"
    expected = max(abs(1 - lr * LAMBDA_MAX), abs(1 - lr * LAMBDA_MIN))
    assert analysis["stability"]["measured_contraction"] == pytest.approx(expected, abs=1e-5)
    assert analysis["stability"]["predicted_contraction"] == pytest.approx(expected, abs=1e-12)
    assert analysis["stability"]["threshold"] == pytest.approx(2 / lr)
    assert max(analysis["curvature"]["sharpness"]) == pytest.approx(LAMBDA_MAX)


def test_just_above_the_bound_diverges() -> None:
    lr = 1.01 * 2 / LAMBDA_MAX
    status, _, analysis = analyzed(
        surface="elliptic", optimizer="SGD", hyperparameters={"lr": lr}, steps=10_000,
        dtype="float64",
    )  # fmt: skip
    assert status == "diverged"
    assert "divergence" in types(analysis)
    assert analysis["outcome"]["type"] == "diverged"
    assert analysis["stability"]["max_sharpness"] > analysis["stability"]["threshold"]


@pytest.mark.parametrize(
    ("beta", "nesterov", "bound"),
    [(0.5, False, 2 * 1.5 / LAMBDA_MAX), (0.5, True, (2 + 2 * 0.5) / ((1 + 2 * 0.5) * LAMBDA_MAX))],
    ids=["heavy ball", "nesterov"],
)
def test_momentum_bounds(beta: float, nesterov: bool, bound: float) -> None:
    def status(lr: float) -> str:
        hp = {"lr": lr, "momentum": beta, "nesterov": nesterov}
        result, _, analysis = analyzed(
            surface="elliptic", optimizer="SGD", hyperparameters=hp, steps=10_000, dtype="float64"
        )
        # The reported critical sharpness is where lr·λ meets the bound: λmax·bound/lr.
        assert analysis["stability"]["threshold"] == pytest.approx(LAMBDA_MAX * bound / lr)
        return result

    assert status(0.99 * bound) == "converged"
    assert status(1.01 * bound) == "diverged"


def test_overshoot_happens_exactly_when_lr_lambda_exceeds_one() -> None:
    # bowl: λ = 2 in every direction.
    _, _, calm = analyzed(surface="bowl", optimizer="SGD", hyperparameters={"lr": 0.45})
    _, _, jumpy = analyzed(surface="bowl", optimizer="SGD", hyperparameters={"lr": 0.55})
    assert "overshoot" not in types(calm)
    assert "oscillation" not in types(calm)
    assert "overshoot" in types(jumpy)
    first = next(e for e in jumpy["events"] if e["type"] == "overshoot")
    assert first["step"] == 1 and first["detail"]


def test_escape_is_named_only_when_it_happens() -> None:
    _, _, trapped = analyzed(
        surface="four_wells", optimizer="SGD", hyperparameters={"lr": FOUR_WELLS_ESCAPE_LR},
        steps=1000,
    )  # fmt: skip
    _, frames, escaped = analyzed(
        surface="four_wells", optimizer="SGD", steps=1000,
        hyperparameters={"lr": FOUR_WELLS_ESCAPE_LR, "momentum": 0.9},
    )  # fmt: skip
    assert "escape" not in types(trapped)
    assert trapped["outcome"]["type"] == "minimum"
    assert "escape" in types(escaped)
    assert escaped["outcome"]["detail"].startswith("reached the global minimum")
    step = next(e["step"] for e in escaped["events"] if e["type"] == "escape")
    assert 0 < step < len(frames)


def test_saddle_stall() -> None:
    _, _, stall = analyzed(
        surface="four_wells", optimizer="SGD", hyperparameters={"lr": FOUR_WELLS_ESCAPE_LR},
        start=[2.5, 0.0005], steps=500,
    )  # fmt: skip
    _, _, direct = analyzed(
        surface="four_wells", optimizer="SGD", hyperparameters={"lr": FOUR_WELLS_ESCAPE_LR},
        start=[2.5, 1.0], steps=500,
    )  # fmt: skip
    assert "saddle_stall" in types(stall)
    assert "near the saddle at (1.5, 0)" in next(
        e["detail"] for e in stall["events"] if e["type"] == "saddle_stall"
    )
    assert "saddle_stall" not in types(direct)


def test_outcome_of_a_run_that_is_still_moving() -> None:
    status, _, analysis = analyzed(
        surface="rosenbrock", optimizer="SGD", hyperparameters={"lr": 1e-4}, steps=50
    )
    assert status == "max_steps"
    assert analysis["outcome"]["type"] == "moving"


def test_api_run_carries_the_analysis(client: TestClient) -> None:
    body = {"surface": "elliptic", "optimizer": "SGD", "hyperparameters": {"lr": 0.075}}
    run = strict_json(client.post("/api/runs", json=body | {"steps": 400}).text)
    analysis = run["analysis"]
    assert "oscillation" in types(analysis)
    assert len(analysis["curvature"]["sharpness"]) == len(run["frames"])
    assert analysis["stability"]["rule"].startswith("gradient descent")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_every_preset_shows_its_phenomenon(client: TestClient, preset: Any) -> None:
    listed = strict_json(client.get("/api/presets").text)
    body = next(p for p in listed if p["name"] == preset.name)
    seen: set[str] = set()
    for run in body["runs"]:
        response = client.post("/api/runs", json=run)
        assert response.status_code == 200, response.text
        seen |= types(response.json()["analysis"])
    assert body["phenomenon"] in seen
