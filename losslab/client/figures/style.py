"""The page's look in one place: colours, fonts and marks mirrored from static/js (each block
names its file), numbers as the page writes them, its loss colour scale, and the layout, axis
and legend-key helpers every figure shares."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

Trace = dict[str, Any]

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


def escape(text: str) -> str:
    """Text Plotly shows as is: its own markup (<b>, <br>) stays out of labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def wrap(text: str, width: int = 56) -> str:
    """A sentence as hover lines of about `width` characters."""
    return "<br>".join(escape(line) for line in textwrap.wrap(text, width) or [""])


def percent(count: int, total: int) -> str:
    share = 100 * count / total if total else 0.0
    return "<1%" if 0 < share < 1 else f"{math.floor(share + 0.5)}%"


def with_alpha(color: str, alpha: float) -> str:
    n = int(color[1:], 16)
    return f"rgba({(n >> 16) & 255}, {(n >> 8) & 255}, {n & 255}, {alpha})"


def plotly_scale(stops: Sequence[tuple[float, str]]) -> list[list[Any]]:
    return [[at, color] for at, color in stops]


def categorical(colors: Sequence[str]) -> list[list[Any]]:
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


# ---- layouts ---------------------------------------------------------------------------------


def base_layout(title: str | None, subtitle: str | None = None) -> dict[str, Any]:
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
            "text": escape(title),
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
                "text": escape(subtitle),
                "font": {"size": 11, "color": TEXT_COLOR},
            }
        layout["title"] = text
    return layout


def _top_margin(title: str | None, subtitle: str | None) -> int:
    return 76 if title and subtitle else 48 if title else 16


def framed_axis(title: str, **extra: Any) -> dict[str, Any]:
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


def legend_key(name: str, marker: dict[str, Any], group: str, rank: int) -> Trace:
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
