"""The fair run queue: every run's CPU work, in short slices, `slots` at a time.

A run (one `POST /api/runs`, one SSE stream, one WebSocket run) holds a `Ticket` for its
lifetime and does all its CPU work (validation, stepping, analysis) through `slice()`: one
batch of steps in a worker thread. When a slot frees, the waiting slice whose run has had the
least CPU so far goes next (least attained service), the earliest among equals. So a new small
run overtakes long streams after at most one slice, however many streams there are, and long
runs share what is left evenly.

Bounds: a client (IP address) may hold `per_client` tickets at once and the server
`max_waiting` waiting slices (more get `Busy`, a 429); a slice that waits longer than
`wait_seconds` gives up with `QueueTimeout` (a 503).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi.concurrency import run_in_threadpool

from .jobs import Busy

T = TypeVar("T")


class QueueTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the server is busy: the run waited {seconds:g} s for its turn")
        self.seconds = seconds


@dataclass(eq=False)
class Ticket:
    """One run's place in the queue; `attained` is the CPU seconds its slices took so far."""

    queue: RunQueue
    client: str
    attained: float = 0.0
    closed: bool = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue._forget(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(eq=False)
class _Waiter:
    ticket: Ticket
    order: int
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def key(self) -> tuple[float, int]:
        return (self.ticket.attained, self.order)


class RunQueue:
    def __init__(self, slots: int, per_client: int, max_waiting: int, wait_seconds: float) -> None:
        self.slots = slots
        self.per_client = per_client
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.running = 0
        self._tickets: Counter[str] = Counter()
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()

    def ticket(self, client: str) -> Ticket:
        """Admit a new run from `client`, or raise Busy naming the limit it hit."""
        if self._tickets[client] >= self.per_client:
            raise Busy(
                f"this client already has {self.per_client} runs in progress, the most allowed "
                "(LOSSLAB_MAX_RUNS_PER_CLIENT); wait for one to end or cancel it",
                "max_runs_per_client",
                retry_after=1,
            )
        self._tickets[client] += 1
        return Ticket(self, client)

    def _forget(self, ticket: Ticket) -> None:
        self._tickets[ticket.client] -= 1
        if self._tickets[ticket.client] <= 0:
            del self._tickets[ticket.client]

    async def slice(self, ticket: Ticket, fn: Callable[[], T]) -> T:
        """Wait for a slot in fair order, then run `fn()` in a worker thread."""
        await self._acquire(ticket)
        started = time.perf_counter()
        try:
            # Not abandoned on cancellation: the slot is free only when the thread is done.
            return await run_in_threadpool(fn)
        finally:
            ticket.attained += time.perf_counter() - started
            self.running -= 1
            self._dispatch()

    async def _acquire(self, ticket: Ticket) -> None:
        if self.running < self.slots and not self._waiting:
            self.running += 1
            return
        if len(self._waiting) >= self.max_waiting:
            raise Busy(
                f"the server's run queue is full ({self.max_waiting} waiting, "
                "LOSSLAB_MAX_WAITING_RUNS); try again shortly",
                "max_waiting_runs",
                retry_after=1,
            )
        waiter = _Waiter(ticket, next(self._order))
        self._waiting.append(waiter)
        self._dispatch()
        try:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that arrives
            # as the future completes, and a replaced run would then go on computing.
            async with asyncio.timeout(self.wait_seconds):
                await waiter.granted
        except BaseException as error:
            if waiter.granted.done() and not waiter.granted.cancelled():
                # Granted while being cancelled: hand the slot on.
                self.running -= 1
                self._dispatch()
            elif waiter in self._waiting:
                self._waiting.remove(waiter)
            if isinstance(error, TimeoutError):
                raise QueueTimeout(self.wait_seconds) from None
            raise

    def _dispatch(self) -> None:
        while self.running < self.slots and self._waiting:
            waiter = min(self._waiting, key=_Waiter.key)
            self._waiting.remove(waiter)
            if waiter.granted.done():  # cancelled, its task not yet resumed
                continue
            self.running += 1
            waiter.granted.set_result(None)

    def stats(self) -> dict[str, Any]:
        return {
            "slots": self.slots,
            "running": self.running,
            "waiting": len(self._waiting),
            "clients": len(self._tickets),
        }
