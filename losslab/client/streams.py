"""A run as it streams: its frames one by one, then the whole Run.

The HTTP clients read `POST /api/runs/stream` (Server-Sent Events), the in-process client the
engine's own iterator; both hand these classes the same events: `("frames", [frame...])` any
number of times, then `("done", RunDone)`. A stream that ends before `done` raises
ConnectionLost; an `error` event raises the APIError the server would have answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ..web import schemas
from .errors import APIError, ConnectionLost
from .results import Run

Event = tuple[str, Any]


class SSEParser:
    """Server-Sent Events from lines: `feed` each line; a blank line completes an event."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self.data:
                return None
            event, data = self.event, "\n".join(self.data)
            self.event, self.data = "message", []
            return event, data
        if line.startswith(":"):  # a comment: the server's keep-alive
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None


def stream_error(detail: Any) -> APIError:
    """The APIError for an `error` event: a refusal (422) or a limit hit while computing."""
    if isinstance(detail, list):
        return APIError(422, detail)
    return APIError(500 if detail == "internal error" else 503, detail)


class _Collected:
    """The frames and the final message seen so far, and the Run they make."""

    def __init__(self, request: schemas.RunRequest) -> None:
        self.request = request
        self.frames: list[schemas.FrameOut] = []
        self.done: schemas.RunDone | None = None

    def take(self, event: Event) -> list[schemas.FrameOut]:
        kind, data = event
        if kind == "frames":
            frames = [schemas.FrameOut.model_validate(f) for f in data]
            self.frames.extend(frames)
            return frames
        if kind == "done":
            self.done = schemas.RunDone.model_validate(data)
            return []
        raise stream_error(data.get("detail") if isinstance(data, dict) else data)

    def assembled(self) -> Run:
        if self.done is None:
            raise ConnectionLost("the run's stream ended before its last message")
        answer = {**self.done.model_dump(), "frames": self.frames, "request": self.request}
        return Run.model_validate(answer)


class RunStream(_Collected):
    """Iterate for the frames as they are computed; `run()` then gives the whole Run (reading
    the rest first). Use it in a `with` block, or iterate to the end, to free its connection."""

    def __init__(self, request: schemas.RunRequest, events: Iterator[Event]) -> None:
        super().__init__(request)
        self._events = events

    def __iter__(self) -> Iterator[schemas.FrameOut]:
        for event in self._events:
            yield from self.take(event)
        if self.done is None:
            raise ConnectionLost("the run's stream ended before its last message")

    def run(self) -> Run:
        for _ in self:
            pass
        return self.assembled()

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRunStream(_Collected):
    """As RunStream, with `async for` and `await stream.run()`."""

    def __init__(self, request: schemas.RunRequest, events: AsyncIterator[Event]) -> None:
        super().__init__(request)
        self._events = events

    async def __aiter__(self) -> AsyncIterator[schemas.FrameOut]:
        async for event in self._events:
            for frame in self.take(event):
                yield frame
        if self.done is None:
            raise ConnectionLost("the run's stream ended before its last message")

    async def run(self) -> Run:
        async for _ in self:
            pass
        return self.assembled()

    async def aclose(self) -> None:
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
