"""The Benchmark panel: a benchmark run from the form shows exactly the API's answer (table,
heatmap, curves), sorts, loads any of its runs on the landscape, downloads the API's exports,
cancels, names a bad field, and fits a phone."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.browser.test_links import assert_clean
from tests.browser.test_page import RUNS_DONE, open_page
from tests.browser.test_phone import PHONE, new_page

SMALL = {"steps": 100, "starts": 4, "lr-n": 6}
SURFACES = ["bowl", "rosenbrock"]

# The rows of the table as shown, with the exact values the cells hold.
TABLE = """() => [...document.querySelectorAll('[data-testid=bench-row]')].map((tr) => {
  const cells = {};
  for (const td of tr.querySelectorAll('td[data-col]'))
    cells[td.dataset.col] = {text: td.textContent.trim(), value: JSON.parse(td.dataset.value)};
  return {optimizer: tr.dataset.optimizer, surface: tr.dataset.surface, cells};
})"""


def open_panel(page: Page) -> None:
    page.get_by_test_id("benchmark-open").click()
    expect(page.get_by_test_id("benchmark-panel")).to_be_visible()


def set_form(page: Page, optimizers: list[str], surfaces: list[str], **boxes: Any) -> None:
    """Only `optimizers` (added through the picker) on `surfaces`, with the budget `boxes`."""
    remove = page.get_by_test_id("bench-remove")
    while remove.count():
        remove.first.click()
    picker = page.get_by_test_id("bench-add")
    for name in optimizers:
        picker.click()
        picker.fill(name)
        picker.press("Enter")
        expect(page.locator(f"[data-testid=bench-optimizer][data-label='{name}']")).to_have_count(1)
    for box in page.get_by_test_id("bench-surface").all():
        box.set_checked(box.get_attribute("value") in surfaces)
    for name, value in {**SMALL, **boxes}.items():
        page.get_by_test_id(f"bench-{name}").fill(str(value))


def run(page: Page) -> Request:
    """Run the form's benchmark; the request it sent, once its table shows."""
    with page.expect_request("**/api/benchmarks/stream") as sent:
        page.get_by_test_id("bench-run").click()
    expect(page.get_by_test_id("bench-status")).to_contain_text("Done in")
    return sent.value


