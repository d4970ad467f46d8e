from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from losslab.engine import Frame, Trajectory
from losslab.web import runner
from tests.conftest import strict_json

REQUEST: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 0.05},
    "steps": 1500,
}
LONG: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 1e-5},
    "steps": 10_000,
}


def without_run_id(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k not in ("run_id", "frames")}


def parse_sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], strict_json(lines["data"])))
    return events


def test_sse_frames_concatenate_to_the_json_run(client: TestClient) -> None:
    whole = client.post("/api/runs", json=REQUEST).json()
    response = client.post("/api/runs/stream", json=REQUEST)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"frames"}
    assert len(events[0][1]["frames"]) == 1  # the first batch leaves at once
    frames = [f for kind, data in events if kind == "frames" for f in data["frames"]]
    assert frames == whole["frames"]
    done = events[-1][1]
    assert without_run_id(done) == without_run_id(whole)
    assert {data["run_id"] for _, data in events} == {done["run_id"]}


def test_sse_rejects_bad_requests_before_streaming(client: TestClient) -> None:
    response = client.post("/api/runs/stream", json=REQUEST | {"optimizer": "nope"})
    assert response.status_code == 422
    assert strict_json(response.text)["detail"][0]["loc"] == ["body", "optimizer"]


def receive_run(ws: Any, run_id: str) -> tuple[list[Frame], dict[str, Any]]:
    frames: list[Frame] = []
    while True:
        message = strict_json(ws.receive_text())
        assert message["run_id"] == run_id, message
        if message["type"] == "frames":
            frames.extend(message["frames"])
        else:
            assert message["type"] == "done", message
            return frames, message


def test_ws_frames_concatenate_to_the_json_run(client: TestClient) -> None:
    whole = client.post("/api/runs", json=REQUEST).json()
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps({"type": "run", "run_id": "a", **REQUEST}))
        first = strict_json(ws.receive_text())
        assert first["type"] == "frames" and len(first["frames"]) == 1
        frames, done = receive_run(ws, "a")
    assert first["frames"] + frames == whole["frames"]
    assert done["status"] == whole["status"]
    assert done["summary"] == whole["summary"]


def test_ws_new_run_cancels_the_old_one(client: TestClient) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps({"type": "run", "run_id": "old", **LONG}))
        assert strict_json(ws.receive_text())["run_id"] == "old"
        ws.send_text(json.dumps({"type": "run", "run_id": "new", **REQUEST}))
        while True:
            message = strict_json(ws.receive_text())
            if message["type"] == "cancelled":
                assert message["run_id"] == "old"
                break
            assert message["run_id"] == "old" and message["type"] == "frames"
        frames, done = receive_run(ws, "new")  # nothing of "old" after "cancelled"
        assert frames[0]["step"] == 0 and done["status"] in ("converged", "max_steps")


def test_ws_cancel_message(client: TestClient) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps({"type": "run", "run_id": 7, **LONG}))
        assert strict_json(ws.receive_text())["run_id"] == 7
        ws.send_text(json.dumps({"type": "cancel"}))
        while (message := strict_json(ws.receive_text()))["type"] == "frames":
            pass
        assert message == {"type": "cancelled", "run_id": 7}


@pytest.mark.parametrize(
    ("message", "loc"),
    [
        ({"type": "run", "run_id": "x", **REQUEST, "optimizer": "nope"}, ["body", "optimizer"]),
        ({"type": "run", "run_id": "x", **REQUEST, "steps": 0}, ["body", "steps"]),
        ({"type": "run", "run_id": "x", **REQUEST, "start": [float("nan"), 0]}, None),
        (
            {"type": "run", "run_id": "x", **REQUEST, "hyperparameters": {"lr": -1}},
            ["body", "hyperparameters", "lr"],
        ),
    ],
)
def test_ws_invalid_request_gets_an_error_and_the_socket_stays_open(
    client: TestClient, message: dict[str, Any], loc: list[str] | None
) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps(message))
        reply = strict_json(ws.receive_text())
        assert reply["type"] == "error" and reply["run_id"] == "x"
        if loc:
            assert reply["detail"][0]["loc"] == loc
        ws.send_text(json.dumps({"type": "run", "run_id": "ok", **REQUEST}))
        frames, done = receive_run(ws, "ok")
        assert frames and done["type"] == "done"


@pytest.mark.parametrize(
    "garbage",
    ["not json", "[1, 2]", '{"type": "fly"}', "{" * 100_000, b"\x00\x01binary"],
    ids=["text", "array", "unknown type", "oversized", "binary"],
)
def test_ws_garbage_gets_an_error_and_the_socket_stays_open(
    client: TestClient, garbage: str | bytes
) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        if isinstance(garbage, bytes):
            ws.send_bytes(garbage)
        else:
            ws.send_text(garbage)
        reply = strict_json(ws.receive_text())
        assert reply["type"] == "error" and reply["detail"]
        ws.send_text(json.dumps({"type": "run", "run_id": "ok", **REQUEST}))
        frames, _ = receive_run(ws, "ok")
        assert frames


class CountingTrajectory(Trajectory):
    produced = 0

    def __iter__(self) -> Iterator[Frame]:
        for frame in super().__iter__():
            CountingTrajectory.produced += 1
            yield frame


def settled_count(ping: Callable[[], object]) -> int:
    """Frames produced once the server has stopped producing (stable over 5 round trips)."""
    stable, last = 0, -1
    for _ in range(2000):
        ping()
        now = CountingTrajectory.produced
        stable = stable + 1 if now == last else 0
        last = now
        if stable == 5:
            return now
    raise AssertionError("the server kept computing frames for a client that left")


def test_ws_disconnect_stops_the_servers_work(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "Trajectory", CountingTrajectory)
    CountingTrajectory.produced = 0
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps({"type": "run", "run_id": "a", **LONG}))
        ws.receive_text()
    assert settled_count(lambda: client.get("/api/surfaces")) < LONG["steps"] // 2


def test_sse_disconnect_stops_the_servers_work(
    live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "Trajectory", CountingTrajectory)
    CountingTrajectory.produced = 0
    with httpx.Client(base_url=live_server) as http:
        with http.stream("POST", "/api/runs/stream", json=LONG) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    break
        assert settled_count(lambda: http.get("/api/surfaces")) < LONG["steps"] // 2
