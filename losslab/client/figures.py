"""Plotly figures of the API's answers, drawn as the page draws them (static/js).

Pure functions from the server's pydantic models (web/schemas.py) to
`plotly.graph_objects.Figure`: a notebook shows them inline, `write_html` saves them. Only the
results' `figure()` methods import this module, so nothing else needs plotly.

Traces carry `meta` as the page's do (`{"role": "path", "run": 0}`, `{"role": "events", ...}`,
`{"role": "basin-map"}`, ...), so a test or a notebook can find them by what they draw.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from ..web.schemas import (
    BenchmarkOut,
    BenchmarkRowOut,
    Domain,
    Event,
    Grid,
    MapOut,
    MinimumOut,
    Run,
    SaddleOut,
    SurfaceOut,
    SweepOut,
)

Trace = dict[str, Any]
EventChoice = Literal["first", "all", "none"]
Metric = Literal["final_loss", "steps_to_converge", "outcome"]

# ---- the page's colours, fonts and marks: each block mirrors the JS file it names ------------

# static/js/plots.js: PALETTE (one colour per run, in order), INK, FONT, baseLayout, FRAMED_AXIS
PALETTE = (
    "#e8590c",
    "#c2255c",
    "#2b8a3e",
    "#7048e8",
    "#1971c2",
    "#0c8599",
    "#e67700",
    "#862e9c",
)
INK = "#1b2230"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
TEXT_COLOR = "#4a5466"
LEGEND_TEXT = "#2d3648"
FRAME_COLOR = "#c3c9d3"
GRID_COLOR = "#eef0f4"
STEP_LINE_COLOR = "#d5dae2"
HOVER_BORDER = "#d0d5dd"

# static/js/scale.js: the landscape's colour scale and contour lines (LossScale below)
COLORSCALE = (
    (0.0, "#fbfaf5"),
    (0.12, "#eef3ef"),
    (0.26, "#d7e6e4"),
    (0.42, "#b5d0d6"),
    (0.58, "#8fb3c6"),
    (0.74, "#6b92b2"),
    (0.88, "#4d7199"),
    (1.0, "#35527c"),
)
CONTOUR_LINE = "rgba(27, 34, 48, 0.14)"
CONTOUR_LEVELS = 24

# static/js/landscape.js: minima, saddles, start and playhead marks; paths of at most this
# many steps show a dot per step
GLOBAL_MIN_COLOR = "#ffd43b"
MARKER_STEPS = 200
CROWDED_MARKS = 24

# static/js/curve.js: a one-parameter model's loss curve
CURVE_COLOR = "#3b4a6b"
CURVE_FILL = "rgba(76, 95, 213, 0.06)"

# static/js/analysis.js: one Plotly symbol per event type, and its name
EVENTS = {
    "overshoot": ("Overshoot", "triangle-up"),
    "oscillation": ("Oscillation", "diamond"),
    "escape": ("Escape", "star"),
    "saddle_stall": ("Saddle stall", "hourglass"),
    "divergence": ("Divergence", "x"),
}
EVENT_KEY_COLOR = "#5c677d"

# static/js/maps.js: basin colours (light tints, never a run's colour), diverged, undecided
BASIN_COLORS = (
    "#ffe066",
    "#8ce99a",
    "#a5d8ff",
    "#fcc2d7",
    "#d0bfff",
    "#ffc078",
    "#96f2d7",
    "#eebefa",
)
DIVERGED_COLOR = "#7f1d1d"
UNDECIDED_COLOR = "#868e96"
BASIN_ALPHA = 0.6
BASIN_LINE = "rgba(27, 34, 48, 0.6)"
CELL_HOVER = {"bgcolor": "#ffffff", "bordercolor": "#5c677d", "align": "left"}

# static/js/hparams.js: the hyperparameter map's metrics and colours
NOT_CONVERGED = "#dde1e7"
HPARAM_DIVERGED = "#b42318"
LOSS_SCALE = (
    (0.0, "#0b3c5d"),
    (0.25, "#1d6a8a"),
    (0.5, "#3f9ea1"),
    (0.75, "#9fd0a3"),
    (1.0, "#f5f1c0"),
)
STEPS_SCALE = ((0.0, "#123f6b"), (0.35, "#3b77b3"), (0.7, "#93bde0"), (1.0, "#eef4fa"))

# static/js/benchmark.js: one colour per optimizer of an answer, and success pale to deep
BENCH_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
SUCCESS_SCALE = ((0.0, "#f3f4f7"), (0.35, "#cfe8d6"), (0.7, "#6cbf8a"), (1.0, "#1f7a45"))

# Sweeps have no page figure: their rows go from the PALETTE's violet through its magenta to
# its orange, saturated tones that read on the landscape's pale valleys and slate ridges.
SWEEP_SCALE = ((0.0, "#5f3dc4"), (0.4, "#c2255c"), (0.75, "#e8590c"), (1.0, "#f59f00"))

STATUS_WORDS = {"converged": "converged", "max_steps": "took every step", "diverged": "diverged"}


# ---- numbers and text ------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 4) -> str:
    """A short number as the page writes it (format.js fmt): 4 significant digits."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e5:
        return _js_number(float(f"{value:.{digits}g}"))
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{_js_number(float(mantissa))}e{int(exponent)}"


