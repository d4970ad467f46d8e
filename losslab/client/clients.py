"""The clients: `Client` (HTTP, blocking), `AsyncClient` (HTTP, awaiting) and `Local` (in
process, no server). Each lists the operations of calls.py it offers; an operation's
arguments, route and result are defined there once, and a client only sends it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

import httpx
from pydantic import ValidationError
from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import connect

from ..config import Settings
from ..web import schemas
from . import calls
from .calls import Call
from .errors import ConnectionLost, LosslabError
from .http import AsyncTransport, Options, Transport, websocket_url
from .live import HANDSHAKE_ERRORS, MAX_MESSAGE_BYTES, AsyncLiveSession, LiveSession
from .local import LocalTransport
from .requests import run_request, taking
from .results import Runs
from .streams import AsyncRunStream, RunStream

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_URL = "http://127.0.0.1:8000"
"""Where `make run` serves the app."""


class Sender(Protocol):
    """What a blocking client sends its calls through (Transport, LocalTransport)."""

    def send(self, call: Call[Any]) -> Any: ...


def _named(method: Callable[..., Any], name: str, build: Callable[..., Any]) -> None:
    """Give a bound operation its name, docstring and (for help()) its arguments."""
    method.__name__ = method.__qualname__ = name
    method.__doc__ = build.__doc__
    signature = inspect.signature(build).replace(return_annotation=inspect.Signature.empty)
    method.__signature__ = signature  # type: ignore[attr-defined]


def parsed(call: Call[R], answer: Any) -> R:
    """The typed result; an answer of another shape is a server of another version."""
    try:
        return call.parse(answer)
    except (ValidationError, TypeError, KeyError) as error:
        raise LosslabError(
            f"the answer to {call.name} is not what this losslab expects (is the server of "
            f"another version?): {error}"
        ) from None


class Bound(Generic[P, R]):
    """An operation of calls.py as a client's method, named as the client's attribute."""

    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build
        self.name = build.__name__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name


class Operation(Bound[P, R]):
    """A blocking client's method: `build(...)`'s Call, sent, its answer parsed."""

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Operation[P, R]: ...
    @overload
    def __get__(self, client: SyncClient, owner: type[Any]) -> Callable[P, R]: ...
    def __get__(
        self, client: SyncClient | None, owner: type[Any]
    ) -> Operation[P, R] | Callable[P, R]:
        if client is None:
            return self
        build, transport = self.build, client.transport

        def method(*args: P.args, **kwargs: P.kwargs) -> R:
            call = build(*args, **kwargs)
            return parsed(call, transport.send(call))

        _named(method, self.name, build)
        return method


class AsyncOperation(Bound[P, R]):
    """An awaiting client's method: as Operation, awaited."""

    @overload
    def __get__(self, client: None, owner: type[Any]) -> AsyncOperation[P, R]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type[Any]) -> Callable[P, Awaitable[R]]: ...
    def __get__(
        self, client: AsyncClient | None, owner: type[Any]
    ) -> AsyncOperation[P, R] | Callable[P, Awaitable[R]]:
        if client is None:
            return self
        build, transport = self.build, client.transport

        async def method(*args: P.args, **kwargs: P.kwargs) -> R:
            call = build(*args, **kwargs)
            return parsed(call, await transport.send(call))

        _named(method, self.name, build)
        return method


class SyncClient:
    """The operations a blocking client offers, over its transport."""

    transport: Sender

    surfaces = Operation(calls.surfaces)
    grid = Operation(calls.grid)
    describe = Operation(calls.describe)
    optimizers = Operation(calls.optimizers)
    schedulers = Operation(calls.schedulers)
    presets = Operation(calls.presets)
    limits = Operation(calls.limits)
    activations = Operation(calls.activations)
    run = Operation(calls.run)
    script = Operation(calls.script)
    ensemble = Operation(calls.ensemble)
    sweep = Operation(calls.sweep)
    basin_map = Operation(calls.basin_map)
    hyperparameter_map = Operation(calls.hyperparameter_map)
    benchmark = Operation(calls.benchmark)
    benchmark_defaults = Operation(calls.benchmark_defaults)
    train_network = Operation(calls.train_network)
    parse_csv = Operation(calls.parse_csv)

    def runs(self, requests: Iterable[schemas.RunRequest | Mapping[str, Any]]) -> Runs:
        """Several runs (one after the other), to draw together: `runs(preset.runs)`."""
        return Runs(self.run(request) for request in requests)


