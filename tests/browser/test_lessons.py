"""The lessons in Chromium: every chapter walked in both languages, every task neither done
by its own step nor missed by its solution, the tutorials' numbers against the engine's,
progress kept in the browser and a step's address shared."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from losslab.landscapes.surfaces import SURFACES
from losslab.web import lessons

from .test_page import RUNS_DONE, api_run, set_hyperparameter
from .test_phone import PHONE, new_page

CHAPTERS = lessons.chapters()
TASKS = [
    (chapter["id"], number, step)
    for chapter in CHAPTERS
    for number, step in enumerate(chapter["steps"], start=1)
    if step.get("task")
]


def plain(text: str) -> str:
    """A paragraph as the page shows it: without its `code` and **bold** marks."""
    return re.sub(r"\*\*([^*]+)\*\*|`([^`]+)`", lambda m: m.group(1) or m.group(2), text)


def own_surface(state: str) -> bool:
    """Whether a state's surface is fetched while the page boots (a model, a formula): the
    page then opens the step's address rather than changing in place."""
    return parse_qs(state)["surface"][0] not in SURFACES


def settle(page: Page) -> None:
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function(RUNS_DONE)


def go(page: Page, state: str, click: Any) -> None:
    """Click something that shows `state`: in place, or by opening its address."""
    if own_surface(state):
        with page.expect_navigation():
            click()
    else:
        click()
    settle(page)


def task_done(page: Page) -> Any:
    return page.get_by_test_id("lesson-task").get_attribute("data-done")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_walk_every_chapter(page: Page, live_server: str, lang: str) -> None:
    chapters = json.loads(lessons.chapters_json(lang))
    page.goto(f"{live_server}/?lang={lang}")
    settle(page)
    page.get_by_test_id("lessons-open").click()
    cards = page.get_by_test_id("lesson-chapter")
    expect(cards).to_have_count(len(chapters))
    expect(cards.first).to_contain_text(chapters[0]["title"])
    go(page, chapters[0]["steps"][0]["state"], cards.first.click)
    for chapter in chapters:
        for number, step in enumerate(chapter["steps"], start=1):
            where = f"chapter {chapter['id']} step {number} ({lang})"
            expect(page.get_by_test_id("lesson-title"), where).to_have_text(step["title"])
            assert urlsplit(page.url).path == f"/lessons/{chapter['id']}/{number}", where
            body = page.get_by_test_id("lesson-body")
            for paragraph in step["body"]:
                expect(body, where).to_contain_text(plain(paragraph))
            if step.get("figure"):
                figure = page.get_by_test_id("lesson-figure")
                expect(figure, where).to_be_visible()
                # Every figure comes to rest: nothing left waiting once the runs are done.
                expect(figure.locator(".lesson-waiting"), where).to_have_count(0)
                expect(figure, where).not_to_be_empty()
            if step.get("task"):
                expect(page.get_by_test_id("lesson-task"), where).to_have_attribute(
                    "data-done", "false"
                )
            code = page.get_by_test_id("lesson-code")
            code.locator("summary").click()
            expect(code.locator("pre code"), where).to_contain_text("import torch")
            code.locator("summary").click()
            following = _next_state(chapters, chapter["id"], number)
            if following is None:
                break
            go(page, following, page.get_by_test_id("lesson-next").click)
    assert page.watch.errors == []  # type: ignore[attr-defined]
    assert page.watch.foreign == []  # type: ignore[attr-defined]


def _next_state(chapters: list[dict[str, Any]], chapter: int, number: int) -> str | None:
    steps = chapters[chapter - 1]["steps"]
    if number < len(steps):
        return str(steps[number]["state"])
    if chapter < len(chapters):
        return str(chapters[chapter]["steps"][0]["state"])
    return None


def test_every_task_has_a_solution() -> None:
    assert TASKS, "the lessons offer no task"
    assert {chapter for chapter, _, _ in TASKS} == {c["id"] for c in CHAPTERS}
    for chapter, number, step in TASKS:
        assert step["task"].get("solution"), f"chapter {chapter} step {number}"


