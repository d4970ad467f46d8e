"""How much the engine and the API add to a bare torch loop (ratios, measured in one process).

    python bench/bench_engine.py [--steps 2000] [--repeats 7]

For each case: the seed-style loop (`zero_grad(); loss.backward(); step()` on a 2-vector),
the engine producing every frame, and `POST /api/runs` through the ASGI stack in-process
(validation, engine in a worker thread, JSON encoding). Medians of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import pytorch_optimizer
import torch
from fastapi.testclient import TestClient

from losslab import engine
from losslab.landscapes.surfaces import get_surface
from losslab.main import create_app

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("rosenbrock", "SGD", {"lr": 1e-4}),
    ("rosenbrock", "Adam", {"lr": 1e-3}),
    ("himmelblau", "RMSprop", {"lr": 1e-3}),
    # pytorch_optimizer, one per family the engine steps differently
    ("rosenbrock", "Lion", {"lr": 1e-3}),
    ("rosenbrock", "AdaHessian", {"lr": 0.05}),
    ("himmelblau", "SAM", {"base_optimizer": "SGD", "lr": 1e-3}),
    ("himmelblau", "Lookahead", {"base_optimizer": "Adam", "lr": 1e-2}),
    ("rosenbrock", "ScheduleFreeAdamW", {"lr": 1e-2}),
]


def _library_optimizer(name: str, hp: dict[str, Any], x: torch.Tensor) -> Any:
    """The class as its documentation builds it (a wrapper over its base, by hand)."""
    hp = dict(hp)
    base = hp.pop("base_optimizer", None)
    if name == "SAM":
        return pytorch_optimizer.SAM([x], getattr(torch.optim, base), **hp)
    if name == "Lookahead":
        return pytorch_optimizer.Lookahead(getattr(torch.optim, base)([x], **hp))
    cls = getattr(torch.optim, name, None) or getattr(pytorch_optimizer, name)
    return cls([x], **hp)


def bare_loop(surface: str, optimizer: str, hp: dict[str, Any], steps: int) -> None:
    """The documented loop of each family, nothing recorded."""
    f = get_surface(surface).fn
    x = torch.tensor(get_surface(surface).default_start, requires_grad=True)
    opt = _library_optimizer(optimizer, hp, x)
    if optimizer.startswith("ScheduleFree"):
        opt.train()

    @torch.enable_grad()
    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = f(x)
        if optimizer == "AdaHessian":
            (x.grad,) = torch.autograd.grad(loss, x, create_graph=True)
        else:
            loss.backward()
        return loss

    for _ in range(steps):
        closure()
        if optimizer == "SAM":
            opt.step(closure)
        else:
            opt.step()


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(
    client: TestClient, surface: str, optimizer: str, hp: dict[str, Any], steps: int, repeats: int
) -> tuple[float, float, float]:
    """Median seconds of the bare loop, the engine and the API for one case."""
    body: dict[str, Any] = {
        "surface": surface,
        "optimizer": optimizer,
        "hyperparameters": hp,
        "steps": steps,
    }
    config = engine.make_config(
        surface=surface, optimizer=optimizer, hyperparameters=hp, steps=steps
    )

    # A run may converge before its last step: the API must answer the engine's frames.
    frames = len(list(engine.Trajectory(config)))

    def via_api() -> None:
        response = client.post("/api/runs", json=body)
        assert response.status_code == 200
        assert len(response.json()["frames"]) == frames

    bare = median_seconds(lambda: bare_loop(surface, optimizer, hp, steps), repeats)
    eng = median_seconds(lambda: list(engine.Trajectory(config)), repeats)
    return bare, eng, median_seconds(via_api, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    client = TestClient(create_app())
    print(f"{args.steps} steps, median of {args.repeats}, torch {torch.__version__}")
    header = ["case", "bare loop", "engine", "API", "engine/bare", "API/bare"]
    print(
        f"{header[0]:24} {header[1]:>10} {header[2]:>10} {header[3]:>10} {header[4]:>12} "
        f"{header[5]:>9}"
    )
    for surface, optimizer, hp in CASES:
        bare, eng, api = measure(client, surface, optimizer, hp, args.steps, args.repeats)
        print(
            f"{optimizer + ' on ' + surface:24} {bare * 1e3:8.1f}ms {eng * 1e3:8.1f}ms "
            f"{api * 1e3:8.1f}ms {eng / bare:11.2f}x {api / bare:8.2f}x"
        )


if __name__ == "__main__":
    main()
