"""A live session on the run socket (`WS /ws/runs`): each run replaces the one before.

This is how the page follows a dragged slider: a new `run` message cancels the run still
streaming on the socket (the server says `cancelled`, and no frame of the old run follows), so
a script can send settings as fast as it likes and read only the newest run's frames. Sweeps
compute beside the run. Every wait is bounded: a socket that closes, or stays silent past the
timeout, raises ConnectionLost instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from itertools import count
from typing import Any, Literal

from pydantic import BaseModel, Field
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection

from ..web import schemas
from .errors import APIError, ConnectionLost
from .requests import run_request, sweep_request, taking
from .results import Run, Sweep
from .streams import stream_error

MAX_MESSAGE_BYTES = 64 * 2**20
"""The largest message a session reads (a 128-value sweep of long paths is a few MB)."""


class LiveMessage(BaseModel):
    """One message from the socket: `frames` of a run, its `done`, `cancelled`, `error`, or
    a `sweep`'s answer."""

    type: Literal["frames", "done", "cancelled", "error", "sweep"]
    run_id: str | int | None = None
    sweep_id: str | int | None = None
    frames: list[schemas.FrameOut] = Field(default_factory=list)
    done: schemas.RunDone | None = None
    sweep: schemas.SweepOut | None = None
    detail: Any = None
    limit: str | None = None

    @classmethod
    def parse(cls, text: str | bytes) -> LiveMessage:
        try:
            data = json.loads(text)
        except ValueError:
            raise ConnectionLost("the server sent a message that is not JSON") from None
        kind = data.get("type")
        if kind == "done":
            return cls(type="done", run_id=data.get("run_id"), done=data)
        if kind == "sweep":
            return cls(type="sweep", sweep_id=data.get("sweep_id"), sweep=data)
        return cls.model_validate(data)

    def error(self) -> APIError:
        error = stream_error(self.detail)
        if self.limit is not None:
            return APIError(429, self.detail, limit=self.limit)
        return error


class Collector:
    """Gathers one run's frames from the session's messages, until its `done`."""

    def __init__(self, run_id: str, request: schemas.RunRequest) -> None:
        self.run_id = run_id
        self.request = request
        self.frames: list[schemas.FrameOut] = []
        self.run: Run | None = None

    def take(self, message: LiveMessage) -> bool:
        """Read one message; True once the run is complete."""
        if message.run_id != self.run_id:
            return False
        if message.type == "frames":
            self.frames.extend(message.frames)
        elif message.type == "done" and message.done is not None:
            answer = {**message.done.model_dump(), "frames": self.frames}
            self.run = Run.model_validate({**answer, "request": self.request})
            return True
        elif message.type == "error":
            raise message.error()
        elif message.type == "cancelled":
            raise ConnectionLost(f"run {self.run_id} was cancelled by a newer run")
        return False


def sweep_result(
    message: LiveMessage, sweep_id: str, request: schemas.SweepRequest
) -> Sweep | None:
    """The sweep's answer when `message` brings it; its error raised."""
    if message.sweep_id != sweep_id:
        return None
    if message.type == "error":
        raise message.error()
    if message.type == "cancelled":
        raise ConnectionLost(f"sweep {sweep_id} was cancelled by a newer sweep")
    if message.type == "sweep" and message.sweep is not None:
        return Sweep.model_validate({**message.sweep.model_dump(), "request": request})
    return None


_ids = count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def run_message(run_id: str, request: schemas.RunRequest) -> dict[str, Any]:
    return {"type": "run", "run_id": run_id, **request.model_dump(mode="json", exclude_unset=True)}


def sweep_message(sweep_id: str, request: schemas.SweepRequest) -> dict[str, Any]:
    body = request.model_dump(mode="json", exclude_unset=True)
    return {"type": "sweep", "sweep_id": sweep_id, "encoding": "json", **body}


