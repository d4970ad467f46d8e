from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab.config import Settings
from losslab.landscapes.surfaces import SURFACES
from losslab.optimizers import OPTIMIZERS
from tests.conftest import strict_json

REFERENCE = {
    "surface": "bowl",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.1, "momentum": 0},
    "start": [3, 2],
    "steps": 10,
}


def post_run(client: TestClient, body: Any) -> Any:
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def test_reference_example_matches_to_the_last_digit(client: TestClient) -> None:
    run = post_run(client, REFERENCE)
    frames = run["frames"]
    assert run["status"] == "max_steps"
    assert len(frames) == 11
    assert [frames[1]["x"], frames[1]["y"]] == [2.4000000953674316, 1.600000023841858]
    assert frames[1]["loss"] == 8.320000648498535
    assert [frames[10]["x"], frames[10]["y"]] == [0.32212257385253906, 0.2147483378648758]
    assert frames[10]["loss"] == 0.1498797982931137
    assert run["summary"]["final_loss"] == 0.1498797982931137
    assert run["summary"]["steps_taken"] == 10


def test_reference_example_equals_the_plain_loop(client: TestClient) -> None:
    frames = post_run(client, REFERENCE)["frames"]
    x = torch.tensor([3.0, 2.0], requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1, momentum=0)
    for frame in frames[1:]:
        opt.zero_grad()
        y = x[0] ** 2 + x[1] ** 2
        y.backward()
        opt.step()
        assert [frame["x"], frame["y"]] == x.tolist()


@pytest.mark.parametrize("surface", list(SURFACES), ids=str)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS), ids=str)
def test_every_optimizer_runs_on_every_surface(
    client: TestClient, surface: str, optimizer: str
) -> None:
    run = post_run(client, {"surface": surface, "optimizer": optimizer, "steps": 50})
    frames = run["frames"]
    assert run["status"] in ("converged", "diverged", "max_steps")
    assert 1 <= len(frames) <= 51
    assert [f["step"] for f in frames] == list(range(len(frames)))
    if run["status"] == "max_steps":
        assert len(frames) == 51
    first = frames[0]
    assert [first["x"], first["y"]] == pytest.approx(SURFACES[surface].default_start)
    assert set(first) >= {"step", "x", "y", "loss", "grad", "lr", "state"}
    assert run["summary"]["steps_taken"] == frames[-1]["step"]


def test_float64_on_request(client: TestClient) -> None:
    run = post_run(client, REFERENCE | {"dtype": "float64"})
    assert run["frames"][1]["x"] == 2.4
    assert run["frames"][10]["x"] == pytest.approx(3 * 0.8**10, rel=1e-15)


def test_diverging_run_answers_200_with_status(client: TestClient) -> None:
    run = post_run(client, REFERENCE | {"hyperparameters": {"lr": 1e6}, "steps": 1000})
    assert run["status"] == "diverged"
    assert len(run["frames"]) < 1001
    assert run["summary"]["reason"]


def test_lists(client: TestClient) -> None:
    surfaces = strict_json(client.get("/api/surfaces").text)
    by_name = {s["name"]: s for s in surfaces}
    assert set(by_name) == set(SURFACES)
    bowl = by_name["bowl"]
    assert bowl["minima"] == [{"x": 0.0, "y": 0.0, "loss": 0.0, "kind": "global"}]
    assert bowl["domain"]["x"][0] < bowl["default_start"][0] < bowl["domain"]["x"][1]
    optimizers = strict_json(client.get("/api/optimizers").text)
    sgd = next(o for o in optimizers if o["name"] == "SGD")
    lr = next(h for h in sgd["hyperparameters"] if h["name"] == "lr")
    assert lr["type"] == "float" and lr["log"] is True and lr["default"] == 0.001
    adam = next(o for o in optimizers if o["name"] == "Adam")
    betas = next(h for h in adam["hyperparameters"] if h["name"] == "betas")
    assert betas["type"] == "pair" and betas["default"] == [0.9, 0.999]
    names = {h["name"] for o in optimizers for h in o["hyperparameters"]}
    assert not names & {"foreach", "fused", "capturable", "differentiable"}


def test_grid_uses_plotlys_orientation(client: TestClient) -> None:
    grid = strict_json(client.get("/api/surfaces/elliptic/grid?resolution=7").text)
    assert len(grid["x"]) == len(grid["y"]) == 7
    assert len(grid["z"]) == 7 and all(len(row) == 7 for row in grid["z"])
    surface = SURFACES["elliptic"]
    for i in (0, 3, 6):
        for j in (1, 5):
            expected = surface.loss_at(grid["x"][j], grid["y"][i])
            assert grid["z"][i][j] == pytest.approx(expected, rel=1e-12)
    assert grid["x"][0] == surface.domain.x[0] and grid["x"][-1] == surface.domain.x[1]
    default = strict_json(client.get("/api/surfaces/bowl/grid").text)
    assert len(default["x"]) == 100


@pytest.mark.parametrize(
    ("path", "status", "loc"),
    [
        ("/api/surfaces/bowl/grid?resolution=1", 422, ["query", "resolution"]),
        ("/api/surfaces/bowl/grid?resolution=401", 422, ["query", "resolution"]),
        ("/api/surfaces/bowl/grid?resolution=abc", 422, ["query", "resolution"]),
        ("/api/surfaces/nope/grid", 404, None),
    ],
)
def test_grid_rejects_bad_input(
    client: TestClient, path: str, status: int, loc: list[str] | None
) -> None:
    response = client.get(path)
    assert response.status_code == status
    detail = strict_json(response.text)["detail"]
    if loc:
        assert detail[0]["loc"] == loc
    else:
        assert "nope" in detail


