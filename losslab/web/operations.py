"""The API's heavier operations as plain functions of their request models, knowing no HTTP.

A route wraps one of these with the run queue or the job pool, its client's departure and the
wire's encoding; losslab's in-process client (losslab/client/local.py) calls the same function in
the caller's thread. So a map, a sweep or a benchmark is computed by one piece of code however
it is asked for. Each function validates before any optimizer work (an `InvalidInput` names the
field), and the ones that compute for long take `should_stop`, polled between steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from .. import benchmark, engine, maps, sweeps
from ..activations import MAX_ABS_X, MAX_POINTS, activation_curves
from ..config import Settings
from ..engine import RunConfig
from ..errors import InvalidQuery, InvalidRequest
from ..landscapes import network
from ..landscapes.models import ModelSurface
from ..landscapes.network import NetworkSurface
from ..landscapes.surfaces import Surface, get_surface
from ..optimizers import get_optimizer
from ..script import NETWORK_PLANE, UnsupportedScript, render_script
from .schemas import (
    BasinMapRequest,
    BenchmarkRequest,
    CustomSurface,
    EnsembleRequest,
    HyperparameterMapRequest,
    ModelSurfaceIn,
    NetworkTrainRequest,
    RunRequest,
    SweepRequest,
)
from .service import build_config, grid_out, resolve_surface, surface_out

ShouldStop = Callable[[], bool]
Progress = Callable[[float], None]
MapCompute = Callable[[ShouldStop, Progress], Any]
"""A checked map: computes it, polling whether to stop and reporting its progress."""
SweepCompute = Callable[[ShouldStop], sweeps.Sweep]
"""A checked sweep: computes it, polling whether to stop."""


def never() -> bool:
    return False


def check_resolution(resolution: int, limit: int, what: str = "a grid") -> None:
    """A grid's points per axis: 2 up to the server's `limit`."""
    if not 2 <= resolution <= limit:
        raise InvalidQuery(
            ("resolution",), f"{what}'s resolution must be from 2 to {limit}, not {resolution}"
        )


def activations(x_min: float, x_max: float, points: int) -> dict[str, Any]:
    """sigmoid, tanh and ReLU with their derivatives by autograd (GET /api/activations)."""
    for name, value in (("x_min", x_min), ("x_max", x_max)):
        if not abs(value) <= MAX_ABS_X:
            raise InvalidQuery((name,), f"{name} must be within ±{MAX_ABS_X:g}")
    if not 2 <= points <= MAX_POINTS:
        raise InvalidQuery(("points",), f"points must be from 2 to {MAX_POINTS}")
    if not x_min < x_max:
        raise InvalidQuery(("x_max",), f"x_max must be greater than x_min ({x_min})")
    return activation_curves(x_min, x_max, points)


def described_surface(body: CustomSurface | ModelSurfaceIn, resolution: int) -> dict[str, Any]:
    """A formula's or a model's surface: its description, grid, note and (models) data."""
    surface = resolve_surface(body)
    assert isinstance(surface, Surface)
    answer = {
        "surface": surface_out(surface),
        "grid": grid_out(surface, resolution),
        "note": getattr(surface, "note", ""),
    }
    if isinstance(surface, ModelSurface):
        x, y = surface.data_x.reshape(-1).tolist(), surface.data_y.reshape(-1).tolist()
        answer["data"] = {"model": surface.model, "x": x, "y": y}
        answer["samples"] = len(x)
    elif isinstance(surface, NetworkSurface):
        answer["samples"] = len(surface.plane.x)
    return answer


def script(request: RunRequest, settings: Settings) -> str:
    """Copy as PyTorch: a standalone script that reproduces the run frame for frame."""
    if isinstance(request.surface, ModelSurfaceIn) and request.surface.model == "mlp_plane":
        # Refused before its plane is built (training the network is a job's work).
        raise UnsupportedScript(("surface", "model"), NETWORK_PLANE)
    return render_script(build_config(request, settings))


def ensemble(
    request: EnsembleRequest, settings: Settings, should_stop: ShouldStop = never
) -> dict[str, Any]:
    """The same noisy run with `members` consecutive noise seeds. Raises RunCancelled when
    `should_stop` turns true."""
    if request.noise is None:
        raise InvalidRequest(("noise",), "an ensemble needs gradient noise: give noise {std, seed}")
    if request.members * request.steps > settings.max_ensemble_steps:
        raise InvalidRequest(
            ("members",),
            f"members × steps must be at most {settings.max_ensemble_steps}",
        )
    base = build_config(
        RunRequest.model_validate(request.model_dump(exclude={"members"})), settings
    )
    assert base.noise is not None
    runs = []
    for member in range(request.members):
        seed = (base.noise.seed + member) % 2**63
        config = replace(base, noise=engine.Noise(base.noise.std, seed))
        # Every member is checked before every step.
        status, frames, summary = engine.run(config, should_stop=should_stop)
        runs.append(
            {
                "seed": seed,
                "status": status,
                "x": [f["x"] for f in frames],
                "y": [f["y"] for f in frames],
                "final_loss": summary.final_loss,
            }
        )
    return {"runs": runs}


def _map_surface(body: BasinMapRequest | HyperparameterMapRequest) -> Surface:
    surface = resolve_surface(body.surface)
    return get_surface(surface) if isinstance(surface, str) else surface


def _check_map_cost(
    surface: Surface, cells: int, steps: int, settings: Settings, streamed: bool
) -> None:
    """Refuse, before any work, a map too large to answer in time or memory."""
    if isinstance(surface, network.NetworkSurface) and cells > settings.max_plane_map_cells:
        raise maps.InvalidMap(
            ("resolution",),
            f"a network plane's map may have at most {settings.max_plane_map_cells:,} cells "
            f"(each holds the network's activations over the data set); this one has {cells:,}",
        )
    seconds = maps.estimated_seconds(surface, cells, steps)
    limit = settings.job_seconds if streamed else settings.max_blocking_map_seconds
    if seconds <= limit:
        return
    hint = "ask for fewer cells or steps"
    if not streamed and seconds <= settings.job_seconds:
        hint = "ask its /stream variant, which reports progress, or " + hint
    raise maps.InvalidMap(
        ("steps",),
        f"this map would take about {seconds:.0f} s ({cells:,} cells × {steps} steps), more "
        f"than this route's {limit:g} s; {hint}",
    )


def basin_map(body: BasinMapRequest, settings: Settings, streamed: bool) -> MapCompute:
    """Check a basin map (what a single run would refuse, and its cost); compute it later."""
    surface, optimizer = _map_surface(body), get_optimizer(body.optimizer)
    engine.make_config(
        surface=surface, optimizer=body.optimizer, hyperparameters=body.hyperparameters,
        steps=body.steps, dtype=body.dtype, max_steps=settings.max_steps,
    )  # fmt: skip
    if body.resolution <= settings.max_map_resolution:
        _check_map_cost(surface, body.resolution**2, body.steps, settings, streamed)

    def compute(should_stop: ShouldStop, progress: Progress) -> Any:
        return maps.basin_map(
            surface, optimizer, body.hyperparameters, body.steps, body.resolution, body.dtype,
            progress, should_stop, limits=settings,
        )  # fmt: skip

    return compute


def hyperparameter_map(
    body: HyperparameterMapRequest, settings: Settings, streamed: bool
) -> MapCompute:
    """Check a hyperparameter map (its fixed settings at the axes' corners, and its cost)."""
    surface, optimizer = _map_surface(body), get_optimizer(body.optimizer)
    if body.axes is None:
        x_axis, y_axis = maps.default_axes(optimizer, hyperparameters=body.hyperparameters)
    else:
        x_axis, y_axis = (maps.Axis(**axis.model_dump()) for axis in (body.axes.x, body.axes.y))
    start = surface.default_start if body.start is None else (body.start[0], body.start[1])
    # The fixed settings are checked with the axes' values in place, at the map's corners:
    # {nesterov: true} alone is invalid (momentum 0) but fine on a momentum axis above 0.
    maps.check_hyperparameter_map(
        surface, optimizer, body.hyperparameters, start, body.steps, x_axis, y_axis,
        body.dtype, limits=settings,
    )  # fmt: skip
    _check_map_cost(surface, x_axis.n * y_axis.n, body.steps, settings, streamed)

    def compute(should_stop: ShouldStop, progress: Progress) -> Any:
        return maps.hyperparameter_map(
            surface, optimizer, body.hyperparameters, start, body.steps, x_axis, y_axis,
            body.dtype, progress, should_stop, limits=settings,
        )  # fmt: skip

    return compute


def map_answer(result: Any) -> dict[str, Any]:
    """A map's answer (MapOut) from the engine's result."""
    # Shallow: dataclasses.asdict would deep-copy every grid (a tenth of a second at 200²).
    out = {field.name: getattr(result, field.name) for field in dataclasses.fields(result)}
    for key in ("x_axis", "y_axis"):
        out.pop(key, None)
    if isinstance(result, maps.HyperparameterMap):
        out["axes"] = {
            "x": dataclasses.asdict(result.x_axis),
            "y": dataclasses.asdict(result.y_axis),
        }
    return out


def sweep(body: SweepRequest, settings: Settings) -> SweepCompute:
    """Validate the sweep as its single runs would be, and size it; no optimizer work yet."""
    optimizer = get_optimizer(body.optimizer)
    surface = resolve_surface(body.surface)
    surface = get_surface(surface) if isinstance(surface, str) else surface
    maps.check_surface(surface)  # a one-parameter model's start is [w]: refused here
    if body.start is not None and len(body.start) != 2:
        raise maps.InvalidMap(("start",), "start must be two numbers [x, y]")
    start = surface.default_start if body.start is None else (body.start[0], body.start[1])

    def make_config(hyperparameters: Mapping[str, Any], start: tuple[float, float]) -> RunConfig:
        changed = {"hyperparameters": dict(hyperparameters), "start": list(start)}
        return build_config(body.model_copy(update=changed), settings)

    axis = maps.Axis(**body.axis.model_dump())
    config, values = sweeps.check(
        optimizer, body.hyperparameters, start, make_config, axis,
        limits=settings,
    )  # fmt: skip
    seconds = maps.estimated_seconds(config.surface, len(values), config.steps)
    if seconds > settings.max_blocking_map_seconds:
        raise maps.InvalidMap(
            ("steps",),
            f"this sweep would take about {seconds:.0f} s ({len(values)} values × "
            f"{config.steps} steps), more than the {settings.max_blocking_map_seconds:g} s "
            "sweeps may take; ask for fewer values or steps",
        )
    return lambda should_stop: sweeps.sweep(config, axis, values, should_stop=should_stop)


def benchmark_plan(body: BenchmarkRequest, settings: Settings) -> benchmark.Plan:
    """Check and size a benchmark (a `BenchmarkRequest`) before any optimizer work."""
    return benchmark.plan(body.to_request(), limits=settings)


def benchmark_answer(
    plan: benchmark.Plan, progress: Progress, should_stop: ShouldStop
) -> dict[str, Any]:
    """Run a checked benchmark: the answer (BenchmarkOut), its exports included."""
    return benchmark.with_exports(benchmark.run(plan, progress, should_stop))


def train_network(
    body: NetworkTrainRequest, settings: Settings
) -> Callable[[ShouldStop], dict[str, Any]]:
    """Check the optimizer's name, then train every weight of the MLP when called; that
    raises network.TrainingStopped when told to stop."""
    optimizer = get_optimizer(body.optimizer)

    def compute(should_stop: ShouldStop) -> dict[str, Any]:
        result = network.train_network(
            body.dataset, body.seed, optimizer, body.hyperparameters, body.steps,
            body.batch_size, body.resolution, body.init_seed,
            limits=settings, should_stop=should_stop,
        )  # fmt: skip
        return result.as_dict()

    return compute
