"""Sweeps against the single-run engine: each sampled row is one engine run, frame for frame."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from losslab import engine, maps, sweeps
from losslab.config import Settings
from losslab.errors import InvalidInput
from losslab.landscapes.models import model_surface
from losslab.landscapes.surfaces import Surface, get_surface
from losslab.maps import Axis
from losslab.optimizers import get_optimizer
from losslab.web import binary


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def maker(
    surface: Surface, optimizer: str, steps: int, dtype: str = "float32"
) -> sweeps.MakeConfig:
    def make(hyperparameters: Mapping[str, Any], start: tuple[float, float]) -> engine.RunConfig:
        return engine.make_config(
            surface=surface,
            optimizer=optimizer,
            hyperparameters=hyperparameters,
            start=start,
            steps=steps,
            dtype=dtype,
        )

    return make


def run_sweep(
    surface: Surface,
    optimizer: str,
    hp: dict[str, Any],
    start: tuple[float, float],
    steps: int,
    axis: Axis,
    dtype: str = "float32",
) -> tuple[sweeps.Sweep, sweeps.MakeConfig]:
    make = maker(surface, optimizer, steps, dtype)
    config, values = sweeps.check(get_optimizer(optimizer), hp, start, make, axis)
    return sweeps.sweep(config, axis, values), make


def row_run(
    make: sweeps.MakeConfig,
    optimizer: str,
    hp: dict[str, Any],
    start: tuple[float, float],
    axis: str,
    value: float,
) -> tuple[str, list[engine.Frame]]:
    if axis == "start_x":
        config = make(hp, (value, start[1]))
    elif axis == "start_y":
        config = make(hp, (start[0], value))
    else:
        config = make(maps.cell_hyperparameters(get_optimizer(optimizer), hp, {axis: value}), start)
    status, frames, _ = engine.run(config)
    return status, frames


def assert_row_is_the_run(
    result: sweeps.Sweep,
    i: int,
    status: str,
    frames: list[engine.Frame],
    exact: bool = True,
) -> None:
    answer = result.as_json()
    where = f"row {i} ({result.axis.name} = {result.values[i]})"
    assert answer["status"][i] == status, where
    assert answer["steps_taken"][i] == frames[-1]["step"], where
    expected = {
        "x": [f["x"] for f in frames],
        "y": [f["y"] for f in frames],
        "loss": [f["loss"] for f in frames],
        "grad_norm": [math.hypot(*f["grad"]) for f in frames],
    }
    for name, values in expected.items():
        if exact:
            assert answer[name][i] == values, f"{where}: {name}"
        else:
            assert answer[name][i] == pytest.approx(values, rel=1e-5, abs=1e-5), f"{where}: {name}"
    assert answer["final_loss"][i] == answer["loss"][i][-1]


SURFACES = ["rosenbrock", "himmelblau", "bowl", "elliptic", "four_wells", "rastrigin"]


def numeric_axes(optimizer: str) -> list[str]:
    return maps._numeric_names(get_optimizer(optimizer))


def random_axis(rng: random.Random, optimizer: str, name: str) -> Axis:
    hp = get_optimizer(optimizer).hyperparameter(name.partition(".")[0])
    lo, hi = hp.slider_min, hp.slider_max
    assert lo is not None and hi is not None
    return Axis(name, lo, hi, rng.randint(5, 33), log=hp.log)


@pytest.mark.parametrize("optimizer", sorted(sweeps.HYPERPARAMETER_OPTIMIZERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_hyperparameter_rows_are_single_runs_bit_for_bit(optimizer: str, seed: int) -> None:
    """A random setting, surface, start and dtype; random rows plus each kind of ending."""
    rng = random.Random(f"{optimizer}{seed}")
    surface = get_surface(rng.choice(SURFACES))
    (xlo, xhi), (ylo, yhi) = surface.domain.x, surface.domain.y
    start = (rng.uniform(xlo, xhi), rng.uniform(ylo, yhi))
    name = rng.choice(numeric_axes(optimizer))
    axis = random_axis(rng, optimizer, name)
    dtype = rng.choice(["float32", "float64"])
    result, make = run_sweep(surface, optimizer, {}, start, rng.randint(40, 160), axis, dtype)
    rows = set(rng.sample(range(len(result.values)), 3))
    for status in ("converged", "diverged", "max_steps"):
        with_status = [i for i, s in enumerate(result.status) if s == status]
        rows |= set(with_status[:1] + with_status[-1:])
    for i in sorted(rows):
        status, frames = row_run(make, optimizer, {}, start, name, result.values[i])
        assert_row_is_the_run(result, i, status, frames)


@pytest.mark.parametrize("optimizer", sorted(sweeps.START_OPTIMIZERS))
def test_start_rows_are_single_runs_bit_for_bit(optimizer: str) -> None:
    rng = random.Random(optimizer)
    surface = get_surface(rng.choice(SURFACES))
    name = rng.choice(sweeps.START_AXES)
    lo, hi = surface.domain.x if name == "start_x" else surface.domain.y
    axis = Axis(name, lo, hi, 9)
    start = surface.default_start
    result, make = run_sweep(surface, optimizer, {}, start, 60, axis)
    for i in sorted(rng.sample(range(9), 3)):
        status, frames = row_run(make, optimizer, {}, start, name, result.values[i])
        assert_row_is_the_run(result, i, status, frames)


def test_every_ending_matches_its_run() -> None:
    """lr from tame to wild on Rosenbrock: rows converge, take all steps, leave the bound with
    a finite frame (kept) or overflow (not kept), each where its single run does."""
    surface = get_surface("rosenbrock")
    hp = {"lr": 0.001, "momentum": 0.9}
    axis = Axis("lr", 1e-5, 10.0, 64, log=True)
    for dtype in ("float32", "float64"):
        result, make = run_sweep(surface, "SGD", hp, (-1.5, 2.0), 2000, axis, dtype)
        assert {"converged", "diverged", "max_steps"} <= set(result.status)
        for i, value in enumerate(result.values):
            status, frames = row_run(make, "SGD", hp, (-1.5, 2.0), "lr", value)
            assert_row_is_the_run(result, i, status, frames)


def test_the_paths_end_with_their_frames() -> None:
    result, _ = run_sweep(
        get_surface("bowl"), "SGD", {}, (3.0, 2.0), 300, Axis("lr", 0.01, 1.5, 17)
    )
    for i, taken in enumerate(result.steps_taken):
        row = result.x[i]
        assert not torch.isnan(row[: taken + 1]).any()
        assert torch.isnan(row[taken + 1 :]).all()
        assert torch.isnan(result.grad_norm[i, taken + 1 :]).all()


def test_full_batch_models_agree_with_their_runs() -> None:
    surface = model_surface("linear_regression", "noisy_line", None, 0)
    axis = Axis("lr", 0.001, 0.5, 9, log=True)
    result, make = run_sweep(surface, "Adam", {}, surface.default_start, 80, axis)
    for i in (0, 4, 8):
        status, frames = row_run(make, "Adam", {}, surface.default_start, "lr", result.values[i])
        assert_row_is_the_run(result, i, status, frames, exact=False)


def test_a_sweep_stops_when_asked() -> None:
    surface = get_surface("rosenbrock")
    make = maker(surface, "SGD", 5000)
    axis = Axis("lr", 1e-5, 1e-3, 64, log=True)
    config, values = sweeps.check(get_optimizer("SGD"), {}, (-1.5, 2.0), make, axis)
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    with pytest.raises(maps.MapCancelled):
        sweeps.sweep(config, axis, values, should_stop=stop)


# fmt: off
INVALID: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("unknown setting", {"axis": {"name": "nope", "min": 0, "max": 1}}, ("axis", "name")),
    (
        "a setting Adam lacks",
        {"optimizer": "Adam", "axis": {"name": "momentum", "min": 0, "max": 0.9}},
        ("axis", "name"),
    ),
    ("n too large", {"axis": {"name": "lr", "min": 0.01, "max": 1, "n": 129}}, ("axis", "n")),
    ("n too small", {"axis": {"name": "lr", "min": 0.01, "max": 1, "n": 1}}, ("axis", "n")),
    ("min above max", {"axis": {"name": "lr", "min": 1, "max": 0.1}}, ("axis", "max")),
    ("below the range", {"axis": {"name": "momentum", "min": -1, "max": 0.5}}, ("axis", "min")),
    (
        "log through 0",
        {"axis": {"name": "momentum", "min": 0, "max": 0.5, "log": True}},
        ("axis", "min"),
    ),
    (
        "start off the domain",
        {"axis": {"name": "start_x", "min": -1e6, "max": 2}},
        ("axis", "min"),
    ),
    ("no batched rule", {"optimizer": "LBFGS"}, ("optimizer",)),
    (
        "no start rule",
        {"optimizer": "LBFGS", "axis": {"name": "start_x", "min": -1, "max": 1}},
        ("optimizer",),
    ),
    ("scheduler", {"scheduler": {"name": "StepLR", "params": {"step_size": 10}}}, ("scheduler",)),
    ("clip", {"clip": {"max_norm": 1.0}}, ("clip",)),
    ("noise", {"noise": {"std": 0.1}}, ("noise",)),
    (
        "mini-batch",
        {"surface": {"model": "linear_regression", "dataset": "noisy_line", "batch_size": 4}},
        ("surface", "batch_size"),
    ),
    (
        "too many frames",
        {"steps": 5000, "axis": {"name": "lr", "min": 0.01, "max": 1, "n": 100}},
        ("steps",),
    ),
    (
        "fixed settings",
        {"hyperparameters": {"lr": -1}, "axis": {"name": "momentum", "min": 0, "max": 0.5}},
        ("hyperparameters", "lr"),
    ),
    (
        "nesterov at 0",
        {"hyperparameters": {"nesterov": True}, "axis": {"name": "momentum", "min": 0, "max": 0.9}},
        ("axis", "min"),
    ),
]
BASE: dict[str, Any] = {
    "surface": "rosenbrock",
    "optimizer": "SGD",
    "hyperparameters": {"lr": 0.001, "momentum": 0.9},
    "start": [-1.5, 2.0],
    "steps": 200,
    "axis": {"name": "lr", "min": 1e-5, "max": 0.01, "n": 33, "log": True},
}


@pytest.mark.parametrize(("case", "change", "loc"), INVALID, ids=[c[0] for c in INVALID])
def test_bad_sweeps_name_their_field(
    client: TestClient, case: str, change: dict[str, Any], loc: tuple[str, ...]
) -> None:
    response = client.post("/api/sweeps", json=BASE | change)
    assert response.status_code == 422, response.text[:300]
    assert tuple(response.json()["detail"][0]["loc"]) == ("body", *loc), response.text


def test_non_finite_bounds_are_refused(client: TestClient) -> None:
    text = json.dumps(BASE).replace('"max": 0.01', '"max": 1e999')
    response = client.post(
        "/api/sweeps", content=text, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "axis", "max"]


def test_a_sweep_too_slow_is_refused_before_it_starts(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(Settings(max_blocking_map_seconds=0.0001))
    response = client.post("/api/sweeps", json=BASE)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "steps"]
    assert client.app.state.jobs.active == 0  # type: ignore[attr-defined]


def test_json_and_llb1_hold_the_same_sweep(client: TestClient) -> None:
    as_json = client.post("/api/sweeps", json=BASE).json()
    blob = client.post("/api/sweeps", json=BASE, headers={"accept": binary.BINARY})
    assert blob.headers["content-type"] == binary.BINARY
    unpacked = binary.unpack(blob.content)
    for key in ("values", "status", "steps_taken", "final_loss", "axis", "dtype"):
        assert unpacked[key] == as_json[key], key
    for name in sweeps.Sweep.PATHS:
        array = unpacked[name]
        assert array.dtype == np.float32 and array.shape == (33, BASE["steps"] + 1)
        for i, row in enumerate(as_json[name]):
            n = as_json["steps_taken"][i] + 1
            assert array[i, :n].tolist() == pytest.approx(row, rel=1e-6), (name, i)
            assert np.isnan(array[i, n:]).all()
    # float32 paths are the run's own values: the same numbers in both encodings
    assert unpacked["x"][0, : len(as_json["x"][0])].tolist() == as_json["x"][0]


def test_a_row_equals_post_api_runs(client: TestClient) -> None:
    sweep = client.post("/api/sweeps", json=BASE).json()
    i = 17
    run_body = {k: v for k, v in BASE.items() if k != "axis"}
    run_body["hyperparameters"] = BASE["hyperparameters"] | {"lr": sweep["values"][i]}
    run = client.post("/api/runs", json=run_body).json()
    assert [f["x"] for f in run["frames"]] == sweep["x"][i]
    assert [f["y"] for f in run["frames"]] == sweep["y"][i]
    assert run["status"] == sweep["status"][i]


def test_a_sweep_is_a_job(make_client: Callable[..., TestClient]) -> None:
    """It takes the client's job slot: a second job from the same client is refused."""
    client = make_client(Settings(max_jobs=2, max_jobs_per_client=1))
    pool = client.app.state.jobs  # type: ignore[attr-defined]
    release = threading.Event()
    holder = threading.Thread(
        target=lambda: client.portal.call(pool.run, lambda job: release.wait(10), "testclient")  # type: ignore[union-attr]
    )
    holder.start()
    try:
        deadline = time.monotonic() + 5
        while pool.active == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        response = client.post("/api/sweeps", json=BASE)
        assert response.status_code == 429
        assert response.json()["limit"] == "max_jobs_per_client"
    finally:
        release.set()
        holder.join()


