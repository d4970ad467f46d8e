"""Maps of many starts or settings (maps.js, hparams.js): the basin map over the landscape and
the hyperparameter map of a pair of settings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import plotly.graph_objects as go

from ...web.schemas import Grid, MapOut, MinimumOut, SurfaceOut
from .landscape import contours, landscape_figure, marker_traces
from .style import (
    BASIN_ALPHA,
    BASIN_COLORS,
    BASIN_LINE,
    CELL_HOVER,
    DIVERGED_COLOR,
    HPARAM_DIVERGED,
    INK,
    LOSS_SCALE,
    NOT_CONVERGED,
    STEPS_SCALE,
    UNDECIDED_COLOR,
    Trace,
    base_layout,
    categorical,
    escape,
    fmt,
    framed_axis,
    legend_key,
    percent,
    plotly_scale,
    with_alpha,
)

Metric = Literal["final_loss", "steps_to_converge", "outcome"]


# ---- maps (maps.js, hparams.js) --------------------------------------------------------------


def _minimum_name(minimum: MinimumOut) -> str:
    return f"{minimum.kind} minimum ({fmt(minimum.x, 3)}, {fmt(minimum.y, 3)})"


def _outcome_text(result: MapOut, i: int, j: int) -> str:
    """A cell's hover: where its run went, when it settled, its final loss."""
    o = result.outcome[i][j]
    if o == -1:
        return "diverged"
    steps = result.steps_to_converge[i][j]
    loss = result.final_loss[i][j]
    if 0 <= o < len(result.minima):
        where = f"→ minimum {o}: {_minimum_name(result.minima[o])}"
    else:
        where = "→ no minimum reached"
    when = "still moving at the end" if steps is None else f"converged in {steps} steps"
    return f"{where}<br>{when} · loss {escape(fmt(loss))}"


def _cells(result: MapOut) -> list[list[str]]:
    return [
        [_outcome_text(result, i, j) for j in range(len(result.x))] for i in range(len(result.y))
    ]


def _outcome_colors(minima: Sequence[MinimumOut]) -> list[str]:
    """Codes 0 undecided, 1 diverged, 2 + k minimum k: outcome + 2 (maps.js outcomeCodes)."""
    basins = [BASIN_COLORS[k % len(BASIN_COLORS)] for k in range(len(minima))]
    return [UNDECIDED_COLOR, DIVERGED_COLOR, *basins]


def _shares(result: MapOut) -> tuple[dict[int, int], int]:
    counts: dict[int, int] = {}
    for row in result.outcome:
        for o in row:
            counts[o] = counts.get(o, 0) + 1
    return counts, sum(counts.values())


def _outcome_keys(
    result: MapOut, *, undecided: bool = True, diverged: str = DIVERGED_COLOR
) -> list[Trace]:
    """Legend entries: each basin reached (most cells first), then diverged and undecided."""
    counts, total = _shares(result)
    square = {"symbol": "square", "size": 12, "line": {"color": BASIN_LINE, "width": 1}}
    reached = sorted(
        (k for k in range(len(result.minima)) if counts.get(k)), key=lambda k: -counts[k]
    )
    keys = [
        legend_key(
            f"minimum {k}: {result.minima[k].kind} ({fmt(result.minima[k].x, 3)}, "
            f"{fmt(result.minima[k].y, 3)}) · {percent(counts[k], total)}",
            {**square, "color": BASIN_COLORS[k % len(BASIN_COLORS)]},
            "outcomes",
            200 + n,
        )
        for n, k in enumerate(reached)
    ]
    if counts.get(-1):
        name = f"diverged · {percent(counts[-1], total)}"
        keys.append(legend_key(name, {**square, "color": diverged}, "outcomes", 290))
    if undecided and counts.get(-2):
        name = f"undecided · {percent(counts[-2], total)}"
        keys.append(legend_key(name, {**square, "color": UNDECIDED_COLOR}, "outcomes", 291))
    return keys


