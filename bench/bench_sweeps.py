"""What a sweep costs: one batched pass for every value of a slider against one exact run.

    python bench/bench_sweeps.py [--repeats 7]

The page asks for a sweep of 97 values when a slider is grabbed, then shows the nearest
swept path on every input event. The issue's target: a 97-value x 1,000-step sweep takes at
most 3x one exact 1,000-step run, end to end. Measured here, SGD (momentum 0.9) on
Rosenbrock, lr from 1e-5 to 1e-2 on a log axis:

- in process (1 thread, as the app runs): the sweep against one engine run and against the
  bare torch loop of one run (`zero_grad(); f(p).backward(); step()`, nothing else), and
  against the bare batched loop of 97 rows (one lr: torch.optim cannot give rows their own);
- end to end on a real `losslab serve` on 127.0.0.1: POST /api/sweeps as LLB1 (the page's
  encoding) and as JSON (scripts), against POST /api/runs of one run, each from the request
  to the decoded answer.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping
from typing import Any

import httpx
import torch
from bench_maps import paired, seconds
from served import served

from losslab import engine, sweeps
from losslab.landscapes.surfaces import get_surface
from losslab.maps import Axis
from losslab.optimizers import get_optimizer
from losslab.web import binary

STEPS, VALUES = 1000, 97
ROSENBROCK = get_surface("rosenbrock")
START = (-1.5, 2.0)
HP = {"lr": 0.001, "momentum": 0.9}
AXIS = Axis("lr", 1e-5, 1e-2, VALUES, log=True)
RUN = {"surface": "rosenbrock", "optimizer": "SGD", "hyperparameters": HP, "start": list(START),
       "steps": STEPS}  # fmt: skip
SWEEP = RUN | {"axis": {"name": "lr", "min": 1e-5, "max": 1e-2, "n": VALUES, "log": True}}


def make(hyperparameters: Mapping[str, Any], start: tuple[float, float]) -> engine.RunConfig:
    return engine.make_config(
        surface=ROSENBROCK, optimizer="SGD", hyperparameters=hyperparameters, start=start,
        steps=STEPS,
    )  # fmt: skip


def one_sweep() -> sweeps.Sweep:
    config, values = sweeps.check(get_optimizer("SGD"), HP, START, make, AXIS)
    return sweeps.sweep(config, AXIS, values)


def bare_loop(rows: int) -> None:
    p = torch.tensor([START] * rows).requires_grad_()
    optimizer = torch.optim.SGD([p], **HP)  # type: ignore[arg-type]
    for _ in range(STEPS):
        optimizer.zero_grad()
        ROSENBROCK.fn(p).sum().backward()
        optimizer.step()


def in_process(repeats: int) -> None:
    print(f"in process: {VALUES} values x {STEPS} steps, SGD on rosenbrock, 1 thread")
    bare_s, sweep_s, ratio = paired(lambda: bare_loop(1), one_sweep, repeats)
    print(f"  sweep                        {sweep_s * 1000:7.1f} ms")
    print(f"  bare torch loop, one run     {bare_s * 1000:7.1f} ms   sweep / it: {ratio:.2f}x")
    run_s, _, ratio = paired(lambda: engine.run(make(HP, START)), one_sweep, repeats)
    print(f"  engine, one run              {run_s * 1000:7.1f} ms   sweep / it: {ratio:.2f}x")
    batched_s, _, ratio = paired(lambda: bare_loop(VALUES), one_sweep, repeats)
    print(
        f"  bare batched loop, {VALUES} rows  {batched_s * 1000:7.1f} ms   sweep / it: {ratio:.2f}x"
    )


def end_to_end(repeats: int) -> None:
    print(f"\nend to end: losslab serve on 127.0.0.1, median of {repeats}")
    with served() as (url, _), httpx.Client(base_url=url, timeout=60) as client:

        def run() -> None:
            client.post("/api/runs", json=RUN).raise_for_status()

        def llb1() -> None:
            response = client.post("/api/sweeps", json=SWEEP, headers={"accept": binary.BINARY})
            binary.unpack(response.raise_for_status().content)

        def as_json() -> None:
            client.post("/api/sweeps", json=SWEEP).raise_for_status().json()

        run_s, sweep_s, ratio = paired(run, llb1, repeats)
        size = len(
            client.post("/api/sweeps", json=SWEEP, headers={"accept": binary.BINARY}).content
        )
        print(f"  POST /api/runs, one run      {run_s * 1000:7.1f} ms")
        print(f"  POST /api/sweeps, LLB1       {sweep_s * 1000:7.1f} ms   / one run: {ratio:.2f}x"
              f"  (target <= 3x; {size / 1e6:.2f} MB)")  # fmt: skip
        json_s = statistics.median(seconds(as_json) for _ in range(max(3, repeats // 2)))
        print(f"  POST /api/sweeps, JSON       {json_s * 1000:7.1f} ms   / one run: "
              f"{json_s / run_s:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    in_process(args.repeats)
    end_to_end(args.repeats)


if __name__ == "__main__":
    main()