# The WebSocket

LONG: dict[str, Any] = {"steps": 10_000, "axis": {"name": "lr", "min": 1e-6, "max": 1e-5, "n": 40}}
"""A sweep of some seconds: long enough to be replaced or abandoned while it runs."""


def sweep_message(sweep_id: str, encoding: str = "binary", **change: Any) -> str:
    return json.dumps(
        {"type": "sweep", "sweep_id": sweep_id, "encoding": encoding, **BASE, **change}
    )


def test_ws_sweep_answers_llb1_and_json(client: TestClient) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(sweep_message("a"))
        blob = ws.receive_bytes()
        answer = binary.unpack(blob)
        assert answer["type"] == "sweep" and answer["sweep_id"] == "a"
        assert answer["x"].shape == (33, BASE["steps"] + 1)
        ws.send_text(sweep_message("b", "json"))
        text = json.loads(ws.receive_text())
        assert text["type"] == "sweep" and text["sweep_id"] == "b"
        assert text["values"] == answer["values"]


def test_ws_newer_sweep_replaces_the_older_and_frees_its_slot(
    make_client: Callable[..., TestClient],
) -> None:
    """With one job per client, the newer sweep still runs: the older one's slot is freed first."""
    client = make_client(Settings(max_jobs_per_client=1))
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(sweep_message("old", **LONG))
        time.sleep(0.2)
        ws.send_text(sweep_message("new"))
        first = json.loads(ws.receive_text())
        assert first == {"type": "cancelled", "sweep_id": "old"}
        answer = binary.unpack(ws.receive_bytes())
        assert answer["sweep_id"] == "new"
    assert client.app.state.jobs.active == 0  # type: ignore[attr-defined]


