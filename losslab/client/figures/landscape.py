"""What a landscape draws (landscape.js): the contour in the page's loss scale, minima and
saddles, paths, starts, ends and events, and the layout that keeps the axes on the domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import plotly.graph_objects as go

from ...web.schemas import Domain, Event, Grid, MinimumOut, Run, SaddleOut, SurfaceOut
from .style import (
    COLORSCALE,
    CONTOUR_LEVELS,
    CONTOUR_LINE,
    CROWDED_MARKS,
    EVENT_KEY_COLOR,
    EVENTS,
    GLOBAL_MIN_COLOR,
    INK,
    MARKER_STEPS,
    PALETTE,
    LossScale,
    Trace,
    base_layout,
    escape,
    fmt,
    framed_axis,
    legend_key,
    plotly_scale,
    wrap,
)

EventChoice = Literal["first", "all", "none"]


# ---- what the landscape draws ----------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """An event placed on a path: at its step's frame, or where a run left the map."""

    event: Event
    at: int


@dataclass(frozen=True)
class Path:
    """One path to draw: a run's frames or a sweep's row."""

    label: str
    color: str
    x: list[float]
    y: list[float]
    loss: list[float]
    note: str = ""
    marks: list[_Mark] = field(default_factory=list)


def _inside(domain: Domain, x: float, y: float) -> bool:
    return domain.x[0] <= x <= domain.x[1] and domain.y[0] <= y <= domain.y[1]


def _placed(run: Run, domain: Domain | None, which: EventChoice) -> list[_Mark]:
    """The run's events at their frames (analysis.js placedEvents): a divergence's frame may be
    far off the map, so an event is drawn at the last frame before the run left `domain`."""
    if which == "none" or not run.frames:
        return []
    marks = []
    seen: set[str] = set()
    for event in run.analysis.events:
        if event.type not in EVENTS or (which == "first" and event.type in seen):
            continue
        seen.add(event.type)
        k = max(0, min(event.step, len(run.frames) - 1))
        while (
            domain is not None and k > 0 and not _inside(domain, run.frames[k].x, run.frames[k].y)
        ):
            k -= 1
        marks.append(_Mark(event, k))
    return marks


def run_path(label: str, run: Run, index: int, domain: Domain | None, which: EventChoice) -> Path:
    frames = run.frames
    return Path(
        label=label,
        color=PALETTE[index % len(PALETTE)],
        x=[f.x for f in frames],
        y=[f.y for f in frames],
        loss=[f.loss for f in frames],
        marks=_placed(run, domain, which),
    )


def _contour_trace(grid: Grid, scale: LossScale, *, showscale: bool = True) -> Trace:
    """The landscape: a filled contour of the colour levels, hover showing the true loss."""
    values, text = scale.ticks()
    return {
        "type": "contour",
        "meta": {"role": "landscape"},
        "x": grid.x,
        "y": grid.y,
        "z": scale.levels(grid.z),
        "text": [[fmt(v) for v in row] for row in grid.z],
        "hovertemplate": "x %{x:.4g}<br>y %{y:.4g}<br>loss %{text}<extra></extra>",
        "colorscale": plotly_scale(COLORSCALE),
        "autocontour": False,
        "contours": {
            "start": 0,
            "end": 1,
            "size": 1 / CONTOUR_LEVELS,
            "coloring": "fill",
            "showlines": True,
        },
        "zmin": 0,
        "zmax": 1,
        "line": {"color": CONTOUR_LINE, "width": 0.6, "smoothing": 0.85},
        "showscale": showscale,
        "showlegend": False,
        "colorbar": side_colorbar("loss", values, text),
    }


def side_colorbar(title: str, tickvals: list[float], ticktext: list[str]) -> dict[str, Any]:
    """A thin colour bar right of the plot, at its foot: the legend has the space above it
    (landscape_figure sets its length)."""
    return {
        "title": {"text": title, "side": "top", "font": {"size": 11}},
        "thickness": 8,
        "outlinewidth": 0,
        "tickvals": tickvals,
        "ticktext": ticktext,
        "tickfont": {"size": 10},
        "x": 1.02,
        "xanchor": "left",
        "xpad": 0,
        "y": 0,
        "yanchor": "bottom",
        "lenmode": "fraction",
        "len": 0.45,
    }


