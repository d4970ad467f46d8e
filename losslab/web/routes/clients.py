"""Who is asking: the key of the per-client limits (docs/API.md, "Limits")."""

from __future__ import annotations

from starlette.requests import HTTPConnection


def client_id(connection: HTTPConnection) -> str:
    """The client's IP address. Behind a reverse proxy, serve with uvicorn's proxy headers
    (`--forwarded-allow-ips`) so that this is the real client rather than the proxy."""
    return connection.client.host if connection.client is not None else ""