def _js_number(value: float) -> str:
    """`String(number)` in JavaScript: no trailing `.0`."""
    return str(int(value)) if value == int(value) and abs(value) < 1e21 else repr(value)


def _escape(text: str) -> str:
    """Text Plotly shows as is: its own markup (<b>, <br>) stays out of labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrap(text: str, width: int = 56) -> str:
    """A sentence as hover lines of about `width` characters."""
    return "<br>".join(_escape(line) for line in textwrap.wrap(text, width) or [""])


def _percent(count: int, total: int) -> str:
    share = 100 * count / total if total else 0.0
    return "<1%" if 0 < share < 1 else f"{math.floor(share + 0.5)}%"


def _with_alpha(color: str, alpha: float) -> str:
    n = int(color[1:], 16)
    return f"rgba({(n >> 16) & 255}, {(n >> 8) & 255}, {n & 255}, {alpha})"


def _scale(stops: Sequence[tuple[float, str]]) -> list[list[Any]]:
    return [[at, color] for at, color in stops]


def _categorical(colors: Sequence[str]) -> list[list[Any]]:
    """Plotly's stepped colour scale for codes 0..n-1 (maps.js categorical)."""
    n = len(colors)
    return [stop for k, c in enumerate(colors) for stop in ([k / n, c], [(k + 1) / n, c])]


# ---- the landscape's colour transform (scale.js LossScale) -----------------------------------


class LossScale:
    """The page's colour transform of a loss: half log scale, half rank among the grid's values.

    The log part, log(1 + (z - zmin) / s), gives valleys detail; the rank spreads every surface
    over the whole colour scale. Monotone, so contours stay level sets; the colour bar's labels
    show true losses.
    """

    def __init__(self, z: Sequence[Sequence[float | None]], floor: Sequence[float] = ()) -> None:
        values = [v for row in z for v in row if v is not None and math.isfinite(v)]
        self.sorted = np.sort(np.asarray(values or [0.0, 1.0], dtype=float))
        self.lo = min(float(self.sorted[0]), *floor) if floor else float(self.sorted[0])
        self.hi = max(float(self.sorted[-1]), self.lo + 1e-12)
        self.s = max((self.hi - self.lo) * 2e-3, 1e-12)
        self.log_top = math.log10(1 + (self.hi - self.lo) / self.s)

    def rank(self, v: float) -> float:
        a = self.sorted
        n = len(a)
        if v <= a[0]:
            return 0.0
        if v >= a[-1]:
            return 1.0
        lo = int(np.searchsorted(a, v, side="right")) - 1
        span = float(a[lo + 1] - a[lo])
        return (lo + ((v - float(a[lo])) / span if span > 0 else 0.0)) / (n - 1)

    def t(self, v: float | None) -> float | None:
        """The colour level in [0, 1] of loss `v`, or None where it is not finite."""
        if v is None or not math.isfinite(v):
            return None
        log = math.log10(1 + max(0.0, v - self.lo) / self.s) / self.log_top
        return 0.5 * log + 0.5 * self.rank(v)

    def levels(self, z: Sequence[Sequence[float | None]]) -> list[list[float | None]]:
        """`t` over a grid, vectorized (a 200 × 200 grid is 40,000 losses)."""
        a = self.sorted
        grid = np.array([[math.nan if v is None else v for v in row] for row in z], dtype=float)
        finite = np.isfinite(grid)
        v = np.where(finite, grid, self.lo)
        log = np.log10(1 + np.maximum(0.0, v - self.lo) / self.s) / self.log_top
        if len(a) > 1:
            lo = np.clip(np.searchsorted(a, v, side="right") - 1, 0, len(a) - 2)
            span = a[lo + 1] - a[lo]
            part = np.divide(v - a[lo], span, out=np.zeros_like(v), where=span > 0)
            rank = np.clip((lo + part) / (len(a) - 1), 0.0, 1.0)
            rank = np.where(v <= a[0], 0.0, np.where(v >= a[-1], 1.0, rank))
        else:
            rank = np.zeros_like(v)
        level = 0.5 * log + 0.5 * rank
        return [
            [float(x) if ok else None for x, ok in zip(r, f, strict=True)]
            for r, f in zip(level, finite, strict=True)
        ]

    def inverse(self, level: float) -> float:
        """The loss whose colour level is `level` (bisection: t is monotone)."""
        lo, hi = self.lo, self.hi
        for _ in range(60):
            mid = (lo + hi) / 2
            if (self.t(mid) or 0.0) < level:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    def ticks(self, count: int = 6) -> tuple[list[float], list[str]]:
        """Tick positions (levels) labelled with round true losses."""
        values: list[float] = []
        text: list[str] = []
        for i in range(count):
            raw = self.inverse(i / (count - 1))
            last = i == count - 1
            nice = self.lo if i == 0 else raw if last else _nice_round(raw)
            level = self.t(nice)
            if level is None or (values and level - values[-1] < 0.07):
                continue
            values.append(level)
            text.append(fmt(nice, 2 if last else 3))
        return values, text


