"""Seeing the phenomena: run events, the stability bound, presets, basin and hyperparameter maps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.test_page import RUNS_DONE, api_run, open_page

RUN_BY_STATUS = """(status) => {
  const {runs} = window.losslab;
  const id = Object.keys(runs).find(k => runs[k].status === status);
  const run = runs[id];
  return {id, config: run.config, analysis: run.analysis, status: run.status};
}"""

TRACE = """([testid, role]) => {
  const div = document.querySelector(`[data-testid=${testid}]`);
  const trace = (div.data || []).find(t => t.meta && t.meta.role === role);
  if (!trace) return null;
  const list = (v) => (v && typeof v.length === 'number' ? Array.from(v) : v);
  return {x: list(trace.x), y: list(trace.y), meta: trace.meta};
}"""


def trace(page: Page, testid: str, role: str) -> Any:
    return page.evaluate(TRACE, [testid, role])


def presets(live_server: str) -> dict[str, Any]:
    answer = httpx.get(f"{live_server}/api/presets", timeout=10)
    assert answer.status_code == 200
    return {preset["name"]: preset for preset in answer.json()}


def choose_preset(page: Page, name: str, runs: int) -> None:
    page.get_by_test_id("preset-select").select_option(name)
    page.wait_for_function(
        f"""() => {{
          const {{state, runs}} = window.losslab;
          return state.preset === {name!r} && state.runs.length === {runs}
            && state.runs.every(r => runs[r.id] && runs[r.id].config
              && runs[r.id].status !== 'running');
        }}"""
    )
    page.wait_for_function(RUNS_DONE)


def click_at(page: Page, testid: str, fx: float, fy: float) -> None:
    """Click inside a plot's data area at fractions (fx from the left, fy from the top)."""
    area = page.locator(f"[data-testid={testid}] .nsewdrag").first
    box = area.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def assert_clean(page: Page) -> None:
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == []
    assert watch.foreign == []


def test_divergence_preset_shows_events_and_the_bound(page: Page, live_server: str) -> None:
    preset = presets(live_server)["divergence"]
    open_page(page, live_server)
    choose_preset(page, "divergence", len(preset["runs"]))
    expect(page.get_by_test_id("preset-description")).to_contain_text(preset["description"])
    assert "preset=divergence" in page.url

    # The diverging run gets selected; its events are the API's for the same request.
    diverged = page.evaluate(RUN_BY_STATUS, "diverged")
    page.wait_for_function("(id) => window.losslab.state.selected === id", arg=diverged["id"])
    expected = api_run(live_server, diverged["config"])["analysis"]
    assert diverged["analysis"] == expected
    assert "divergence" in {event["type"] for event in expected["events"]}

    page.get_by_test_id("events-tab").click()
    items = page.get_by_test_id("events-list").get_by_test_id("event")
    expect(items).to_have_count(len(expected["events"]))
    listed = [
        (item.get_attribute("data-type"), int(item.get_attribute("data-step") or -1))
        for item in items.all()
    ]
    assert listed == [(event["type"], event["step"]) for event in expected["events"]]
    for item, event in zip(items.all(), expected["events"], strict=True):
        expect(item).to_contain_text(event["detail"])

    # Markers on the landscape and on the loss chart, one per event, distinct symbols.
    drawn = page.evaluate(
        """(id) => ['landscape', 'loss-chart'].map(testid => {
             const div = document.querySelector(`[data-testid=${testid}]`);
             const t = div.data.find(t => t.meta && t.meta.role === 'events' && t.meta.of === id);
             return {n: t.x.length, symbols: Array.from(t.marker.symbol), text: t.text.join(' ')};
           })""",
        diverged["id"],
    )
    for markers in drawn:
        assert markers["n"] == len(expected["events"])
        assert len(set(markers["symbols"])) == len({e["type"] for e in expected["events"]})
        assert "diverged" in markers["text"]

    # Clicking an event moves the playhead to its step.
    divergence = next(e for e in expected["events"] if e["type"] == "divergence")
    items.filter(has_text=divergence["detail"]).click()
    page.wait_for_function(
        "(step) => window.losslab.state.playhead === step", arg=divergence["step"]
    )
    assert int(page.get_by_test_id("scrub").input_value()) == divergence["step"]

    # The stability chart draws the bound the API computed, and the sharpness per step.
    page.get_by_test_id("stability-tab").click()
    page.wait_for_function(
        """(id) => {
          const div = document.querySelector('[data-testid=stability-chart]');
          return (div.data || []).some(t => t.meta && t.meta.role === 'sharpness'
            && t.meta.runId === id);
        }""",
        arg=diverged["id"],
    )
    bound = trace(page, "stability-chart", "threshold")
    threshold = expected["stability"]["threshold"]
    assert bound["meta"]["value"] == threshold
    assert bound["y"] == [threshold, threshold]
    assert trace(page, "stability-chart", "sharpness")["y"] == expected["curvature"]["sharpness"]
    # The line's label, as drawn: "bound 2/lr = 24.7", the bound in the lr's terms.
    label = page.locator("[data-testid=stability-chart] .annotation-text").text_content() or ""
    assert expected["stability"]["formula"] == "2/lr"
    assert label.startswith(f"bound {expected['stability']['formula']} = ")
    expect(page.get_by_test_id("stability-note")).to_contain_text("bound")

    # The converged run shows where it ended beside its status.
    converged = page.evaluate(RUN_BY_STATUS, "converged")
    row = page.locator(f"[data-testid=run-row][data-run-id='{converged['id']}']")
    expect(row.get_by_test_id("run-outcome")).to_have_text(
        converged["analysis"]["outcome"]["detail"]
    )
    expect(page.locator("[data-testid=run-row][data-status='diverged']")).to_have_count(1)
    assert_clean(page)


