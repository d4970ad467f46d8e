"""Sweep SGD's learning rate on the elliptic valley: it diverges past 2/λ, λ the sharpness.

Run: python examples/lr_sweep.py [--url http://127.0.0.1:8000] [--out DIR]
"""

import argparse
from pathlib import Path

import losslab

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", help="a losslab server (default: compute in this process)")
parser.add_argument("--out", type=Path, default=Path(__file__).with_name("out"))
args = parser.parse_args()
api = losslab.Client(args.url) if args.url else losslab.local  # the same methods either way

# λ, the largest Hessian eigenvalue: gradient descent is stable while lr·λ < 2.
surface = next(s for s in api.surfaces() if s.name == "elliptic")
assert surface.sharpness is not None
sharpness = surface.sharpness
print(f"elliptic: sharpness λ = {sharpness:g}, stability limit 2/λ = {2 / sharpness:g}")

# One batched pass runs SGD once per lr: 13 values from 0.01 to 0.16 on a log axis.
axis = {"name": "lr", "min": 0.01, "max": 0.16, "n": 13, "log": True}
sweep = api.sweep(surface="elliptic", optimizer="SGD", steps=200, axis=axis)

print(f"{'lr':>8}  {'lr·λ':>5}  {'status':<9}  {'steps':>5}  final loss")
rows = zip(sweep.values, sweep.status, sweep.steps_taken, sweep.final_loss, strict=True)
for lr, status, steps, loss in rows:
    final = "-" if loss is None else f"{loss:.3g}"
    print(f"{lr:8.4f}  {lr * sharpness:5.2f}  {status:<9}  {steps:>5}  {final}")
# At lr·λ = 2 exactly, the steep direction bounces between ±y for ever: it never settles.

first = sweep.values[sweep.status.index("diverged")]  # the values ascend
print(f"first diverging lr: {first:.4g} = {first * sharpness:.2f}/λ")

args.out.mkdir(parents=True, exist_ok=True)
path = args.out / "lr_sweep.html"
sweep.figure().write_html(path, include_plotlyjs=True)  # plotly.js inlined: works offline
print(f"figure: {path}")