def _nice_round(v: float) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.{2 if abs(v) >= 10 else 1}g}")


# ---- what the landscape draws ----------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """An event placed on a path: at its step's frame, or where a run left the map."""

    event: Event
    at: int


@dataclass(frozen=True)
class _Path:
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


def _run_path(label: str, run: Run, index: int, domain: Domain | None, which: EventChoice) -> _Path:
    frames = run.frames
    return _Path(
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
        "colorscale": _scale(COLORSCALE),
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
        "colorbar": {
            "title": {"text": "loss", "side": "top", "font": {"size": 11}},
            "thickness": 8,
            "outlinewidth": 0,
            "tickvals": values,
            "ticktext": text,
            "tickfont": {"size": 10},
            "x": 1.02,
            "xanchor": "left",
            "xpad": 0,
            "y": 0,
            "yanchor": "bottom",
            "lenmode": "fraction",
            "len": 0.45,
        },
    }


def _marker_traces(minima: Sequence[MinimumOut], saddles: Sequence[SaddleOut]) -> list[Trace]:
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


def _path_trace(path: _Path, index: int) -> Trace:
    """A whole path, dotted per step while it is short enough to count them (landscape.js)."""
    steps = len(path.x) - 1
    many = steps > MARKER_STEPS
    note = f"{_escape(path.note)}<br>" if path.note else ""
    return {
        "type": "scatter",
        "mode": "lines" if many else "lines+markers",
        "name": _escape(path.label),
        "legendgroup": f"path{index}",
        "legendrank": 10 + index,
        "meta": {"role": "path", "run": index},
        "x": path.x,
        "y": path.y,
        "customdata": [[k, loss] for k, loss in enumerate(path.loss)],
        "line": {"color": path.color, "width": 1.9},
        "marker": {"color": path.color, "size": 4.5, "line": {"color": "#ffffff", "width": 0.8}},
        "hovertemplate": f"<b>{_escape(path.label)}</b><br>{note}step %{{customdata[0]}}<br>"
        "(%{x:.4g}, %{y:.4g})<br>loss %{customdata[1]:.4g}<extra></extra>",
    }


def _start_trace(points: Sequence[tuple[float, float]]) -> Trace:
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


def _end_trace(path: _Path, index: int, y: list[float], size: float = 11) -> Trace:
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
        "text": [f"<b>{_escape(path.label)}</b> · end, step {k}<br>loss {fmt(path.loss[k])}"],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"color": path.color, "size": size, "line": {"color": "#ffffff", "width": 2.4}},
        "showlegend": False,
    }


def _event_trace(
    path: _Path, index: int, x: Sequence[float], y: Sequence[float], size: float = 12
) -> Trace | None:
    """The path's events as symbols in its colour at (x, y) of their frames (the landscape's
    point, the curve's (w, loss), the loss chart's (step, loss)); hover: what happened."""
    if not path.marks:
        return None
    text = []
    for mark in path.marks:
        name = EVENTS[mark.event.type][0]
        head = f"<b>{name}</b> · step {mark.event.step} · {_escape(path.label)}"
        off = (
            f"<br><i>off the map: drawn where the run left it (step {mark.at})</i>"
            if mark.at < mark.event.step
            else ""
        )
        text.append(f"{head}<br>{_wrap(mark.event.detail)}{off}")
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


def _event_keys(paths: Sequence[_Path]) -> list[Trace]:
    """Legend entries naming the event symbols drawn (the page lists them in its Events tab)."""
    kinds = {mark.event.type for path in paths for mark in path.marks}
    return [
        _key(label, {"symbol": symbol, "size": 10, "color": EVENT_KEY_COLOR}, "events", 100 + k)
        for k, (kind, (label, symbol)) in enumerate(EVENTS.items())
        if kind in kinds
    ]


