"""Translate errors into HTTP answers. Every answer, errors included, is strict JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic.json_schema import models_json_schema

from ...engine import RunCancelled, RunTimeout
from ...errors import InvalidInput
from ..details import invalid_input_detail, validation_detail
from ..jobs import Busy, JobTimeout
from ..middleware import SecurityHeaders
from ..runqueue import QueueTimeout
from ..schemas import ErrorOut, ValidationErrorOut

log = logging.getLogger("losslab")


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidInput)
    return JSONResponse({"detail": invalid_input_detail(exc)}, status_code=422)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Busy)
    headers = {"Retry-After": str(exc.retry_after)}
    body = {"detail": str(exc), "limit": exc.limit}
    return JSONResponse(body, status_code=429, headers=headers)


async def _too_long(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody reads this answer: the client left, and its run stopped at the next slice.
    return Response(status_code=499)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    # This answer is sent from outside every middleware, so it brings their headers along.
    headers = {name.decode(): value.decode() for name, value in SecurityHeaders.HEADERS}
    return JSONResponse({"detail": "internal error"}, status_code=500, headers=headers)


def _error(description: str, model: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{model}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare the answers of docs/API.md's error conventions on every operation they apply to.

    404 where a path names something, 422 where there is input, 400 (unparsable: not UTF-8,
    nested too deep) and 413 where there is a body, 500 everywhere. Route-specific answers
    (429, 503) are declared by their routes.
    """
    _, defs = models_json_schema(
        [(ErrorOut, "serialization"), (ValidationErrorOut, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    spec.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
    for path, item in spec["paths"].items():
        for operation in item.values():
            answers = operation["responses"]
            has_body = "requestBody" in operation
            if "{" in path:
                answers.setdefault("404", _error("unknown name in the path", "ErrorOut"))
            if has_body or operation.get("parameters"):
                answers.setdefault("422", _error("invalid input", "ValidationErrorOut"))
            if has_body:
                answers.setdefault("400", _error("the body could not be parsed", "ErrorOut"))
                answers.setdefault("413", _error("request body too large", "ErrorOut"))
            answers.setdefault("500", _error("internal error (never with details)", "ErrorOut"))
    return spec


def install_error_handlers(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build_openapi())
        return app.openapi_schema

    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(RunTimeout, _too_long)
    app.add_exception_handler(JobTimeout, _too_long)
    app.add_exception_handler(QueueTimeout, _too_long)
    app.add_exception_handler(RunCancelled, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = openapi  # type: ignore[method-assign]
