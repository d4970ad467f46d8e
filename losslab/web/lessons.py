"""The lessons: five chapters that follow the PyTorch tutorials losslab's users learn from,
stored in lessons/chapters.json with every text in English and Simplified Chinese.

A step's `state` is the page's own link query (static/js/state.js), so a lesson shows what
any shared link would. Its `task.check` says which finished run completes it (lessons.js
reads it); `task.solution`, a link query too, is one way to do it ("Show me"). The page
gets the chapters in its own language only (`chapters_json`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "lessons" / "chapters.json"
LANGUAGES = ("en", "zh")
FIGURES = frozenset(
    {
        "autograd",
        "sgd_steps",
        "epochs_batch",
        "epochs_sample",
        "activations",
        "loss_compare",
        "optimizer_table",
    }
)
CHECK_KEYS = frozenset(
    {
        "event",
        "status",
        "outcome",
        "minimum_kind",
        "optimizer",
        "hp",
        "surface",
        "model",
        "max_step",
        "param_groups",
        "clip",
        "scheduler",
        "start_changed",
        "runs",
    }
)


class LessonError(ValueError):
    """lessons/chapters.json breaks its format: a bug of the project, found at load."""


@lru_cache(maxsize=1)
def chapters() -> list[dict[str, Any]]:
    """Every chapter, checked: both languages everywhere, known figures and checks."""
    data = json.loads(CHAPTERS.read_text(encoding="utf-8"))
    found = data.get("chapters")
    if not isinstance(found, list) or not found:
        raise LessonError("lessons/chapters.json needs a non-empty `chapters` list")
    for number, chapter in enumerate(found, start=1):
        where = f"chapter {number}"
        if chapter.get("id") != number:
            raise LessonError(f"{where}: id must be {number}")
        _texts(chapter, ("title", "summary"), where)
        steps = chapter.get("steps")
        if not isinstance(steps, list) or not steps:
            raise LessonError(f"{where}: needs steps")
        ids = [step.get("id") for step in steps]
        if len(set(ids)) != len(ids):
            raise LessonError(f"{where}: step ids repeat")
        for index, step in enumerate(steps, start=1):
            _check_step(step, f"{where}, step {index}")
    return found


def _texts(item: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        text = item.get(key)
        if not isinstance(text, dict) or any(not text.get(lang) for lang in LANGUAGES):
            raise LessonError(f"{where}: `{key}` needs en and zh")


def _check_step(step: dict[str, Any], where: str) -> None:
    _texts(step, ("title", "body"), where)
    for lang in LANGUAGES:
        body = step["body"][lang]
        if not isinstance(body, list) or not all(isinstance(p, str) and p for p in body):
            raise LessonError(f"{where}: body.{lang} must be a list of paragraphs")
    if not isinstance(step.get("state"), str) or "surface=" not in step["state"]:
        raise LessonError(f"{where}: `state` must be a page link query naming a surface")
    if step.get("figure") is not None and step["figure"] not in FIGURES:
        raise LessonError(f"{where}: unknown figure {step['figure']!r}")
    task = step.get("task")
    if task is not None:
        _texts(task, ("text",), where)
        solution = task.get("solution")
        if solution is not None and (not isinstance(solution, str) or "surface=" not in solution):
            raise LessonError(f"{where}: task.solution must be a page link query")
        check = task.get("check")
        if not isinstance(check, dict) or not check or not set(check) <= CHECK_KEYS:
            raise LessonError(f"{where}: task.check must use only {sorted(CHECK_KEYS)}")


def _in(value: Any, lang: str) -> Any:
    """`value` with every {en, zh} text replaced by its `lang` side."""
    if isinstance(value, dict):
        if set(value) == set(LANGUAGES):
            return value[lang]
        return {key: _in(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [_in(item, lang) for item in value]
    return value


@lru_cache(maxsize=len(LANGUAGES))
def chapters_json(lang: str) -> str:
    """The chapters in `lang`, as the JSON the page inlines."""
    return json.dumps(_in(chapters(), lang), ensure_ascii=False, separators=(",", ":"))


def step_count(chapter: int) -> int:
    """How many steps chapter `chapter` has (0: no such chapter)."""
    found = chapters()
    return len(found[chapter - 1]["steps"]) if 1 <= chapter <= len(found) else 0
