"""Benchmarks: every cell is its single run; the rules (tuning, interval, sensitivity, rank)
on cases worked out by hand; determinism; limits; the routes and the command line."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from losslab import benchmark, engine
from losslab.benchmark import Entry, LrGrid, LrOutcome, Request
from losslab.cli import main
from losslab.config import Settings
from losslab.optimizers import OPTIMIZERS
from losslab.web.schemas import BenchmarkRequest


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SMALL = Request(
    optimizers=(Entry("SGD"), Entry("Adam")),
    surfaces=("bowl", "rosenbrock"),
    steps=60,
    lr=LrGrid(1e-3, 1.0, 4),
    starts=3,
)


def single_run(
    contender: benchmark.Contender,
    goal: benchmark.Goal,
    lr: float,
    start: tuple[float, float],
    request: Request,
) -> tuple[int | None, float | None]:
    """What the benchmark should say of one cell, from the engine's own single run."""
    config = benchmark.config_for(
        contender.spec, contender.hyperparameters, goal, lr, start, request
    )
    status, frames, _ = engine.run(config)
    hit = next((f["step"] for f in frames if f["loss"] <= goal.target), None)
    return hit, None if status == "diverged" else frames[-1]["loss"]


# One optimizer per path: per-cell rules (SGD with and without momentum, Adam, RMSprop,
# Adagrad), a parameter group per lr over the starts' rows (Lion, AdaBelief, Adan, NAdam),
# a parameter group per cell (Lamb) and the engine's single runs (SAM, LBFGS, Lookahead).
PATH_CASES = [
    (Entry("SGD"), "per_cell"),
    (Entry("SGD", {"momentum": 0.9, "nesterov": True}), "per_cell"),
    (Entry("Adam", {"amsgrad": True}), "per_cell"),
    (Entry("RMSprop", {"momentum": 0.5}), "per_cell"),
    (Entry("Adagrad"), "per_cell"),
    (Entry("Lion"), "rows"),
    (Entry("AdaBelief"), "rows"),
    (Entry("Adan"), "rows"),
    (Entry("NAdam"), "rows"),
    (Entry("Adan", {"max_grad_norm": 1.0}), "single"),
    (Entry("Lamb"), "per_cell"),
    (Entry("SAM"), "single"),
    (Entry("LBFGS", {"max_iter": 3}), "single"),
    (Entry("Lookahead", {"base_optimizer": "Adam"}), "single"),
]


@pytest.mark.parametrize(("entry", "path"), PATH_CASES, ids=lambda c: getattr(c, "name", c))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_cell_is_its_single_run(entry: Entry, path: str, dtype: str) -> None:
    """Steps to target and final loss of every cell (lr × start) equal the engine's single
    run, on a surface with one minimum, a valley that makes some lrs diverge, several
    minima and a saddle."""
    request = Request(
        optimizers=(entry,),
        surfaces=("bowl", "rosenbrock", "four_wells", "saddle"),
        steps=40,
        lr=LrGrid(1e-3, 30.0, 4),
        starts=3,
        dtype=dtype,
    )
    checked = benchmark.plan(request)
    (contender,) = checked.contenders
    assert contender.path == path
    progress = benchmark._Progress(checked.work(), None, None)
    outcomes = set()
    for goal in checked.goals:
        cells = benchmark.run_pair(contender, goal, checked.lrs, request, progress)
        for i, lr in enumerate(checked.lrs):
            for j, start in enumerate(goal.starts):
                expected = single_run(contender, goal, lr, start, request)
                got = (cells.first_hit[i][j], cells.final_loss[i][j])
                assert got == expected, (goal.surface.name, lr, start)
                outcomes.add((expected[0] is None, expected[1] is None))
    # the cases cover success, failure and divergence
    assert {(False, False), (True, False)} <= outcomes
    assert any(diverged for _, diverged in outcomes)


