"""Batched maps over start points (basins) or over two hyperparameters (docs/API.md).

Each map is a CPU-heavy job: it runs in the server's bounded job pool (429 with Retry-After
and the limit's name when the pool, or the client's share of it, is full) under a wall-clock
limit. The /stream variants report progress as Server-Sent Events for the page's progress
bar. Both answer JSON, or LLB1 when asked with `Accept: application/x-losslab-binary`.

How long a map may take is decided before it starts, from its estimated cost
(`maps.estimated_seconds`): the plain routes take maps of up to
`LOSSLAB_MAX_BLOCKING_MAP_SECONDS`, longer ones only through /stream, which reports progress,
and no map may be estimated past the job limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from .. import binary, operations
from ..jobstream import Computation, run_job, start_stream
from ..operations import MapCompute
from ..schemas import (
    BUSY,
    MAP_EVENT,
    TOO_LONG,
    BasinMapRequest,
    HyperparameterMapRequest,
    MapOut,
)
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api/maps", tags=["maps"])
MAP_ARRAYS = {
    "outcome": "int32",
    "final_loss": "float32",
    "steps_to_converge": "int32",
    "final_x": "float32",
    "final_y": "float32",
}
"""The grids of a map as LLB1 arrays (null: NaN in float32, -1 in int32)."""
LLB1 = {"schema": {"type": "string", "format": "binary"}}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {binary.BINARY: LLB1}},
    **BUSY,
    **TOO_LONG,
}
SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/event-stream": {"itemSchema": MAP_EVENT},
            binary.STREAM: {"schema": {"type": "string", "format": "binary"}},
        }
    },
    **BUSY,
}


def _encoded(result: Any, as_binary: bool) -> bytes:
    """The map's answer as JSON bytes or as an LLB1 blob (computed in the job's thread)."""
    answer = operations.map_answer(result)
    if as_binary:
        return binary.pack(answer, MAP_ARRAYS)
    return binary.dumps(answer).encode()


def _encoding(compute: MapCompute, as_binary: bool) -> Computation:
    """The map's computation as a job, answering its encoded bytes."""
    return lambda job, progress: _encoded(compute(job.should_stop, progress), as_binary)


def _answer(body: bytes, as_binary: bool) -> Response:
    media_type = binary.BINARY if as_binary else "application/json"
    return Response(body, media_type=media_type)


async def _prepare(make: Callable[[], MapCompute]) -> MapCompute:
    """Validate in a worker thread (formula and model surfaces cost CPU to build)."""
    return await run_in_threadpool(make)


@router.post("/basins", response_model=MapOut, responses=ANSWERS)
async def basins(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Response:
    """Where does each start point end up? One run per cell of a grid over the domain."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await _prepare(lambda: operations.basin_map(body, settings, streamed=False))
    pool, client = request.app.state.jobs, client_id(request)
    answer = await run_job(pool, _encoding(compute, as_binary), lambda _: None, client)
    return _answer(answer, as_binary)


@router.post("/basins/stream", response_class=StreamingResponse, responses=SSE)
async def basins_stream(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Any:
    """The basin map with progress: `event: progress` {fraction}, then `event: done`."""
    compute = await _prepare(lambda: operations.basin_map(body, settings, streamed=True))
    return start_stream(request, lambda as_binary: _encoding(compute, as_binary))


@router.post("/hyperparameters", response_model=MapOut, responses=ANSWERS)
async def hyperparameters(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Response:
    """Which settings converge, and where? One run per cell of two hyperparameter axes."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await _prepare(lambda: operations.hyperparameter_map(body, settings, streamed=False))
    pool, client = request.app.state.jobs, client_id(request)
    answer = await run_job(pool, _encoding(compute, as_binary), lambda _: None, client)
    return _answer(answer, as_binary)


@router.post("/hyperparameters/stream", response_class=StreamingResponse, responses=SSE)
async def hyperparameters_stream(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Any:
    """The hyperparameter map with progress events."""
    compute = await _prepare(lambda: operations.hyperparameter_map(body, settings, streamed=True))
    return start_stream(request, lambda as_binary: _encoding(compute, as_binary))
