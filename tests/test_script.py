"""'Copy as PyTorch': the exported script reproduces the API's trajectory digit for digit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

CASES: dict[str, dict[str, Any]] = {
    "reference": {
        "surface": "bowl", "optimizer": "SGD", "hyperparameters": {"lr": 0.1},
        "start": [3, 2], "steps": 10,
    },
    "adam, warmup + cosine, clip, noise": {
        "surface": "rosenbrock", "optimizer": "Adam", "hyperparameters": {"lr": 0.05},
        "steps": 300, "clip": {"max_norm": 5.0}, "noise": {"std": 0.5, "seed": 3},
        "scheduler": {"name": "CosineAnnealingLR", "params": {}, "warmup": {"steps": 20}},
    },
    "formula with LBFGS": {
        "surface": {"formula": "max(x, 1) + sin(y)**2 + 0.1*x**2 + pi",
                    "domain": {"x": [-4, 4], "y": [-4, 4]}},
        "optimizer": "LBFGS", "steps": 20,
    },
    "muon, plateau, clip value": {
        "surface": "himmelblau", "optimizer": "Muon", "hyperparameters": {"lr": 0.05},
        "steps": 100, "clip": {"max_value": 1.0},
        "scheduler": {"name": "ReduceLROnPlateau", "params": {"patience": 2}},
    },
    "momentum, one cycle, float64": {
        "surface": "four_wells", "optimizer": "SGD", "dtype": "float64",
        "hyperparameters": {"lr": 0.01, "momentum": 0.9}, "steps": 500,
        "scheduler": {"name": "OneCycleLR", "params": {}},
    },
    "diverging": {
        "surface": "elliptic", "optimizer": "SGD", "hyperparameters": {"lr": 0.09}, "steps": 500,
    },
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES), ids=str)
def test_exported_script_reproduces_the_run(client: TestClient, tmp_path: Path, name: str) -> None:
    body = CASES[name]
    run = client.post("/api/runs", json=body).json()
    response = client.post("/api/runs/script", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/x-python")
    script = tmp_path / "run.py"
    script.write_text(response.text)
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(response.text))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imports <= {"math", "torch"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    printed = [line.split() for line in done.stdout.splitlines() if not line.startswith("#")]
    got = [(int(s), float(x), float(y), float(loss)) for s, x, y, loss in printed]
    expected = [(f["step"], f["x"], f["y"], f["loss"]) for f in run["frames"]]
    assert got == expected
    if run["status"] != "max_steps":
        assert done.stdout.splitlines()[-1].startswith(f"# {run['status']}")


def test_script_rejects_what_runs_reject(client: TestClient) -> None:
    response = client.post("/api/runs/script", json=CASES["reference"] | {"optimizer": "nope"})
    assert response.status_code == 422
