"""The client's figures (losslab/client/figures/), drawn from the API's real answers."""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient

from losslab.client.figures import (
    DIVERGED_COLOR,
    EVENTS,
    PALETTE,
    LossScale,
    basin_map_figure,
    benchmark_figure,
    fmt,
    hyperparameter_map_figure,
    loss_figure,
    run_figure,
    runs_figure,
    sweep_figure,
)
from losslab.web.schemas import (
    BenchmarkOut,
    CustomSurfaceOut,
    Event,
    Grid,
    MapOut,
    Run,
    SurfaceOut,
    SweepOut,
)

Landscape = tuple[SurfaceOut, Grid]


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _landscape(client: TestClient, name: str) -> Landscape:
    surfaces = {s["name"]: s for s in _ok(client.get("/api/surfaces"))}
    grid = _ok(client.get(f"/api/surfaces/{name}/grid?resolution=40"))
    return SurfaceOut.model_validate(surfaces[name]), Grid.model_validate(grid)


def _run(client: TestClient, **body: Any) -> Run:
    return Run.model_validate(_ok(client.post("/api/runs", json=body)))


def _traces(fig: Any, role: str) -> list[Any]:
    return [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == role]


def _one(fig: Any, role: str) -> Any:
    found = _traces(fig, role)
    assert len(found) == 1, f"{len(found)} traces of role {role}"
    return found[0]


def _first_of_each(events: list[Event]) -> list[Event]:
    first: dict[str, Event] = {}
    for event in events:
        first.setdefault(event.type, event)
    return [e for e in events if first[e.type] is e]


@pytest.fixture(scope="module")
def four_wells(client: TestClient) -> Landscape:
    return _landscape(client, "four_wells")


@pytest.fixture(scope="module")
def bowl(client: TestClient) -> Landscape:
    return _landscape(client, "bowl")


@pytest.fixture(scope="module")
def wells_runs(client: TestClient) -> list[tuple[str, Run]]:
    common = {"surface": "four_wells", "optimizer": "SGD", "steps": 120}
    plain = _run(client, **common, hyperparameters={"lr": 0.01})
    heavy = _run(client, **common, hyperparameters={"lr": 0.01, "momentum": 0.9})
    return [("SGD", plain), ("SGD <momentum>", heavy)]


@pytest.fixture(scope="module")
def diverged(client: TestClient) -> Run:
    run = _run(client, surface="bowl", optimizer="SGD", hyperparameters={"lr": 1.5}, steps=50)
    assert run.status == "diverged"
    assert max(abs(f.x) for f in run.frames) > 100
    return run


