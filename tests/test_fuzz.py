"""Schemathesis against /openapi.json: whatever a client sends, the server answers no 5xx,
and every answer is one the schema declares (status code, content type, body schema).

`make test` runs a few hundred cases with a fixed seed; `make fuzz` runs many more
(FUZZ_EXAMPLES per operation). Limits are small so that a run costs milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from schemathesis import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from losslab.config import Settings
from losslab.hyperparameters import Hyperparameter
from losslab.landscapes.surfaces import SURFACES
from losslab.optimizers import OPTIMIZERS
from losslab.schedulers import SCHEDULERS
from losslab.web.schemas import (
    MAP_EVENT,
    SSE_EVENT,
    BasinMapRequest,
    EnsembleRequest,
    HyperparameterMapRequest,
    RunRequest,
)
from tests.servers import make_app, serve_in_thread

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
LIMITS = Settings(
    max_steps=60,
    max_grid_resolution=40,
    max_ensemble_steps=600,
    max_map_resolution=12,
    max_map_axis=8,
    max_map_cell_steps=12 * 12 * 60,
    max_benchmark_cell_steps=20_000,
    max_benchmark_fallback_cell_steps=2_000,
    run_seconds=10.0,
    job_seconds=10.0,
    # Room for jobs of streams the fuzzer stopped reading, which end at their next check:
    # 429s belong to tests/test_limits.py.
    max_jobs=16,
)
APP = make_app(LIMITS)
schema = schemathesis.openapi.from_dict(APP.openapi())

BODIES: dict[str, type[BaseModel]] = {
    "/api/runs": RunRequest,
    "/api/runs/stream": RunRequest,
    "/api/runs/script": RunRequest,
    "/api/runs/ensemble": EnsembleRequest,
    "/api/maps/basins": BasinMapRequest,
    "/api/maps/basins/stream": BasinMapRequest,
    "/api/maps/hyperparameters": HyperparameterMapRequest,
    "/api/maps/hyperparameters/stream": HyperparameterMapRequest,
}
NUMBERS = (
    st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, -0.0, 1e-300, 5e-324, 1e300, 2**63, -(2**63) - 1])
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


def _valid(hp: Hyperparameter) -> st.SearchStrategy[Any]:
    low, high = hp.min if hp.min is not None else 0.0, hp.max if hp.max is not None else 1.0
    number: st.SearchStrategy[Any] = (
        st.integers(int(low), int(high)) if hp.type in ("int", "int_list") else st.floats(low, high)
    )
    if hp.type == "bool":
        return st.booleans()
    if hp.type == "choice":
        return st.sampled_from(hp.choices or (None,))
    if hp.type == "pair":
        return st.lists(number, min_size=2, max_size=2)
    if hp.type == "int_list":
        return st.lists(number, min_size=1, max_size=4, unique=True).map(sorted)
    return number


@st.composite
def _arguments(draw: st.DrawFn, hyperparameters: Sequence[Hyperparameter]) -> dict[str, Any]:
    """A few keyword arguments: mostly in range, one in five anything at all."""
    chosen = draw(
        st.lists(st.sampled_from(hyperparameters), max_size=3, unique_by=lambda hp: hp.name)
    )
    junk = st.integers(0, 4).map(lambda n: n == 0)
    return {hp.name: draw(JSON_VALUES if draw(junk) else _valid(hp)) for hp in chosen}


@st.composite
def _realistic_fields(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """Real surface and optimizer names with fuzzed arguments, so cases get past name checks."""
    spec = draw(st.sampled_from(list(OPTIMIZERS.values())))
    fields: dict[str, Any] = {
        "surface": draw(st.sampled_from(sorted(SURFACES))),
        "optimizer": spec.name,
        "hyperparameters": draw(_arguments(spec.hyperparameters)),
        "steps": draw(st.integers(1, LIMITS.max_steps)),
    }
    if BODIES[path] is RunRequest and draw(st.integers(0, 2)) == 0:
        scheduler = draw(st.sampled_from(list(SCHEDULERS.values())))
        params = draw(_arguments(scheduler.hyperparameters))
        fields["scheduler"] = {"name": scheduler.name, "params": params}
    if path == "/api/runs/ensemble":
        fields["noise"] = {"std": draw(st.floats(0, 10)), "seed": draw(st.integers(0, 2**63 - 1))}
        fields["members"] = draw(
            st.integers(2, min(50, LIMITS.max_ensemble_steps // fields["steps"]))
        )
    if path.startswith("/api/maps/basins"):
        fields["resolution"] = draw(st.integers(2, LIMITS.max_map_resolution))
    if path.startswith("/api/maps/hyperparameters"):
        numeric = [hp for hp in spec.hyperparameters if hp.type in ("float", "int")]
        axes = {}
        for axis in ("x", "y"):
            hp = draw(st.sampled_from(numeric))
            low, high = sorted(draw(st.lists(_valid(hp), min_size=2, max_size=2)))
            n = draw(st.integers(2, LIMITS.max_map_axis))
            axes[axis] = {"name": hp.name, "min": low, "max": high, "n": n}
        fields["axes"] = axes
    return fields


def realistic(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Schema-valid run and map bodies get real names and arguments (half the time), those on
    top of their own fields, or stay as generated. Invalid ones stay invalid."""
    operation = context.operation
    model = BODIES.get(operation.path) if operation is not None else None
    if model is None or not isinstance(body, dict):
        return st.just(body)
    try:
        model.model_validate(body)
    except ValidationError:
        return st.just(body)
    assert operation is not None
    fields = _realistic_fields(operation.path)
    return st.one_of(fields, fields, fields.map(body.__or__), st.just(body))


