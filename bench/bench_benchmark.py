"""What a benchmark costs: the default benchmark's wall time, and each path against the bare
torch loops that compute the same cells one by one.

    python bench/bench_benchmark.py [--repeats 3]

The issue's target: the default benchmark (9 optimizers × 5 surfaces × 16 lrs × 16 starts ×
500 steps: 1,845,760 cell steps, 20,480 runs) finishes in under a minute on a 2-core machine.

Each path is measured on Rosenbrock (16 lrs × 16 starts × 500 steps) against the bare loop of
every cell in the same process: `zero_grad(); f(p).backward(); step()` on a fresh 2-vector and
a fresh optimizer per cell, with the first-hit check (`loss.item() <= target`) a person
writing the loop would add, and nothing else (no divergence or convergence checks). A ratio
under 1 means the benchmark computes the same cells faster than the loops would.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from losslab import benchmark
from losslab.benchmark import Entry, LrGrid, Request
from losslab.optimizers import OPTIMIZERS

PAIR = Request(surfaces=("rosenbrock",), steps=500)
CASES = [
    (Entry("SGD", {"momentum": 0.9}), "per_cell: a per-cell rule"),
    (Entry("Adam"), "per_cell: a per-cell rule"),
    (Entry("Lion"), "rows: a parameter group per lr"),
    (Entry("Lamb"), "per_cell: a parameter group per cell"),
]
SINGLE = (Entry("SAM"), "single: the engine's runs one by one")


def timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def benchmark_pair(entry: Entry, request: Request) -> float:
    checked = benchmark.plan(Request(**{**request.__dict__, "optimizers": (entry,)}))
    began = time.perf_counter()
    progress = benchmark._Progress(checked.work(), None, None)
    benchmark.run_pair(checked.contenders[0], checked.goals[0], checked.lrs, request, progress)
    return time.perf_counter() - began


def bare_loops(entry: Entry, request: Request) -> float:
    """Every cell as its own plain torch loop."""
    checked = benchmark.plan(Request(**{**request.__dict__, "optimizers": (entry,)}))
    goal = checked.goals[0]
    began = time.perf_counter()
    for lr in checked.lrs:
        for start in goal.starts:
            bare_loop(entry, lr, start, goal, request.steps)
    return time.perf_counter() - began


def bare_loop(
    entry: Entry, lr: float, start: tuple[float, float], goal: benchmark.Goal, steps: int
) -> None:
    spec, fn = OPTIMIZERS[entry.name], goal.surface.fn
    p = torch.tensor(start).requires_grad_()
    optimizer = spec.create([p], {**entry.hyperparameters, "lr": lr})

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        with torch.enable_grad():
            loss = fn(p)
            loss.backward()
        return loss

    for _ in range(steps + 1):
        loss = closure()
        if loss.item() <= goal.target:
            pass
        if spec.needs_closure:
            optimizer.step(closure)  # type: ignore[arg-type]
        else:
            optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    def default() -> None:
        benchmark.run(benchmark.plan(Request()))

    wall = timed(default, args.repeats)
    estimate = benchmark.plan(Request()).estimated_seconds()
    print(
        f"default benchmark: {wall:.1f} s wall (median of {args.repeats}), "
        f"estimated {estimate:.1f} s"
    )
    print()
    print("| optimizer | path | benchmark | bare loops | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for entry, path in CASES:
        ours = statistics.median(benchmark_pair(entry, PAIR) for _ in range(args.repeats))
        bare = statistics.median(bare_loops(entry, PAIR) for _ in range(args.repeats))
        print(f"| {entry.title()} | {path} | {ours:.2f} s | {bare:.2f} s | {ours / bare:.3f}× |")
    small = Request(surfaces=("rosenbrock",), steps=200, starts=4, lr=LrGrid(1e-4, 1.0, 5))
    entry, path = SINGLE
    ours = benchmark_pair(entry, small)
    bare = bare_loops(entry, small)
    print(
        f"| {entry.title()} (20 runs × 200 steps) | {path} | {ours:.2f} s | {bare:.2f} s "
        f"| {ours / bare:.2f}× |"
    )


if __name__ == "__main__":
    main()
