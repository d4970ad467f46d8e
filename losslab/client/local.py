"""Calls in this process, with no server: the routes' own functions, called directly.

`LocalTransport.send(call)` answers what the route of `call` would: the same functions
(web/service.py, web/operations.py, the engine), the same limits (a `Settings`, read from the
LOSSLAB_ environment as the server reads it), the same refusals as APIError with the status
the server would give, and the answer passed through strict JSON as the server sends it. So
`losslab.run(...)` and `Client(url).run(...)` return equal results. Work runs in the caller's
thread (Ctrl-C stops it); a map or a benchmark stops at the job time limit, as on a server.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote
from uuid import uuid4

from pydantic import ValidationError

from .. import engine, maps
from ..config import Settings
from ..errors import InvalidInput
from ..landscapes.models import parse_csv
from ..landscapes.network import TrainingStopped
from ..landscapes.surfaces import SURFACES, UnknownSurface, get_surface
from ..presets import get_presets
from ..schedulers import SCHEDULERS
from ..web import operations, schemas
from ..web.binary import dumps
from ..web.details import body_detail, invalid_input_detail
from ..web.jobs import JobTimeout
from ..web.runner import done_payload
from ..web.service import (
    benchmark_defaults,
    build_config,
    grid_out,
    limits_out,
    optimizers_out,
    scheduler_out,
    surfaces_out,
)
from .calls import Call
from .errors import APIError, ConnectionLost
from .live import LiveMessage, LiveSession
from .streams import Event


def _deadline(seconds: float) -> Callable[[], bool]:
    end = time.monotonic() + seconds
    return lambda: time.monotonic() > end


class LocalTransport:
    """Answers calls in process; `settings` are the limits a server would apply."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        """Read from the LOSSLAB_ environment on first use, not at `import losslab`: a bad
        variable then fails the first call, with its name, rather than the import."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    def send(self, call: Call[Any]) -> Any:
        handler: Callable[[Call[Any]], Any] = getattr(self, "_" + call.name)
        with refusals(self.settings):
            answer = handler(call)
        return answer if call.answer == "text" else json.loads(dumps(answer))

    # The operations, by Call.name.

    def _surfaces(self, call: Call[Any]) -> Any:
        return surfaces_out()

    def _grid(self, call: Call[Any]) -> Any:
        name = unquote(call.path.split("/")[3])
        if name not in SURFACES:
            raise APIError(404, UnknownSurface(name).message)
        resolution = call.params["resolution"]
        operations.check_resolution(resolution, self.settings.max_grid_resolution)
        return grid_out(get_surface(name), resolution)

    def _describe(self, call: Call[Any]) -> Any:
        body, resolution = call.body, call.params["resolution"]
        assert isinstance(body, schemas.CustomSurface | schemas.ModelSurfaceIn)
        if isinstance(body, schemas.ModelSurfaceIn) and body.model == "mlp_plane":
            limit, what = self.settings.max_plane_resolution, "a network plane"
        else:
            limit, what = self.settings.max_grid_resolution, "a grid"
        operations.check_resolution(resolution, limit, what)
        return operations.described_surface(body, resolution)

    def _optimizers(self, call: Call[Any]) -> Any:
        return optimizers_out()

    def _schedulers(self, call: Call[Any]) -> Any:
        return [scheduler_out(spec) for spec in SCHEDULERS.values()]

    def _presets(self, call: Call[Any]) -> Any:
        return get_presets()

    def _limits(self, call: Call[Any]) -> Any:
        return limits_out(self.settings)

    def _activations(self, call: Call[Any]) -> Any:
        return operations.activations(**call.params)

    def _run(self, call: Call[Any]) -> Any:
        trajectory = self._trajectory(call.body)
        frames = list(trajectory)
        return {**done_payload(uuid4().hex, trajectory, frames), "frames": frames}

    def _script(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.RunRequest)
        return operations.script(call.body, self.settings)

    def _ensemble(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.EnsembleRequest)
        return operations.ensemble(call.body, self.settings, self._job_clock())

    def _sweep(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.SweepRequest)
        compute = operations.sweep(call.body, self.settings)
        return compute(self._job_clock()).as_json()

    def _basin_map(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.BasinMapRequest)
        compute = operations.basin_map(call.body, self.settings, streamed=True)
        return operations.map_answer(compute(self._job_clock(), _progress(call)))

    def _hyperparameter_map(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.HyperparameterMapRequest)
        compute = operations.hyperparameter_map(call.body, self.settings, streamed=True)
        return operations.map_answer(compute(self._job_clock(), _progress(call)))

    def _benchmark(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.BenchmarkRequest)
        plan = operations.benchmark_plan(call.body, self.settings)
        return operations.benchmark_answer(plan, _progress(call), self._job_clock())

    def _benchmark_defaults(self, call: Call[Any]) -> Any:
        return benchmark_defaults()

    def _train_network(self, call: Call[Any]) -> Any:
        assert isinstance(call.body, schemas.NetworkTrainRequest)
        return operations.train_network(call.body, self.settings)(self._job_clock())

    def _parse_csv(self, call: Call[Any]) -> Any:
        assert call.text is not None
        return parse_csv(call.text)

    def _job_clock(self) -> Callable[[], bool]:
        """A job's stop rule here: its time limit (there is no client to leave)."""
        return _deadline(self.settings.job_seconds)

    def _trajectory(self, request: Any) -> engine.Trajectory:
        assert isinstance(request, schemas.RunRequest)
        config = build_config(request, self.settings)
        return engine.Trajectory(config, self.settings.run_seconds)

    def run_events(self, request: Any) -> Iterator[Event]:
        """A run's frames as the engine computes them, one event each, then `done`."""
        with refusals(self.settings):
            trajectory = self._trajectory(request)
            frames: list[Any] = []
            for frame in trajectory:
                frames.append(frame)
                yield "frames", json.loads(dumps([frame]))
            done = done_payload(uuid4().hex, trajectory, frames)
        yield "done", json.loads(dumps(done))

    def live(self) -> LocalLiveSession:
        return LocalLiveSession(self)