class LiveSession:
    """A blocking session on the run socket. Open it with `client.live()`, in a `with` block.

    `send(...)` starts a run and answers its id, cancelling the run before it; `next()` reads
    one message; `run(...)` sends and reads until the run is done; `sweep(...)` the same for a
    sweep.
    """

    def __init__(self, connection: ClientConnection, timeout: float) -> None:
        self.connection = connection
        self.timeout = timeout

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.connection.send(json.dumps(message))
        except ConnectionClosed as error:
            raise ConnectionLost(f"the run socket closed: {error}") from error

    def next(self, timeout: float | None = None) -> LiveMessage:
        """The next message; ConnectionLost when the socket closes or stays silent."""
        wait = self.timeout if timeout is None else timeout
        try:
            return LiveMessage.parse(self.connection.recv(timeout=wait))
        except TimeoutError:
            raise ConnectionLost(f"the run socket sent nothing for {wait:g} s") from None
        except ConnectionClosed as error:
            raise ConnectionLost(f"the run socket closed: {error}") from error

    def messages(self) -> Iterator[LiveMessage]:
        while True:
            yield self.next()

    @taking(run_request)
    def send(self, request: schemas.RunRequest) -> str:
        """Start a run (run_request's arguments); the run still streaming is cancelled."""
        run_id = new_id("run")
        self._send(run_message(run_id, request))
        return run_id

    @taking(run_request)
    def run(self, request: schemas.RunRequest) -> Run:
        """A whole run over the socket (messages of other runs are skipped)."""
        collector = Collector(new_id("run"), request)
        self._send(run_message(collector.run_id, request))
        while not collector.take(self.next()):
            pass
        assert collector.run is not None
        return collector.run

    @taking(sweep_request)
    def sweep(self, body: schemas.SweepRequest) -> Sweep:
        """A sweep beside the run (sweep_request's arguments)."""
        sweep_id = new_id("sweep")
        self._send(sweep_message(sweep_id, body))
        while (result := sweep_result(self.next(), sweep_id, body)) is None:
            pass
        return result

    def cancel(self) -> None:
        """Stop the socket's run and sweep."""
        self._send({"type": "cancel"})

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncLiveSession:
    """LiveSession with awaiting methods: `async with await client.live() as live`."""

    def __init__(self, connection: AsyncConnection, timeout: float) -> None:
        self.connection = connection
        self.timeout = timeout

    async def _send(self, message: dict[str, Any]) -> None:
        try:
            await self.connection.send(json.dumps(message))
        except ConnectionClosed as error:
            raise ConnectionLost(f"the run socket closed: {error}") from error

    async def next(self, timeout: float | None = None) -> LiveMessage:
        wait = self.timeout if timeout is None else timeout
        try:
            return LiveMessage.parse(await asyncio.wait_for(self.connection.recv(), wait))
        except TimeoutError:
            raise ConnectionLost(f"the run socket sent nothing for {wait:g} s") from None
        except ConnectionClosed as error:
            raise ConnectionLost(f"the run socket closed: {error}") from error

    @taking(run_request)
    async def send(self, request: schemas.RunRequest) -> str:
        """Start a run (run_request's arguments); the run still streaming is cancelled."""
        run_id = new_id("run")
        await self._send(run_message(run_id, request))
        return run_id

    @taking(run_request)
    async def run(self, body: schemas.RunRequest) -> Run:
        """A whole run over the socket (messages of other runs are skipped)."""
        collector = Collector(new_id("run"), body)
        await self._send(run_message(collector.run_id, body))
        while not collector.take(await self.next()):
            pass
        assert collector.run is not None
        return collector.run

    @taking(sweep_request)
    async def sweep(self, body: schemas.SweepRequest) -> Sweep:
        """A sweep beside the run (sweep_request's arguments)."""
        sweep_id = new_id("sweep")
        await self._send(sweep_message(sweep_id, body))
        while (result := sweep_result(await self.next(), sweep_id, body)) is None:
            pass
        return result

    async def cancel(self) -> None:
        await self._send({"type": "cancel"})

    async def aclose(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> AsyncLiveSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


HANDSHAKE_ERRORS = (OSError, InvalidHandshake, TimeoutError)
"""What opening a socket raises when the server is not there or refuses it."""
