"""create_app(): routers, middleware, static files, lifespan. Wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app import engine
from app.config import Settings, get_settings
from app.jobs import JobPool
from app.middleware import BodySizeLimit, RequestLog, SecurityHeaders
from app.routes import api, health, maps, pages, stream
from app.routes.errors import install_error_handlers

DESCRIPTION = """Real `torch.optim` optimizers stepping over 2D loss surfaces, frame by frame.
See `GET /api/surfaces`, `GET /api/optimizers` and `POST /api/runs`."""


def _warm_up() -> None:
    config = engine.make_config(surface="bowl", optimizer="Adam", steps=2)
    engine.run(config)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One intra-op thread: concurrent requests share the cores instead of fighting.
        torch.set_num_threads(settings.torch_threads)
        logging.getLogger("losslab").setLevel(settings.log_level.upper())
        app.state.shutting_down = False
        # torch loads its optimizer machinery on the first step: pay that before "ready".
        await run_in_threadpool(_warm_up)
        app.state.ready = True
        yield
        app.state.shutting_down = True
        await stream.close_all(app)

    app = FastAPI(title="losslab", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    # Routes read settings through the dependency: these settings are the ones they see.
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.jobs = JobPool(settings.max_jobs, settings.job_seconds)
    app.state.ready = False
    app.state.shutting_down = False
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(stream.router)
    app.include_router(maps.router)
    app.include_router(maps.network_router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.ROOT / "static"), name="static")
    return app


app = create_app()
