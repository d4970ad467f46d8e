"""Every operation of the API, once: what to send, where, and how to read the answer.

A function here takes an operation's arguments and answers a `Call`: the request body (built
and checked by requests.py), the route, and how the answer becomes a typed result. The HTTP
clients send a Call over the wire (http.py); the in-process client hands it to the same
functions the routes call (local.py). So each operation's arguments, route and result type
are written in one place, and the clients only list the operations they offer (clients.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, ParamSpec, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from ..web import schemas
from . import results
from .requests import (
    Body,
    Dtype,
    Surface,
    build,
    ensemble_request,
    plain,
    run_request,
    sweep_request,
)

P = ParamSpec("P")
R = TypeVar("R")
B = TypeVar("B", bound=BaseModel)
Progress = Callable[[float], None]
"""Called with the fraction done (0..1) while a map or a benchmark computes."""


@dataclass(frozen=True)
class Call(Generic[R]):
    """One request: `name` is the operation (local.py dispatches on it), `method` and `path`
    its route. `answer` says what comes back: JSON, text, or (`job`) a stream of progress
    events ending with the JSON result. `parse` turns that answer into the result."""

    name: str
    method: Literal["GET", "POST"]
    path: str
    parse: Callable[[Any], R]
    body: BaseModel | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None
    answer: Literal["json", "text", "job"] = "json"
    progress: Progress | None = None


def _listing(model: type[B]) -> Callable[[Any], list[B]]:
    return lambda answer: [model.model_validate(item) for item in answer]


def _answering(model: type[B], request: BaseModel) -> Callable[[Any], B]:
    """Validate the answer into `model`, keeping the request it answers."""
    return lambda answer: model.model_validate({**answer, "request": request})


def _job(
    name: str, path: str, model: type[B], body: BaseModel, progress: Progress | None
) -> Call[B]:
    """A job posted to its /stream route: progress events, then the result as `model`."""
    parse = _answering(model, body)
    return Call(name, "POST", path, parse, body=body, answer="job", progress=progress)


def _posting(
    build_body: Callable[P, B],
    name: str,
    path: str,
    parse: Callable[[B], Callable[[Any], R]],
    answer: Literal["json", "text"] = "json",
) -> Callable[P, Call[R]]:
    """An operation that posts the body `build_body` makes from its arguments."""

    @functools.wraps(build_body)
    def call(*args: P.args, **kwargs: P.kwargs) -> Call[R]:
        body = build_body(*args, **kwargs)
        return Call(name, "POST", path, parse(body), body=body, answer=answer)

    return call


def surfaces() -> Call[list[schemas.SurfaceOut]]:
    """The built-in surfaces: formula, domain, minima, saddles, sharpness, suggested lr."""
    return Call("surfaces", "GET", "/api/surfaces", _listing(schemas.SurfaceOut))


def grid(surface: str, resolution: int = 100) -> Call[schemas.Grid]:
    """A built-in surface's loss on a resolution × resolution grid (Plotly's orientation)."""
    path = f"/api/surfaces/{quote(surface, safe='')}/grid"
    params = {"resolution": resolution}
    return Call("grid", "GET", path, schemas.Grid.model_validate, params=params)


def describe(
    surface: str | schemas.CustomSurface | schemas.ModelSurfaceIn | Mapping[str, Any],
    resolution: int = 100,
) -> Call[schemas.CustomSurfaceOut]:
    """A formula's or a model's surface: its description (minima found), grid and note;
    a regression model's data set too. A string is a formula: `describe("x**2 + 3*y**2")`."""
    spec = {"formula": surface} if isinstance(surface, str) else plain(surface)
    model: type[BaseModel]
    if isinstance(spec, Mapping) and "model" in spec:
        model, path = schemas.ModelSurfaceIn, "/api/surfaces/model"
    else:
        model, path = schemas.CustomSurface, "/api/surfaces/custom"
    body = build(model, spec, {})
    return Call(
        "describe",
        "POST",
        path,
        schemas.CustomSurfaceOut.model_validate,
        body=body,
        params={"resolution": resolution},
    )


def optimizers() -> Call[list[schemas.OptimizerOut]]:
    """Every optimizer of torch.optim and pytorch_optimizer, with its hyperparameters (and
    the classes that cannot run, `excluded` saying why)."""
    return Call("optimizers", "GET", "/api/optimizers", _listing(schemas.OptimizerOut))


def schedulers() -> Call[list[schemas.SchedulerOut]]:
    """The torch.optim.lr_scheduler classes a run can take."""
    return Call("schedulers", "GET", "/api/schedulers", _listing(schemas.SchedulerOut))


def presets() -> Call[list[schemas.Preset]]:
    """Named scenarios (overshoot, oscillation, escape, ...), each a list of runs."""
    return Call("presets", "GET", "/api/presets", _listing(schemas.Preset))


def limits() -> Call[dict[str, float]]:
    """The server's size and time limits, named as their LOSSLAB_ variables."""
    return Call("limits", "GET", "/api/limits", dict)