def test_runs_share_the_landscape_with_the_pages_marks(
    four_wells: Landscape, wells_runs: list[tuple[str, Run]]
) -> None:
    surface, grid = four_wells
    fig = runs_figure(surface, grid, wells_runs)

    contour = _one(fig, "landscape")
    assert list(contour.x) == grid.x and list(contour.y) == grid.y
    levels = [v for row in contour.z for v in row]
    losses = [v for row in grid.z for v in row if v is not None]
    assert len(levels) == len(losses) == len(grid.x) * len(grid.y)
    # The page's transform: monotone in the loss, over [0, 1] from the lowest known minimum.
    order = sorted(range(len(losses)), key=lambda i: losses[i])
    assert all(levels[a] <= levels[b] for a, b in itertools.pairwise(order))
    assert 0 <= min(levels) < 0.1 and max(levels) == pytest.approx(1)
    floor = min(min(losses), *(m.loss for m in surface.minima))
    assert contour.colorbar.ticktext[0] == fmt(floor, 3)

    paths = _traces(fig, "path")
    assert len(paths) == len(wells_runs)
    for k, ((_, run), path) in enumerate(zip(wells_runs, paths, strict=True)):
        assert list(path.x) == [f.x for f in run.frames]
        assert list(path.y) == [f.y for f in run.frames]
        assert path.line.color == PALETTE[k] and path.meta["run"] == k
        assert [row[1] for row in path.customdata] == [f.loss for f in run.frames]
        assert "step" in path.hovertemplate and "loss" in path.hovertemplate
    # Labels are shown as text, never as markup.
    assert [p.name for p in paths] == ["SGD", "SGD &lt;momentum&gt;"]

    start = _one(fig, "start")
    assert (start.x[0], start.y[0]) == tuple(surface.default_start)
    ends = _traces(fig, "end")
    assert [(e.x[0], e.y[0]) for e in ends] == [
        (r.frames[-1].x, r.frames[-1].y) for _, r in wells_runs
    ]

    for kind in ("global", "local"):
        marks = _one(fig, kind)
        expected = [(m.x, m.y) for m in surface.minima if m.kind == kind]
        assert list(zip(marks.x, marks.y, strict=True)) == expected
    assert _one(fig, "global").marker.symbol == "star"
    saddles = _one(fig, "saddle")
    assert list(zip(saddles.x, saddles.y, strict=True)) == [(s.x, s.y) for s in surface.saddles]

    (x0, x1), (y0, y1) = surface.domain.x, surface.domain.y
    assert list(fig.layout.xaxis.range) == [x0, x1] and list(fig.layout.yaxis.range) == [y0, y1]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.xaxis.title.text == "x" and fig.layout.yaxis.title.text == "y"
    assert fig.layout.title.text == surface.title


def test_events_are_drawn_at_their_steps(
    four_wells: Landscape, wells_runs: list[tuple[str, Run]]
) -> None:
    surface, grid = four_wells
    label, run = wells_runs[1]
    assert run.analysis.events, "momentum on four wells overshoots"
    cases: list[tuple[Literal["first", "all"], list[Event]]] = [
        ("first", _first_of_each(run.analysis.events)),
        ("all", run.analysis.events),
    ]
    for which, expected in cases:
        fig = runs_figure(surface, grid, [(label, run)], events=which)
        events = _one(fig, "events")
        assert events.meta["steps"] == [e.step for e in expected]
        assert list(events.customdata) == [e.type for e in expected]
        assert list(events.x) == [run.frames[e.step].x for e in expected]
        assert list(events.y) == [run.frames[e.step].y for e in expected]
        assert list(events.marker.symbol) == [EVENTS[e.type][1] for e in expected]
        assert all(
            e.detail.split()[0] in text for e, text in zip(expected, events.text, strict=True)
        )
        keys = {t.name for t in _traces(fig, "key")}
        assert keys == {EVENTS[e.type][0] for e in expected}
    assert not _traces(runs_figure(surface, grid, [(label, run)], events="none"), "events")


def test_a_diverged_run_keeps_the_view_on_the_domain(bowl: Landscape, diverged: Run) -> None:
    surface, grid = bowl
    fig = run_figure(surface, grid, diverged, label="SGD lr=1.5")
    (x0, x1), (y0, y1) = surface.domain.x, surface.domain.y
    assert fig.layout.xaxis.autorange is False and fig.layout.yaxis.autorange is False
    assert list(fig.layout.xaxis.range) == [x0, x1] and list(fig.layout.yaxis.range) == [y0, y1]
    path = _one(fig, "path")
    assert len(path.x) == len(diverged.frames)
    # The divergence is drawn where the run was last on the map, and says so.
    events = _one(fig, "events")
    k = events.meta["steps"].index(
        next(e.step for e in diverged.analysis.events if e.type == "divergence")
    )
    assert x0 <= events.x[k] <= x1 and y0 <= events.y[k] <= y1
    assert "off the map" in events.text[k]
    assert "diverged" in fig.layout.title.subtitle.text
    assert fig.layout.title.text == "SGD lr=1.5 on Bowl"