def basin_map_figure(
    surface: SurfaceOut, grid: Grid | None, result: MapOut, *, title: str | None = None
) -> go.Figure:
    """Where every start ends: its basin's colour over the landscape, as the page overlays it.

    Cells are coloured by `outcome` (BASIN_COLORS per minimum, diverged and undecided as the
    page), outlined where the outcome changes, over the landscape's contour; the legend names
    each basin reached with its share of the starts; hover gives a cell's start, outcome, steps
    to converge and final loss.
    """
    colors = _outcome_colors(result.minima)
    alpha = BASIN_ALPHA if grid is not None else 1.0
    n = len(result.minima)
    traces = contours(grid, result.minima)
    # A contour coloured as a heatmap: Plotly draws every heatmap under every contour, so a
    # plain heatmap would hide beneath the landscape (maps.js says the same).
    traces.append(
        {
            "type": "contour",
            "name": "basins",
            "meta": {"role": "basin-map"},
            "x": result.x,
            "y": result.y,
            "z": result.outcome,
            "text": _cells(result),
            "zmin": -2.5,
            "zmax": n - 0.5,
            "zauto": False,
            "autocontour": False,
            "contours": {
                "coloring": "heatmap",
                "showlines": True,
                "start": -1.5,
                "end": n - 1.5,
                "size": 1,
            },
            "line": {"width": 1.3, "color": BASIN_LINE, "smoothing": 0.6},
            "colorscale": categorical([with_alpha(c, alpha) for c in colors]),
            "showscale": False,
            "hovertemplate": "start (%{x:.3g}, %{y:.3g})<br>%{text}<extra>basin map</extra>",
            "hoverlabel": {**CELL_HOVER, "font": {"color": INK, "size": 12}},
            "showlegend": False,
        }
    )
    traces += marker_traces(result.minima, surface.saddles)
    subtitle = f"{len(result.x)} × {len(result.y)} starts: the colour of the minimum each reaches"
    heading = title or f"Basin map · {surface.title}"
    return landscape_figure(surface, traces + _outcome_keys(result), heading, subtitle)


def _axis_names(result: MapOut) -> tuple[str, str, bool, bool]:
    """The two settings' names, and whether each is on a log axis (`axes`, positive values)."""
    if result.axes is None:
        return "x", "y", False, False
    x_log = result.axes.x.log and all(v > 0 for v in result.x)
    y_log = result.axes.y.log and all(v > 0 for v in result.y)
    return result.axes.x.name, result.axes.y.name, x_log, y_log


def _metric_grid(result: MapOut, metric: Metric) -> dict[str, Any]:
    """z for the chosen metric, with its colours and a colour bar in true values."""
    bar = {"thickness": 10, "outlinewidth": 0, "tickfont": {"size": 10}, "xpad": 6}

    def title(text: str) -> dict[str, Any]:
        return {"text": text, "side": "right", "font": {"size": 11}}

    diverged = [[o == -1 for o in row] for row in result.outcome]
    if metric == "outcome":
        colors = _outcome_colors(result.minima)
        return {
            "z": result.outcome,
            "zmin": -2.5,
            "zmax": len(result.minima) - 0.5,
            "colorscale": categorical(colors),
            "showscale": False,
        }
    if metric == "steps_to_converge":
        z = [
            [None if d else v for v, d in zip(row, drow, strict=True)]
            for row, drow in zip(result.steps_to_converge, diverged, strict=True)
        ]
        return {
            "z": z,
            "colorscale": plotly_scale(STEPS_SCALE),
            "showscale": True,
            "colorbar": {**bar, "title": title("steps to converge")},
        }
    # Final loss on a log scale, measured from the lowest known or reached loss.
    reached = [
        v
        for row, drow in zip(result.final_loss, diverged, strict=True)
        for v, d in zip(row, drow, strict=True)
        if v is not None and not d
    ]
    floor = min([m.loss for m in result.minima] + reached, default=0.0)
    if not reached:
        empty = [[None for _ in row] for row in result.final_loss]
        return {
            "z": empty,
            "zmin": 0,
            "zmax": 1,
            "colorscale": plotly_scale(LOSS_SCALE),
            "showscale": False,
        }
    top = max(reached)
    eps = max(top - floor, 1e-12) * 1e-9

    def log_of(v: float) -> float:
        return math.log10(v - floor + eps)

    levels = [
        [None if v is None or d else log_of(v) for v, d in zip(row, drow, strict=True)]
        for row, drow in zip(result.final_loss, diverged, strict=True)
    ]
    lo = max(log_of(floor), log_of(top) - 10)
    hi = log_of(top)
    every = max(1, math.ceil((hi - lo) / 5))
    ticks = list(range(math.ceil(lo), math.floor(hi) + 1, every))
    return {
        "z": levels,
        "zmin": lo,
        "zmax": max(hi, lo + 1e-6),
        "colorscale": plotly_scale(LOSS_SCALE),
        "showscale": True,
        "colorbar": {
            **bar,
            "title": title("final loss" if floor == 0 else "final loss − min"),
            "tickvals": ticks,
            "ticktext": [fmt(10.0**e, 2) for e in ticks],
        },
    }


