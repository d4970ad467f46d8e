"""What the Python client adds to a bare torch loop (ratios, measured in one process).

    python bench/bench_client.py [--steps 2000] [--repeats 7]

For each case: the bare loop (bench_engine.py's), `losslab.run(...)` in process (the engine,
the analysis, strict JSON and the typed result), and over HTTP against a uvicorn server in a
thread of this process on 127.0.0.1: a hand-written httpx POST (what a script did before the
client), `Client.run` and `Client.stream` (SSE). Then the cost of `import losslab` in a fresh
interpreter, a run's figure, and a live session's replaced runs. Medians of the repeats.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import torch
import uvicorn
from bench_engine import bare_loop, median_seconds

import losslab
from losslab.main import create_app

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("rosenbrock", "SGD", {"lr": 1e-4}),
    ("rosenbrock", "Adam", {"lr": 1e-3}),
    ("himmelblau", "RMSprop", {"lr": 1e-3}),
    ("rosenbrock", "Lion", {"lr": 1e-3}),
]


@contextmanager
def serving() -> Iterator[str]:
    """The app under uvicorn in a thread, on a free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def import_seconds(repeats: int) -> float:
    """`import losslab` in a fresh interpreter (torch included), median."""
    code = "import time; t = time.perf_counter(); import losslab; print(time.perf_counter() - t)"
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(repeats)
    ]  # fmt: skip
    return statistics.median(times)


def measure(
    client: losslab.Client,
    raw: httpx.Client,
    surface: str,
    optimizer: str,
    hp: dict[str, Any],
    steps: int,
    repeats: int,
) -> list[float]:
    """Median seconds of one case: bare loop, in process, httpx by hand, Client, stream."""
    kwargs: dict[str, Any] = {"surface": surface, "optimizer": optimizer, "steps": steps}
    body = {**kwargs, "hyperparameters": hp}

    def by_hand() -> None:
        answer = raw.post("/api/runs", json=body)
        answer.raise_for_status()
        answer.json()

    return [
        median_seconds(lambda: bare_loop(surface, optimizer, hp, steps), repeats),
        median_seconds(lambda: losslab.run(**kwargs, **hp), repeats),
        median_seconds(by_hand, repeats),
        median_seconds(lambda: client.run(**kwargs, **hp), repeats),
        median_seconds(lambda: client.stream(**kwargs, **hp).run(), repeats),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps, repeats = args.steps, args.repeats
    print(f"{steps} steps, median of {repeats}, torch {torch.__version__}")
    columns = ["bare", "local", "httpx", "Client", "stream"]
    print(f"{'case':24}" + "".join(f"{c:>10}" for c in columns) + "   ratios to bare")
    with serving() as url, losslab.Client(url) as client, httpx.Client(base_url=url) as raw:
        for surface, optimizer, hp in CASES:
            seconds = measure(client, raw, surface, optimizer, hp, steps, repeats)
            ratios = " ".join(f"{s / seconds[0]:.2f}x" for s in seconds[1:])
            print(
                f"{optimizer + ' on ' + surface:24}"
                + "".join(f"{s * 1e3:8.1f}ms" for s in seconds)
                + f"   {ratios}"
            )
        run = losslab.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
        run.figure()  # the landscape's grid is computed once per surface, then cached
        figure = median_seconds(run.figure, repeats)
        print(f"run.figure() (500 frames, cached landscape): {figure * 1e3:.1f} ms")
        with client.live() as live:
            start = time.perf_counter()
            for lr in (0.001, 0.002, 0.005, 0.01, 0.02):
                live.send(surface="rosenbrock", optimizer="Adam", lr=lr, steps=steps)
            last = live.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
            elapsed = time.perf_counter() - start
        print(
            f"live session: 5 runs replaced, then a 500-step run: {elapsed * 1e3:.0f} ms "
            f"({len(last.frames)} frames)"
        )
    print(f"import losslab (fresh interpreter): {import_seconds(3) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
