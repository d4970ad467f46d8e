"""Basin maps of the four wells: from each start of a 40 × 40 grid, which minimum SGD reaches,
without momentum and with it.

Run: python examples/basin_map.py [--url http://127.0.0.1:8000] [--out DIR]
"""

import argparse
import sys
from collections import Counter
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


maps = {}
for momentum in (0.0, 0.9):
    maps[momentum] = api.basin_map(
        surface="four_wells", optimizer="SGD", lr=0.01, momentum=momentum, steps=300,
        resolution=40, progress=progress,
    )  # fmt: skip
    print(file=sys.stderr)

# outcome[i][j]: the index of the minimum reached from (x[j], y[i]); -1 diverged, -2 undecided.
counts = {m: Counter(cell for row in b.outcome for cell in row) for m, b in maps.items()}
print(f"{'minimum reached':<22}  {'momentum 0':>10}  {'momentum 0.9':>12}")
for k, minimum in enumerate(maps[0.0].minima):
    plain, heavy = (counts[m][k] / counts[m].total() for m in (0.0, 0.9))
    where = f"{minimum.kind} at ({minimum.x:g}, {minimum.y:g})"
    print(f"{where:<22}  {plain:>10.1%}  {heavy:>12.1%}")
# Without momentum each start stays in its quadrant's well; momentum carries runs over the
# ridges, most often into the deepest (global) well.

args.out.mkdir(parents=True, exist_ok=True)
path = args.out / "basin_map.html"
maps[0.9].figure().write_html(path, include_plotlyjs=True)  # plotly.js inlined: offline
print(f"figure: {path}")
