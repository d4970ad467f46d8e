"""Benchmarks: optimizers tuned with one budget on the same surfaces (docs/API.md).

A benchmark is a CPU-heavy job: it runs in the bounded job pool (429 when full), is checked and
sized before any work (422 naming the field, including a benchmark estimated past the job's
time limit), and stops when its client leaves. POST /api/benchmarks answers the result at
once; /stream reports progress as Server-Sent Events first.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from ... import benchmark
from .. import binary, operations
from ..jobs import Job
from ..jobstream import Computation, Progress, client_leaving, run_job, start_stream
from ..schemas import BUSY, MAP_EVENT, TOO_LONG, BenchmarkOut, BenchmarkRequest
from ..service import benchmark_defaults
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api/benchmarks", tags=["benchmarks"])


def _computation(checked: benchmark.Plan, left: threading.Event | None = None) -> Computation:
    """Run the checked benchmark as a job, answering JSON; it stops when the job should, or
    when `left` is set (its client went away)."""

    def compute(job: Job, progress: Progress) -> bytes:
        def should_stop() -> bool:
            return job.should_stop() or (left is not None and left.is_set())

        return binary.dumps(operations.benchmark_answer(checked, progress, should_stop)).encode()

    return compute


@router.get("/defaults", response_model=BenchmarkRequest)
async def defaults() -> Any:
    """The default benchmark, every field spelled out: what an empty body asks for."""
    return benchmark_defaults()


@router.post("", response_model=BenchmarkOut, responses={**BUSY, **TOO_LONG})
async def create_benchmark(
    body: BenchmarkRequest, request: Request, settings: SettingsDep
) -> Response:
    """Tune every optimizer's lr on every surface with the same budget; answer the table."""
    checked = await run_in_threadpool(operations.benchmark_plan, body, settings)
    pool, client = request.app.state.jobs, client_id(request)
    async with client_leaving(request) as left:
        answer = await run_job(pool, _computation(checked, left), lambda _: None, client)
    return Response(answer, media_type="application/json")


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"itemSchema": MAP_EVENT}}}, **BUSY},
)
async def stream_benchmark(body: BenchmarkRequest, request: Request, settings: SettingsDep) -> Any:
    """The benchmark with progress: `event: progress` {fraction}, then `event: done`."""
    checked = await run_in_threadpool(operations.benchmark_plan, body, settings)
    return start_stream(request, lambda as_binary: _computation(checked), llb1=False)
