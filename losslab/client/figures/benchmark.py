"""The benchmark as the page shows it (benchmark.js): success at each optimizer's tuned lr,
and success against lr on each surface."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ...web.schemas import BenchmarkOut, BenchmarkRowOut
from .style import (
    BENCH_COLORS,
    CELL_HOVER,
    GRID_COLOR,
    INK,
    STEP_LINE_COLOR,
    SUCCESS_SCALE,
    Trace,
    base_layout,
    escape,
    fmt,
    plotly_scale,
)

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
    layout = base_layout(title or "Benchmark: success at the tuned lr", _protocol_line(result))
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
            f"{escape(row.optimizer)} on {escape(title)}<br>{row.successes} of {row.runs} "
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
        "colorscale": plotly_scale(SUCCESS_SCALE),
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
    name = escape(row.optimizer)
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
