"""Bounded work: per-client and total limits, the fair run queue, time limits that bind every
step, work that stops when its client leaves, and the connection-level guards."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from websockets.sync.client import connect
from websockets.typing import Origin

from losslab import engine
from losslab.config import Settings
from losslab.landscapes.formula import formula_surface
from losslab.web.jobs import Busy, Job, JobPool
from losslab.web.runqueue import QueueTimeout, RunQueue
from losslab.web.server import BoundedWebSocketProtocol, TimedHttpProtocol
from tests.servers import (
    LOSSLAB,
    ThreadServer,
    make_app,
    serve_in_subprocess,
    serve_in_thread,
    wait_for,
)

# An LBFGS step that evaluates a costly formula up to 100 times: one step takes seconds.
SLOW_LBFGS: dict[str, Any] = {
    "surface": {"formula": " + ".join(["sin(x*y)*cos(x+y)*exp(-x*x/9)"] * 14)},
    "optimizer": "LBFGS",
    "hyperparameters": {
        "lr": 1.0,
        "max_iter": 100,
        "history_size": 100,
        "tolerance_grad": 0.0,
        "tolerance_change": 0.0,
    },
    "start": [0.5, 0.5],
    "steps": 1000,
}
LONG_RUN: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 1e-4},
    "steps": 10_000,
}
REFERENCE: dict[str, Any] = {
    "surface": "bowl",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.1},
    "start": [3, 2],
    "steps": 10,
}
LONG_ADAM: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 1e-5},
    "steps": 10_000,
}


# The job pool: per client as well as in total, and the 429 names the limit


def test_job_pool_caps_each_client_and_the_total() -> None:
    pool = JobPool(slots=2, seconds=60.0, per_client=1)
    pool._acquire("a", Job(deadline=0))
    with pytest.raises(Busy) as busy:
        pool.check("a")
    assert busy.value.limit == "max_jobs_per_client"
    assert "LOSSLAB_MAX_JOBS_PER_CLIENT" in str(busy.value)
    pool.check("b")
    pool._acquire("b", Job(deadline=0))
    with pytest.raises(Busy) as busy:
        pool.check("c")
    assert busy.value.limit == "max_jobs"


def test_a_second_job_from_one_client_gets_429_naming_the_limit(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(Settings(max_jobs=4, max_jobs_per_client=1))
    app = client.app
    assert isinstance(app, FastAPI)
    pool: JobPool = app.state.jobs
    pool._acquire("testclient", Job(deadline=time.monotonic() + 60))  # a job in progress
    body = {"surface": "bowl", "optimizer": "SGD", "steps": 5, "resolution": 4}
    response = client.post("/api/maps/basins", json=body)
    assert response.status_code == 429
    assert response.json()["limit"] == "max_jobs_per_client"
    assert int(response.headers["retry-after"]) >= 1
    stream = client.post("/api/maps/basins/stream", json=body)
    assert stream.status_code == 429 and stream.json()["limit"] == "max_jobs_per_client"


def test_shutdown_asks_every_job_to_stop() -> None:
    pool = JobPool(2, 60.0)
    job = Job(deadline=time.monotonic() + 60)
    pool._acquire("a", job)
    assert not job.should_stop()
    pool.cancel_all()
    assert job.should_stop()


# The fair run queue


def test_queue_serves_the_run_with_least_cpu_first() -> None:
    async def scenario() -> list[str]:
        queue = RunQueue(slots=1, per_client=10, max_waiting=10, wait_seconds=10)
        order: list[str] = []
        long_run, other_long, fresh = queue.ticket("a"), queue.ticket("a"), queue.ticket("b")
        long_run.attained, other_long.attained = 5.0, 3.0
        await queue._acquire(queue.ticket("holder"))  # the only slot is taken
        tasks = [
            asyncio.create_task(queue.slice(ticket, functools.partial(order.append, name)))
            for ticket, name in ((long_run, "long"), (other_long, "other"), (fresh, "fresh"))
        ]
        await asyncio.sleep(0.01)
        assert queue.stats()["waiting"] == 3
        queue.running -= 1  # the holder's slice ends
        queue._dispatch()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["fresh", "other", "long"]


def test_queue_caps_runs_per_client_and_waiting_runs() -> None:
    async def scenario() -> None:
        queue = RunQueue(slots=1, per_client=2, max_waiting=1, wait_seconds=0.05)
        queue.ticket("a"), queue.ticket("a")
        with pytest.raises(Busy) as busy:
            queue.ticket("a")
        assert busy.value.limit == "max_runs_per_client"
        first = queue.ticket("b")
        await queue._acquire(first)  # the only slot
        waiting = asyncio.create_task(queue.slice(queue.ticket("c"), lambda: None))
        await asyncio.sleep(0.01)
        with pytest.raises(Busy) as full:
            await queue.slice(queue.ticket("d"), lambda: None)
        assert full.value.limit == "max_waiting_runs"
        with pytest.raises(QueueTimeout):
            await waiting
        assert queue.stats()["waiting"] == 0  # the timed-out waiter left the queue

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_the_queue_and_slots_are_not_lost() -> None:
    async def scenario() -> None:
        queue = RunQueue(slots=1, per_client=5, max_waiting=5, wait_seconds=10)
        holder = queue.ticket("a")
        await queue._acquire(holder)
        task = asyncio.create_task(queue.slice(queue.ticket("b"), lambda: "late"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queue.stats()["waiting"] == 0
        queue.running -= 1
        queue._dispatch()
        assert await queue.slice(queue.ticket("c"), lambda: "next") == "next"
        assert queue.running == 0

    asyncio.run(scenario())


def test_tickets_are_given_back() -> None:
    queue = RunQueue(slots=1, per_client=1, max_waiting=1, wait_seconds=1)
    with queue.ticket("a"):
        assert queue.stats()["clients"] == 1
    assert queue.stats()["clients"] == 0
    queue.ticket("a").close()  # and the client may start another


# Time limits bind every step, even one long closure step


def test_a_run_stops_at_its_time_limit_inside_a_long_step() -> None:
    surface = formula_surface(SLOW_LBFGS["surface"]["formula"], None)
    config = engine.make_config(
        surface=surface,
        optimizer="LBFGS",
        hyperparameters=SLOW_LBFGS["hyperparameters"],
        start=SLOW_LBFGS["start"],
        steps=5,
    )
    frames: list[engine.Frame] = []
    trajectory = engine.Trajectory(config, time_limit=0.002)
    with pytest.raises(engine.RunTimeout):
        frames.extend(trajectory)
    # Stopped inside the first step's hundred evaluations, not after it.
    assert len(frames) <= 1


def test_should_stop_ends_a_run_at_the_next_step() -> None:
    config = engine.make_config(surface="rosenbrock", optimizer="Adam", steps=10_000)
    calls = 0

    def stop_after_a_few() -> bool:
        nonlocal calls
        calls += 1
        return calls > 10

    trajectory = engine.Trajectory(config, None, stop_after_a_few)
    frames: list[engine.Frame] = []
    with pytest.raises(engine.RunCancelled):
        frames.extend(trajectory)
    assert len(frames) == 10


def test_time_between_frames_does_not_count_against_the_limit() -> None:
    config = engine.make_config(surface="bowl", optimizer="SGD", steps=3)
    trajectory = engine.Trajectory(config, time_limit=0.15)
    frames = iter(trajectory)
    next(frames)
    time.sleep(0.3)  # a consumer waiting its turn in the queue
    assert len([next(frames), *frames]) == 3


def test_an_ensemble_stops_at_the_job_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(Settings(job_seconds=0.5))
    request = SLOW_LBFGS | {"noise": {"std": 0.01, "seed": 0}, "members": 20, "steps": 100}
    started = time.monotonic()
    response = client.post("/api/runs/ensemble", json=request)
    assert response.status_code == 503
    assert time.monotonic() - started < 10


# Work stops when its client leaves


@pytest.fixture
def server() -> Iterator[tuple[str, ThreadServer]]:
    # Every test client is 127.0.0.1: room for the 20 sockets of one test.
    with serve_in_thread(make_app(Settings(max_runs_per_client=64))) as served:
        yield served


def _queue(server: ThreadServer) -> RunQueue:
    config = server.config
    app = config.app
    assert isinstance(app, FastAPI)
    queue: RunQueue = app.state.runs
    return queue


def test_a_run_stops_computing_when_its_client_disconnects(
    server: tuple[str, ThreadServer],
) -> None:
    url, served = server
    queue = _queue(served)
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=0.5) as client:
        client.post(f"{url}/api/runs", json=LONG_ADAM)
    assert queue.stats()["clients"] == 1  # still computing when the client gave up
    assert wait_for(lambda: queue.stats()["clients"] == 0, 5), queue.stats()
    assert queue.stats()["running"] == 0


def test_a_small_run_overtakes_many_long_streams(server: tuple[str, ThreadServer]) -> None:
    """20 sockets streaming 10,000-step runs; a small POST is served after one slice."""
    url, served = server
    queue = _queue(served)
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(connect(url.replace("http", "ws") + "/ws/runs")) for _ in range(20)
        ]
        for k, ws in enumerate(sockets):
            ws.send(json.dumps({"type": "run", "run_id": k, **LONG_ADAM}))
        assert wait_for(lambda: queue.stats()["waiting"] >= 10, 10), queue.stats()
        reference = {"surface": "bowl", "optimizer": "SGD", "steps": 10}
        response = httpx.post(f"{url}/api/runs", json=reference, timeout=30)
        assert response.status_code == 200
        # Every long run has had CPU already; the new one had none, so it went first.
        assert queue.stats()["waiting"] >= 10
    assert wait_for(lambda: queue.stats()["clients"] == 0, 10), queue.stats()


# Connection-level guards


def test_websockets_from_another_origin_are_refused(server: tuple[str, ThreadServer]) -> None:
    url, _ = server
    ws_url = url.replace("http", "ws") + "/ws/runs"
    with pytest.raises(Exception, match="403"):
        connect(ws_url, origin=Origin("http://evil.example"))
    with connect(ws_url, origin=Origin(url)) as ws:
        ws.send(json.dumps({"type": "run", "surface": "bowl", "optimizer": "SGD", "steps": 2}))
        assert json.loads(ws.recv(timeout=10))["type"] == "frames"
    with connect(ws_url) as ws:  # scripts send no Origin
        ws.send(json.dumps({"type": "run", "surface": "bowl", "optimizer": "SGD", "steps": 2}))
        assert json.loads(ws.recv(timeout=10))["type"] == "frames"


def test_a_websocket_message_over_the_limit_is_refused_while_read(
    server: tuple[str, ThreadServer],
) -> None:
    url, _ = server
    with connect(url.replace("http", "ws") + "/ws/runs") as ws:
        ws.send("x" * (Settings().max_ws_message_bytes + 1))
        with pytest.raises(Exception, match="1009"):
            ws.recv(timeout=10)


class _TinyPending(BoundedWebSocketProtocol):
    max_pending_bytes = 16_384


class _QuickHttp(TimedHttpProtocol):
    request_seconds = 0.5


@pytest.fixture
def guarded_server() -> Iterator[str]:
    app = make_app(Settings())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=_QuickHttp, ws=_TinyPending
    )
    server = ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 30)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _raw(address: str) -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def test_a_half_sent_request_is_timed_out(guarded_server: str) -> None:
    sock = _raw(guarded_server)
    sock.sendall(b"POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    started = time.monotonic()
    assert sock.recv(1024) == b""  # closed by the server
    assert time.monotonic() - started < 5
    sock.close()
    idle = _raw(guarded_server)  # connected, sends nothing
    assert idle.recv(1024) == b""
    idle.close()


def test_a_ping_flood_that_never_reads_is_cut_off(guarded_server: str) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = guarded_server.split(":")
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/runs HTTP/1.1\r\nHost: {guarded_server}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert b"101" in sock.recv(4096)
    payload = os.urandom(125)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    ping = struct.pack("!BB", 0x89, 0x80 | 125) + mask + masked
    sock.settimeout(10)
    cut = False
    try:
        for _ in range(200_000):
            sock.sendall(ping * 64)
    except OSError:  # reset or broken pipe: the server dropped us
        cut = True
    sock.close()
    assert cut


def test_head_of_the_page(make_client: Callable[..., TestClient]) -> None:
    response = make_client().head("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_the_api_docs_work_offline_under_their_own_policy(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "googleapis" not in page.text
        assert "'sha256-" in page.headers["content-security-policy"] or path == "/redoc"
        assert "/vendor/docs/" in page.text
    assert client.get("/vendor/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/vendor/docs/redoc.standalone.js").status_code == 200
    assert client.get("/vendor/docs/..%2Fcore.py").status_code == 404


def test_api_answers_are_compressed_and_streams_are_not(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    grid = client.get("/api/surfaces/rosenbrock/grid?resolution=200")
    assert grid.headers["content-encoding"] == "gzip"
    body = {"surface": "bowl", "optimizer": "SGD", "steps": 3000, "hyperparameters": {"lr": 1e-4}}
    stream = client.post("/api/runs/stream", json=body)
    assert "content-encoding" not in stream.headers
    assert stream.text.startswith("event: frames")


def test_cli_exits_quietly_when_its_reader_goes_away() -> None:
    command = f"'{LOSSLAB}' run --surface rosenbrock --steps 5000 | head -n 1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("step,x,y")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_sigterm_ends_a_running_job_and_the_process() -> None:
    """A long ensemble holds a job slot in a worker thread; SIGTERM must still end the
    process at once (the thread is not a daemon: the job itself must stop)."""
    request = SLOW_LBFGS | {"noise": {"std": 0.01, "seed": 0}, "members": 50, "steps": 2000}
    with serve_in_subprocess("--timeout-graceful-shutdown", "1") as served:
        url = served.url

        def ask() -> None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/api/runs/ensemble", json=request, timeout=30)

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()

        def busy() -> bool:
            ready = httpx.get(f"{url}/readyz", timeout=5).json()
            return bool(ready["jobs"]["active"])

        assert wait_for(busy, 20)
        signalled = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=15) == 0
        assert time.monotonic() - signalled < 10
        assert "Finished server process" in served.stderr()


# 429 when the job pool is full, 503 past a run's wall-clock limit


def test_job_pool_refuses_when_full_and_frees_its_slot() -> None:
    import anyio

    release = threading.Event()
    pool = JobPool(1, 60.0)

    def hold(job: Job) -> str:
        release.wait(10)
        return "held"

    async def scenario() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(pool.run, hold)
            with anyio.fail_after(10):
                while pool.active < 1:
                    await anyio.sleep(0.01)
            with pytest.raises(Busy) as busy:
                await pool.run(hold)
            assert busy.value.retry_after >= 1
            release.set()
        assert pool.active == 0
        assert await pool.run(lambda job: job.should_stop()) is False

    anyio.run(scenario)


def test_a_job_route_answers_429_with_retry_after(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    app = client.app
    assert isinstance(app, FastAPI)

    @app.post("/test/job")
    async def job(request: Request) -> str:
        pool: JobPool = request.app.state.jobs
        return await pool.run(lambda job: "done")

    assert client.post("/test/job").json() == "done"
    app.state.jobs = JobPool(0, 60.0)
    busy = client.post("/test/job")
    assert busy.status_code == 429
    assert int(busy.headers["retry-after"]) >= 1
    assert busy.json() == {
        "detail": "every job slot is busy (0 at once, LOSSLAB_MAX_JOBS); try again shortly",
        "limit": "max_jobs",
    }


def test_ensembles_answer_429_when_the_job_pool_is_full(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.jobs = JobPool(0, 60.0)
    request = REFERENCE | {"noise": {"std": 0.1, "seed": 0}, "members": 3}
    response = client.post("/api/runs/ensemble", json=request)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


def test_a_map_stream_that_loses_the_race_for_a_slot_says_so(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(raise_server_exceptions=False)
    app = client.app
    assert isinstance(app, FastAPI)
    app.state.jobs = JobPool(0, 60.0)
    # The route looked while a slot was free; another request took it before the job began.
    monkeypatch.setattr(app.state.jobs, "check", lambda client="": None)
    body = {"surface": "bowl", "optimizer": "SGD", "steps": 10, "resolution": 4}
    response = client.post("/api/maps/basins/stream", json=body)
    assert "event: error" in response.text


def test_a_run_past_the_wall_clock_limit_answers_503(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(Settings(run_seconds=0.0))
    for path in ("/api/runs", "/api/runs/stream"):  # past the limit before the first frame
        response = client.post(path, json=LONG_RUN)
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) >= 1
        assert response.json() == {"detail": "the run exceeded the server's 0 s limit"}

    client = make_client(Settings(run_seconds=0.2))
    stream = client.post("/api/runs/stream", json=LONG_RUN)
    assert stream.status_code == 200  # the limit is met after the answer began
    events = [block.split("\n") for block in stream.text.strip().split("\n\n")]
    assert events[0][0] == "event: frames"
    assert events[-1][0] == "event: error"
    assert "limit" in json.loads(events[-1][1].removeprefix("data: "))["detail"]

    with client.websocket_connect("/ws/runs") as ws:
        ws.send_json({"type": "run", "run_id": "slow", **LONG_RUN})
        while (message := ws.receive_json())["type"] == "frames":
            pass
    assert message["type"] == "error" and message["run_id"] == "slow"
    assert "limit" in message["detail"]


def test_limits_are_declared_in_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "503" in paths["/api/runs"]["post"]["responses"]
    assert "429" in paths["/api/runs/ensemble"]["post"]["responses"]