def test_ws_sweep_and_run_share_a_socket(client: TestClient) -> None:
    run = {k: v for k, v in BASE.items() if k != "axis"}
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(json.dumps({"type": "run", "run_id": "r", **run}))
        ws.send_text(sweep_message("s"))
        kinds: set[str] = set()
        while kinds != {"done", "sweep"}:
            message = ws.receive()
            if message.get("bytes"):
                kinds.add(binary.unpack(message["bytes"])["type"])
            else:
                payload = json.loads(message["text"])
                assert payload["type"] in ("frames", "done"), payload
                if payload["type"] == "done":
                    kinds.add("done")


def test_ws_bad_sweep_is_an_error_message(client: TestClient) -> None:
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(sweep_message("x", axis={"name": "nope", "min": 0, "max": 1}))
        error = json.loads(ws.receive_text())
        assert error["type"] == "error" and error["sweep_id"] == "x"
        assert error["detail"][0]["loc"] == ["body", "axis", "name"]
        ws.send_text(sweep_message("y", encoding="xml"))
        error = json.loads(ws.receive_text())
        assert error["detail"][0]["loc"] == ["body", "encoding"]


def test_ws_close_stops_the_sweep(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    pool = client.app.state.jobs  # type: ignore[attr-defined]
    with client.websocket_connect("/ws/runs") as ws:
        ws.send_text(sweep_message("old", **LONG))
        deadline = time.monotonic() + 5
        while pool.active == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.active == 1
    deadline = time.monotonic() + 5
    while pool.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.active == 0


def test_invalid_input_is_an_invalid_input() -> None:
    """The engine-side errors carry their location for the routes to report."""
    make = maker(get_surface("bowl"), "SGD", 10)
    with pytest.raises(InvalidInput) as error:
        sweeps.check(get_optimizer("SGD"), {}, (1.0, 1.0), make, Axis("lr", 1.0, 0.5, 3))
    assert error.value.loc == ("axis", "max")
