"""Share links written or mangled by hand: an undecodable part is dropped with a visible
notice naming it, and the rest of the link still applies."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.test_page import open_page

STATE = """() => {
  const {state} = window.losslab;
  return {
    surface: state.surface,
    start: state.start,
    runs: state.runs.map(r => ({optimizer: r.optimizer, lr: r.hyperparameters.lr,
                                scheduler: r.scheduler ?? null})),
  };
}"""


def state(page: Page) -> Any:
    return page.evaluate(STATE)


def assert_clean(page: Page) -> None:
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == [], watch.errors
    assert watch.foreign == []


def test_a_malformed_escape_in_a_run_is_dropped_with_a_notice(page: Page, live_server: str) -> None:
    # The link of the bug report: decodeURIComponent("%E0%A4%A") threw "URI malformed".
    open_page(page, f"{live_server}/?surface=bowl&run=SGD,lr=0.1,sched=%E0%A4%A")
    assert state(page) == {
        "surface": "bowl",
        "start": [3, 2],
        "runs": [{"optimizer": "SGD", "lr": 0.1, "scheduler": None}],
    }
    notice = page.get_by_test_id("link-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("sched=%E0%A4%A")
    expect(notice).to_contain_text("The rest of the link applies")
    # The page's own link no longer carries the part it could not read.
    assert "sched=" not in page.url and "run=SGD,lr=0.1" in page.url
    notice.get_by_role("button", name="Dismiss this notice").click()
    expect(notice).to_be_hidden()
    assert_clean(page)


def test_malformed_page_keys_and_runs_are_dropped_the_rest_applies(
    page: Page, live_server: str
) -> None:
    # A bad start, a run whose optimizer name is unreadable and a bad extension key (`net`,
    # read by both state.js and extras.js): each named once; the surface and the Adam run stay.
    url = f"{live_server}/?surface=himmelblau&start=%ZZ&run=Adam,lr=0.05&run=%E0%A4,lr=1&net=%C3"
    open_page(page, url)
    surfaces = httpx.get(f"{live_server}/api/surfaces", timeout=10).json()
    himmelblau = next(s for s in surfaces if s["name"] == "himmelblau")
    assert state(page) == {
        "surface": "himmelblau",
        "start": himmelblau["default_start"],
        "runs": [{"optimizer": "Adam", "lr": 0.05, "scheduler": None}],
    }
    notice = page.get_by_test_id("link-notice")
    expect(notice).to_be_visible()
    text = notice.inner_text()
    assert "3 parts" in text
    for part in ("start=%ZZ", "run=%E0%A4,lr=1", "net=%C3"):
        assert text.count(part) == 1, (part, text)
    expect(page.get_by_test_id("network-plane")).to_be_hidden()
    assert_clean(page)


def test_a_readable_link_shows_no_notice(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&run=SGD,lr=0.1,sched=StepLR")
    assert page.evaluate("() => window.losslab.state.runs[0].scheduler.name") == "StepLR"
    expect(page.get_by_test_id("link-notice")).to_be_hidden()
    assert_clean(page)
