"""Runs drawn as the page draws them: on their landscape, on a one-parameter model's loss
curve (curve.js), and as loss against step (charts.js)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from ...web.schemas import Grid, Run, SurfaceOut
from .landscape import (
    EventChoice,
    Path,
    contours,
    drawn,
    event_keys,
    event_trace,
    landscape_figure,
    marker_traces,
    marks_traces,
    path_trace,
    run_path,
    start_trace,
)
from .style import (
    CURVE_COLOR,
    CURVE_FILL,
    GLOBAL_MIN_COLOR,
    GRID_COLOR,
    INK,
    STATUS_WORDS,
    STEP_LINE_COLOR,
    Trace,
    base_layout,
    escape,
    fmt,
    framed_axis,
    with_alpha,
)

# ---- runs ------------------------------------------------------------------------------------


def runs_figure(
    surface: SurfaceOut,
    grid: Grid | None,
    runs: Sequence[tuple[str, Run]],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    events: EventChoice = "first",
) -> go.Figure:
    """Several runs on one landscape, as the page's contour view draws them.

    The filled contour of `grid` (none when it is None) in the page's colours and loss scale,
    the surface's minima and saddles, each run's path in the page's PALETTE (in order), the
    start and where each run ended, and the analysis's events: the first of each kind per run
    (the page's choice; `events="all"` draws every one, `"none"` none). The axes stay on the
    domain whatever the paths do. A one-parameter surface (y = w·x) draws the loss against w.
    """
    domain = surface.domain
    paths = [run_path(label, run, k, domain, events) for k, (label, run) in enumerate(runs)]
    heading = title or surface.title
    below = subtitle if subtitle is not None else surface.formula if title is None else None
    if surface.parameters == 1:
        return _curve_figure(surface, grid, paths, heading, below)
    traces = contours(grid, surface.minima)
    traces += marker_traces(surface.minima, surface.saddles)
    traces += [path_trace(p, k) for k, p in drawn(paths)]
    # The start under the events: a run that leaves the map at once has them all there.
    traces.append(start_trace([(p.x[0], p.y[0]) for _, p in drawn(paths)]))
    traces += marks_traces(paths, on_curve=False)
    return landscape_figure(surface, traces + event_keys(paths), heading, below)


def run_figure(
    surface: SurfaceOut,
    grid: Grid | None,
    run: Run,
    *,
    label: str | None = None,
    title: str | None = None,
    events: EventChoice = "first",
) -> go.Figure:
    """One run on its landscape; the title says how it ended (status, steps, loss, outcome)."""
    summary = run.summary
    status = STATUS_WORDS.get(run.status, run.status)
    subtitle = (
        f"{status} after {summary.steps_taken} steps · final loss {fmt(summary.final_loss)}"
        f" · {run.analysis.outcome.detail}"
    )
    heading = title or (f"{label} on {surface.title}" if label else surface.title)
    return runs_figure(
        surface, grid, [(label or "run", run)], title=heading, subtitle=subtitle, events=events
    )


# ---- one parameter: the loss curve (curve.js) ------------------------------------------------


def _curve_of(grid: Grid) -> tuple[list[float], list[float | None]]:
    """The loss along w: the grid's row nearest y = 0 (a one-parameter loss ignores y)."""
    row = min(range(len(grid.y)), key=lambda i: abs(grid.y[i]))
    return grid.x, grid.z[row]


def _curve_figure(
    surface: SurfaceOut,
    grid: Grid | None,
    paths: Sequence[Path],
    title: str,
    subtitle: str | None,
) -> go.Figure:
    """A one-parameter model: the loss against w, each run's frames as dots on the curve."""
    traces: list[Trace] = []
    losses: list[float] = []
    if grid is not None:
        xs, ys = _curve_of(grid)
        losses = [v for v in ys if v is not None and math.isfinite(v)]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "loss over all samples",
                "meta": {"role": "loss-curve"},
                "x": xs,
                "y": ys,
                "line": {"color": CURVE_COLOR, "width": 2.4},
                "fill": "tozeroy",
                "fillcolor": CURVE_FILL,
                "hovertemplate": "w %{x:.4g}<br>loss %{y:.4g}<extra></extra>",
                "showlegend": False,
            }
        )
    minima = [m for m in surface.minima if m.kind == "global"]
    if minima:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "global minimum",
                "meta": {"role": "global"},
                "x": [m.x for m in minima],
                "y": [m.loss for m in minima],
                "text": [f"global minimum<br>w {fmt(m.x)}<br>loss {fmt(m.loss)}" for m in minima],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "symbol": "star",
                    "size": 16,
                    "color": GLOBAL_MIN_COLOR,
                    "line": {"color": INK, "width": 1.1},
                },
                "cliponaxis": False,
            }
        )
    for k, path in drawn(paths):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": escape(path.label),
                "legendgroup": f"path{k}",
                "legendrank": 10 + k,
                "meta": {"role": "path", "run": k},
                "x": path.x,
                "y": path.loss,
                "customdata": list(range(len(path.x))),
                "marker": {
                    "color": with_alpha(path.color, 0.7),
                    "size": 7,
                    "line": {"color": "rgba(255, 255, 255, 0.9)", "width": 0.6},
                },
                "hovertemplate": f"<b>{escape(path.label)}</b><br>step %{{customdata}}<br>"
                "w %{x:.4g}<br>loss %{y:.4g}<extra></extra>",
            }
        )
    start = start_trace([(p.x[0], p.loss[0]) for _, p in drawn(paths)])
    start["text"] = [f"start w {fmt(w)}" for w in start["x"]]
    traces.append(start)
    traces += marks_traces(paths, on_curve=True)
    if not losses:
        # No curve: the runs' own losses on the map (a divergence's do not set the view).
        losses = [
            v
            for _, p in drawn(paths)
            for x, v in zip(p.x, p.loss, strict=True)
            if surface.domain.x[0] <= x <= surface.domain.x[1]
        ] or [0.0, 1.0]
    lo, hi = min(losses), max(losses)
    pad = (hi - lo) * 0.06 or 1.0
    axis = {"showgrid": True, "gridcolor": GRID_COLOR}
    layout = base_layout(title, subtitle)
    layout |= {
        "margin": {**layout["margin"], "r": 180},
        "xaxis": framed_axis("w", range=list(surface.domain.x), autorange=False, **axis),
        "yaxis": framed_axis(
            "loss over all samples",
            range=[max(lo - pad, 0.0) if lo > 0 else lo - pad, hi + pad],
            autorange=False,
            **axis,
        ),
    }
    return go.Figure(data=traces + event_keys(paths), layout=layout)


