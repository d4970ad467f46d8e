"""The Python client (`import losslab`): every operation over HTTP equals the same operation in
process, and both equal the plain API; refusals arrive as APIError naming the field; busy and
timed-out answers are retried; a lost connection raises ConnectionLost, never hangs.

The client is imported as users import it (`losslab`); its results are the server's schemas
subclassed, so results are compared as `model_dump()` data, never by class.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pandas
import pytest
import torch
from pydantic import BaseModel

import losslab
import losslab.client.http
from losslab.client import LiveMessage, LiveSession
from losslab.config import Settings
from losslab.web import schemas
from tests.servers import ThreadServer, free_port, make_app, serve_in_thread

Sync = losslab.Client | losslab.Local

# Small requests: every case takes well under a second.
RUN: dict[str, Any] = {"surface": "rosenbrock", "optimizer": "Adam", "lr": 0.05, "steps": 60}
RUN_BODY: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "Adam",
    "hyperparameters": {"lr": 0.05},
    "steps": 60,
}
SWEEP: dict[str, Any] = {
    "surface": "bowl",
    "optimizer": "SGD",
    "steps": 30,
    "axis": {"name": "lr", "min": 0.01, "max": 0.5, "n": 4, "log": True},
}
BASIN_MAP: dict[str, Any] = {
    "surface": "four_wells",
    "optimizer": "SGD",
    "lr": 0.02,
    "steps": 60,
    "resolution": 8,
}
HYPERPARAMETER_MAP: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "start": [-1.0, 1.0],
    "steps": 60,
    "axes": {
        "x": {"name": "lr", "min": 1e-4, "max": 1e-2, "n": 4, "log": True},
        "y": {"name": "momentum", "min": 0.0, "max": 0.9, "n": 3},
    },
}
BENCHMARK: dict[str, Any] = {
    "optimizers": ["SGD", {"name": "Adam", "label": "Adam"}],
    "surfaces": ["bowl"],
    "steps": 100,
    "lr": {"min": 1e-3, "max": 1.0, "n": 4},
    "starts": 4,
}
LONG_RUN: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "lr": 1e-5,
    "start": [-1.5, 2.0],
    "steps": 10_000,
}
"""Seconds of frames: a run still streaming when the test acts on it."""
BUSY_MAP: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "lr": 1e-5,
    "steps": 5000,
    "resolution": 64,
}
"""A basin map of about 2 s: a job still computing when the test acts on it."""
SLOW_MAP: dict[str, Any] = {**BUSY_MAP, "steps": 1500}
"""A map of about 0.7 s: a server reports progress every 0.1 s, and a tiny map is done sooner."""
BUSY_SWEEP: dict[str, Any] = {
    **LONG_RUN,
    "steps": 3000,
    "axis": {"name": "lr", "min": 1e-5, "max": 1e-4, "n": 128},
}


@dataclass(frozen=True)
class Case:
    """An operation of the clients called with these arguments (the same on every client)."""

    operation: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def call(self, client: object) -> Any:
        return getattr(client, self.operation)(*self.args, **self.kwargs)


CASES: dict[str, Case] = {
    "surfaces": Case("surfaces"),
    "grid": Case("grid", ("rosenbrock",), {"resolution": 16}),
    "describe-text": Case("describe", ("x**2 + 3*y**2",), {"resolution": 12}),
    "describe-formula": Case(
        "describe",
        ({"formula": "(x - 1)**2 + 3*(y + 0.5)**2", "domain": {"x": [-2, 3], "y": [-2, 2]}},),
        {"resolution": 16},
    ),
    # A regression's minimum is computed in exactly rounded sums: the same bits every time.
    "describe-model": Case(
        "describe", ({"model": "linear_regression", "dataset": "tiny"},), {"resolution": 12}
    ),
    "optimizers": Case("optimizers"),
    "schedulers": Case("schedulers"),
    "presets": Case("presets"),
    "limits": Case("limits"),
    "activations": Case("activations", (), {"x_min": -2.0, "x_max": 2.0, "points": 21}),
    "run": Case("run", (), RUN),
    "runs": Case(
        "runs",
        ([RUN_BODY, schemas.RunRequest(surface="bowl", optimizer="SGD", steps=20)],),
    ),
    "script": Case("script", (), RUN),
    "ensemble": Case(
        "ensemble",
        (),
        {**RUN, "surface": "bowl", "steps": 30, "noise": {"std": 0.5, "seed": 3}, "members": 3},
    ),
    "sweep": Case("sweep", (), SWEEP),
    "basin_map": Case("basin_map", (), BASIN_MAP),
    "hyperparameter_map": Case("hyperparameter_map", (), HYPERPARAMETER_MAP),
    "benchmark": Case("benchmark", (), BENCHMARK),
    "benchmark_defaults": Case("benchmark_defaults"),
    "train_network": Case("train_network", (), {"dataset": "moons", "steps": 20, "resolution": 8}),
    "parse_csv": Case("parse_csv", ("x,y\n1,2\n3,4.5\n-1,0\n",)),
}


def streamed(client: Sync) -> Any:
    """The frames as they arrive, then the whole run: the two agree."""
    with client.stream(**RUN) as stream:
        frames = list(stream)
        run = stream.run()
    assert [f.model_dump() for f in frames] == [f.model_dump() for f in run.frames]
    assert len(frames) == RUN["steps"] + 1
    return run


def stream_run(client: Sync) -> losslab.Run:
    return client.stream(**RUN).run()


def live_run(client: Sync) -> losslab.Run:
    with client.live() as live:
        return live.run(**RUN)


def live_sweep(client: Sync) -> losslab.Sweep:
    with client.live() as live:
        return live.sweep(**SWEEP)


SESSIONS: dict[str, Callable[[Sync], Any]] = {
    "stream-iterate": streamed,
    "stream-run": stream_run,
    "live.run": live_run,
    "live.sweep": live_sweep,
}
"""The operations that hand back a stream or a session rather than a result."""

LIFECYCLE = {"close"}
"""Public methods of Client that are not operations."""


def public_methods(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def operations_of(ids: Iterable[str]) -> set[str]:
    """`live.run`, `stream-iterate`, `describe-model` → the client's method they exercise."""
    return {CASES[i].operation if i in CASES else i.split(".")[0].split("-")[0] for i in ids}


