"""The gradient arrows keep one scale for the whole run: they shrink as the gradient does."""

from __future__ import annotations

import math

import httpx
from playwright.sync_api import Page, expect

from tests.browser.test_links import assert_clean
from tests.browser.test_page import open_page

ARROW = """(role) => {
  const t = document.querySelector('[data-landscape-top]').data
    .find((d) => d.meta && d.meta.role === role);
  return [t.x[1] - t.x[0], t.y[1] - t.y[0]];
}"""


def length(page: Page, role: str) -> float:
    dx, dy = page.evaluate(ARROW, role)
    return math.hypot(dx, dy)


def test_a_converged_run_shows_almost_no_gradient_arrow(page: Page, live_server: str) -> None:
    # SGD on the bowl from (3, 2): ‖∇f‖ falls from 7.2 to about 1e-4 when it converges.
    open_page(page, f"{live_server}/?surface=bowl&start=3,2&steps=300&run=SGD,lr=0.1")
    bowl = next(s for s in httpx.get(f"{live_server}/api/surfaces").json() if s["name"] == "bowl")
    width = bowl["domain"]["x"][1] - bowl["domain"]["x"][0]
    at_end = length(page, "arrow-grad")
    assert at_end < 0.01 * width, at_end  # was rescaled to 12% of the width (×5200)
    page.locator("[data-testid=scrub]").fill("0")
    page.wait_for_function(
        "(w) => { const t = document.querySelector('[data-landscape-top]').data"
        ".find((d) => d.meta && d.meta.role === 'arrow-grad');"
        " return Math.hypot(t.x[1] - t.x[0], t.y[1] - t.y[0]) > 0.1 * w; }",
        arg=width,
    )
    expect(page.locator(".arrow-note")).to_contain_text("for the whole run")
    assert_clean(page)
