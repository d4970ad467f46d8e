"""uvicorn, bounded: its HTTP and WebSocket protocols with the limits the app cannot enforce.

An ASGI app only sees a request once its headers have arrived and a WebSocket's frames once
uvicorn has parsed them, so two guards live at the protocol level:
- `TimedHttpProtocol` closes a connection whose request (headers and body) has not fully
  arrived `request_seconds` after its first byte (or after the connection opened): slow,
  half-sent requests cannot hold connections for ever.
- `BoundedWebSocketProtocol` closes a WebSocket whose unsent output grows past
  `max_ws_pending_bytes`: uvicorn answers every ping with a pong whether or not the client
  reads, so a ping flood from a client that never reads would grow the server's memory.
Both read the process's settings (losslab/config.py), so they work with `--workers` too; a
subclass may set the limit as a class attribute instead (tests do).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..config import Settings, get_settings


class TimedHttpProtocol(HttpToolsProtocol):
    request_seconds: float | None = None
    _request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        seconds = self.request_seconds or get_settings().request_seconds
        self._request_timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _too_slow(self) -> None:
        self._request_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    max_pending_bytes: int | None = None

    def handle_ping(self) -> None:
        most = self.max_pending_bytes or get_settings().max_ws_pending_bytes
        if self.transport.get_write_buffer_size() > most:
            # The client sends pings but does not read the pongs: drop it.
            self.transport.abort()
            return
        super().handle_ping()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run / uvicorn.Config keyword arguments that bound every connection."""
    return {
        "http": TimedHttpProtocol,
        "ws": BoundedWebSocketProtocol,
        # Larger messages are refused while being read (close code 1009), not buffered.
        "ws_max_size": settings.max_ws_message_bytes,
    }
