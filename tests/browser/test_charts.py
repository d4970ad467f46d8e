"""The step charts tell the truth: a divergence is never cut off, small ranges keep labels."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_links import assert_clean
from tests.browser.test_page import open_page

LAYOUT = """(testid) => {
  const el = document.querySelector(`[data-testid=${testid}]`);
  const axis = el._fullLayout.yaxis;
  const losses = el.data.filter((t) => t.meta && t.meta.runId !== undefined).flatMap((t) => t.y);
  return { type: axis.type, range: axis.range, ticks: (axis._vals || []).length,
           max: Math.max(...losses), min: Math.min(...losses) };
}"""


def axis(page: Page, testid: str) -> Any:
    return page.evaluate(LAYOUT, testid)


def test_a_divergence_puts_the_loss_on_a_log_axis_by_itself(page: Page, live_server: str) -> None:
    # The audit's case: at lr 0.0863 the elliptic loss reaches millions; the axis showed 34-42.
    open_page(page, f"{live_server}/?surface=elliptic&steps=200&run=SGD,lr=0.0863&run=SGD,lr=0.01")
    loss = axis(page, "loss-chart")
    assert loss["type"] == "log"
    assert 10 ** loss["range"][1] >= loss["max"] * 0.99, loss
    cue = page.get_by_test_id("log-cue")
    expect(cue).to_be_visible()
    expect(cue).to_contain_text("decades")
    expect(page.get_by_test_id("log-loss")).not_to_be_checked()
    assert_clean(page)


def test_a_tame_loss_stays_linear_without_a_cue(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=5&start=3,2&run=SGD,lr=0.01")
    assert axis(page, "loss-chart")["type"] == "linear"
    expect(page.get_by_test_id("log-cue")).to_be_hidden()


def test_a_gradient_norm_within_a_decade_keeps_its_labels(page: Page, live_server: str) -> None:
    # 5 small steps on the bowl: the gradient norm changes by a few percent only.
    open_page(page, f"{live_server}/?surface=bowl&steps=5&start=3,2&run=SGD,lr=0.01")
    grad = axis(page, "grad-chart")
    assert grad["type"] == "log"
    assert grad["ticks"] >= 2, grad
    assert_clean(page)
