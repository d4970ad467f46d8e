"""What the client's calls return: the server's own response models, with figures and tables.

Each result is the pydantic model the server answers with (`web/schemas.py`), so its fields are
the API's, and it keeps the request that made it (`request`, left out of `model_dump()`). A
figure draws the landscape in this process from the same code the server uses (losslab/landscapes),
so figures need no server, and an async client's results draw them too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..landscapes.surfaces import get_surface
from ..web import schemas
from ..web.operations import described_surface
from ..web.service import grid_out, surface_out

if TYPE_CHECKING:
    import pandas
    import plotly.graph_objects as go

LANDSCAPE_RESOLUTION = 120
"""Points per axis of a figure's contour (the page draws 100..200)."""

SurfaceSpec = str | schemas.CustomSurface | schemas.ModelSurfaceIn


def landscape(
    surface: SurfaceSpec, resolution: int = LANDSCAPE_RESOLUTION
) -> tuple[schemas.SurfaceOut, schemas.Grid]:
    """A surface's description and grid, computed here as the server computes them."""
    return _landscape(_surface_key(surface), isinstance(surface, str), resolution)


def _surface_key(surface: SurfaceSpec) -> str:
    return surface if isinstance(surface, str) else surface.model_dump_json()


@lru_cache(maxsize=16)
def _landscape(key: str, by_name: bool, resolution: int) -> tuple[schemas.SurfaceOut, schemas.Grid]:
    if by_name:
        built = get_surface(key)
        return (
            schemas.SurfaceOut.model_validate(surface_out(built)),
            schemas.Grid.model_validate(grid_out(built, resolution)),
        )
    spec = json.loads(key)
    body = (
        schemas.CustomSurface.model_validate(spec)
        if "formula" in spec
        else schemas.ModelSurfaceIn.model_validate(spec)
    )
    answer = schemas.CustomSurfaceOut.model_validate(described_surface(body, resolution))
    return answer.surface, answer.grid


def run_label(request: schemas.RunRequest | None) -> str:
    """`Adam lr=0.05` : the optimizer and the settings the request gives, as a legend says."""
    if request is None:
        return "run"
    settings = ", ".join(f"{k}={_short(v)}" for k, v in request.hyperparameters.items())
    label = f"{request.optimizer} {settings}".strip()
    if request.scheduler is not None:
        label += f" + {request.scheduler.name}"
    return label


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def _frame_record(frame: schemas.FrameOut) -> dict[str, Any]:
    record: dict[str, Any] = {
        "step": frame.step,
        "x": frame.x,
        "y": frame.y,
        "loss": frame.loss,
        "grad_x": frame.grad[0],
        "grad_y": frame.grad[1] if len(frame.grad) > 1 else 0.0,
        "grad_norm": sum(g * g for g in frame.grad) ** 0.5,
        "lr": frame.lr,
    }
    for key in ("batch_loss", "epoch", "train_loss"):
        value = getattr(frame, key)
        if value is not None:
            record[key] = value
    for name, value in frame.state.items():  # Adam's state has its own "step"
        if isinstance(value, list):
            record |= {f"state.{name}_{i}": v for i, v in enumerate(value)}
        else:
            record[f"state.{name}"] = value
    return record


