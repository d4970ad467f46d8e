"""The live page in headless Chromium: what a person sees and does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

RUNS_DONE = """() => {
  const runs = Object.values(window.losslab?.runs ?? {});
  return runs.length > 0 && runs.every(r => r.status && r.status !== 'running');
}"""


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function(RUNS_DONE)


def selected_run(page: Page) -> Any:
    return page.evaluate(
        """() => {
          const {state, runs} = window.losslab;
          const id = state.selected ?? Object.keys(runs)[0];
          const run = runs[id];
          return {id, config: run.config, frames: run.frames, status: run.status};
        }"""
    )


def api_run(live_server: str, config: dict[str, Any]) -> Any:
    response = httpx.post(f"{live_server}/api/runs", json=config, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def choose_optimizer(page: Page, name: str) -> None:
    """Pick the selected run's optimizer as a person does: type its name, press Enter."""
    box = page.get_by_test_id("optimizer-select")
    box.click()
    box.fill(name)
    box.press("Enter")
    page.wait_for_function(
        "(name) => window.losslab.state.selectedRun.optimizer === name", arg=name
    )


def set_hyperparameter(page: Page, name: str, value: float) -> None:
    box = page.locator(f"[data-hparam-value='{name}']").first
    box.fill(str(value))
    box.dispatch_event("change")


def test_page_loads_clean_and_offline(page: Page, live_server: str, artifacts: Path) -> None:
    open_page(page, live_server)
    expect(page.get_by_test_id("landscape")).to_be_visible()
    expect(page.get_by_test_id("loss-chart")).to_be_visible()
    expect(page.get_by_test_id("surface-select")).to_be_visible()
    expect(page.get_by_test_id("optimizer-select")).to_be_visible()
    assert page.locator("[data-hparam='lr']").count() >= 1
    page.screenshot(path=str(artifacts / "page.png"))
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == []
    assert watch.foreign == []


def test_drawn_trajectory_equals_the_api(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    set_hyperparameter(page, "lr", 0.0123)
    page.wait_for_function(
        """() => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected ?? Object.keys(runs)[0]];
          return run.config.hyperparameters.lr === 0.0123 && run.status !== 'running';
        }"""
    )
    run = selected_run(page)
    expected = api_run(live_server, run["config"])
    assert [(f["x"], f["y"]) for f in run["frames"]] == [
        (f["x"], f["y"]) for f in expected["frames"]
    ]
    drawn = page.evaluate(
        """(id) => {
          const div = document.querySelector('[data-testid=landscape]');
          const trace = div.data.find(t => t.meta && t.meta.runId === id);
          return {x: Array.from(trace.x), y: Array.from(trace.y)};
        }""",
        run["id"],
    )
    assert drawn["x"] == [f["x"] for f in expected["frames"]]
    assert drawn["y"] == [f["y"] for f in expected["frames"]]


def test_slider_input_reruns_before_release(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    slider = page.locator("input[type=range][data-hparam='lr']").first
    before = selected_run(page)["config"]["hyperparameters"].get("lr")
    # Move the slider with `input` events only, as a drag does before the mouse is released.
    page.evaluate(
        """(el) => {
          el.value = String(Number(el.min) + (Number(el.max) - Number(el.min)) * 0.3);
          el.dispatchEvent(new Event('input', {bubbles: true}));
        }""",
        slider.element_handle(),
    )
    page.wait_for_function(
        """(before) => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected ?? Object.keys(runs)[0]];
          return run.config.hyperparameters.lr !== before && run.frames.length > 0;
        }""",
        arg=before,
    )


def test_click_on_landscape_moves_the_start(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    old = selected_run(page)["config"]["start"]
    plot = page.locator("[data-testid=landscape] .nsewdrag").first
    box = plot.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7)
    page.wait_for_function(
        """(old) => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected ?? Object.keys(runs)[0]];
          const s = run.config.start;
          return (s[0] !== old[0] || s[1] !== old[1]) && run.status !== 'running'
            && run.frames.length > 0;
        }""",
        arg=old,
    )
    run = selected_run(page)
    new = run["config"]["start"]
    first = run["frames"][0]
    assert abs(first["x"] - new[0]) < 1e-5 and abs(first["y"] - new[1]) < 1e-5
    shown = [float(page.get_by_test_id(f"start-{axis}").input_value()) for axis in "xy"]
    assert abs(shown[0] - new[0]) < 1e-3 and abs(shown[1] - new[1]) < 1e-3
    # Left of centre and below it in data coordinates.
    assert new[0] < old[0] or new[1] < old[1]


def test_playback_buttons(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    scrub = page.get_by_test_id("scrub")
    page.get_by_test_id("step-back").click()
    start_value = int(scrub.input_value())
    page.get_by_test_id("step").click()
    assert int(scrub.input_value()) == start_value + 1
    scrub.fill("0")
    scrub.dispatch_event("input")
    page.get_by_test_id("play").click()
    page.wait_for_function("() => Number(document.querySelector('[data-testid=scrub]').value) > 3")
    page.get_by_test_id("pause").click()
    paused_at = int(scrub.input_value())
    page.wait_for_timeout(400)
    assert int(scrub.input_value()) == paused_at


def test_copied_url_restores_the_same_view(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    page.get_by_test_id("surface-select").select_option("himmelblau")
    page.wait_for_function(RUNS_DONE)
    choose_optimizer(page, "Adam")
    page.wait_for_function(RUNS_DONE)
    set_hyperparameter(page, "lr", 0.05)
    page.wait_for_function(
        """() => Object.values(window.losslab.runs).some(
             r => r.config.hyperparameters.lr === 0.05 && r.status !== 'running')"""
    )
    url = page.url
    state = page.evaluate("() => JSON.parse(JSON.stringify(window.losslab.state))")
    other = page.context.new_page()
    open_page(other, url)
    restored = other.evaluate("() => JSON.parse(JSON.stringify(window.losslab.state))")
    assert restored == state
    assert other.get_by_test_id("surface-select").input_value() == "himmelblau"
    assert other.get_by_test_id("optimizer-select").input_value() == "Adam"
    first = selected_run(other)
    assert first["config"]["hyperparameters"]["lr"] == 0.05


def test_diverging_run_shows_its_status(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    set_hyperparameter(page, "lr", 1e6)
    row = page.locator("[data-testid=run-row][data-status='diverged']")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("run-status")).to_contain_text("diverged")
    expect(page.get_by_test_id("landscape")).to_be_visible()
    assert page.watch.errors == []  # type: ignore[attr-defined]
