"""Plotly figures of the API's answers, drawn as the page draws them (static/js).

Pure functions from the server's pydantic models (web/schemas.py) to
`plotly.graph_objects.Figure`: a notebook shows them inline, `write_html` saves them. Only the
results' `figure()` methods import this package, so nothing else needs plotly.

Traces carry `meta` as the page's do (`{"role": "path", "run": 0}`, `{"role": "events", ...}`,
`{"role": "basin-map"}`, ...), so a test or a notebook can find them by what they draw.

Each module mirrors the page's JS files it names: `style` the colours, fonts, number format and
loss scale (plots.js, scale.js, format.js, ...), `landscape` the contour and what is drawn on it
(landscape.js), `runs` runs on a landscape, a one-parameter curve (curve.js) and the loss chart
(charts.js), `sweep` a sweep's rows, `maps` the basin and hyperparameter maps (maps.js,
hparams.js), `benchmark` the benchmark (benchmark.js).
"""

from .benchmark import benchmark_figure
from .landscape import EventChoice
from .maps import Metric, basin_map_figure, hyperparameter_map_figure
from .runs import loss_figure, run_figure, runs_figure
from .style import DIVERGED_COLOR, EVENTS, PALETTE, LossScale, fmt
from .sweep import sweep_figure

__all__ = [
    "DIVERGED_COLOR",
    "EVENTS",
    "PALETTE",
    "EventChoice",
    "LossScale",
    "Metric",
    "basin_map_figure",
    "benchmark_figure",
    "fmt",
    "hyperparameter_map_figure",
    "loss_figure",
    "run_figure",
    "runs_figure",
    "sweep_figure",
]
