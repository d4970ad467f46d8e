"""The lessons' server side: chapters.json checked at load, the pages at /lessons/<n>/<k>,
and GET /api/activations (torch's activations and their autograd derivatives)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from losslab.activations import VANISHING, activation_curves
from losslab.web import lessons


def test_every_chapter_loads_in_both_languages() -> None:
    chapters = lessons.chapters()
    assert [c["id"] for c in chapters] == list(range(1, len(chapters) + 1))
    for lang in lessons.LANGUAGES:
        resolved = json.loads(lessons.chapters_json(lang))
        assert [c["title"] for c in resolved] == [c["title"][lang] for c in chapters]
        for chapter, source in zip(resolved, chapters, strict=True):
            for step, raw in zip(chapter["steps"], source["steps"], strict=True):
                assert step["body"] == raw["body"][lang]
                assert step["state"] == raw["state"]  # states and checks are not texts
                if raw.get("task"):
                    assert step["task"]["check"] == raw["task"]["check"]


def _write(tmp_path: Path, chapters: list[dict[str, Any]]) -> Path:
    path = tmp_path / "chapters.json"
    path.write_text(json.dumps({"chapters": chapters}), encoding="utf-8")
    return path


GOOD_STEP = {
    "id": "one",
    "title": {"en": "One", "zh": "一"},
    "body": {"en": ["Text."], "zh": ["文字。"]},
    "state": "surface=bowl&run=SGD,lr=0.1",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": {"en": "One"}}, "`title` needs en and zh"),
        ({"body": {"en": "Text.", "zh": "文字。"}}, "body.en must be a list"),
        ({"state": "run=SGD"}, "`state` must be a page link query"),
        ({"figure": "nope"}, "unknown figure"),
        ({"task": {"text": {"en": "a", "zh": "b"}, "check": {"evnt": "overshoot"}}}, "task.check"),
        ({"task": {"text": {"en": "a", "zh": "b"}, "check": {}}}, "task.check"),
    ],
)
def test_a_broken_chapter_file_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], message: str
) -> None:
    chapter = {
        "id": 1,
        "title": {"en": "C", "zh": "章"},
        "summary": {"en": "S", "zh": "概"},
        "steps": [{**GOOD_STEP, **change}],
    }
    monkeypatch.setattr(lessons, "CHAPTERS", _write(tmp_path, [chapter]))
    lessons.chapters.cache_clear()
    try:
        with pytest.raises(lessons.LessonError, match=message):
            lessons.chapters()
    finally:
        lessons.chapters.cache_clear()


def test_repeated_step_ids_and_misnumbered_chapters_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chapter = {"id": 1, "title": {"en": "C", "zh": "章"}, "summary": {"en": "S", "zh": "概"}}
    cases = [
        ([{**chapter, "steps": [GOOD_STEP, GOOD_STEP]}], "step ids repeat"),
        ([{**chapter, "id": 2, "steps": [GOOD_STEP]}], "id must be 1"),
    ]
    for chapters, message in cases:
        monkeypatch.setattr(lessons, "CHAPTERS", _write(tmp_path, chapters))
        lessons.chapters.cache_clear()
        try:
            with pytest.raises(lessons.LessonError, match=message):
                lessons.chapters()
        finally:
            lessons.chapters.cache_clear()


def test_every_step_has_its_page_and_others_are_404(client: TestClient) -> None:
    for chapter in lessons.chapters():
        for number in range(1, len(chapter["steps"]) + 1):
            answer = client.get(f"/lessons/{chapter['id']}/{number}")
            assert answer.status_code == 200
            assert 'id="boot-lessons"' in answer.text
        assert client.get(f"/lessons/{chapter['id']}").status_code == 200
    last = len(lessons.chapters())
    for path in (
        f"/lessons/{last + 1}",
        "/lessons/0",
        "/lessons/1/0",
        f"/lessons/1/{len(lessons.chapters()[0]['steps']) + 1}",
        "/lessons/one",
        "/lessons/1/two",
        "/lessons/-1/1",
    ):
        assert client.get(path).status_code == 404, path


def test_the_page_inlines_the_lessons_in_its_language(client: TestClient) -> None:
    zh = client.get("/lessons/1/1?lang=zh").text
    en = client.get("/lessons/1/1?lang=en").text
    first = lessons.chapters()[0]["title"]
    assert json.dumps(first["zh"], ensure_ascii=False)[1:-1] in zh
    assert json.dumps(first["en"])[1:-1] in en
    assert json.dumps(first["zh"], ensure_ascii=False)[1:-1] not in en


def test_activations_are_torch_values_and_autograd_derivatives() -> None:
    curves = activation_curves(-6.0, 6.0, 121)
    xs = curves["x"]
    assert xs[0] == -6.0 and xs[-1] == 6.0 and 0.0 in xs
    sigmoid, tanh, relu = (curves["functions"][n] for n in ("sigmoid", "tanh", "relu"))
    for i, x in enumerate(xs):
        s = 1 / (1 + math.exp(-x))
        assert sigmoid["value"][i] == pytest.approx(s, rel=1e-12)
        assert sigmoid["grad"][i] == pytest.approx(s * (1 - s), rel=1e-9, abs=1e-15)
        assert tanh["grad"][i] == pytest.approx(1 - math.tanh(x) ** 2, rel=1e-9, abs=1e-15)
        # torch's ReLU passes no gradient at 0 (its subgradient choice), 1 above.
        assert relu["grad"][i] == (1.0 if x > 0 else 0.0)
    assert sigmoid["max_grad"] == 0.25
    # sigmoid's derivative falls under VANISHING beyond |x| ≈ 4.6: both tails, not the middle.
    ends = sigmoid["vanishing"]
    assert len(ends) == 2 and ends[0][0] == -6.0 and ends[1][1] == 6.0
    assert all(abs(x) > 4.5 for pair in ends for x in pair)
    assert relu["vanishing"] == [[-6.0, 0.0]]
    assert all(abs(g) < VANISHING for g, x in zip(tanh["grad"], xs, strict=True) if abs(x) > 3.5)


def test_activations_route_checks_its_query(client: TestClient) -> None:
    body = client.get("/api/activations", params={"points": 3, "x_min": -1, "x_max": 1}).json()
    assert body["x"] == [-1.0, 0.0, 1.0]
    assert set(body["functions"]) == {"sigmoid", "tanh", "relu"}
    for params, field in (
        ({"x_min": 2, "x_max": 1}, "x_max"),
        ({"x_min": 1, "x_max": 1}, "x_max"),
        ({"points": 1}, "points"),
        ({"points": 5000}, "points"),
        ({"x_min": -1e6}, "x_min"),
        ({"x_max": "nan"}, "x_max"),
        ({"x_max": "inf"}, "x_max"),
    ):
        answer = client.get("/api/activations", params=params)
        assert answer.status_code == 422, params
        assert answer.json()["detail"][0]["loc"] == ["query", field], params
