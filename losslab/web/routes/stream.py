"""Streamed runs: Server-Sent Events and a WebSocket (docs/API.md).

The engine runs one slice of the fair run queue at a time (losslab/web/runner.py), so the event loop
stays free and a cancelled or abandoned run costs at most the slice in progress. The first
batch is frame 0 alone, so the page can draw at once; later batches gather frames for up to
`SLICE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import uuid4

from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import ValidationError

from ...config import Settings
from ...engine import Frame, RunCancelled, RunTimeout, Trajectory
from ...errors import InvalidInput
from .. import operations
from ..details import body_detail, invalid_input_detail
from ..jobs import Busy, JobTimeout
from ..jobstream import encode_sweep, run_sweep
from ..runner import done_payload, frame_batches, start
from ..runqueue import QueueTimeout, RunQueue, Ticket
from ..schemas import BUSY, SSE_EVENT, TOO_LONG, RunRequest, SweepRequest
from ..service import build_config
from .clients import client_id
from .deps import SettingsDep

log = logging.getLogger("losslab")
router = APIRouter(tags=["stream"])


def dumps(payload: Any) -> str:
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


@dataclass
class StartedRun:
    """A run validated and started (frame 0 computed) before any byte of the stream is sent,
    so that a refusal is an HTTP status (422, 429, 503), not an event."""

    run_id: str
    queue: RunQueue
    ticket: Ticket
    trajectory: Trajectory
    rest: Iterator[Frame]
    first: list[Frame]


async def started_run(
    request: RunRequest, http: Request, settings: SettingsDep
) -> AsyncIterator[StartedRun]:
    """Hold the run's place in the queue for as long as its stream lasts."""
    queue: RunQueue = http.app.state.runs
    with queue.ticket(client_id(http)) as ticket:
        build = functools.partial(build_config, request, settings)
        trajectory, rest, first = await start(queue, ticket, build, settings.run_seconds)
        yield StartedRun(uuid4().hex, queue, ticket, trajectory, rest, first)