# ---- the loss chart (charts.js) --------------------------------------------------------------


def loss_figure(
    runs: Sequence[tuple[str, Run]], *, log: bool = True, title: str | None = None
) -> go.Figure:
    """Loss against step, a line per run in the page's PALETTE, with every event of each run
    at (step, loss) (charts.js, analysis.js). `log`: a log axis where every loss is positive
    (a divergence then stays in view)."""
    paths = [run_path(label, run, k, None, "all") for k, (label, run) in enumerate(runs)]
    traces: list[Trace] = []
    for k, (path, (_, run)) in enumerate(zip(paths, runs, strict=True)):
        steps = [f.step for f in run.frames]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines" if len(steps) > 1 else "lines+markers",
                "name": escape(path.label),
                "legendgroup": f"path{k}",
                "legendrank": 10 + k,
                "meta": {"role": "loss", "run": k},
                "x": steps,
                "y": path.loss,
                "line": {"color": path.color, "width": 1.8},
                "marker": {"color": path.color, "size": 6},
                "hovertemplate": f"%{{y:.4g}}<extra>{escape(path.label)}</extra>",
            }
        )
    for k, (path, (_, run)) in enumerate(zip(paths, runs, strict=True)):
        steps = [f.step for f in run.frames]
        if (trace := event_trace(path, k, steps, path.loss, size=9)) is not None:
            traces.append(trace)
    values = [v for path in paths for v in path.loss]
    on_log = log and bool(values) and all(v > 0 for v in values)
    yaxis: dict[str, Any] = {
        "type": "log" if on_log else "linear",
        "gridcolor": GRID_COLOR,
        "zeroline": False,
        "linecolor": STEP_LINE_COLOR,
        "tickfont": {"size": 10},
        "exponentformat": "power",
        "title": {"text": "loss (log)" if on_log else "loss", "font": {"size": 12, "color": INK}},
    }
    if on_log and (dtick := _decade_step(values)) is not None:
        yaxis["dtick"] = dtick
    layout = base_layout(title)
    layout |= {
        # One hover box for every run at the step under the pointer (the page's).
        "hovermode": "x unified",
        "xaxis": {
            "zeroline": False,
            "gridcolor": GRID_COLOR,
            "linecolor": STEP_LINE_COLOR,
            "tickfont": {"size": 10},
            "rangemode": "tozero",
            "hoverformat": "d",
            "title": {"text": "step", "font": {"size": 12, "color": INK}},
        },
        "yaxis": yaxis,
    }
    return go.Figure(data=traces + event_keys(paths), layout=layout)


def _decade_step(values: Sequence[float]) -> int | None:
    """Whole decades, about five labelled; None under two decades (Plotly's ticks then)."""
    positive = [v for v in values if v > 0]
    lo, hi = min(positive), max(positive)
    if not hi > lo:
        return 1
    if hi / lo < 100:
        return None
    return max(1, math.ceil(math.log10(hi / lo) / 5))