def test_a_run_of_one_frame_and_a_landscape_without_grid(bowl: Landscape, diverged: Run) -> None:
    surface, _ = bowl
    one = diverged.model_copy(update={"frames": diverged.frames[:1]})
    fig = run_figure(surface, None, one)
    assert not _traces(fig, "landscape")
    path = _one(fig, "path")
    assert list(path.x) == [one.frames[0].x] and list(path.y) == [one.frames[0].y]
    # Every event is drawn at the only frame there is.
    assert set(_one(fig, "events").x) == {one.frames[0].x}
    assert list(fig.layout.xaxis.range) == list(surface.domain.x)
    chart = loss_figure([("one", one)])
    assert "markers" in _one(chart, "loss").mode
    fig.to_json()


def test_a_surface_without_minima_shows_its_saddle(client: TestClient) -> None:
    surface, grid = _landscape(client, "saddle")
    assert not surface.minima
    run = _run(client, surface="saddle", optimizer="SGD", hyperparameters={"lr": 0.05}, steps=80)
    fig = runs_figure(surface, grid, [("SGD", run)])
    assert not _one(fig, "global").x and _one(fig, "global").showlegend is False
    saddle = _one(fig, "saddle")
    assert (saddle.x[0], saddle.y[0]) == (surface.saddles[0].x, surface.saddles[0].y)
    assert saddle.showlegend is True


def test_a_one_parameter_model_is_a_loss_curve(client: TestClient) -> None:
    model = {"model": "linear_regression", "bias": False}
    answer = CustomSurfaceOut.model_validate(
        _ok(client.post("/api/surfaces/model?resolution=40", json=model))
    )
    surface, grid = answer.surface, answer.grid
    assert surface.parameters == 1
    run = _run(client, surface=model, optimizer="SGD", hyperparameters={"lr": 0.1}, start=[-0.5])
    fig = run_figure(surface, grid, run, label="SGD")
    curve = _one(fig, "loss-curve")
    row = min(range(len(grid.y)), key=lambda i: abs(grid.y[i]))
    assert list(curve.x) == grid.x and list(curve.y) == grid.z[row]
    path = _one(fig, "path")
    assert list(path.x) == [f.x for f in run.frames]
    assert list(path.y) == [f.loss for f in run.frames]
    minimum = surface.minima[0]
    star = _one(fig, "global")
    assert (star.x[0], star.y[0]) == (minimum.x, minimum.loss)
    start = _one(fig, "start")
    assert (start.x[0], start.y[0]) == (-0.5, run.frames[0].loss)
    assert list(fig.layout.xaxis.range) == list(surface.domain.x)
    assert fig.layout.xaxis.title.text == "w"
    low, high = fig.layout.yaxis.range
    assert low <= min(v for v in grid.z[row] if v is not None) and high >= max(path.y)


def test_a_model_surface_starts_at_the_models_point(client: TestClient) -> None:
    model = {"model": "linear_regression"}
    answer = CustomSurfaceOut.model_validate(
        _ok(client.post("/api/surfaces/model?resolution=40", json=model))
    )
    surface = answer.surface
    run = _run(client, surface=model, optimizer="Adam", hyperparameters={"lr": 0.1}, steps=60)
    fig = run_figure(surface, answer.grid, run, label="Adam")
    start = _one(fig, "start")
    assert (start.x[0], start.y[0]) == (run.frames[0].x, run.frames[0].y)
    # The model's (w, b), in float32.
    assert (start.x[0], start.y[0]) == pytest.approx(surface.default_start, rel=1e-6)
    assert list(_one(fig, "path").x) == [f.x for f in run.frames]
    assert list(fig.layout.yaxis.range) == list(surface.domain.y)