def marker_traces(minima: Sequence[MinimumOut], saddles: Sequence[SaddleOut]) -> list[Trace]:
    """Known minima (global: star, local: circle) and saddles (cross), as the landscape's."""
    crowded = len(minima) + len(saddles) > CROWDED_MARKS
    groups: list[tuple[str, str, list[Any], dict[str, Any], float]] = [
        (
            "global",
            "global minimum",
            [m for m in minima if m.kind == "global"],
            {"symbol": "star", "size": 15, "color": GLOBAL_MIN_COLOR},
            1.1,
        ),
        (
            "local",
            "local minimum",
            [m for m in minima if m.kind != "global"],
            {"symbol": "circle", "size": 5 if crowded else 8, "color": "#ffffff"},
            0.8 if crowded else 1.3,
        ),
        (
            "saddle",
            "saddle",
            list(saddles),
            {"symbol": "x-thin", "size": 5 if crowded else 9, "color": INK},
            1.1 if crowded else 2.0,
        ),
    ]
    return [
        {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "meta": {"role": kind},
            "x": [p.x for p in points],
            "y": [p.y for p in points],
            "text": [f"{name}<br>({fmt(p.x)}, {fmt(p.y)})<br>loss {fmt(p.loss)}" for p in points],
            "hovertemplate": "%{text}<extra></extra>",
            "opacity": 0.6 if crowded and kind != "global" else 1,
            "marker": {**marker, "line": {"color": INK, "width": line}},
            "showlegend": bool(points),
            "legendrank": 50,
        }
        for kind, name, points, marker, line in groups
    ]


def path_trace(path: Path, index: int) -> Trace:
    """A whole path, dotted per step while it is short enough to count them (landscape.js)."""
    steps = len(path.x) - 1
    many = steps > MARKER_STEPS
    note = f"{escape(path.note)}<br>" if path.note else ""
    return {
        "type": "scatter",
        "mode": "lines" if many else "lines+markers",
        "name": escape(path.label),
        "legendgroup": f"path{index}",
        "legendrank": 10 + index,
        "meta": {"role": "path", "run": index},
        "x": path.x,
        "y": path.y,
        "customdata": [[k, loss] for k, loss in enumerate(path.loss)],
        "line": {"color": path.color, "width": 1.9},
        "marker": {"color": path.color, "size": 4.5, "line": {"color": "#ffffff", "width": 0.8}},
        "hovertemplate": f"<b>{escape(path.label)}</b><br>{note}step %{{customdata[0]}}<br>"
        "(%{x:.4g}, %{y:.4g})<br>loss %{customdata[1]:.4g}<extra></extra>",
    }


def start_trace(points: Sequence[tuple[float, float]]) -> Trace:
    """The start (white ring in ink, the page's), once per distinct start."""
    unique = list(dict.fromkeys(points))
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "start",
        "meta": {"role": "start"},
        "x": [p[0] for p in unique],
        "y": [p[1] for p in unique],
        "text": [f"start ({fmt(p[0])}, {fmt(p[1])})" for p in unique],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {
            "symbol": "circle",
            "size": 12,
            "color": "#ffffff",
            "line": {"color": INK, "width": 2.6},
        },
        "showlegend": False,
    }


def _end_trace(path: Path, index: int, y: list[float], size: float = 11) -> Trace:
    """Where a path ends: its colour ringed in white (the page's playhead at the last step)."""
    k = len(path.x) - 1
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "end",
        "legendgroup": f"path{index}",
        "meta": {"role": "end", "run": index},
        "x": [path.x[k]],
        "y": [y[k]],
        "text": [f"<b>{escape(path.label)}</b> · end, step {k}<br>loss {fmt(path.loss[k])}"],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"color": path.color, "size": size, "line": {"color": "#ffffff", "width": 2.4}},
        "showlegend": False,
    }


def event_trace(
    path: Path, index: int, x: Sequence[float], y: Sequence[float], size: float = 12
) -> Trace | None:
    """The path's events as symbols in its colour at (x, y) of their frames (the landscape's
    point, the curve's (w, loss), the loss chart's (step, loss)); hover: what happened."""
    if not path.marks:
        return None
    text = []
    for mark in path.marks:
        name = EVENTS[mark.event.type][0]
        head = f"<b>{name}</b> · step {mark.event.step} · {escape(path.label)}"
        off = (
            f"<br><i>off the map: drawn where the run left it (step {mark.at})</i>"
            if mark.at < mark.event.step
            else ""
        )
        text.append(f"{head}<br>{wrap(mark.event.detail)}{off}")
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "events",
        "legendgroup": f"path{index}",
        "meta": {"role": "events", "run": index, "steps": [m.event.step for m in path.marks]},
        "x": [x[m.at] for m in path.marks],
        "y": [y[m.at] for m in path.marks],
        "customdata": [m.event.type for m in path.marks],
        "text": text,
        "hovertemplate": "%{text}<extra></extra>",
        "hoverlabel": {"bgcolor": "#ffffff", "bordercolor": path.color, "font": {"color": INK}},
        "marker": {
            "symbol": [EVENTS[m.event.type][1] for m in path.marks],
            "size": [size + (1 if m.event.type == "divergence" else 0) for m in path.marks],
            "color": path.color,
            "line": {"color": "#ffffff", "width": 1.4},
        },
        "showlegend": False,
    }