@pytest.mark.parametrize(
    ("chapter", "number", "step"), TASKS, ids=[f"{c}.{n}" for c, n, _ in TASKS]
)
def test_a_task_is_not_done_by_its_step_and_is_done_by_its_solution(
    page: Page, live_server: str, chapter: int, number: int, step: dict[str, Any]
) -> None:
    page.goto(f"{live_server}/lessons/{chapter}/{number}?lang=en")
    settle(page)
    expect(page.get_by_test_id("lesson-task")).to_have_attribute("data-done", "false")
    # The status says so only once the runs are done: the check has been made.
    expect(page.get_by_test_id("lesson-task")).to_contain_text("Not yet")
    solution = step["task"]["solution"]
    go(page, solution, page.get_by_test_id("lesson-solution").click)
    expect(page.get_by_test_id("lesson-task")).to_have_attribute("data-done", "true")


def _first_task_of_each_chapter() -> list[tuple[int, int, dict[str, Any]]]:
    seen: set[int] = set()
    firsts = []
    for chapter, number, step in TASKS:
        if chapter not in seen:
            seen.add(chapter)
            firsts.append((chapter, number, step))
    return firsts


def _runs_in(query: str) -> list[dict[str, str]]:
    """Each `run=` of a link query as {optimizer, field: text}."""
    runs = []
    for value in parse_qs(query)["run"]:
        name, *fields = value.split(",")
        runs.append({"optimizer": name, **dict(f.split("=", 1) for f in fields if "=" in f)})
    return runs


@pytest.mark.parametrize(
    ("chapter", "number", "step"),
    _first_task_of_each_chapter(),
    ids=[f"chapter {c}" for c, _, _ in _first_task_of_each_chapter()],
)
def test_one_task_per_chapter_done_by_hand(
    page: Page, live_server: str, chapter: int, number: int, step: dict[str, Any]
) -> None:
    """A person's way: where the solution only changes the selected run's settings, type them
    into the form; otherwise take the solution's link, as a shared link would be opened."""
    page.goto(f"{live_server}/lessons/{chapter}/{number}?lang=zh")
    settle(page)
    solution = step["task"]["solution"]
    state, wanted = parse_qs(step["state"]), parse_qs(solution)
    same_rest = {k: v for k, v in state.items() if k != "run"} == {
        k: v for k, v in wanted.items() if k != "run"
    }
    before, after = _runs_in(step["state"]), _runs_in(solution)
    by_hand = (
        same_rest
        and len(before) == len(after) == 1
        and before[0]["optimizer"] == after[0]["optimizer"]
        and all(_is_number(v) for k, v in after[0].items() if k != "optimizer")
    )
    if by_hand:
        for name, text in after[0].items():
            if name != "optimizer" and before[0].get(name) != text:
                set_hyperparameter(page, name, float(text))
        settle(page)
    else:
        page.goto(f"{live_server}/lessons/{chapter}/{number}?{solution}&lang=zh")
        settle(page)
    expect(page.get_by_test_id("lesson-task")).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("lesson-task")).to_contain_text("完成")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _step_with(figure: str) -> tuple[int, int, dict[str, Any]]:
    for chapter in CHAPTERS:
        for number, step in enumerate(chapter["steps"], start=1):
            if step.get("figure") == figure:
                return chapter["id"], number, step
    raise AssertionError(f"no step draws {figure}")


def _request_of(page: Page) -> Any:
    return page.evaluate(
        """() => {
          const {state, runs} = window.losslab;
          return runs[state.selected].config;
        }"""
    )


def test_the_ten_sgd_steps_are_the_tutorials_and_the_engines(page: Page, live_server: str) -> None:
    chapter, number, _ = _step_with("sgd_steps")
    page.goto(f"{live_server}/lessons/{chapter}/{number}")
    settle(page)
    figure = page.get_by_test_id("lesson-figure")
    expect(figure.get_by_test_id("lesson-verdict")).to_have_attribute("data-ok", "true")
    frames = api_run(live_server, _request_of(page))["frames"]
    rows = figure.locator("tbody tr")
    expect(rows).to_have_count(11)
    for k in range(11):
        x, y = rows.nth(k).locator(".lesson-pair > span").all_inner_texts()
        loss = rows.nth(k).locator("td").nth(2).inner_text()
        frame = frames[k]
        assert [float(x), float(y), float(loss)] == [frame["x"], frame["y"], frame["loss"]]
    # The tutorial's own printout, step 10 (tutorial 000), digit for digit.
    last = rows.nth(10)
    assert last.locator(".lesson-pair > span").all_inner_texts() == [
        "0.32212257385253906",
        "0.2147483378648758",
    ]
    assert last.locator("td").nth(2).inner_text() == "0.1498797982931137"


