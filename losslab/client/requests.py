"""Request bodies from keyword arguments, checked by the server's own models.

`run_request(surface="rosenbrock", optimizer="Adam", lr=0.05, steps=500)` is the RunRequest
`{"surface": "rosenbrock", "optimizer": "Adam", "hyperparameters": {"lr": 0.05}, "steps":
500}`: a keyword that names a field of the request is that field, any other is a
hyperparameter. A request (a model or a mapping) may come first, the keywords overriding it.
A body the models refuse raises the 422 the server would answer, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ValidationError

from ..web.details import body_detail
from ..web.schemas import (
    AxisIn,
    ClipIn,
    CustomSurface,
    EnsembleRequest,
    ModelSurfaceIn,
    NoiseIn,
    RunRequest,
    SchedulerIn,
    SweepRequest,
)
from .errors import APIError

M = TypeVar("M", bound=BaseModel)
P = ParamSpec("P")
S = TypeVar("S")
R = TypeVar("R")
Surface = str | CustomSurface | ModelSurfaceIn | Mapping[str, Any]
"""A built-in surface's name, a formula `{formula, domain}`, or a model `{model, dataset, ...}`."""
Dtype = Literal["float32", "float64"]
Body = BaseModel | Mapping[str, Any]


def plain(value: Any) -> Any:
    """JSON-ready values from what a notebook holds: numpy and torch scalars and arrays become
    numbers and lists, tuples lists, models their fields."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if hasattr(value, "tolist"):  # numpy arrays and scalars (np.float64 too), torch tensors
        return plain(value.tolist())
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Sequence):
        return [plain(item) for item in value]
    return value


def build(
    model: type[M],
    request: Body | None,
    fields: Mapping[str, Any],
    hyperparameters: Mapping[str, Any] | None = None,
) -> M:
    """`model` from `request` with `fields` over it (None leaves a field as it is); keywords
    that are not fields of the model go into its `hyperparameters`, after `hyperparameters`.
    Refusals raise the 422 the server would answer."""
    given = {} if request is None else plain(request)
    if not isinstance(given, dict):
        why = f"a request is a mapping or a {model.__name__}, not {type(request).__name__}"
        raise APIError(422, [{"loc": ["body"], "msg": why, "type": "model_type"}])
    data: dict[str, Any] = given
    names = model.model_fields
    extra: dict[str, Any] = dict(plain(hyperparameters or {}))
    for key, value in fields.items():
        if key in names:
            if value is not None:
                data[key] = plain(value)
        else:
            extra[key] = plain(value)
    if extra and "hyperparameters" in names:
        data["hyperparameters"] = {**data.get("hyperparameters", {}), **extra}
    else:  # the model refuses unknown fields, as the server does
        data.update(extra)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise APIError(422, body_detail(error)) from None


def run_request(
    request: Body | None = None,
    /,
    *,
    surface: Surface | None = None,
    optimizer: str | None = None,
    start: Sequence[float] | None = None,
    steps: int | None = None,
    dtype: Dtype | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    scheduler: SchedulerIn | Mapping[str, Any] | None = None,
    clip: ClipIn | Mapping[str, Any] | None = None,
    noise: NoiseIn | Mapping[str, Any] | None = None,
    param_groups: Sequence[Mapping[str, Any]] | None = None,
    **settings: Any,
) -> RunRequest:
    """A run: `surface` and `optimizer` (a torch.optim or pytorch_optimizer class name), the
    optimizer's settings as keywords (`lr=0.1, momentum=0.9`) or as `hyperparameters`, and the
    run's own options (`start`, `steps`, `dtype`, `scheduler`, `clip`, `noise`,
    `param_groups`), as docs/API.md describes RunRequest."""
    fields = {
        "surface": surface,
        "optimizer": optimizer,
        "start": start,
        "steps": steps,
        "dtype": dtype,
        "scheduler": scheduler,
        "clip": clip,
        "noise": noise,
        "param_groups": param_groups,
    }
    return build(RunRequest, request, {**fields, **settings}, hyperparameters)


def sweep_request(
    request: Body | None = None,
    /,
    *,
    axis: AxisIn | Mapping[str, Any] | None = None,
    **fields: Any,
) -> SweepRequest:
    """A run (run_request's keywords in `fields`) swept along `axis`: {name, min, max, n,
    log}, a hyperparameter ("lr", "betas.0") or "start_x" / "start_y"."""
    return build(SweepRequest, request, {"axis": axis, **fields})


def ensemble_request(
    request: Body | None = None, /, *, members: int | None = None, **fields: Any
) -> EnsembleRequest:
    """A noisy run (`noise={"std": ..., "seed": ...}`) repeated with `members` seeds."""
    return build(EnsembleRequest, request, {"members": members, **fields})


def taking(
    build_body: Callable[P, M],
) -> Callable[[Callable[[S, M], R]], Callable[Concatenate[S, P], R]]:
    """Decorate `method(self, body)` to be called with `build_body`'s arguments instead, so a
    method that takes a request has the request builder's signature, typed."""

    def decorate(method: Callable[[S, M], R]) -> Callable[Concatenate[S, P], R]:
        def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return method(self, build_body(*args, **kwargs))

        call.__name__, call.__qualname__ = method.__name__, method.__qualname__
        call.__doc__ = method.__doc__
        return call

    return decorate
