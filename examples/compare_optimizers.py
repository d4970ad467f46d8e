"""SGD, SGD with momentum, Adam and RMSprop on Rosenbrock's valley, from the same start.

Run: python examples/compare_optimizers.py [--url http://127.0.0.1:8000] [--out DIR]
"""

import argparse
from pathlib import Path

import losslab

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", help="a losslab server (default: compute in this process)")
parser.add_argument("--out", type=Path, default=Path(__file__).with_name("out"))
args = parser.parse_args()
api = losslab.Client(args.url) if args.url else losslab.local  # the same methods either way

# Each run is a RunRequest as a dict: the optimizer's settings go in "hyperparameters".
settings = [
    ("SGD", {"lr": 5e-4}),
    ("SGD", {"lr": 5e-4, "momentum": 0.9}),
    ("Adam", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01}),
]
same = {"surface": "rosenbrock", "start": [-1.5, 2.0], "steps": 1000}
runs = api.runs({**same, "optimizer": name, "hyperparameters": hp} for name, hp in settings)

print(f"{'optimizer':<28}  {'status':<9}  {'steps':>5}  {'final loss':>10}")
for label, run in zip(runs.labels(), runs, strict=True):
    summary = run.summary
    print(f"{label:<28}  {run.status:<9}  {summary.steps_taken:>5}  {summary.final_loss:>10.3g}")
best = min(runs, key=lambda run: run.summary.final_loss)
print(f"lowest final loss: {best.label} ({best.analysis.outcome.detail})")

args.out.mkdir(parents=True, exist_ok=True)
for name, figure in [("paths", runs.figure()), ("loss", runs.loss_figure())]:
    path = args.out / f"compare_optimizers_{name}.html"
    figure.write_html(path, include_plotlyjs=True)  # plotly.js inlined: works offline
    print(f"figure: {path}")
