"""The HTML page and the static assets it needs that do not live in static/.

The page boots without waiting on the network: the lists it needs (surfaces, optimizers,
schedulers, presets) and its first surface's grid come inline as JSON data blocks, every ES
module is announced with `<link rel="modulepreload">` so the browser fetches them in one
wave, and assets carry a version in their URL so that a returning visit asks for nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly
from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import TypeAdapter

from ...landscapes.surfaces import SURFACES
from ...presets import get_presets
from ...schedulers import SCHEDULERS
from .. import i18n, lessons
from ..schemas import OptimizerOut, Preset, SchedulerOut, SurfaceOut
from ..service import (
    benchmark_defaults,
    grid_body,
    limits_out,
    optimizers_out,
    scheduler_out,
    surfaces_out,
)
from .deps import SettingsDep

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "static"
TEMPLATES = Jinja2Templates(directory=ROOT / "templates")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# The Python package pins its plotly.js: a new package is a new URL, so a year is safe.
PLOTLY_URL = f"/vendor/plotly-{plotly.__version__}.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"

# What static/js/main.js draws first when the link names no surface, at the resolution it
# asks for. If they drift apart the page still works: it fetches the grid it wants instead
# (tests/browser/test_load.py checks that it does not need to).
DEFAULT_SURFACE = "rosenbrock"
GRID_RESOLUTION = 150
OWN_SURFACES = ("formula", "model")  # FORMULA and MODEL in formula.js and models.js

router = APIRouter(include_in_schema=False)
_static = StaticFiles(directory=STATIC)
_gzip_lock = threading.Lock()


def embed_json(text: str) -> Markup:
    """JSON text safe inside a `<script type="application/json">` element.

    `<`, `>` and `&` only ever occur inside JSON strings, where `\\u003c` means the same, so
    no `</script>` or `<!--` in the data can end the element early.
    """
    escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(escaped)  # escaped just above: Jinja must not escape it again


def _as_answered(model: Any, items: list[dict[str, Any]]) -> list[Any]:
    """`items` as the API route with `response_model=list[model]` answers them."""
    adapter = TypeAdapter(list[model])
    result: list[Any] = adapter.dump_python(
        adapter.validate_python(items), mode="json", by_alias=True
    )
    return result


@lru_cache(maxsize=1)
def boot_lists() -> Markup:
    """The lists the page fetches at boot, as the API answers them (they never change)."""
    payload = {
        "surfaces": _as_answered(SurfaceOut, surfaces_out()),
        "optimizers": _as_answered(OptimizerOut, optimizers_out()),
        "schedulers": _as_answered(SchedulerOut, [scheduler_out(s) for s in SCHEDULERS.values()]),
        "presets": _as_answered(Preset, get_presets()),
        "benchmark_defaults": benchmark_defaults(),
    }
    return embed_json(json.dumps(payload, allow_nan=False, separators=(",", ":")))


@lru_cache(maxsize=16)
def boot_grid(name: str) -> Markup:
    return embed_json(grid_body(name, GRID_RESOLUTION).decode())


def asset_version() -> str:
    """A digest of every file's path, size and mtime in static/: any edit changes it.

    Read on every call (a few dozen stats), never cached: a changed file must get a new
    URL at once, or a browser would keep the old one for a year.
    """
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            stat = path.stat()
            name = path.relative_to(STATIC).as_posix()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def module_urls(version: str) -> list[str]:
    """Every ES module of the page, for `<link rel="modulepreload">`: the files themselves
    are the list, so a new module is preloaded without anyone remembering to add it."""
    return [f"/assets/{version}/js/{path.name}" for path in sorted((STATIC / "js").glob("*.js"))]


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def index(request: Request, settings: SettingsDep) -> Response:
    # The grid the page will draw first: a linked built-in surface's, or the default's.
    # A linked formula or model comes from its own route (extras.js): no grid then.
    linked = request.query_params.get("surface", "")
    name = linked if linked in SURFACES else DEFAULT_SURFACE
    grid = None if linked in OWN_SURFACES else await run_in_threadpool(boot_grid, name)
    version = asset_version()
    chosen = i18n.supported(request.query_params.get("lang"))
    lang = i18n.page_language(
        chosen, request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
    )
    context = {
        "lang": lang,
        "html_lang": i18n.HTML_LANG[lang],
        "t": i18n.translator(lang),
        "boot_i18n": embed_json(i18n.boot_json(lang)),
        "boot_lessons": embed_json(lessons.chapters_json(lang)),
        "switch": language_switch(request.url.query, lang),
        "asset": lambda path: f"/assets/{version}/{path}",
        "modules": module_urls(version),
        "plotly_url": PLOTLY_URL,
        "boot_lists": await run_in_threadpool(boot_lists),  # the first one validates (25 ms)
        "boot_grid": grid,
        "grid_surface": name,
        "grid_resolution": GRID_RESOLUTION,
        # This server's limits (GET /api/limits): the page stays within them, never a copy.
        "boot_limits": embed_json(json.dumps(limits_out(settings), separators=(",", ":"))),
    }
    html = TEMPLATES.get_template("index.html").render(context).encode()
    # The data inside changes with the server: always ask again (a 200 is one request).
    # Its language follows the browser's languages and the cookie of a person's choice.
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding, Accept-Language, Cookie"}
    if accepts_gzip(request.headers.get("accept-encoding")):
        # Half a megabyte with the grid: compressed once per distinct page, not per visit.
        body = await run_in_threadpool(_gzipped_page, html)
        headers["Content-Encoding"] = "gzip"
        response = HTMLResponse(body, headers=headers)
    else:
        response = HTMLResponse(html, headers=headers)
    if chosen:
        # `?lang=` is a person's choice (the switch, or a link): later visits keep it.
        response.set_cookie(
            i18n.COOKIE, chosen, max_age=i18n.COOKIE_MAX_AGE, httponly=True, samesite="lax"
        )
    return response


@router.api_route("/lessons/{chapter}", methods=["GET", "HEAD"], response_class=HTMLResponse)
@router.api_route("/lessons/{chapter}/{step}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def lesson_page(
    request: Request, settings: SettingsDep, chapter: str, step: str = "1"
) -> Response:
    """The page, opened on a lesson's step (static/js/lessons.js reads the path)."""
    number = int(chapter) if chapter.isdigit() else 0
    index_ = int(step) if step.isdigit() else 0
    if not 1 <= index_ <= lessons.step_count(number):
        raise HTTPException(404, f"No lesson at /lessons/{chapter[:20]}/{step[:20]}")
    return await index(request, settings)


