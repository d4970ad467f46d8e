from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab import analysis as analysis_module
from losslab import engine
from losslab.analysis import (
    MODEL_CURVATURE_CHUNK,
    MODEL_CURVATURE_FRAMES,
    _nearest,
    analyze,
    curvature_frames,
    predicted_contraction,
    stability_rule,
)
from losslab.landscapes.formula import formula_surface
from losslab.landscapes.models import model_surface
from losslab.landscapes.network import plane_surface
from losslab.landscapes.surfaces import FOUR_WELLS_ESCAPE_LR, get_surface
from losslab.presets import PRESETS
from tests.conftest import strict_json

LAMBDA_MAX, LAMBDA_MIN = 25.0, 1.0  # elliptic: 0.5·(x² + 25·y²)


def analyzed(**kwargs: Any) -> tuple[str, list[engine.Frame], dict[str, Any]]:
    kwargs.setdefault("optimizer", "SGD")
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


# --- gradient ascent (maximize) --------------------------------------------------------------

CONCAVE = "-(x**2 + 9*y**2)/2"  # curvatures −1 and −9: ascent climbs to the maximum at 0


def test_ascent_on_a_convex_bowl_claims_no_descent_bound() -> None:
    status, _, analysis = analyzed(
        surface="elliptic", hyperparameters={"lr": 0.05, "maximize": True}, start=[-4.5, 1.5],
        steps=200, dtype="float64",
    )  # fmt: skip
    assert status == "diverged"
    stability = analysis["stability"]
    assert stability["threshold"] is None
    assert "descent is stable" not in stability["rule"]
    assert "convex bowl it always diverges" in stability["rule"]
    divergence = next(e["detail"] for e in analysis["events"] if e["type"] == "divergence")
    assert "exceeds the bound" not in divergence and "curves up" in divergence


@pytest.mark.parametrize("lr", [1e-3, 0.1])
@pytest.mark.parametrize("hp", [{}, {"momentum": 0.5}, {"momentum": 0.5, "nesterov": True}])
def test_ascent_diverges_on_a_convex_bowl_whatever_the_lr(lr: float, hp: dict[str, Any]) -> None:
    hyperparameters = {"lr": lr, "maximize": True, **hp}
    status, _, analysis = analyzed(
        surface=formula_surface("x**2 + x*y + 2*y**2"), hyperparameters=hyperparameters,
        steps=10_000, dtype="float64",
    )  # fmt: skip
    assert status == "diverged"
    assert analysis["stability"]["threshold"] is None
    assert "ascent" in analysis["stability"]["rule"]
    # The theory agrees: the iteration on the bowl's curvatures (λ = 3 ± √2) grows.
    predicted = predicted_contraction("SGD", hyperparameters, [3 - math.sqrt(2), 3 + math.sqrt(2)])
    assert predicted is not None and predicted > 1


@pytest.mark.parametrize(
    ("hp", "bound"),
    [({}, 2 / 9), ({"momentum": 0.5}, 3 / 9), ({"momentum": 0.5, "nesterov": True}, 1.5 / 9)],
    ids=["plain", "heavy ball", "nesterov"],
)
def test_ascent_bound_where_the_surface_curves_down(hp: dict[str, Any], bound: float) -> None:
    """Ascent on a concave quadratic is descent on −f: stable while lr·|λ| stays under the
    descent bound, found here by running torch on either side of it."""

    def run(lr: float) -> tuple[str, dict[str, Any]]:
        status, _, analysis = analyzed(
            surface=formula_surface(CONCAVE), hyperparameters={"lr": lr, "maximize": True, **hp},
            steps=10_000, dtype="float64",
        )  # fmt: skip
        return status, analysis

    status, stable = run(0.99 * bound)
    assert status == "converged"
    assert "λ < 0" in stable["stability"]["condition"]
    assert stable["outcome"]["type"] == "stationary"
    assert "a local maximum" in stable["outcome"]["detail"]
    assert "Hessian negative definite" in stable["outcome"]["detail"]
    status, unstable = run(1.01 * bound)
    assert status == "diverged"
    divergence = next(e["detail"] for e in unstable["events"] if e["type"] == "divergence")
    assert "curves down too sharply" in divergence


def test_ascent_rule_counts_weight_decay_against_the_curvature() -> None:
    # torch adds weight decay after negating the gradient: ascent descends −f + ½wd|x|².
    rule = stability_rule("SGD", {"lr": 0.1, "maximize": True, "weight_decay": 0.5})
    assert rule is not None and rule.ascent
    assert rule.threshold == pytest.approx(0.5)  # stable only while λ < wd
    assert rule.floor == pytest.approx(0.5 - 2 / 0.1)
    # x' = x + lr·(λ − wd)·x: with λ = 0.3 that is 1 − 0.1·0.2 = 0.98
    assert predicted_contraction(
        "SGD", {"lr": 0.1, "maximize": True, "weight_decay": 0.5}, [0.3]
    ) == pytest.approx(0.98)


# --- outcomes named by the Hessian -----------------------------------------------------------