class Tabular:
    """A result that is a table: `to_records()` its rows, `to_pandas()` them as a DataFrame."""

    def to_records(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def to_pandas(self) -> pandas.DataFrame:
        """The records as a DataFrame; pandas is optional, so it is imported only here."""
        try:
            import pandas
        except ImportError:  # pragma: no cover - pandas is installed with the notebook extra
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame.from_records(self.to_records())


class Run(Tabular, schemas.Run):
    """One run: every frame (the state after k steps), the summary and the analysis."""

    request: schemas.RunRequest | None = Field(None, exclude=True)

    @property
    def label(self) -> str:
        return run_label(self.request)

    def figure(self, label: str | None = None) -> go.Figure:
        """The run's path on its landscape, with the minima and the analysis's events."""
        return Runs([self]).figure(labels=[label or self.label])

    def loss_figure(self) -> go.Figure:
        """Loss against step (log scale while every loss is positive)."""
        return Runs([self]).loss_figure()

    def to_records(self) -> list[dict[str, Any]]:
        """One row per frame: step, x, y, loss, gradient, lr and the optimizer's state
        (`state.exp_avg_0`: element 0 of exp_avg)."""
        return [_frame_record(frame) for frame in self.frames]


class Runs(Tabular, list[Run]):
    """Several runs, drawn together on the landscape of the first."""

    def __init__(self, runs: Iterable[Run] = ()) -> None:
        super().__init__(runs)

    def labels(self) -> list[str]:
        """Each run's label, numbered where two would read the same."""
        labels = [run.label for run in self]
        return [
            f"{label} #{i + 1}" if labels.count(label) > 1 else label
            for i, label in enumerate(labels)
        ]

    def figure(self, labels: Sequence[str] | None = None, title: str | None = None) -> go.Figure:
        from .figures import runs_figure

        if not self:
            raise ValueError("no runs to draw")
        requests = [run.request for run in self]
        if any(request is None for request in requests):
            raise ValueError("a run that does not know its surface: draw a client's results")
        surfaces = {_surface_key(request.surface) for request in requests if request is not None}
        if len(surfaces) > 1:
            raise ValueError("these runs are on different surfaces: draw each on its own")
        assert requests[0] is not None
        surface, grid = landscape(requests[0].surface)
        named = list(zip(labels or self.labels(), self, strict=True))
        return runs_figure(surface, grid, named, title=title)

    def loss_figure(self, labels: Sequence[str] | None = None) -> go.Figure:
        from .figures import loss_figure

        return loss_figure(list(zip(labels or self.labels(), self, strict=True)))

    def to_records(self) -> list[dict[str, Any]]:
        """One row per frame of every run, with the run's index and label."""
        return [
            {"run": i, "label": label, **record}
            for i, (label, run) in enumerate(zip(self.labels(), self, strict=True))
            for record in run.to_records()
        ]


def _cell_records(result: schemas.MapOut, x_name: str, y_name: str) -> list[dict[str, Any]]:
    return [
        {
            x_name: x,
            y_name: y,
            "outcome": result.outcome[i][j],
            "final_loss": result.final_loss[i][j],
            "steps_to_converge": result.steps_to_converge[i][j],
            "final_x": result.final_x[i][j],
            "final_y": result.final_y[i][j],
        }
        for i, y in enumerate(result.y)
        for j, x in enumerate(result.x)
    ]


class BasinMap(Tabular, schemas.MapOut):
    """Where each start ends: `outcome[i][j]` for the start (x[j], y[i])."""

    request: schemas.BasinMapRequest | None = Field(None, exclude=True)

    def figure(self, title: str | None = None) -> go.Figure:
        from .figures import basin_map_figure

        surface, grid = _surface_of(self.request)
        return basin_map_figure(surface, grid, self, title=title)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per cell: its start (start_x, start_y) and where the run went."""
        return _cell_records(self, "start_x", "start_y")


class HyperparameterMap(Tabular, schemas.MapOut):
    """Which settings converge: `outcome[i][j]` for (x[j], y[i]) on the two axes."""

    request: schemas.HyperparameterMapRequest | None = Field(None, exclude=True)

    def figure(self, title: str | None = None) -> go.Figure:
        from .figures import hyperparameter_map_figure

        return hyperparameter_map_figure(self, title=title)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per cell, the two settings named as the axes are."""
        x_name, y_name = ("x", "y") if self.axes is None else (self.axes.x.name, self.axes.y.name)
        return _cell_records(self, x_name, y_name)


class Sweep(Tabular, schemas.SweepOut):
    """The run once per value of one setting: row i is `values[i]`'s path."""

    request: schemas.SweepRequest | None = Field(None, exclude=True)

    def figure(self, title: str | None = None) -> go.Figure:
        from .figures import sweep_figure

        surface, grid = _surface_of(self.request)
        return sweep_figure(surface, grid, self, title=title)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per value: the value, status, steps taken and final loss."""
        return [
            {
                self.axis.name: value,
                "status": self.status[i],
                "steps_taken": self.steps_taken[i],
                "final_loss": self.final_loss[i],
                "final_x": self.x[i][-1],
                "final_y": self.y[i][-1],
            }
            for i, value in enumerate(self.values)
        ]


class Benchmark(Tabular, schemas.BenchmarkOut):
    """Optimizers tuned with one budget on the same surfaces (docs/API.md, "Benchmarks")."""

    request: schemas.BenchmarkRequest | None = Field(None, exclude=True)

    def figure(self, title: str | None = None) -> go.Figure:
        from .figures import benchmark_figure

        return benchmark_figure(self, title=title)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per optimizer and surface, at the tuned lr (the curves left out)."""
        left_out = {"curve", "steps_to_target", "final_loss", "interval"}
        records = []
        for row in self.rows:
            record = row.model_dump(exclude=left_out)
            low, high = row.interval
            record |= {"interval_low": low, "interval_high": high}
            if row.final_loss is not None:
                record |= {f"final_loss_{k}": v for k, v in row.final_loss.items()}
            records.append(record)
        return records

    def to_markdown(self) -> str:
        """The table as the page and `losslab benchmark` print it."""
        return self.exports["markdown"]


def _surface_of(
    request: schemas.BasinMapRequest | schemas.SweepRequest | None,
) -> tuple[schemas.SurfaceOut, schemas.Grid]:
    if request is None:
        raise ValueError("this result does not know its surface: draw it from a client's result")
    return landscape(request.surface)
