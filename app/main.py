"""create_app(): routers, middleware, static files. Wiring only."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import Settings, get_settings
from app.middleware import BodySizeLimit
from app.routes import api, pages, stream
from app.routes.errors import install_error_handlers

DESCRIPTION = """Real `torch.optim` optimizers stepping over 2D loss surfaces, frame by frame.
See `GET /api/surfaces`, `GET /api/optimizers` and `POST /api/runs`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="losslab", version="0.1.0", description=DESCRIPTION)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(stream.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.ROOT / "static"), name="static")
    return app


app = create_app()
