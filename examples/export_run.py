"""One run exported four ways (CSV, pandas, JSON, a plain PyTorch script), then the script is
run to show that it prints the same final loss: the export reproduces the run.

Run: python examples/export_run.py [--url http://127.0.0.1:8000] [--out DIR]
"""

import argparse
import csv
import subprocess
import sys
from pathlib import Path

import losslab

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--url", help="a losslab server (default: compute in this process)")
parser.add_argument("--out", type=Path, default=Path(__file__).with_name("out"))
args = parser.parse_args()
api = losslab.Client(args.url) if args.url else losslab.local  # the same methods either way
args.out.mkdir(parents=True, exist_ok=True)

request = {"surface": "rosenbrock", "optimizer": "Adam", "hyperparameters": {"lr": 0.05},
           "start": [-1.5, 2.0], "steps": 1000}  # fmt: skip
run = api.run(request)
print(f"run: {run.label}, {run.status}, final loss {run.summary.final_loss!r}")

# One row per frame; Adam's state columns (state.exp_avg_0, ...) appear from step 1 on.
records = run.to_records()
columns = list(dict.fromkeys(key for record in records for key in record))
with open(args.out / "run.csv", "w", newline="") as file:
    writer = csv.DictWriter(file, fieldnames=columns)
    writer.writeheader()
    writer.writerows(records)
print(f"csv: {len(records)} rows, {len(columns)} columns")

try:  # pandas is optional: pip install -e '.[notebook]'
    print(run.to_pandas()[["step", "x", "y", "loss"]].tail(3).to_string(index=False))
except ImportError:
    print("pandas is not installed: to_pandas() skipped")

(args.out / "run.json").write_text(run.model_dump_json(indent=1))
script = args.out / "run_torch.py"
script.write_text(api.script(request))  # the page's "Copy as PyTorch"

# The script prints `step x y loss` per frame (round-trip floats), then maybe a `# ...` note.
printed = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
last = [line for line in printed.stdout.splitlines() if not line.startswith("#")][-1]
step, loss = int(last.split()[0]), float(last.split()[3])
same = step == run.summary.steps_taken and loss == run.summary.final_loss
print(f"torch script: step {step}, loss {loss!r}: {'same' if same else 'DIFFERENT'} as the run")

path = args.out / "export_run.html"
run.figure().write_html(path, include_plotlyjs=True)  # plotly.js inlined: works offline
print(f"figure: {path}")
sys.exit(0 if same else 1)