@pytest.mark.parametrize("figure", ["epochs_batch", "epochs_sample"])
def test_y_equals_w_x_epochs_match_the_tutorials_loop(
    page: Page, live_server: str, figure: str
) -> None:
    chapter, number, _ = _step_with(figure)
    page.goto(f"{live_server}/lessons/{chapter}/{number}")
    settle(page)
    host = page.get_by_test_id("lesson-figure")
    expect(host.get_by_test_id("lesson-verdict")).to_have_attribute("data-ok", "true")
    request = _request_of(page)
    assert request["dtype"] == "float64" and request["surface"]["bias"] is False
    frames = api_run(live_server, request)["frames"]
    per_epoch = 1 if figure == "epochs_batch" else 3
    host.locator("details summary").click()
    rows = host.locator("tbody tr")
    count = rows.count()
    assert count == (len(frames) - 1) // per_epoch
    for epoch in (0, count // 2, count - 1):
        cells = rows.nth(epoch).locator("td").all_inner_texts()
        engine_w = frames[(epoch + 1) * per_epoch]["x"]
        assert float(cells[2]) == pytest.approx(engine_w, rel=1e-11)
        # The tutorial's loop, in plain float64 Python, as it is written.
        tutorial_w = _tutorial_loop(figure, request, epoch + 1)
        assert float(cells[1]) == pytest.approx(tutorial_w, rel=1e-11)


def _tutorial_loop(figure: str, request: dict[str, Any], epochs: int) -> float:
    xs, ys = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    w, lr = float(request["start"][0]), float(request["hyperparameters"]["lr"])
    for _ in range(epochs):
        if figure == "epochs_batch":
            grad = sum(2 * x * (x * w - y) for x, y in zip(xs, ys, strict=True)) / len(xs)
            w -= lr * grad
        else:
            for x, y in zip(xs, ys, strict=True):
                w -= lr * (2 * x * (x * w - y))
    return w


def test_progress_stays_and_a_step_address_is_shared(
    page: Page, browser: Browser, live_server: str
) -> None:
    chapter, number, step = TASKS[0]
    page.goto(f"{live_server}/lessons/{chapter}/{number}")
    settle(page)
    go(page, step["task"]["solution"], page.get_by_test_id("lesson-solution").click)
    expect(page.get_by_test_id("lesson-task")).to_have_attribute("data-done", "true")
    shared = page.url
    assert urlsplit(shared).path == f"/lessons/{chapter}/{number}"
    page.reload()
    settle(page)
    expect(page.get_by_test_id("lesson-task")).to_have_attribute("data-done", "true")
    dot = page.get_by_test_id("lesson-dots").locator("button").nth(number - 1)
    expect(dot).to_have_attribute("data-state", "done")
    page.get_by_text(re.compile("^All lessons$")).click()
    tasks = sum(1 for s in CHAPTERS[chapter - 1]["steps"] if s.get("task"))
    expect(page.get_by_test_id("lesson-chapter").nth(chapter - 1)).to_contain_text(
        f"1 of {tasks} tasks done"
    )
    # Someone else opens the shared address: the same step, in the state it was shared in.
    other = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    other.goto(shared)
    settle(other)
    expect(other.get_by_test_id("lesson-title")).to_have_text(step["title"]["en"])
    assert _request_of(other) == _request_of(page) or own_surface(step["task"]["solution"])
    # The shared state is the solved one: the other browser checks it done from its own runs.
    expect(other.get_by_test_id("lesson-task")).to_have_attribute("data-done", "true")
    other.context.close()


def test_a_lesson_on_a_phone(browser: Browser, live_server: str) -> None:
    page = new_page(browser, live_server, PHONE)
    page.goto(f"{live_server}/lessons/1/1?lang=zh")
    settle(page)
    panel = page.get_by_test_id("lesson-panel")
    expect(panel).to_be_visible()
    stage = page.locator("#stage").bounding_box()
    box = panel.bounding_box()
    assert box is not None and stage is not None
    assert box["y"] < stage["y"], "the lesson reads before the landscape"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    for name in ("lesson-next", "lesson-close"):
        target = page.get_by_test_id(name).bounding_box()
        assert target is not None and target["height"] >= 40, name
    assert page.watch.errors == []  # type: ignore[attr-defined]
    page.context.close()