def activations(x_min: float = -6.0, x_max: float = 6.0, points: int = 241) -> Call[dict[str, Any]]:
    """sigmoid, tanh and ReLU with their derivatives by autograd, and where they vanish."""
    params = {"x_min": x_min, "x_max": x_max, "points": points}
    return Call(
        "activations", "GET", "/api/activations", lambda answer: dict(answer), params=params
    )


run = _posting(run_request, "run", "/api/runs", lambda body: _answering(results.Run, body))
script = _posting(
    run_request, "script", "/api/runs/script", lambda body: lambda text: str(text), "text"
)


sweep = _posting(
    sweep_request, "sweep", "/api/sweeps", lambda body: _answering(results.Sweep, body)
)
ensemble = _posting(
    ensemble_request,
    "ensemble",
    "/api/runs/ensemble",
    lambda body: schemas.Ensemble.model_validate,
)


def basin_map(
    request: Body | None = None,
    /,
    *,
    surface: Surface | None = None,
    optimizer: str | None = None,
    steps: int | None = None,
    resolution: int | None = None,
    dtype: Dtype | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> Call[results.BasinMap]:
    """Where each start point ends: one run per cell of a resolution² grid over the domain
    (element-wise optimizers). `progress(fraction)` hears how far it is."""
    fields = {
        "surface": surface,
        "optimizer": optimizer,
        "steps": steps,
        "resolution": resolution,
        "dtype": dtype,
    }
    body = build(schemas.BasinMapRequest, request, {**fields, **settings}, hyperparameters)
    return _job("basin_map", "/api/maps/basins/stream", results.BasinMap, body, progress)


def hyperparameter_map(
    request: Body | None = None,
    /,
    *,
    surface: Surface | None = None,
    optimizer: str | None = None,
    axes: Mapping[str, Any] | None = None,
    start: Sequence[float] | None = None,
    steps: int | None = None,
    dtype: Dtype | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    **settings: Any,
) -> Call[results.HyperparameterMap]:
    """Which settings converge: one run per cell of two hyperparameter axes (`axes={"x":
    {name, min, max, n, log}, "y": {...}}`; default lr × momentum or the next)."""
    fields = {
        "surface": surface,
        "optimizer": optimizer,
        "axes": axes,
        "start": start,
        "steps": steps,
        "dtype": dtype,
    }
    body = build(schemas.HyperparameterMapRequest, request, {**fields, **settings}, hyperparameters)
    path = "/api/maps/hyperparameters/stream"
    return _job("hyperparameter_map", path, results.HyperparameterMap, body, progress)


def benchmark(
    request: Body | None = None,
    /,
    *,
    optimizers: Sequence[str | Mapping[str, Any]] | None = None,
    surfaces: Sequence[str] | None = None,
    steps: int | None = None,
    lr: Mapping[str, Any] | None = None,
    starts: int | None = None,
    seed: int | None = None,
    tolerance: float | None = None,
    escape_margin: float | None = None,
    dtype: Dtype | None = None,
    progress: Progress | None = None,
) -> Call[results.Benchmark]:
    """Every optimizer's lr tuned with the same budget on the same surfaces; every field may
    be left out (the default benchmark, about 10 s on two cores). An optimizer is a name or
    `{name, hyperparameters, label}`."""
    entries = None
    if optimizers is not None:
        entries = [{"name": o} if isinstance(o, str) else o for o in optimizers]
    fields = {
        "optimizers": entries,
        "surfaces": surfaces,
        "steps": steps,
        "lr": lr,
        "starts": starts,
        "seed": seed,
        "tolerance": tolerance,
        "escape_margin": escape_margin,
        "dtype": dtype,
    }
    body = build(schemas.BenchmarkRequest, request, fields)
    return _job("benchmark", "/api/benchmarks/stream", results.Benchmark, body, progress)


def benchmark_defaults() -> Call[schemas.BenchmarkRequest]:
    """The default benchmark, every field spelled out."""
    parse = schemas.BenchmarkRequest.model_validate
    return Call("benchmark_defaults", "GET", "/api/benchmarks/defaults", parse)


def train_network(
    request: Body | None = None, /, **fields: Any
) -> Call[schemas.NetworkTrainingOut]:
    """Train every weight of the 2-16-16-2 MLP (`dataset`, `optimizer`, `steps`, ...); its
    path on the PCA plane of its own run."""
    body = build(schemas.NetworkTrainRequest, request, fields)
    parse = schemas.NetworkTrainingOut.model_validate
    return Call("train_network", "POST", "/api/models/mlp/train", parse, body=body)


def parse_csv(text: str) -> Call[schemas.Dataset]:
    """Two numeric columns x,y (a header row allowed) as a data set for a model surface."""
    parse = schemas.Dataset.model_validate
    return Call("parse_csv", "POST", "/api/datasets/csv", parse, text=text)