def language_switch(query: str, lang: str) -> dict[str, str]:
    """The top bar's link to the page in the other language, with the rest of the query.

    static/js/language.js keeps its href current as the page rewrites its query."""
    other = "zh" if lang == "en" else "en"
    pairs = [pair for pair in query.split("&") if pair and pair.split("=")[0] != "lang"]
    return {"lang": other, "href": "?" + "&".join([*pairs, f"lang={other}"])}


@lru_cache(maxsize=8)
def _gzipped_page(html: bytes) -> bytes:
    """Keyed by the page's bytes themselves, so it can never answer a stale page."""
    return gzip.compress(html, compresslevel=6, mtime=0)


@router.get("/assets/{version}/{path:path}")
async def asset(version: str, path: str, request: Request) -> Response:
    """A file of static/ under the version of the whole tree: cached for good when the
    version is current, revalidated otherwise (a page older than the last edit)."""
    response = await _static.get_response(path, request.scope)
    current = version == asset_version()
    response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
    return response


def _plotly_gzip() -> bytes:
    with _gzip_lock:  # one compression, however many first visitors ask at once
        return _compressed_plotly()


@lru_cache(maxsize=1)
def _compressed_plotly() -> bytes:
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=9, mtime=0)


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip: named, or through `*`, with q > 0."""
    qualities: dict[str, float] = {}
    for item in (header or "").lower().split(","):
        coding, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[coding.strip()] = quality
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


@router.get(PLOTLY_URL)
async def plotly_js(request: Request) -> Response:
    """Plotly.js from the installed `plotly` package: the page never needs the internet.

    4.8 MB, so it is gzipped once here rather than on every answer by the middleware (which
    leaves answers that carry Content-Encoding alone)."""
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if accepts_gzip(request.headers.get("accept-encoding")):
        body = await run_in_threadpool(_plotly_gzip)
        headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="text/javascript", headers=headers)
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)
