"""Sliders and number boxes step by amounts that suit their scale, and their ends are exact."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_links import assert_clean
from tests.browser.test_page import open_page

LR_SLIDER = "input[type=range][data-hparam=lr]"
LR_BOX = "input[data-hparam-value=lr]"
MOMENTUM_SLIDER = "input[type=range][data-hparam=momentum]"
MOMENTUM_BOX = "input[data-hparam-value=momentum]"


def test_keys_step_lr_through_round_values(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SGD,lr=0.001")
    slider = page.locator(LR_SLIDER).first
    box = page.locator(LR_BOX).first
    slider.focus()
    slider.press("ArrowUp")
    expect(box).to_have_value("0.0012")
    slider.press("ArrowUp")
    expect(box).to_have_value("0.0015")
    slider.press("PageUp")
    expect(box).to_have_value("0.015")
    slider.press("ArrowDown")
    expect(box).to_have_value("0.012")
    # From 0.001 to 0.1 is two Page presses or twenty arrows, not hundreds.
    box.fill("0.00425")
    box.press("Enter")
    box.press("ArrowUp")
    expect(box).to_have_value("0.005")  # not 1.00425: the box steps on the lr's own scale
    box.press("ArrowDown")
    expect(box).to_have_value("0.004")
    page.wait_for_function(
        "() => window.losslab.state.runs.some((r) => r.hyperparameters.lr === 0.004)"
    )
    assert_clean(page)


def test_linear_settings_step_by_a_hundredth_and_snap_to_their_ends(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SGD,lr=0.01,momentum=0.5")
    slider = page.locator(MOMENTUM_SLIDER).first
    box = page.locator(MOMENTUM_BOX).first
    slider.focus()
    slider.press("ArrowUp")
    expect(box).to_have_value("0.51")
    slider.press("Home")
    expect(box).to_have_value("0")
    # A drag that stops a hair from the end (the audit saw 0.004) lands on the end.
    slider.evaluate(
        "(s) => { s.value = '0.004'; s.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    expect(box).to_have_value("0")
    assert_clean(page)


def test_play_resumes_from_the_playhead_as_its_label_says(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=400&run=Adam,lr=0.05")
    play = page.get_by_test_id("play")
    assert "resume" in (play.get_attribute("aria-label") or "")
    page.locator("[data-testid=scrub]").fill("200")
    page.wait_for_function("() => window.losslab.state.playhead === 200")
    play.click()
    page.wait_for_function("() => window.losslab.state.playing")
    assert page.evaluate("() => window.losslab.state.playhead") >= 200  # resumed, not restarted
    assert_clean(page)


def test_add_run_appends_and_keeps_the_others_numbers(page: Page, live_server: str) -> None:
    runs = "run=SGD,lr=0.01&run=Adam,lr=0.05&run=RMSprop,lr=0.01"
    open_page(page, f"{live_server}/?surface=himmelblau&steps=50&{runs}&sel=0")
    before = page.evaluate("() => window.losslab.state.runs.map((r) => r.id)")
    colors = page.evaluate(
        "() => Object.fromEntries(window.losslab.state.runs.map((r) => [r.id,"
        " document.querySelector('[data-testid=landscape]').data"
        ".find((t) => t.meta && t.meta.runId === r.id).line.color]))"
    )
    page.get_by_test_id("add-run").click()
    page.wait_for_function("() => window.losslab.state.runs.length === 4")
    after = page.evaluate("() => window.losslab.state.runs.map((r) => r.id)")
    assert after[:3] == before  # the copy of run 1 is run 4, not a new run 2
    assert page.evaluate("() => window.losslab.state.runs[3].optimizer") == "SGD"
    page.wait_for_function(
        """(colors) => Object.entries(colors).every(([id, color]) =>
             document.querySelector('[data-testid=landscape]').data
               .some((t) => t.meta && t.meta.runId === id && t.line.color === color))""",
        arg=colors,
    )
    assert_clean(page)