def outcome(surface: Any, start: list[float], steps: int, lr: float = 0.1) -> dict[str, Any]:
    status, _, analysis = analyzed(
        surface=surface, hyperparameters={"lr": lr}, start=start, steps=steps
    )
    assert status != "diverged"
    result: dict[str, Any] = analysis["outcome"]
    return result


def test_a_run_that_stops_at_an_unlisted_minimum_says_so() -> None:
    # The minimum at (5, −4) lies outside the formula's domain, so it is not listed.
    surface = formula_surface("(x - 5)**2 + (y + 4)**2", {"x": [-1, 1], "y": [-1, 1]})
    assert surface.minima == ()
    stopped = outcome(surface, [0.6, 0.6], 1000)
    assert stopped["type"] == "stationary" and stopped["minimum"] is None
    assert stopped["detail"].startswith("stopped at a local minimum at (5, -4)")
    assert "(Hessian positive definite), not one of the listed minima" in stopped["detail"]
    # All steps taken, within 1e-3 of the diagonal by its Newton step: it sits there.
    sitting = outcome(surface, [0.6, 0.6], 40)
    assert sitting["type"] == "stationary"
    assert sitting["detail"].startswith("took all its steps and sits at a local minimum")
    assert outcome(surface, [0.6, 0.6], 15)["type"] == "moving"


def test_a_run_that_stops_at_a_saddle_between_listed_minima_says_so() -> None:
    surface = formula_surface("(x**2 - 1)**2 + y**2")  # minima (±1, 0), a saddle at 0
    assert len(surface.minima) == 2
    stopped = outcome(surface, [0.0, 1.0], 1000, lr=0.05)
    assert stopped["type"] == "stationary"
    assert "a saddle point" in stopped["detail"] and "Hessian indefinite" in stopped["detail"]
    assert "a saddle point" in outcome("saddle", [1.5, 0.0], 1000)["detail"]


def test_a_run_that_stops_where_the_hessian_is_singular_says_so() -> None:
    # x² − y⁴ at the origin: Hessian diag(2, 0), and not a minimum.
    stopped = outcome(formula_surface("x**2 - y**4"), [1.0, 0.0], 1000)
    assert stopped["type"] == "stationary"
    assert "degenerate stationary point" in stopped["detail"]
    assert "Hessian singular" in stopped["detail"]


def test_a_run_that_stops_in_one_of_ackleys_local_minima_reaches_it() -> None:
    surface = get_surface("ackley")
    status, frames, analysis = analyzed(surface="ackley", hyperparameters={"lr": 0.01})
    assert status == "converged"
    result = analysis["outcome"]
    assert result["type"] == "minimum"
    minimum = surface.minima[result["minimum"]]
    assert minimum.kind == "local"
    assert math.dist((minimum.x, minimum.y), (frames[-1]["x"], frames[-1]["y"])) < 1e-3
    assert result["detail"].startswith("reached the local minimum")


# --- measured contraction with complex roots -------------------------------------------------


def spectral_radius(hessian: list[list[float]], lr: float, beta: float, nesterov: bool) -> complex:
    """The eigenvalue of largest modulus of torch's SGD as a linear map of (x, buffer) on a
    quadratic with this Hessian: buf' = β·buf + Hx, then x' = x − lr·buf' (heavy ball) or
    x' = x − lr·(Hx + β·buf') (Nesterov)."""
    h = torch.tensor(hessian, dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)
    if nesterov:
        top = torch.cat([eye - lr * (1 + beta) * h, -lr * beta * beta * eye], dim=1)
    else:
        top = torch.cat([eye - lr * h, -lr * beta * eye], dim=1)
    iteration = torch.cat([top, torch.cat([h, beta * eye], dim=1)])
    eigenvalues = torch.linalg.eigvals(iteration)
    return complex(eigenvalues[eigenvalues.abs().argmax()])


QUADRATICS = {
    "elliptic": [[1.0, 0.0], [0.0, 25.0]],
    "bowl": [[2.0, 0.0], [0.0, 2.0]],
    "x**2 + x*y + 2*y**2": [[2.0, 1.0], [1.0, 4.0]],  # eigenvectors off the axes
}


@pytest.mark.parametrize(
    ("surface", "lr", "beta", "nesterov"),
    [
        ("elliptic", 0.01, 0.9, False),
        ("elliptic", 0.05, 0.9, False),
        ("elliptic", 0.002, 0.95, False),
        ("elliptic", 0.02, 0.9, True),
        ("elliptic", 0.05, 0.8, True),
        ("bowl", 0.1, 0.6, False),
        ("x**2 + x*y + 2*y**2", 0.05, 0.8, False),
    ],
)
def test_measured_contraction_matches_complex_roots(
    surface: str, lr: float, beta: float, nesterov: bool
) -> None:
    root = spectral_radius(QUADRATICS[surface], lr, beta, nesterov)
    assert abs(root.imag) > 1e-3  # the run spirals in: the distance swings every turn
    status, _, analysis = analyzed(
        surface=formula_surface(surface) if "*" in surface else surface,
        hyperparameters={"lr": lr, "momentum": beta, "nesterov": nesterov},
        steps=10_000, dtype="float64",
    )  # fmt: skip
    assert status == "converged"
    stability = analysis["stability"]
    assert stability["predicted_contraction"] == pytest.approx(abs(root), rel=1e-9)
    assert stability["measured_contraction"] == pytest.approx(abs(root), rel=0.01)