def _progress(call: Call[Any]) -> Callable[[float], None]:
    return call.progress or (lambda fraction: None)


@contextlib.contextmanager
def refusals(settings: Settings) -> Iterator[None]:
    """Raise what the engine refuses as the APIError the server would answer."""
    try:
        yield
    except InvalidInput as error:
        raise APIError(422, invalid_input_detail(error)) from None
    except ValidationError as error:
        raise APIError(422, body_detail(error)) from None
    except engine.RunTimeout as error:
        raise APIError(503, str(error), retry_after=5) from None
    except (maps.MapCancelled, engine.RunCancelled, TrainingStopped):
        # In process the only reason to stop is the job's time limit.
        raise APIError(503, str(JobTimeout(settings.job_seconds)), retry_after=5) from None


class LocalLiveSession(LiveSession):
    """The run socket's protocol in process: a run is computed as its messages are read, and
    a newer run replaces it (`cancelled`) before another of its frames is computed."""

    def __init__(self, transport: LocalTransport) -> None:
        self.transport = transport
        self.timeout = 0.0
        self.pending: deque[LiveMessage] = deque()
        self.current: tuple[Any, Iterator[Event]] | None = None

    def _send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("run", "cancel") and self.current is not None:
            run_id, events = self.current
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self.current = None
            self.pending.append(LiveMessage(type="cancelled", run_id=run_id))
        body = {k: v for k, v in message.items() if k not in ("type", "run_id", "sweep_id")}
        if kind == "run":
            self._start_run(message.get("run_id"), body)
        elif kind == "sweep":
            self._sweep(message.get("sweep_id"), body)

    def _start_run(self, run_id: Any, body: dict[str, Any]) -> None:
        try:
            request = schemas.RunRequest.model_validate(body)
        except ValidationError as error:
            self.pending.append(LiveMessage(type="error", run_id=run_id, detail=body_detail(error)))
            return
        self.current = (run_id, self.transport.run_events(request))

    def _sweep(self, sweep_id: Any, body: dict[str, Any]) -> None:
        body.pop("encoding", None)
        try:
            request = schemas.SweepRequest.model_validate(body)
            call = Call("sweep", "POST", "/api/sweeps", dict, body=request)
            answer = self.transport.send(call)
        except ValidationError as error:
            detail = body_detail(error)
            self.pending.append(LiveMessage(type="error", sweep_id=sweep_id, detail=detail))
        except APIError as error:
            self.pending.append(LiveMessage(type="error", sweep_id=sweep_id, detail=error.detail))
        else:
            self.pending.append(LiveMessage(type="sweep", sweep_id=sweep_id, sweep=answer))

    def next(self, timeout: float | None = None) -> LiveMessage:
        if self.pending:
            return self.pending.popleft()
        if self.current is None:
            raise ConnectionLost("nothing to read: no run or sweep is in flight")
        run_id, events = self.current
        try:
            kind, data = next(events)
        except StopIteration:
            self.current = None
            return self.next(timeout)
        except APIError as error:
            self.current = None
            return LiveMessage(type="error", run_id=run_id, detail=error.detail)
        if kind == "frames":
            return LiveMessage(type="frames", run_id=run_id, frames=data)
        self.current = None
        return LiveMessage(type="done", run_id=run_id, done=data)

    def close(self) -> None:
        self.pending.clear()
        if self.current is not None:
            self._send({"type": "cancel"})
            self.pending.clear()