def test_each_preset_shows_its_phenomenon(page: Page, live_server: str) -> None:
    catalog = presets(live_server)
    assert {"momentum_escape", "saddle_stall"} <= set(catalog)
    open_page(page, live_server)
    options = page.get_by_test_id("preset-select").locator("option")
    titles = [title for title in options.all_inner_texts() if title]
    assert [preset["title"] for preset in catalog.values()] == titles[1:]
    page.get_by_test_id("events-tab").click()
    for name, preset in catalog.items():
        choose_preset(page, name, len(preset["runs"]))
        state = page.evaluate("() => JSON.parse(JSON.stringify(window.losslab.state))")
        assert state["surface"] == preset["surface"]
        for run, request in zip(state["runs"], preset["runs"], strict=True):
            assert run["optimizer"] == request["optimizer"]
            for key, value in request["hyperparameters"].items():
                assert run["hyperparameters"][key] == value
        assert state["steps"] == preset["runs"][0]["steps"]
        if preset["runs"][0]["start"] is not None:
            assert state["start"] == preset["runs"][0]["start"]
        # The selected run is one that shows the phenomenon, and its Events list says so.
        listed = page.get_by_test_id("events-list").locator(
            f"[data-testid=event][data-type='{preset['phenomenon']}']"
        )
        expect(listed.first).to_be_visible()
        expect(page.get_by_test_id("preset-description")).to_contain_text(preset["title"])

    # A shared link restores the preset, its description and its runs.
    url = page.url
    other = page.context.new_page()
    open_page(other, url)
    last = list(catalog.values())[-1]
    expect(other.get_by_test_id("preset-select")).to_have_value(last["name"])
    expect(other.get_by_test_id("preset-description")).to_contain_text(last["description"])
    assert other.evaluate("() => window.losslab.state.runs.length") == len(last["runs"])
    assert_clean(page)


def test_basin_map_overlay_and_click(page: Page, live_server: str, artifacts: Path) -> None:
    # Steps enough that the finer map takes over half a second, to show its progress.
    url = f"{live_server}/?surface=himmelblau&start=0.5,0.5&steps=1500&run=Adam,lr=0.05"
    open_page(page, url)
    page.get_by_test_id("basin-map-button").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]').data"
        ".some(t => t.meta && t.meta.role === 'basin-map' && t.x.length === 64)"
    )
    # Finer: slow enough to show its progress.
    page.get_by_test_id("basin-resolution").select_option("256")
    # Polling could miss a bar shown for a few hundred ms: an observer records that it showed.
    page.evaluate(
        """() => {
          const bar = document.querySelector('[data-testid=map-progress]');
          window.progressShown = false;
          new MutationObserver(() => {
            if (bar.checkVisibility()) window.progressShown = true;
          }).observe(document.body, { attributes: true, subtree: true });
        }"""
    )
    page.get_by_test_id("basin-map-button").click()
    progress = page.get_by_test_id("map-progress")
    page.wait_for_function("() => window.progressShown")
    expect(progress).to_be_hidden(timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]').data"
        ".some(t => t.meta && t.meta.role === 'basin-map' && t.x.length === 256)"
    )
    basins = trace(page, "landscape", "basin-map")
    assert len(basins["x"]) == 256 and len(basins["y"]) == 256
    expect(page.locator("[data-basin-strip]")).to_contain_text("global (3, 2)")

    toggle = page.get_by_test_id("basin-overlay-toggle")
    toggle.dispatch_event("click")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=landscape]').data"
        ".some(t => t.meta && t.meta.role === 'basin-map')"
    )
    expect(toggle).not_to_be_checked()
    toggle.dispatch_event("click")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=landscape]').data"
        ".some(t => t.meta && t.meta.role === 'basin-map')"
    )
    page.screenshot(path=str(artifacts / "basin-map.png"))

    # A click on a cell starts the run exactly at that cell's start point, and re-runs it.
    click_at(page, "landscape", 0.3, 0.75)
    page.wait_for_function(
        """() => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected];
          return state.start[0] !== 0.5 && run.status !== 'running'
            && run.config.start[0] === state.start[0] && run.config.start[1] === state.start[1];
        }"""
    )
    start = page.evaluate("() => window.losslab.state.start")
    assert start[0] in basins["x"] and start[1] in basins["y"]
    first = page.evaluate("() => window.losslab.runs[window.losslab.state.selected].frames[0]")
    assert abs(first["x"] - start[0]) < 1e-6 and abs(first["y"] - start[1]) < 1e-6
    assert_clean(page)


