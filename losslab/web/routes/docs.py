"""The API's documentation pages, /docs (Swagger UI) and /redoc, with their assets served
from the installed `fastapi-offline` package: they work offline, like the page.

The page's Content-Security-Policy allows no inline script, yet Swagger UI starts from one:
/docs gets its own policy that admits exactly that script, by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from ..middleware import SecurityHeaders

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
PREFIX = "/vendor/docs"

router = APIRouter(include_in_schema=False)


def _policy(html: str, extra: str = "") -> str:
    """The page's policy, plus the hashes of this HTML's inline scripts."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    ]
    policy = SecurityHeaders.POLICY.replace(
        "script-src 'self'", " ".join(["script-src 'self'", *hashes])
    )
    return policy + extra


def _page(html: str, extra: str = "") -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": _policy(html, extra)})


@router.get("/docs")
async def swagger(request: Request) -> HTMLResponse:
    html = get_swagger_ui_html(
        openapi_url=str(request.app.openapi_url),
        title="losslab API",
        swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{PREFIX}/favicon.png",
    )
    return _page(bytes(html.body).decode())


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    html = get_redoc_html(
        openapi_url=str(request.app.openapi_url),
        title="losslab API",
        redoc_js_url=f"{PREFIX}/redoc.standalone.js",
        redoc_favicon_url=f"{PREFIX}/favicon.png",
        with_google_fonts=False,
    )
    # ReDoc searches in a Web Worker that it starts from a blob.
    return _page(bytes(html.body).decode(), "; worker-src 'self' blob:")


@router.get(PREFIX + "/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSET_TYPES:
        raise HTTPException(404, "no such asset")
    return FileResponse(
        ASSETS / name,
        media_type=ASSET_TYPES[name],
        headers={"Cache-Control": "public, max-age=86400"},
    )
