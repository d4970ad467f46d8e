"""Faults a real server meets: clients that vanish mid-stream, junk on the WebSocket, runs
replaced every few milliseconds, sockets opened and dropped by the hundred, SIGTERM.

Afterwards the server still answers at once, no run keeps computing, and its threads and
asyncio tasks go back to what they were.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from losslab.config import Settings
from tests.servers import ThreadServer, make_app, serve_in_subprocess, serve_in_thread, wait_for

APP_DIR = str(Path(__file__).resolve().parents[1] / "losslab")
# About half a millisecond a step: long enough to be cut off in the middle.
LONG_RUN: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 1e-4},
    "steps": 10_000,
}
SHORT_RUN: dict[str, Any] = {"surface": "bowl", "optimizer": "SGD", "steps": 20}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ThreadServer]]:
    with serve_in_thread(make_app(Settings(run_seconds=20.0))) as served:
        yield served


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws/runs"


def computing_threads() -> list[str]:
    """Threads of this process that are running app code right now (not idle workers)."""
    busy = []
    for ident, frame in sys._current_frames().items():
        walker: FrameType | None = frame
        while walker is not None:
            if walker.f_code.co_filename.startswith(APP_DIR):
                busy.append(str(ident))
                break
            walker = walker.f_back
    return busy


def assert_settled(url: str, server: ThreadServer, tasks_before: int) -> None:
    """The server answers at once, no run is computing, and its tasks are back to before."""
    response = httpx.get(f"{url}/healthz", timeout=2)
    assert response.status_code == 200
    assert wait_for(lambda: not computing_threads(), 10), computing_threads()
    assert wait_for(lambda: server.task_count() <= tasks_before, 10), server.task_count()
    app = server.config.app
    assert isinstance(app, FastAPI)
    assert wait_for(lambda: not getattr(app.state, "sockets", set()), 10)


async def receive_json(ws: ClientConnection, seconds: float = 20) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), seconds)
    payload: dict[str, Any] = json.loads(message)
    return payload


def test_sse_client_that_disconnects_mid_stream(server: tuple[str, ThreadServer]) -> None:
    url, served = server
    tasks_before = served.task_count()
    for _ in range(5):
        with (
            httpx.Client(timeout=20) as client,
            client.stream("POST", f"{url}/api/runs/stream", json=LONG_RUN) as response,
        ):
            assert response.status_code == 200
            lines = response.iter_lines()
            assert next(lines) == "event: frames"
            assert next(lines).startswith("data: ")
        # Leaving the block closes the connection while the run still has seconds to go.
    assert_settled(url, served, tasks_before)


def test_websocket_client_that_disconnects_mid_stream(server: tuple[str, ThreadServer]) -> None:
    url, served = server
    tasks_before = served.task_count()

    async def drop_mid_run() -> None:
        async with connect(ws_url(url)) as ws:
            await ws.send(json.dumps({"type": "run", "run_id": "long", **LONG_RUN}))
            assert (await receive_json(ws))["type"] == "frames"

    for _ in range(5):
        asyncio.run(drop_mid_run())
    assert_settled(url, served, tasks_before)


JUNK: list[tuple[str | bytes, str]] = [
    ("not json", "message is not JSON"),
    ("{", "message is not JSON"),
    ("[1, 2]", 'message must be an object with "type": "run", "sweep" or "cancel"'),
    ('{"type": "fly"}', 'message must be an object with "type": "run", "sweep" or "cancel"'),
    ('"run"', 'message must be an object with "type": "run", "sweep" or "cancel"'),
    (b"\x00\x01binary", "send JSON text messages"),
    (b"{}", "send JSON text messages"),
]
# Messages over the size limit are refused by the server while being read (close code 1009,
# tests/test_limits.py), so they never reach the app's own check.


def test_junk_on_the_websocket_gets_errors_and_the_socket_stays_usable(
    server: tuple[str, ThreadServer],
) -> None:
    url, served = server
    tasks_before = served.task_count()

    async def session() -> None:
        async with connect(ws_url(url), max_size=None) as ws:
            for junk, detail in JUNK:
                await ws.send(junk)
                reply = await receive_json(ws)
                assert reply == {"type": "error", "run_id": None, "detail": detail}
            await ws.send(json.dumps({"type": "run", "run_id": "bad", "surface": "bowl"}))
            reply = await receive_json(ws)
            assert reply["type"] == "error" and reply["run_id"] == "bad"
            assert ["body", "optimizer"] in [item["loc"] for item in reply["detail"]]
            await ws.send(json.dumps({"type": "run", "run_id": "ok", **SHORT_RUN}))
            frames: list[dict[str, Any]] = []
            while (reply := await receive_json(ws))["type"] == "frames":
                frames.extend(reply["frames"])
            assert reply["type"] == "done" and reply["run_id"] == "ok"
            assert [frame["step"] for frame in frames] == list(range(21))

    asyncio.run(session())
    assert_settled(url, served, tasks_before)


def test_deeply_nested_json_on_the_websocket_gets_an_error(
    server: tuple[str, ThreadServer],
) -> None:
    url, _ = server

    async def session() -> dict[str, Any]:
        async with connect(ws_url(url)) as ws:
            await ws.send("[" * 60_000)
            return await receive_json(ws, 5)

    assert asyncio.run(session())["type"] == "error"


def test_huge_integer_hyperparameter_on_the_websocket_gets_an_error(
    server: tuple[str, ThreadServer],
) -> None:
    url, _ = server
    run = {"type": "run", "run_id": "huge", **SHORT_RUN, "hyperparameters": {"lr": 10**400}}

    async def session() -> dict[str, Any]:
        async with connect(ws_url(url)) as ws:
            await ws.send(json.dumps(run))
            return await receive_json(ws, 5)

    assert asyncio.run(session())["type"] == "error"


def test_a_torch_error_mid_run_reaches_the_websocket_client(
    server: tuple[str, ThreadServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = server

    def torch_fails(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("element 0 of tensors does not require grad")

    monkeypatch.setattr("losslab.web.routes.stream.done_payload", torch_fails)

    async def session() -> dict[str, Any]:
        async with connect(ws_url(url)) as ws:
            await ws.send(json.dumps({"type": "run", "run_id": "t", **SHORT_RUN}))
            while (message := await receive_json(ws, 5))["type"] == "frames":
                pass
            return message

    assert asyncio.run(session()) == {"type": "error", "run_id": "t", "detail": "internal error"}


def test_runs_replaced_every_few_milliseconds(server: tuple[str, ThreadServer]) -> None:
    """60 runs on one socket, 3 ms apart: no frame of a run follows its `cancelled`."""
    url, served = server
    tasks_before = served.task_count()
    ids = [f"run-{i}" for i in range(60)]
    received: list[dict[str, Any]] = []

    async def slider() -> None:
        async with connect(ws_url(url)) as ws:

            async def send_all() -> None:
                for i, run_id in enumerate(ids):
                    lr = 1e-4 * (1 + i / 10)
                    run = LONG_RUN | {"hyperparameters": {"lr": lr}, "steps": 1_500}
                    await ws.send(json.dumps({"type": "run", "run_id": run_id, **run}))
                    await asyncio.sleep(0.003)

            sender = asyncio.create_task(send_all())
            while True:
                message = await receive_json(ws)
                received.append(message)
                if message["type"] != "frames" and message["run_id"] == ids[-1]:
                    break
            await sender

    asyncio.run(slider())
    ended: dict[str, str] = {}
    steps: dict[str, list[int]] = {}
    for message in received:
        run_id = message["run_id"]
        assert run_id not in ended, f"{message['type']} of {run_id} after its {ended[run_id]}"
        if message["type"] == "frames":
            steps.setdefault(run_id, []).extend(frame["step"] for frame in message["frames"])
        else:
            ended[run_id] = message["type"]
    assert ended[ids[-1]] == "done"
    assert steps[ids[-1]] == list(range(1_501))
    # Every superseded run said how it ended, and each streamed its frames in order.
    assert set(ended) == set(ids)
    assert {ended[run_id] for run_id in ids[:-1]} <= {"cancelled", "done"}
    assert "cancelled" in ended.values()
    for run_steps in steps.values():
        assert run_steps == list(range(len(run_steps)))
    assert_settled(url, served, tasks_before)


async def open_and_drop(url: str, index: int) -> None:
    """Clients that go away in every way: before a run, mid-run, mid-message, politely."""
    ws = await connect(ws_url(url))
    if index % 4 == 0:
        await ws.close()
        return
    await ws.send(json.dumps({"type": "run", "run_id": index, **LONG_RUN}))
    if index % 4 == 1:
        await ws.recv()
        ws.transport.abort()  # no close frame: as if the network went away
    elif index % 4 == 2:
        await ws.send(json.dumps({"type": "cancel"}))
        await ws.close()
    else:
        ws.transport.abort()


def test_many_sockets_opened_and_dropped(server: tuple[str, ThreadServer]) -> None:
    url, served = server
    tasks_before = served.task_count()

    async def crowd() -> None:
        for wave in range(4):
            await asyncio.gather(*(open_and_drop(url, 50 * wave + i) for i in range(50)))

    asyncio.run(crowd())
    assert_settled(url, served, tasks_before)


def test_threads_come_back_after_abuse() -> None:
    """Threads of the process return to their count before the server, within a bounded wait."""
    baseline = threading.active_count()
    with serve_in_thread(make_app(Settings(run_seconds=20.0))) as (url, served):
        tasks_before = served.task_count()

        async def abuse() -> None:
            await asyncio.gather(*(open_and_drop(url, i) for i in range(40)))
            async with httpx.AsyncClient(timeout=20) as client:
                for _ in range(3):
                    async with client.stream(
                        "POST", f"{url}/api/runs/stream", json=LONG_RUN
                    ) as response:
                        await anext(response.aiter_lines())

        asyncio.run(abuse())
        assert threading.active_count() > baseline
        assert_settled(url, served, tasks_before)
    assert wait_for(lambda: threading.active_count() <= baseline, 20), threading.enumerate()


def test_sigterm_stops_streams_and_exits_cleanly() -> None:
    with serve_in_subprocess("--timeout-graceful-shutdown", "2") as served:
        url = served.url
        with (
            httpx.Client(timeout=20) as client,
            client.stream("POST", f"{url}/api/runs/stream", json=LONG_RUN) as sse,
        ):
            assert next(sse.iter_lines()) == "event: frames"

            async def websocket_through_sigterm() -> list[dict[str, Any]]:
                seen: list[dict[str, Any]] = []
                async with connect(ws_url(url)) as ws:
                    await ws.send(json.dumps({"type": "run", "run_id": "w", **LONG_RUN}))
                    seen.append(await receive_json(ws))
                    served.process.send_signal(signal.SIGTERM)
                    with pytest.raises(ConnectionClosed) as closed:
                        while True:
                            seen.append(await receive_json(ws))
                    assert closed.value.rcvd is not None
                    assert closed.value.rcvd.code in (1001, 1012)
                return seen

            seen = asyncio.run(websocket_through_sigterm())
            assert seen[0]["type"] == "frames"
            assert all(message["type"] in ("frames", "cancelled") for message in seen)
            assert served.process.wait(timeout=15) == 0
        log = served.stderr()
        assert "Finished server process" in log
        requests = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert {"method": "GET", "path": "/healthz", "status": 200} in [
            {key: line[key] for key in ("method", "path", "status")} for line in requests
        ]