@router.post(
    "/api/runs/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`event: frames` messages, then `event: done` (or `event: error`)",
            "content": {"text/event-stream": {"itemSchema": SSE_EVENT}},
        },
        **BUSY,
        **TOO_LONG,
    },
)
async def stream_run_sse(
    run: Annotated[StartedRun, Depends(started_run)], settings: SettingsDep
) -> AsyncIterator[ServerSentEvent]:
    """Stream a run as Server-Sent Events while the engine computes it (FastAPI's SSE: no
    caching, no proxy buffering, a comment every 15 s to keep idle connections open)."""

    def event(name: str, payload: dict[str, Any]) -> ServerSentEvent:
        return ServerSentEvent(raw_data=dumps(payload), event=name)

    seen = list(run.first)
    try:
        yield event("frames", {"run_id": run.run_id, "frames": run.first})
        batches = frame_batches(run.queue, run.ticket, run.rest, settings.stream_batch_frames)
        async for batch in batches:
            seen.extend(batch)
            yield event("frames", {"run_id": run.run_id, "frames": batch})
        done = await run.queue.slice(
            run.ticket, lambda: done_payload(run.run_id, run.trajectory, seen)
        )
        yield event("done", done)
    except (RunTimeout, QueueTimeout) as error:
        yield event("error", {"run_id": run.run_id, "detail": str(error)})
    except Exception:
        log.exception("stream %s failed", run.run_id)
        yield event("error", {"run_id": run.run_id, "detail": "internal error"})


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A browser's WebSocket may come from any page the user visits: accept the page's own
    origin (same host and port) and the allow-listed ones. Clients that send no Origin (scripts)
    are not browsers and pass."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in settings.cors_origins:
        return True
    parts = urlsplit(origin)
    host = websocket.headers.get("host", "")
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


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
        self.run_stop = threading.Event()
        self.sweep_task: asyncio.Task[None] | None = None
        self.sweep_stop = threading.Event()
        self.sweep_id: Any = None

    async def send(self, payload: dict[str, Any]) -> None:
        await self.send_text(dumps(payload))

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        await self._send({"type": "websocket.send", "bytes": data})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            try:
                await self.websocket.send(message)
            except (WebSocketDisconnect, RuntimeError):
                # Starlette raises RuntimeError for a send after the close: the client left.
                raise ClientGone from None

    async def serve(self) -> None:
        if not origin_allowed(self.websocket, self.settings):
            # 403 before the handshake: a page of another origin cannot drive this server.
            await self.websocket.close(code=1008)
            return
        await self.websocket.accept()
        live: set[RunSocket] = self.websocket.app.state.sockets
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
            await self.cancel_sweep(notify=False)

    async def shut_down(self) -> None:
        """Server shutdown: cancel the run in flight, say so, and close (1012: restarting)."""
        with contextlib.suppress(Exception):
            await self.cancel(notify=True)
            await self.cancel_sweep(notify=True)
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
        if not isinstance(message, dict) or message.get("type") not in ("run", "sweep", "cancel"):
            detail = 'message must be an object with "type": "run", "sweep" or "cancel"'
            await self.send({"type": "error", "run_id": None, "detail": detail})
            return
        if message["type"] == "sweep":
            await self.start_sweep(message)
            return
        await self.cancel(notify=True)
        if message["type"] == "cancel":
            await self.cancel_sweep(notify=True)
        if message["type"] == "run":
            run_id = message.get("run_id")
            if not isinstance(run_id, str | int) or isinstance(run_id, bool):
                run_id = uuid4().hex
            body = {k: v for k, v in message.items() if k not in ("type", "run_id")}
            self.run_id, self.run_stop = run_id, threading.Event()
            self.task = asyncio.create_task(self.stream(run_id, body, self.run_stop))

    async def cancel(self, notify: bool) -> None:
        task, self.task = self.task, None
        if task is None or task.done():
            return
        # Stops the run at its next step, inside the slice in progress: the replacement does
        # not wait for up to a whole slice of the old run.
        self.run_stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, RunCancelled):
            await task
        if notify:
            await self.send({"type": "cancelled", "run_id": self.run_id})

    async def start_sweep(self, message: dict[str, Any]) -> None:
        """A newer sweep replaces the socket's sweep in flight (not its run)."""
        await self.cancel_sweep(notify=True)
        sweep_id = message.get("sweep_id")
        if not isinstance(sweep_id, str | int) or isinstance(sweep_id, bool):
            sweep_id = uuid4().hex
        body = {k: v for k, v in message.items() if k not in ("type", "sweep_id", "encoding")}
        encoding = message.get("encoding", "json")
        if encoding not in ("json", "binary"):
            why = 'encoding must be "json" or "binary"'
            detail = [{"loc": ["body", "encoding"], "msg": why, "type": "value_error"}]
            await self.send({"type": "error", "sweep_id": sweep_id, "detail": detail})
            return
        self.sweep_id, self.sweep_stop = sweep_id, threading.Event()
        self.sweep_task = asyncio.create_task(
            self.sweep(sweep_id, body, encoding == "binary", self.sweep_stop)
        )

    async def cancel_sweep(self, notify: bool) -> None:
        """Stop the sweep in flight and wait until its job slot is free again."""
        task, self.sweep_task = self.sweep_task, None
        if task is None or task.done():
            return
        self.sweep_stop.set()
        with contextlib.suppress(Exception):
            await task
        if notify:
            await self.send({"type": "cancelled", "sweep_id": self.sweep_id})

    async def sweep(
        self, sweep_id: Any, body: dict[str, Any], as_binary: bool, stop: threading.Event
    ) -> None:
        def fail(detail: Any, **extra: Any) -> dict[str, Any]:
            return {"type": "error", "sweep_id": sweep_id, "detail": detail, **extra}

        header = {"type": "sweep", "sweep_id": sweep_id}
        try:
            request = SweepRequest.model_validate(body)
            compute = await run_in_threadpool(operations.sweep, request, self.settings)
            answer = await run_sweep(
                self.websocket.app.state.jobs,
                compute,
                client_id(self.websocket),
                lambda result: encode_sweep(result, as_binary, header),
                stop,
            )
            await (self.send_bytes(answer) if as_binary else self.send_text(answer.decode()))
        except ValidationError as error:
            await self.send(fail(body_detail(error)))
        except InvalidInput as error:
            await self.send(fail(invalid_input_detail(error)))
        except Busy as error:
            await self.send(fail(str(error), limit=error.limit))
        except (JobTimeout, RunTimeout) as error:
            await self.send(fail(str(error)))
        except (RunCancelled, ClientGone):
            return
        except Exception:
            log.exception("sweep %s failed", sweep_id)
            with contextlib.suppress(ClientGone):
                await self.send(fail("internal error"))

    async def stream(self, run_id: Any, body: dict[str, Any], stop: threading.Event) -> None:
        try:
            await self._stream(run_id, body, stop)
        except (ClientGone, RunCancelled):
            return  # the client went away, or a newer run replaced this one
        except Exception:
            log.exception("stream %s failed", run_id)
            with contextlib.suppress(ClientGone):
                await self.send({"type": "error", "run_id": run_id, "detail": "internal error"})

    async def _stream(self, run_id: Any, body: dict[str, Any], stop: threading.Event) -> None:
        queue: RunQueue = self.websocket.app.state.runs
        try:
            ticket = queue.ticket(client_id(self.websocket))
        except Busy as error:
            await self.send(
                {"type": "error", "run_id": run_id, "detail": str(error), "limit": error.limit}
            )
            return
        with ticket:
            await self._stream_with(queue, ticket, run_id, body, stop)

    async def _stream_with(
        self,
        queue: RunQueue,
        ticket: Ticket,
        run_id: Any,
        body: dict[str, Any],
        stop: threading.Event,
    ) -> None:
        try:
            request = RunRequest.model_validate(body)
            build = functools.partial(build_config, request, self.settings)
            trajectory, rest, first = await start(
                queue, ticket, build, self.settings.run_seconds, stop.is_set
            )
        except ValidationError as error:
            await self.send({"type": "error", "run_id": run_id, "detail": body_detail(error)})
            return
        except InvalidInput as error:
            detail = invalid_input_detail(error)
            await self.send({"type": "error", "run_id": run_id, "detail": detail})
            return
        except (RunTimeout, QueueTimeout, Busy) as error:
            await self.send({"type": "error", "run_id": run_id, "detail": str(error)})
            return
        seen = list(first)
        try:
            await self.send({"type": "frames", "run_id": run_id, "frames": first})
            batches = frame_batches(queue, ticket, rest, self.settings.stream_batch_frames)
            async for batch in batches:
                seen.extend(batch)
                await self.send({"type": "frames", "run_id": run_id, "frames": batch})
            done = await queue.slice(ticket, lambda: done_payload(run_id, trajectory, seen))
            await self.send({"type": "done", **done})
        except (RunTimeout, QueueTimeout, Busy) as error:
            await self.send({"type": "error", "run_id": run_id, "detail": str(error)})
        except RunCancelled:
            return


async def close_all(app: Any) -> None:
    """Cancel every streaming run and close its socket: part of a graceful shutdown."""
    for socket in list(app.state.sockets):
        await socket.shut_down()


@router.websocket("/ws/runs")
async def stream_run_ws(websocket: WebSocket, settings: SettingsDep) -> None:
    await RunSocket(websocket, settings).serve()