BAD_BODIES: list[tuple[str, Any, list[Any]]] = [
    ("unknown surface", REFERENCE | {"surface": "nope"}, ["body", "surface"]),
    ("unknown optimizer", REFERENCE | {"optimizer": "Adamm"}, ["body", "optimizer"]),
    ("missing surface",
     {k: v for k, v in REFERENCE.items() if k != "surface"}, ["body", "surface"]),
    ("surface not a string", REFERENCE | {"surface": 3}, ["body", "surface", "str"]),
    ("steps as text", REFERENCE | {"steps": "10"}, ["body", "steps"]),
    ("steps fractional", REFERENCE | {"steps": 2.5}, ["body", "steps"]),
    ("steps zero", REFERENCE | {"steps": 0}, ["body", "steps"]),
    ("steps above max", REFERENCE | {"steps": 10_001}, ["body", "steps"]),
    ("start too short", REFERENCE | {"start": [1]}, ["body", "start"]),
    ("start text", REFERENCE | {"start": ["a", 1]}, ["body", "start", 0]),
    ("start far away", REFERENCE | {"start": [1e9, 0]}, ["body", "start"]),
    ("dtype", REFERENCE | {"dtype": "float16"}, ["body", "dtype"]),
    ("extra field", REFERENCE | {"step": 3}, ["body", "step"]),
    ("unknown hyperparameter", REFERENCE | {"hyperparameters": {"betas": [0.9, 0.9]}},
     ["body", "hyperparameters", "betas"]),
    ("lr text", REFERENCE | {"hyperparameters": {"lr": "fast"}}, ["body", "hyperparameters", "lr"]),
    ("lr negative", REFERENCE | {"hyperparameters": {"lr": -1}}, ["body", "hyperparameters", "lr"]),
    ("lr huge", REFERENCE | {"hyperparameters": {"lr": 1e300}}, ["body", "hyperparameters", "lr"]),
    ("hyperparameters list", REFERENCE | {"hyperparameters": [1]}, ["body", "hyperparameters"]),
    ("torch rejects betas",
     REFERENCE | {"optimizer": "Adam", "hyperparameters": {"betas": [1, 0.5]}},
     ["body", "hyperparameters", "betas"]),
    ("nesterov without momentum", REFERENCE | {"hyperparameters": {"nesterov": True}},
     ["body", "hyperparameters", "nesterov"]),
    ("LBFGS unbounded max_iter",
     REFERENCE | {"optimizer": "LBFGS", "hyperparameters": {"max_iter": 10**8}},
     ["body", "hyperparameters", "max_iter"]),
    ("not an object", [1, 2], ["body"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "loc"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_bodies_get_422_naming_the_field(
    client: TestClient, case: str, body: Any, loc: list[Any]
) -> None:
    response = client.post("/api/runs", json=body)
    assert response.status_code == 422, response.text
    detail = strict_json(response.text)["detail"]
    assert detail[0]["loc"] == loc
    assert detail[0]["msg"]


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ('{"surface":"bowl","optimizer":"SGD","start":[NaN,1]}', ["body", "start", 0]),
        ('{"surface":"bowl","optimizer":"SGD","start":[1e999,1]}', ["body", "start", 0]),
        ('{"surface":"bowl","optimizer":"SGD","hyperparameters":{"lr":Infinity}}',
         ["body", "hyperparameters", "lr"]),
        ('{"surface":"bowl",', ["body", 18]),
        ("", ["body"]),
    ],
)  # fmt: skip
def test_non_finite_and_broken_json_get_strict_422(
    client: TestClient, raw: str, loc: list[Any]
) -> None:
    response = client.post("/api/runs", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    detail = strict_json(response.text)["detail"]
    assert detail[0]["loc"] == loc


def test_oversized_body_gets_413(client: TestClient) -> None:
    body = json.dumps(REFERENCE | {"surface": "x" * 2_000_000})
    response = client.post("/api/runs", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "exceeds" in strict_json(response.text)["detail"]


def test_oversized_chunked_body_gets_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 50_000

    response = client.post(
        "/api/runs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_openapi_declares_every_endpoint(client: TestClient) -> None:
    spec = strict_json(client.get("/openapi.json").text)
    paths = spec["paths"]
    assert {"/api/surfaces", "/api/surfaces/{name}/grid", "/api/optimizers", "/api/runs"} <= set(
        paths
    )
    run_schema = paths["/api/runs"]["post"]["responses"]["200"]["content"]["application/json"]
    assert run_schema["schema"]["$ref"].endswith("/Run")


def test_state_values_are_numbers_or_lists(client: TestClient) -> None:
    run = post_run(client, {"surface": "himmelblau", "optimizer": "Adam", "steps": 5})
    state = run["frames"][5]["state"]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
    assert isinstance(state["exp_avg"], list) and len(state["exp_avg"]) == 2
    assert math.isfinite(state["step"])


def test_the_limits_are_the_settings(make_client: Callable[..., TestClient]) -> None:
    """A client reads the limits instead of copying them: they follow the settings."""
    limits = make_client(Settings(max_steps=123, max_sweep_values=7)).get("/api/limits").json()
    assert limits["max_steps"] == 123 and isinstance(limits["max_steps"], int)
    assert limits["max_sweep_values"] == 7
    assert limits["run_seconds"] == Settings().run_seconds
    assert "host" not in limits and "cors_origins" not in limits
