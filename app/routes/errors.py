"""Translate errors into HTTP answers. Every answer, errors included, is strict JSON."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.errors import InvalidInput

log = logging.getLogger("losslab")
MAX_ECHOED_CHARS = 200


def invalid_input_detail(error: InvalidInput, prefix: tuple[str, ...] = ("body",)) -> list[Any]:
    """FastAPI's validation-error shape for one of our own InvalidInput errors."""
    return [{"loc": [*prefix, *error.loc], "msg": error.message, "type": "value_error"}]


def strict(value: Any) -> Any:
    """Make a value safe for strict JSON: non-finite floats become strings, long text is cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > MAX_ECHOED_CHARS:
        return value[:MAX_ECHOED_CHARS] + "…"
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value[:50]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)


def validation_detail(errors: Any) -> list[Any]:
    return [
        {key: strict(item[key]) for key in ("loc", "msg", "type", "input") if key in item}
        for item in errors
    ]


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return JSONResponse({"detail": invalid_input_detail(exc)}, status_code=422)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(Exception, _unexpected)
