"""y = w·x, linear regression without its bias: one parameter, so the landscape is the loss
against w, a curve, with each run's path on it; a click on it sets the start w. The model's
options (bias, the order of the samples, logistic regression's loss) go into the request and
the link, and come back from it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_knobs import errors, restored_page, wait_selected
from tests.browser.test_page import api_run, open_page, selected_run
from tests.browser.test_phone import PHONE, new_page

LINK = (
    "/?surface=model&model=linear_regression&data=noisy_line&batch=full&mseed=0&bias=0"
    "&steps=60&run=SGD,lr=0.05"
)

TRACES = """() => document.querySelector('[data-testid=landscape]').data.map(t => ({
  type: t.type || 'scatter', meta: t.meta || null,
  x: Array.from(t.x || []), y: Array.from(t.y || []),
}))"""


def landscape(page: Page) -> list[dict[str, Any]]:
    traces: list[dict[str, Any]] = page.evaluate(TRACES)
    return traces


def role(traces: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [t for t in traces if t["meta"] and t["meta"].get("role") == name]
    assert len(found) == 1, [t["meta"] for t in traces]
    return found[0]


def described(live_server: str, surface: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live_server}/api/surfaces/model?resolution=3", json=surface, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def full_loss(data: dict[str, list[float]], w: float) -> float:
    """mean((w·x − y)²) over the data set: the loss of nn.Linear(1, 1, bias=False)."""
    pairs = list(zip(data["x"], data["y"], strict=True))
    return sum((w * x - y) ** 2 for x, y in pairs) / len(pairs)


def test_y_equals_w_x_is_drawn_as_its_loss_against_w(page: Page, live_server: str) -> None:
    # A link's 3D view falls back to the curve: a curve has no surface to turn around.
    open_page(page, live_server + LINK + "&view=3d")
    answer = described(
        live_server, {"model": "linear_regression", "dataset": "noisy_line", "bias": False}
    )
    assert answer["surface"]["parameters"] == 1
    data, domain = answer["data"], answer["surface"]["domain"]
    traces = landscape(page)
    assert not any(t["type"] in ("contour", "surface") for t in traces)

    # One curve: x the grid of w over the domain, y the loss over all samples there.
    curve = role(traces, "loss-curve")
    assert len(curve["x"]) > 50
    assert curve["x"][0] == pytest.approx(domain["x"][0])
    assert curve["x"][-1] == pytest.approx(domain["x"][1])
    for w, loss in zip(curve["x"], curve["y"], strict=True):
        assert loss == pytest.approx(full_loss(data, w), rel=1e-9)
    minimum = role(traces, "minimum")
    assert minimum["x"] == [pytest.approx(answer["surface"]["minima"][0]["x"])]
    assert minimum["y"][0] == pytest.approx(full_loss(data, minimum["x"][0]), rel=1e-9)
    assert minimum["y"][0] <= min(curve["y"])

    # The run: started at [w], its path the frames' (w, loss), every point on the curve.
    run = selected_run(page)
    assert len(run["config"]["start"]) == 1
    expected = api_run(live_server, run["config"])["frames"]
    assert [(f["x"], f["loss"]) for f in run["frames"]] == [(f["x"], f["loss"]) for f in expected]
    assert all(f["y"] == 0 for f in run["frames"])
    path = next(t for t in traces if t["meta"] and t["meta"].get("runId") == run["id"])
    assert path["x"] == [f["x"] for f in expected]
    assert path["y"] == [f["loss"] for f in expected]
    for w, loss in zip(path["x"], path["y"], strict=True):
        assert loss == pytest.approx(full_loss(data, w), rel=1e-5)

    # The playhead's point slides along the path as the scrubber moves.
    page.get_by_test_id("scrub").evaluate(
        "(el) => { el.value = '4'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_function(
        """(w) => {
          const data = document.querySelector('[data-testid=landscape]').data;
          const heads = data.find(t => t.meta && t.meta.role === 'playheads');
          return heads && heads.x.length === 1 && heads.x[0] === w;
        }""",
        arg=expected[4]["x"],
    )
    heads = role(landscape(page), "playheads")
    assert heads["y"] == [expected[4]["loss"]]
    readout = page.locator("[data-readout-pos]").inner_text()
    assert readout.startswith("w ") and float(readout[2:]) == pytest.approx(
        expected[4]["x"], rel=1e-3
    )

    # The gradient chart: the one component there is, |∂L/∂w|.
    grad = page.evaluate(
        """(id) => Array.from(document.querySelector('[data-testid=grad-chart]').data
             .find(t => t.meta && t.meta.runId === id).y)""",
        run["id"],
    )
    assert grad == pytest.approx([abs(f["grad"][0]) for f in expected], rel=1e-6)

    # w alone to start from; no 3D of a curve; no maps of a plane it does not have.
    expect(page.locator("label[for=start-x]")).to_have_text("start w")
    expect(page.get_by_test_id("start-y")).to_be_hidden()
    toggle = page.get_by_test_id("view-toggle")
    expect(toggle).to_be_disabled()
    expect(toggle).to_have_attribute("data-view", "contour")
    assert "curve" in (toggle.get_attribute("title") or "")
    expect(page.get_by_test_id("basin-map-button")).to_be_disabled()

    # Another surface: two parameters again, drawn in the view the link asked for.
    page.get_by_test_id("surface-select").select_option("rosenbrock")
    page.wait_for_function(
        """() => document.querySelector('[data-testid=landscape]').data
             .some(t => t.type === 'surface')"""
    )
    expect(toggle).to_be_enabled()
    expect(page.get_by_test_id("start-y")).to_be_visible()
    expect(page.get_by_test_id("basin-map-button")).to_be_enabled()
    assert errors(page) == []


def test_a_click_on_the_curve_sets_the_start_w(page: Page, live_server: str) -> None:
    open_page(page, live_server + LINK)
    at = page.evaluate(
        """() => {
          const gd = document.querySelector('[data-testid=landscape]');
          const xa = gd._fullLayout.xaxis;
          const ya = gd._fullLayout.yaxis;
          const r = gd.getBoundingClientRect();
          return [r.left + xa._offset + xa.c2p(3), r.top + ya._offset + ya._length * 0.4];
        }"""
    )
    page.mouse.click(at[0], at[1])
    run = wait_selected(page, "Math.abs(c.start[0] - 3) < 0.02")
    assert len(run["config"]["start"]) == 1
    assert page.evaluate("() => window.losslab.state.start[1]") == 0
    assert run["frames"][0]["x"] == pytest.approx(run["config"]["start"][0], rel=1e-6)
    expected = api_run(live_server, run["config"])["frames"]
    assert [f["x"] for f in run["frames"]] == [f["x"] for f in expected]
    start = role(landscape(page), "start")
    assert start["x"] == [run["config"]["start"][0]]
    assert errors(page) == []


def test_the_link_carries_bias_order_and_loss(page: Page, live_server: str) -> None:
    link = (
        "/?surface=model&model=linear_regression&data=noisy_line&batch=20&mseed=0&bias=0"
        "&shuffle=0&steps=40&run=SGD,lr=0.05"
    )
    open_page(page, live_server + link)
    run = selected_run(page)
    assert run["config"]["surface"] == {
        "model": "linear_regression", "dataset": "noisy_line", "batch_size": 20, "seed": 0,
        "bias": False, "shuffle": False,
    }  # fmt: skip
    expect(page.get_by_test_id("model-bias")).not_to_be_checked()
    expect(page.get_by_test_id("model-shuffle")).to_have_value("order")
    expected = api_run(live_server, run["config"])["frames"]
    assert [(f["x"], f["batch_loss"]) for f in run["frames"]] == [
        (f["x"], f["batch_loss"]) for f in expected
    ]
    assert "bias=0" in page.url and "shuffle=0" in page.url

    restored = restored_page(page)
    assert selected_run(restored)["config"] == run["config"]
    role(landscape(restored), "loss-curve")
    expect(restored.get_by_test_id("model-shuffle")).to_have_value("order")
    restored.close()

    # Shuffled again, then with its bias: two parameters, the contour and its 3D view.
    page.get_by_test_id("model-shuffle").select_option("shuffle")
    wait_selected(page, "!('shuffle' in c.surface)")
    page.get_by_test_id("model-bias").check()
    run = wait_selected(page, "!('bias' in c.surface) && c.start.length === 2")
    traces = landscape(page)
    assert any(t["type"] == "contour" for t in traces)
    assert not any(t["meta"] and t["meta"].get("role") == "loss-curve" for t in traces)
    expect(page.get_by_test_id("view-toggle")).to_be_enabled()
    expect(page.get_by_test_id("start-y")).to_be_visible()
    assert "bias=" not in page.url and "shuffle=" not in page.url

    # Logistic regression: no bias to switch off; its loss, cross-entropy or MSE.
    page.get_by_test_id("model-select").select_option("logistic_regression")
    wait_selected(page, "c.surface.model === 'logistic_regression'")
    expect(page.get_by_test_id("model-bias")).to_be_hidden()
    expect(page.get_by_test_id("model-loss")).to_have_value("cross_entropy")
    page.get_by_test_id("model-loss").select_option("mse")
    run = wait_selected(page, "c.surface.loss === 'mse'")
    assert "mloss=mse" in page.url
    expected = api_run(live_server, run["config"])["frames"]
    assert [f["loss"] for f in run["frames"]] == [f["loss"] for f in expected]
    restored = restored_page(page)
    expect(restored.get_by_test_id("model-loss")).to_have_value("mse")
    assert selected_run(restored)["config"]["surface"]["loss"] == "mse"
    restored.close()

    # A link from before these options: each is its default, and the request leaves it out.
    open_page(
        page,
        f"{live_server}/?surface=model&model=linear_regression&data=noisy_line&batch=20"
        "&mseed=0&steps=20&run=SGD,lr=0.05",
    )
    surface = selected_run(page)["config"]["surface"]
    assert not {"bias", "shuffle", "loss"} & set(surface)
    expect(page.get_by_test_id("model-bias")).to_be_checked()
    expect(page.get_by_test_id("model-shuffle")).to_have_value("shuffle")
    assert errors(page) == []


def test_the_curve_and_the_model_options_fit_a_phone(browser: Browser, live_server: str) -> None:
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    open_page(page, live_server + LINK.replace("batch=full", "batch=20"))
    role(landscape(page), "loss-curve")
    boxes = page.evaluate(
        """() => {
          const box = (e) => { const r = e.getBoundingClientRect();
            return {left: r.left, right: r.right, height: r.height}; };
          const plot = document.querySelector('[data-testid=landscape]');
          return {
            sidebar: [document.querySelector('.sidebar').scrollWidth,
                      document.querySelector('.sidebar').clientWidth],
            card: box(document.querySelector('.landscape-card')),
            plot: box(plot.querySelector('.nsewdrag')),
            legend: box(plot.querySelector('.legend')),
            bias: box(document.querySelector('[data-bias-row]')),
            shuffle: box(document.querySelector('[data-testid=model-shuffle]')),
          };
        }"""
    )
    assert boxes["sidebar"][0] <= boxes["sidebar"][1], boxes
    for name in ("card", "plot", "legend", "bias", "shuffle"):
        assert boxes[name]["left"] >= 0 and boxes[name]["right"] <= PHONE["width"], (name, boxes)
    assert boxes["plot"]["height"] >= 200, boxes
    assert boxes["bias"]["height"] >= 44 and boxes["shuffle"]["height"] >= 44, boxes
    assert errors(page) == []
    page.context.close()
