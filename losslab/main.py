"""create_app(): routers, middleware, static files, lifespan. Wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from . import engine
from .config import Settings, get_settings
from .web.binary import BINARY_TYPES
from .web.jobs import JobPool
from .web.middleware import BodySizeLimit, RequestLog, SecurityHeaders
from .web.routes import api, benchmarks, docs, health, maps, network, pages, stream, sweeps
from .web.routes.errors import install_error_handlers
from .web.runqueue import RunQueue

UNCOMPRESSED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, *BINARY_TYPES)
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
        # Worker threads are not daemons: every job must end for the process to exit.
        app.state.jobs.cancel_all()
        await stream.close_all(app)

    app = FastAPI(
        title="losslab",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py, offline
        redoc_url=None,
    )
    # Routes read settings through the dependency: these settings are the ones they see.
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.jobs = JobPool(settings.max_jobs, settings.job_seconds, settings.max_jobs_per_client)
    app.state.runs = RunQueue(
        settings.max_runs,
        settings.max_runs_per_client,
        settings.max_waiting_runs,
        settings.queue_seconds,
    )
    app.state.ready = False
    app.state.sockets = set()  # the open WebSockets (routes/stream.py), closed at shutdown
    app.state.shutting_down = False
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    # Streams (SSE, binary records) are never compressed: each event must leave at once.
    app.add_middleware(
        GZipMiddleware, minimum_size=1024, compresslevel=6, exclude_content_types=UNCOMPRESSED
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(stream.router)
    app.include_router(maps.router)
    app.include_router(network.router)
    app.include_router(sweeps.router)
    app.include_router(benchmarks.router)
    app.include_router(docs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.ROOT / "static"), name="static")
    return app


app = create_app()
