"""Batched maps over start points (basins) or over two hyperparameters (shared/API.md).

Each map is a CPU-heavy job: it runs in the server's bounded job pool (429 with Retry-After
when the pool is full) under a wall-clock limit. The /stream variants report progress as
Server-Sent Events for the page's progress bar.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from app import engine, maps, network
from app.config import Settings, SettingsDep
from app.errors import InvalidInput
from app.jobs import Busy, Job, JobPool, JobTimeout
from app.optimizers import get_optimizer
from app.routes.api import resolve_surface
from app.routes.errors import invalid_input_detail
from app.schemas import (
    BUSY,
    MAP_EVENT,
    TOO_LONG,
    BasinMapRequest,
    HyperparameterMapRequest,
    MapOut,
    NetworkTrainingOut,
    NetworkTrainRequest,
)
from app.surfaces import Surface, get_surface

router = APIRouter(prefix="/api/maps", tags=["maps"])
Progress = Callable[[float], None]
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"schema": MAP_EVENT}}},
    **BUSY,
}


def _surface(body: BasinMapRequest | HyperparameterMapRequest) -> Surface:
    surface = resolve_surface(body.surface)
    return get_surface(surface) if isinstance(surface, str) else surface


def _validate(
    surface: Surface, body: BasinMapRequest | HyperparameterMapRequest, settings: Settings
) -> None:
    """What a single run would refuse, refused before any map work (and before a stream)."""
    start = getattr(body, "start", None)
    engine.make_config(
        surface=surface, optimizer=body.optimizer, hyperparameters=body.hyperparameters,
        start=start, steps=body.steps, dtype=body.dtype, max_steps=settings.max_steps,
    )  # fmt: skip


def _basins(body: BasinMapRequest, settings: Settings) -> Callable[[Job, Progress], Any]:
    surface, optimizer = _surface(body), get_optimizer(body.optimizer)
    _validate(surface, body, settings)

    def compute(job: Job, progress: Progress) -> Any:
        return maps.basin_map(
            surface, optimizer, body.hyperparameters, body.steps, body.resolution, body.dtype,
            progress, job.should_stop, max_steps=settings.max_steps,
            max_resolution=settings.max_map_resolution, max_cell_steps=settings.max_map_cell_steps,
        )  # fmt: skip

    return compute


def _hyperparameters(
    body: HyperparameterMapRequest, settings: Settings
) -> Callable[[Job, Progress], Any]:
    surface, optimizer = _surface(body), get_optimizer(body.optimizer)
    _validate(surface, body, settings)
    if body.axes is None:
        x_axis, y_axis = maps.default_axes(optimizer)
    else:
        x_axis, y_axis = (maps.Axis(**axis.model_dump()) for axis in (body.axes.x, body.axes.y))
    start = surface.default_start if body.start is None else (body.start[0], body.start[1])

    def compute(job: Job, progress: Progress) -> Any:
        return maps.hyperparameter_map(
            surface, optimizer, body.hyperparameters, start, body.steps, x_axis, y_axis,
            body.dtype, progress, job.should_stop, max_steps=settings.max_steps,
            max_axis_cells=settings.max_map_axis, max_cell_steps=settings.max_map_cell_steps,
            max_fallback_cell_steps=settings.max_map_fallback_cell_steps,
        )  # fmt: skip

    return compute


def _as_json(result: Any) -> dict[str, Any]:
    out = dataclasses.asdict(result)
    for key in ("x_axis", "y_axis"):
        out.pop(key, None)
    if isinstance(result, maps.HyperparameterMap):
        out["axes"] = {
            "x": dataclasses.asdict(result.x_axis),
            "y": dataclasses.asdict(result.y_axis),
        }
    return out


async def _run(pool: JobPool, compute: Callable[[Job, Progress], Any], progress: Progress) -> Any:
    def job_body(job: Job) -> Any:
        try:
            return _as_json(compute(job, progress))
        except maps.MapCancelled:
            if job.timed_out:
                raise JobTimeout(pool.seconds) from None
            raise

    return await pool.run(job_body)


def _dumps(payload: Any) -> str:
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


def _streamed(pool: JobPool, compute: Callable[[Job, Progress], Any]) -> StreamingResponse:
    fraction = 0.0

    def progress(value: float) -> None:
        nonlocal fraction
        fraction = value

    async def events() -> AsyncIterator[str]:
        task = asyncio.ensure_future(_run(pool, compute, progress))
        try:
            sent = -1.0
            while not task.done():
                await asyncio.wait({task}, timeout=0.1)
                if fraction != sent and not task.done():
                    sent = fraction
                    yield f"event: progress\ndata: {_dumps({'fraction': round(fraction, 4)})}\n\n"
            yield f"event: done\ndata: {_dumps(task.result())}\n\n"
        except (JobTimeout, Busy) as error:
            # Busy here means another request took the last slot after _reserve() looked.
            yield f"event: error\ndata: {_dumps({'detail': str(error)})}\n\n"
        except InvalidInput as error:
            yield f"event: error\ndata: {_dumps({'detail': invalid_input_detail(error)})}\n\n"
        finally:
            task.cancel()

    return StreamingResponse(events(), media_type="text/event-stream")


async def _prepare(make: Callable[[], Callable[[Job, Progress], Any]]) -> Any:
    """Validate in a worker thread (formula and model surfaces cost CPU to build)."""
    return await run_in_threadpool(make)


@router.post("/basins", response_model=MapOut, responses=BUSY | TOO_LONG)
async def basins(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Response:
    """Where does each start point end up? One run per cell of a grid over the domain."""
    compute = await _prepare(lambda: _basins(body, settings))
    return JSONResponse(await _run(request.app.state.jobs, compute, lambda _: None))


@router.post("/basins/stream", response_class=StreamingResponse, responses=SSE)
async def basins_stream(body: BasinMapRequest, request: Request, settings: SettingsDep) -> Any:
    """The basin map with progress: `event: progress` {fraction}, then `event: done`."""
    compute = await _prepare(lambda: _basins(body, settings))
    _reserve(request.app.state.jobs)
    return _streamed(request.app.state.jobs, compute)


@router.post("/hyperparameters", response_model=MapOut, responses=BUSY | TOO_LONG)
async def hyperparameters(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Response:
    """Which settings converge, and where? One run per cell of two hyperparameter axes."""
    compute = await _prepare(lambda: _hyperparameters(body, settings))
    return JSONResponse(await _run(request.app.state.jobs, compute, lambda _: None))


@router.post("/hyperparameters/stream", response_class=StreamingResponse, responses=SSE)
async def hyperparameters_stream(
    body: HyperparameterMapRequest, request: Request, settings: SettingsDep
) -> Any:
    """The hyperparameter map with progress events."""
    compute = await _prepare(lambda: _hyperparameters(body, settings))
    _reserve(request.app.state.jobs)
    return _streamed(request.app.state.jobs, compute)


def _reserve(pool: JobPool) -> None:
    """Refuse a stream before it starts when the pool is full (the answer is then a 429)."""
    if pool.active >= pool.slots:
        raise Busy(retry_after=max(1, round(pool.seconds / 4)))


network_router = APIRouter(prefix="/api/models", tags=["models"])


@network_router.post("/mlp/train", response_model=NetworkTrainingOut, responses=BUSY | TOO_LONG)
async def train_mlp(body: NetworkTrainRequest, request: Request, settings: SettingsDep) -> Response:
    """Train all weights of the MLP with any optimizer; the path on its own PCA plane."""
    optimizer = get_optimizer(body.optimizer)

    pool: JobPool = request.app.state.jobs

    def job_body(job: Job) -> Any:
        try:
            result = network.train_network(
                body.dataset, body.seed, optimizer, body.hyperparameters, body.steps,
                body.batch_size, body.resolution, body.init_seed,
                max_steps=settings.max_network_steps,
                max_resolution=settings.max_network_resolution, should_stop=job.should_stop,
            )  # fmt: skip
        except network.TrainingStopped:
            raise JobTimeout(pool.seconds) from None
        return result.as_dict()

    return JSONResponse(await pool.run(job_body))
