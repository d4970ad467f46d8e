"""LLB1, the binary encoding of maps: layout, equality with JSON, and the record stream.
Also what a map refuses before it starts: its estimated time, a plane's memory, and
hyperparameter maps whose fixed settings only make sense with the axes' values in place."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from losslab.config import Settings
from losslab.web import binary
from tests.servers import make_app

BINARY = {"accept": binary.BINARY}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(make_app(Settings())) as test_client:
        yield test_client


def records(body: bytes) -> list[tuple[bytes, bytes]]:
    """The records of an LLB1 stream, checking that they tile the body exactly."""
    out, at = [], 0
    while at < len(body):
        kind = body[at : at + 1]
        (size,) = struct.unpack_from("<I", body, at + 1)
        out.append((kind, body[at + 5 : at + 5 + size]))
        at += 5 + size
    assert at == len(body)
    return out


def test_layout_round_trip_and_alignment() -> None:
    answer = {
        "x": [0.5, 1.5, 2.5],
        "outcome": [[0, 1, -2], [None, 3, 4]],
        "final_loss": [[1.25, None, 3.0], [4.0, 5.0, 6.5]],
        "note": "any JSON stays in the header ✓",
    }
    blob = binary.pack(answer, {"outcome": "int32", "final_loss": "float32"})
    assert blob[:4] == b"LLB1"
    (size,) = struct.unpack_from("<I", blob, 4)
    assert (8 + size) % 8 == 0
    header = json.loads(blob[8 : 8 + size])
    assert header["x"] == answer["x"] and header["note"] == answer["note"]
    for name in ("outcome", "final_loss"):
        ref = header[name]["$array"]
        assert ref["offset"] % 8 == 0 and ref["offset"] >= 8 + size
        assert ref["shape"] == [2, 3]
    decoded = binary.unpack(blob)
    assert decoded["outcome"].tolist() == [[0, 1, -2], [-1, 3, 4]]
    loss = decoded["final_loss"]
    assert math.isnan(loss[0, 1]) and loss[1, 2] == 6.5


def _as_json_grid(array: np.ndarray, null: int | None = None) -> list[list[Any]]:
    rows = []
    for row in array.tolist():
        cells: list[Any] = []
        for value in row:
            missing = isinstance(value, float) and math.isnan(value)
            cells.append(None if missing or (null is not None and value == null) else value)
        rows.append(cells)
    return rows


BASINS = {
    "surface": "himmelblau",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 0.2},
    "steps": 150,
    "resolution": 23,
}


def test_a_binary_basin_map_equals_the_json_one(client: TestClient) -> None:
    text = client.post("/api/maps/basins", json=BASINS)
    blob = client.post("/api/maps/basins", json=BASINS, headers=BINARY)
    assert blob.headers["content-type"] == binary.BINARY
    assert "content-encoding" not in blob.headers
    expected, got = text.json(), binary.unpack(blob.content)
    assert len(blob.content) < len(text.content) / 2
    for key in ("x", "y", "minima"):
        assert got[key] == expected[key]
    assert got["outcome"].tolist() == expected["outcome"]
    assert _as_json_grid(got["steps_to_converge"], null=-1) == expected["steps_to_converge"]
    for key in ("final_loss", "final_x", "final_y"):
        want = np.array(expected[key], dtype=float)  # None becomes NaN
        assert np.allclose(got[key], want, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_the_binary_stream_carries_progress_then_the_map(client: TestClient) -> None:
    body = BASINS | {"steps": 400, "resolution": 64}
    response = client.post("/api/maps/basins/stream", json=body, headers=BINARY)
    assert response.headers["content-type"] == binary.STREAM
    found = records(response.content)
    kinds = [kind for kind, _ in found]
    assert kinds[-1] == b"d" and set(kinds[:-1]) <= {b"p"}
    fractions = [json.loads(payload)["fraction"] for kind, payload in found if kind == b"p"]
    assert fractions == sorted(fractions)
    final = binary.unpack(found[-1][1])
    assert final["outcome"].shape == (64, 64)


def test_the_binary_stream_reports_an_error_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("losslab.maps.estimated_seconds", lambda *args: 0.0)  # starts, times out
    with TestClient(make_app(Settings(job_seconds=0.0))) as client:
        response = client.post("/api/maps/basins/stream", json=BASINS, headers=BINARY)
    (kind, payload), *_ = records(response.content)[-1:]
    assert kind == b"e"
    assert "limit" in json.loads(payload)["detail"]


def test_hyperparameter_maps_answer_binary_too(client: TestClient) -> None:
    body = {"surface": "elliptic", "optimizer": "SGD", "steps": 60}
    text = client.post("/api/maps/hyperparameters", json=body).json()
    got = binary.unpack(client.post("/api/maps/hyperparameters", json=body, headers=BINARY).content)
    assert got["outcome"].tolist() == text["outcome"]
    assert got["axes"] == text["axes"] and got["stability_boundary"] == text["stability_boundary"]


# Nesterov: the fixed settings are judged with the axes in place


def test_a_nesterov_map_sweeps_momentum(client: TestClient) -> None:
    axes = {
        "x": {"name": "lr", "min": 0.001, "max": 0.3, "n": 6, "log": True},
        "y": {"name": "momentum", "min": 0.1, "max": 0.95, "n": 5},
    }
    body = {
        "surface": "elliptic",
        "optimizer": "SGD",
        "hyperparameters": {"nesterov": True},
        "steps": 80,
        "axes": axes,
    }
    response = client.post("/api/maps/hyperparameters", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["y"][0] == 0.1
    # The default axes start momentum above 0 when nesterov is on.
    default = client.post("/api/maps/hyperparameters", json=body | {"axes": None})
    assert default.status_code == 200, default.text
    assert default.json()["axes"]["y"]["min"] > 0
    # Momentum 0 at an axis end is still refused, and that end is named.
    zero = axes | {"y": axes["y"] | {"min": 0.0}}
    refused = client.post("/api/maps/hyperparameters", json=body | {"axes": zero})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "axes", "y", "min"]


# What a map refuses by its size


def test_a_long_map_is_answered_only_by_its_stream(client: TestClient) -> None:
    body = {"surface": {"model": "mlp_plane"}, "optimizer": "SGD"}  # defaults: 32×32×200
    blocking = client.post("/api/maps/hyperparameters", json=body)
    assert blocking.status_code == 422
    detail = blocking.json()["detail"][0]
    assert detail["loc"] == ["body", "steps"] and "/stream" in detail["msg"]
    with client.stream("POST", "/api/maps/hyperparameters/stream", json=body) as stream:
        assert stream.status_code == 200
        first = next(stream.iter_lines())
        assert first == "event: progress"


def test_a_map_past_the_job_limit_is_refused_before_it_starts(client: TestClient) -> None:
    body = {"surface": {"model": "mlp_plane"}, "optimizer": "SGD", "steps": 2000}
    response = client.post("/api/maps/hyperparameters/stream", json=body)
    assert response.status_code == 422
    assert "fewer cells or steps" in response.json()["detail"][0]["msg"]


def test_a_plane_map_is_capped_in_cells(client: TestClient) -> None:
    body = {"surface": {"model": "mlp_plane"}, "optimizer": "SGD", "steps": 2, "resolution": 100}
    response = client.post("/api/maps/basins/stream", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "resolution"]
