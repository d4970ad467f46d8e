"""What a student sees (issue 12): models the server accepts, errors that clear, readable
comparisons, links that restore the view, and the smaller truths of the page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.test_knobs import chart_traces, errors
from tests.browser.test_page import RUNS_DONE, choose_optimizer, open_page

RUN_STATUSES = """() => Object.values(window.losslab.runs).map(r => ({
  status: r.status, error: r.error, frames: r.frames.length,
  surface: r.config && r.config.surface,
}))"""


def test_switching_to_the_network_plane_never_sends_a_batch_size(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?steps=60&run=SGD,lr=0.05&run=Adam,lr=0.05")
    page.get_by_test_id("surface-select").select_option("model")
    page.wait_for_function("() => window.losslab.state.surface === 'model'")
    page.get_by_test_id("model-select").select_option("logistic_regression")
    page.wait_for_function("() => window.losslab.state.model.model === 'logistic_regression'")
    page.get_by_test_id("batch-mode").select_option("stochastic")
    page.wait_for_function("() => window.losslab.state.model.batch_size === 1")
    page.wait_for_function(RUNS_DONE)

    page.get_by_test_id("model-select").select_option("mlp_plane")
    page.wait_for_function(
        """() => Object.values(window.losslab.runs).every(r =>
             r.config && r.config.surface.model === 'mlp_plane' && r.status !== 'running')""",
        timeout=60_000,
    )
    for run in page.evaluate(RUN_STATUSES):
        assert run["status"] != "error", run["error"]
        assert run["surface"].get("batch_size") is None
        assert run["frames"] > 1
    mode = page.get_by_test_id("batch-mode")
    assert mode.input_value() == "full"
    offered = mode.evaluate("(el) => [...el.options].filter(o => !o.disabled).map(o => o.value)")
    assert offered == ["full"]
    # The sample count comes from the server, not a guess: the moons set has 300 points.
    expect(page.locator("[data-model-samples]")).to_contain_text("300 samples")
    assert errors(page) == []


def test_a_refused_run_clears_the_curves_it_replaced(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?steps=50&run=SGD,lr=0.01")
    run_id = page.evaluate("() => window.losslab.state.runs[0].id")

    def drawn() -> int:
        traces = chart_traces(page, "loss-chart")
        mine = [t for t in traces if t["meta"] and t["meta"].get("runId") == run_id]
        return max((len(t["y"]) for t in mine), default=0)

    assert drawn() > 1
    # A request the server refuses (a negative lr reaches it only through the state).
    page.evaluate(
        "(id) => window.losslab.state.setHyperparameter(id, 'lr', -1)",
        run_id,
    )
    page.wait_for_function(
        "(id) => window.losslab.runs[id].status === 'error'", arg=run_id, timeout=20_000
    )
    assert page.evaluate("(id) => window.losslab.runs[id].frames.length", run_id) == 0
    page.wait_for_function(
        """(id) => {
          const div = document.querySelector('[data-testid=loss-chart]');
          return div.data.filter(t => t.meta && t.meta.runId === id)
            .every(t => (t.y || []).length === 0);
        }""",
        arg=run_id,
    )
    assert drawn() == 0
    expect(page.locator("[data-status-line]")).to_contain_text("lr")


def landscape_runs(page: Page) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = page.evaluate(
        """() => document.querySelector('[data-testid=landscape]').data
             .filter(t => t.meta && t.meta.runId)
             .map(t => ({id: t.meta.runId, name: t.name, visible: t.visible ?? true}))"""
    )
    return runs


def test_runs_are_named_by_what_differs_and_hide_from_the_legend(
    page: Page, live_server: str
) -> None:
    open_page(
        page,
        f"{live_server}/?surface=rosenbrock&steps=80"
        "&run=SGD,lr=0.001&run=SGD,lr=0.001,momentum=0.9&run=Adam,lr=0.05&sel=2",
    )
    names = [run["name"] for run in landscape_runs(page)]
    assert sorted(names) == ["1 · SGD m 0", "2 · SGD m 0.9", "3 · Adam"]
    expect(page.locator("[data-testid=run-row] .run-name")).to_have_text(
        ["1 · SGD m 0", "2 · SGD m 0.9", "3 · Adam"]
    )
    swatches = page.locator("[data-testid=run-row] .swatch").evaluate_all(
        "(els) => els.map(el => el.style.getPropertyValue('--run-color'))"
    )
    lines = page.evaluate(
        """() => document.querySelector('[data-testid=landscape]').data
             .filter(t => t.meta && t.meta.runId).sort((a, b) => a.legendrank - b.legendrank)
             .map(t => t.line.color)"""
    )
    assert swatches == lines
    # The selected run's path is drawn last, on top of the others.
    assert landscape_runs(page)[-1]["name"] == "3 · Adam"

    # A legend click hides the run on every plot; the legend keeps it, greyed, to bring back.
    adam = page.evaluate("() => window.losslab.state.runs[2].id")
    page.locator("[data-testid=landscape] .legend .traces").filter(has_text="3 · Adam").click()
    page.wait_for_function("(id) => window.losslab.state.hidden.includes(id)", arg=adam)
    page.wait_for_function(
        """(id) => document.querySelector('[data-testid=landscape]').data
             .some(t => t.meta && t.meta.runId === id && t.visible === 'legendonly')""",
        arg=adam,
    )
    loss_ids = [t["meta"].get("runId") for t in chart_traces(page, "loss-chart") if t["meta"]]
    assert adam not in loss_ids
    heads = page.evaluate(
        """() => document.querySelector('[data-landscape-top]').data
             .find(t => t.meta && t.meta.role === 'playheads').x.length"""
    )
    assert heads == 2
    assert "hide=1" in page.url
    # The list's eye shows it again.
    row = page.locator(f"[data-testid=run-row][data-run-id='{adam}']")
    expect(row.get_by_test_id("hide-run")).to_have_attribute("aria-pressed", "true")
    row.get_by_test_id("hide-run").click()
    page.wait_for_function("(id) => !window.losslab.state.hidden.includes(id)", arg=adam)
    assert all(run["visible"] is True for run in landscape_runs(page))
    assert errors(page) == []


def test_only_the_selected_runs_first_events_mark_the_map(page: Page, live_server: str) -> None:
    open_page(
        page,
        f"{live_server}/?surface=rosenbrock&steps=500&run=SGD,lr=0.001,momentum=0.9"
        "&run=SGD,lr=0.0015,momentum=0.9&sel=0",
    )
    page.wait_for_function(
        "() => Object.values(window.losslab.runs).every(r => r.analysis)", timeout=30_000
    )
    markers = page.evaluate(
        """() => document.querySelector('[data-testid=landscape]').data
             .filter(t => t.meta && t.meta.role === 'events')
             .map(t => ({of: t.meta.of, kinds: Array.from(t.customdata)}))"""
    )
    selected = page.evaluate("() => window.losslab.state.selected")
    assert [m["of"] for m in markers] in ([], [selected])
    for m in markers:
        assert len(m["kinds"]) == len(set(m["kinds"]))
    many = page.evaluate("(id) => window.losslab.runs[id].analysis.events.length", selected)
    assert many > sum(len(m["kinds"]) for m in markers)


def test_basin_colours_are_never_run_colours(page: Page, live_server: str) -> None:
    open_page(page, live_server)
    colours = page.evaluate(
        """async () => {
          const maps = await import(document.querySelector('link[href*="maps.js"]').href);
          const plots = await import(document.querySelector('link[href*="plots.js"]').href);
          return {basins: maps.BASIN_COLORS, runs: plots.PALETTE};
        }"""
    )

    def luminance(hex_colour: str) -> float:
        r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert min(map(luminance, colours["basins"])) > max(map(luminance, colours["runs"])) + 0.15


VIEW = """() => {
  const {state} = window.losslab;
  // The run's own colour (its list swatch), not a trace's, which fades while scrubbing.
  const colours = Object.fromEntries([...document.querySelectorAll('[data-testid=run-row]')]
    .map(row => [row.querySelector('.run-name').textContent,
                 row.querySelector('.swatch').style.getPropertyValue('--run-color')]));
  return {
    colours, playhead: state.playhead, speed: state.speed, tab: state.tab,
    hidden: state.hidden.map(id => state.runs.findIndex(r => r.id === id)),
    selected: state.runs.findIndex(r => r.id === state.selected),
    speedBox: document.querySelector('[data-testid=speed]').value,
    eventsTab: document.querySelector('[data-testid=events-tab]').getAttribute('aria-selected'),
    scrub: document.querySelector('[data-testid=scrub]').value,
  };
}"""


def test_a_link_restores_colours_playback_and_tab(page: Page, live_server: str) -> None:
    open_page(
        page,
        f"{live_server}/?surface=rosenbrock&steps=120"
        "&run=SGD,lr=0.001&run=Adam,lr=0.05&run=RMSprop,lr=0.01&sel=2",
    )
    # Remove run 1: the others keep their colours (not the first two of the palette).
    page.locator("[data-testid=run-row]").first.get_by_test_id("remove-run").click()
    page.wait_for_function("() => window.losslab.state.runs.length === 2")
    page.get_by_test_id("add-run").click()
    page.wait_for_function(RUNS_DONE)
    page.get_by_test_id("speed").select_option("15")
    page.get_by_test_id("events-tab").click()
    page.locator("[data-testid=run-row]").nth(0).get_by_test_id("hide-run").click()
    scrub_to(page, 40)
    page.wait_for_function("() => window.losslab.state.playhead === 40")
    page.wait_for_function("() => location.search.includes('step=40')")
    sent = page.evaluate(VIEW)
    assert sent["playhead"] == 40 and sent["speed"] == 15 and sent["tab"] == "events"
    assert len(set(sent["colours"].values())) == 3

    other = page.context.new_page()
    other.watch = page.watch  # type: ignore[attr-defined]
    open_page(other, page.url)
    other.wait_for_function("() => window.losslab.state.playhead === 40")
    seen = other.evaluate(VIEW)
    assert seen == sent
    # Playing on from the link starts at the step it showed.
    assert other.evaluate("() => window.losslab.state.playing") is False
    assert errors(page) == []


def test_the_basin_map_runs_as_many_steps_as_the_run(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=2000&run=SGD,lr=0.001,momentum=0.9")
    with page.expect_request(lambda r: "/api/maps/basins" in r.url) as sent:
        page.get_by_test_id("basin-map-button").click()
    body = sent.value.post_data_json
    assert body is not None and body["steps"] == 2000
    expect(page.get_by_test_id("basin-steps")).to_have_value("2000")


def test_map_buttons_keep_their_labels(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    open_page(page, live_server)
    box = page.get_by_test_id("landscape").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("[data-cursor-readout]")).to_be_visible()
    labels = (("basin-map-button", "Basin map"), ("hparam-map-open", "Hyperparameter map"))
    for testid, text in labels:
        label = page.get_by_test_id(testid).locator("span")
        expect(label).to_be_visible()
        expect(label).to_have_text(text)
    # Neither covers the cursor readout.
    readout = page.locator("[data-cursor-readout]").bounding_box()
    tools = page.locator(".map-tools").bounding_box()
    assert readout and tools and readout["x"] + readout["width"] <= tools["x"]
    context.close()


def test_the_stability_panel_says_the_bound_is_the_lrs(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=elliptic&steps=100&run=SGD,lr=0.01,momentum=0.5")
    expect(page.get_by_test_id("stability-note")).to_contain_text("the bound = 2(1+β)/lr")
    open_page(page, f"{live_server}/?surface=elliptic&steps=100&run=SGD,lr=0.01")
    expect(page.get_by_test_id("stability-note")).to_contain_text("the bound = 2/lr")


def test_switching_optimizer_drops_settings_that_mean_something_else(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?steps=50&run=SGD,lr=0.002,momentum=0.9")
    choose_optimizer(page, "RMSprop")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'RMSprop'")
    hp = page.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    assert hp["momentum"] == 0
    assert hp["lr"] == 0.002


def test_a_surface_offers_a_stable_lr(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=50&run=SGD,lr=0.8")
    hint = page.get_by_test_id("lr-hint")
    expect(hint).to_be_visible()
    expect(hint).not_to_have_class("lr-hint is-warning")
    # A stable lr needs no correction: nothing is offered.
    expect(page.get_by_test_id("use-suggested-lr")).to_be_hidden()
    page.get_by_test_id("surface-select").select_option("rosenbrock")
    expect(hint).to_have_class("lr-hint is-warning")
    expect(hint).to_contain_text("lr 0.8 is past this surface's bound 2/λ")
    use = page.get_by_test_id("use-suggested-lr")
    expect(use).to_have_text("Use lr 0.0006 (1/λ)")
    use.click()
    page.wait_for_function("() => window.losslab.state.runs[0].hyperparameters.lr === 0.0006")
    expect(hint).not_to_have_class("lr-hint is-warning")
    page.wait_for_function(RUNS_DONE)
    assert page.evaluate("() => Object.values(window.losslab.runs)[0].status") != "diverged"
    # Nesterov momentum has another bound: the hint does not state 2(1+β)/λ for it.
    open_page(page, f"{live_server}/?surface=bowl&steps=50&run=SGD,lr=0.1,momentum=0.9,nesterov=1")
    expect(hint).to_be_hidden()


def test_exports_name_the_run_they_take(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?steps=20&run=SGD,lr=0.01&run=Adam,lr=0.01&sel=1")
    expect(page.get_by_test_id("export-csv")).to_contain_text("run 2")
    expect(page.get_by_test_id("export-json")).to_have_attribute(
        "aria-label", "Download run 2 (Adam) as JSON"
    )
    page.locator("[data-select-run]").first.click()
    expect(page.get_by_test_id("export-csv")).to_contain_text("run 1")


FIT = """() => {
  const div = document.querySelector('[data-testid=fit-chart]');
  const find = (role) => (div.data || []).find(t => t.meta && t.meta.role === role) || null;
  const fit = find('fit');
  const boundary = find('boundary');
  return {
    fit: fit && fit.meta, boundary: boundary && boundary.meta.x,
    points: (div.data || []).filter(t => t.meta && t.meta.role === 'data')
      .reduce((n, t) => n + t.x.length, 0),
  };
}"""


def scrub_to(page: Page, step: int) -> None:
    page.get_by_test_id("scrub").evaluate(
        "(el, step) => { el.value = String(step);"
        " el.dispatchEvent(new Event('input', {bubbles: true})); }",
        step,
    )


def test_a_regression_model_shows_its_data_and_the_fit_of_the_frame(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?steps=80&run=SGD,lr=0.05")
    page.get_by_test_id("surface-select").select_option("model")
    page.wait_for_function("() => window.losslab.state.surface === 'model'")
    page.wait_for_function(RUNS_DONE)
    expect(page.get_by_test_id("fit-tab")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("fit-chart")).to_be_visible()
    frames = page.evaluate("() => Object.values(window.losslab.runs)[0].frames")
    page.wait_for_function(
        "(n) => { const f = (document.querySelector('[data-testid=fit-chart]').data || [])"
        ".find(t => t.meta && t.meta.role === 'fit'); return f && f.meta.step === n; }",
        arg=len(frames) - 1,
    )
    shown = page.evaluate(FIT)
    assert shown["points"] == 200
    assert (shown["fit"]["w"], shown["fit"]["b"]) == (frames[-1]["x"], frames[-1]["y"])
    expect(page.get_by_test_id("fit-note")).to_contain_text("ŷ =")

    # The line moves with the playhead.
    scrub_to(page, 5)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=fit-chart]').data || [])"
        ".some(t => t.meta && t.meta.role === 'fit' && t.meta.step === 5)"
    )
    shown = page.evaluate(FIT)
    assert (shown["fit"]["w"], shown["fit"]["b"]) == (frames[5]["x"], frames[5]["y"])

    # Logistic regression: the probability and the boundary x = -b/w.
    page.get_by_test_id("model-select").select_option("logistic_regression")
    page.wait_for_function("() => window.losslab.state.model.model === 'logistic_regression'")
    page.wait_for_function(RUNS_DONE)
    frames = page.evaluate("() => Object.values(window.losslab.runs)[0].frames")
    last = frames[-1]
    page.wait_for_function(
        "(w) => (document.querySelector('[data-testid=fit-chart]').data || [])"
        ".some(t => t.meta && t.meta.role === 'fit' && t.meta.w === w)",
        arg=last["x"],
    )
    shown = page.evaluate(FIT)
    boundary = -last["y"] / last["x"]
    if shown["boundary"] is not None:
        assert abs(shown["boundary"] - boundary) < 1e-9
    expect(page.get_by_test_id("fit-note")).to_contain_text("boundary x = −b/w")

    # Another surface has no data: the tab goes and the stability tab comes back.
    page.get_by_test_id("surface-select").select_option("bowl")
    expect(page.get_by_test_id("fit-tab")).to_be_hidden()
    expect(page.get_by_test_id("stability-tab")).to_have_attribute("aria-selected", "true")
    assert errors(page) == []


def test_a_hand_edited_link_cannot_break_the_view(page: Page, live_server: str) -> None:
    """Out-of-range colours, steps, speeds and tabs fall back; every run still gets a colour
    of its own; hiding every run leaves the legend to bring them back."""
    open_page(
        page,
        f"{live_server}/?steps=40&step=99999&speed=7&tab=nope"
        "&run=SGD,lr=0.01,color=99,hide=1&run=Adam,lr=0.01,color=-1,hide=1"
        "&run=RMSprop,lr=0.01,color=0&run=SGD,lr=0.02,color=0",
    )
    state = page.evaluate(
        """() => { const s = window.losslab.state;
          return {playhead: s.playhead, speed: s.speed, tab: s.tab, hidden: s.hidden.length,
                  colours: s.runs.map(r => r.color)}; }"""
    )
    assert state["playhead"] is None and state["speed"] == 60 and state["tab"] == "stability"
    assert state["hidden"] == 2
    assert len(set(state["colours"])) == 4 and all(0 <= c < 8 for c in state["colours"])
    # Hidden runs stay in the legend, greyed, to be clicked back.
    visible = [run["visible"] for run in landscape_runs(page)]
    assert visible.count("legendonly") == 2
    assert errors(page) == []