# --- bounded curvature on long runs ----------------------------------------------------------


def test_curvature_of_a_long_model_run_is_subsampled_in_bounded_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    surface = model_surface("linear_regression", "noisy_line")
    config = engine.make_config(
        surface=surface, optimizer="SGD", hyperparameters={"lr": 1e-4}, steps=3000
    )
    status, frames, _ = engine.run(config)
    assert len(frames) == 3001
    chunks: list[int] = []
    checks: list[int] = []
    real = analysis_module.hessians

    def counted(surface: Any, points: torch.Tensor) -> torch.Tensor:
        chunks.append(len(points))
        return real(surface, points)

    monkeypatch.setattr(analysis_module, "hessians", counted)
    analysis = analyze(config, frames, status, check=lambda: checks.append(len(chunks)))
    steps = analysis["curvature"]["steps"]
    assert len(steps) == MODEL_CURVATURE_FRAMES
    assert steps[0] == 0 and steps[-1] == frames[-1]["step"]
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert gaps == {3}  # 3000 steps over 1000 gaps: evenly spaced
    assert len(analysis["curvature"]["sharpness"]) == len(steps)
    # Curvature Hessians came MODEL_CURVATURE_CHUNK points at a time, check() before each.
    assert sum(chunks) == len(steps) and max(chunks) == MODEL_CURVATURE_CHUNK
    assert checks == list(range(len(chunks)))
    # Mean squared error of w·x + b: the Hessian is 2·[[E x², E x], [E x, 1]] everywhere.
    x = surface.data_x.reshape(-1)
    exact = 2 * torch.tensor([[(x * x).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
    low, high = torch.linalg.eigvalsh(exact).tolist()
    assert analysis["curvature"]["sharpness"] == pytest.approx([high] * len(steps), rel=1e-9)
    assert analysis["curvature"]["min_eigenvalue"] == pytest.approx([low] * len(steps), rel=1e-9)


def test_check_stops_the_curvature_between_chunks() -> None:
    config = engine.make_config(
        surface=model_surface("linear_regression", "noisy_line"), optimizer="SGD",
        hyperparameters={"lr": 1e-4}, steps=3000,
    )  # fmt: skip
    status, frames, _ = engine.run(config)
    calls: list[None] = []

    class Stop(Exception):
        pass

    def check() -> None:
        calls.append(None)
        if len(calls) == 3:
            raise Stop

    with pytest.raises(Stop):
        analyze(config, frames, status, check=check)
    assert len(calls) == 3


def test_model_surfaces_subsample_and_analytic_surfaces_do_not() -> None:
    for costly in (plane_surface("moons", 0), model_surface("linear_regression", "tiny")):
        chosen = curvature_frames(costly, 10_001)
        assert len(chosen) == MODEL_CURVATURE_FRAMES
        assert chosen[0] == 0 and chosen[-1] == 10_000 and chosen == sorted(set(chosen))
        assert curvature_frames(costly, 500) == list(range(500))
    for cheap in (get_surface("rastrigin"), formula_surface("x**2 + y**2")):
        assert curvature_frames(cheap, 10_001) == list(range(10_001))
    _, frames, analysis = analyzed(surface="elliptic", hyperparameters={"lr": 0.05})
    assert analysis["curvature"]["steps"] == [f["step"] for f in frames]


@pytest.mark.parametrize("n", [1002, 3001, 10_001])
def test_each_frame_reads_the_nearest_computed_hessian(n: int) -> None:
    computed = curvature_frames(plane_surface("moons", 0), n)
    nearest = _nearest(computed, n).tolist()
    for frame in range(n):
        best = min(abs(c - frame) for c in computed)
        assert abs(computed[nearest[frame]] - frame) == best


@pytest.mark.parametrize(
    ("hyperparameters", "formula", "threshold"),
    [
        ({"lr": 0.1}, "2/lr", 2 / 0.1),
        ({"lr": 0.1, "momentum": 0.5}, "2(1+β)/lr", 2 * 1.5 / 0.1),
        ({"lr": 0.1, "momentum": 0.5, "nesterov": True}, "2(1+β)/(1+2β)/lr", 1.5 / 0.1),
        ({"lr": 0.1, "weight_decay": 0.5}, "2/lr − wd", 2 / 0.1 - 0.5),
        ({"lr": 0.1, "momentum": 0.5, "dampening": 0.5}, "2(1+β)/(lr·(1−τ))", 3 / 0.05),
    ],
)
def test_the_bound_is_named_in_the_lr(
    hyperparameters: dict[str, Any], formula: str, threshold: float
) -> None:
    """The page says what the bound is: "2/lr", not just a number."""
    rule = stability_rule("SGD", hyperparameters)
    assert rule is not None
    assert rule.formula == formula
    assert rule.threshold == pytest.approx(threshold)
    assert stability_rule("SGD", {"lr": 0.1, "maximize": True}).formula == ""  # type: ignore[union-attr]