def _cell_edges(values: Sequence[float], log: bool) -> list[float]:
    """The heatmap's outer cell edges (in the axis's units: log10 on a log axis)."""
    f = math.log10 if log else float
    a, b = f(values[0]), f(values[-1])
    half = (b - a) / max(len(values) - 1, 1) / 2 or 0.5
    return [a - half, b + half]


def hyperparameter_map_figure(
    result: MapOut, *, title: str | None = None, metric: Metric = "final_loss"
) -> go.Figure:
    """Which settings work: a cell per pair of values of the two axes (hparams.js).

    Coloured by `metric`: final loss (the page's default; log scale from the lowest loss),
    steps to converge, or outcome (basin colours); diverged cells in red, cells that did not
    converge in grey; SGD's stability bound, where the theory gives one, dashed. A log axis
    (`axes.x.log`) is a log axis here too.
    """
    x_name, y_name, x_log, y_log = _axis_names(result)
    text = _cells(result)
    hover = f"{escape(x_name)} %{{x:.4g}} · {escape(y_name)} %{{y:.4g}}<br>%{{text}}<extra></extra>"
    hoverlabel = {**CELL_HOVER, "font": {"color": INK, "size": 12}}
    traces: list[Trace] = [
        {
            "type": "heatmap",
            "meta": {"role": "hparam-cells", "metric": metric},
            "x": result.x,
            "y": result.y,
            "text": text,
            "zsmooth": False,
            "hovertemplate": hover,
            "hoverlabel": hoverlabel,
            "showlegend": False,
            **_metric_grid(result, metric),
        },
        {
            "type": "heatmap",
            "meta": {"role": "diverged"},
            "x": result.x,
            "y": result.y,
            "z": [[1 if o == -1 else None for o in row] for row in result.outcome],
            "text": text,
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0, HPARAM_DIVERGED], [1, HPARAM_DIVERGED]],
            "showscale": False,
            "zsmooth": False,
            "hovertemplate": hover,
            "hoverlabel": hoverlabel,
            "showlegend": False,
        },
    ]
    boundary = result.stability_boundary or []
    if boundary:
        bx = [p[0] for p in boundary]
        by = [p[1] for p in boundary]
        traces += [
            {
                "type": "scatter",
                "mode": "lines",
                "meta": {"role": "boundary-halo"},
                "x": bx,
                "y": by,
                "line": {"color": "rgba(255,255,255,0.9)", "width": 5},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "stability bound (theory)",
                "meta": {"role": "stability-boundary"},
                "x": bx,
                "y": by,
                "line": {"color": INK, "width": 2, "dash": "dash"},
                "hovertemplate": f"stability bound (theory)<br>{escape(x_name)} %{{x:.4g}} · "
                f"{escape(y_name)} %{{y:.4g}}<extra></extra>",
                "legendrank": 300,
            },
        ]
    keys = _outcome_keys(result, diverged=HPARAM_DIVERGED) if metric == "outcome" else []
    if metric != "outcome":
        counts, total = _shares(result)
        square = {"symbol": "square", "size": 12, "line": {"color": BASIN_LINE, "width": 1}}
        if metric == "steps_to_converge":
            keys.append(
                legend_key("did not converge", {**square, "color": NOT_CONVERGED}, "outcomes", 289)
            )
        name = f"diverged · {percent(counts.get(-1, 0), total)}"
        keys.append(legend_key(name, {**square, "color": HPARAM_DIVERGED}, "outcomes", 290))

    def axis(name: str, values: Sequence[float], log: bool) -> dict[str, Any]:
        return framed_axis(
            f"{name} (log)" if log else name,
            type="log" if log else "linear",
            range=_cell_edges(values, log),
            autorange=False,
            exponentformat="power",
        )

    heading = title or f"Hyperparameter map · {x_name} × {y_name}"
    layout = base_layout(heading, f"coloured by {metric.replace('_', ' ')}")
    layout |= {
        "plot_bgcolor": NOT_CONVERGED,
        "xaxis": axis(x_name, result.x, x_log),
        "yaxis": axis(y_name, result.y, y_log),
        # The legend in a row over the plot: the colour bar has the right side.
        "legend": {
            **layout["legend"],
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.0,
            "yanchor": "bottom",
        },
    }
    layout["margin"]["t"] += 24
    return go.Figure(data=traces + keys, layout=layout)
