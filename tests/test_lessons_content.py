"""The content of lessons/chapters.json: five chapters that follow tutorials 000 to 004, every
text in English and Simplified Chinese, and every state, solution and check something the
page and the engine can actually run (surfaces, optimizers and their settings, schedulers,
check keys and their values). The file's path, its languages and its figures are the
loader's (losslab/web/lessons.py); the other allowed values are written out here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from fastapi.testclient import TestClient

from losslab.landscapes.surfaces import SURFACES
from losslab.web.lessons import CHAPTERS as CHAPTERS_FILE
from losslab.web.lessons import FIGURES, LANGUAGES

TUTORIALS = ["000", "001", "002", "003", "004"]
EVENTS = {"overshoot", "oscillation", "escape", "saddle_stall", "divergence"}
STATUSES = {"converged", "diverged", "max_steps"}
OUTCOMES = {"minimum", "stationary", "moving", "diverged"}
MINIMUM_KINDS = {"global", "local"}
OPERATORS = {"<", "<=", ">", ">=", "==", "!="}
MODELS = {"linear_regression", "logistic_regression", "mlp_plane"}
MODEL_FIELDS = {
    "batch_size": lambda v: (
        v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)
    ),
    "bias": lambda v: isinstance(v, bool),
    "shuffle": lambda v: isinstance(v, bool),
    "loss": lambda v: v in ("mse", "cross_entropy"),
}
# The page's link keys (static/js/state.js, models.js, formula.js, language.js headers).
STATE_KEYS = {
    "surface", "start", "steps", "dtype", "view", "log", "sel", "preset", "step", "speed", "tab",
    "model", "data", "batch", "mseed", "dirs", "bias", "shuffle", "mloss", "epoch",
    "formula", "domain", "lang", "run",
}  # fmt: skip
# Fields inside a `run=` besides the optimizer's own settings (knobs.js, groups.js, state.js).
RUN_FIELDS = {"sched", "warmup", "clip", "noise", "ens", "pg", "color", "hide"}


def _chapters() -> list[dict[str, Any]]:
    return list(json.loads(CHAPTERS_FILE.read_text(encoding="utf-8"))["chapters"])


CHAPTERS = _chapters()
STEPS = [(chapter, step) for chapter in CHAPTERS for step in chapter["steps"]]
IDS = [f"{chapter['id']}/{step['id']}" for chapter, step in STEPS]


def _links(step: dict[str, Any]) -> Iterator[str]:
    yield step["state"]
    task = step.get("task") or {}
    if "solution" in task:
        yield task["solution"]


def _texts(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every {en, zh} text under `value`, with where it is."""
    if isinstance(value, dict):
        if set(value) & set(LANGUAGES):
            yield where, value
            return
        for key, item in value.items():
            yield from _texts(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{where}[{index}]")


@pytest.fixture(scope="module")
def optimizers(client: TestClient) -> dict[str, dict[str, Any]]:
    return {spec["name"]: spec for spec in client.get("/api/optimizers").json()}


@pytest.fixture(scope="module")
def schedulers(client: TestClient) -> dict[str, dict[str, Any]]:
    return {spec["name"]: spec for spec in client.get("/api/schedulers").json()}


def test_five_chapters_follow_the_five_tutorials_in_order() -> None:
    assert [chapter["id"] for chapter in CHAPTERS] == [1, 2, 3, 4, 5]
    assert [chapter["tutorial"] for chapter in CHAPTERS] == TUTORIALS
    for chapter in CHAPTERS:
        assert 4 <= len(chapter["steps"]) <= 6, chapter["id"]
        ids = [step["id"] for step in chapter["steps"]]
        assert len(set(ids)) == len(ids), f"chapter {chapter['id']}: step ids repeat"
        assert all(
            isinstance(i, str) and i.replace("-", "").isalnum() and i == i.lower() for i in ids
        )


def test_every_text_is_written_in_both_languages() -> None:
    for chapter in CHAPTERS:
        required = [("title", chapter["title"]), ("summary", chapter["summary"])]
        for step in chapter["steps"]:
            required += [("title", step["title"]), ("body", step["body"])]
            if step.get("task"):
                required.append(("task.text", step["task"]["text"]))
        for name, text in required:
            assert set(text) == set(LANGUAGES), f"chapter {chapter['id']}: {name}"
        for where, text in _texts(chapter, f"chapter {chapter['id']}"):
            assert set(text) == set(LANGUAGES), where
            for lang in LANGUAGES:
                value = text[lang]
                paragraphs = value if isinstance(value, list) else [value]
                assert paragraphs and all(isinstance(p, str) and p.strip() for p in paragraphs), (
                    f"{where}.{lang}"
                )
                # Inline markup is `code` and **bold** only, in pairs, and never HTML.
                for paragraph in paragraphs:
                    assert paragraph.count("`") % 2 == 0 and paragraph.count("**") % 2 == 0, where
                    assert not re.search(r"<[a-zA-Z/!]", paragraph), where
            assert isinstance(text["en"], list) == isinstance(text["zh"], list), where


def test_the_chinese_is_chinese_and_the_english_is_not() -> None:
    for where, text in _texts(CHAPTERS, "chapters"):
        zh = "".join(text["zh"]) if isinstance(text["zh"], list) else text["zh"]
        en = "".join(text["en"]) if isinstance(text["en"], list) else text["en"]
        assert any("\u4e00" <= c <= "\u9fff" for c in zh), where
        assert not any("\u4e00" <= c <= "\u9fff" for c in en), where


@pytest.mark.parametrize(("chapter", "step"), STEPS, ids=IDS)
def test_figures_and_checks_use_known_names_and_values(
    chapter: dict[str, Any], step: dict[str, Any]
) -> None:
    if "figure" in step:
        assert step["figure"] in FIGURES
    task = step.get("task")
    if task is None:
        return
    check = task["check"]
    assert check, "an empty check is always met"
    for key, value in check.items():
        match key:
            case "event":
                assert value in EVENTS
            case "status":
                assert value in STATUSES
            case "outcome":
                assert value in OUTCOMES
            case "minimum_kind":
                assert value in MINIMUM_KINDS
                assert check.get("outcome") == "minimum"
            case "optimizer":
                assert isinstance(value, str) and value
            case "hp":
                assert value and all(
                    isinstance(name, str)
                    and isinstance(rule, list)
                    and len(rule) == 2
                    and rule[0] in OPERATORS
                    and isinstance(rule[1], int | float)
                    and not isinstance(rule[1], bool)
                    for name, rule in value.items()
                )
            case "surface":
                assert value in SURFACES or value == "model"
            case "model":
                assert value and all(MODEL_FIELDS[k](v) for k, v in value.items())
            case "max_step" | "runs":
                assert isinstance(value, int) and not isinstance(value, bool) and value >= 1
            case "param_groups" | "clip" | "start_changed":
                assert isinstance(value, bool)
            case "scheduler":
                assert isinstance(value, str) and value
            case _:
                pytest.fail(f"unknown check key {key!r}")


@pytest.mark.parametrize(("chapter", "step"), STEPS, ids=IDS)
def test_states_and_solutions_name_real_surfaces_optimizers_and_settings(
    chapter: dict[str, Any],
    step: dict[str, Any],
    optimizers: dict[str, dict[str, Any]],
    schedulers: dict[str, dict[str, Any]],
) -> None:
    for link in _links(step):
        pairs = parse_qsl(link, keep_blank_values=True, strict_parsing=True)
        keys = [key for key, _ in pairs]
        assert set(keys) <= STATE_KEYS, f"{link}: unknown keys {set(keys) - STATE_KEYS}"
        assert all(keys.count(k) == 1 for k in keys if k != "run"), link
        query = dict(pairs)
        surface = query["surface"]
        assert surface in SURFACES or surface == "model", link
        if surface == "model":
            assert query["model"] in MODELS, link
        start = [float(v) for v in query["start"].split(",")]
        assert len(start) == 2, link
        runs = [value for key, value in pairs if key == "run"]
        assert runs, f"{link}: no run"
        for run in runs:
            name, *fields = run.split(",")
            spec = optimizers.get(name)
            assert spec is not None and spec["excluded"] is None, f"{link}: optimizer {name}"
            own = {hp["name"] for hp in spec["hyperparameters"]}
            scheduler = None
            for field in fields:
                key, _, text = field.partition("=")
                assert text, f"{link}: {field}"
                if key in own or key in RUN_FIELDS:
                    if key == "sched":
                        scheduler = schedulers.get(text)
                        assert scheduler is not None, f"{link}: scheduler {text}"
                    continue
                prefix, _, setting = key.partition(".")
                if prefix == "s":
                    assert scheduler is not None, f"{link}: {key} before sched="
                    assert setting in {hp["name"] for hp in scheduler["hyperparameters"]}, link
                elif prefix in ("px", "py"):
                    assert "pg=1" in fields, f"{link}: {key} without pg=1"
                    assert setting in own, f"{link}: {name} has no setting {setting}"
                else:
                    pytest.fail(f"{link}: {name} has no setting {key!r}")
        task = step.get("task") or {}
        check = task.get("check", {})
        if "optimizer" in check:
            assert check["optimizer"] in optimizers
        for name in check.get("hp", {}):
            wanted = check.get("optimizer") or runs[0].split(",")[0]
            assert name in {hp["name"] for hp in optimizers[wanted]["hyperparameters"]}, name
        if "scheduler" in check:
            assert check["scheduler"] in schedulers


@pytest.mark.parametrize(("chapter", "step"), STEPS, ids=IDS)
def test_a_task_names_its_own_surface_and_offers_a_solution(
    chapter: dict[str, Any], step: dict[str, Any]
) -> None:
    task = step.get("task")
    if task is None:
        return
    assert task.get("solution"), "every task shows one way to do it"
    assert task["solution"] != step["state"], "the solution must change something"
    state_surface = dict(parse_qsl(step["state"]))["surface"]
    if "surface" in task["check"]:
        assert task["check"]["surface"] == state_surface
    if task["check"].get("start_changed"):
        ours = dict(parse_qsl(step["state"]))["start"]
        assert dict(parse_qsl(task["solution"]))["start"] != ours
