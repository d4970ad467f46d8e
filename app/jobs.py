"""A bounded pool for CPU-heavy jobs (maps, ensembles), with a wall-clock limit per job.

When every slot is taken a new job is refused at once with `Busy` (routes answer 429 with
Retry-After) rather than queued: a sweep that hammers the server is told to back off
instead of piling up work. Jobs run in worker threads and stop cooperatively: `Job.should_stop`
turns true when the wall-clock limit passes or the client goes away, and a slot is free again
only when its thread has really finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio import to_thread

T = TypeVar("T")


class Busy(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("every job slot is busy; try again shortly")
        self.retry_after = retry_after


class JobTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the job exceeded the server's {seconds:g} s limit")
        self.seconds = seconds


@dataclass
class Job:
    """Handed to a job's function so that it can poll whether to stop."""

    deadline: float
    cancelled: bool = False
    started: float = field(default_factory=time.monotonic)

    def should_stop(self) -> bool:
        return self.cancelled or time.monotonic() > self.deadline

    @property
    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline


class JobPool:
    def __init__(self, slots: int, seconds: float) -> None:
        self.slots = slots
        self.seconds = seconds
        self.active = 0
        self._lock = threading.Lock()

    def _acquire(self) -> bool:
        with self._lock:
            if self.active >= self.slots:
                return False
            self.active += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self.active -= 1

    async def run(self, fn: Callable[[Job], T]) -> T:
        """`fn(job)` in a worker thread, or Busy at once when no slot is free."""
        if not self._acquire():
            raise Busy(retry_after=max(1, round(self.seconds / 4)))
        job = Job(deadline=time.monotonic() + self.seconds)

        def work() -> T:
            try:
                return fn(job)
            finally:
                self._release()

        try:
            # Abandoned on cancellation: the thread sees job.cancelled and ends on its own.
            return await to_thread.run_sync(work, abandon_on_cancel=True)
        except BaseException:
            job.cancelled = True
            raise

    def stats(self) -> dict[str, Any]:
        return {"slots": self.slots, "active": self.active, "seconds": self.seconds}
