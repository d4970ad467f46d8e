"""examples/ as a reader uses it: each script run in a fresh interpreter (in process, and one of
them against a live server), `mypy --strict examples/`, and the notebook: its stored outputs
complete, renderable without JavaScript, and what its code prints when run again."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOK = EXAMPLES / "losslab.ipynb"
SCRIPTS = ["lr_sweep", "compare_optimizers", "basin_map", "benchmark", "export_run"]
FIGURES = {
    "lr_sweep": ["lr_sweep.html"],
    "compare_optimizers": ["compare_optimizers_paths.html", "compare_optimizers_loss.html"],
    "basin_map": ["basin_map.html"],
    "benchmark": ["benchmark.html"],
    "export_run": ["export_run.html"],
}


class Links(HTMLParser):
    """Every src and href of a page's tags (a script's text is not parsed as tags: plotly.js
    names CDN and tile URLs as defaults of map traces, never fetched for these figures)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.links += [(tag, value or "") for name, value in attrs if name in ("src", "href")]


def links(html: str) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.links


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    out: Path

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def start(name: str, out: Path, *options: str) -> subprocess.Popen[bytes]:
    """`python examples/<name>.py --out <out> ...`, its output to files (nothing blocks)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "stdout.txt", "wb") as stdout, open(out / "stderr.txt", "wb") as stderr:
        script = EXAMPLES / f"{name}.py"
        command = [sys.executable, str(script), "--out", str(out), *options]
        return subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=out)


def finish(process: subprocess.Popen[bytes], out: Path) -> Ran:
    returncode = process.wait(timeout=240)
    stdout, stderr = ((out / f).read_text(encoding="utf-8") for f in ("stdout.txt", "stderr.txt"))
    return Ran(returncode, stdout, stderr, out)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """Every example at once, in process (no --url): each in its own interpreter."""
    outs = {name: tmp_path_factory.mktemp(name) for name in SCRIPTS}
    started = {name: start(name, outs[name]) for name in SCRIPTS}
    return {name: finish(process, outs[name]) for name, process in started.items()}


def ok(ran: Ran) -> Ran:
    assert ran.returncode == 0, ran.stderr[-3000:]
    return ran


def check_figures(ran: Ran, name: str) -> None:
    """The figures the script names are the expected files in --out, offline HTML."""
    named = [line.removeprefix("figure: ") for line in ran.lines() if line.startswith("figure: ")]
    assert named == [str(ran.out / file) for file in FIGURES[name]]
    for path in map(Path, named):
        html = path.read_text(encoding="utf-8")
        assert "plotly.js v" in html[:5_000_000], "plotly.js is not inlined"
        assert len(html) > 1_000_000
        assert links(html) == []  # nothing loaded: no script src, no stylesheet, no link
        assert "Plotly.newPlot" in html


def table(lines: list[str], pattern: str) -> list[tuple[str, ...]]:
    return [m.groups() for line in lines if (m := re.fullmatch(pattern, line))]


def test_lr_sweep_diverges_past_two_over_sharpness(in_process: dict[str, Ran]) -> None:
    ran = ok(in_process["lr_sweep"])
    assert ran.lines()[0] == "elliptic: sharpness λ = 25, stability limit 2/λ = 0.08"
    rows = table(ran.lines(), r"\s*([\d.]+)\s+([\d.]+)\s+(\w+)\s+(\d+)\s+(\S+)")
    assert len(rows) == 13
    for lr, lr_sharpness, status, _, _ in rows:
        assert float(lr_sharpness) == pytest.approx(float(lr) * 25, abs=0.01)
        # Gradient descent on a quadratic: stable below lr·λ = 2, diverging above.
        assert (status == "diverged") == (float(lr_sharpness) > 2), (lr, status)
    assert ("0.0800", "2.00", "max_steps", "200", "28.1") in rows  # bouncing at the limit
    assert "first diverging lr: 0.1008 = 2.52/λ" in ran.lines()
    check_figures(ran, "lr_sweep")


COMPARE_ROW = r"(.+?)\s{2,}(converged|max_steps|diverged)\s+(\d+)\s+(\S+)"


def check_compare(ran: Ran) -> None:
    ok(ran)
    rows = table(ran.lines(), COMPARE_ROW)
    labels = [row[0] for row in rows]
    assert labels == [
        "SGD lr=0.0005",
        "SGD lr=0.0005, momentum=0.9",
        "Adam lr=0.05",
        "RMSprop lr=0.01",
    ]
    assert [int(row[2]) for row in rows] == [1000] * 4
    losses = [float(row[3]) for row in rows]
    assert min(losses) == losses[2] < 1e-3  # Adam
    assert any(line.startswith("lowest final loss: Adam lr=0.05 (") for line in ran.lines())
    check_figures(ran, "compare_optimizers")


def test_compare_optimizers_in_process(in_process: dict[str, Ran]) -> None:
    check_compare(in_process["compare_optimizers"])


def test_compare_optimizers_against_a_server_prints_the_same(
    in_process: dict[str, Ran], live_server: str, tmp_path: Path
) -> None:
    ran = finish(start("compare_optimizers", tmp_path, "--url", live_server), tmp_path)
    check_compare(ran)
    results = [line for line in ran.lines() if not line.startswith("figure: ")]
    local = in_process["compare_optimizers"]
    assert results == [line for line in local.lines() if not line.startswith("figure: ")]


def test_basin_map_counts_every_start_and_shows_progress(in_process: dict[str, Ran]) -> None:
    ran = ok(in_process["basin_map"])
    rows = table(ran.lines(), r"(global|local) at \(([-\d.]+), ([-\d.]+)\)\s+([\d.]+)%\s+([\d.]+)%")
    assert [(kind, x, y) for kind, x, y, _, _ in rows] == [
        ("global", "-2", "2"),
        ("local", "-2", "-1"),
        ("local", "1.5", "2"),
        ("local", "1.5", "-1"),
    ]
    plain = [float(row[3]) for row in rows]
    heavy = [float(row[4]) for row in rows]
    assert plain == [25.0] * 4  # without momentum each start stays in its quadrant's well
    assert sum(heavy) == pytest.approx(100, abs=0.2)
    assert heavy[0] == max(heavy) > 25  # momentum: most often the deepest well
    assert ran.stderr.count("100%") == 2  # one progress bar per map, finished
    check_figures(ran, "basin_map")


def test_benchmark_prints_the_markdown_table(in_process: dict[str, Ran]) -> None:
    ran = ok(in_process["benchmark"])
    assert ran.lines()[0].startswith("lr grid: 7 values from 0.001 to 1 (log); 8 starts")
    header = next(line for line in ran.lines() if line.startswith("| rank |"))
    assert "| optimizer | surface |" in header
    rows = table(ran.lines(), r"\| (\d+) \| ([^|]+) \| (\w+) \|.*")
    assert {(name, surface) for _, name, surface in rows} == {
        (name, surface)
        for name in ("SGD", "SGD momentum", "Adam", "RMSprop")
        for surface in ("elliptic", "four_wells")
    }
    assert "100%" in ran.stderr and "[" in ran.stderr
    check_figures(ran, "benchmark")


def test_export_run_reproduces_the_run_with_its_torch_script(in_process: dict[str, Ran]) -> None:
    ran = ok(in_process["export_run"])
    first = ran.lines()[0]
    assert first.startswith("run: Adam lr=0.05, max_steps, final loss ")
    final_loss = float(first.rsplit(" ", 1)[1])
    assert f"torch script: step 1000, loss {final_loss!r}: same as the run" in ran.lines()
    csv_lines = (ran.out / "run.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 1001
    assert csv_lines[0].startswith("step,x,y,loss,grad_x,grad_y,grad_norm,lr,state.")
    assert float(csv_lines[-1].split(",")[3]) == final_loss
    saved = json.loads((ran.out / "run.json").read_text())
    assert saved["status"] == "max_steps" and saved["frames"][-1]["loss"] == final_loss
    assert "import torch" in (ran.out / "run_torch.py").read_text()
    assert re.search(r"^\s*step\s+x\s+y\s+loss$", ran.stdout, re.M)  # pandas' tail
    check_figures(ran, "export_run")


def test_examples_pass_mypy_strict() -> None:
    mypy = Path(sys.executable).with_name("mypy")
    checked = subprocess.run(
        [str(mypy), "--strict", "examples/"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    scripts = len(list(EXAMPLES.glob("*.py")))
    assert checked.stdout.startswith(f"Success: no issues found in {scripts} source files")


# ---- the notebook ----------------------------------------------------------------------------


def notebook() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return loaded


def code_cells(book: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in book["cells"] if cell["cell_type"] == "code"]


def test_the_notebook_stores_every_output_in_forms_github_renders() -> None:
    book = notebook()
    assert book["nbformat"] == 4 and book["nbformat_minor"] >= 4
    assert book["metadata"]["kernelspec"]["language"] == "python"
    cells = code_cells(book)
    assert [cell["execution_count"] for cell in cells] == list(range(1, len(cells) + 1))
    kinds: set[str] = set()
    for cell in cells:
        assert cell["outputs"], "".join(cell["source"])
        for output in cell["outputs"]:
            if output["output_type"] == "stream":
                continue
            assert output["output_type"] == "execute_result"
            data = output["data"]
            kinds |= set(data)
            assert "text/plain" in data
            # GitHub runs no JavaScript: no plotly JSON, no scripts in HTML.
            assert set(data) <= {"text/plain", "text/html", "image/png"}
            assert "<script" not in "".join(data.get("text/html", []))
            if "image/png" in data:
                png = base64.b64decode(data["image/png"])
                assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    assert {"image/png", "text/html"} <= kinds
    figures = sum("image/png" in o.get("data", {}) for c in cells for o in c["outputs"])
    assert figures == 5


def test_the_notebook_matches_its_build_script() -> None:
    """examples/losslab.ipynb was built from scripts/build_notebook.py's cells as they are."""
    spec = importlib.util.spec_from_file_location(
        "build_notebook", ROOT / "scripts" / "build_notebook.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cells = [(cell["cell_type"], "".join(cell["source"])) for cell in notebook()["cells"]]
    assert cells == module.CELLS


def test_the_notebook_code_runs_and_prints_what_it_stores(tmp_path: Path) -> None:
    """Its code cells in order as one script (IPython-only lines left out): it exits 0 and
    prints exactly the stored stdout (every run is deterministic)."""
    cells = code_cells(notebook())
    sources = ["".join(cell["source"]) for cell in cells]
    lines = [
        line
        for source in sources
        for line in source.splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    script = tmp_path / "notebook.py"
    script.write_text("\n".join(lines) + "\n")
    ran = subprocess.run(
        [sys.executable, str(script)], cwd=EXAMPLES, capture_output=True, text=True, timeout=240
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    stored = "".join(
        "".join(output["text"])
        for cell in cells
        for output in cell["outputs"]
        if output["output_type"] == "stream"
    )
    assert ran.stdout == stored
