"""Sweeps: one run for many values of one setting (docs/API.md, "Sweeps").

A sweep is a job like a map: it runs in the bounded job pool, is refused before any work when
it is invalid or estimated to take longer than `max_blocking_map_seconds`, and stops when its
client leaves or a newer sweep replaces it (the WebSocket's `sweep` message, stream.py).
It answers JSON, or LLB1 with the paths as arrays in the run's dtype.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ... import maps, sweeps
from ...config import Settings
from ...engine import RunCancelled, RunConfig
from ...landscapes.surfaces import get_surface
from ...optimizers import get_optimizer
from .. import binary
from ..jobs import Job, JobPool, JobTimeout
from ..jobstream import client_leaving
from ..schemas import BUSY, TOO_LONG, SweepOut, SweepRequest
from ..service import build_config, resolve_surface
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api", tags=["sweeps"])
LLB1 = {"schema": {"type": "string", "format": "binary"}}

Compute = Callable[[Callable[[], bool]], sweeps.Sweep]
"""A prepared sweep: runs it, polling the callable for whether to stop."""


def prepare(body: SweepRequest, settings: Settings) -> Compute:
    """Validate the sweep as its single runs would be, and size it; no optimizer work yet."""
    optimizer = get_optimizer(body.optimizer)
    surface = resolve_surface(body.surface)
    surface = get_surface(surface) if isinstance(surface, str) else surface
    maps.check_surface(surface)  # a one-parameter model's start is [w]: refused here
    if body.start is not None and len(body.start) != 2:
        raise maps.InvalidMap(("start",), "start must be two numbers [x, y]")
    start = surface.default_start if body.start is None else (body.start[0], body.start[1])

    def make_config(hyperparameters: Mapping[str, Any], start: tuple[float, float]) -> RunConfig:
        changed = {"hyperparameters": dict(hyperparameters), "start": list(start)}
        return build_config(body.model_copy(update=changed), settings)

    axis = maps.Axis(**body.axis.model_dump())
    config, values = sweeps.check(
        optimizer, body.hyperparameters, start, make_config, axis,
        limits=settings,
    )  # fmt: skip
    seconds = maps.estimated_seconds(config.surface, len(values), config.steps)
    if seconds > settings.max_blocking_map_seconds:
        raise maps.InvalidMap(
            ("steps",),
            f"this sweep would take about {seconds:.0f} s ({len(values)} values × "
            f"{config.steps} steps), more than the {settings.max_blocking_map_seconds:g} s "
            "sweeps may take; ask for fewer values or steps",
        )
    return lambda should_stop: sweeps.sweep(config, axis, values, should_stop=should_stop)


def encode(result: sweeps.Sweep, as_binary: bool, extra: Mapping[str, Any] | None = None) -> bytes:
    """The answer as JSON bytes or as an LLB1 blob; `extra` goes into its header (WebSocket)."""
    if as_binary:
        arrays = {name: tensor.numpy() for name, tensor in result.arrays().items()}
        header = {**(extra or {}), **result.header(), **arrays}
        return binary.pack(header, dict.fromkeys(arrays, result.dtype))
    return binary.dumps({**(extra or {}), **result.as_json()}).encode()


async def run_sweep(
    pool: JobPool,
    compute: Compute,
    client: str,
    encode_answer: Callable[[sweeps.Sweep], bytes],
    stop: threading.Event | None = None,
) -> bytes:
    """Compute and encode in the job pool; `stop` (set by a newer sweep) ends it early, and the
    job's slot is free again when this returns."""

    def job_body(job: Job) -> bytes:
        def should_stop() -> bool:
            return job.should_stop() or (stop is not None and stop.is_set())

        try:
            return encode_answer(compute(should_stop))
        except maps.MapCancelled:
            if job.timed_out:
                raise JobTimeout(pool.seconds) from None
            raise RunCancelled("the sweep's client left, or a newer sweep replaced it") from None

    return await pool.run(job_body, client)


@router.post(
    "/sweeps",
    response_model=SweepOut,
    responses={200: {"content": {binary.BINARY: LLB1}}, **BUSY, **TOO_LONG},
)
async def create_sweep(body: SweepRequest, request: Request, settings: SettingsDep) -> Response:
    """Run the request once per value of `axis`, every value at once, and answer every path."""
    as_binary = binary.wants_binary(request.headers.get("accept"))
    compute = await run_in_threadpool(prepare, body, settings)
    async with client_leaving(request) as left:
        answer = await run_sweep(
            request.app.state.jobs,
            compute,
            client_id(request),
            lambda result: encode(result, as_binary),
            left,
        )
    return Response(answer, media_type=binary.BINARY if as_binary else "application/json")
