"""What an operator relies on: probes, headers, CORS, error bodies, limits, logs, the CLI."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app import cli
from app.config import Settings, get_settings
from app.jobs import Busy, Job, JobPool
from tests.servers import LOSSLAB, make_app

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


# Probes


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert ready.json()["jobs"] == {"slots": 2, "active": 0, "seconds": 60.0}
    assert ready.json()["runs"] == {"slots": 2, "running": 0, "waiting": 0, "clients": 0}


def test_readyz_is_503_before_startup_and_while_shutting_down() -> None:
    app = make_app(Settings())
    assert TestClient(app).get("/readyz").status_code == 503  # no lifespan: not started
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        app.state.shutting_down = True
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["status"] == "not ready"
        assert client.get("/healthz").status_code == 200  # alive all the same


# Headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/api/surfaces", 200),
        ("POST", "/api/runs", 200),
        ("POST", "/api/runs/stream", 200),
        ("GET", "/api/surfaces/nope/grid", 404),
        ("POST", "/api/runs/script", 422),
        ("GET", "/static/js/main.js", 200),
    ],
)
def test_security_headers_on_every_answer(
    client: TestClient, method: str, path: str, status: int
) -> None:
    body = REFERENCE if status == 200 and method == "POST" else {"steps": 0}
    response = client.request(method, path, json=body if method == "POST" else None)
    assert response.status_code == status
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_runs_under_its_policy(client: TestClient) -> None:
    """script-src 'self' blocks inline scripts: every script of the page is a same-origin file
    (the inlined boot data is JSON, which the browser never executes)."""
    page = client.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert scripts
    for attributes, inline in scripts:
        if 'type="application/json"' in attributes:
            json.loads(inline)  # data, not code: the policy never runs it
            continue
        assert inline.strip() == ""
        source = re.search(r'src="([^"]+)"', attributes)
        assert source is not None and source.group(1).startswith("/")
        assert client.get(source.group(1)).status_code == 200
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handlers are blocked too"


# CORS


def test_no_cors_headers_by_default(client: TestClient) -> None:
    origin = {"origin": "http://example.test"}
    response = client.get("/api/surfaces", headers=origin)
    assert not [name for name in response.headers if name.startswith("access-control-")]
    preflight = client.options(
        "/api/runs", headers=origin | {"access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_configured_origin_only(make_client: Callable[..., TestClient]) -> None:
    client = make_client(Settings(cors_origins=["http://example.test"]))
    allowed = client.get("/api/surfaces", headers={"origin": "http://example.test"})
    assert allowed.headers["access-control-allow-origin"] == "http://example.test"
    other = client.get("/api/surfaces", headers={"origin": "http://other.test"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options(
        "/api/runs",
        headers={
            "origin": "http://example.test",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://example.test"
    assert "POST" in preflight.headers["access-control-allow-methods"]


# Server errors say nothing about their cause


SECRET = "secret-token /srv/app/internal.py"


def _explode() -> Settings:
    raise RuntimeError(SECRET)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/runs"), ("POST", "/api/runs/stream"), ("GET", "/api/surfaces/bowl/grid")],
)
def test_a_5xx_body_carries_no_exception_text(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    client = make_client(raise_server_exceptions=False)
    app = client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[get_settings] = _explode
    with caplog.at_level(logging.INFO, logger="losslab"):
        response = client.request(method, path, json=REFERENCE if method == "POST" else None)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    for leak in ("secret", "Traceback", "RuntimeError", "internal.py", 'File "'):
        assert leak not in response.text
    assert "content-security-policy" in response.headers
    # The operator, not the client, gets the traceback; the access log counts a 500.
    assert any(SECRET in str(record.exc_info) for record in caplog.records)
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "losslab.access"]
    assert [(line["path"], line["status"]) for line in access] == [(path, 500)]


def test_a_failure_inside_a_stream_is_reported_without_details(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError(SECRET)

    monkeypatch.setattr("app.routes.stream.done_payload", broken)
    client = make_client()
    text = client.post("/api/runs/stream", json=REFERENCE).text
    assert "event: error" in text
    assert SECRET not in text and "Traceback" not in text
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_json({"type": "run", "run_id": "r", **REFERENCE})
        while (message := ws.receive_json())["type"] == "frames":
            pass
    assert message == {"type": "error", "run_id": "r", "detail": "internal error"}


# Limits: 429 when the job pool is full, 503 past a run's wall-clock limit


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


# Access log


def test_every_request_logs_one_json_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="losslab.access"):
        client.get("/api/surfaces")
        client.post("/api/runs", json={"steps": 0})
        with client.websocket_connect("/ws/runs") as ws:
            ws.send_text("hello")
            ws.receive_json()
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "losslab.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/api/surfaces", 200),
        ("POST", "/api/runs", 422),
        ("WS", "/ws/runs", 101),
    ]
    for line in lines:
        assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0


# The command line


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exit:
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_help_from_the_installed_command() -> None:
    result = subprocess.run([str(LOSSLAB), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "run", "surfaces", "optimizers"):
        assert command in result.stdout
    serve = subprocess.run(
        [str(LOSSLAB), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    for option in ("--workers", "--log-level", "--timeout-graceful-shutdown"):
        assert option in serve.stdout


def test_cli_lists_surfaces_and_optimizers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "surfaces")
    assert code == 0 and re.search(r"^bowl\s", out, re.M)
    code, out, _ = run_cli(capsys, "optimizers")
    assert code == 0 and re.search(r"^SGD\s+lr=", out, re.M)


REFERENCE_ARGS = (
    *("run", "--surface", "bowl", "--optimizer", "SGD", "--lr", "0.1"),
    *("--start", "3", "2", "--steps", "10"),
)


def test_cli_run_prints_the_reference_trajectory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *REFERENCE_ARGS, "--format", "csv")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0] == "step,x,y,loss,grad_x,grad_y,lr"
    assert len(rows) == 12
    step, x, y, loss = rows[11].split(",")[:4]
    assert (step, x, y, loss) == (
        "10",
        "0.32212257385253906",
        "0.2147483378648758",
        "0.1498797982931137",
    )
    assert "max_steps" in err

    code, out, _ = run_cli(capsys, *REFERENCE_ARGS, "--format", "json")
    assert code == 0
    run = json.loads(out)
    assert run["status"] == "max_steps"
    assert run["frames"][10]["x"] == 0.32212257385253906
    assert run["frames"][1]["x"] == 2.4000000953674316


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("run", "--lr", "-1", "--steps", "3"), "hyperparameters.lr"),
        (("run", "--surface", "nope"), "surface"),
        (("run", "--steps", "0"), "steps"),
        (("run", "--start", "1e308", "0"), "start"),
        (("run", "--hp", "betas"), "hyperparameters"),
        (("run", "--steps", "many"), "--steps"),
        (("run", "--format", "xml"), "--format"),
    ],
    ids=["lr", "surface", "steps", "start", "hp", "steps-type", "format"],
)
def test_cli_bad_argument_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], field: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert field in err
    assert "Traceback" not in err
