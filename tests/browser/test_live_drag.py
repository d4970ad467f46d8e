"""Live drag (issue 11): a slider of the selected run redraws its run's path from a sweep in
the input event itself, then the exact torch run replaces the preview; the start point
streams its new run at once; runs a sweep cannot stand for work as before."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_knobs import chart_traces, drawn_path, errors, path_of
from tests.browser.test_page import RUNS_DONE, api_run, open_page, selected_run

SLIDERS = {
    "lr": "input[type=range][data-hparam='lr']",
    "momentum": "input[type=range][data-hparam='momentum']",
    "betas.0": "[data-hparam='betas'] input[type=range][data-hparam-index='0']",
}

# Grab a slider as a pointer does (pointerdown, focus), in the page.
GRAB = """(selector) => {
  const slider = document.querySelector(selector);
  slider.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));
  slider.focus();
}"""

# Move a grabbed slider to each position with an `input` event, as a drag does, and read in
# the same task, right after each event, what the plots hold for the selected run.
MOVE = """({selector, positions}) => {
  const {state} = window.losslab;
  const id = state.selected;
  const slider = document.querySelector(selector);
  const box = slider.closest('.hp-number').querySelector('[data-hparam-value]');
  const trace = (testid) => {
    const div = document.querySelector(`[data-testid=${testid}]`);
    return (div.data || []).find((t) => t.meta && t.meta.runId === id) || null;
  };
  return positions.map((position) => {
    slider.value = String(position);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    const path = trace('landscape');
    return {
      value: Number(box.value),
      preview: path.meta.preview || null,
      x: Array.from(path.x),
      y: Array.from(path.y),
      charts: ['loss-chart', 'grad-chart', 'lr-chart'].map((t) => {
        const line = trace(t);
        return line && line.meta.preview ? line.meta.preview.target : null;
      }),
      badge: !document.querySelector('[data-testid=preview-badge]').hidden,
      dashed: Boolean(document.querySelector('[data-testid=landscape] .is-preview .js-line')),
    };
  });
}"""

PACED_MOVES = """async ({selector, positions}) => {
  const div = document.querySelector('[data-testid=landscape]');
  let redraws = 0;
  const count = () => { redraws += 1; };
  div.on('plotly_afterplot', count);
  const slider = document.querySelector(selector);
  for (const position of [...positions].reverse()) {
    slider.value = String(position);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    await new Promise(requestAnimationFrame);
    await new Promise(requestAnimationFrame);
  }
  await new Promise((done) => setTimeout(done, 200));
  div.removeListener('plotly_afterplot', count);
  return redraws;
}"""

RELEASE = """(selector) => {
  const slider = document.querySelector(selector);
  slider.dispatchEvent(new Event('change', {bubbles: true}));
  slider.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
}"""

SETTLED = """() => {
  const {state, runs} = window.losslab;
  return Object.values(runs).every((r) => r.status !== 'running' && !r.preview)
    && !document.querySelector('.is-preview')
    && document.querySelector('[data-testid=preview-badge]').hidden;
}"""


def grab(page: Page, slider: str) -> None:
    """Grab a slider and wait for its sweep: the strip on its track."""
    page.evaluate(GRAB, SLIDERS[slider])
    strip = page.locator(SLIDERS[slider]).locator("xpath=..")
    expect(strip).to_have_class("hp-slider has-sweep")


def sweep_row(live_server: str, config: dict[str, Any], name: str, value: float) -> Any:
    """The row of the page's sweep (as `POST /api/sweeps` answers it) for `value`."""
    lo, hi, log = {"lr": (1e-5, 10.0, True), "momentum": (0.0, 0.999, False)}.get(
        name, (0.0, 0.9999, False)
    )
    axis = {
        "name": name,
        "min": lo,
        "max": hi,
        "n": min(97, 400_000 // config["steps"]),
        "log": log,
    }
    response = httpx.post(f"{live_server}/api/sweeps", json={**config, "axis": axis}, timeout=60)
    assert response.status_code == 200, response.text
    sweep = response.json()
    i = sweep["values"].index(value)
    return {"x": sweep["x"][i], "y": sweep["y"][i], "status": sweep["status"][i]}


def settle_and_check(page: Page, live_server: str, selector: str) -> Any:
    """Release the slider; the exact run must replace the preview everywhere, as the API has it."""
    page.evaluate(RELEASE, selector)
    page.wait_for_function(SETTLED)
    run = selected_run(page)
    expected = api_run(live_server, run["config"])
    assert path_of(run["frames"]) == path_of(expected["frames"])
    assert drawn_path(page, run["id"]) == path_of(expected["frames"])
    # The charts: the exact run's, no preview left.
    page.wait_for_function(
        """(id) => ['loss-chart', 'grad-chart', 'lr-chart'].every((t) => {
          const div = document.querySelector(`[data-testid=${t}]`);
          const line = (div.data || []).find((l) => l.meta && l.meta.runId === id);
          return line && !line.meta.preview
            && line.y.length === window.losslab.runs[id].frames.length;
        })""",
        arg=run["id"],
    )
    loss = next(
        t for t in chart_traces(page, "loss-chart") if (t["meta"] or {}).get("runId") == run["id"]
    )
    assert loss["y"] == [f["loss"] for f in expected["frames"]]
    # The analysis panel speaks of the exact run; the URL holds its settings.
    expect(page.locator("[data-events-outcome]")).not_to_contain_text("still running")
    return run


@pytest.mark.parametrize(
    ("query", "slider", "positions"),
    [
        ("surface=rosenbrock&steps=400&run=SGD,lr=0.0005", "lr", list(range(360, 442, 6))),
        # Two SGD runs are named by their lr: a name that followed the drag would redraw
        # every plot at each input event (the preview must stay on the fast path).
        (
            "surface=rosenbrock&steps=400&run=SGD,lr=0.002&run=SGD,lr=0.0005&sel=1",
            "lr",
            list(range(360, 442, 6)),
        ),
        (
            "surface=bowl&steps=300&run=SGD,lr=0.01,momentum=0.5",
            "momentum",
            [0.55, 0.7, 0.85, 0.95],
        ),
        ("surface=rosenbrock&steps=300&run=Adam,lr=0.02", "betas.0", [0.5, 0.7, 0.8, 0.95]),
    ],
)
def test_slider_drag_previews_from_a_sweep_then_the_exact_run(
    page: Page, live_server: str, query: str, slider: str, positions: list[float]
) -> None:
    open_page(page, f"{live_server}/?{query}")
    grab(page, slider)
    config = selected_run(page)["config"]
    # Moved a frame apart, as a hand does: the preview redraws no plot from scratch (a run
    # name that followed the value once did, at every input event).
    redraws = page.evaluate(PACED_MOVES, {"selector": SLIDERS[slider], "positions": positions})
    assert redraws <= 2, redraws
    seen = page.evaluate(MOVE, {"selector": SLIDERS[slider], "positions": positions})
    for step in seen:
        # In the input event itself: the path of the nearest swept value, marked a preview.
        preview = step["preview"]
        assert preview is not None, step
        assert preview["target"] == step["value"]
        assert step["charts"] == [step["value"]] * 3
        assert step["badge"] and step["dashed"]
    last = seen[-1]
    name = last["preview"]["name"]
    row = sweep_row(live_server, config, name, last["preview"]["value"])
    assert last["x"] == row["x"] and last["y"] == row["y"]
    assert last["preview"]["status"] == row["status"]
    # The values moved (the drag did something), and so did the path.
    assert len({s["value"] for s in seen}) > 1
    assert seen[0]["x"] != last["x"]

    run = settle_and_check(page, live_server, SLIDERS[slider])
    key = "betas" if name == "betas.0" else name
    shown = run["config"]["hyperparameters"][key]
    assert (shown[0] if key == "betas" else shown) == last["value"]
    # The link holds the value (written once the slider rests).
    page.wait_for_function("(s) => location.search.includes(s)", arg=f"{key}={last['value']}")
    assert errors(page) == []


def test_strip_says_where_the_run_converges(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=1000&run=SGD,lr=0.0005,momentum=0.9")
    grab(page, "lr")
    slider = page.locator(SLIDERS["lr"])
    described = slider.get_attribute("aria-describedby")
    assert described
    text = page.locator(f"#{described}").text_content() or ""
    # SGD on Rosenbrock: small rates crawl, larger ones converge, and too large diverge.
    assert text.startswith("lr: ")
    assert "diverges from" in text and "converges" in text
    assert "(97 values, 1000 steps each)" in text
    # Shown while the slider has focus; the legend says what the colours mean.
    expect(page.locator(f"#{described}")).to_be_visible()
    expect(page.locator("[data-sweep-legend]")).to_be_visible()
    assert errors(page) == []


def test_exact_run_replaces_the_preview_when_the_slider_rests(page: Page, live_server: str) -> None:
    """No release at all: ~150 ms without movement sends the exact run."""
    open_page(page, f"{live_server}/?surface=bowl&steps=200&run=SGD,lr=0.01")
    grab(page, "lr")
    seen = page.evaluate(MOVE, {"selector": SLIDERS["lr"], "positions": [500, 520]})
    assert seen[-1]["preview"] is not None
    page.wait_for_function(SETTLED)
    run = selected_run(page)
    assert run["config"]["hyperparameters"]["lr"] == seen[-1]["value"]
    assert path_of(run["frames"]) == path_of(api_run(live_server, run["config"])["frames"])


@pytest.mark.parametrize(
    "query",
    [
        # No batched rule for LBFGS: no sweep is asked for.
        "surface=rosenbrock&steps=60&run=LBFGS,lr=0.5",
        # A scheduler: a sweep cannot stand for the run.
        "surface=bowl&steps=60&run=SGD,lr=0.05,sched=StepLR",
        # Asked for, and refused by the server (nesterov needs momentum above 0 at both ends).
        "surface=bowl&steps=60&run=SGD,lr=0.05,momentum=0.5,nesterov=1",
    ],
)
def test_runs_without_a_sweep_work_as_before(page: Page, live_server: str, query: str) -> None:
    open_page(page, f"{live_server}/?{query}")
    slider = "momentum" if "nesterov" in query else "lr"
    selector = SLIDERS[slider]
    page.evaluate(GRAB, selector)
    page.wait_for_timeout(600)  # time for a sweep to land, were one asked for
    start = page.evaluate(f"() => Number(document.querySelector({selector!r}).value)")
    moves = [start + 10, start + 20] if slider == "lr" else [0.6, 0.7]
    seen = page.evaluate(MOVE, {"selector": selector, "positions": moves})
    assert all(step["preview"] is None and not step["badge"] for step in seen)
    assert page.locator(".hp-slider.has-sweep").count() == 0
    page.evaluate(RELEASE, selector)
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    assert run["config"]["hyperparameters"][slider] == seen[-1]["value"]
    expected = api_run(live_server, run["config"])
    assert path_of(run["frames"]) == path_of(expected["frames"])
    assert drawn_path(page, run["id"]) == path_of(expected["frames"])
    assert errors(page) == []


# The time from a pointer move on the map to the first frame showing a path from the new
# start, measured in the page.
WATCH_START = """() => {
  const div = document.querySelector('[data-testid=landscape]');
  window.__startLags = [];
  div.addEventListener('pointermove', () => {
    const t0 = performance.now();
    const check = () => {
      const {state} = window.losslab;
      const path = div.data.find((t) => t.meta && t.meta.runId === state.selected);
      const [x, y] = state.start;
      const near = path && path.x.length && Math.abs(path.x[0] - x) < 1e-6;
      if (near && Math.abs(path.y[0] - y) < 1e-6) {
        window.__startLags.push([performance.now() - t0, path.x.length]);
      } else if (performance.now() - t0 < 2000) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, {capture: true});
}"""


def test_dragging_the_start_streams_the_new_run_at_once(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=2000&run=SGD,lr=0.0002")
    page.evaluate(WATCH_START)
    at = page.evaluate(
        """([x, y]) => {
          const div = document.querySelector('[data-testid=landscape]');
          const L = div._fullLayout;
          const r = div.getBoundingClientRect();
          return [
            r.left + L.xaxis._offset + L.xaxis.d2p(x),
            r.top + L.yaxis._offset + L.yaxis.d2p(y),
          ];
        }""",
        [-1.2, 1.0],
    )
    page.mouse.move(at[0], at[1])
    page.mouse.down()
    for k in range(1, 7):
        page.mouse.move(at[0] + 12 * k, at[1] + 6 * k)
        page.wait_for_timeout(60)
    # While the pointer is still down, the path on screen follows the dragged start, shown as
    # its first frames come in (not held behind the old path until it is as long).
    page.wait_for_function("() => window.__startLags.length >= 3")
    lags = page.evaluate("() => window.__startLags")
    assert sorted(lag for lag, _ in lags)[len(lags) // 2] < 400, lags
    assert min(length for _, length in lags) < 2001, lags
    page.mouse.up()
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    expected = api_run(live_server, run["config"])
    assert path_of(run["frames"]) == path_of(expected["frames"])
    assert drawn_path(page, run["id"]) == path_of(expected["frames"])
    assert errors(page) == []


def test_preview_in_the_3d_view(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=200&view=3d&run=SGD,lr=0.01")
    grab(page, "lr")
    seen = page.evaluate(MOVE, {"selector": SLIDERS["lr"], "positions": [480, 500]})
    value = seen[-1]["value"]
    # 3D redraws with Plotly in the next frame: the preview trace, dashed, then the exact run.
    page.wait_for_function(
        """(value) => {
          const div = document.querySelector('[data-testid=landscape]');
          const id = window.losslab.state.selected;
          const path = div.data.find((t) => t.meta && t.meta.runId === id);
          const p = path.meta.preview;
          return p && p.target === value && path.line.dash === 'dash';
        }""",
        arg=value,
    )
    page.evaluate(RELEASE, SLIDERS["lr"])
    page.wait_for_function(SETTLED)
    run = selected_run(page)
    assert drawn_path(page, run["id"]) == path_of(api_run(live_server, run["config"])["frames"])
    assert errors(page) == []