VOLATILE = {"run_id", "seconds", "step_seconds", "exports"}
"""What differs between two computations of one request (docs/API.md): a run's uuid, a
benchmark's wall-clock time and per-step cost, and the exports that print the step cost."""


def steady(value: Any) -> Any:
    """`value` as plain data (models dumped), without the VOLATILE fields."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [steady(item) for item in value]
    return value


def assert_same(case: Case, a: Any, b: Any) -> None:
    """Two results of `case` are equal (but for VOLATILE fields), and not empty."""
    assert type(a) is type(b)
    assert steady(a) == steady(b)
    assert steady(a)


@pytest.fixture(scope="module")
def remote(live_server: str) -> Iterator[losslab.Client]:
    with losslab.Client(live_server, timeout=30) as client:
        yield client


# 1. Every operation, over HTTP and in process.


def test_the_cases_cover_every_public_method_of_client() -> None:
    operations = public_methods(losslab.Client) - LIFECYCLE
    assert operations_of([*CASES, *SESSIONS]) == operations
    assert operations <= public_methods(losslab.Local)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_every_operation_over_http_equals_in_process(case: Case, remote: losslab.Client) -> None:
    assert_same(case, case.call(remote), case.call(losslab.local))


@pytest.mark.parametrize("session", SESSIONS.values(), ids=list(SESSIONS))
def test_streams_and_sessions_over_http_equal_in_process(
    session: Callable[[Sync], Any], remote: losslab.Client
) -> None:
    over_http, in_process = session(remote), session(losslab.local)
    assert type(over_http) is type(in_process)
    assert steady(over_http) == steady(in_process)
    # A run streamed or on the socket is the run POST /api/runs answers.
    if isinstance(over_http, losslab.Run):
        assert steady(over_http) == steady(remote.run(**RUN))
    else:
        assert steady(over_http) == steady(remote.sweep(**SWEEP))


def test_runs_keep_a_run_id_each(remote: losslab.Client) -> None:
    first, second = remote.run(**RUN), losslab.run(**RUN)
    assert len(first.run_id) == 32 and first.run_id != second.run_id


def raw_json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def post(path: str, body: Any) -> Callable[[httpx.Client], Any]:
    return lambda http: raw_json(http.post(path, json=body))


PLAIN_API: dict[str, Callable[[httpx.Client], Any]] = {
    "run": post("/api/runs", RUN_BODY),
    "grid": lambda http: raw_json(http.get("/api/surfaces/rosenbrock/grid?resolution=16")),
    "describe-model": post(
        "/api/surfaces/model?resolution=12", {"model": "linear_regression", "dataset": "tiny"}
    ),
    "sweep": post("/api/sweeps", SWEEP),
    "basin_map": post(
        "/api/maps/basins",
        {
            "surface": "four_wells",
            "optimizer": "SGD",
            "hyperparameters": {"lr": 0.02},
            "steps": 60,
            "resolution": 8,
        },
    ),
    "benchmark": post(
        "/api/benchmarks", {**BENCHMARK, "optimizers": [{"name": "SGD"}, {"name": "Adam"}]}
    ),
    "script": lambda http: http.post("/api/runs/script", json=RUN_BODY).text,
}
"""The cases' requests written by hand, as a script without the client would send them."""


