"""What every answer carries: security headers, CORS, error bodies that keep their secrets,
and one log line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from losslab.config import Settings, get_settings

REFERENCE: dict[str, Any] = {
    "surface": "bowl",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.1},
    "start": [3, 2],
    "steps": 10,
}


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

    monkeypatch.setattr("losslab.web.routes.stream.done_payload", broken)
    client = make_client()
    text = client.post("/api/runs/stream", json=REFERENCE).text
    assert "event: error" in text
    assert SECRET not in text and "Traceback" not in text
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_json({"type": "run", "run_id": "r", **REFERENCE})
        while (message := ws.receive_json())["type"] == "frames":
            pass
    assert message == {"type": "error", "run_id": "r", "detail": "internal error"}


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
