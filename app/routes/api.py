"""The JSON API: surfaces, optimizers and whole runs (shared/API.md)."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from app import engine
from app.analysis import analyze
from app.config import Settings, SettingsDep
from app.engine import RunConfig
from app.optimizers import OPTIMIZERS, Hyperparameter, OptimizerSpec
from app.presets import get_presets
from app.schemas import Grid, OptimizerOut, Preset, Run, RunRequest, SurfaceOut
from app.surfaces import SURFACES, Surface, UnknownSurface, get_surface

router = APIRouter(prefix="/api", tags=["api"])


def surface_out(surface: Surface) -> dict[str, Any]:
    return {
        "name": surface.name,
        "title": surface.title,
        "description": surface.description,
        "formula": surface.formula,
        "domain": {"x": list(surface.domain.x), "y": list(surface.domain.y)},
        "default_start": list(surface.default_start),
        "minima": [
            {"x": m.x, "y": m.y, "loss": surface.loss_at(m.x, m.y), "kind": m.kind}
            for m in surface.minima
        ],
        "saddles": [
            {"x": s.x, "y": s.y, "loss": surface.loss_at(s.x, s.y)} for s in surface.saddles
        ],
    }


def hyperparameter_out(hp: Hyperparameter) -> dict[str, Any]:
    out = {
        key: getattr(hp, key)
        for key in ("name", "type", "default", "description", "min", "max", "log")
    }
    out |= {
        "slider_min": hp.slider_min,
        "slider_max": hp.slider_max,
        "nullable": hp.nullable,
        "choices": None if hp.choices is None else list(hp.choices),
    }
    return out


def optimizer_out(spec: OptimizerSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "hyperparameters": [hyperparameter_out(hp) for hp in spec.hyperparameters],
        "needs_closure": spec.needs_closure,
        "param_shape": list(spec.param_shape),
    }


@lru_cache
def _surfaces() -> list[dict[str, Any]]:
    return [surface_out(s) for s in SURFACES.values()]


@lru_cache(maxsize=64)
def _grid_body(name: str, resolution: int) -> bytes:
    xs, ys, z = get_surface(name).grid(resolution)
    rows = [[v if math.isfinite(v) else None for v in row] for row in z.tolist()]
    grid = {"x": xs.tolist(), "y": ys.tolist(), "z": rows}
    return json.dumps(grid, allow_nan=False, separators=(",", ":")).encode()


@router.get("/surfaces", response_model=list[SurfaceOut])
async def list_surfaces() -> Any:
    return _surfaces()


@router.get("/surfaces/{name}/grid", response_model=Grid)
async def surface_grid(
    name: str,
    settings: SettingsDep,
    resolution: Annotated[int, Query(ge=2, description="points per axis (2..400)")] = 100,
) -> Response:
    if name not in SURFACES:
        raise HTTPException(404, UnknownSurface(name).message)
    if resolution > settings.max_grid_resolution:
        limit = settings.max_grid_resolution
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "resolution"),
                    "msg": f"Input should be less than or equal to {limit}",
                    "type": "less_than_equal",
                    "input": resolution,
                }
            ]
        )
    body = await run_in_threadpool(_grid_body, name, resolution)
    return Response(body, media_type="application/json")


@router.get("/optimizers", response_model=list[OptimizerOut])
async def list_optimizers() -> Any:
    return [optimizer_out(spec) for spec in OPTIMIZERS.values()]


def build_config(request: RunRequest, settings: Settings) -> RunConfig:
    return engine.make_config(
        surface=request.surface,
        optimizer=request.optimizer,
        hyperparameters=request.hyperparameters,
        start=request.start,
        steps=request.steps,
        dtype=request.dtype,
        max_steps=settings.max_steps,
    )


def _run(request: RunRequest, settings: Settings) -> dict[str, Any]:
    config = build_config(request, settings)
    status, frames, summary = engine.run(config)
    return {
        "run_id": uuid4().hex,
        "status": status,
        "frames": frames,
        "summary": summary.as_dict(),
        "analysis": analyze(config, frames, status),
    }


@router.get("/presets", response_model=list[Preset])
async def list_presets() -> Any:
    return get_presets()


@router.post("/runs", response_model=Run)
async def create_run(request: RunRequest, settings: SettingsDep) -> Response:
    """Run an optimizer to the end and answer with every frame."""
    return JSONResponse(await run_in_threadpool(_run, request, settings))
