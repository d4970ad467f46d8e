"""Build examples/losslab.ipynb: its cells, executed here, with their outputs stored.

Jupyter is not a dependency, so this script is the kernel: it runs the code cells in order in
one namespace, keeps what each prints and the value of its last expression (as Jupyter
shows it), and writes nbformat 4 JSON. Outputs are stored so that GitHub shows them without
JavaScript: a plotly figure as a PNG (its HTML, plotly.js inlined, rendered in headless
Chromium and the plot screenshot), a DataFrame as HTML, anything else as text.

Run: .venv/bin/python scripts/build_notebook.py [--out examples/losslab.ipynb] [--shots DIR]
"""

from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import io
import json
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIXEL_RATIO = 1.5  # sharp enough on high-density screens, and the notebook stays small; the
# PNG metadata keeps its CSS width

Cell = tuple[str, str]  # ("markdown" | "code", source)


def md(text: str) -> Cell:
    return ("markdown", textwrap.dedent(text).strip())


def code(text: str) -> Cell:
    return ("code", textwrap.dedent(text).strip())


CELLS: list[Cell] = [
    md("""
    # losslab from Python

    The engine behind the page, called from Python: real `torch.optim` optimizers stepping a
    point over a 2-D loss landscape. Everything below runs **in this process, with no
    server**; the last section makes the same calls to a server with `losslab.Client`.

    The package is this repository: `pip install -e '.[notebook]'` (pandas for the tables),
    or `make run`, which sets up `.venv` with everything. The outputs stored here were made
    by `scripts/build_notebook.py`.
    """),
    md("""
    ## One run

    `losslab.run` takes the run's settings as keywords: the surface, the optimizer (any
    `torch.optim` or pytorch-optimizer class name), its hyperparameters (`lr=0.05`), `steps`,
    `start`. It answers every frame, a summary and an analysis of what happened.
    """),
    code("""
    import losslab

    run = losslab.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
    run.summary
    """),
    code("""
    print(run.status, "-", run.analysis.outcome.detail)
    print(len(run.analysis.events), "events, the first:", run.analysis.events[0].detail)
    """),
    md("""
    `run.figure()` is a plotly figure: the path on the landscape, the minima (the star is
    the global one) and the first event of each kind. In Jupyter it is interactive;
    `fig.write_html("run.html", include_plotlyjs=True)` saves it for a browser, offline.
    """),
    code("""
    run.figure()
    """),
    md("""
    ## Optimizers side by side

    `losslab.runs` takes a list of requests (dicts as the API's `RunRequest`, the optimizer's
    settings under `"hyperparameters"`) and draws them together. Same start, same budget.
    """),
    code("""
    settings = [
        ("SGD", {"lr": 5e-4}),
        ("SGD", {"lr": 5e-4, "momentum": 0.9}),
        ("Adam", {"lr": 0.05}),
        ("RMSprop", {"lr": 0.01}),
    ]
    same = {"surface": "rosenbrock", "start": [-1.5, 2.0], "steps": 1000}
    runs = losslab.runs({**same, "optimizer": name, "hyperparameters": hp} for name, hp in settings)
    runs.figure()
    """),
    code("""
    runs.loss_figure()
    """),
    md("""
    Every result also comes as records or a pandas DataFrame: one row per frame, with the
    gradient, the lr and the optimizer's state (`state.exp_avg_0`, ...).
    """),
    code("""
    frames = runs.to_pandas()
    frames.groupby("label", sort=False)[["step", "loss", "grad_norm"]].last()
    """),
    md("""
    ## Where a learning rate diverges

    For gradient descent on a quadratic the largest Hessian eigenvalue λ (the surface's
    `sharpness`) sets the limit: it is stable while lr·λ < 2. The elliptic valley has
    λ = 25, so the limit is 0.08. A sweep runs SGD once per lr, in one batched pass.
    """),
    code("""
    elliptic = next(s for s in losslab.local.surfaces() if s.name == "elliptic")
    lr_axis = {"name": "lr", "min": 0.01, "max": 0.16, "n": 13, "log": True}
    sweep = losslab.sweep(surface="elliptic", optimizer="SGD", steps=200, axis=lr_axis)
    table = sweep.to_pandas()[["lr", "status", "steps_taken", "final_loss"]]
    table["lr·λ"] = table["lr"] * elliptic.sharpness
    table
    """),
    md("""
    Below the limit every run settles; at lr·λ = 2 exactly, the steep direction bounces
    between ±y for ever; above it, the bounce grows and the run leaves the map.
    """),
    code("""
    sweep.figure()
    """),
    md("""
    ## Basins of attraction

    A basin map runs the optimizer from every start of a grid and colours each start by the
    minimum it reaches. On the four wells, momentum carries runs over the ridges, most often
    into the deepest well.
    """),
    code("""
    from collections import Counter

    basins = losslab.basin_map(
        surface="four_wells", optimizer="SGD", lr=0.01, momentum=0.9, steps=300, resolution=40
    )
    reached = Counter(cell for row in basins.outcome for cell in row)
    for k, minimum in enumerate(basins.minima):
        where = f"the {minimum.kind} minimum at ({minimum.x:g}, {minimum.y:g})"
        print(f"{reached[k] / reached.total():6.1%} of starts reach {where}")
    basins.figure()
    """),
    md("""
    ## A small benchmark

    Each optimizer gets the same budget: its lr tuned on one log grid, the same seeded
    random starts on each surface. A run succeeds when its loss comes within the tolerance of
    the global minimum; `rank` orders the optimizers on each surface. `bench.to_markdown()`
    gives the whole table as `losslab benchmark` prints it, `bench.figure()` the page's chart.
    """),
    code("""
    bench = losslab.local.benchmark(
        optimizers=[
            "SGD",
            {"name": "SGD", "hyperparameters": {"momentum": 0.9}, "label": "SGD momentum"},
            "Adam",
            "RMSprop",
        ],
        surfaces=["elliptic", "four_wells"],
        lr={"min": 1e-3, "max": 1.0, "n": 7},
        starts=8,
        steps=300,
    )
    columns = ["surface", "rank", "optimizer", "tuned_lr", "successes", "runs", "median_steps"]
    bench.to_pandas()[columns].sort_values(["surface", "rank"], ignore_index=True)
    """),
    md("""
    ## Errors

    A setting the server would refuse is refused here too, before any work, with the same
    422: `APIError.field` names the setting.
    """),
    code("""
    try:
        losslab.run(surface="bowl", optimizer="SGD", lr=-1)
    except losslab.APIError as error:
        print(error.status, error.field, "-", error.errors[0].msg)
    """),
    md("""
    ## The same calls against a server

    `make run` serves the page and the API at http://127.0.0.1:8000. `losslab.Client` offers
    the same methods over HTTP and gives equal results (maps and benchmarks stream their
    progress); its `live()` session is the page's run socket, where each new run replaces the
    one still streaming, as when a slider is dragged:

    ```python
    with losslab.Client("http://127.0.0.1:8000") as client:
        run = client.run(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)
        with client.live() as live:
            for lr in (0.01, 0.02, 0.05):
                live.send(surface="elliptic", optimizer="SGD", lr=lr, steps=300)
            done = live.run(surface="elliptic", optimizer="SGD", lr=0.07, steps=300)
    ```

    `losslab.AsyncClient` is the same with `await`. More in `examples/` (a script per task)
    and docs/API.md.
    """),
]


