"""The page on a phone (390x844, touch): the landscape at the card's width with its legend and
a flat colour bar under it, then the playback with a full-width scrubber, then the controls;
44 px tap targets, labelled header buttons, a status line that wraps, and a finger that drags
the start over the plot while the page scrolls anywhere else. Wide screens are unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_links import assert_clean
from tests.browser.test_page import RUNS_DONE, open_page

PHONE: ViewportSize = {"width": 390, "height": 844}
URL = "/?surface=rosenbrock&steps=500&run=SGD,lr=0.001,momentum=0.9"


def new_page(browser: Browser, live_server: str, viewport: ViewportSize, **options: Any) -> Page:
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.watch = PageWatch(page, live_server)  # type: ignore[attr-defined]
    return page


# The plot area and the card as they are; true once they stayed so for a few frames (the card
# takes the height the contour asks for, landscape.js fitHeight, and the plot redraws).
SETTLED = """() => {
  const drag = document.querySelector('[data-testid=landscape] .nsewdrag');
  if (!drag) return false;
  const r = drag.getBoundingClientRect();
  const card = document.querySelector('.landscape-card').getBoundingClientRect();
  const now = [r.left, r.top, r.width, r.height, card.height].map(Math.round).join();
  const same = window.__phoneLayout && window.__phoneLayout.key === now;
  if (!same) window.__phoneLayout = {key: now, since: performance.now()};
  return performance.now() - window.__phoneLayout.since > 400;
}"""


def settle(page: Page) -> None:
    page.wait_for_function(SETTLED, polling=50)


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    open_page(page, live_server + URL)
    settle(page)
    yield page
    page.context.close()


# The vertical extent of what the landscape card shows, and the widest band with nothing in it.
CARD = """() => {
  const card = document.querySelector('.landscape-card').getBoundingClientRect();
  const plot = document.querySelector('[data-testid=landscape]');
  const drag = plot.querySelector('.nsewdrag').getBoundingClientRect();
  const legend = plot.querySelector('.legend').getBoundingClientRect();
  const colorbar = plot.querySelector('.colorbar').getBoundingClientRect();
  const parts = [
    ...plot.querySelectorAll('.nsewdrag, .xtick, .ytick, .colorbar, .legend'),
    ...document.querySelectorAll(
      '.landscape-card .segmented, .landscape-card .map-tools, .landscape-card .modebar,'
      + ' .landscape-card .arrow-legend:not([hidden])'),
  ];
  const spans = parts.map((e) => e.getBoundingClientRect()).filter((r) => r.height > 0)
    .map((r) => [r.top, r.bottom]).sort((a, b) => a[0] - b[0]);
  let at = card.top;
  let gap = 0;
  for (const [top, bottom] of spans) {
    gap = Math.max(gap, top - at);
    at = Math.max(at, bottom);
  }
  gap = Math.max(gap, card.bottom - at);
  const box = (r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom,
    width: r.width, height: r.height});
  return {card: box(card), drag: box(drag), legend: box(legend), colorbar: box(colorbar), gap};
}"""


def test_the_landscape_fills_the_card(phone: Page, artifacts: Path) -> None:
    card = phone.evaluate(CARD)
    drag = card["drag"]
    assert drag["width"] >= 300, card
    # Rosenbrock's domain is square: so is its plot.
    assert abs(drag["height"] - drag["width"]) < 4, card
    assert card["gap"] <= 60, card
    # The legend and the colour bar lie under the plot, not beside it.
    assert card["legend"]["top"] >= drag["bottom"], card
    assert card["colorbar"]["top"] >= drag["bottom"], card
    assert card["colorbar"]["height"] < 40, card
    assert card["legend"]["bottom"] <= card["card"]["bottom"], card
    phone.screenshot(path=str(artifacts / "phone.png"), full_page=True)
    assert_clean(phone)


def test_the_scrubber_has_a_row_of_its_own(phone: Page) -> None:
    scrub = phone.get_by_test_id("scrub").bounding_box()
    bar = phone.locator(".playbar").bounding_box()
    assert scrub is not None and bar is not None
    assert scrub["width"] >= 250
    assert scrub["width"] >= bar["width"] - 40


# Every visible tap target of the header, the playback and the sidebar: [kind, name, w, h].
TARGETS = """() => {
  const out = [];
  const name = (e) => e.dataset.testid || e.id || e.getAttribute('aria-label')
    || e.textContent.trim().slice(0, 24);
  const add = (kind, e) => {
    const r = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') return;
    out.push([kind, name(e), r.width, r.height]);
  };
  for (const region of document.querySelectorAll('header.topbar, .playbar, aside.sidebar')) {
    for (const e of region.querySelectorAll('button, a[href], select, summary, [data-select-run]'))
      add(e.matches('button, a') ? 'button' : 'field', e);
    for (const e of region.querySelectorAll('input[type=range]')) add('slider', e);
    for (const e of region.querySelectorAll('input[type=checkbox]'))
      for (const label of e.labels) add('label', label);
  }
  return out;
}"""


def test_every_tap_target_is_44_px(phone: Page) -> None:
    # The collapsed sections open, to measure what they hold too.
    phone.evaluate("() => document.querySelectorAll('details.knob').forEach((d) => d.open = true)")
    targets = phone.evaluate(TARGETS)
    kinds = {kind for kind, *_ in targets}
    assert kinds == {"button", "field", "slider", "label"}, kinds
    small = [t for t in targets if t[3] < 44 or (t[0] in ("button", "label") and t[2] < 44)]
    assert small == []
    # The sliders' thumbs: as tall as the track's 44 px allow, and far wider than a hairline.
    thumb = phone.evaluate(
        """() => {
          const s = document.querySelector('input[type=range][data-hparam=lr]');
          return parseFloat(getComputedStyle(s, '::-webkit-slider-thumb').width);
        }"""
    )
    assert thumb >= 20


def test_the_header_buttons_say_what_they_do(phone: Page) -> None:
    csv = phone.get_by_test_id("export-csv")
    json = phone.get_by_test_id("export-json")
    # Each says which format it downloads (the icon is the same download arrow).
    words = (csv.inner_text().split(), json.inner_text().split())
    assert "CSV" in words[0] and "JSON" not in words[0], words
    assert "JSON" in words[1] and "CSV" not in words[1], words
    for testid in ("copy-link", "export-csv", "export-json", "copy-pytorch"):
        button = phone.get_by_test_id(testid)
        assert button.inner_text().strip(), testid
        assert button.get_attribute("title"), testid
    expect(phone.get_by_role("button", name="Copy as PyTorch")).to_be_visible()
    expect(phone.get_by_role("link", name="API")).to_be_visible()
    # All of them in the header's one row, none off screen.
    boxes = phone.evaluate(
        """() => [...document.querySelectorAll('.top-actions > *')].map((e) => {
          const r = e.getBoundingClientRect();
          return [r.left, r.right, r.top];
        })"""
    )
    assert all(left >= 0 and right <= PHONE["width"] for left, right, _ in boxes), boxes
    assert len({round(top) for *_, top in boxes}) == 1, boxes


def test_the_status_line_wraps(phone: Page) -> None:
    line = phone.locator("[data-status-line]")
    expect(line).to_contain_text("final loss")
    fit = line.evaluate(
        """(e) => {
          const range = document.createRange();
          range.selectNodeContents(e);
          const box = e.getBoundingClientRect();
          const rects = [...range.getClientRects()];
          return {
            scroll: e.scrollWidth, client: e.clientWidth,
            rows: new Set(rects.map((r) => Math.round(r.top))).size,
            inside: rects.every((r) => r.left >= box.left - 1 && r.right <= box.right + 1
              && r.bottom <= box.bottom + 1),
            overflow: getComputedStyle(e).textOverflow,
          };
        }"""
    )
    assert fit["scroll"] <= fit["client"], fit
    assert fit["inside"], fit
    # Longer than the phone is wide: it takes two rows rather than an ellipsis.
    assert fit["rows"] >= 2, fit


def test_plot_then_playback_then_controls(phone: Page) -> None:
    def top(selector: str) -> float:
        box = phone.locator(selector).first.bounding_box()
        assert box is not None, selector
        return box["y"]

    landscape = top("[data-testid=landscape]")
    playback = top(".playbar")
    controls = top("[data-testid=surface-select]")
    charts = top("[data-testid=loss-chart]")
    assert landscape < playback < controls < charts
    # In the playback: the buttons, under them the scrubber, then the readout.
    play = phone.get_by_test_id("play").bounding_box()
    scrub = phone.get_by_test_id("scrub").bounding_box()
    assert play is not None and scrub is not None
    assert scrub["y"] >= play["y"] + play["height"]
    assert top("[data-readout]") >= scrub["y"] + scrub["height"]
    # The playback follows the card at once, on the first screen.
    card = phone.locator(".landscape-card").bounding_box()
    assert card is not None
    assert playback - (card["y"] + card["height"]) < 20
    assert playback + 100 < PHONE["height"]


# The start's place on screen, and a data point's.
TO_SCREEN = """([x, y]) => {
  const el = document.querySelector('[data-testid=landscape]');
  const {xaxis, yaxis} = el._fullLayout;
  const rect = el.getBoundingClientRect();
  return [rect.left + xaxis._offset + xaxis.c2p(x), rect.top + yaxis._offset + yaxis.c2p(y)];
}"""


def touch_drag(page: Page, points: list[tuple[float, float]]) -> None:
    """One finger down at the first point, along the others, up at the last (real touch
    events, through the browser's gesture handling, as a phone sends them)."""
    cdp = page.context.new_cdp_session(page)
    for i, (x, y) in enumerate(points):
        kind = "touchStart" if i == 0 else "touchMove"
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
        page.wait_for_timeout(30)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def path(a: tuple[float, float], b: tuple[float, float], n: int = 12) -> list[tuple[float, float]]:
    return [(a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n) for k in range(n + 1)]


def test_a_finger_drags_the_start_and_scrolls_elsewhere(phone: Page) -> None:
    drag = phone.locator("[data-testid=landscape] .nsewdrag")
    assert drag.evaluate("(e) => getComputedStyle(e).touchAction") == "none"
    landscape = phone.get_by_test_id("landscape")
    assert landscape.evaluate("(e) => getComputedStyle(e).touchAction") != "none"
    state = "() => window.losslab.state.start"
    assert phone.evaluate(state) == [-1.2, 1]
    before = phone.evaluate("() => Object.values(window.losslab.runs)[0].frames[1]")
    start = phone.evaluate(TO_SCREEN, [-1.2, 1])
    target = phone.evaluate(TO_SCREEN, [0.5, 2.5])
    touch_drag(phone, path(start, target))
    assert phone.evaluate("() => window.scrollY") == 0
    moved = phone.evaluate(state)
    assert moved == pytest.approx([0.5, 2.5], abs=0.03), moved
    # The runs start again from there.
    phone.wait_for_function(RUNS_DONE)
    run = phone.evaluate("() => Object.values(window.losslab.runs)[0]")
    assert run["frames"][0]["x"] == pytest.approx(moved[0], abs=1e-6)
    assert run["frames"][0]["y"] == pytest.approx(moved[1], abs=1e-6)
    assert run["frames"][1] != before
    # A finger on the card outside the plot (the legend's band under it) scrolls the page.
    legend = phone.evaluate(CARD)["legend"]
    x = legend["right"] + 20
    y = legend["top"] + legend["height"] / 2
    touch_drag(phone, path((x, y), (x, y - 300)))
    phone.wait_for_function("() => window.scrollY > 100")
    assert phone.evaluate(state) == moved
    assert_clean(phone)


@pytest.mark.parametrize(
    "viewport", [{"width": 1440, "height": 900}, {"width": 1024, "height": 768}]
)
def test_wide_screens_keep_the_legend_beside_the_plot(
    browser: Browser, live_server: str, artifacts: Path, viewport: ViewportSize
) -> None:
    page = new_page(browser, live_server, viewport)
    open_page(page, live_server + URL)
    settle(page)
    card = page.evaluate(CARD)
    drag = card["drag"]
    assert card["legend"]["left"] >= drag["right"], card
    assert card["colorbar"]["left"] >= drag["right"], card
    assert card["colorbar"]["height"] > card["colorbar"]["width"], card
    assert page.evaluate("() => document.querySelector('.landscape-card').style.cssText") == ""
    expect(page.get_by_test_id("copy-pytorch")).to_have_text("Copy as PyTorch")
    expect(page.get_by_test_id("copy-link")).to_have_text("Copy link")
    # The desktop's sizes, not the phone's.
    assert page.get_by_test_id("play").bounding_box()["height"] < 40  # type: ignore[index]
    scrub = page.get_by_test_id("scrub").bounding_box()
    play = page.get_by_test_id("play").bounding_box()
    assert scrub is not None and play is not None
    assert abs((scrub["y"] + scrub["height"] / 2) - (play["y"] + play["height"] / 2)) < 4
    page.screenshot(path=str(artifacts / f"wide-{viewport['width']}.png"))
    assert_clean(page)
    page.context.close()


def test_crossing_the_phone_width_lays_the_plot_out_again(
    browser: Browser, live_server: str
) -> None:
    page = new_page(browser, live_server, PHONE)
    open_page(page, live_server + URL)
    settle(page)
    assert page.evaluate(CARD)["drag"]["width"] >= 300
    page.set_viewport_size({"width": 1440, "height": 900})
    settle(page)
    card = page.evaluate(CARD)
    assert card["legend"]["left"] >= card["drag"]["right"], card
    assert page.evaluate("() => document.querySelector('.landscape-card').style.cssText") == ""
    page.set_viewport_size(PHONE)
    settle(page)
    card = page.evaluate(CARD)
    assert card["drag"]["width"] >= 300, card
    assert card["legend"]["top"] >= card["drag"]["bottom"], card
    assert card["gap"] <= 60, card
    assert_clean(page)
    page.context.close()


def test_the_3d_view_fits_a_phone(browser: Browser, live_server: str) -> None:
    """The loss axis's ticks and title stay inside the card (seen from further away)."""
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{live_server}/?view=3d")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape] .gl-container canvas')"
    )
    page.wait_for_timeout(500)
    card = page.locator(".landscape-card").bounding_box()
    eye = page.evaluate(
        "() => document.querySelector('[data-testid=landscape]')._fullLayout.scene.camera.eye"
    )
    assert card is not None
    # Far enough that the scene's labels (drawn on the WebGL canvas) stay in the card.
    assert (eye["x"] ** 2 + eye["y"] ** 2 + eye["z"] ** 2) ** 0.5 > 2.6  # 2.25 on a desktop
    page.context.close()
