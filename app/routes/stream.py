"""Streamed runs: Server-Sent Events and a WebSocket (shared/API.md).

The engine runs in a worker thread one batch at a time, so the event loop stays free and a
cancelled or abandoned run costs at most the batch in progress. The first batch is frame 0
alone, so the page can draw at once; later batches gather frames for up to `BATCH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from app.analysis import analyze
from app.config import Settings, SettingsDep
from app.engine import Frame, RunTimeout, Trajectory, summarize
from app.errors import InvalidInput
from app.routes.api import build_config
from app.routes.errors import invalid_input_detail, validation_detail
from app.schemas import SSE_EVENT, TOO_LONG, RunRequest

log = logging.getLogger("losslab")
router = APIRouter(tags=["stream"])
BATCH_SECONDS = 0.03


def _next_batch(frames: Iterator[Frame], seconds: float, max_frames: int) -> list[Frame]:
    batch: list[Frame] = []
    deadline = time.perf_counter() + seconds
    for frame in frames:
        batch.append(frame)
        if len(batch) >= max_frames or time.perf_counter() >= deadline:
            break
    return batch


async def frame_batches(trajectory: Trajectory, max_frames: int) -> AsyncIterator[list[Frame]]:
    """The trajectory's frames in batches, each computed in a worker thread."""
    frames = iter(trajectory)
    seconds = 0.0
    while batch := await run_in_threadpool(_next_batch, frames, seconds, max_frames):
        yield batch
        seconds = BATCH_SECONDS


def done_payload(run_id: Any, trajectory: Trajectory, frames: list[Frame]) -> dict[str, Any]:
    """The Run without its frames (RunDone), analysis included."""
    status = trajectory.status
    assert status is not None
    summary = summarize(frames, status, trajectory.reason)
    return {
        "run_id": run_id,
        "status": status,
        "summary": summary.as_dict(),
        "analysis": analyze(trajectory.config, frames, status),
    }


def dumps(payload: Any) -> str:
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


@router.post(
    "/api/runs/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`event: frames` messages, then `event: done` (or `event: error`)",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **TOO_LONG,
    },
)
async def stream_run_sse(request: RunRequest, settings: SettingsDep) -> StreamingResponse:
    """Stream a run as Server-Sent Events while the engine computes it."""
    config = await run_in_threadpool(build_config, request, settings)
    run_id = uuid4().hex

    async def events() -> AsyncIterator[str]:
        trajectory = Trajectory(config, settings.run_seconds)
        seen: list[Frame] = []
        try:
            async for batch in frame_batches(trajectory, settings.stream_batch_frames):
                seen.extend(batch)
                yield f"event: frames\ndata: {dumps({'run_id': run_id, 'frames': batch})}\n\n"
            done = await run_in_threadpool(done_payload, run_id, trajectory, seen)
            yield f"event: done\ndata: {dumps(done)}\n\n"
        except RunTimeout as error:
            yield f"event: error\ndata: {dumps({'run_id': run_id, 'detail': str(error)})}\n\n"
        except Exception:
            log.exception("stream %s failed", run_id)
            yield f"event: error\ndata: {dumps({'run_id': run_id, 'detail': 'internal error'})}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class ClientGone(Exception):
    """The WebSocket closed while we were sending to it."""


class RunSocket:
    """One WebSocket: at most one run streams at a time; a new `run` message replaces it."""

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.websocket = websocket
        self.settings = settings
        self.send_lock = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self.run_id: Any = None

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            try:
                await self.websocket.send_text(dumps(payload))
            except (WebSocketDisconnect, RuntimeError):
                # Starlette raises RuntimeError for a send after the close: the client left.
                raise ClientGone from None

    async def serve(self) -> None:
        await self.websocket.accept()
        live: set[RunSocket] = self.websocket.app.state.__dict__.setdefault("sockets", set())
        live.add(self)
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await self.handle(message.get("text"))
        except (WebSocketDisconnect, ClientGone):
            return
        finally:
            live.discard(self)
            await self.cancel(notify=False)

    async def shut_down(self) -> None:
        """Server shutdown: cancel the run in flight, say so, and close (1012: restarting)."""
        with contextlib.suppress(Exception):
            await self.cancel(notify=True)
            await self.websocket.close(code=1012)

    async def handle(self, text: str | None) -> None:
        if text is None:
            await self.send({"type": "error", "run_id": None, "detail": "send JSON text messages"})
            return
        if len(text) > self.settings.max_ws_message_bytes:
            detail = f"message exceeds {self.settings.max_ws_message_bytes} bytes"
            await self.send({"type": "error", "run_id": None, "detail": detail})
            return
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            await self.send({"type": "error", "run_id": None, "detail": "message is not JSON"})
            return
        if not isinstance(message, dict) or message.get("type") not in ("run", "cancel"):
            detail = 'message must be an object with "type": "run" or "cancel"'
            await self.send({"type": "error", "run_id": None, "detail": detail})
            return
        await self.cancel(notify=True)
        if message["type"] == "run":
            run_id = message.get("run_id")
            if not isinstance(run_id, str | int) or isinstance(run_id, bool):
                run_id = uuid4().hex
            body = {k: v for k, v in message.items() if k not in ("type", "run_id")}
            self.run_id = run_id
            self.task = asyncio.create_task(self.stream(run_id, body))

    async def cancel(self, notify: bool) -> None:
        task, self.task = self.task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if notify:
            await self.send({"type": "cancelled", "run_id": self.run_id})

    async def stream(self, run_id: Any, body: dict[str, Any]) -> None:
        try:
            await self._stream(run_id, body)
        except ClientGone:
            return  # the client went away; nothing more to do for it
        except Exception:
            log.exception("stream %s failed", run_id)
            with contextlib.suppress(ClientGone):
                await self.send({"type": "error", "run_id": run_id, "detail": "internal error"})

    async def _stream(self, run_id: Any, body: dict[str, Any]) -> None:
        try:
            request = RunRequest.model_validate(body)
            config = await run_in_threadpool(build_config, request, self.settings)
        except ValidationError as error:
            detail = [
                item | {"loc": ["body", *item["loc"]]} for item in validation_detail(error.errors())
            ]
            await self.send({"type": "error", "run_id": run_id, "detail": detail})
            return
        except InvalidInput as error:
            detail = invalid_input_detail(error)
            await self.send({"type": "error", "run_id": run_id, "detail": detail})
            return
        trajectory = Trajectory(config, self.settings.run_seconds)
        seen: list[Frame] = []
        try:
            async for batch in frame_batches(trajectory, self.settings.stream_batch_frames):
                seen.extend(batch)
                await self.send({"type": "frames", "run_id": run_id, "frames": batch})
            done = await run_in_threadpool(done_payload, run_id, trajectory, seen)
            await self.send({"type": "done", **done})
        except RunTimeout as error:
            await self.send({"type": "error", "run_id": run_id, "detail": str(error)})


async def close_all(app: Any) -> None:
    """Cancel every streaming run and close its socket: part of a graceful shutdown."""
    for socket in list(getattr(app.state, "sockets", ())):
        await socket.shut_down()


@router.websocket("/ws/runs")
async def stream_run_ws(websocket: WebSocket, settings: SettingsDep) -> None:
    await RunSocket(websocket, settings).serve()
