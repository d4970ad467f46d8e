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

import dataclasses
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from ... import engine, maps
from ...config import Settings
from ...landscapes import network
from ...landscapes.surfaces import Surface, get_surface
from ...optimizers import get_optimizer
from .. import binary
from ..jobs import Job
from ..jobstream import Computation, Progress, run_job, start_stream
from ..schemas import (
    BUSY,
    MAP_EVENT,
    TOO_LONG,
    BasinMapRequest,
    HyperparameterMapRequest,
    MapOut,
)
from ..service import resolve_surface
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api/maps", tags=["maps"])
Compute = Callable[[Job, Progress], Any]
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


def _surface(body: BasinMapRequest | HyperparameterMapRequest) -> Surface:
    surface = resolve_surface(body.surface)
    return get_surface(surface) if isinstance(surface, str) else surface


def _check_cost(
    surface: Surface, cells: int, steps: int, settings: Settings, streamed: bool
) -> None:
    """Refuse, before any work, a map too large to answer in time or memory."""
    if isinstance(surface, network.NetworkSurface) and cells > settings.max_plane_map_cells:
        raise maps.InvalidMap(
            ("resolution",),
            f"a network plane's map may have at most {settings.max_plane_map_cells:,} cells "
            f"(each holds the network's activations over the data set); this one has {cells:,}",
        )
    seconds = maps.estimated_seconds(surface, cells, steps)
    limit = settings.job_seconds if streamed else settings.max_blocking_map_seconds
    if seconds <= limit:
        return
    hint = "ask for fewer cells or steps"
    if not streamed and seconds <= settings.job_seconds:
        hint = "ask its /stream variant, which reports progress, or " + hint
    raise maps.InvalidMap(
        ("steps",),
        f"this map would take about {seconds:.0f} s ({cells:,} cells × {steps} steps), more "
        f"than this route's {limit:g} s; {hint}",
    )


def _basins(body: BasinMapRequest, settings: Settings, streamed: bool) -> Compute:
    surface, optimizer = _surface(body), get_optimizer(body.optimizer)
    # What a single run would refuse, refused before any map work (and before a stream).
    engine.make_config(
        surface=surface, optimizer=body.optimizer, hyperparameters=body.hyperparameters,
        steps=body.steps, dtype=body.dtype, max_steps=settings.max_steps,
    )  # fmt: skip
    if body.resolution <= settings.max_map_resolution:
        _check_cost(surface, body.resolution**2, body.steps, settings, streamed)

    def compute(job: Job, progress: Progress) -> Any:
        return maps.basin_map(
            surface, optimizer, body.hyperparameters, body.steps, body.resolution, body.dtype,
            progress, job.should_stop, limits=settings,
        )  # fmt: skip

    return compute


def _hyperparameters(body: HyperparameterMapRequest, settings: Settings, streamed: bool) -> Compute:
    surface, optimizer = _surface(body), get_optimizer(body.optimizer)
    if body.axes is None:
        x_axis, y_axis = maps.default_axes(optimizer, hyperparameters=body.hyperparameters)
    else:
        x_axis, y_axis = (maps.Axis(**axis.model_dump()) for axis in (body.axes.x, body.axes.y))
    start = surface.default_start if body.start is None else (body.start[0], body.start[1])
    # The fixed settings are checked with the axes' values in place, at the map's corners:
    # {nesterov: true} alone is invalid (momentum 0) but fine on a momentum axis above 0.
    maps.check_hyperparameter_map(
        surface, optimizer, body.hyperparameters, start, body.steps, x_axis, y_axis,
        body.dtype, limits=settings,
    )  # fmt: skip
    _check_cost(surface, x_axis.n * y_axis.n, body.steps, settings, streamed)

    def compute(job: Job, progress: Progress) -> Any:
        return maps.hyperparameter_map(
            surface, optimizer, body.hyperparameters, start, body.steps, x_axis, y_axis,
            body.dtype, progress, job.should_stop, limits=settings,
        )  # fmt: skip

    return compute


def _as_json(result: Any) -> dict[str, Any]:
    # Shallow: dataclasses.asdict would deep-copy every grid (a tenth of a second at 200²).
    out = {field.name: getattr(result, field.name) for field in dataclasses.fields(result)}
    for key in ("x_axis", "y_axis"):
        out.pop(key, None)
    if isinstance(result, maps.HyperparameterMap):
        out["axes"] = {
            "x": dataclasses.asdict(result.x_axis),
            "y": dataclasses.asdict(result.y_axis),
        }
    return out


def _encoded(result: Any, as_binary: bool) -> bytes:
    """The map's answer as JSON bytes or as an LLB1 blob (computed in the job's thread)."""
    answer = _as_json(result)
    if as_binary:
        return binary.pack(answer, MAP_ARRAYS)
    return binary.dumps(answer).encode()


def _encoding(compute: Compute, as_binary: bool) -> Computation:
    """The map's computation, answering its encoded bytes."""
    return lambda job, progress: _encoded(compute(job, progress), as_binary)


def _answer(body: bytes, as_binary: bool) -> Response:
    media_type = binary.BINARY if as_binary else "application/json"
    return Response(body, media_type=media_type)


async def _prepare(make: Callable[[], Compute]) -> Compute:
    """Validate in a worker thread (formula and model surfaces cost CPU to build)."""
    return await run_in_threadpool(make)


@router.post("/basins", response_model=MapOut, responses=ANSWERS)
async def basins(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Response:
    """Where does each start point end up? One run per cell of a grid over the domain."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await _prepare(lambda: _basins(body, settings, streamed=False))
    pool, client = request.app.state.jobs, client_id(request)
    answer = await run_job(pool, _encoding(compute, as_binary), lambda _: None, client)
    return _answer(answer, as_binary)


@router.post("/basins/stream", response_class=StreamingResponse, responses=SSE)
async def basins_stream(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Any:
    """The basin map with progress: `event: progress` {fraction}, then `event: done`."""
    compute = await _prepare(lambda: _basins(body, settings, streamed=True))
    return start_stream(request, lambda as_binary: _encoding(compute, as_binary))


@router.post("/hyperparameters", response_model=MapOut, responses=ANSWERS)
async def hyperparameters(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Response:
    """Which settings converge, and where? One run per cell of two hyperparameter axes."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await _prepare(lambda: _hyperparameters(body, settings, streamed=False))
    pool, client = request.app.state.jobs, client_id(request)
    answer = await run_job(pool, _encoding(compute, as_binary), lambda _: None, client)
    return _answer(answer, as_binary)


@router.post("/hyperparameters/stream", response_class=StreamingResponse, responses=SSE)
async def hyperparameters_stream(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Any:
    """The hyperparameter map with progress events."""
    compute = await _prepare(lambda: _hyperparameters(body, settings, streamed=True))
    return start_stream(request, lambda as_binary: _encoding(compute, as_binary))
