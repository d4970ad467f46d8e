"""Calls over HTTP with httpx: retries on 429 and 503, errors as APIError, streams as events.

`Transport` and `AsyncTransport` do the same work, one blocking and one awaiting; the decisions
(what to send, whether to retry and how long to wait, what an answer's error is, how a
stream's events read) are the shared functions here, so the two differ only in their I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from ..web import schemas
from .calls import Call
from .errors import APIError, ConnectionLost, LosslabError
from .streams import Event, SSEParser, stream_error

RETRIED = (429, 503)
"""Busy (a limit on concurrent work) and past a time limit: both say when to come back."""


@dataclass(frozen=True)
class Options:
    """How a client talks to its server.

    `timeout`: seconds to connect, and to wait for each piece of an answer (a stream's
    events, a map's progress). `retries`: how many times a 429 or 503 is retried, each after
    the answer's Retry-After (at most `max_retry_wait` seconds); then the APIError is raised.
    """

    timeout: float = 60.0
    retries: int = 3
    max_retry_wait: float = 30.0


def request_options(call: Call[Any]) -> dict[str, Any]:
    """httpx's keyword arguments for a call: its query, and its body as JSON or text."""
    options: dict[str, Any] = {"params": dict(call.params)}
    if call.body is not None:
        options["json"] = call.body.model_dump(mode="json", exclude_unset=True)
    elif call.text is not None:
        options["content"] = call.text.encode()
        options["headers"] = {"Content-Type": "text/csv"}
    if call.answer == "job":
        options["headers"] = {"Accept": "text/event-stream"}
    return options


def error_of(response: httpx.Response) -> APIError:
    """The APIError for an answer of 400 and up, read from its JSON body where it has one."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else response.text
    limit = body.get("limit") if isinstance(body, dict) else None
    return APIError(response.status_code, detail, limit=limit, retry_after=_retry_after(response))


def answer_of(response: httpx.Response, call: Call[Any]) -> Any:
    """A successful answer's text or JSON; an answer that is not JSON is not losslab's."""
    if call.answer == "text":
        return response.text
    try:
        return json.loads(response.content)
    except ValueError:
        raise LosslabError(
            f"{call.method} {call.path} answered {response.status_code} without JSON: is "
            f"{response.url.host} a losslab server?"
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def retry_wait(response: httpx.Response, attempt: int, options: Options) -> float | None:
    """Seconds to wait before trying again, or None when the answer stands."""
    if response.status_code not in RETRIED or attempt >= options.retries:
        return None
    wait = _retry_after(response)
    return min(options.max_retry_wait, 1.0 if wait is None else wait)


def job_event(event: str, data: str, call: Call[Any]) -> Any:
    """A map's or a benchmark's event: progress is reported, `done` is the answer (returned),
    `error` raised."""
    payload = json.loads(data)
    if event == "progress":
        if call.progress is not None:
            call.progress(float(payload["fraction"]))
        return None
    if event == "error":
        raise stream_error(payload.get("detail"))
    if call.progress is not None:  # a short job may end before its first progress event
        call.progress(1.0)
    return payload


def stream_call(request: schemas.RunRequest) -> Call[Any]:
    return Call("stream", "POST", "/api/runs/stream", dict, body=request)


def run_event(event: str, data: str) -> Event:
    """A run stream's event as streams.py reads it: `frames` carry the list of frames."""
    payload = json.loads(data)
    return (event, payload["frames"]) if event == "frames" else (event, payload)


def lost(error: Exception) -> ConnectionLost:
    return ConnectionLost(f"the connection to the server failed: {error}")


class Transport:
    """Blocking calls on one httpx.Client (a connection pool; close it when done)."""

    def __init__(self, base_url: str, options: Options, http: httpx.Client | None = None) -> None:
        self.base_url = base_url
        self.options = options
        self.http = http or httpx.Client(base_url=base_url, timeout=options.timeout)

    def send(self, call: Call[Any]) -> Any:
        if call.answer == "job":
            return self._job(call)
        with self._open(call) as response:
            response.read()
        return answer_of(response, call)

    @contextlib.contextmanager
    def _open(self, call: Call[Any]) -> Iterator[httpx.Response]:
        """The answer, streaming, once it is not a 429 or 503 to retry; errors raised."""
        attempt = 0
        while True:
            try:
                with self.http.stream(call.method, call.path, **request_options(call)) as answer:
                    if answer.status_code < 400:
                        yield answer
                        return
                    answer.read()
            except httpx.TransportError as error:
                raise lost(error) from error
            wait = retry_wait(answer, attempt, self.options)
            if wait is None:
                raise error_of(answer)
            time.sleep(wait)
            attempt += 1

    def events(self, call: Call[Any]) -> Iterator[tuple[str, str]]:
        """The Server-Sent Events of a streaming call."""
        parser = SSEParser()
        with self._open(call) as response:
            try:
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
            except httpx.TransportError as error:
                raise lost(error) from error

    def _job(self, call: Call[Any]) -> Any:
        for event, data in self.events(call):
            answer = job_event(event, data, call)
            if answer is not None:
                return answer
        raise ConnectionLost("the job's stream ended before its result")

    def run_events(self, request: schemas.RunRequest) -> Iterator[Event]:
        """A run's stream (POST /api/runs/stream) as events."""
        for event, data in self.events(stream_call(request)):
            yield run_event(event, data)

    def close(self) -> None:
        self.http.close()


class AsyncTransport:
    """Awaiting calls on one httpx.AsyncClient."""

    def __init__(
        self, base_url: str, options: Options, http: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url
        self.options = options
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=options.timeout)

    async def send(self, call: Call[Any]) -> Any:
        if call.answer == "job":
            return await self._job(call)
        async with self._open(call) as response:
            await response.aread()
        return answer_of(response, call)

    @contextlib.asynccontextmanager
    async def _open(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        attempt = 0
        while True:
            try:
                async with self.http.stream(
                    call.method, call.path, **request_options(call)
                ) as answer:
                    if answer.status_code < 400:
                        yield answer
                        return
                    await answer.aread()
            except httpx.TransportError as error:
                raise lost(error) from error
            wait = retry_wait(answer, attempt, self.options)
            if wait is None:
                raise error_of(answer)
            await asyncio.sleep(wait)
            attempt += 1

    async def events(self, call: Call[Any]) -> AsyncIterator[tuple[str, str]]:
        parser = SSEParser()
        async with self._open(call) as response:
            try:
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
            except httpx.TransportError as error:
                raise lost(error) from error

    async def _job(self, call: Call[Any]) -> Any:
        async for event, data in self.events(call):
            answer = job_event(event, data, call)
            if answer is not None:
                return answer
        raise ConnectionLost("the job's stream ended before its result")

    async def run_events(self, request: schemas.RunRequest) -> AsyncIterator[Event]:
        async for event, data in self.events(stream_call(request)):
            yield run_event(event, data)

    async def aclose(self) -> None:
        await self.http.aclose()


def websocket_url(base_url: str) -> str:
    """The run socket's address on the server at `base_url` (http → ws, https → wss)."""
    url = httpx.URL(base_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    return str(url.copy_with(scheme=scheme, path=url.path.rstrip("/") + "/ws/runs"))