def event_keys(paths: Sequence[Path]) -> list[Trace]:
    """Legend entries naming the event symbols drawn (the page lists them in its Events tab)."""
    kinds = {mark.event.type for path in paths for mark in path.marks}
    return [
        legend_key(
            label, {"symbol": symbol, "size": 10, "color": EVENT_KEY_COLOR}, "events", 100 + k
        )
        for k, (kind, (label, symbol)) in enumerate(EVENTS.items())
        if kind in kinds
    ]


def contours(
    grid: Grid | None, minima: Sequence[MinimumOut], *, showscale: bool = True
) -> list[Trace]:
    """The landscape's contour, coloured from the lowest known minimum (none without a grid)."""
    if grid is None:
        return []
    return [_contour_trace(grid, LossScale(grid.z, [m.loss for m in minima]), showscale=showscale)]


def drawn(paths: Sequence[Path]) -> list[tuple[int, Path]]:
    """The paths with a point to draw, with their index (their colour and legend group)."""
    return [(k, p) for k, p in enumerate(paths) if p.x]


def marks_traces(paths: Sequence[Path], *, on_curve: bool) -> list[Trace]:
    """Where each path ends, then its events over every path: on a one-parameter curve at
    (w, loss), on the landscape at (x, y)."""
    traces = [
        _end_trace(p, k, p.loss if on_curve else p.y, size=12 if on_curve else 11)
        for k, p in drawn(paths)
    ]
    for k, p in drawn(paths):
        trace = event_trace(p, k, p.x, p.loss if on_curve else p.y, size=11 if on_curve else 12)
        if trace is not None:
            traces.append(trace)
    return traces


# ---- the landscape's layout (landscape.js) ---------------------------------------------------


def landscape_figure(
    surface: SurfaceOut, traces: list[Trace], title: str | None, subtitle: str | None
) -> go.Figure:
    """Traces on the contour's axes, fixed on the domain (a diverging path leaves for 1e30, the
    view stays) and in the domain's aspect so gradients look perpendicular to level sets; the
    legend at the plot's top right, colour bars under it (landscape.js layout and box)."""
    (x0, x1), (y0, y1) = surface.domain.x, surface.domain.y
    layout = base_layout(title, subtitle)
    margin = {"l": 56, "r": 190, "t": layout["margin"]["t"], "b": 48}
    width, height = _landscape_size((x1 - x0) / (y1 - y0))
    layout |= {
        "margin": margin,
        "width": width + margin["l"] + margin["r"],
        "height": height + margin["t"] + margin["b"],
        "xaxis": framed_axis("x", range=[x0, x1], autorange=False, constrain="domain"),
        "yaxis": framed_axis(
            "y",
            range=[y0, y1],
            autorange=False,
            scaleanchor="x",
            scaleratio=1,
            constrain="domain",
        ),
    }
    # Colour bars take what the legend's entries (about 20 px each) leave of the height.
    entries = sum(1 for t in traces if t.get("type") == "scatter" and t.get("showlegend", True))
    length = min(0.55, max(0.28, 1 - (20 * entries + 24) / height))
    for trace in traces:
        bar = trace.get("colorbar") or trace.get("marker", {}).get("colorbar")
        if bar is not None:
            bar["len"] = length
    return go.Figure(data=traces, layout=layout)


def _landscape_size(aspect: float) -> tuple[int, int]:
    """Plot area (px) of the domain's aspect, within about 560 px a side."""
    side = 560.0
    if aspect >= 1:
        width, height = side, side / aspect
        if height < 300:
            height, width = 300.0, min(700.0, 300 * aspect)
    else:
        width, height = side * aspect, side
        width = max(width, 300.0)
    return round(width), round(height)