@pytest.mark.parametrize("name", PLAIN_API)
def test_client_results_are_the_plain_apis_answers(
    name: str, remote: losslab.Client, live_server: str
) -> None:
    result = CASES[name].call(remote)
    with httpx.Client(base_url=live_server, timeout=30) as http:
        plain = PLAIN_API[name](http)
    if isinstance(result, str):
        assert result == plain
        return
    # exclude_unset: the fields the server sent, and no default the model filled in.
    assert_same(CASES[name], steady(result.model_dump(mode="json", exclude_unset=True)), plain)


# 3. The reference example (docs/API.md).

REFERENCE: dict[str, Any] = {
    "surface": "bowl",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.1, "momentum": 0},
    "start": [3, 2],
    "steps": 10,
}


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_the_reference_example_frames_exactly(where: str, remote: losslab.Client) -> None:
    run = losslab.run(**REFERENCE) if where == "in process" else remote.run(**REFERENCE)
    one, ten = run.frames[1], run.frames[10]
    assert (one.x, one.y, one.loss) == (2.4000000953674316, 1.600000023841858, 8.320000648498535)
    assert (ten.x, ten.y, ten.loss) == (
        0.32212257385253906,
        0.2147483378648758,
        0.1498797982931137,
    )
    assert len(run.frames) == 11 and run.request is not None
    assert run.request.hyperparameters == {"lr": 0.1, "momentum": 0}


# 4. Errors: the server's refusals, the same in process and before sending.


def refusal(call: Callable[[], Any]) -> losslab.APIError:
    with pytest.raises(losslab.APIError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({**RUN, "lr": -1}, "hyperparameters.lr"),
        ({**RUN, "optimizer": "NoSuchOptimizer"}, "optimizer"),
        ({**RUN, "surface": "no_such_surface"}, "surface"),
        ({**RUN, "steps": 10**9}, "steps"),
    ],
    ids=["negative lr", "unknown optimizer", "unknown surface", "too many steps"],
)
def test_a_refused_run_is_an_api_error_naming_the_field(
    kwargs: dict[str, Any], field: str, remote: losslab.Client
) -> None:
    over_http = refusal(lambda: remote.run(**kwargs))
    in_process = refusal(lambda: losslab.run(**kwargs))
    assert over_http.status == in_process.status == 422
    assert over_http.field == in_process.field == field
    assert over_http.detail == in_process.detail
    assert isinstance(over_http, losslab.LosslabError)
    assert field in str(over_http)


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the client sent {request.method} {request.url}")