def test_the_loss_chart(
    client: TestClient, wells_runs: list[tuple[str, Run]], diverged: Run
) -> None:
    fig = loss_figure(wells_runs)
    # Four wells' losses are negative: no log axis.
    assert fig.layout.yaxis.type == "linear"
    for k, (trace, (_, run)) in enumerate(zip(_traces(fig, "loss"), wells_runs, strict=True)):
        assert list(trace.x) == [f.step for f in run.frames]
        assert list(trace.y) == [f.loss for f in run.frames]
        assert trace.line.color == PALETTE[k]
    events = _traces(fig, "events")
    run = wells_runs[1][1]
    marks = next(t for t in events if t.meta["run"] == 1)
    assert list(marks.x) == [e.step for e in run.analysis.events]
    assert list(marks.y) == [run.frames[e.step].loss for e in run.analysis.events]

    rosen = _run(client, surface="rosenbrock", optimizer="Adam", hyperparameters={"lr": 0.05})
    positive = loss_figure([("Adam", rosen), ("SGD", diverged)])
    assert positive.layout.yaxis.type == "log"
    assert loss_figure([("Adam", rosen)], log=False).layout.yaxis.type == "linear"


def test_a_basin_map(client: TestClient, four_wells: Landscape) -> None:
    surface, grid = four_wells
    body = {
        "surface": "four_wells",
        "optimizer": "SGD",
        "hyperparameters": {"lr": 0.01, "momentum": 0.9},
        "steps": 60,
        "resolution": 12,
    }
    result = MapOut.model_validate(_ok(client.post("/api/maps/basins", json=body)))
    fig = basin_map_figure(surface, grid, result)
    basins = _one(fig, "basin-map")
    assert [list(row) for row in basins.z] == result.outcome
    assert list(basins.x) == result.x and list(basins.y) == result.y
    # Outcome k takes the k-th basin colour; -1 and -2 the page's diverged and undecided.
    lo, hi = basins.zmin, basins.zmax
    scale = basins.colorscale

    def color_of(outcome: int) -> str:
        at = (outcome - lo) / (hi - lo)
        return str(next(c for p, c in scale if p >= at))

    assert color_of(0).startswith("rgba(255, 224, 102")  # BASIN_COLORS[0], #ffe066
    assert color_of(-1).startswith("rgba(127, 29, 29")  # the page's diverged, #7f1d1d
    keys = [t.name for t in _traces(fig, "key")]
    reached = {o for row in result.outcome for o in row if o >= 0}
    assert len(keys) == len(reached) + any(-1 in r for r in result.outcome) + any(
        -2 in r for r in result.outcome
    )
    for k in reached:
        m = result.minima[k]
        assert any(name.startswith(f"minimum {k}: {m.kind} ({fmt(m.x, 3)}") for name in keys)
    assert (
        "converged in" in basins.text[0][0]
        or "diverged" in basins.text[0][0]
        or "still" in basins.text[0][0]
    )
    assert "start" in basins.hovertemplate
    marks = _one(fig, "global")
    assert [(x, y) for x, y in zip(marks.x, marks.y, strict=True)] == [
        (m.x, m.y) for m in result.minima if m.kind == "global"
    ]


def test_a_basin_map_where_every_start_diverges(client: TestClient, bowl: Landscape) -> None:
    surface, grid = bowl
    body = {
        "surface": "bowl",
        "optimizer": "SGD",
        "hyperparameters": {"lr": 5},
        "steps": 60,
        "resolution": 12,
    }
    result = MapOut.model_validate(_ok(client.post("/api/maps/basins", json=body)))
    assert {o for row in result.outcome for o in row} == {-1}
    for drawn in (basin_map_figure(surface, grid, result), basin_map_figure(surface, None, result)):
        assert {v for row in _one(drawn, "basin-map").z for v in row} == {-1}
        keys = _traces(drawn, "key")
        assert [k.name for k in keys] == ["diverged · 100%"]
        assert keys[0].marker.color == DIVERGED_COLOR
        assert list(drawn.layout.xaxis.range) == list(surface.domain.x)
        drawn.to_json()


