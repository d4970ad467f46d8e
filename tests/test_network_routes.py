"""The network's loss plane through the API: optimize on it, or train the whole network."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import strict_json


def test_optimizer_moves_on_the_networks_plane(client: TestClient) -> None:
    surface = {"model": "mlp_plane", "dataset": "moons", "directions": "random"}
    body = {"surface": surface, "optimizer": "Adam", "hyperparameters": {"lr": 0.05}, "steps": 60}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 200, response.text
    frames = strict_json(response.text)["frames"]
    assert frames[-1]["loss"] < frames[0]["loss"]
    described = strict_json(client.post("/api/surfaces/model?resolution=12", json=surface).text)
    assert len(described["grid"]["z"]) == 12 and described["surface"]["name"] == "mlp_plane"


def test_train_the_whole_network_and_see_its_pca_plane(client: TestClient) -> None:
    body = {"optimizer": "SGD", "hyperparameters": {"lr": 0.5, "momentum": 0.9}, "steps": 80,
            "resolution": 20, "dataset": "spirals", "batch_size": 32}  # fmt: skip
    response = client.post("/api/models/mlp/train", json=body)
    assert response.status_code == 200, response.text
    result = strict_json(response.text)
    assert len(result["path_a"]) == len(result["losses"]) == result["steps_taken"] + 1
    assert abs(result["path_a"][-1]) < 1e-5 and abs(result["path_b"][-1]) < 1e-5
    assert len(result["z"]) == 20 and sum(result["explained_variance"]) <= 1 + 1e-9
    assert result["losses"][-1] < result["losses"][0]
    again = strict_json(client.post("/api/models/mlp/train", json=body).text)
    assert again["path_a"] == result["path_a"]


def test_network_errors_name_the_field(client: TestClient) -> None:
    cases = [
        ({"optimizer": "Muon"}, ["body", "optimizer"]),
        ({"steps": 100_000}, ["body", "steps"]),
        ({"dataset": "circles"}, ["body", "dataset"]),
        ({"hyperparameters": {"lr": -1}}, ["body", "hyperparameters", "lr"]),
    ]
    for body, loc in cases:
        response = client.post("/api/models/mlp/train", json=body)
        assert response.status_code == 422, response.text
        assert strict_json(response.text)["detail"][0]["loc"] == loc
    plane = {"surface": {"model": "mlp_plane", "batch_size": 4}, "optimizer": "SGD"}
    response = client.post("/api/runs", json=plane)
    assert response.status_code == 422
