"""A bounded pool for CPU-heavy jobs (maps, ensembles, model landscapes, training).

When every slot is taken, or the client already holds its share, a new job is refused at once
with `Busy` (routes answer 429 with Retry-After and the name of the limit) rather than queued:
a sweep that hammers the server is told to back off instead of piling up work. Jobs run in
worker threads and stop cooperatively: `Job.should_stop` turns true when the wall-clock limit
passes, the client goes away or the server shuts down, and a slot is free again only when its
thread has really finished.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio import to_thread

T = TypeVar("T")


class Busy(Exception):
    """A limit on concurrent work was hit; `limit` names the setting (e.g. `max_jobs`)."""

    def __init__(self, message: str, limit: str, retry_after: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after


class JobTimeout(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the job exceeded the server's {seconds:g} s limit")
        self.seconds = seconds


@dataclass(eq=False)
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
    def __init__(self, slots: int, seconds: float, per_client: int | None = None) -> None:
        self.slots = slots
        self.seconds = seconds
        self.per_client = slots if per_client is None else per_client
        self.active = 0
        self._clients: Counter[str] = Counter()
        self._jobs: set[Job] = set()
        self._lock = threading.Lock()

    @property
    def retry_after(self) -> int:
        return max(1, round(self.seconds / 4))

    def check(self, client: str = "") -> None:
        """Raise Busy when a job from `client` would be refused now."""
        busy = self._refusal(client)
        if busy is not None:
            raise busy

    def _refusal(self, client: str) -> Busy | None:
        if self.active >= self.slots:
            return Busy(
                f"every job slot is busy ({self.slots} at once, LOSSLAB_MAX_JOBS); "
                "try again shortly",
                "max_jobs",
                self.retry_after,
            )
        if self._clients[client] >= self.per_client:
            return Busy(
                f"this client already runs {self._clients[client]} job(s) at once, the most "
                f"allowed (LOSSLAB_MAX_JOBS_PER_CLIENT={self.per_client}); wait for it to end",
                "max_jobs_per_client",
                self.retry_after,
            )
        return None

    def _acquire(self, client: str, job: Job) -> None:
        with self._lock:
            busy = self._refusal(client)
            if busy is not None:
                raise busy
            self.active += 1
            self._clients[client] += 1
            self._jobs.add(job)

    def _release(self, client: str, job: Job) -> None:
        with self._lock:
            self.active -= 1
            self._clients[client] -= 1
            if not self._clients[client]:
                del self._clients[client]
            self._jobs.discard(job)

    async def run(self, fn: Callable[[Job], T], client: str = "") -> T:
        """`fn(job)` in a worker thread, or Busy at once when no slot is free for `client`."""
        job = Job(deadline=time.monotonic() + self.seconds)
        self._acquire(client, job)

        def work() -> T:
            try:
                return fn(job)
            finally:
                self._release(client, job)

        try:
            # Abandoned on cancellation: the thread sees job.cancelled and ends on its own.
            return await to_thread.run_sync(work, abandon_on_cancel=True)
        except BaseException:
            job.cancelled = True
            raise

    def cancel_all(self) -> None:
        """Server shutdown: ask every running job to stop at its next check."""
        with self._lock:
            for job in self._jobs:
                job.cancelled = True

    def stats(self) -> dict[str, Any]:
        return {"slots": self.slots, "active": self.active, "seconds": self.seconds}