def test_a_hyperparameter_map(client: TestClient) -> None:
    axes = {
        "x": {"name": "lr", "min": 0.001, "max": 0.2, "n": 8, "log": True},
        "y": {"name": "momentum", "min": 0.0, "max": 0.9, "n": 8},
    }
    body = {"surface": "elliptic", "optimizer": "SGD", "steps": 100, "axes": axes}
    result = MapOut.model_validate(_ok(client.post("/api/maps/hyperparameters", json=body)))
    assert result.stability_boundary, "SGD on a quadratic has a stability bound"
    fig = hyperparameter_map_figure(result)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "linear"
    low, high = fig.layout.xaxis.range
    assert low < math.log10(0.001) < math.log10(0.2) < high
    assert fig.layout.yaxis.range[0] < 0 < 0.9 < fig.layout.yaxis.range[1]
    assert fig.layout.xaxis.title.text == "lr (log)"
    cells = _one(fig, "hparam-cells")
    assert cells.meta["metric"] == "final_loss"
    assert list(cells.x) == result.x and list(cells.y) == result.y
    over = _one(fig, "diverged")
    for i, row in enumerate(result.outcome):
        for j, o in enumerate(row):
            assert (cells.z[i][j] is None) == (o == -1 or result.final_loss[i][j] is None)
            assert (over.z[i][j] == 1) == (o == -1)
    assert "lr" in cells.hovertemplate and "momentum" in cells.hovertemplate
    bound = _one(fig, "stability-boundary")
    assert list(zip(bound.x, bound.y, strict=True)) == [tuple(p) for p in result.stability_boundary]

    outcome = _one(hyperparameter_map_figure(result, metric="outcome"), "hparam-cells")
    assert [list(row) for row in outcome.z] == result.outcome
    steps = _one(hyperparameter_map_figure(result, metric="steps_to_converge"), "hparam-cells")
    assert steps.z[0][0] == (None if result.outcome[0][0] == -1 else result.steps_to_converge[0][0])


def test_a_hyperparameter_map_where_every_cell_diverges(client: TestClient) -> None:
    axes = {
        "x": {"name": "lr", "min": 3.0, "max": 10.0, "n": 8, "log": True},
        "y": {"name": "momentum", "min": 0.0, "max": 0.5, "n": 8},
    }
    body = {"surface": "bowl", "optimizer": "SGD", "steps": 60, "axes": axes}
    result = MapOut.model_validate(_ok(client.post("/api/maps/hyperparameters", json=body)))
    assert {o for row in result.outcome for o in row} == {-1}
    for metric in ("final_loss", "steps_to_converge", "outcome"):
        fig = hyperparameter_map_figure(result, metric=metric)
        assert all(v == 1 for row in _one(fig, "diverged").z for v in row)
        assert "diverged · 100%" in [k.name for k in _traces(fig, "key")]
        assert fig.layout.showlegend is True
        fig.to_json()


def test_a_sweep(client: TestClient, four_wells: Landscape) -> None:
    surface, grid = four_wells
    body = {
        "surface": "four_wells",
        "optimizer": "SGD",
        "hyperparameters": {"lr": 0.01, "momentum": 0.9},
        "steps": 80,
        "axis": {"name": "lr", "min": 0.001, "max": 0.1, "n": 5, "log": True},
    }
    sweep = SweepOut.model_validate(_ok(client.post("/api/sweeps", json=body)))
    fig = sweep_figure(surface, grid, sweep)
    paths = _traces(fig, "path")
    assert len(paths) == len(sweep.values) == 5
    for i, path in enumerate(paths):
        assert list(path.x) == sweep.x[i] and list(path.y) == sweep.y[i]
        assert path.name == f"lr {fmt(sweep.values[i])}"
    # Colours run along the bar: the first row its low end, the last its high end.
    assert paths[0].line.color == "#5f3dc4" and paths[-1].line.color == "#f59f00"
    assert len({p.line.color for p in paths}) == 5
    bar = _one(fig, "sweep-colorbar").marker
    assert bar.cmin == pytest.approx(-3) and bar.cmax == pytest.approx(-1)
    assert bar.colorbar.ticktext[0] == "0.001" and bar.colorbar.ticktext[-1] == "0.1"
    assert list(fig.layout.xaxis.range) == list(surface.domain.x)