def test_hyperparameter_map_boundary_and_click(
    page: Page, live_server: str, artifacts: Path
) -> None:
    url = f"{live_server}/?surface=elliptic&start=-4,1.5&steps=200&run=SGD,lr=0.01,momentum=0.5"
    open_page(page, url)
    page.get_by_test_id("hparam-map-open").click()
    panel = page.locator("[data-hmap-panel]")
    expect(panel.locator("[data-hmap-axis=x]")).to_have_value("lr")
    expect(panel.locator("[data-hmap-axis=y]")).to_have_value("momentum")
    expect(panel.locator("[data-hmap-log=x]")).to_be_checked()
    page.get_by_test_id("hparam-map-button").click()
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=hparam-map]').data || [])"
        ".some(t => t.meta && t.meta.role === 'hparam-cells')"
    )
    cells = trace(page, "hparam-map", "hparam-cells")
    boundary = trace(page, "hparam-map", "stability-boundary")
    axis = {
        key: {
            "name": panel.locator(f"[data-hmap-axis={key}]").input_value(),
            "min": float(panel.locator(f"[data-hmap-min={key}]").input_value()),
            "max": float(panel.locator(f"[data-hmap-max={key}]").input_value()),
            "n": len(cells[key]),
            "log": key == "x",
        }
        for key in ("x", "y")
    }
    body: dict[str, Any] = {
        "surface": "elliptic",
        "optimizer": "SGD",
        "hyperparameters": page.evaluate(
            "() => window.losslab.runs[window.losslab.state.selected].config.hyperparameters"
        ),
        "start": [-4, 1.5],
        "steps": 200,
        "axes": axis,
    }
    answer = httpx.post(f"{live_server}/api/maps/hyperparameters", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    expected = answer.json()
    assert cells["x"] == expected["x"] and cells["y"] == expected["y"]
    assert len(expected["stability_boundary"]) > 2
    assert boundary["x"] == [p[0] for p in expected["stability_boundary"]]
    assert boundary["y"] == [p[1] for p in expected["stability_boundary"]]
    assert trace(page, "hparam-map", "current")["x"] == [0.01]
    assert trace(page, "hparam-map", "diverged") is not None
    # The cell's tooltip reads clearly over any cell colour: dark text on white, a firm edge.
    hover = page.evaluate(
        """() => document.querySelector('[data-testid=hparam-map]')._fullData
             .find(t => t.meta && t.meta.role === 'hparam-cells').hoverlabel"""
    )
    assert hover["bgcolor"] == "#ffffff" and hover["font"]["size"] >= 13
    assert hover["bordercolor"] == "#5c677d"
    page.get_by_test_id("hparam-metric").select_option("outcome")
    page.get_by_test_id("hparam-metric").select_option("final_loss")
    page.screenshot(path=str(artifacts / "hparam-map.png"))

    # A click on a cell sets its two values on the selected run, which runs again.
    click_at(page, "hparam-map", 0.3, 0.4)
    page.wait_for_function(
        """() => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected];
          const hp = state.runs.find(r => r.id === state.selected).hyperparameters;
          return hp.lr !== 0.01 && run.status !== 'running'
            && run.config.hyperparameters.lr === hp.lr
            && run.config.hyperparameters.momentum === hp.momentum;
        }"""
    )
    hp = page.evaluate(
        "() => window.losslab.state.runs.find(r => r.id === window.losslab.state.selected)"
        ".hyperparameters"
    )
    assert hp["lr"] in cells["x"] and hp["momentum"] in cells["y"]
    # The map stepped aside to show the new path (it covers this card); it is kept as it was.
    expect(page.locator("[data-hmap-panel]")).to_be_hidden()
    page.get_by_test_id("hparam-map-open").click()
    page.wait_for_function(
        "(lr) => { const t = document.querySelector('[data-testid=hparam-map]').data"
        ".find(t => t.meta && t.meta.role === 'current'); return t && t.x[0] === lr; }",
        arg=hp["lr"],
    )
    assert_clean(page)


def test_adaptive_optimizer_has_no_bound(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&start=3,2&steps=60&run=Adam,lr=0.1")
    expect(page.get_by_test_id("stability-note")).to_contain_text("No closed-form bound for Adam")
    assert trace(page, "stability-chart", "threshold") is None
    assert trace(page, "stability-chart", "sharpness") is not None
    assert_clean(page)
