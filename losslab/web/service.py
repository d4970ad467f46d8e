"""From requests to the engine's objects, and the catalogue as the API describes it.

Every route turns a `RunRequest` into a `RunConfig` here (`build_config`), resolves a surface
given by name, formula or model (`resolve_surface`), and describes surfaces, optimizers and
schedulers (`*_out`) the same way, so no route imports another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .. import benchmark, engine, maps, sweeps
from ..calculus import sharpness, suggested_lr
from ..config import Settings
from ..engine import RunConfig
from ..errors import InvalidRequest
from ..hyperparameters import Hyperparameter
from ..landscapes.formula import formula_surface
from ..landscapes.models import model_surface
from ..landscapes.network import plane_surface, training_refusal
from ..landscapes.surfaces import SURFACES, Surface, get_surface
from ..optimizer_catalog import FAMILIES
from ..optimizers import EXCLUDED, OPTIMIZERS, OptimizerSpec
from ..schedulers import SchedulerSpec, make_scheduler
from .schemas import CustomSurface, DatasetIn, ModelSurfaceIn, RunRequest, SupportsOut


def benchmark_defaults() -> dict[str, Any]:
    """The default benchmark as a `BenchmarkRequest` spells it (what `{}` asks for)."""
    default = benchmark.Request()
    return {
        "optimizers": [
            {"name": e.name, "hyperparameters": dict(e.hyperparameters), "label": e.label or None}
            for e in default.optimizers
        ],
        "surfaces": list(default.surfaces),
        "steps": default.steps,
        "lr": {"min": default.lr.min, "max": default.lr.max, "n": default.lr.n},
        "starts": default.starts,
        "seed": default.seed,
        "tolerance": default.tolerance,
        "escape_margin": default.escape_margin,
        "dtype": default.dtype,
    }


def limits_out(settings: Settings) -> dict[str, int | float]:
    """Every `max_*` setting and time limit, by its `LOSSLAB_<NAME>` name (GET /api/limits)."""
    values = settings.model_dump()
    names = [name for name in values if name.startswith("max_") or name.endswith("_seconds")]
    return {name: values[name] for name in sorted(names)}


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
        **stability_hint(surface),
        "parameters": surface.parameters,
    }


def stability_hint(surface: Surface) -> dict[str, float | None]:
    """The sharpness a gradient-descent run meets (at the default start and the global
    minima) and a learning rate well inside its bound 2/λ: what the page suggests."""
    points = [surface.default_start] + [(m.x, m.y) for m in surface.minima if m.kind == "global"]
    try:
        top = sharpness(surface.fn, points)
    except (RuntimeError, ValueError):  # a formula autograd cannot differentiate twice
        top = None
    return {"sharpness": top, "suggested_lr": suggested_lr(top)}


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
        "source": spec.source,
        "family": spec.family,
        "family_step": FAMILIES[spec.family],
        "reference": spec.reference,
        "hyperparameters": [hyperparameter_out(hp) for hp in spec.hyperparameters],
        "fixed": list(spec.fixed),
        "needs_closure": spec.needs_closure,
        "param_shape": list(spec.param_shape),
        "supports": supports_out(spec),
        "excluded": None,
    }


def supports_out(spec: OptimizerSpec) -> dict[str, bool]:
    """Which batched tools run `spec` (the rest refuse it with a 422 that says why)."""
    return {
        "basin_map": maps.supports_basin_map(spec),
        "hyperparameter_map": maps.supports_hyperparameter_map(spec),
        "start_sweep": spec.name in sweeps.START_OPTIMIZERS,
        "hyperparameter_sweep": spec.name in sweeps.HYPERPARAMETER_OPTIMIZERS,
        "network": training_refusal(spec) is None,
        "param_groups": engine.param_groups_refusal(spec) is None,
    }


def excluded_out(name: str, entry: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "description": f"Cannot run here: it {entry['reason']}.",
        "source": entry["source"],
        "family": entry["family"],
        "family_step": FAMILIES[entry["family"]],  # type: ignore[index]
        "reference": None,
        "hyperparameters": [],
        "fixed": [],
        "needs_closure": False,
        "param_shape": [2],
        "supports": dict.fromkeys(SupportsOut.model_fields, False),
        "excluded": entry["reason"],
    }


@lru_cache(maxsize=1)
def optimizers_out() -> list[dict[str, Any]]:
    """Every optimizer that runs, then every class that cannot, with the reason."""
    runnable = [optimizer_out(spec) for spec in OPTIMIZERS.values()]
    return runnable + [excluded_out(name, entry) for name, entry in EXCLUDED.items()]


@lru_cache
def surfaces_out() -> list[dict[str, Any]]:
    return [surface_out(s) for s in SURFACES.values()]


def grid_out(surface: Surface, resolution: int) -> dict[str, Any]:
    """The loss on a resolution² grid, Plotly's orientation; non-finite values are null."""
    xs, ys, z = surface.grid(resolution)
    rows = [[v if math.isfinite(v) else None for v in row] for row in z.tolist()]
    return {"x": xs.tolist(), "y": ys.tolist(), "z": rows}


def grid_json(surface: Surface, resolution: int) -> str:
    return json.dumps(grid_out(surface, resolution), allow_nan=False, separators=(",", ":"))


@lru_cache(maxsize=64)
def grid_body(name: str, resolution: int) -> bytes:
    return grid_json(get_surface(name), resolution).encode()


def resolve_surface(surface: str | CustomSurface | ModelSurfaceIn) -> str | Surface:
    if isinstance(surface, str):
        return surface
    if isinstance(surface, CustomSurface):
        domain = None if surface.domain is None else surface.domain.model_dump()
        return formula_surface(surface.formula, domain)
    dataset = surface.dataset
    if surface.model == "mlp_plane":
        if surface.batch_size is not None or not isinstance(dataset, str | None):
            raise InvalidRequest(
                ("surface",), "mlp_plane takes a dataset name (moons, spirals); no batch_size"
            )
        if surface.loss not in (None, "cross_entropy"):
            raise InvalidRequest(("surface", "loss"), "mlp_plane trains with cross_entropy")
        return plane_surface(dataset or "moons", surface.seed, surface.directions)
    data = dataset.model_dump() if isinstance(dataset, DatasetIn) else dataset
    return model_surface(
        surface.model, data, surface.batch_size, surface.seed, surface.shuffle, surface.bias,
        surface.loss,
    )  # fmt: skip


def build_config(request: RunRequest, settings: Settings) -> RunConfig:
    scheduler = clip = noise = None
    if request.scheduler is not None:
        warmup = request.scheduler.warmup
        scheduler = make_scheduler(
            request.scheduler.name,
            request.scheduler.params,
            None if warmup is None else warmup.model_dump(),
            request.steps,
        )
    if request.clip is not None:
        norm = request.clip.norm_type
        clip = engine.Clip(
            request.clip.max_norm, math.inf if norm == "inf" else norm, request.clip.max_value
        )
    if request.noise is not None:
        noise = engine.Noise(request.noise.std, request.noise.seed)
    return engine.make_config(
        surface=resolve_surface(request.surface),
        optimizer=request.optimizer,
        hyperparameters=request.hyperparameters,
        start=request.start,
        steps=request.steps,
        dtype=request.dtype,
        max_steps=settings.max_steps,
        scheduler=scheduler,
        clip=clip,
        noise=noise,
        param_groups=request.param_groups,
    )


def scheduler_out(spec: SchedulerSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "hyperparameters": [hyperparameter_out(hp) for hp in spec.hyperparameters],
        "needs_loss": spec.needs_loss,
        "supports_warmup": not spec.needs_loss,
    }