def _benchmark(
    client: TestClient, optimizers: list[dict[str, Any]], surfaces: list[str]
) -> BenchmarkOut:
    body = {
        "optimizers": optimizers,
        "surfaces": surfaces,
        "lr": {"min": 0.001, "max": 1, "n": 4},
        "starts": 4,
        "steps": 100,
    }
    return BenchmarkOut.model_validate(_ok(client.post("/api/benchmarks", json=body)))


def test_a_benchmark(client: TestClient) -> None:
    optimizers = [{"name": "SGD"}, {"name": "Adam", "label": "Adam <default>"}]
    result = _benchmark(client, optimizers, ["bowl", "four_wells"])
    fig = benchmark_figure(result)
    heat = _one(fig, "bench-success")
    labels = [r["optimizer"] for r in sorted(result.ranking, key=lambda r: r["rank"])]
    assert list(heat.y) == labels
    assert list(heat.x) == [s["title"] for s in result.surfaces]
    for i, label in enumerate(labels):
        for j, surface in enumerate(result.surfaces):
            row = next(
                r for r in result.rows if r.optimizer == label and r.surface == surface["name"]
            )
            assert heat.z[i][j] == row.success_rate
            assert heat.text[i][j] == f"{row.successes}/{row.runs}"
    curves = _traces(fig, "bench-curve")
    assert {(c.meta["optimizer"], c.meta["surface"]) for c in curves} == {
        (r.optimizer, r.surface) for r in result.rows
    }
    for curve in curves:
        row = next(
            r
            for r in result.rows
            if (r.optimizer, r.surface) == (curve.meta["optimizer"], curve.meta["surface"])
        )
        assert list(curve.x) == [c["lr"] for c in row.curve]
        assert list(curve.y) == [c["success_rate"] for c in row.curve]
    # One legend entry per optimizer, named as the answer labels it (escaped).
    assert sorted(c.name for c in curves if c.showlegend) == ["Adam &lt;default&gt;", "SGD"]
    tuned = _traces(fig, "bench-tuned")
    assert all(
        t.x[0]
        in [
            c["lr"]
            for c in next(r.curve for r in result.rows if r.optimizer == t.meta["optimizer"])
        ]
        for t in tuned
    )


def test_a_benchmark_of_one_optimizer_on_one_surface(client: TestClient) -> None:
    result = _benchmark(client, [{"name": "SGD"}], ["bowl"])
    fig = benchmark_figure(result, title="SGD alone")
    assert fig.layout.title.text == "SGD alone"
    assert len(_traces(fig, "bench-curve")) == 1
    assert _one(fig, "bench-success").z[0][0] == result.rows[0].success_rate
    fig.to_json()


def test_numbers_read_as_on_the_page() -> None:
    assert [fmt(v) for v in (0.050118, 1234.6, 12346.0, 3.408e6, -0.00012, 0.0, None)] == [
        "0.05012",
        "1235",
        "12350",
        "3.408e6",
        "-1.2e-4",
        "0",
        "–",
    ]
    scale = LossScale([[0.0, 1.0], [4.0, None]])
    assert scale.t(0.0) == 0 and scale.t(4.0) == pytest.approx(1) and scale.t(None) is None
    middle = scale.t(1.0)
    assert middle is not None and 0 < middle < 1
    assert scale.levels([[0.0, 4.0, None]]) == [[0.0, pytest.approx(1.0), None]]
    vals, text = scale.ticks()
    assert text[0] == "0" and vals == sorted(vals)
