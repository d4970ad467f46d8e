"""Real servers on 127.0.0.1 for tests that need sockets and signals.

`serve_in_thread` runs an app under uvicorn in a thread of the test process, so a test can
count that process's threads and the server's asyncio tasks; `serve_in_subprocess` runs the
`losslab serve` command itself, so a test can send it signals and read its stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import uvicorn
from fastapi import FastAPI

from losslab.config import Settings, get_settings
from losslab.main import create_app
from losslab.web.server import uvicorn_options

LOSSLAB = Path(sys.executable).with_name("losslab")


def make_app(settings: Settings) -> FastAPI:
    """The app with these settings everywhere: in create_app and behind SettingsDep."""
    app = create_app(settings)
    app.dependency_overrides[get_settings] = lambda: settings
    return app


def wait_for(predicate: Callable[[], bool], seconds: float, interval: float = 0.02) -> bool:
    """Poll `predicate` until it holds or `seconds` pass; the last answer."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(interval)
    return True


class ThreadServer(uvicorn.Server):
    """A uvicorn server that remembers its event loop, so tests can count its tasks."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def task_count(self) -> int:
        async def count() -> int:
            return len(asyncio.all_tasks())

        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(timeout=10)


@contextlib.contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[tuple[str, ThreadServer]]:
    """`app` served on a free port of 127.0.0.1; yields its URL and the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(get_settings())
    )
    server = ThreadServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not wait_for(lambda: server.started or not thread.is_alive(), 30) or not server.started:
            raise RuntimeError("the test server did not start")
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class Served:
    """A `losslab serve` process: its URL, the process, and what it wrote to stderr."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self.url = url
        self.process = process
        self._stderr = stderr

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")


@contextlib.contextmanager
def serve_in_subprocess(*args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`losslab serve --port <free> *args` until it answers /healthz; killed if still alive."""
    port = free_port()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [str(LOSSLAB), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        served = Served(f"http://127.0.0.1:{port}", process, stderr)
        try:
            started = wait_for(lambda: process.poll() is not None or _answers(served.url), 60, 0.1)
            if not started or process.poll() is not None:
                raise RuntimeError(f"losslab serve did not start:\n{served.stderr()}")
            yield served
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=15)
