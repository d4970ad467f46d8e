"""losslab.AsyncClient: every operation awaited equals the blocking client's; its stream and its
live session; its refusals, retries and lost connections. Each test runs its own event loop
(`asyncio.run`), with a client opened inside it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import losslab
import losslab.client.http
from losslab.client import AsyncLiveSession, LiveMessage
from losslab.config import Settings
from tests.servers import free_port
from tests.test_client import (
    CASES,
    LONG_RUN,
    RUN,
    SLOW_MAP,
    SWEEP,
    Answers,
    Case,
    assert_same,
    check_fractions,
    cut,
    operations_of,
    public_methods,
    served,
    silent_server,
    steady,
    within,
)

AsyncSession = Callable[[losslab.AsyncClient], Awaitable[Any]]


@pytest.fixture(scope="module")
def remote(live_server: str) -> Iterator[losslab.Client]:
    with losslab.Client(live_server, timeout=30) as client:
        yield client


def awaited(url: str, use: AsyncSession, **options: Any) -> Any:
    """`use(client)` on an AsyncClient of `url`, in a new event loop; its answer."""

    async def main() -> Any:
        async with losslab.AsyncClient(url, **options) as client:
            return await use(client)

    return asyncio.run(main())


async def streamed(client: losslab.AsyncClient) -> Any:
    async with client.stream(**RUN) as stream:
        frames = [frame async for frame in stream]
        run = await stream.run()
    assert [f.model_dump() for f in frames] == [f.model_dump() for f in run.frames]
    assert len(frames) == RUN["steps"] + 1
    return run


async def stream_run(client: losslab.AsyncClient) -> losslab.Run:
    return await client.stream(**RUN).run()


async def live_run(client: losslab.AsyncClient) -> losslab.Run:
    async with await client.live() as live:
        return await live.run(**RUN)


async def live_sweep(client: losslab.AsyncClient) -> losslab.Sweep:
    async with await client.live() as live:
        return await live.sweep(**SWEEP)


SESSIONS: dict[str, AsyncSession] = {
    "stream-iterate": streamed,
    "stream-run": stream_run,
    "live.run": live_run,
    "live.sweep": live_sweep,
}


def test_the_cases_cover_every_public_method_of_async_client() -> None:
    operations = public_methods(losslab.AsyncClient) - {"aclose"}
    assert operations_of([*CASES, *SESSIONS]) == operations
    assert operations == public_methods(losslab.Client) - {"close"}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_every_operation_awaited_equals_the_blocking_clients(
    case: Case, live_server: str, remote: losslab.Client
) -> None:
    async def use(client: losslab.AsyncClient) -> Any:
        return await case.call(client)

    assert_same(case, awaited(live_server, use), case.call(remote))


@pytest.mark.parametrize("name", SESSIONS)
def test_streams_and_sessions_awaited_equal_the_blocking_run(
    name: str, live_server: str, remote: losslab.Client
) -> None:
    result = awaited(live_server, SESSIONS[name])
    blocking = remote.sweep(**SWEEP) if name == "live.sweep" else remote.run(**RUN)
    assert type(result) is type(blocking)
    assert steady(result) == steady(blocking)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({**RUN, "lr": -1}, "hyperparameters.lr"), ({**RUN, "optimizer": "Nope"}, "optimizer")],
)
def test_a_refusal_awaited_is_the_blocking_clients(
    kwargs: dict[str, Any], field: str, live_server: str, remote: losslab.Client
) -> None:
    async def use(client: losslab.AsyncClient) -> losslab.APIError:
        with pytest.raises(losslab.APIError) as caught:
            await client.run(**kwargs)
        return caught.value

    error = awaited(live_server, use)
    with pytest.raises(losslab.APIError) as blocking:
        remote.run(**kwargs)
    assert (error.status, error.field) == (422, field)
    assert error.detail == blocking.value.detail


def test_a_stream_past_its_time_limit_raises_its_error_event() -> None:
    frames: list[Any] = []

    async def use(client: losslab.AsyncClient) -> None:
        async for frame in client.stream(**LONG_RUN):
            frames.append(frame)

    with served(Settings(run_seconds=0.05)) as (url, _), pytest.raises(losslab.APIError) as caught:
        awaited(url, use)
    assert frames and caught.value.status == 503


def optimizers_mocked(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Any:
    """`optimizers()` of an AsyncClient whose every request goes to `handler`."""

    async def main() -> Any:
        url = "http://losslab.test"
        http = httpx.AsyncClient(base_url=url, transport=httpx.MockTransport(handler))
        async with losslab.AsyncClient(url, http=http, **options) as client:
            return await client.optimizers()

    return asyncio.run(main())


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the async client sleeps between attempts, recorded instead of slept."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(losslab.client.http, "asyncio", SimpleNamespace(sleep=sleep))
    return slept


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_answer_is_retried(status: int, sleeps: list[float]) -> None:
    answers = Answers(status, status, 200)
    assert optimizers_mocked(answers) == []
    assert answers.requests == 3 and sleeps == [0.0, 0.0]


@pytest.mark.parametrize("status", [429, 503])
def test_retries_stop_at_the_limit(status: int, sleeps: list[float]) -> None:
    answers = Answers(status, retry_after="100")
    with pytest.raises(losslab.APIError) as caught:
        optimizers_mocked(answers, retries=2, max_retry_wait=0.5)
    assert answers.requests == 3 and sleeps == [0.5, 0.5]
    assert caught.value.status == status and caught.value.retry_after == 100.0
    assert caught.value.limit == ("max_jobs" if status == 429 else None)


def test_a_timeout_is_a_lost_connection() -> None:
    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(losslab.ConnectionLost):
        optimizers_mocked(timing_out)


def test_the_timeout_bounds_a_silent_server() -> None:
    async def use(client: losslab.AsyncClient) -> None:
        with within(3.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            await client.surfaces()
        with within(3.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            await client.live()

    with silent_server() as url:
        awaited(url, use, timeout=0.3)


def test_a_refused_connection_is_a_lost_connection() -> None:
    async def use(client: losslab.AsyncClient) -> None:
        with pytest.raises(losslab.ConnectionLost):
            await client.run(**RUN)
        with pytest.raises(losslab.ConnectionLost):
            await client.live()
        with pytest.raises(losslab.ConnectionLost):
            await client.stream(**RUN).run()

    with within(3.0):
        awaited(f"http://127.0.0.1:{free_port()}", use, timeout=5)


def test_a_silent_socket_raises_after_the_timeout(live_server: str) -> None:
    async def use(client: losslab.AsyncClient) -> None:
        async with await client.live() as live:
            with within(2.0, at_least=0.2), pytest.raises(losslab.ConnectionLost):
                await live.next(timeout=0.2)
            assert (await live.run(**RUN)).status

    awaited(live_server, use)


def test_a_dropped_websocket_raises_from_a_waiting_run() -> None:
    async def use(client: losslab.AsyncClient) -> None:
        live = await client.live()
        with within(5.0, at_least=0.3), pytest.raises(losslab.ConnectionLost):
            await live.run(**LONG_RUN)

    with served(Settings()) as (url, server):
        later = threading.Timer(0.3, cut, [server])
        later.start()
        awaited(url, use, timeout=10)
        later.join()


def test_a_stream_cut_in_the_middle_raises() -> None:
    async def use(client: losslab.AsyncClient) -> None:
        frames = 0
        with within(5.0), pytest.raises(losslab.ConnectionLost):
            async for _ in client.stream(**LONG_RUN):
                frames += 1
                if frames == 1:
                    cut(server)

    with served(Settings()) as (url, server):
        awaited(url, use, timeout=10)


async def read_until_done(live: AsyncLiveSession, run_id: str) -> list[LiveMessage]:
    messages = []
    while True:
        message = await live.next(timeout=10)
        messages.append(message)
        if message.run_id == run_id and message.type in ("done", "error"):
            return messages


def test_a_new_run_on_the_socket_cancels_the_old_one(live_server: str) -> None:
    async def use(client: losslab.AsyncClient) -> tuple[str, list[LiveMessage]]:
        async with await client.live() as live:
            old = await live.send(**LONG_RUN)
            first = await live.next(timeout=10)
            assert (first.type, first.run_id) == ("frames", old)
            return old, await read_until_done(live, await live.send(**RUN))

    old, messages = awaited(live_server, use)
    kinds = [(m.type, m.run_id) for m in messages]
    assert ("cancelled", old) in kinds
    after = kinds[kinds.index(("cancelled", old)) :]
    assert ("frames", old) not in after and ("done", old) not in kinds
    new = messages[-1]
    assert new.type == "done" and new.run_id != old
    frames = [f for m in messages if m.run_id == new.run_id for f in m.frames]
    assert len(frames) == RUN["steps"] + 1


def test_an_async_session_cancel_says_so(live_server: str) -> None:
    async def use(client: losslab.AsyncClient) -> list[tuple[str, Any]]:
        async with await client.live() as live:
            old = await live.send(**LONG_RUN)
            await live.next(timeout=10)
            await live.cancel()
            kinds: list[tuple[str, Any]] = []
            started = time.monotonic()
            while ("cancelled", old) not in kinds and time.monotonic() - started < 10:
                message = await live.next(timeout=10)
                kinds.append((message.type, message.run_id))
            assert ("done", old) not in kinds
            return kinds

    assert awaited(live_server, use)[-1][0] == "cancelled"


def test_maps_report_their_progress_awaited(live_server: str) -> None:
    fractions: list[float] = []

    async def use(client: losslab.AsyncClient) -> Any:
        return await client.basin_map(**SLOW_MAP, progress=fractions.append)

    assert awaited(live_server, use).outcome
    check_fractions(fractions)
