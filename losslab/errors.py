"""The base of every error a client can cause.

Each room raises its own small subclass; routes/ translates them into HTTP answers (a 422
whose `loc` names the offending field, as FastAPI's own validation errors do).
"""

from __future__ import annotations


class InvalidInput(ValueError):
    """A value supplied by a client is invalid. `loc` is the path to it inside the request."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class InvalidRequest(InvalidInput):
    """A request the API refuses before any engine sees it (an ensemble without noise, a CSV
    that is not text, a model option a route does not take)."""


class InvalidQuery(InvalidInput):
    """A query parameter the API refuses (a grid's resolution past the server's limit): its
    422 locates it under "query" rather than "body"."""
