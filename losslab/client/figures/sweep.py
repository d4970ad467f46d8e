"""A sweep's rows as paths on the landscape, each coloured by its value along a colour bar (the
page has no sweep figure: the paths are drawn as landscape.js draws runs)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ...web.schemas import Grid, SurfaceOut, SweepOut
from .landscape import (
    Path,
    contours,
    landscape_figure,
    marker_traces,
    path_trace,
    side_colorbar,
    start_trace,
)
from .style import STATUS_WORDS, SWEEP_SCALE, escape, fmt, plotly_scale

# ---- sweeps ----------------------------------------------------------------------------------


def sweep_figure(
    surface: SurfaceOut, grid: Grid | None, sweep: SweepOut, *, title: str | None = None
) -> go.Figure:
    """Every row's path on the landscape, coloured by its value along a colour bar."""
    axis = sweep.axis
    log = axis.log and all(v > 0 for v in sweep.values)

    def f(v: float) -> float:
        return math.log10(v) if log else v

    lo = min((f(v) for v in sweep.values), default=0.0)
    hi = max((f(v) for v in sweep.values), default=1.0)
    span = hi - lo or 1.0
    positions = [(f(v) - lo) / span for v in sweep.values]
    colors = sample_colorscale(plotly_scale(SWEEP_SCALE), positions) if positions else []
    paths = [
        Path(
            label=f"{axis.name} {fmt(value)}",
            color=_hex(color),
            x=sweep.x[i],
            y=sweep.y[i],
            loss=sweep.loss[i],
            note=f"{STATUS_WORDS.get(sweep.status[i], sweep.status[i])}, final loss "
            f"{fmt(sweep.final_loss[i])}",
        )
        for i, (value, color) in enumerate(zip(sweep.values, colors, strict=True))
    ]
    # The value's colour bar has the right side: the landscape is context here.
    traces = contours(grid, surface.minima, showscale=False)
    traces += marker_traces(surface.minima, surface.saddles)
    for k, path in enumerate(paths):
        if not path.x:
            continue
        trace = path_trace(path, k)
        trace |= {"mode": "lines", "showlegend": False, "line": {**trace["line"], "width": 1.6}}
        traces.append(trace)
    ends = [p for p in paths if p.x]
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "ends",
            "meta": {"role": "ends"},
            "x": [p.x[-1] for p in ends],
            "y": [p.y[-1] for p in ends],
            "text": [
                f"<b>{escape(p.label)}</b> · end, step {len(p.x) - 1}<br>{p.note}" for p in ends
            ],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {
                "color": [p.color for p in ends],
                "size": 8,
                "line": {"color": "#ffffff", "width": 1.6},
            },
            "showlegend": False,
        }
    )
    traces.append(start_trace([(p.x[0], p.y[0]) for p in ends]))
    tick_at = np.linspace(lo, hi, 5) if hi > lo else np.array([lo])
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": axis.name,
            "meta": {"role": "sweep-colorbar"},
            "x": [None],
            "y": [None],
            "hoverinfo": "skip",
            "showlegend": False,
            "marker": {
                "color": [lo],
                "cmin": lo,
                "cmax": hi if hi > lo else lo + 1,
                "colorscale": plotly_scale(SWEEP_SCALE),
                "showscale": True,
                "colorbar": side_colorbar(
                    f"{axis.name} (log)" if log else axis.name,
                    tick_at.tolist(),
                    [fmt(10.0**v if log else float(v), 3) for v in tick_at],
                ),
            },
        }
    )
    n = len(sweep.values)
    heading = title or f"Sweep of {axis.name} · {surface.title}"
    subtitle = f"{n} runs, {axis.name} from {fmt(axis.min)} to {fmt(axis.max)}" + (
        " (log)" if log else ""
    )
    return landscape_figure(surface, traces, heading, subtitle)


def _hex(color: str) -> str:
    """`rgb(r, g, b)` (plotly.colors) as #rrggbb, the form the path traces take."""
    if color.startswith("#"):
        return color
    r, g, b = (round(float(c)) for c in color[color.index("(") + 1 : -1].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
