"""What a losslab call raises: the server's refusal (`APIError`) or a lost connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class LosslabError(Exception):
    """The base of every error the client raises."""


@dataclass(frozen=True)
class FieldError:
    """One refused field of a 422: where it is in the request, and why."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def field(self) -> str:
        """The field's dotted path inside the request body or query: `hyperparameters.lr`."""
        path = self.loc[1:] if self.loc[:1] in (("body",), ("query",)) else self.loc
        return ".".join(str(part) for part in path)


class APIError(LosslabError):
    """The API refused a request, with the status the server answers (or would answer).

    `detail` is the answer's `detail` as sent; for a 422, `errors` lists every refused field
    and `field` names the first one (`"hyperparameters.lr"`). A 429 names the `limit` it hit;
    429 and 503 carry `retry_after` (seconds).
    """

    def __init__(
        self,
        status: int,
        detail: Any,
        *,
        limit: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.detail = detail
        self.limit = limit
        self.retry_after = retry_after
        self.errors = _field_errors(detail)
        super().__init__(self._message())

    @property
    def field(self) -> str | None:
        """The first refused field's dotted path (None when no field is to blame)."""
        return self.errors[0].field if self.errors else None

    def _message(self) -> str:
        if self.errors:
            reasons = "; ".join(f"{e.field or '(body)'}: {e.msg}" for e in self.errors)
            return f"{self.status}: {reasons}"
        return f"{self.status}: {self.detail}"


class ConnectionLost(LosslabError):
    """The server went away (or fell silent past the timeout) before answering in full: a
    dropped WebSocket, a stream cut short, a refused connection."""


def _field_errors(detail: Any) -> list[FieldError]:
    if not isinstance(detail, list):
        return []
    errors = []
    for item in detail:
        if isinstance(item, dict) and isinstance(item.get("loc"), list | tuple):
            loc = tuple(part for part in item["loc"] if isinstance(part, str | int))
            errors.append(FieldError(loc, str(item.get("msg", "")), str(item.get("type", ""))))
    return errors
