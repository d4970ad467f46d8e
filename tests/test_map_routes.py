"""The map endpoints: shapes, fidelity to POST /api/runs, progress streams, limits."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from losslab.web.jobs import JobPool
from tests.conftest import strict_json


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return strict_json(response.text)


def test_basin_cells_equal_single_runs_through_the_api(client: TestClient) -> None:
    body = {"surface": "himmelblau", "optimizer": "Adam", "hyperparameters": {"lr": 0.05},
            "steps": 300, "resolution": 24}  # fmt: skip
    grid = post(client, "/api/maps/basins", body)
    assert len(grid["outcome"]) == 24 and len(grid["outcome"][0]) == 24
    assert {m["kind"] for m in grid["minima"]} == {"global"}
    cells = random.Random(1).sample([(i, j) for i in range(24) for j in range(24)], 20)
    for i, j in cells:
        run = post(
            client, "/api/runs",
            {"surface": "himmelblau", "optimizer": "Adam", "hyperparameters": {"lr": 0.05},
             "steps": 300, "start": [grid["x"][j], grid["y"][i]]},
        )  # fmt: skip
        last = run["frames"][-1]
        assert grid["final_x"][i][j] == pytest.approx(last["x"], abs=1e-5)
        assert grid["final_y"][i][j] == pytest.approx(last["y"], abs=1e-5)
        assert grid["final_loss"][i][j] == pytest.approx(last["loss"], abs=1e-5)
        converged = run["status"] == "converged"
        assert (grid["steps_to_converge"][i][j] is not None) == converged


def test_hyperparameter_cells_equal_single_runs_through_the_api(client: TestClient) -> None:
    axes = {"x": {"name": "lr", "min": 0.001, "max": 0.1, "n": 16, "log": True},
            "y": {"name": "momentum", "min": 0.0, "max": 0.95, "n": 16}}  # fmt: skip
    body = {"surface": "four_wells", "optimizer": "SGD", "steps": 400, "axes": axes}
    grid = post(client, "/api/maps/hyperparameters", body)
    cells = random.Random(2).sample([(i, j) for i in range(16) for j in range(16)], 20)
    for i, j in cells:
        hp = {"lr": grid["x"][j], "momentum": grid["y"][i]}
        run = post(client, "/api/runs", {"surface": "four_wells", "optimizer": "SGD",
                                         "hyperparameters": hp, "steps": 400})  # fmt: skip
        last = run["frames"][-1]
        if run["status"] == "diverged":
            assert grid["outcome"][i][j] == -1
            continue
        assert grid["final_x"][i][j] == pytest.approx(last["x"], abs=1e-5)
        assert grid["final_y"][i][j] == pytest.approx(last["y"], abs=1e-5)


def test_stability_boundary_on_a_quadratic(client: TestClient) -> None:
    axes = {"x": {"name": "lr", "min": 0.001, "max": 0.3, "n": 24, "log": True},
            "y": {"name": "momentum", "min": 0.0, "max": 0.9, "n": 8}}  # fmt: skip
    grid = post(
        client, "/api/maps/hyperparameters",
        {"surface": "elliptic", "optimizer": "SGD", "steps": 300, "axes": axes},
    )  # fmt: skip
    boundary = grid["stability_boundary"]
    assert boundary and boundary[0] == pytest.approx([2 / 25, 0.0])
    for i, beta in enumerate(grid["y"]):
        for j, lr in enumerate(grid["x"]):
            bound = 2 * (1 + beta) / 25
            if lr > 1.05 * bound:
                assert grid["outcome"][i][j] == -1
            elif lr < 0.95 * bound:
                assert grid["outcome"][i][j] != -1


def test_progress_stream(client: TestClient) -> None:
    body = {"surface": "rastrigin", "optimizer": "SGD", "steps": 2000, "resolution": 128,
            "hyperparameters": {"lr": 0.001}}  # fmt: skip
    response = client.post("/api/maps/basins/stream", json=body)
    assert response.status_code == 200
    blocks = [b for b in response.text.strip().split("\n\n") if b]
    kinds = [b.split("\n")[0].removeprefix("event: ") for b in blocks]
    assert kinds[-1] == "done" and set(kinds[:-1]) <= {"progress"}
    done = strict_json(blocks[-1].split("data: ", 1)[1])
    assert len(done["x"]) == 128


def test_a_failing_map_says_so_at_the_end_of_its_stream(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error is an `error` event (no exception text), not a stream cut short."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("losslab.maps.basin_map", broken)
    body = {"surface": "bowl", "optimizer": "SGD", "steps": 10, "resolution": 8}
    response = client.post("/api/maps/basins/stream", json=body)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    last = response.text.strip().split("\n\n")[-1]
    assert last.startswith("event: error")
    assert strict_json(last.split("data: ", 1)[1]) == {"detail": "internal error"}
    assert "secret" not in response.text


def test_full_pool_answers_429_with_retry_after(client: TestClient) -> None:
    app: Any = client.app
    saved = app.state.jobs
    app.state.jobs = JobPool(0, 10.0)
    try:
        body = {"surface": "bowl", "optimizer": "SGD", "steps": 10, "resolution": 4}
        for path in ("/api/maps/basins", "/api/maps/basins/stream"):
            response = client.post(path, json=body)
            assert response.status_code == 429
            assert int(response.headers["retry-after"]) >= 1
    finally:
        app.state.jobs = saved


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/api/maps/basins", {"surface": "bowl", "optimizer": "LBFGS"}, ["body", "optimizer"]),
        ("/api/maps/basins", {"surface": "bowl", "optimizer": "SGD", "resolution": 257},
         ["body", "resolution"]),
        ("/api/maps/basins", {"surface": "bowl", "optimizer": "SGD", "resolution": 256,
                              "steps": 10_000}, ["body"]),
        ("/api/maps/basins", {"surface": "nope", "optimizer": "SGD"}, ["body", "surface"]),
        ("/api/maps/hyperparameters",
         {"surface": "bowl", "optimizer": "SGD",
          "axes": {"x": {"name": "lr", "min": 0.1, "max": 1},
                   "y": {"name": "lr", "min": 0, "max": 1}}},
         ["body", "axes", "y", "name"]),
        ("/api/maps/hyperparameters",
         {"surface": "bowl", "optimizer": "SGD",
          "axes": {"x": {"name": "lr", "min": 0.1, "max": 1, "n": 500},
                   "y": {"name": "momentum", "min": 0, "max": 1}}},
         ["body", "axes", "x", "n"]),
        ("/api/maps/hyperparameters",
         {"surface": "bowl", "optimizer": "SGD",
          "axes": {"x": {"name": "lr", "min": -1, "max": 1},
                   "y": {"name": "momentum", "min": 0, "max": 1}}},
         ["body", "axes", "x"]),
    ],
)  # fmt: skip
def test_bad_map_requests(
    client: TestClient, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert strict_json(response.text)["detail"][0]["loc"][: len(loc)] == loc