def test_the_starts_are_seeded_the_same_for_every_optimizer_and_inside_the_box() -> None:
    checked = benchmark.plan(SMALL)
    again = benchmark.plan(SMALL)
    assert [g.starts for g in checked.goals] == [g.starts for g in again.goals]
    other = benchmark.plan(Request(**{**SMALL.__dict__, "seed": 1}))
    assert [g.starts for g in checked.goals] != [g.starts for g in other.goals]
    # The documented recipe reproduces them.
    u = torch.rand((3, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rosenbrock = checked.goals[1]
    (xlo, xhi), (ylo, yhi) = (-2.0, 2.0), (-1.0, 3.0)
    assert rosenbrock.starts == [
        (round(xlo + a * (xhi - xlo), 4), round(ylo + b * (yhi - ylo), 4)) for a, b in u.tolist()
    ]


def test_a_saddle_is_escaped_by_falling_below_it_from_starts_near_it() -> None:
    request = Request(optimizers=(Entry("SGD"),), surfaces=("saddle",), escape_margin=0.5)
    (goal,) = benchmark.plan(request).goals
    assert goal.target == -0.5
    assert all(abs(x) <= 0.2 and abs(y) <= 0.2 for x, y in goal.starts)
    assert "saddle" in goal.rule
    bowl = benchmark.plan(Request(optimizers=(Entry("SGD"),), surfaces=("four_wells",)))
    four_wells = bowl.goals[0].surface
    assert bowl.goals[0].target == pytest.approx(four_wells.loss_at(-2.0, 2.0) + 1e-3)


def test_the_wilson_interval_worked_by_hand() -> None:
    # 8 of 10: p = 0.8, z² = 3.8415, denominator 1.38415, centre 0.71674, half 0.22658
    low, high = benchmark.wilson_interval(8, 10)
    assert low == pytest.approx(0.49016, abs=1e-5)
    assert high == pytest.approx(0.94332, abs=1e-5)
    # none and all: exactly 0 and 1 at the open end; 16 runs give 0.194 and 0.806
    assert benchmark.wilson_interval(0, 16)[0] == 0.0
    assert benchmark.wilson_interval(0, 16)[1] == pytest.approx(0.19360, abs=1e-5)
    assert benchmark.wilson_interval(16, 16)[0] == pytest.approx(0.80640, abs=1e-5)
    assert benchmark.wilson_interval(16, 16)[1] == 1.0


def outcome(lr: float, successes: int, steps: float | None, loss: float | None) -> LrOutcome:
    return LrOutcome(lr, successes, 10, steps, loss)


def test_the_tuning_rule_worked_by_hand() -> None:
    grid = [
        outcome(0.001, 2, 80, 0.5),
        outcome(0.01, 9, 40, 0.1),  # ties on success with the next two
        outcome(0.1, 9, 12, 0.3),  # fewer median steps: tuned
        outcome(1.0, 9, 12, 0.3),  # the same, but a higher lr
        outcome(10.0, 0, None, None),
    ]
    assert benchmark.tuned_index(grid) == 2
    # a tie on steps goes to the lower final loss, then to the lower lr
    tie = [outcome(0.1, 5, 10, 0.2), outcome(1.0, 5, 10, 0.1)]
    assert benchmark.tuned_index(tie) == 1
    same = [outcome(0.1, 5, 10, 0.2), outcome(1.0, 5, 10, 0.2)]
    assert benchmark.tuned_index(same) == 0
    # nothing succeeds: the lowest median final loss
    failing = [outcome(0.1, 0, None, 3.0), outcome(1.0, 0, None, 0.5), outcome(10, 0, None, None)]
    assert benchmark.tuned_index(failing) == 1


def test_the_sensitivity_rule_worked_by_hand() -> None:
    lrs = [10.0**k for k in range(-4, 1)]  # one value per decade
    rates = [0, 8, 9, 10, 7]  # 90% of the best (10) is 9: 1e-2 and 1e-1 qualify
    grid = [outcome(lr, k, 5, 0.0) for lr, k in zip(lrs, rates, strict=True)]
    tuned = benchmark.tuned_index(grid)
    assert grid[tuned].lr == 0.1
    assert benchmark.sensitivity_decades(grid, tuned) == pytest.approx(1.0)
    # only the tuned one: 0 decades; no success at all: None
    lonely = [outcome(lr, k, 5, 0.0) for lr, k in zip(lrs, [0, 3, 10, 3, 0], strict=True)]
    assert benchmark.sensitivity_decades(lonely, 2) == 0.0
    none = [outcome(lr, 0, None, 1.0) for lr in lrs]
    assert benchmark.sensitivity_decades(none, 0) is None
    # a run broken by a bad lr stops there, even if the rate recovers beyond it
    broken = [outcome(lr, k, 5, 0.0) for lr, k in zip(lrs, [10, 10, 2, 10, 10], strict=True)]
    assert benchmark.sensitivity_decades(broken, 0) == pytest.approx(1.0)


def test_the_spread_and_the_example_start() -> None:
    assert benchmark.spread([4.0, 1.0, 3.0, 2.0]) == {
        "min": 1.0,
        "q1": 1.75,
        "median": 2.5,
        "q3": 3.25,
        "max": 4.0,
    }
    assert benchmark.spread([]) is None
    assert benchmark._example_start([None, 30, 10, 20, None]) == 3  # the median, 20
    assert benchmark._example_start([None, None]) == 0


def test_the_rank_rule_worked_by_hand() -> None:
    def r(optimizer: str, surface: str, rate: float, steps: float | None, k: int) -> dict[str, Any]:
        return {
            "optimizer": optimizer,
            "surface": surface,
            "success_rate": rate,
            "median_steps": steps,
            "successes": k,
            "runs": 4,
        }

    rows = [
        r("A", "s1", 1.0, 10, 4),
        r("B", "s1", 1.0, 5, 4),  # B first on s1
        r("C", "s1", 0.5, 2, 2),
        r("A", "s2", 0.75, 50, 3),  # A first on s2
        r("B", "s2", 0.5, 10, 2),
        r("C", "s2", 0.5, 10, 2),  # B and C share rank 2
    ]
    ranking = benchmark.rank_rows(rows, ["A", "B", "C"], ["s1", "s2"])
    assert [row["rank"] for row in rows] == [2, 1, 3, 1, 2, 2]
    # A: (2 + 1)/2 = 1.5 with 7 successes; B: (1 + 2)/2 = 1.5 with 6; C: 2.5
    assert [(e["optimizer"], e["mean_rank"], e["rank"]) for e in ranking] == [
        ("A", 1.5, 1),
        ("B", 1.5, 2),
        ("C", 2.5, 3),
    ]


def without_measured_times(answer: dict[str, Any]) -> dict[str, Any]:
    answer = copy.deepcopy(answer)
    answer.pop("seconds")
    answer.pop("exports", None)
    for entry in answer["optimizers"]:
        entry.pop("step_seconds")
    return answer


def test_the_same_request_gives_the_same_answer() -> None:
    first = benchmark.run(benchmark.plan(SMALL))
    second = benchmark.run(benchmark.plan(SMALL))
    assert without_measured_times(first) == without_measured_times(second)
    assert first["protocol"]["versions"]["torch"] == torch.__version__
    assert first["protocol"]["lr"]["values"] == pytest.approx([1e-3, 1e-2, 1e-1, 1.0])
    rows = first["rows"]
    assert [(r["optimizer"], r["surface"]) for r in rows] == [
        ("SGD", "bowl"),
        ("SGD", "rosenbrock"),
        ("Adam", "bowl"),
        ("Adam", "rosenbrock"),
    ]
    for r in rows:
        curve = {c["lr"]: c["success_rate"] for c in r["curve"]}
        assert curve[r["tuned_lr"]] == r["success_rate"] == max(curve.values())
        reached = [h for h in r["steps_to_target"] if h is not None]
        assert len(reached) == r["successes"]
        assert r["interval"][0] <= r["success_rate"] <= r["interval"][1]


def test_state_memory_and_step_cost_are_read_from_real_optimizers() -> None:
    request = Request(
        optimizers=(
            Entry("SGD"),
            Entry("SGD", {"momentum": 0.9}, "momentum"),
            Entry("Adam"),
            Entry("Adan"),
            Entry("Adafactor"),
        ),
        surfaces=("bowl",),
        steps=5,
        lr=LrGrid(0.01, 0.1, 2),
        starts=1,
    )
    answer = benchmark.run(benchmark.plan(request))
    memory = {o["label"]: o["state_bytes_per_parameter"] for o in answer["optimizers"]}
    assert memory["SGD"] == 0
    assert memory["momentum"] == 4  # one float32 buffer
    assert memory["Adam"] == pytest.approx(8, abs=0.01)  # two buffers and a step count
    assert memory["Adan"] == pytest.approx(16, abs=0.01)  # four
    assert memory["Adafactor"] < 1  # factored: a row and a column of the 64×64 matrix
    assert all(o["step_seconds"] > 0 for o in answer["optimizers"])
    in_double = benchmark.measure(OPTIMIZERS["Adam"], {}, torch.float64)
    assert in_double["state_bytes_per_parameter"] == pytest.approx(16, abs=0.01)


def test_progress_rises_to_one_and_a_stop_request_ends_the_run() -> None:
    seen: list[float] = []
    benchmark.run(benchmark.plan(SMALL), seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 4

    for request in (SMALL, Request(optimizers=(Entry("SAM"),), surfaces=("bowl",), steps=50)):
        calls = 0

        def stop_soon() -> bool:
            nonlocal calls
            calls += 1
            return calls > 3

        with pytest.raises(benchmark.BenchmarkCancelled):
            benchmark.run(benchmark.plan(request), should_stop=stop_soon)


def test_the_exports_are_the_table() -> None:
    answer = benchmark.with_exports(benchmark.run(benchmark.plan(SMALL)))
    lines = list(csv.DictReader(io.StringIO(answer["exports"]["csv"])))
    assert len(lines) == 4
    by_key = {(line["optimizer"], line["surface"]): line for line in lines}
    for r in answer["rows"]:
        line = by_key[r["optimizer"], r["surface"]]
        assert float(line["tuned_lr"]) == r["tuned_lr"]
        assert line["success"] == f"{r['successes']}/{r['runs']}"
        assert float(line["interval_low"]) == r["interval"][0]
    markdown = answer["exports"]["markdown"]
    assert markdown.count("\n| ") == 5  # the header and four rows
    assert "lr grid: 4 values from 0.001 to 1 (log)" in markdown


BAD = [
    ({"optimizers": ()}, ("optimizers",)),
    ({"optimizers": (Entry("Nope"),)}, ("optimizers", 0, "name")),
    ({"optimizers": (Entry("SparseAdam"),)}, ("optimizers", 0, "name")),
    ({"optimizers": (Entry("AliG"),)}, ("optimizers", 0, "name")),
    ({"optimizers": (Entry("SGD", {"lr": 0.1}),)}, ("optimizers", 0, "hyperparameters", "lr")),
    ({"optimizers": (Entry("SGD", {"momentum": 2}),)}, ("optimizers", 0, "hyperparameters")),
    ({"optimizers": (Entry("SGD", {"nesterov": True}),)}, ("optimizers", 0, "hyperparameters")),
    ({"optimizers": (Entry("SGD"), Entry("SGD"))}, ("optimizers", 1, "label")),
    ({"surfaces": ("bowl", "bowl")}, ("surfaces", 1)),
    ({"surfaces": ("x^2",)}, ("surfaces", 0)),
    ({"surfaces": ()}, ("surfaces",)),
    ({"steps": 0}, ("steps",)),
    ({"steps": True}, ("steps",)),
    ({"starts": 1000}, ("starts",)),
    ({"seed": -1}, ("seed",)),
    ({"tolerance": math.nan}, ("tolerance",)),
    ({"escape_margin": -1.0}, ("escape_margin",)),
    ({"dtype": "float16"}, ("dtype",)),
    ({"lr": LrGrid(0.0, 1.0, 4)}, ("lr", "min")),
    ({"lr": LrGrid(1.0, 0.1, 4)}, ("lr", "max")),
    ({"lr": LrGrid(1e-3, math.inf, 4)}, ("lr", "max")),
    ({"lr": LrGrid(1e-3, 1.0, 1)}, ("lr", "n")),
    ({"lr": LrGrid(1e-3, 1.0, 1000)}, ("lr", "n")),
]


@pytest.mark.parametrize(("change", "loc"), BAD, ids=[str(loc) for _, loc in BAD])
def test_a_bad_request_is_refused_naming_the_field(
    change: dict[str, Any], loc: tuple[Any, ...]
) -> None:
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(Request(**{**SMALL.__dict__, **change}))
    assert refused.value.loc[: len(loc)] == loc


def test_an_lr_an_optimizer_refuses_names_that_end_of_the_grid() -> None:
    """The single run at the grid's top refuses the lr (above the range every optimizer's lr
    takes), the one at its bottom does not: the grid's max is to blame, not the optimizer."""
    ceiling = OPTIMIZERS["Adam"].hyperparameter("lr").max
    assert ceiling is not None
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(Request(optimizers=(Entry("Adam"),), lr=LrGrid(1e-3, 10 * ceiling, 4)))
    assert refused.value.loc == ("lr", "max")
    assert refused.value.message.startswith("Adam at lr 1e+07 on bowl:")


def test_the_limits_live_in_settings() -> None:
    tight = Settings(max_benchmark_cell_steps=1000)
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(SMALL, limits=tight)
    assert refused.value.loc == ("steps",)
    fallback = Settings(max_benchmark_fallback_cell_steps=500)
    sam = Request(**{**SMALL.__dict__, "optimizers": (Entry("SGD"), Entry("SAM"))})
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(sam, limits=fallback)
    assert refused.value.loc == ("optimizers", 1, "name")
    assert "no batched rule" in refused.value.message
    quick = Settings(job_seconds=0.001)
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(SMALL, limits=quick)
    assert "job limit" in refused.value.message
    counts = Settings(max_benchmark_optimizers=1, max_benchmark_surfaces=1)
    with pytest.raises(benchmark.InvalidBenchmark) as refused:
        benchmark.plan(SMALL, limits=counts)
    assert refused.value.loc == ("optimizers",)


def test_the_default_benchmark_is_the_tutorial_table_on_five_surfaces() -> None:
    checked = benchmark.plan(Request())
    names = [(c.spec.name, dict(c.hyperparameters)) for c in checked.contenders]
    for expected in (
        ("SGD", {}),
        ("SGD", {"momentum": 0.9}),
        ("Adagrad", {}),
        ("RMSprop", {}),
        ("Adam", {}),
        ("AdamW", {}),
    ):
        assert expected in names
    assert len(names) > 6  # and some of the zoo
    assert [g.surface.name for g in checked.goals] == [
        "bowl",
        "elliptic",
        "four_wells",
        "rosenbrock",
        "saddle",
    ]
    # every default optimizer has a batched path; it fits the job limit with room to spare
    assert all(c.path != "single" for c in checked.contenders)
    assert checked.estimated_seconds() < Settings().job_seconds / 2


# ----- the routes -----


def body(**change: Any) -> dict[str, Any]:
    return {
        "optimizers": [{"name": "SGD"}, {"name": "SGD", "hyperparameters": {"momentum": 0.9}}],
        "surfaces": ["bowl", "rosenbrock"],
        "steps": 60,
        "starts": 3,
        "lr": {"min": 1e-3, "max": 1.0, "n": 4},
        **change,
    }


def test_the_route_answers_the_engine_answer(client: TestClient) -> None:
    response = client.post("/api/benchmarks", json=body())
    assert response.status_code == 200
    answer = response.json()
    request = Request(
        optimizers=(Entry("SGD"), Entry("SGD", {"momentum": 0.9})),
        surfaces=("bowl", "rosenbrock"),
        steps=60,
        starts=3,
        lr=LrGrid(1e-3, 1.0, 4),
    )
    direct = json.loads(json.dumps(benchmark.run(benchmark.plan(request))))
    assert without_measured_times(answer) == without_measured_times(direct)
    assert answer["optimizers"][1]["label"] == "SGD momentum=0.9"
    assert set(answer["exports"]) == {"markdown", "csv"}


def test_the_stream_reports_progress_then_the_answer(client: TestClient) -> None:
    events: list[tuple[str, Any]] = []
    with client.stream("POST", "/api/benchmarks/stream", json=body(steps=300)) as response:
        assert response.status_code == 200
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    assert len(events[-1][1]["rows"]) == 4


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"optimizers": [{"name": "Nope"}]}, ["body", "optimizers", 0, "name"]),
        ({"optimizers": [{"name": "SGD", "extra": 1}]}, ["body", "optimizers", 0, "extra"]),
        ({"surfaces": ["bowl", 3]}, ["body", "surfaces", 1]),
        ({"lr": {"min": 1, "max": 0.1, "n": 4}}, ["body", "lr", "max"]),
        ({"steps": "many"}, ["body", "steps"]),
        ({"optimizers": [{"name": "SGD", "label": ""}]}, ["body", "optimizers", 0, "label"]),
        ({"starts": 10**6}, ["body", "starts"]),
    ],
)
def test_the_routes_refuse_bad_fields_with_422(
    client: TestClient, change: dict[str, Any], loc: list[Any]
) -> None:
    for path in ("/api/benchmarks", "/api/benchmarks/stream"):
        response = client.post(path, json=body(**change))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][: len(loc)] == loc


