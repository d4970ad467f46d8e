"""`losslab serve` on a free port of 127.0.0.1, as `make run` starts it, for the bench scripts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Yield the server's base URL and process once /readyz answers 200 (torch warmed up);
    stop it with SIGTERM, as a deployment would, on the way out."""
    port = free_port()
    losslab = Path(sys.executable).with_name("losslab")
    server = subprocess.Popen(
        [str(losslab), "serve", "--port", str(port), "--log-level", "warning"],
        env=os.environ | (env or {}),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("losslab serve did not start")
            time.sleep(0.1)
        yield url, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
