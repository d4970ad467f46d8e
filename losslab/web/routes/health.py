"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    jobs: dict[str, Any] = Field(description="the job pool: slots, active, seconds")
    runs: dict[str, Any] = Field(description="the fair run queue: slots, running, waiting, clients")


@router.get("/healthz", response_model=Health)
async def healthz() -> Any:
    """The process answers: it is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> Any:
    """Ready for traffic: started and not shutting down."""
    state = request.app.state
    ready = getattr(state, "ready", False) and not getattr(state, "shutting_down", False)
    body = {
        "status": "ready" if ready else "not ready",
        "jobs": state.jobs.stats(),
        "runs": state.runs.stats(),
    }
    return JSONResponse(body, status_code=200 if ready else 503)
