"""What batching buys: maps against the torch loops they replace (ratios, one process).

    python bench/bench_maps.py [--repeats 3] [--threads N] [--sample 200]

- Basin map, Adam (lr 0.05) on himmelblau, 200 x 200 starts x 500 steps, against the bare
  batched loop of the same size (torch.optim.Adam on one (40000, 2) tensor, 500 steps of
  `zero_grad(); f(P).sum().backward(); step()`, nothing else; target: within 1.5x) and
  against one plain torch loop per start, timed on a sample of starts and extrapolated to
  40000 (target: at least 1000x faster). Cells that stop leave the batch, so the map can beat
  the bare loop; the same map at lr 1e-4, where no cell stops, shows the checks' overhead.
- Hyperparameter map, SGD lr x momentum on four_wells, 64 x 64 cells x 500 steps, against one
  torch.optim.SGD holding a parameter group per cell (the forward and backward batched, the
  optimizer looping over its 4096 groups), timed for a fraction of the steps and
  extrapolated (target: at least 20x faster); and the absolute time of the map.
- For scale: a map of an optimizer without a per-cell rule (a parameter group per cell).
- End to end (--end-to-end): the same basin map asked of a real `losslab serve` on 127.0.0.1,
  from the request to the decoded answer in this process, as JSON (gzip or not) and as LLB1
  (docs/API.md), against the bare batched loop timed here (target: LLB1 within 1.5x).

Threads: 1, as the app runs them (LOSSLAB_TORCH_THREADS), unless --threads says otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import time
from collections.abc import Callable

import httpx
import torch
from served import served

from losslab import maps
from losslab.landscapes.surfaces import get_surface
from losslab.maps import Axis
from losslab.optimizers import get_optimizer
from losslab.web import binary

RESOLUTION, STEPS = 200, 500
HIMMELBLAU = get_surface("himmelblau")
FOUR_WELLS = get_surface("four_wells")
LR_AXIS = Axis("lr", 1e-4, 0.05, 64, log=True)
MOMENTUM_AXIS = Axis("momentum", 0.0, 0.99, 64)


def seconds(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up
    return statistics.median(seconds(fn) for _ in range(repeats))


def paired(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median seconds of each, and the median ratio second / first of runs taken in turn
    (robust to a machine whose load changes between them)."""
    first(), second()  # warm up
    pairs = [(seconds(first), seconds(second)) for _ in range(repeats)]
    a, b = zip(*pairs, strict=True)
    return statistics.median(a), statistics.median(b), statistics.median(y / x for x, y in pairs)


def starts() -> torch.Tensor:
    xs = torch.linspace(*HIMMELBLAU.domain.x, RESOLUTION, dtype=torch.float64)
    ys = torch.linspace(*HIMMELBLAU.domain.y, RESOLUTION, dtype=torch.float64)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2).float()


def bare_batched_adam(points: torch.Tensor, lr: float) -> None:
    p = points.clone().requires_grad_()
    optimizer = torch.optim.Adam([p], lr=lr)
    for _ in range(STEPS):
        optimizer.zero_grad()
        HIMMELBLAU.fn(p).sum().backward()
        optimizer.step()


def one_loop_per_cell(points: torch.Tensor, lr: float) -> None:
    for start in points:
        p = start.clone().requires_grad_()
        optimizer = torch.optim.Adam([p], lr=lr)
        for _ in range(STEPS):
            optimizer.zero_grad()
            HIMMELBLAU.fn(p).backward()
            optimizer.step()


def basin(lr: float) -> maps.BasinMap:
    return maps.basin_map(HIMMELBLAU, get_optimizer("Adam"), {"lr": lr}, STEPS, RESOLUTION)


def hyperparameter_map() -> maps.HyperparameterMap:
    spec = get_optimizer("SGD")
    start = FOUR_WELLS.default_start
    return maps.hyperparameter_map(FOUR_WELLS, spec, {}, start, STEPS, LR_AXIS, MOMENTUM_AXIS)


def sgd_groups(steps: int) -> None:
    """One SGD with a parameter group per cell; forward and backward batched by stacking."""
    cells = [(lr, momentum) for momentum in MOMENTUM_AXIS.values() for lr in LR_AXIS.values()]
    params = [torch.tensor(FOUR_WELLS.default_start, requires_grad=True) for _ in cells]
    groups = [
        {"params": [p], "lr": lr, "momentum": m} for p, (lr, m) in zip(params, cells, strict=True)
    ]
    optimizer = torch.optim.SGD(groups)
    for _ in range(steps):
        optimizer.zero_grad()
        FOUR_WELLS.fn(torch.stack(params)).sum().backward()
        optimizer.step()


