"""Runs through the fair run queue: validation, frames in slices, then the analysis.

Every piece of a run's CPU work is one `RunQueue.slice()`: the config is built and frame 0
computed in the first (so a page draws after one turn in the queue), the other frames in
slices of up to `SLICE_SECONDS`, and the analysis in the last. The run's clock
(losslab/engine.py) bounds the whole: compute time, the analysis included, up to the run's
limit. A run whose client left stops at the next slice: the routes stop asking for slices
(a cancelled task, or `client_gone`). Knows no HTTP.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from uuid import uuid4

from ..analysis import analyze
from ..engine import Frame, RunCancelled, RunConfig, Trajectory, summarize
from .runqueue import RunQueue, Ticket

SLICE_SECONDS = 0.03


def _next_batch(frames: Iterator[Frame], seconds: float, max_frames: int) -> list[Frame]:
    batch: list[Frame] = []
    deadline = time.perf_counter() + seconds
    for frame in frames:
        batch.append(frame)
        if len(batch) >= max_frames or time.perf_counter() >= deadline:
            break
    return batch


async def start(
    queue: RunQueue,
    ticket: Ticket,
    build: Callable[[], RunConfig],
    time_limit: float,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Trajectory, Iterator[Frame], list[Frame]]:
    """Validate the request and compute frame 0 in one slice, so that the first frame costs
    one turn in the queue: the trajectory, its frame iterator and the first batch.
    `should_stop` ends the run at its next step, even inside a slice."""

    def begin() -> tuple[Trajectory, Iterator[Frame], list[Frame]]:
        trajectory = Trajectory(build(), time_limit, should_stop)
        frames = iter(trajectory)
        return trajectory, frames, _next_batch(frames, 0.0, 1)

    return await queue.slice(ticket, begin)


async def frame_batches(
    queue: RunQueue, ticket: Ticket, frames: Iterator[Frame], max_frames: int
) -> AsyncIterator[list[Frame]]:
    """The rest of a trajectory's frames in batches, each computed in one slice."""
    while batch := await queue.slice(
        ticket, lambda: _next_batch(frames, SLICE_SECONDS, max_frames)
    ):
        yield batch


def done_payload(run_id: Any, trajectory: Trajectory, frames: list[Frame]) -> dict[str, Any]:
    """The Run without its frames (RunDone), analysis included, within the run's clock."""
    status = trajectory.status
    assert status is not None
    clock = trajectory.clock
    summary = summarize(frames, status, trajectory.reason)
    clock.resume()
    try:
        analysis = analyze(trajectory.config, frames, status, check=clock.check)
    finally:
        clock.pause()
    return {
        "run_id": run_id,
        "status": status,
        "summary": summary.as_dict(),
        "analysis": analysis,
    }


async def run_whole(
    queue: RunQueue,
    ticket: Ticket,
    build: Callable[[], RunConfig],
    time_limit: float,
    max_frames: int,
    client_gone: Callable[[], Awaitable[bool]],
) -> dict[str, Any]:
    """The whole Run (frames, summary, analysis), computed slice by slice.

    Between slices it asks `client_gone()` and raises RunCancelled when the answer is yes.
    """
    trajectory, rest, frames = await start(queue, ticket, build, time_limit)
    async for batch in frame_batches(queue, ticket, rest, max_frames):
        frames.extend(batch)
        if await client_gone():
            raise RunCancelled
    run_id = uuid4().hex
    done = await queue.slice(ticket, lambda: done_payload(run_id, trajectory, frames))
    return {**done, "frames": frames}
