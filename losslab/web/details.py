"""The `detail` of a 422: FastAPI's validation-error shape, for pydantic's checks and for our
own `InvalidInput` alike. Shared by the error handlers, the streams and the in-process client,
so a refusal reads the same whichever way it reaches a script."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput, InvalidQuery

MAX_ECHOED_CHARS = 200


def invalid_input_detail(error: InvalidInput) -> list[Any]:
    """FastAPI's validation-error shape for one of our own InvalidInput errors."""
    prefix = "query" if isinstance(error, InvalidQuery) else "body"
    return [{"loc": [prefix, *error.loc], "msg": error.message, "type": "value_error"}]


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


def body_detail(error: ValidationError) -> list[dict[str, Any]]:
    """A body's validation errors, located as FastAPI locates them (`["body", ...]`)."""
    return [item | {"loc": ["body", *item["loc"]]} for item in validation_detail(error.errors())]
