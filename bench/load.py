"""Load: 50 WebSocket clients dragging a slider while a burst of map requests comes in.

Starts `losslab serve` on 127.0.0.1, then at once
- 50 clients each send 20 `run` messages on one socket, 5-50 ms apart, with a changing lr
  (as a dragged slider does), timing each from send to the first `frames` of that run_id;
- a burst of map requests (basins and hyperparameter maps), counting 429s apart from errors.
Prints errors (must be 0), p50/p95 time to first frame, the 429 count and the server's peak
RSS. Not a test: `make load` (LOAD_CLIENTS and LOAD_MAPS change the mix). Bounded to about a
minute; exits 1 on any error.

Every simulated user connects from 127.0.0.1, so the server's per-client limits are raised to
its totals: the figures are those of 50 separate users.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from served import served
from websockets.asyncio.client import connect

CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
CHANGES = 20
MAP_REQUESTS = int(os.environ.get("LOAD_MAPS", "24"))
DEADLINE_SECONDS = 90.0
RUN: dict[str, Any] = {"surface": "rosenbrock", "optimizer": "Adam", "steps": 400}
MAPS: dict[str, dict[str, Any]] = {
    "/api/maps/basins": {
        "surface": "himmelblau",
        "optimizer": "SGD",
        "hyperparameters": {"lr": 0.01},
        "steps": 100,
        "resolution": 32,
    },
    "/api/maps/hyperparameters": {
        "surface": "rosenbrock",
        "optimizer": "SGD",
        "steps": 100,
        "axes": {
            "x": {"name": "lr", "min": 1e-5, "max": 1e-2, "n": 16, "log": True},
            "y": {"name": "momentum", "min": 0.0, "max": 0.99, "n": 16},
        },
    },
}


@dataclass
class Tally:
    first_frame: list[float] = field(default_factory=list)
    superseded_before_first_frame: int = 0
    errors: list[str] = field(default_factory=list)
    maps_ok: int = 0
    maps_busy: int = 0


async def slider(url: str, client: int, tally: Tally) -> None:
    """One page: 20 live changes on one socket; every run but the last may be cancelled."""
    rng = random.Random(client)
    sent: dict[str, float] = {}
    first: dict[str, float] = {}
    ended: dict[str, str] = {}
    last = f"{client}-{CHANGES - 1}"
    async with connect(url.replace("http://", "ws://") + "/ws/runs", max_size=None) as ws:

        async def receive() -> None:
            while last not in ended:
                message = json.loads(await ws.recv())
                run_id, kind = message.get("run_id"), message["type"]
                if kind == "frames":
                    if run_id in ended:
                        tally.errors.append(f"frames of {run_id} after its {ended[run_id]}")
                    first.setdefault(run_id, time.perf_counter())
                elif kind in ("done", "cancelled"):
                    ended[run_id] = kind
                else:
                    tally.errors.append(f"{run_id}: {message}")
                    ended[run_id] = kind

        receiver = asyncio.create_task(receive())
        for change in range(CHANGES):
            run_id = f"{client}-{change}"
            lr = 10 ** rng.uniform(-3.5, -1.5)
            run = RUN | {"hyperparameters": {"lr": lr}}
            sent[run_id] = time.perf_counter()
            await ws.send(json.dumps({"type": "run", "run_id": run_id, **run}))
            await asyncio.sleep(rng.uniform(0.005, 0.05))
        await receiver
    if ended[last] != "done":
        tally.errors.append(f"{last} ended with {ended[last]}")
    for run_id, at in sent.items():
        if run_id in first:
            tally.first_frame.append(first[run_id] - at)
        else:
            tally.superseded_before_first_frame += 1


async def map_burst(url: str, paths: list[str], tally: Tally) -> None:
    async def one(client: httpx.AsyncClient, path: str) -> None:
        response = await client.post(f"{url}{path}", json=MAPS[path])
        if response.status_code == 200:
            tally.maps_ok += 1
        elif response.status_code == 429 and response.headers.get("retry-after"):
            tally.maps_busy += 1
        else:
            tally.errors.append(f"{path}: {response.status_code} {response.text[:200]}")

    if not MAP_REQUESTS:
        return
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(one(client, paths[i % len(paths)]) for i in range(MAP_REQUESTS)))


async def load(url: str) -> Tally:
    tally = Tally()
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    paths = [path for path in MAPS if path in spec["paths"]]
    if not paths:
        raise SystemExit("the server has no map endpoints")
    sliders = [slider(url, client, tally) for client in range(CLIENTS)]
    try:
        await asyncio.wait_for(
            asyncio.gather(map_burst(url, paths, tally), *sliders), DEADLINE_SECONDS
        )
    except (TimeoutError, OSError) as error:
        tally.errors.append(f"load did not finish: {error!r}")
    return tally


def warm_up(url: str) -> float:
    """One run on a fresh server: torch imports parts of itself on its first optimizer."""
    started = time.perf_counter()
    response = httpx.post(f"{url}/api/runs", json=RUN | {"steps": 5}, timeout=60)
    response.raise_for_status()
    return time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    limits = {
        "LOSSLAB_RUN_SECONDS": "30",
        "LOSSLAB_MAX_RUNS_PER_CLIENT": str(CLIENTS * 2),
        "LOSSLAB_MAX_JOBS_PER_CLIENT": "2",
    }
    with served(limits) as (url, server):
        cold = warm_up(url)
        started = time.perf_counter()
        tally = asyncio.run(load(url))
        elapsed = time.perf_counter() - started
        healthz = httpx.get(f"{url}/healthz", timeout=5).status_code
        rss = peak_rss_mib(server.pid)

    timings = sorted(tally.first_frame)
    print(f"{CLIENTS} WebSocket clients x {CHANGES} live changes, {MAP_REQUESTS} map requests")
    print(f"  first run after start:     {cold * 1000:.0f} ms (cold: not in the figures below)")
    print(f"  wall time:                 {elapsed:.1f} s")
    print(f"  errors:                    {len(tally.errors)}")
    for error in tally.errors[:10]:
        print(f"    {error}")
    ms = [t * 1000 for t in timings]
    print(f"  time to first frame p50:   {percentile(ms, 50):.1f} ms  ({len(ms)} runs)")
    print(f"  time to first frame p95:   {percentile(ms, 95):.1f} ms")
    print(f"  superseded before a frame: {tally.superseded_before_first_frame}")
    print(f"  maps answered / 429:       {tally.maps_ok} / {tally.maps_busy}")
    print(f"  /healthz after the load:   {healthz}")
    print(f"  server peak RSS (VmHWM):   {rss:.0f} MiB")
    print(f"  server exit code:          {server.returncode}")
    return 1 if tally.errors or healthz != 200 else 0


if __name__ == "__main__":
    sys.exit(main())
