"""The JSON API: surfaces (built-in, formula, model), optimizers, schedulers, presets and runs
(whole, as a script, as an ensemble), per docs/API.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ... import engine
from ...activations import MAX_ABS_X, MAX_POINTS
from ...errors import InvalidRequest
from ...landscapes.models import parse_csv
from ...landscapes.surfaces import SURFACES, UnknownSurface
from ...presets import get_presets
from ...schedulers import SCHEDULERS
from .. import operations
from ..jobs import Job, JobTimeout
from ..runner import run_whole
from ..runqueue import RunQueue
from ..schemas import (
    BUSY,
    TOO_LONG,
    CustomSurface,
    CustomSurfaceOut,
    Dataset,
    Ensemble,
    EnsembleRequest,
    Grid,
    ModelSurfaceIn,
    OptimizerOut,
    Preset,
    Run,
    RunRequest,
    SchedulerOut,
    SurfaceOut,
)
from ..service import (
    build_config,
    grid_body,
    limits_out,
    optimizers_out,
    scheduler_out,
    surfaces_out,
)
from .clients import client_id
from .deps import SettingsDep

router = APIRouter(prefix="/api", tags=["api"])
T = TypeVar("T")


@router.get("/surfaces", response_model=list[SurfaceOut])
async def list_surfaces() -> Any:
    return surfaces_out()


@router.get("/surfaces/{name}/grid", response_model=Grid)
async def surface_grid(
    name: str,
    http: Request,
    settings: SettingsDep,
    resolution: Annotated[
        int, Query(ge=2, description="points per axis (2..LOSSLAB_MAX_GRID_RESOLUTION, 400)")
    ] = 100,
) -> Response:
    if name not in SURFACES:
        raise HTTPException(404, UnknownSurface(name).message)
    operations.check_resolution(resolution, settings.max_grid_resolution)
    body = await in_queue(http, lambda: grid_body(name, resolution))
    return Response(body, media_type="application/json")


async def in_queue(http: Request, fn: Callable[[], T]) -> T:
    """`fn()` as one slice of the fair run queue, on a ticket of the asking client."""
    queue: RunQueue = http.app.state.runs
    with queue.ticket(client_id(http)) as ticket:
        return await queue.slice(ticket, fn)


@router.get("/optimizers", response_model=list[OptimizerOut])
async def list_optimizers() -> Any:
    """Every optimizer of torch.optim and pytorch_optimizer that steps a 2-D point, then the
    classes that cannot (`excluded` says why)."""
    return optimizers_out()


@router.get("/schedulers", response_model=list[SchedulerOut])
async def list_schedulers() -> Any:
    """torch.optim.lr_scheduler classes; null parameters are derived from the run."""
    return [scheduler_out(spec) for spec in SCHEDULERS.values()]


GridResolution = Annotated[
    int, Query(ge=2, description="points per axis (2..LOSSLAB_MAX_GRID_RESOLUTION, 400)")
]


@router.post("/surfaces/custom", response_model=CustomSurfaceOut, responses=BUSY | TOO_LONG)
async def custom_surface(
    body: CustomSurface, http: Request, settings: SettingsDep, resolution: GridResolution = 100
) -> Any:
    """Check a formula and answer its surface description and grid."""
    operations.check_resolution(resolution, settings.max_grid_resolution)
    return await in_queue(http, lambda: operations.described_surface(body, resolution))


@router.post("/surfaces/model", response_model=CustomSurfaceOut, responses=BUSY | TOO_LONG)
async def model_landscape(
    body: ModelSurfaceIn,
    request: Request,
    settings: SettingsDep,
    resolution: GridResolution = 100,
) -> Any:
    """A model's loss landscape over its two parameters: description and grid.

    A network's plane costs a forward pass over the data per grid point (and training θ* on
    first use), so it runs in the job pool with its own resolution limit.
    """
    if body.model != "mlp_plane":
        operations.check_resolution(resolution, settings.max_grid_resolution)
        return await in_queue(request, lambda: operations.described_surface(body, resolution))
    operations.check_resolution(resolution, settings.max_plane_resolution, "a network plane")
    return await request.app.state.jobs.run(
        lambda job: operations.described_surface(body, resolution), client_id(request)
    )


@router.post(
    "/datasets/csv",
    response_model=Dataset,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def parse_dataset(request: Request) -> Any:
    """Two numeric columns x,y (a header row is allowed), up to 10,000 rows, as {x, y}."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest(("dataset",), "the CSV must be UTF-8 text") from None
    return await in_queue(request, lambda: parse_csv(text))


@router.get("/activations")
async def activations(
    x_min: Annotated[float, Query(ge=-MAX_ABS_X, le=MAX_ABS_X)] = -6.0,
    x_max: Annotated[float, Query(ge=-MAX_ABS_X, le=MAX_ABS_X)] = 6.0,
    points: Annotated[int, Query(ge=2, le=MAX_POINTS)] = 241,
) -> dict[str, Any]:
    """sigmoid, tanh and ReLU on `points` evenly spaced x from `x_min` to `x_max`: each
    function's value, its derivative by autograd, and where that derivative vanishes."""
    return await run_in_threadpool(operations.activations, x_min, x_max, points)


@router.get("/limits", response_model=dict[str, int | float])
async def list_limits(settings: SettingsDep) -> dict[str, int | float]:
    """The server's size and time limits (every `max_*` setting, and the time limits), so a
    client can stay within them instead of copying them. Names as in `LOSSLAB_<NAME>`."""
    return limits_out(settings)


@router.get("/presets", response_model=list[Preset])
async def list_presets() -> Any:
    return get_presets()


@router.post("/runs", response_model=Run, responses=BUSY | TOO_LONG)
async def create_run(request: RunRequest, http: Request, settings: SettingsDep) -> Response:
    """Run an optimizer to the end and answer with every frame.

    The run computes in slices of the fair run queue and stops when the client leaves.
    """
    queue: RunQueue = http.app.state.runs
    with queue.ticket(client_id(http)) as ticket:
        run = await run_whole(
            queue, ticket, lambda: build_config(request, settings), settings.run_seconds,
            settings.max_steps + 1, http.is_disconnected,
        )  # fmt: skip
    return JSONResponse(run)


@router.post(
    "/runs/script",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/x-python": {"schema": {"type": "string"}}}}}
    | BUSY
    | TOO_LONG,
)
async def run_script(
    request: RunRequest, http: Request, settings: SettingsDep
) -> PlainTextResponse:
    """A standalone Python script, torch only, that reproduces this run frame for frame."""
    text = await in_queue(http, lambda: operations.script(request, settings))
    return PlainTextResponse(text, media_type="text/x-python")


@router.post(
    "/runs/ensemble",
    response_model=Ensemble,
    responses=BUSY | TOO_LONG,
)
async def run_ensemble(request: EnsembleRequest, http: Request, settings: SettingsDep) -> Response:
    """The same noisy run with `members` consecutive noise seeds: how stochastic paths spread.

    A CPU-heavy job: it runs in the server's bounded job pool.
    """

    def job_body(job: Job) -> dict[str, Any]:
        try:
            return operations.ensemble(request, settings, job.should_stop)
        except engine.RunCancelled:
            # The job's limit binds every member: the job stops only when it runs out of time.
            raise JobTimeout(settings.job_seconds) from None

    return JSONResponse(await http.app.state.jobs.run(job_body, client_id(http)))
