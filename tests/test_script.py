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
    "param groups, Adam on Rosenbrock": {
        "surface": "rosenbrock", "optimizer": "Adam", "hyperparameters": {"lr": 0.05},
        "steps": 200, "param_groups": [{"betas": [0.5, 0.9]}, {"lr": 0.01, "amsgrad": True}],
    },
    "param groups, SGD with a step schedule": {
        "surface": "elliptic", "optimizer": "SGD", "hyperparameters": {"lr": 0.05,
        "momentum": 0.9}, "steps": 100, "param_groups": [{}, {"lr": 0.01, "nesterov": True}],
        "scheduler": {"name": "StepLR", "params": {"step_size": 30}},
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
    # One per family of the optimizer zoo (pytorch_optimizer), and the special constructors.
    "lion": {
        "surface": "rosenbrock", "optimizer": "Lion", "hyperparameters": {"lr": 0.01},
        "steps": 200, "noise": {"std": 0.3, "seed": 5},
    },
    "closure: AliG": {
        "surface": "himmelblau", "optimizer": "AliG", "hyperparameters": {"max_lr": 0.1},
        "steps": 60,
    },
    "hessian: AdaHessian, seeded probes": {
        "surface": "rosenbrock", "optimizer": "AdaHessian",
        "hyperparameters": {"lr": 0.1, "hessian_distribution": "gaussian"}, "steps": 80,
        "noise": {"std": 0.1, "seed": 11},
    },
    "sharpness: SAM over SGD": {
        "surface": "four_wells", "optimizer": "SAM", "steps": 150,
        "hyperparameters": {"base_optimizer": "SGD", "rho": 0.1, "lr": 0.01, "momentum": 0.9},
    },
    "sharpness with a model: WSAM over Adam": {
        "surface": "himmelblau", "optimizer": "WSAM", "steps": 80,
        "hyperparameters": {"base_optimizer": "Adam", "lr": 0.05},
    },
    "wrapper: Lookahead over Adam, cosine": {
        "surface": "rosenbrock", "optimizer": "Lookahead", "steps": 150,
        "hyperparameters": {"base_optimizer": "Adam", "k": 5, "alpha": 0.5, "lr": 0.05},
        "scheduler": {"name": "CosineAnnealingLR", "params": {}},
    },
    "schedule-free: evaluation points": {
        "surface": "rosenbrock", "optimizer": "ScheduleFreeAdamW",
        "hyperparameters": {"lr": 0.05}, "steps": 150,
    },
    "parameter groups: pytorch_optimizer's Muon": {
        "surface": "himmelblau", "optimizer": "pytorch_optimizer.Muon",
        "hyperparameters": {"lr": 0.05}, "steps": 60,
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
    library = {"pytorch_optimizer"} if run_source(client, body) == "pytorch_optimizer" else set()
    assert imports <= {"math", "torch"} | library
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    printed = [line.split() for line in done.stdout.splitlines() if not line.startswith("#")]
    got = [(int(s), float(x), float(y), float(loss)) for s, x, y, loss in printed]
    expected = [(f["step"], f["x"], f["y"], f["loss"]) for f in run["frames"]]
    assert got == expected
    if run["status"] != "max_steps":
        assert done.stdout.splitlines()[-1].startswith(f"# {run['status']}")


def run_source(client: TestClient, body: dict[str, Any]) -> str:
    listed = client.get("/api/optimizers").json()
    return str(next(o["source"] for o in listed if o["name"] == body["optimizer"]))


def test_script_rejects_what_runs_reject(client: TestClient) -> None:
    response = client.post("/api/runs/script", json=CASES["reference"] | {"optimizer": "nope"})
    assert response.status_code == 422
