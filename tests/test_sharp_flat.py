"""The sharp & flat minima surface, its SAM preset, and the end-point sharpness the analysis
reports (issue #14)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab import engine
from losslab.analysis import analyze
from losslab.landscapes.surfaces import SHARP_FLAT_LR, get_surface
from losslab.presets import PRESETS
from tests.conftest import strict_json

SURFACE = get_surface("sharp_flat")
PRESET = next(p for p in PRESETS if p.name == "sam_flat_minimum")


def top_eigenvalues(x: float, y: float) -> list[float]:
    """Both Hessian eigenvalues at (x, y), by torch.autograd.functional.hessian in float64."""
    point = torch.tensor([x, y], dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(SURFACE.fn, point)
    assert isinstance(hessian, torch.Tensor)
    values: list[float] = torch.linalg.eigvalsh(hessian).tolist()
    return values


def the_minima() -> tuple[tuple[float, float], tuple[float, float]]:
    """(flat, sharp): the global minimum and the local one."""
    (flat,) = [(m.x, m.y) for m in SURFACE.minima if m.kind == "global"]
    (sharp,) = [(m.x, m.y) for m in SURFACE.minima if m.kind == "local"]
    return flat, sharp


def test_two_minima_of_similar_depth_one_far_sharper() -> None:
    assert len(SURFACE.minima) == 2
    flat, sharp = the_minima()
    flat_loss, sharp_loss = SURFACE.loss_at(*flat), SURFACE.loss_at(*sharp)
    assert flat_loss < sharp_loss < 0
    assert abs(flat_loss - sharp_loss) <= 0.05 * abs(flat_loss)
    flat_low, flat_high = top_eigenvalues(*flat)
    sharp_low, sharp_high = top_eigenvalues(*sharp)
    assert 0 < flat_low <= flat_high and 0 < sharp_low <= sharp_high  # both are minima
    assert sharp_high >= 50 * flat_high
    assert sharp_low >= 50 * flat_high  # sharp in every direction, not only one


def test_the_description_quotes_the_numbers() -> None:
    flat, sharp = the_minima()
    (flat_high, sharp_high) = (top_eigenvalues(*flat)[1], top_eigenvalues(*sharp)[1])
    depth = 1 - SURFACE.loss_at(*sharp) / SURFACE.loss_at(*flat)
    text = SURFACE.description.replace("−", "-")  # the description writes a real minus sign
    assert f"({flat[0]:.3g}, 0)" in text and f"({sharp[0]:.3g}, 0)" in text
    assert f"{sharp_high:.3g}" in text and f"{flat_high:.2g}" in text
    assert f"{round(sharp_high / flat_high)} times" in text
    assert f"{round(100 * depth)}% shallower" in text


def preset_runs() -> list[dict[str, Any]]:
    return [{"surface": PRESET.surface, **run} for run in PRESET.runs]


def end_point(run: dict[str, Any], dtype: str = "float32") -> tuple[list[engine.Frame], Any]:
    config = engine.make_config(
        surface=run["surface"],
        optimizer=run["optimizer"],
        hyperparameters=run["hyperparameters"],
        start=run["start"],
        steps=run["steps"],
        dtype=dtype,
    )
    status, frames, _ = engine.run(config)
    return frames, analyze(config, frames, status)


def nearest_minimum(frame: engine.Frame) -> tuple[str, float]:
    where = (frame["x"], frame["y"])
    m = min(SURFACE.minima, key=lambda m: math.dist((m.x, m.y), where))
    return m.kind, math.dist((m.x, m.y), where)


def test_the_preset_pits_sgd_against_sam_from_one_start() -> None:
    sgd, sam = preset_runs()
    assert PRESET.surface == "sharp_flat" and PRESET.phenomenon == "escape"
    assert sgd["optimizer"] == "SGD" and sam["optimizer"] == "SAM"
    assert sam["hyperparameters"]["base_optimizer"] == "SGD"
    for key in ("lr", "momentum"):
        assert sam["hyperparameters"][key] == sgd["hyperparameters"][key]
    assert sgd["start"] == sam["start"] and sgd["steps"] == sam["steps"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_settles_in_the_sharp_minimum_and_sam_in_the_flat_one(dtype: str) -> None:
    sgd, sam = preset_runs()
    sgd_frames, sgd_analysis = end_point(sgd, dtype)
    sam_frames, sam_analysis = end_point(sam, dtype)
    kind, distance = nearest_minimum(sgd_frames[-1])
    assert kind == "local" and distance < 1e-3  # the sharp one
    kind, distance = nearest_minimum(sam_frames[-1])
    assert kind == "global" and distance < 1e-2  # the flat one (SAM jitters around it)
    assert "escape" not in {e["type"] for e in sgd_analysis["events"]}
    escape = next(e for e in sam_analysis["events"] if e["type"] == "escape")
    assert "Left the basin of the local minimum at (1.49, 0)" in escape["detail"]


@pytest.mark.parametrize("lr_factor", [0.8, 1.2])
@pytest.mark.parametrize("offset", [(-0.05, -0.05), (0.05, 0.05), (-0.05, 0.05), (0.05, -0.05)])
def test_the_outcome_is_not_knife_edge(lr_factor: float, offset: tuple[float, float]) -> None:
    """Moving the start by 0.05 along each axis and the lr by 20% keeps both outcomes."""
    sgd, sam = preset_runs()
    start = [sgd["start"][0] + offset[0], sgd["start"][1] + offset[1]]
    ends = []
    for run in (sgd, sam):
        hp = run["hyperparameters"] | {"lr": SHARP_FLAT_LR * lr_factor}
        frames, _ = end_point(run | {"start": start, "hyperparameters": hp, "steps": 1000})
        ends.append(nearest_minimum(frames[-1]))
    (sgd_kind, sgd_distance), (sam_kind, sam_distance) = ends
    assert sgd_kind == "local" and sgd_distance < 0.05
    assert sam_kind == "global" and sam_distance < 0.05


def test_the_analysis_reports_the_sharpness_at_the_end_point(client: TestClient) -> None:
    listed = strict_json(client.get("/api/presets").text)
    body = next(p for p in listed if p["name"] == PRESET.name)
    final = {}
    for run in body["runs"]:
        response = client.post("/api/runs", json=run)
        assert response.status_code == 200, response.text
        answer = response.json()
        last = answer["frames"][-1]
        stability = answer["analysis"]["stability"]
        expected = max(top_eigenvalues(last["x"], last["y"]))
        assert stability["final_sharpness"] == pytest.approx(expected, rel=1e-9)
        assert stability["final_sharpness"] == pytest.approx(
            answer["analysis"]["curvature"]["sharpness"][-1], rel=1e-9
        )
        assert answer["analysis"]["outcome"]["type"] == "minimum"
        final[run["optimizer"]] = stability["final_sharpness"]
    assert final["SGD"] > 40 * final["SAM"]
    assert final["SGD"] == pytest.approx(42.33, abs=0.01)
    assert final["SAM"] == pytest.approx(0.789, abs=0.001)


def test_every_run_reports_its_final_sharpness() -> None:
    config = engine.make_config(
        surface="elliptic", optimizer="SGD", hyperparameters={"lr": 0.05}, steps=50
    )
    status, frames, _ = engine.run(config)
    stability = analyze(config, frames, status)["stability"]
    assert stability["final_sharpness"] == pytest.approx(25.0)
    assert stability["final_sharpness"] <= stability["max_sharpness"]