# ---- the kernel ------------------------------------------------------------------------------


def execute(source: str, namespace: dict[str, Any], name: str) -> tuple[str, Any]:
    """Run a cell as Jupyter does: its statements, then the value of a last bare expression
    (None after a trailing `;`). Answers what it printed and that value."""
    tree = ast.parse(source, name)
    last: ast.Expression | None = None
    final = tree.body[-1] if tree.body else None
    if isinstance(final, ast.Expr) and not source.rstrip().endswith(";"):
        last = ast.Expression(final.value)
        tree.body.pop()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(tree, name, "exec"), namespace)
        value = eval(compile(last, name, "eval"), namespace) if last is not None else None
    return printed.getvalue(), value


class Renderer:
    """Figures as PNG: each figure's own HTML (plotly.js inlined, nothing from a CDN) in
    headless Chromium, the plot element screenshot."""

    def __init__(self, page: Page, shots: Path | None) -> None:
        self.page, self.shots, self.count = page, shots, 0

    def png(self, figure: go.Figure) -> tuple[bytes, int]:
        """The PNG and the figure's width in CSS pixels."""
        html = figure.to_html(
            include_plotlyjs=True,
            config={"displayModeBar": False},
            default_width="900px",
            default_height="600px",
            post_script="document.body.dataset.drawn = 'yes';",  # after newPlot resolves
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "figure.html"
            path.write_text(html)
            self.page.goto(path.as_uri())
            self.page.wait_for_selector("body[data-drawn=yes]")
            plot = self.page.locator(".plotly-graph-div")
            image = plot.screenshot()
            box = plot.bounding_box()
            assert box is not None, "the figure was not drawn"
        self.count += 1
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            (self.shots / f"figure_{self.count}.png").write_bytes(image)
        return image, int(box["width"])


def display(value: Any, renderer: Renderer) -> tuple[dict[str, Any], dict[str, Any]]:
    """A value's output data and metadata, in the mime types GitHub renders."""
    if isinstance(value, go.Figure):
        image, width = renderer.png(value)
        title = value.layout.title.text
        text = f"<plotly Figure: {title + ', ' if title else ''}{len(value.data)} traces>"
        png = base64.b64encode(image).decode()
        return {"image/png": png, "text/plain": [text]}, {"image/png": {"width": width}}
    data: dict[str, Any] = {"text/plain": lines(repr(value))}
    if hasattr(value, "_repr_html_"):
        data["text/html"] = lines(value._repr_html_())
    return data, {}


def lines(text: str) -> list[str]:
    """nbformat's multi-line string: a list of lines, each keeping its newline."""
    return text.splitlines(keepends=True)


def build(cells: list[Cell], renderer: Renderer) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    out: list[dict[str, Any]] = []
    count = 0
    for index, (kind, source) in enumerate(cells):
        cell: dict[str, Any] = {
            "cell_type": kind,
            "id": f"cell-{index:02d}",
            "metadata": {},
            "source": lines(source),
        }
        if kind == "code":
            count += 1
            printed, value = execute(source, namespace, f"<cell {count}>")
            outputs: list[dict[str, Any]] = []
            if printed:
                outputs.append({"output_type": "stream", "name": "stdout", "text": lines(printed)})
            if value is not None:
                data, metadata = display(value, renderer)
                outputs.append(
                    {
                        "output_type": "execute_result",
                        "execution_count": count,
                        "data": data,
                        "metadata": metadata,
                    }
                )
            cell |= {"execution_count": count, "outputs": outputs}
        out.append(cell)
    return {
        "cells": out,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(
                viewport={"width": 1000, "height": 900}, device_scale_factor=PIXEL_RATIO
            )
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "losslab.ipynb")
    parser.add_argument("--shots", type=Path, help="also save each figure's PNG here")
    args = parser.parse_args()
    started = time.perf_counter()
    with chromium_page() as page:
        notebook = build(CELLS, Renderer(page, args.shots))
    args.out.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(CELLS)} cells in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