def mocked(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> losslab.Client:
    """A Client whose every request goes to `handler` instead of a server."""
    url = "http://losslab.test"
    http = httpx.Client(base_url=url, transport=httpx.MockTransport(handler))
    return losslab.Client(url, http=http, **options)


def test_a_wrong_type_is_refused_before_sending_as_the_server_refuses_it(
    live_server: str,
) -> None:
    with mocked(never_called) as offline:
        before_sending = refusal(lambda: offline.run(**{**RUN, "steps": "x"}))
    sent = httpx.post(f"{live_server}/api/runs", json={**RUN_BODY, "steps": "x"})
    assert sent.status_code == before_sending.status == 422
    assert before_sending.detail == sent.json()["detail"]
    assert before_sending.field == "steps"
    assert [e.loc for e in before_sending.errors] == [("body", "steps")]


@pytest.mark.parametrize("name", ["no_such_surface", "../bowl", "bowl/grid?resolution=2"])
def test_an_unknown_surface_grid_is_a_404(name: str, remote: losslab.Client) -> None:
    over_http = refusal(lambda: remote.grid(name, resolution=8))
    in_process = refusal(lambda: losslab.local.grid(name, resolution=8))
    assert over_http.status == in_process.status == 404
    assert over_http.field is None and repr(name) in str(in_process.detail)
    if "/" not in name:  # a "/" (sent as %2F) reaches no route at all: Starlette's "Not Found"
        assert over_http.detail == in_process.detail


def test_a_request_that_is_not_a_mapping_is_refused_before_sending() -> None:
    with mocked(never_called) as offline:
        refused = refusal(lambda: offline.run([1, 2]))  # type: ignore[arg-type]
    assert refused.status == 422 and "not list" in str(refused)


@pytest.mark.parametrize(
    ("operation", "kwargs", "field"),
    [
        ("basin_map", {**BASIN_MAP, "resolution": 10_000}, "resolution"),
        ("basin_map", {**BASIN_MAP, "steps": 10**8, "resolution": 256}, "steps"),
        ("grid", {"surface": "bowl", "resolution": 100_000}, "resolution"),
    ],
    ids=["resolution", "steps", "grid"],
)
def test_a_too_big_request_is_a_422_on_its_size(
    operation: str, kwargs: dict[str, Any], field: str, remote: losslab.Client
) -> None:
    over_http = refusal(lambda: getattr(remote, operation)(**kwargs))
    in_process = refusal(lambda: getattr(losslab.local, operation)(**kwargs))
    assert over_http.status == in_process.status == 422
    assert over_http.field == in_process.field == field
    assert over_http.detail == in_process.detail


@contextlib.contextmanager
def served(settings: Settings) -> Iterator[tuple[str, ThreadServer]]:
    with serve_in_thread(make_app(settings)) as (url, server):
        yield url, server


def test_a_stream_past_its_time_limit_raises_its_error_event() -> None:
    with served(Settings(run_seconds=0.05)) as (url, _), losslab.Client(url) as client:
        stream = client.stream(**LONG_RUN)
        frames = []
        with pytest.raises(losslab.APIError) as caught:
            for frame in stream:
                frames.append(frame)
    assert frames, "the error came as an event of a stream that had started"
    assert caught.value.status == 503
    assert "0.05 s limit" in str(caught.value.detail)


def test_a_run_past_its_time_limit_over_http_is_a_503_after_its_retries() -> None:
    sent: list[httpx.Request] = []
    with served(Settings(run_seconds=0.05)) as (url, _):
        http = httpx.Client(base_url=url, event_hooks={"request": [sent.append]})
        with losslab.Client(url, retries=1, max_retry_wait=0.01, http=http) as client:
            error = refusal(lambda: client.run(**LONG_RUN))
            with client.live() as live:
                on_the_socket = refusal(lambda: live.run(**LONG_RUN))
    assert error.status == 503 and error.retry_after is not None and error.retry_after > 0
    assert len(sent) == 2  # the first answer and one retry
    assert on_the_socket.status == 503 and "0.05 s limit" in str(on_the_socket.detail)


def test_in_process_time_limits_are_503s() -> None:
    run_limited = losslab.Local(Settings(run_seconds=0.05))
    error = refusal(lambda: run_limited.run(**LONG_RUN))
    assert error.status == 503 and error.retry_after is not None
    with pytest.raises(losslab.APIError) as caught:
        list(run_limited.stream(**LONG_RUN))
    assert caught.value.status == 503
    job_limited = losslab.Local(Settings(job_seconds=0.02))
    error = refusal(lambda: job_limited.sweep(**BUSY_SWEEP))
    assert error.status == 503 and "0.02 s limit" in str(error.detail)


# 5. Retries on 429 and 503, and timeouts.


class Answers:
    """A MockTransport handler answering `statuses` in turn (the last one for ever), counting
    the requests."""

    def __init__(self, *statuses: int, retry_after: str | None = "0") -> None:
        self.statuses = list(statuses)
        self.retry_after = retry_after
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status = self.statuses[min(self.requests, len(self.statuses) - 1)]
        self.requests += 1
        if status == 200:
            return httpx.Response(200, json=[])
        headers = {} if self.retry_after is None else {"Retry-After": self.retry_after}
        body = {"detail": "busy", "limit": "max_jobs"} if status == 429 else {"detail": "slow"}
        return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the HTTP client sleeps between attempts, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(losslab.client.http, "time", SimpleNamespace(sleep=slept.append))
    return slept


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_answer_is_retried_after_its_retry_after(status: int, sleeps: list[float]) -> None:
    answers = Answers(status, status, 200)
    with mocked(answers) as client:
        assert client.surfaces() == []
    assert answers.requests == 3
    assert sleeps == [0.0, 0.0]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("retries", [0, 2, 3])
def test_retries_stop_at_the_limit_with_the_api_error(
    status: int, retries: int, sleeps: list[float]
) -> None:
    answers = Answers(status)
    with mocked(answers, retries=retries) as client:
        error = refusal(client.optimizers)
    assert answers.requests == retries + 1
    assert len(sleeps) == retries
    assert error.status == status and error.retry_after == 0.0
    assert error.limit == ("max_jobs" if status == 429 else None)


def test_other_errors_are_not_retried(sleeps: list[float]) -> None:
    answers = Answers(422)
    with mocked(answers) as client:
        assert refusal(client.limits).status == 422
    assert answers.requests == 1 and sleeps == []


@pytest.mark.parametrize(
    ("retry_after", "max_retry_wait", "waited"),
    [("120", 2.5, 2.5), ("0.25", 2.5, 0.25), (None, 30.0, 1.0), ("soon", 30.0, 1.0)],
    ids=["capped", "honoured", "absent", "unreadable"],
)
def test_the_wait_is_retry_after_capped_by_max_retry_wait(
    retry_after: str | None, max_retry_wait: float, waited: float, sleeps: list[float]
) -> None:
    answers = Answers(429, 200, retry_after=retry_after)
    with mocked(answers, max_retry_wait=max_retry_wait) as client:
        client.presets()
    assert sleeps == [waited]


def test_a_job_stream_is_retried_too(sleeps: list[float]) -> None:
    empty_map: dict[str, list[Any]] = {
        key: []
        for key in ("x", "y", "outcome", "final_loss", "steps_to_converge", "final_x", "final_y")
    } | {"minima": []}

    def handler(request: httpx.Request) -> httpx.Response:
        if not sleeps:
            return httpx.Response(429, json={"detail": "busy"}, headers={"Retry-After": "3"})
        progress, done = json.dumps({"fraction": 1.0}), json.dumps(empty_map)
        body = f"event: progress\ndata: {progress}\n\nevent: done\ndata: {done}\n\n"
        return httpx.Response(200, text=body, headers={"Content-Type": "text/event-stream"})

    fractions: list[float] = []
    with mocked(handler) as client:
        basins = client.basin_map(**BASIN_MAP, progress=fractions.append)
    # The result's arrival reports 1.0 too: a short job may send no progress event at all.
    assert sleeps == [3.0] and fractions == [1.0, 1.0]
    assert basins.model_dump(exclude_unset=True) == empty_map


def test_a_busy_server_answers_429_naming_its_limit_and_a_retry_gets_through() -> None:
    started = threading.Event()
    with (
        served(Settings(max_jobs_per_client=1)) as (url, _),
        losslab.Client(url) as first,
        losslab.Client(url, retries=0) as impatient,
        losslab.Client(url, retries=30, max_retry_wait=0.2) as patient,
    ):
        # The first job holds the client's one slot for most of a second.
        worker = threading.Thread(
            target=lambda: first.basin_map(**SLOW_MAP, progress=lambda f: started.set())
        )
        worker.start()
        assert started.wait(10)
        error = refusal(lambda: impatient.basin_map(**BASIN_MAP))
        assert (error.status, error.limit) == (429, "max_jobs_per_client")
        assert error.retry_after is not None and error.retry_after > 0.2
        # Retried every 0.2 s (its Retry-After capped) until the first job is done.
        assert steady(patient.basin_map(**BASIN_MAP)) == steady(losslab.basin_map(**BASIN_MAP))
        worker.join()


def timing_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def test_a_timeout_is_a_lost_connection() -> None:
    with mocked(timing_out) as client, pytest.raises(losslab.ConnectionLost):
        client.run(**RUN)


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A socket that accepts connections (in its backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def within(seconds: float, at_least: float = 0.0) -> Iterator[None]:
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert at_least <= elapsed < seconds, f"took {elapsed:.2f} s"


def test_the_timeout_bounds_a_silent_server() -> None:
    with silent_server() as url, losslab.Client(url, timeout=0.3) as client:
        with within(3.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            client.surfaces()
        with within(3.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            client.live()


# 6. Dropped connections raise, never hang.


def test_a_refused_connection_is_a_lost_connection() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with losslab.Client(url, timeout=5) as client, within(3.0):
        with pytest.raises(losslab.ConnectionLost):
            client.run(**RUN)
        with pytest.raises(losslab.ConnectionLost):
            client.live()
        with pytest.raises(losslab.ConnectionLost):
            list(client.stream(**RUN))


def cut(server: ThreadServer) -> None:
    """Stop the server at once: every connection still open, streams included, is dropped."""
    server.config.timeout_graceful_shutdown = 0
    server.should_exit = True


def test_a_dropped_websocket_raises_from_next_and_run() -> None:
    with served(Settings()) as (url, server):
        live = losslab.Client(url, timeout=10).live()
        live.send(**LONG_RUN)
        assert live.next().type == "frames"
        cut(server)
        with within(5.0), pytest.raises(losslab.ConnectionLost):
            while True:  # the frames already sent, then the close
                live.next()
        with pytest.raises(losslab.ConnectionLost):
            live.run(**RUN)


def test_a_dropped_websocket_raises_from_a_run_waiting_on_it() -> None:
    with served(Settings()) as (url, server):
        live = losslab.Client(url, timeout=10).live()
        # The server stops while run() waits for a run of seconds of frames.
        later = threading.Timer(0.3, cut, [server])
        later.start()
        with within(5.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            live.run(**LONG_RUN)
        later.join()


def test_a_silent_socket_raises_after_the_timeout_not_a_hang(remote: losslab.Client) -> None:
    with remote.live() as live:
        with within(2.0, at_least=0.2), pytest.raises(losslab.ConnectionLost):
            live.next(timeout=0.2)
        assert live.run(**RUN).status  # the session is still usable


def test_a_stream_cut_in_the_middle_raises() -> None:
    with served(Settings()) as (url, server), losslab.Client(url, timeout=10) as client:
        frames = iter(client.stream(**LONG_RUN))
        next(frames)
        cut(server)
        with within(5.0), pytest.raises(losslab.ConnectionLost):
            for _ in frames:
                pass


def test_a_job_stream_cut_in_the_middle_raises() -> None:
    with served(Settings()) as (url, server), losslab.Client(url, timeout=10) as client:

        def cut_at_progress(fraction: float) -> None:
            cut(server)

        with within(5.0), pytest.raises(losslab.ConnectionLost):
            client.basin_map(**BUSY_MAP, progress=cut_at_progress)


JOBS: dict[str, Case] = {
    name: CASES[name] for name in ("basin_map", "hyperparameter_map", "benchmark")
}


def check_fractions(fractions: list[float]) -> None:
    assert fractions, "no progress reported"
    assert all(0 <= f <= 1 for f in fractions) and fractions == sorted(fractions)


@pytest.mark.parametrize("name", JOBS)
def test_maps_and_benchmarks_report_their_progress(name: str) -> None:
    fractions: list[float] = []
    case = JOBS[name]
    Case(case.operation, (), {**case.kwargs, "progress": fractions.append}).call(losslab.local)
    check_fractions(fractions)
    assert fractions[-1] == 1.0


def test_a_map_over_http_reports_its_progress(remote: losslab.Client) -> None:
    fractions: list[float] = []
    remote.basin_map(**SLOW_MAP, progress=fractions.append)
    check_fractions(fractions)


# 7. The live session: a new run cancels the one streaming.


def read_until_done(live: LiveSession, run_id: str) -> list[LiveMessage]:
    messages = []
    while True:
        message = live.next(timeout=10)
        messages.append(message)
        if message.run_id == run_id and message.type in ("done", "error"):
            return messages


def check_replaced(live: LiveSession) -> None:
    """Send a long run, then another: the first is cancelled, and none of its frames follow."""
    old = live.send(**LONG_RUN)
    first = live.next(timeout=10)
    assert (first.type, first.run_id) == ("frames", old)
    new = live.send(**RUN)
    messages = read_until_done(live, new)
    kinds = [(m.type, m.run_id) for m in messages]
    assert ("cancelled", old) in kinds
    after = kinds[kinds.index(("cancelled", old)) :]
    assert ("frames", old) not in after and ("done", old) not in kinds
    frames = [f for m in messages if m.run_id == new for f in m.frames]
    done = messages[-1]
    assert done.type == "done" and done.done is not None
    assert len(frames) == RUN["steps"] + 1
    # And run() after a replaced run: its own frames only.
    live.send(**LONG_RUN)
    assert steady(live.run(**RUN)) == steady(losslab.run(**RUN))


def test_a_new_run_on_the_socket_cancels_the_old_one(remote: losslab.Client) -> None:
    with remote.live() as live:
        check_replaced(live)


def test_the_in_process_session_cancels_as_the_socket_does() -> None:
    with losslab.local.live() as live:
        check_replaced(live)
        with within(1.0), pytest.raises(losslab.ConnectionLost):
            live.next(timeout=0.2)  # nothing in flight


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_a_cancelled_session_says_so(where: str, remote: losslab.Client) -> None:
    with (losslab.local if where == "in process" else remote).live() as live:
        old = live.send(**LONG_RUN)
        live.next(timeout=10)
        live.cancel()
        kinds = []
        while ("cancelled", old) not in kinds:
            message = live.next(timeout=10)
            kinds.append((message.type, message.run_id))
        assert ("done", old) not in kinds


@pytest.mark.parametrize("where", ["in process", "over http"])
def test_a_refused_run_on_the_socket_is_an_api_error(where: str, remote: losslab.Client) -> None:
    with (losslab.local if where == "in process" else remote).live() as live:
        error = refusal(lambda: live.run(**{**RUN, "lr": -1}))
        assert (error.status, error.field) == (422, "hyperparameters.lr")
        sweep_error = refusal(lambda: live.sweep(**{**SWEEP, "optimizer": "LBFGS"}))
        assert (sweep_error.status, sweep_error.field) == (422, "optimizer")
        assert live.run(**RUN).status  # the session goes on


# 8. Results: tables and requests.


def test_a_run_has_one_record_per_frame(remote: losslab.Client) -> None:
    run = remote.run(**RUN)
    records = run.to_records()
    assert len(records) == len(run.frames) == RUN["steps"] + 1
    columns = {"step", "x", "y", "loss", "grad_x", "grad_y", "grad_norm", "lr"}
    assert columns <= set(records[0])
    assert {"state.exp_avg_0", "state.exp_avg_sq_1"} <= set(records[-1])
    assert [r["step"] for r in records] == list(range(RUN["steps"] + 1))
    assert records[5]["x"] == run.frames[5].x
    table = run.to_pandas()
    assert isinstance(table, pandas.DataFrame) and len(table) == len(records)
    assert columns <= set(table.columns)


def test_runs_records_carry_the_run_and_its_label() -> None:
    runs = losslab.runs([RUN_BODY, {**RUN_BODY, "hyperparameters": {"lr": 0.01}}])
    records = runs.to_records()
    assert len(records) == sum(len(run.frames) for run in runs)
    assert {r["run"] for r in records} == {0, 1}
    assert {r["label"] for r in records} == {"Adam lr=0.05", "Adam lr=0.01"}
    table = runs.to_pandas()
    assert list(table.columns[:2]) == ["run", "label"] and len(table) == len(records)


def test_runs_draw_together_only_on_one_surface() -> None:
    bowl = losslab.run(surface="bowl", optimizer="SGD", lr=0.1, steps=20)
    figure = losslab.Runs([bowl, bowl]).figure()
    paths = [t for t in figure.data if (t.meta or {}).get("role") == "path"]
    assert len(paths) == 2
    valley = losslab.run(surface="rosenbrock", optimizer="SGD", lr=1e-3, steps=20)
    with pytest.raises(ValueError, match="different surfaces"):
        losslab.Runs([bowl, valley]).figure()


def test_a_sweep_has_one_record_per_value() -> None:
    sweep = losslab.sweep(**SWEEP)
    records = sweep.to_records()
    assert [r["lr"] for r in records] == sweep.values and len(records) == 4
    columns = ["lr", "status", "steps_taken", "final_loss", "final_x", "final_y"]
    assert list(sweep.to_pandas().columns) == columns
    assert records[0]["final_x"] == sweep.x[0][-1]


def test_maps_have_one_record_per_cell() -> None:
    basins = losslab.basin_map(**BASIN_MAP)
    records = basins.to_records()
    assert len(records) == 8 * 8
    cell = ["outcome", "final_loss", "steps_to_converge", "final_x", "final_y"]
    assert list(basins.to_pandas().columns) == ["start_x", "start_y", *cell]
    assert records[9]["start_x"] == basins.x[1] and records[9]["start_y"] == basins.y[1]
    assert records[9]["outcome"] == basins.outcome[1][1]
    hyper = losslab.hyperparameter_map(**HYPERPARAMETER_MAP)
    assert len(hyper.to_records()) == 4 * 3
    assert list(hyper.to_pandas().columns) == ["lr", "momentum", *cell]


def test_a_benchmark_has_one_record_per_optimizer_and_surface() -> None:
    benchmark = losslab.local.benchmark(**BENCHMARK)
    records = benchmark.to_records()
    assert [(r["optimizer"], r["surface"]) for r in records] == [("SGD", "bowl"), ("Adam", "bowl")]
    table = benchmark.to_pandas()
    expected = {"tuned_lr", "success_rate", "interval_low", "interval_high", "rank"}
    assert expected <= set(table.columns) and "curve" not in table.columns
    assert len(table) == 2
    assert "| SGD" in benchmark.to_markdown()


def test_results_keep_their_request_out_of_model_dump(remote: losslab.Client) -> None:
    run = remote.run(**RUN)
    assert run.request == schemas.RunRequest.model_validate(RUN_BODY)
    assert "request" not in run.model_dump() and "request" not in run.model_dump_json()
    sweep = losslab.sweep(**SWEEP)
    assert sweep.request is not None and sweep.request.axis.n == 4
    assert "request" not in sweep.model_dump()
    assert run.label == "Adam lr=0.05"


# 9. Requests from what a notebook holds.


@pytest.mark.parametrize(
    ("start", "lr"),
    [
        (np.array([-1.0, 2.0]), np.float64(0.05)),
        (torch.tensor([-1.0, 2.0]), torch.tensor(0.05, dtype=torch.float64)),
        ((np.float32(-1.0), np.int64(2)), 0.05),
        (np.array([-1, 2], dtype=np.float32), np.float32(0.05)),
    ],
    ids=["numpy", "torch", "scalars", "float32"],
)
def test_numpy_and_torch_values_are_plain_numbers(start: Any, lr: Any) -> None:
    run = losslab.run(surface="rosenbrock", optimizer="Adam", lr=lr, start=start, steps=20)
    # A float32 value is the float it holds: 0.05 in float32 is 0.0500000007...
    same_lr = float(np.float32(0.05)) if isinstance(lr, np.float32) else 0.05
    plain = losslab.run(surface="rosenbrock", optimizer="Adam", lr=same_lr, start=[-1, 2], steps=20)
    assert run.request is not None and run.request.start == [-1.0, 2.0]
    assert run.request.hyperparameters["lr"] == same_lr
    assert isinstance(run.request.hyperparameters["lr"], float)
    assert steady(run) == steady(plain)


@pytest.mark.parametrize(
    "first", [RUN_BODY, schemas.RunRequest.model_validate(RUN_BODY)], ids=["dict", "RunRequest"]
)
def test_a_request_first_with_keywords_over_it(first: Any, remote: losslab.Client) -> None:
    run = remote.run(first, steps=10, momentum=0.9, optimizer="SGD", lr=0.001)
    assert run.request is not None
    assert run.request.optimizer == "SGD" and run.request.steps == 10
    assert run.request.hyperparameters == {"lr": 0.001, "momentum": 0.9}
    assert run.request.surface == "rosenbrock"
    by_keywords = losslab.run(
        surface="rosenbrock", optimizer="SGD", lr=0.001, momentum=0.9, steps=10
    )
    assert steady(run) == steady(by_keywords)
    assert steady(losslab.run(first)) == steady(losslab.run(**RUN))


def test_hyperparameters_by_keyword_and_by_mapping_agree() -> None:
    by_keyword = losslab.run(surface="bowl", optimizer="SGD", lr=0.1, momentum=0.5, steps=5)
    by_mapping = losslab.run(
        surface="bowl", optimizer="SGD", hyperparameters={"lr": 0.1, "momentum": 0.5}, steps=5
    )
    assert steady(by_keyword) == steady(by_mapping)