def api_benchmark(live_server: str, body: Any) -> Any:
    response = httpx.post(f"{live_server}/api/benchmarks", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def done_event(text: str) -> Any:
    """The `done` event's data of a Server-Sent Events body."""
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.split("\n")
        if "event: done" in lines:
            return json.loads("\n".join(line[6:] for line in lines if line.startswith("data: ")))
    raise AssertionError("no done event")


@pytest.fixture
def small(page: Page, live_server: str) -> Iterator[tuple[Page, Any, Any]]:
    """The page with a small benchmark run from its panel: (page, request body, answer as
    the stream sent it)."""
    open_page(page, live_server)
    open_panel(page)
    set_form(page, ["SGD", "Adam"], SURFACES)
    # What the server streamed, read on its way to the page (a streamed body is not kept).
    streamed: list[str] = []

    def relay(route: Route) -> None:
        response = route.fetch()
        streamed.append(response.text())
        route.fulfill(response=response)

    page.route("**/api/benchmarks/stream", relay)
    body = run(page).post_data_json
    page.unroute("**/api/benchmarks/stream")
    yield page, body, done_event(streamed[0])
    assert_clean(page)


def test_the_table_shows_the_apis_rows(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    open_panel(page)
    set_form(page, ["SGD", "Adam"], SURFACES)
    # The selected run's optimizer, with the settings it changed (lr is the benchmark's).
    page.get_by_test_id("bench-add-run").click()
    expect(page.get_by_test_id("bench-optimizer")).to_have_count(3)
    body = run(page).post_data_json
    assert body == {
        "optimizers": [
            {"name": "SGD", "hyperparameters": {}},
            {"name": "Adam", "hyperparameters": {}},
            {"name": "SGD", "hyperparameters": {"momentum": 0.9}},
        ],
        "surfaces": SURFACES,
        "steps": 100,
        "starts": 4,
        "lr": {"min": 0.0001, "max": 10, "n": 6},
        "seed": 0,
    }
    expected = api_benchmark(live_server, body)
    shown = {(r["optimizer"], r["surface"]): r["cells"] for r in page.evaluate(TABLE)}
    assert set(shown) == {(r["optimizer"], r["surface"]) for r in expected["rows"]}
    assert len(shown) == len(expected["rows"]) == 6
    for row in expected["rows"]:
        cells = shown[(row["optimizer"], row["surface"])]
        assert cells["tuned_lr"]["value"] == row["tuned_lr"]
        assert cells["success"]["value"] == row["success_rate"]
        assert cells["success"]["text"].startswith(f"{row['successes']}/{row['runs']}")
        assert cells["median_steps"]["value"] == row["median_steps"]
        assert cells["diverged"]["value"] == row["diverged"]
    ranks = {o["label"]: o["rank"] for o in expected["optimizers"]}
    assert all(cells["overall"]["value"] == ranks[k[0]] for k, cells in shown.items())
    # The protocol in one line, its rules a click away.
    protocol = page.get_by_test_id("bench-protocol")
    expect(protocol).to_contain_text("6 values (log)")
    expect(protocol).to_contain_text("4 starts per surface (seed 0)")
    expect(protocol).to_contain_text("100 steps")
    expect(protocol).to_contain_text(f"torch {expected['protocol']['versions']['torch']}")
    page.get_by_test_id("bench-rules").locator("summary").click()
    expect(page.get_by_test_id("bench-rules")).to_contain_text(
        expected["protocol"]["rules"]["tuning"]
    )
    # The heatmap: the success rate of every optimizer on every surface, numbers in the cells.
    heat = page.evaluate(
        """() => {
          const t = document.querySelector('[data-testid=bench-heatmap]').data[0];
          return {x: t.x, y: t.y, z: t.z, text: t.text, role: t.meta.role};
        }"""
    )
    assert heat["role"] == "bench-success"
    titles = {s["name"]: s["title"] for s in expected["surfaces"]}
    rows = {(r["optimizer"], titles[r["surface"]]): r for r in expected["rows"]}
    for i, label in enumerate(heat["y"]):
        for j, title in enumerate(heat["x"]):
            row = rows[(label, title)]
            assert heat["z"][i][j] == row["success_rate"]
            assert heat["text"][i][j] == f"{row['successes']}/{row['runs']}"
    # The curves: success against lr for the chosen surface, one line per optimizer.
    page.get_by_test_id("bench-curves-surface").select_option("rosenbrock")
    page.wait_for_function(
        """() => (document.querySelector('[data-testid=bench-curves]').data || [])
                   .some((t) => t.meta.role === 'bench-curve')
                 && document.querySelector('[data-testid=bench-curves]').data[0].y.length"""
    )
    curves = page.evaluate(
        """() => document.querySelector('[data-testid=bench-curves]').data
          .filter((t) => t.meta.role === 'bench-curve')
          .map((t) => ({name: t.name, x: t.x, y: t.y}))"""
    )
    want = {r["optimizer"]: r for r in expected["rows"] if r["surface"] == "rosenbrock"}
    assert {c["name"] for c in curves} == set(want)
    for curve in curves:
        assert curve["x"] == [c["lr"] for c in want[curve["name"]]["curve"]]
        assert curve["y"] == [c["success_rate"] for c in want[curve["name"]]["curve"]]
    assert page.evaluate(
        "() => document.querySelector('[data-testid=bench-curves]')._fullLayout.xaxis.type"
    ) == ("log")
    assert_clean(page)


def column(page: Page, key: str) -> list[Any]:
    return [row["cells"][key]["value"] for row in page.evaluate(TABLE)]


def test_a_heading_sorts_and_sorts_back(small: tuple[Page, Any, Any]) -> None:
    page, _, _ = small
    # At first, by overall rank.
    overall = column(page, "overall")
    assert overall == sorted(overall)
    head = page.locator("th[data-sort='median_steps']")
    head.click()
    expect(head).to_have_attribute("aria-sort", "ascending")
    steps = column(page, "median_steps")
    known = [v for v in steps if v is not None]
    assert known == sorted(known) and steps == known + [None] * (len(steps) - len(known))
    head.click()
    expect(head).to_have_attribute("aria-sort", "descending")
    steps = column(page, "median_steps")
    known = [v for v in steps if v is not None]
    assert known == sorted(known, reverse=True)
    assert steps == known + [None] * (len(steps) - len(known))
    expect(page.locator("th[data-sort='overall']")).to_have_attribute("aria-sort", "none")
    # Text columns sort by name.
    page.locator("th[data-sort='optimizer']").click()
    names = column(page, "optimizer")
    assert names == sorted(names)
    page.locator("th[data-sort='optimizer']").click()
    assert column(page, "optimizer") == sorted(names, reverse=True)


# Where a heatmap cell (row i, column j) is on screen.
CELL = """([i, j]) => {
  const plot = document.querySelector('[data-testid=bench-heatmap]');
  const {xaxis, yaxis} = plot._fullLayout;
  const rect = plot.getBoundingClientRect();
  return [rect.left + xaxis._offset + xaxis.l2p(j), rect.top + yaxis._offset + yaxis.l2p(i)];
}"""


def assert_loaded(page: Page, answer: Any, row: Any) -> None:
    """The page runs `row`'s optimizer at its tuned lr on its surface from its example start,
    with the benchmark's steps, and that run reaches the target when the benchmark's did."""
    expect(page.get_by_test_id("benchmark-panel")).to_be_hidden()
    page.wait_for_function(RUNS_DONE)
    surface = next(s for s in answer["surfaces"] if s["name"] == row["surface"])
    entry = next(o for o in answer["optimizers"] if o["label"] == row["optimizer"])
    start = surface["starts"][row["example_start"]]
    state = page.evaluate("() => JSON.parse(JSON.stringify(window.losslab.state))")
    assert state["surface"] == row["surface"]
    assert state["start"] == start
    assert state["steps"] == answer["protocol"]["steps"]
    assert len(state["runs"]) == 1
    run = state["runs"][0]
    assert run["optimizer"] == entry["name"]
    assert run["hyperparameters"]["lr"] == row["tuned_lr"]
    for name, value in entry["hyperparameters"].items():
        assert run["hyperparameters"][name] == value
    slot = page.evaluate(
        "() => { const s = Object.values(window.losslab.runs)[0];"
        " return {status: s.status, config: s.config, frames: s.frames}; }"
    )
    assert slot["status"] != "error"
    assert slot["config"]["start"] == start
    assert slot["config"]["hyperparameters"]["lr"] == row["tuned_lr"]
    assert slot["frames"][0]["x"] == pytest.approx(start[0], abs=1e-6)
    # The same run as the benchmark's: it first reaches the target at the same step.
    reached = row["steps_to_target"][row["example_start"]]
    losses = [frame["loss"] for frame in slot["frames"]]
    first = next((k for k, loss in enumerate(losses) if loss <= surface["target"]), None)
    assert first == reached


def find_row(answer: Any, optimizer: str, surface: str) -> Any:
    return next(r for r in answer["rows"] if (r["optimizer"], r["surface"]) == (optimizer, surface))


def test_a_cell_and_a_row_load_their_runs(small: tuple[Page, Any, Any]) -> None:
    page, _, answer = small
    # A heatmap cell: Adam on Rosenbrock.
    page.get_by_test_id("bench-heatmap").scroll_into_view_if_needed()
    heat = page.evaluate(
        "() => { const t = document.querySelector('[data-testid=bench-heatmap]').data[0];"
        " return {x: t.x, y: t.y}; }"
    )
    title = next(s["title"] for s in answer["surfaces"] if s["name"] == "rosenbrock")
    i, j = heat["y"].index("Adam"), heat["x"].index(title)
    x, y = page.evaluate(CELL, [i, j])
    page.mouse.click(x, y)
    assert_loaded(page, answer, find_row(answer, "Adam", "rosenbrock"))
    # Reopened, the results are still there; a table row: SGD on the bowl.
    open_panel(page)
    expect(page.get_by_test_id("bench-row")).to_have_count(len(answer["rows"]))
    expect(page.locator("tr.is-loaded")).to_have_attribute("data-optimizer", "Adam")
    page.locator("[data-testid=bench-row][data-optimizer='SGD'][data-surface='bowl']").click()
    row = find_row(answer, "SGD", "bowl")
    assert_loaded(page, answer, row)
    assert row["successes"] > 0


def test_the_exports_are_the_apis(small: tuple[Page, Any, Any], tmp_path: Path) -> None:
    page, _, answer = small

    def fetch(testid: str) -> str:
        with page.expect_download() as caught:
            page.get_by_test_id(testid).click()
        path = tmp_path / caught.value.suggested_filename
        caught.value.save_as(path)
        return path.read_text(encoding="utf-8")

    assert fetch("bench-export-csv") == answer["exports"]["csv"]
    assert fetch("bench-export-markdown") == answer["exports"]["markdown"]
    whole = json.loads(fetch("bench-export-json"))
    assert "exports" not in whole
    assert whole == {key: value for key, value in answer.items() if key != "exports"}


def slot_is_free(live_server: str, seconds: float) -> bool:
    """Whether this client may start a job within `seconds` (it holds one at a time)."""
    deadline = time.monotonic() + seconds
    tiny = {
        "optimizers": [{"name": "SGD"}],
        "surfaces": ["bowl"],
        "steps": 5,
        "starts": 1,
        "lr": {"n": 2},
    }
    while time.monotonic() < deadline:
        response = httpx.post(f"{live_server}/api/benchmarks", json=tiny, timeout=30)
        if response.status_code == 200:
            return True
        assert response.status_code == 429, response.text
        time.sleep(0.1)
    return False


def test_cancel_stops_the_benchmark(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    open_panel(page)
    # The default benchmark (nine optimizers on five surfaces) takes seconds.
    expect(page.get_by_test_id("bench-optimizer")).to_have_count(9)
    page.get_by_test_id("bench-run").click()
    progress = page.get_by_test_id("bench-progress")
    expect(progress).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=bench-progress]').value >= 2"
    )
    page.get_by_test_id("bench-cancel").click()
    expect(page.get_by_test_id("bench-status")).to_contain_text("Cancelled")
    expect(progress).to_be_hidden()
    assert page.evaluate("() => window.losslab.benchmark.running") is False
    # The server let the job go: this client's one job slot is free well before the
    # benchmark would have ended.
    assert slot_is_free(live_server, 3)
    set_form(page, ["Adam"], ["bowl"])
    run(page)
    expect(page.get_by_test_id("bench-row")).to_have_count(1)
    expect(page.get_by_test_id("bench-error")).to_be_hidden()
    assert_clean(page)


def test_a_bad_field_is_named(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    open_panel(page)
    set_form(page, ["SGD"], ["bowl"], **{"lr-min": 20, "lr-max": 10})
    page.get_by_test_id("bench-run").click()
    error = page.get_by_test_id("bench-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("lr.max must be greater than lr.min")
    expect(page.get_by_test_id("bench-lr-max")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("bench-row")).to_have_count(0)
    # Mended, the field is no longer marked and the benchmark runs.
    page.get_by_test_id("bench-lr-min").fill("0.001")
    run(page)
    expect(error).to_be_hidden()
    expect(page.get_by_test_id("bench-lr-max")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("bench-row")).to_have_count(1)
    # The picker offers only optimizers with an lr to tune: AliG has none (max_lr).
    picker = page.get_by_test_id("bench-add")
    picker.click()
    picker.fill("Ali")
    expect(page.locator("[role=option][data-name='AliG']")).to_have_count(0)
    expect(page.locator("[role=option][data-name='SAM']")).to_have_count(1)
    # The browser logs the 422 itself; nothing else went wrong.
    errors = page.watch.errors  # type: ignore[attr-defined]
    assert errors and all("422" in error for error in errors), errors


# Every visible tap target of the panel: [name, width, height].
PANEL_TARGETS = """() => {
  const out = [];
  const panel = document.querySelector('[data-testid=benchmark-panel]');
  const targets = [...panel.querySelectorAll('button, select, input:not([type=checkbox]), summary'),
    ...[...panel.querySelectorAll('input[type=checkbox]')].map((box) => box.closest('label')),
    ...panel.querySelectorAll('[data-testid=bench-row]')];
  for (const e of targets) {
    // Plotly's PNG button: its group's border is part of it (as on the landscape).
    const r = (e.closest('.modebar-group') || e).getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    out.push([e.dataset.testid || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 20),
      r.width, r.height]);
  }
  return out;
}"""


def test_the_panel_fits_a_phone(browser: Browser, live_server: str, artifacts: Path) -> None:
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    open_page(page, live_server)
    open_panel(page)
    set_form(page, ["SGD", "Adam"], SURFACES)
    run(page)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=bench-heatmap]').data"
        " && document.querySelector('[data-testid=bench-curves]').data"
    )
    sizes = page.evaluate(
        """() => {
          const panel = document.querySelector('[data-testid=benchmark-panel]');
          const box = document.querySelector('[data-testid=bench-table-box]');
          return {page: document.documentElement.scrollWidth, panel: panel.scrollWidth,
                  panelClient: panel.clientWidth, box: box.scrollWidth, boxClient: box.clientWidth,
                  overflow: getComputedStyle(box).overflowX,
                  right: box.getBoundingClientRect().right};
        }"""
    )
    # No sideways scrolling of the page or the panel: the table scrolls inside its box.
    assert sizes["page"] <= PHONE["width"], sizes
    assert sizes["panel"] <= sizes["panelClient"], sizes
    assert sizes["right"] <= PHONE["width"], sizes
    assert sizes["overflow"] == "auto", sizes
    assert sizes["box"] > sizes["boxClient"], sizes
    box = page.get_by_test_id("bench-table-box")
    box.scroll_into_view_if_needed()
    box.evaluate("(e) => { e.scrollLeft = 200; }")
    assert box.evaluate("(e) => e.scrollLeft") > 100
    assert page.evaluate("() => window.scrollX") == 0
    # A row still shows its optimizer once scrolled: that column stays put.
    name = page.locator("[data-testid=bench-row] td[data-col=optimizer]").first
    cell = name.bounding_box()
    frame = box.bounding_box()
    assert cell is not None and frame is not None
    assert cell["x"] >= frame["x"] and cell["x"] + cell["width"] <= frame["x"] + frame["width"]
    small = [t for t in page.evaluate(PANEL_TARGETS) if t[2] < 44 or t[1] < 44]
    assert small == []
    page.screenshot(path=str(artifacts / "benchmark-phone.png"))
    # A row tapped loads its run on the landscape.
    page.locator("[data-testid=bench-row][data-optimizer='SGD'][data-surface='bowl']").tap()
    expect(page.get_by_test_id("benchmark-panel")).to_be_hidden()
    page.wait_for_function(RUNS_DONE)
    assert page.evaluate("() => window.losslab.state.surface") == "bowl"
    assert_clean(page)
    page.context.close()
