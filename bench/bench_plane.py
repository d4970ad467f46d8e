"""What a network loss plane costs (losslab/landscapes/network.py), against bare torch loops in one
process.

    python bench/bench_plane.py [--threads 1] [--repeats 5] [--dataset moons]

- θ*'s training (full-batch Adam, STAR_STEPS steps, recording θ_t, loss and accuracy per
  step) against the bare nn.Module loop, cold (as a fresh server pays it) and warm;
- a 100×100 grid of the plane: batched (vmap over functional_call) in float64 (what
  Surface.grid gives by default) and float32, against a Python loop over a sample of cells,
  extrapolated to the whole grid;
- one optimizer step on the plane, as a bare torch loop and through the engine, against one
  training step of the network itself (its forward and backward on all weights);
- train_network end to end, full batch and mini-batches.

Medians of the repeats.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import torch
from bench_engine import median_seconds
from torch import nn
from torch.nn.utils import vector_to_parameters

from losslab import engine
from losslab.landscapes import network
from losslab.optimizers import get_optimizer

GRID = 100
LOOP_SAMPLE = 200
STEPS = 500


def bare_network_training(dataset: str, steps: int) -> None:
    x, labels = network.make_dataset(dataset)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
    )
    vector_to_parameters(network.init_theta(0), model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=network.STAR_HYPERPARAMETERS["lr"])
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        optimizer.step()


def bare_plane_steps(fn: Callable[[torch.Tensor], torch.Tensor], steps: int) -> None:
    p = torch.tensor([0.6, 0.45], requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        fn(p).backward()
        optimizer.step()


def row(label: str, seconds: float, reference: float | None = None, unit: float = 1.0) -> None:
    ratio = "" if reference is None else f"{seconds / reference:9.2f}x"
    print(f"  {label:46} {seconds * unit:10.3f} {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dataset", choices=network.DATASETS, default="moons")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset, repeats = args.dataset, args.repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {repeats}")

    start = time.perf_counter()
    surface = network.plane_surface(dataset, 0, "random")
    first_build = time.perf_counter() - start
    print(f"\nθ* ({network.STAR_STEPS} steps of full-batch Adam on {dataset}), seconds")
    bare = median_seconds(lambda: bare_network_training(dataset, network.STAR_STEPS), repeats)
    row("bare nn.Module loop (warm)", bare)
    row("θ* training, first torch work of the process", surface.training_seconds, bare)
    row("plane_surface at first use (training + minimum)", first_build, bare)
    adam = get_optimizer("Adam")
    same_loop = partial(
        network.train_network, dataset, 0, adam, network.STAR_HYPERPARAMETERS, network.STAR_STEPS
    )
    row("the same training, warm (train_network)", median_seconds(same_loop, repeats), bare)

    print(f"\n{GRID}×{GRID} grid of the plane, seconds")
    fn = surface.fn
    sample = torch.rand(LOOP_SAMPLE, 2, dtype=torch.float64) * 2 - 1

    def python_loop() -> None:
        with torch.no_grad():
            for point in sample:
                fn(point)

    loop = median_seconds(python_loop, repeats) * GRID * GRID / LOOP_SAMPLE
    row(f"Python loop over cells (from {LOOP_SAMPLE}), float64", loop)
    for name, dtype in engine.DTYPES.items():
        batched = median_seconds(partial(surface.grid, GRID, dtype), repeats)
        row(f"batched Surface.grid, {name}", batched, loop)

    print("\none optimizer step (Adam), µs (ratios against a training step of the network)")
    network_step = median_seconds(lambda: bare_network_training(dataset, STEPS), repeats) / STEPS
    row("training step of the network itself", network_step, unit=1e6)
    plane = median_seconds(lambda: bare_plane_steps(fn, STEPS), repeats) / STEPS
    row("bare torch loop on the plane", plane, network_step, unit=1e6)
    for name in engine.DTYPES:
        config = engine.make_config(
            surface=surface, optimizer="Adam", hyperparameters={"lr": 0.01}, steps=STEPS, dtype=name
        )
        eng = median_seconds(partial(list, engine.Trajectory(config)), repeats)
        row(f"engine on the plane, {name}", eng / (STEPS + 1), network_step, unit=1e6)

    print(f"\ntrain_network ({STEPS} steps of Adam, 60×60 grid), seconds")
    for batch_size in (None, 32):
        training = partial(network.train_network, dataset, 0, adam, {}, STEPS, batch_size)
        row(f"batch_size={batch_size}", median_seconds(training, repeats))


if __name__ == "__main__":
    main()
