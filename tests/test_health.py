"""The probes an operator's orchestrator relies on: /healthz and /readyz."""

from __future__ import annotations

from fastapi.testclient import TestClient

from losslab.config import Settings
from tests.servers import make_app

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