def test_a_full_pool_answers_429_and_a_client_that_leaves_frees_its_slot(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(Settings(max_jobs=1, max_jobs_per_client=1))
    slow = body(optimizers=[{"name": "SAM"}], surfaces=["rosenbrock"], steps=2000)
    with client.stream("POST", "/api/benchmarks/stream", json=slow) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "event: progress"
        busy = client.post("/api/benchmarks", json=body())
        assert busy.status_code == 429
        assert busy.json()["limit"] in ("max_jobs", "max_jobs_per_client")
        assert client.post("/api/benchmarks/stream", json=body()).status_code == 429
    # The stream closed: the job stops at its next check and the slot is free again.
    deadline = time.monotonic() + 10
    while client.get("/readyz").json()["jobs"]["active"]:
        assert time.monotonic() < deadline, "the benchmark went on after its client left"
        time.sleep(0.02)
    assert client.post("/api/benchmarks", json=body()).status_code == 200


# ----- the command line -----


def test_the_command_prints_the_table_with_a_progress_bar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["benchmark", "--optimizer", "SGD", "--optimizer", 'SGD {"momentum": 0.9}']
    argv += ["--surface", "bowl", "--steps", "60", "--starts", "3", "--lr-min", "0.001"]
    argv += ["--lr-max", "1", "--lr-n", "4"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "| SGD momentum=0.9 | bowl |" in out
    assert "100%" in err and "█" in err
    assert main([*argv, "--format", "csv", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("rank,optimizer,surface,") and len(out.splitlines()) == 3
    assert err == ""
    assert main(["benchmark", "--optimizer", "SGD {momentum}", "--quiet"]) == 2
    assert "--optimizer takes a name" in capsys.readouterr().err


def test_the_defaults_route_spells_out_what_an_empty_body_asks_for(client: TestClient) -> None:
    defaults = client.get("/api/benchmarks/defaults").json()
    spelled = BenchmarkRequest.model_validate(defaults).to_request()
    empty = BenchmarkRequest.model_validate({}).to_request()
    assert [e.title() for e in spelled.optimizers] == [e.title() for e in empty.optimizers]
    assert [dict(e.hyperparameters) for e in spelled.optimizers] == [
        dict(e.hyperparameters) for e in empty.optimizers
    ]
    assert dataclasses.replace(spelled, optimizers=()) == dataclasses.replace(empty, optimizers=())
    assert empty == Request()


def test_the_stream_answers_events_even_to_a_binary_accept(client: TestClient) -> None:
    headers = {"accept": "application/x-losslab-stream, text/event-stream;q=0.9"}
    with client.stream("POST", "/api/benchmarks/stream", json=body(), headers=headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert any(line == "event: done" for line in r.iter_lines())


def test_a_library_that_raises_in_a_batched_step_is_run_cell_by_cell() -> None:
    """SWATS raises KeyError inside step() at a huge lr; its single run ends diverged there,
    and so does its cell (the pair is rerun one cell at a time)."""
    request = Request(
        optimizers=(Entry("SWATS"),),
        surfaces=("rosenbrock",),
        steps=15,
        starts=2,
        lr=LrGrid(1e-4, 1e5, 4),
    )
    checked = benchmark.plan(request)
    (contender,) = checked.contenders
    (goal,) = checked.goals
    assert contender.path == "per_cell"
    with pytest.raises(KeyError):
        benchmark._batched_cells(contender, goal, checked.lrs, request, _progress(checked))
    cells = benchmark.run_pair(contender, goal, checked.lrs, request, _progress(checked))
    for i, lr in enumerate(checked.lrs):
        for j, start in enumerate(goal.starts):
            expected = single_run(contender, goal, lr, start, request)
            assert (cells.first_hit[i][j], cells.final_loss[i][j]) == expected


def _progress(checked: benchmark.Plan) -> benchmark._Progress:
    return benchmark._Progress(checked.work(), None, None)
