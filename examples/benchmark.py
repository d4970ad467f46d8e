"""A small benchmark: four optimizers, each with its lr tuned on the same log grid, on two
surfaces from the same seeded random starts.

Run: python examples/benchmark.py [--url http://127.0.0.1:8000] [--out DIR]
"""

import argparse
import sys
from pathlib import Path

import losslab

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", help="a losslab server (default: compute in this process)")
parser.add_argument("--out", type=Path, default=Path(__file__).with_name("out"))
args = parser.parse_args()
api = losslab.Client(args.url) if args.url else losslab.local  # the same methods either way


def progress(fraction: float) -> None:
    """A text progress bar on stderr, redrawn in place (a server streams its progress too)."""
    bar = "#" * round(30 * fraction)
    print(f"\r[{bar:<30}] {fraction:4.0%}", end="", file=sys.stderr, flush=True)


# An optimizer is a name, or {name, hyperparameters, label} for a variant. A run succeeds when
# its loss comes within `tolerance` (default 1e-3) of the global minimum; each optimizer's lr
# is the grid value with the highest success rate (ties: fewer steps to the target).
result = api.benchmark(
    optimizers=["SGD", {"name": "SGD", "hyperparameters": {"momentum": 0.9},
                        "label": "SGD momentum"}, "Adam", "RMSprop"],
    surfaces=["elliptic", "four_wells"],
    lr={"min": 1e-3, "max": 1.0, "n": 7},
    starts=8,
    steps=300,
    progress=progress,
)  # fmt: skip
print(file=sys.stderr)
print(result.to_markdown())

args.out.mkdir(parents=True, exist_ok=True)
path = args.out / "benchmark.html"
result.figure().write_html(path, include_plotlyjs=True)  # plotly.js inlined: works offline
print(f"figure: {path}")