def _key(name: str, marker: dict[str, Any], group: str, rank: int) -> Trace:
    """A legend entry with nothing to draw."""
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "meta": {"role": "key", "of": group},
        "x": [None],
        "y": [None],
        "marker": marker,
        "legendrank": rank,
        "hoverinfo": "skip",
    }


# ---- layouts ---------------------------------------------------------------------------------


def _base_layout(title: str | None, subtitle: str | None = None) -> dict[str, Any]:
    """baseLayout() of plots.js on a white page, with a title above the plot."""
    layout: dict[str, Any] = {
        "font": {"family": FONT, "size": 11, "color": TEXT_COLOR},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "bordercolor": HOVER_BORDER},
        "hovermode": "closest",
        "margin": {"l": 56, "r": 16, "t": _top_margin(title, subtitle), "b": 48},
        # Plotly hides a legend of one entry: a lone run or key still names itself.
        "showlegend": True,
        "legend": {
            "x": 1.02,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0)",
            "font": {"size": 11, "color": LEGEND_TEXT},
            "tracegroupgap": 2,
        },
    }
    if title:
        text: dict[str, Any] = {
            "text": _escape(title),
            "x": 0,
            "xref": "paper",
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 12},
            "font": {"size": 15, "color": INK},
        }
        if subtitle:
            text["subtitle"] = {
                "text": _escape(subtitle),
                "font": {"size": 11, "color": TEXT_COLOR},
            }
        layout["title"] = text
    return layout


def _top_margin(title: str | None, subtitle: str | None) -> int:
    return 76 if title and subtitle else 48 if title else 16


def _framed_axis(title: str, **extra: Any) -> dict[str, Any]:
    """FRAMED_AXIS of plots.js (ticks out, a frame, no grid), titled."""
    return {
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
        "ticklen": 4,
        "tickcolor": FRAME_COLOR,
        "linecolor": FRAME_COLOR,
        "showline": True,
        "mirror": True,
        "tickfont": {"size": 10},
        "title": {"text": title, "font": {"size": 13, "color": INK}, "standoff": 6},
        **extra,
    }


