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


UPLOADED = {"x": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5], "y": [1.2, 1.9, 3.2, 3.8, 5.1, 6.2, 6.8]}
LABELLED = {"x": [-2.0, -1.0, -0.5, 0.25, 1.0, 2.0, 3.0], "y": [0, 0, 1, 0, 1, 1, 0]}
MODEL_CASES: dict[str, dict[str, Any]] = {
    "linear, full batch, SGD momentum, float64": {
        "surface": {"model": "linear_regression", "dataset": "noisy_line", "seed": 2},
        "optimizer": "SGD", "hyperparameters": {"lr": 0.05, "momentum": 0.9}, "steps": 150,
        "dtype": "float64",
    },
    "linear without bias, one sample per step in data order, float64": {
        "surface": {"model": "linear_regression", "dataset": "tiny", "bias": False,
                    "batch_size": 1, "shuffle": False},
        "optimizer": "SGD", "hyperparameters": {"lr": 0.01}, "start": [1.0], "steps": 200,
        "dtype": "float64",
    },
    "linear, uploaded, batches of 2 shuffled, Adam, noise, clip, plateau": {
        "surface": {"model": "linear_regression", "dataset": UPLOADED, "batch_size": 2,
                    "seed": 7},
        "optimizer": "Adam", "hyperparameters": {"lr": 0.1}, "steps": 200,
        "noise": {"std": 0.5, "seed": 1}, "clip": {"max_norm": 2.0, "norm_type": 3.0},
        "scheduler": {"name": "ReduceLROnPlateau", "params": {"patience": 3}},
    },
    "logistic cross-entropy, batches of 2 shuffled, Adam": {
        "surface": {"model": "logistic_regression", "batch_size": 2, "seed": 5},
        "optimizer": "Adam", "hyperparameters": {"lr": 0.05}, "steps": 200,
    },
    "logistic mse, one sample per step shuffled, SGD momentum, float64": {
        "surface": {"model": "logistic_regression", "loss": "mse", "batch_size": 1, "seed": 4},
        "optimizer": "SGD", "hyperparameters": {"lr": 0.3, "momentum": 0.9}, "steps": 200,
        "dtype": "float64",
    },
    "logistic mse, full batch, Adam, warmup + cosine": {
        "surface": {"model": "logistic_regression", "loss": "mse"},
        "optimizer": "Adam", "hyperparameters": {"lr": 0.2}, "steps": 150,
        "scheduler": {"name": "CosineAnnealingLR", "params": {}, "warmup": {"steps": 20}},
    },
    "logistic mse, uploaded, batches of 2 in data order, RMSprop, clip value, float64": {
        "surface": {"model": "logistic_regression", "loss": "mse", "dataset": LABELLED,
                    "batch_size": 2, "shuffle": False},
        "optimizer": "RMSprop", "hyperparameters": {"lr": 0.05}, "steps": 150,
        "clip": {"max_value": 0.05}, "dtype": "float64",
    },
    "logistic cross-entropy, full batch, param groups, float64, converges": {
        "surface": {"model": "logistic_regression"},
        "optimizer": "SGD", "hyperparameters": {"lr": 3.0, "momentum": 0.3}, "steps": 1000,
        "dtype": "float64", "param_groups": [{}, {"lr": 2.0, "momentum": 0.5}],
    },
    "linear, full batch, clip inf, converges on the gradient before clipping": {
        "surface": {"model": "linear_regression", "dataset": "tiny"},
        "optimizer": "SGD", "hyperparameters": {"lr": 0.15, "momentum": 0.6}, "steps": 1000,
        "clip": {"max_norm": 1.0, "norm_type": "inf"}, "dtype": "float64",
    },
    "logistic, pytorch_optimizer's Lion, batches of 4": {
        "surface": {"model": "logistic_regression", "dataset": "separable", "batch_size": 4},
        "optimizer": "Lion", "hyperparameters": {"lr": 0.01}, "steps": 100,
    },
    "linear diverging": {
        "surface": {"model": "linear_regression", "dataset": "noisy_line"},
        "optimizer": "SGD", "hyperparameters": {"lr": 0.4}, "steps": 100, "dtype": "float64",
    },
}  # fmt: skip


@pytest.mark.parametrize("name", list(MODEL_CASES), ids=str)
def test_exported_model_script_is_the_training_loop_of_the_run(
    client: TestClient, tmp_path: Path, name: str
) -> None:
    body = MODEL_CASES[name]
    run = client.post("/api/runs", json=body).json()
    response = client.post("/api/runs/script", json=body)
    assert response.status_code == 200, response.text
    text = response.text
    bias = body["surface"].get("bias", True)
    assert ("nn.Linear(1, 1, dtype=DTYPE)" if bias else "nn.Linear(1, 1, bias=False") in text
    assert "model.parameters()" in text or "model.weight]" in text
    script = tmp_path / "run.py"
    script.write_text(text)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    printed = [line.split() for line in done.stdout.splitlines() if not line.startswith("#")]
    got = [[float(v) for v in line] for line in printed]
    frames = run["frames"]
    expected = [
        [f["step"], f["x"], f["y"], f["loss"]] if bias else [f["step"], f["x"], f["loss"]]
        for f in frames
    ]
    if body.get("dtype") == "float64":
        assert got == expected
    else:
        assert len(got) == len(expected)
        for line, frame in zip(got, expected, strict=True):
            assert line == pytest.approx(frame, rel=1e-6, abs=1e-9)
    last = done.stdout.splitlines()[-1]
    assert last.startswith(f"# {run['status']}") if run["status"] != "max_steps" else last[0] != "#"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"surface": {"model": "mlp_plane"}}, ["body", "surface", "model"]),
        ({"optimizer": "LBFGS"}, ["body", "optimizer"]),
        ({"optimizer": "Adafactor"}, ["body", "optimizer"]),
        ({"optimizer": "Adan", "hyperparameters": {"max_grad_norm": 1.0}},
         ["body", "hyperparameters", "max_grad_norm"]),
    ],
    ids=["network-plane", "lbfgs", "adafactor", "adan-clipping"],
)  # fmt: skip
def test_model_scripts_refuse_what_would_not_reproduce_the_run(
    client: TestClient, change: dict[str, Any], loc: list[str]
) -> None:
    body = {"surface": {"model": "linear_regression"}, "optimizer": "SGD", "steps": 20} | change
    assert client.post("/api/runs", json=body).status_code == 200  # the run itself is fine
    response = client.post("/api/runs/script", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
