"""The command line: help, listings, a run printed, bad arguments named."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from losslab import cli
from losslab.config import Settings
from tests.servers import LOSSLAB

# The command line


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as exit:
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_help_from_the_installed_command() -> None:
    result = subprocess.run([str(LOSSLAB), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "run", "surfaces", "optimizers"):
        assert command in result.stdout
    serve = subprocess.run(
        [str(LOSSLAB), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    for option in ("--workers", "--log-level", "--timeout-graceful-shutdown"):
        assert option in serve.stdout


def test_cli_lists_surfaces_and_optimizers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "surfaces")
    assert code == 0 and re.search(r"^bowl\s", out, re.M)
    code, out, _ = run_cli(capsys, "optimizers")
    assert code == 0 and re.search(r"^SGD\s+lr=", out, re.M)


REFERENCE_ARGS = (
    *("run", "--surface", "bowl", "--optimizer", "SGD", "--lr", "0.1"),
    *("--start", "3", "2", "--steps", "10"),
)


def test_cli_run_prints_the_reference_trajectory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, *REFERENCE_ARGS, "--format", "csv")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0] == "step,x,y,loss,grad_x,grad_y,lr"
    assert len(rows) == 12
    step, x, y, loss = rows[11].split(",")[:4]
    assert (step, x, y, loss) == (
        "10",
        "0.32212257385253906",
        "0.2147483378648758",
        "0.1498797982931137",
    )
    assert "max_steps" in err

    code, out, _ = run_cli(capsys, *REFERENCE_ARGS, "--format", "json")
    assert code == 0
    run = json.loads(out)
    assert run["status"] == "max_steps"
    assert run["frames"][10]["x"] == 0.32212257385253906
    assert run["frames"][1]["x"] == 2.4000000953674316


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("run", "--lr", "-1", "--steps", "3"), "hyperparameters.lr"),
        (("run", "--surface", "nope"), "surface"),
        (("run", "--steps", "0"), "steps"),
        (("run", "--start", "1e308", "0"), "start"),
        (("run", "--hp", "betas"), "hyperparameters"),
        (("run", "--steps", "many"), "--steps"),
        (("run", "--format", "xml"), "--format"),
    ],
    ids=["lr", "surface", "steps", "start", "hp", "steps-type", "format"],
)
def test_cli_bad_argument_exits_2_naming_the_field(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], field: str
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert out == ""
    assert field in err
    assert "Traceback" not in err


def test_the_installed_package_is_losslab_alone(tmp_path: Path) -> None:
    """Outside the source tree the package imports as `losslab`; the project's other folders
    (tests, bench, examples) are not installed to collide with another project's."""
    script = (
        "import importlib.util as u, losslab, losslab.engine\n"
        "print(losslab.__name__, losslab.engine.__name__,\n"
        "      *(u.find_spec(name) for name in ('app', 'tests', 'bench', 'examples')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["losslab", "losslab.engine", "None", "None", "None", "None"]


def test_settings_lists_every_variable_with_its_meaning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOSSLAB_MAX_STEPS", "2000")
    assert cli.main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "LOSSLAB_MAX_STEPS=2000\n    The most optimizer steps one run may ask for." in out
    names = re.findall(r"^LOSSLAB_(\w+)=", out, re.M)
    assert [name.lower() for name in names] == list(Settings.model_fields)
    assert all(field.description for field in Settings.model_fields.values())