def _landscape_figure(
    surface: SurfaceOut, traces: list[Trace], title: str | None, subtitle: str | None
) -> go.Figure:
    """Traces on the contour's axes, fixed on the domain (a diverging path leaves for 1e30, the
    view stays) and in the domain's aspect so gradients look perpendicular to level sets; the
    legend at the plot's top right, colour bars under it (landscape.js layout and box)."""
    (x0, x1), (y0, y1) = surface.domain.x, surface.domain.y
    layout = _base_layout(title, subtitle)
    margin = {"l": 56, "r": 190, "t": layout["margin"]["t"], "b": 48}
    width, height = _landscape_size((x1 - x0) / (y1 - y0))
    layout |= {
        "margin": margin,
        "width": width + margin["l"] + margin["r"],
        "height": height + margin["t"] + margin["b"],
        "xaxis": _framed_axis("x", range=[x0, x1], autorange=False, constrain="domain"),
        "yaxis": _framed_axis(
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
    paths = [_run_path(label, run, k, domain, events) for k, (label, run) in enumerate(runs)]
    heading = title or surface.title
    below = subtitle if subtitle is not None else surface.formula if title is None else None
    if surface.parameters == 1:
        return _curve_figure(surface, grid, paths, heading, below)
    traces = _contours(grid, surface.minima)
    traces += _marker_traces(surface.minima, surface.saddles)
    traces += [_path_trace(p, k) for k, p in _drawn(paths)]
    # The start under the events: a run that leaves the map at once has them all there.
    traces.append(_start_trace([(p.x[0], p.y[0]) for _, p in _drawn(paths)]))
    traces += _marks_traces(paths, on_curve=False)
    return _landscape_figure(surface, traces + _event_keys(paths), heading, below)


def _contours(
    grid: Grid | None, minima: Sequence[MinimumOut], *, showscale: bool = True
) -> list[Trace]:
    """The landscape's contour, coloured from the lowest known minimum (none without a grid)."""
    if grid is None:
        return []
    return [_contour_trace(grid, LossScale(grid.z, [m.loss for m in minima]), showscale=showscale)]


def _drawn(paths: Sequence[_Path]) -> list[tuple[int, _Path]]:
    """The paths with a point to draw, with their index (their colour and legend group)."""
    return [(k, p) for k, p in enumerate(paths) if p.x]


def _marks_traces(paths: Sequence[_Path], *, on_curve: bool) -> list[Trace]:
    """Where each path ends, then its events over every path: on a one-parameter curve at
    (w, loss), on the landscape at (x, y)."""
    traces = [
        _end_trace(p, k, p.loss if on_curve else p.y, size=12 if on_curve else 11)
        for k, p in _drawn(paths)
    ]
    for k, p in _drawn(paths):
        trace = _event_trace(p, k, p.x, p.loss if on_curve else p.y, size=11 if on_curve else 12)
        if trace is not None:
            traces.append(trace)
    return traces


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
    paths: Sequence[_Path],
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
    for k, path in _drawn(paths):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": _escape(path.label),
                "legendgroup": f"path{k}",
                "legendrank": 10 + k,
                "meta": {"role": "path", "run": k},
                "x": path.x,
                "y": path.loss,
                "customdata": list(range(len(path.x))),
                "marker": {
                    "color": _with_alpha(path.color, 0.7),
                    "size": 7,
                    "line": {"color": "rgba(255, 255, 255, 0.9)", "width": 0.6},
                },
                "hovertemplate": f"<b>{_escape(path.label)}</b><br>step %{{customdata}}<br>"
                "w %{x:.4g}<br>loss %{y:.4g}<extra></extra>",
            }
        )
    start = _start_trace([(p.x[0], p.loss[0]) for _, p in _drawn(paths)])
    start["text"] = [f"start w {fmt(w)}" for w in start["x"]]
    traces.append(start)
    traces += _marks_traces(paths, on_curve=True)
    if not losses:
        # No curve: the runs' own losses on the map (a divergence's do not set the view).
        losses = [
            v
            for _, p in _drawn(paths)
            for x, v in zip(p.x, p.loss, strict=True)
            if surface.domain.x[0] <= x <= surface.domain.x[1]
        ] or [0.0, 1.0]
    lo, hi = min(losses), max(losses)
    pad = (hi - lo) * 0.06 or 1.0
    axis = {"showgrid": True, "gridcolor": GRID_COLOR}
    layout = _base_layout(title, subtitle)
    layout |= {
        "margin": {**layout["margin"], "r": 180},
        "xaxis": _framed_axis("w", range=list(surface.domain.x), autorange=False, **axis),
        "yaxis": _framed_axis(
            "loss over all samples",
            range=[max(lo - pad, 0.0) if lo > 0 else lo - pad, hi + pad],
            autorange=False,
            **axis,
        ),
    }
    return go.Figure(data=traces + _event_keys(paths), layout=layout)


# ---- the loss chart (charts.js) --------------------------------------------------------------


def loss_figure(
    runs: Sequence[tuple[str, Run]], *, log: bool = True, title: str | None = None
) -> go.Figure:
    """Loss against step, a line per run in the page's PALETTE, with every event of each run
    at (step, loss) (charts.js, analysis.js). `log`: a log axis where every loss is positive
    (a divergence then stays in view)."""
    paths = [_run_path(label, run, k, None, "all") for k, (label, run) in enumerate(runs)]
    traces: list[Trace] = []
    for k, (path, (_, run)) in enumerate(zip(paths, runs, strict=True)):
        steps = [f.step for f in run.frames]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines" if len(steps) > 1 else "lines+markers",
                "name": _escape(path.label),
                "legendgroup": f"path{k}",
                "legendrank": 10 + k,
                "meta": {"role": "loss", "run": k},
                "x": steps,
                "y": path.loss,
                "line": {"color": path.color, "width": 1.8},
                "marker": {"color": path.color, "size": 6},
                "hovertemplate": f"%{{y:.4g}}<extra>{_escape(path.label)}</extra>",
            }
        )
    for k, (path, (_, run)) in enumerate(zip(paths, runs, strict=True)):
        steps = [f.step for f in run.frames]
        if (trace := _event_trace(path, k, steps, path.loss, size=9)) is not None:
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
    layout = _base_layout(title)
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
    return go.Figure(data=traces + _event_keys(paths), layout=layout)