def fallback_map() -> maps.HyperparameterMap:
    lr, beta1 = Axis("lr", 1e-3, 0.5, 24, log=True), Axis("betas.0", 0.0, 0.99, 24)
    spec = get_optimizer("Adamax")
    return maps.hyperparameter_map(HIMMELBLAU, spec, {}, (0.0, 0.0), 100, lr, beta1)


def end_to_end(repeats: int) -> None:
    body = {
        "surface": "himmelblau",
        "optimizer": "Adam",
        "hyperparameters": {"lr": 0.05},
        "steps": STEPS,
        "resolution": RESOLUTION,
    }
    points = starts()
    print("\nend to end: the basin map above from `losslab serve`, decoded here")
    blocking = {"LOSSLAB_MAX_BLOCKING_MAP_SECONDS": "60"}
    with served(blocking) as (url, _), httpx.Client(timeout=120) as client:

        def ask(headers: dict[str, str]) -> tuple[int, object]:
            response = client.post(f"{url}/api/maps/basins", json=body, headers=headers)
            response.raise_for_status()
            wire = response.num_bytes_downloaded
            if response.headers["content-type"] == binary.BINARY:
                return wire, binary.unpack(response.content)
            return wire, json.loads(response.content)

        kinds = {
            "JSON": {"accept-encoding": "identity"},
            "JSON, gzip": {"accept-encoding": "gzip"},
            "LLB1": {"accept": binary.BINARY, "accept-encoding": "identity"},
        }
        for name, headers in kinds.items():
            size = ask(headers)[0]
            bare, asked, ratio = paired(
                functools.partial(bare_batched_adam, points, 0.05),
                functools.partial(ask, headers),
                repeats,
            )
            print(
                f"  {name:10}: {asked:.2f}s, bare batched loop {bare:.2f}s: {ratio:.2f}x the "
                f"bare loop; {size / 1e6:.2f} MB on the wire"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--end-to-end", action="store_true", help="also through a server")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sample", type=int, default=200, help="cells timed one by one")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    points, cells = starts(), RESOLUTION * RESOLUTION

    print(f"\nbasin map: Adam on himmelblau, {RESOLUTION}x{RESOLUTION} starts x {STEPS} steps")
    for lr in (0.05, 1e-4):
        bare, mapped, ratio = paired(
            functools.partial(bare_batched_adam, points, lr),
            functools.partial(basin, lr),
            args.repeats,
        )
        stopped = sum(s is not None for row in basin(lr).steps_to_converge for s in row)
        print(
            f"  lr {lr:g}: map {mapped:.2f}s, bare batched loop {bare:.2f}s: "
            f"{ratio:.2f}x the bare loop ({stopped / cells:.0%} of cells converge)"
        )
        if lr == 0.05:
            sample = points[random.Random(0).sample(range(cells), args.sample)]
            naive = seconds(functools.partial(one_loop_per_cell, sample, lr))
            naive *= cells / args.sample
            beside = seconds(functools.partial(basin, lr))  # the map timed next to it
            print(
                f"           one loop per cell: {naive:.0f}s (extrapolated from {args.sample}"
                f" cells): the map ({beside:.2f}s beside it) is {naive / beside:.0f}x faster"
            )

    print(f"\nhyperparameter map: SGD lr x momentum on four_wells, 64x64 cells x {STEPS} steps")
    mapped = median_seconds(hyperparameter_map, args.repeats)
    fraction = 50
    groups = seconds(functools.partial(sgd_groups, fraction)) * STEPS / fraction
    print(
        f"  map {mapped:.2f}s; one SGD with 4096 parameter groups: {groups:.1f}s "
        f"(extrapolated from {fraction} steps): the map is {groups / mapped:.0f}x faster"
    )

    fallback = median_seconds(fallback_map, 1)
    print(
        f"\nfor scale, parameter groups in a map: Adamax 24x24 cells x 100 steps: {fallback:.2f}s"
    )
    if args.end_to_end:
        end_to_end(args.repeats)


if __name__ == "__main__":
    main()
