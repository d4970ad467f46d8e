"""`pip install` of the project gives `import losslab`, typed: the wheel holds every module,
the data the server reads, and the py.typed marker that tells type checkers to trust it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "losslab"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    (built,) = out.glob("losslab-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_every_module_and_the_typed_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "losslab/py.typed" in names
    modules = {
        "losslab/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules, "no sources found"
    packed = {name for name in names if name.startswith("losslab/") and name.endswith(".py")}
    assert packed == modules, (sorted(modules - packed), sorted(packed - modules))
    assert {"losslab/client/clients.py", "losslab/client/figures/__init__.py"} <= names


def test_the_wheel_declares_what_the_client_needs(wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [
        line.split(":", 1)[1].strip()
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    plain = {r.split(";")[0].split(">")[0].split("=")[0].split("[")[0] for r in requires}
    assert {"httpx", "websockets", "plotly", "pydantic", "torch"} <= plain
    assert any(r.startswith("pandas") and 'extra == "notebook"' in r for r in requires)


def test_import_losslab_offers_the_clients_and_the_in_process_calls() -> None:
    code = (
        "import losslab, inspect\n"
        "print(sorted(n for n in losslab.__all__))\n"
        "run = losslab.run(surface='bowl', optimizer='SGD', lr=0.1, start=[3, 2], steps=10)\n"
        "print(run.frames[10].x, run.frames[10].loss)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    names, values = answer.stdout.splitlines()
    for name in ("Client", "AsyncClient", "APIError", "run", "local", "basin_map"):
        assert repr(name) in names
    # The reference example (docs/API.md).
    assert values == "0.32212257385253906 0.1498797982931137"
