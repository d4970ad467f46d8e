"""Sweeps: one run for many values of one setting (docs/API.md, "Sweeps").

A sweep is a job like a map: it runs in the bounded job pool, is refused before any work when
it is invalid or estimated to take longer than `max_blocking_map_seconds`, and stops when its
client leaves or a newer sweep replaces it (the WebSocket's `sweep` message, stream.py).
It answers JSON, or LLB1 with the paths as arrays in the run's dtype.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from .. import binary, operations
from ..jobstream import client_leaving, encode_sweep, run_sweep
from ..schemas import BUSY, TOO_LONG, SweepOut, SweepRequest
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api", tags=["sweeps"])
LLB1 = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/sweeps",
    response_model=SweepOut,
    responses={200: {"content": {binary.BINARY: LLB1}}, **BUSY, **TOO_LONG},
)
async def create_sweep(body: SweepRequest, request: Request, settings: SettingsDep) -> Response:
    """Run the request once per value of `axis`, every value at once, and answer every path."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await run_in_threadpool(operations.sweep, body, settings)
    async with client_leaving(request) as left:
        answer = await run_sweep(
            request.app.state.jobs,
            compute,
            client_id(request),
            lambda result: encode_sweep(result, as_binary),
            left,
        )
    return Response(answer, media_type=binary.BINARY if as_binary else "application/json")