def _decade_step(values: Sequence[float]) -> int | None:
    """Whole decades, about five labelled; None under two decades (Plotly's ticks then)."""
    positive = [v for v in values if v > 0]
    lo, hi = min(positive), max(positive)
    if not hi > lo:
        return 1
    if hi / lo < 100:
        return None
    return max(1, math.ceil(math.log10(hi / lo) / 5))


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
    return f"{where}<br>{when} · loss {_escape(fmt(loss))}"


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
        _key(
            f"minimum {k}: {result.minima[k].kind} ({fmt(result.minima[k].x, 3)}, "
            f"{fmt(result.minima[k].y, 3)}) · {_percent(counts[k], total)}",
            {**square, "color": BASIN_COLORS[k % len(BASIN_COLORS)]},
            "outcomes",
            200 + n,
        )
        for n, k in enumerate(reached)
    ]
    if counts.get(-1):
        name = f"diverged · {_percent(counts[-1], total)}"
        keys.append(_key(name, {**square, "color": diverged}, "outcomes", 290))
    if undecided and counts.get(-2):
        name = f"undecided · {_percent(counts[-2], total)}"
        keys.append(_key(name, {**square, "color": UNDECIDED_COLOR}, "outcomes", 291))
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
    traces = _contours(grid, result.minima)
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
            "colorscale": _categorical([_with_alpha(c, alpha) for c in colors]),
            "showscale": False,
            "hovertemplate": "start (%{x:.3g}, %{y:.3g})<br>%{text}<extra>basin map</extra>",
            "hoverlabel": {**CELL_HOVER, "font": {"color": INK, "size": 12}},
            "showlegend": False,
        }
    )
    traces += _marker_traces(result.minima, surface.saddles)
    subtitle = f"{len(result.x)} × {len(result.y)} starts: the colour of the minimum each reaches"
    heading = title or f"Basin map · {surface.title}"
    return _landscape_figure(surface, traces + _outcome_keys(result), heading, subtitle)


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
            "colorscale": _categorical(colors),
            "showscale": False,
        }
    if metric == "steps_to_converge":
        z = [
            [None if d else v for v, d in zip(row, drow, strict=True)]
            for row, drow in zip(result.steps_to_converge, diverged, strict=True)
        ]
        return {
            "z": z,
            "colorscale": _scale(STEPS_SCALE),
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
            "colorscale": _scale(LOSS_SCALE),
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
        "colorscale": _scale(LOSS_SCALE),
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
    hover = (
        f"{_escape(x_name)} %{{x:.4g}} · {_escape(y_name)} %{{y:.4g}}<br>%{{text}}<extra></extra>"
    )
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
                "hovertemplate": f"stability bound (theory)<br>{_escape(x_name)} %{{x:.4g}} · "
                f"{_escape(y_name)} %{{y:.4g}}<extra></extra>",
                "legendrank": 300,
            },
        ]
    keys = _outcome_keys(result, diverged=HPARAM_DIVERGED) if metric == "outcome" else []
    if metric != "outcome":
        counts, total = _shares(result)
        square = {"symbol": "square", "size": 12, "line": {"color": BASIN_LINE, "width": 1}}
        if metric == "steps_to_converge":
            keys.append(
                _key("did not converge", {**square, "color": NOT_CONVERGED}, "outcomes", 289)
            )
        name = f"diverged · {_percent(counts.get(-1, 0), total)}"
        keys.append(_key(name, {**square, "color": HPARAM_DIVERGED}, "outcomes", 290))

    def axis(name: str, values: Sequence[float], log: bool) -> dict[str, Any]:
        return _framed_axis(
            f"{name} (log)" if log else name,
            type="log" if log else "linear",
            range=_cell_edges(values, log),
            autorange=False,
            exponentformat="power",
        )

    heading = title or f"Hyperparameter map · {x_name} × {y_name}"
    layout = _base_layout(heading, f"coloured by {metric.replace('_', ' ')}")
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
    colors = sample_colorscale(_scale(SWEEP_SCALE), positions) if positions else []
    paths = [
        _Path(
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
    traces = _contours(grid, surface.minima, showscale=False)
    traces += _marker_traces(surface.minima, surface.saddles)
    for k, path in enumerate(paths):
        if not path.x:
            continue
        trace = _path_trace(path, k)
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
                f"<b>{_escape(p.label)}</b> · end, step {len(p.x) - 1}<br>{p.note}" for p in ends
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
    traces.append(_start_trace([(p.x[0], p.y[0]) for p in ends]))
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
                "colorscale": _scale(SWEEP_SCALE),
                "showscale": True,
                "colorbar": {
                    "title": {
                        "text": f"{axis.name} (log)" if log else axis.name,
                        "side": "top",
                        "font": {"size": 11},
                    },
                    "thickness": 8,
                    "outlinewidth": 0,
                    "tickvals": tick_at.tolist(),
                    "ticktext": [fmt(10.0**v if log else float(v), 3) for v in tick_at],
                    "tickfont": {"size": 10},
                    "x": 1.02,
                    "xanchor": "left",
                    "xpad": 0,
                    "y": 0,
                    "yanchor": "bottom",
                    "lenmode": "fraction",
                    "len": 0.45,
                },
            },
        }
    )
    n = len(sweep.values)
    heading = title or f"Sweep of {axis.name} · {surface.title}"
    subtitle = f"{n} runs, {axis.name} from {fmt(axis.min)} to {fmt(axis.max)}" + (
        " (log)" if log else ""
    )
    return _landscape_figure(surface, traces, heading, subtitle)


