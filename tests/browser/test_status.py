"""The status line speaks of the selected run as it is now, never of an older state."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.test_links import assert_clean
from tests.browser.test_page import open_page


def test_a_shared_view_reports_the_selected_run(page: Page, live_server: str) -> None:
    runs = "run=SGD,lr=0.01&run=Adam,lr=0.05&run=RMSprop,lr=0.01"
    open_page(page, f"{live_server}/?surface=himmelblau&steps=100&{runs}&sel=2")
    line = page.locator("[data-status-line]")
    expect(line).to_contain_text("Run 3 (RMSprop)")
    page.locator("[data-select-run]").first.click()
    expect(line).to_contain_text("Run 1 (SGD)")
    assert_clean(page)


def test_a_new_surface_replaces_the_old_sentence(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=50&run=SGD,lr=0.5")
    line = page.locator("[data-status-line]")
    expect(line).to_contain_text("Run 1 (SGD)")
    before = line.text_content()
    # A far longer run on another surface: the old ending must not stay on screen meanwhile.
    page.evaluate("() => window.losslab.state.set({surface: 'rosenbrock', steps: 3000})")
    page.wait_for_function(
        "(old) => document.querySelector('[data-status-line]').textContent !== old", arg=before
    )
    page.wait_for_function(
        "() => Object.values(window.losslab.runs).every((r) => r.status !== 'running')"
    )
    taken = page.evaluate("() => Object.values(window.losslab.runs)[0].summary.steps_taken")
    expect(line).to_contain_text(f"Run 1 (SGD) diverged at step {taken}")
    assert line.text_content() != before
    assert_clean(page)
