"""Answering a job from the pool (losslab/web/jobs.py): at once, or streamed with its progress.

Maps and benchmarks share this: a `Computation` takes the job (to poll whether to stop) and a
progress callback, and answers the encoded bytes of its result. Streamed, the client hears
`progress` {fraction} events while it runs, then `done` with the result, or `error`; when the
client leaves, the job is cancelled and stops at its next check. Sweeps (their route and the
WebSocket's `sweep` message) share `run_sweep` and `encode_sweep`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from fastapi.sse import format_sse_event

from .. import maps, sweeps
from ..engine import RunCancelled
from ..errors import InvalidInput
from . import binary
from .details import invalid_input_detail
from .jobs import Busy, Job, JobPool, JobTimeout
from .operations import SweepCompute
from .routes.clients import client_id

log = logging.getLogger("losslab")
KEEPALIVE_SECONDS = 15.0
"""A stream that has sent nothing for this long repeats its progress (as FastAPI's SSE pings)."""
DISCONNECT_POLL_SECONDS = 0.1
Progress = Callable[[float], None]
Computation = Callable[[Job, Progress], bytes]


@contextlib.asynccontextmanager
async def client_leaving(request: Request) -> AsyncIterator[threading.Event]:
    """An event that a job's thread can poll: set when the client of a plain (not streamed)
    request goes away, and when the block ends."""
    left = threading.Event()

    async def watch() -> None:
        while not left.is_set():
            if await request.is_disconnected():
                left.set()
            await asyncio.sleep(DISCONNECT_POLL_SECONDS)

    watcher = asyncio.create_task(watch())
    try:
        yield left
    finally:
        left.set()
        watcher.cancel()


async def run_job(pool: JobPool, compute: Computation, progress: Progress, client: str) -> bytes:
    """Run `compute` in the pool; a cancelled computation that ran out of time is a timeout."""

    def job_body(job: Job) -> bytes:
        try:
            return compute(job, progress)
        except maps.MapCancelled:
            if job.timed_out:
                raise JobTimeout(pool.seconds) from None
            raise

    return await pool.run(job_body, client)


def _sse(event: str, data: Any) -> bytes:
    payload = data.decode() if isinstance(data, bytes) else binary.dumps(data)
    return format_sse_event(data_str=payload, event=event)


def _streamed(
    pool: JobPool, compute: Computation, client: str, as_binary: bool
) -> StreamingResponse:
    """Progress, then the result (or an error), as SSE events or LLB1 stream records."""
    fraction = 0.0

    def progress(value: float) -> None:
        nonlocal fraction
        fraction = value

    def message(kind: str, data: Any) -> bytes:
        if as_binary:
            if kind == "done":
                return binary.record(b"d", data)
            return binary.json_record(kind[0].encode(), data)
        return _sse(kind, data)

    async def events() -> AsyncIterator[bytes]:
        task = asyncio.ensure_future(run_job(pool, compute, progress, client))
        try:
            sent, sent_at = -1.0, time.monotonic()
            while not task.done():
                await asyncio.wait({task}, timeout=0.1)
                if task.done():
                    break
                if fraction != sent or time.monotonic() - sent_at > KEEPALIVE_SECONDS:
                    # A repeated fraction keeps an idle connection open through proxies.
                    sent, sent_at = fraction, time.monotonic()
                    yield message("progress", {"fraction": round(fraction, 4)})
            yield message("done", task.result())
        except (JobTimeout, Busy) as error:
            # Busy here means another request took the last slot after the route looked.
            yield message("error", {"detail": str(error)})
        except InvalidInput as error:
            yield message("error", {"detail": invalid_input_detail(error)})
        except Exception:
            log.exception("job stream failed")
            yield message("error", {"detail": "internal error"})
        finally:
            task.cancel()

    media_type = binary.STREAM if as_binary else "text/event-stream"
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type=media_type, headers=headers)


def start_stream(
    request: Request, encoding: Callable[[bool], Computation], *, llb1: bool = True
) -> StreamingResponse:
    """Refuse a stream before it starts when the pool is full (the answer is then a 429);
    `encoding(as_binary)` is the computation answering bytes in the format asked for: LLB1
    records when the client asks for them and `llb1` allows them, else SSE events."""
    pool: JobPool = request.app.state.jobs
    client = client_id(request)
    pool.check(client)
    as_binary = llb1 and binary.wants_binary(request.headers.get("accept"))
    return _streamed(pool, encoding(as_binary), client, as_binary)


def encode_sweep(
    result: sweeps.Sweep, as_binary: bool, extra: Mapping[str, Any] | None = None
) -> bytes:
    """The answer as JSON bytes or as an LLB1 blob; `extra` goes into its header (WebSocket)."""
    if as_binary:
        arrays = {name: tensor.numpy() for name, tensor in result.arrays().items()}
        header = {**(extra or {}), **result.header(), **arrays}
        return binary.pack(header, dict.fromkeys(arrays, result.dtype))
    return binary.dumps({**(extra or {}), **result.as_json()}).encode()


async def run_sweep(
    pool: JobPool,
    compute: SweepCompute,
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