schema.hook("flatmap_body")(realistic)

# Costs that no Settings field bounds yet: a schema-valid value above the cap (or left to its
# default) becomes the cap, so every case stays what it was, valid or not, but cheap.
BODY_CAPS = {"/api/models/mlp/train": {"steps": (5000, 30), "resolution": (200, 12)}}
QUERY_CAPS = {"/api/surfaces/model": {"resolution": (400, 24)}}


def _capped(values: Any, caps: dict[str, tuple[int, int]]) -> Any:
    if not isinstance(values, dict):
        return values
    capped = dict(values)
    for name, (largest, cap) in caps.items():
        value = capped.get(name, largest)
        if type(value) is int and cap < value <= largest:
            capped[name] = cap
    return capped


def cheaper_body(context: schemathesis.HookContext, body: Any) -> Any:
    operation = context.operation
    caps = BODY_CAPS.get(operation.path) if operation is not None else None
    return body if caps is None else _capped(body, caps)


def cheaper_query(context: schemathesis.HookContext, query: Any) -> Any:
    operation = context.operation
    caps = QUERY_CAPS.get(operation.path) if operation is not None else None
    return query if caps is None else _capped(query or {}, caps)


schema.hook("map_body")(cheaper_body)
schema.hook("map_query")(cheaper_query)


# Found by this fuzzer: streams once documented text/event-stream as {"type": "string"}, which
# Open API 3.1 tools read as the schema of each event. They now declare their events.
EVENT_STREAMS = {
    "/api/runs/stream": SSE_EVENT,
    "/api/maps/basins/stream": MAP_EVENT,
    "/api/maps/hyperparameters/stream": MAP_EVENT,
    "/api/benchmarks/stream": MAP_EVENT,
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(APP) as (url, _):
        yield url


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Bodies are large nested objects: generating them is slow, not wrong.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_answer_is_declared(case: schemathesis.Case[Any], base_url: str) -> None:
    # Names (surfaces, optimizers, hyperparameters) are checked against registries at run
    # time, so a schema-valid body may well be refused with a documented 422.
    excluded: list[CheckFunction] = [positive_data_acceptance]
    case.call_and_validate(base_url=base_url, excluded_checks=excluded)


def test_event_streams_declare_their_events() -> None:
    paths = APP.openapi()["paths"]
    for path, event in EVENT_STREAMS.items():
        content = paths[path]["post"]["responses"]["200"]["content"]["text/event-stream"]
        # OpenAPI 3.2's itemSchema: each event, not the stream as a whole
        item = content["itemSchema"]
        assert item["properties"]["event"]["enum"] == event["properties"]["event"]["enum"], path
        assert set(event["required"]) <= set(item["required"]), path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/runs", {"hyperparameters": {"lr": 10**400}}),
        ("/api/runs", {"hyperparameters": {"momentum": -(10**400)}}),
        ("/api/runs", {"scheduler": {"name": "StepLR", "params": {"step_size": 10**400}}}),
    ],
    ids=["lr", "momentum", "scheduler"],
)
def test_huge_integers_are_refused_not_crashed(
    base_url: str, path: str, body: dict[str, Any]
) -> None:
    request = {"surface": "bowl", "optimizer": "SGD", "steps": 5} | body
    response = httpx.post(f"{base_url}{path}", json=request, timeout=30)
    assert response.status_code == 422, response.text