def _hex(color: str) -> str:
    """`rgb(r, g, b)` (plotly.colors) as #rrggbb, the form the path traces take."""
    if color.startswith("#"):
        return color
    r, g, b = (round(float(c)) for c in color[color.index("(") + 1 : -1].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


# ---- benchmarks (benchmark.js) ---------------------------------------------------------------

FACETS_PER_ROW = 3


def benchmark_figure(result: BenchmarkOut, *, title: str | None = None) -> go.Figure:
    """The benchmark as the page shows it: the heatmap of success at each optimizer's tuned lr
    (optimizers from the best down, surfaces across, "k/n" in each cell), and under it the
    success-against-lr curve of every optimizer on each surface, a diamond at its tuned lr."""
    surfaces = result.surfaces
    titles = [str(s.get("title") or s.get("name")) for s in surfaces]
    columns = max(1, min(FACETS_PER_ROW, len(surfaces)))
    facet_rows = max(1, math.ceil(len(surfaces) / columns))
    ranked = sorted(result.ranking, key=lambda r: float(r.get("rank", 0)))
    labels = list(dict.fromkeys([str(r["optimizer"]) for r in ranked] + _order(result)))
    heat_px = 48 + 28 * len(labels)
    facet_px = 230
    gap_px = 70
    fig = make_subplots(
        rows=1 + facet_rows,
        cols=columns,
        specs=_benchmark_specs(len(surfaces), columns, facet_rows),
        row_heights=[heat_px] + [facet_px] * facet_rows,
        subplot_titles=["", *titles],
        vertical_spacing=gap_px / (heat_px + facet_rows * (facet_px + gap_px)),
        horizontal_spacing=0.07,
    )
    fig.add_trace(go.Heatmap(_success_heatmap(result, labels, titles)), row=1, col=1)
    colors = {label: BENCH_COLORS[k % len(BENCH_COLORS)] for k, label in enumerate(_order(result))}
    in_legend: set[str] = set()
    for s, surface in enumerate(surfaces):
        row, col = 2 + s // columns, 1 + s % columns
        for k, label in enumerate(_order(result)):
            found = _row(result, label, str(surface.get("name")))
            if found is None:
                continue
            for trace in _curve_traces(found, colors[label], k, first=label not in in_legend):
                fig.add_trace(go.Scatter(trace), row=row, col=col)
            in_legend.add(label)
        fig.update_xaxes(
            _curve_axis("lr (log) · ◆ tuned", type="log", exponentformat="power"), row=row, col=col
        )
        fig.update_yaxes(
            _curve_axis("success" if col == 1 else "", range=[-0.04, 1.04], tickformat=".0%"),
            row=row,
            col=col,
        )
    cells = {
        "type": "category",
        "showgrid": False,
        "zeroline": False,
        "ticks": "",
        "showline": False,
        "automargin": True,
        "tickfont": {"size": 11, "color": INK},
    }
    fig.update_xaxes(side="top", row=1, col=1, **cells)
    fig.update_yaxes(autorange="reversed", row=1, col=1, **cells)
    layout = _base_layout(title or "Benchmark: success at the tuned lr", _protocol_line(result))
    layout["margin"] |= {"r": 24, "t": layout["margin"]["t"] + 28}
    layout["height"] = (
        heat_px + facet_rows * (facet_px + gap_px) + layout["margin"]["t"] + layout["margin"]["b"]
    )
    # The legend beside the curves, the colour bar beside the heatmap's row only.
    layout["legend"] |= {"y": fig.layout.yaxis2.domain[1], "yanchor": "top"}
    fig.update_layout(layout)
    top = fig.layout.yaxis.domain
    fig.update_traces(
        colorbar={"y": top[0], "yanchor": "bottom", "len": top[1] - top[0], "lenmode": "fraction"},
        selector={"type": "heatmap"},
    )
    fig.update_annotations(font={"size": 12, "color": INK})
    return fig


def _benchmark_specs(
    surfaces: int, columns: int, facet_rows: int
) -> list[list[dict[str, Any] | None]]:
    """The heatmap across the top row, then a facet per surface (none past the last)."""
    specs: list[list[dict[str, Any] | None]] = [[{"colspan": columns}] + [None] * (columns - 1)]
    for r in range(facet_rows):
        specs.append([{} if r * columns + c < surfaces else None for c in range(columns)])
    return specs


def _curve_axis(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "gridcolor": GRID_COLOR,
        "zeroline": False,
        "linecolor": STEP_LINE_COLOR,
        "tickfont": {"size": 10},
        "title": {"text": title, "font": {"size": 11, "color": INK}, "standoff": 4},
        **extra,
    }


def _protocol_line(result: BenchmarkOut) -> str:
    """The budget every optimizer had, as the page's protocol line says it."""
    protocol = result.protocol
    lr = protocol.get("lr") or {}
    return (
        f"lr {fmt(lr.get('min'))} to {fmt(lr.get('max'))}, {lr.get('n')} values (log) · "
        f"{protocol.get('starts')} starts per surface (seed {protocol.get('seed')}) · "
        f"{protocol.get('steps')} steps · tolerance {fmt(protocol.get('tolerance'))}"
    )


def _order(result: BenchmarkOut) -> list[str]:
    """The optimizers' labels in the request's order: their colours (benchmark.js)."""
    return [str(o["label"]) for o in result.optimizers]


def _row(result: BenchmarkOut, label: str, surface: str) -> BenchmarkRowOut | None:
    return next((r for r in result.rows if r.optimizer == label and r.surface == surface), None)


def _success_heatmap(result: BenchmarkOut, labels: Sequence[str], titles: Sequence[str]) -> Trace:
    """Optimizers from the overall best down, surfaces across, success rate at the tuned lr."""
    names = [str(s.get("name")) for s in result.surfaces]
    grid = [[_row(result, label, name) for name in names] for label in labels]

    def hover(row: BenchmarkRowOut, title: str) -> str:
        steps = "" if row.median_steps is None else f"median {fmt(row.median_steps)} steps"
        return (
            f"{_escape(row.optimizer)} on {_escape(title)}<br>{row.successes} of {row.runs} "
            f"reach the target at lr {fmt(row.tuned_lr, 3)}" + (f"<br>{steps}" if steps else "")
        )

    return {
        "meta": {"role": "bench-success"},
        "x": list(titles),
        "y": list(labels),
        "z": [[None if r is None else r.success_rate for r in line] for line in grid],
        "text": [[None if r is None else f"{r.successes}/{r.runs}" for r in line] for line in grid],
        "hovertext": [
            [None if r is None else hover(r, t) for r, t in zip(line, titles, strict=True)]
            for line in grid
        ],
        "texttemplate": "%{text}",
        "textfont": {"size": 12},
        "hovertemplate": "%{hovertext}<extra></extra>",
        "hoverlabel": {**CELL_HOVER, "font": {"color": INK, "size": 12}},
        "zmin": 0,
        "zmax": 1,
        "colorscale": _scale(SUCCESS_SCALE),
        "xgap": 2,
        "ygap": 2,
        "colorbar": {
            "title": {"text": "success", "side": "right", "font": {"size": 11}},
            "thickness": 10,
            "outlinewidth": 0,
            "tickformat": ".0%",
            "tickfont": {"size": 10},
            "xpad": 6,
        },
    }


def _curve_traces(row: BenchmarkRowOut, color: str, index: int, *, first: bool) -> list[Trace]:
    """Success against lr on one surface (a line per optimizer) and a diamond at the tuned lr."""
    name = _escape(row.optimizer)
    steps = [
        "none reach the target"
        if c.get("median_steps") is None
        else f"median {fmt(c['median_steps'])} steps"
        for c in row.curve
    ]
    dash = "solid" if index < len(BENCH_COLORS) else "dash"
    return [
        {
            "mode": "lines+markers",
            "name": name,
            "legendgroup": row.optimizer,
            "showlegend": first,
            "meta": {"role": "bench-curve", "optimizer": row.optimizer, "surface": row.surface},
            "x": [c["lr"] for c in row.curve],
            "y": [c["success_rate"] for c in row.curve],
            "customdata": steps,
            "line": {"color": color, "width": 2, "dash": dash},
            "marker": {"color": color, "size": 5},
            "hovertemplate": f"<b>{name}</b> at lr %{{x:.3g}}<br>%{{y:.0%}} succeed · "
            "%{customdata}<extra></extra>",
        },
        {
            "mode": "markers",
            "name": f"{name}, tuned",
            "legendgroup": row.optimizer,
            "showlegend": False,
            "meta": {"role": "bench-tuned", "optimizer": row.optimizer, "surface": row.surface},
            "x": [row.tuned_lr],
            "y": [row.success_rate],
            "marker": {
                "color": color,
                "size": 11,
                "symbol": "diamond",
                "line": {"color": "#ffffff", "width": 1.5},
            },
            "hovertemplate": f"<b>{name}</b>: tuned lr %{{x:.3g}}, %{{y:.0%}} succeed"
            "<extra></extra>",
        },
    ]