class Client(SyncClient):
    """The losslab API over HTTP: `Client("http://127.0.0.1:8000")`, in a `with` block.

    `timeout`: seconds to connect and to wait for each piece of an answer. A 429 (busy) or
    503 (past a time limit) is retried up to `retries` times after its Retry-After (at most
    `max_retry_wait` s), then raised as APIError. `http` is an httpx.Client to use instead of
    the client's own (its base_url must be the server's).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url
        self.options = Options(timeout, retries, max_retry_wait)
        self.transport: Transport = Transport(base_url, self.options, http)

    @taking(run_request)
    def stream(self, request: schemas.RunRequest) -> RunStream:
        """A run's frames as the server computes them (SSE); then `.run()` for the whole."""
        return RunStream(request, self.transport.run_events(request))

    def live(self) -> LiveSession:
        """A session on the run socket, where each run replaces the one before."""
        try:
            connection = connect(
                websocket_url(self.base_url),
                open_timeout=self.options.timeout,
                max_size=MAX_MESSAGE_BYTES,
            )
        except HANDSHAKE_ERRORS as error:
            raise ConnectionLost(f"could not open the run socket: {error}") from error
        # The session owns the connection and closes it; entering it says so (websockets
        # 17.1 and later warn about a connection opened outside a `with` block).
        return LiveSession(connection.__enter__(), self.options.timeout)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Local(SyncClient):
    """The same operations in this process, with no server: `losslab.local`.

    `settings` are the limits a server would apply (default: read from the LOSSLAB_
    environment variables, as `losslab serve` reads them).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.transport: LocalTransport = LocalTransport(settings)

    @taking(run_request)
    def stream(self, request: schemas.RunRequest) -> RunStream:
        """A run's frames as the engine computes them; then `.run()` for the whole."""
        return RunStream(request, self.transport.run_events(request))

    def live(self) -> LiveSession:
        """The run socket's protocol in process: each run replaces the one before."""
        return self.transport.live()


class AsyncClient:
    """The losslab API over HTTP, awaiting: `async with AsyncClient(url) as client`. The
    options are Client's."""

    surfaces = AsyncOperation(calls.surfaces)
    grid = AsyncOperation(calls.grid)
    describe = AsyncOperation(calls.describe)
    optimizers = AsyncOperation(calls.optimizers)
    schedulers = AsyncOperation(calls.schedulers)
    presets = AsyncOperation(calls.presets)
    limits = AsyncOperation(calls.limits)
    activations = AsyncOperation(calls.activations)
    run = AsyncOperation(calls.run)
    script = AsyncOperation(calls.script)
    ensemble = AsyncOperation(calls.ensemble)
    sweep = AsyncOperation(calls.sweep)
    basin_map = AsyncOperation(calls.basin_map)
    hyperparameter_map = AsyncOperation(calls.hyperparameter_map)
    benchmark = AsyncOperation(calls.benchmark)
    benchmark_defaults = AsyncOperation(calls.benchmark_defaults)
    train_network = AsyncOperation(calls.train_network)
    parse_csv = AsyncOperation(calls.parse_csv)

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url
        self.options = Options(timeout, retries, max_retry_wait)
        self.transport = AsyncTransport(base_url, self.options, http)

    async def runs(self, requests: Iterable[schemas.RunRequest | Mapping[str, Any]]) -> Runs:
        """Several runs, one after the other (a client may hold only so many at once)."""
        return Runs([await self.run(request) for request in requests])

    @taking(run_request)
    def stream(self, request: schemas.RunRequest) -> AsyncRunStream:
        """`async for frame in client.stream(...)`; then `await stream.run()`."""
        return AsyncRunStream(request, self.transport.run_events(request))

    async def live(self) -> AsyncLiveSession:
        """`async with await client.live() as live:` a session on the run socket."""
        try:
            connection = await connect_async(
                websocket_url(self.base_url),
                open_timeout=self.options.timeout,
                max_size=MAX_MESSAGE_BYTES,
            )
        except HANDSHAKE_ERRORS as error:
            raise ConnectionLost(f"could not open the run socket: {error}") from error
        return AsyncLiveSession(connection, self.options.timeout)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["AsyncClient", "Client", "Local"]
