"""Train the network: all the MLP's weights trained with the selected run's optimizer, its
path drawn on the PCA plane of that path, checked against POST /api/models/mlp/train."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, Route, expect

from tests.browser.test_knobs import chart_traces, errors, restored_page, set_number
from tests.browser.test_page import RUNS_DONE, open_page

TRAINED = "() => { const n = window.losslab.network; return Boolean(n.result) && !n.training; }"


def api_train(live_server: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{live_server}/api/models/mlp/train", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def trace(page: Page, testid: str, role: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        t for t in chart_traces(page, testid) if t["meta"] and t["meta"].get("role") == role
    )
    return found


def axis_share(page: Page, axis: str, pattern: str) -> float:
    """The percentage an axis title of the plane shows, checked against `pattern`."""
    text = page.evaluate(
        "(axis) => document.querySelector('[data-testid=network-plane]').layout[axis].title.text",
        axis,
    )
    match = re.fullmatch(pattern, text)
    assert match, text
    return float(match.group(1))


def test_train_the_network_on_its_pca_plane(page: Page, live_server: str, artifacts: Path) -> None:
    open_page(page, f"{live_server}/?steps=100&run=Adam,lr=0.01")
    chip = page.get_by_test_id("network-train-open")
    expect(chip).to_be_hidden()
    page.get_by_test_id("surface-select").select_option("model")
    page.wait_for_function("() => window.losslab.state.surface === 'model'")
    page.get_by_test_id("model-select").select_option("mlp_plane")
    page.wait_for_function("() => window.losslab.state.model.model === 'mlp_plane'")
    page.wait_for_function(RUNS_DONE)
    chip.click()
    expect(page.get_by_test_id("network-plane")).to_be_visible()
    expect(page.get_by_test_id("network-subtitle")).to_contain_text(
        "Trains all 354 weights with Adam lr 0.01"
    )
    page.get_by_test_id("network-dataset").select_option("moons")
    set_number(page, "network-steps", 100)

    # The server's reason for a bad value shows by its box.
    page.get_by_test_id("network-batch-mode").select_option("mini")
    set_number(page, "network-batch-size", 400)
    page.get_by_test_id("network-train-button").click()
    expect(page.get_by_test_id("network-error")).to_have_text(
        "batch_size must be a whole number between 1 and 300"
    )
    expect(page.get_by_test_id("network-batch-size")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => window.losslab.network.result") is None

    page.get_by_test_id("network-batch-mode").select_option("full")
    page.get_by_test_id("network-train-button").click()
    page.wait_for_function(TRAINED)
    expect(page.get_by_test_id("network-error")).to_be_hidden()
    network = page.evaluate("() => window.losslab.network")
    request = network["request"]
    assert {k: v for k, v in request.items() if k not in ("hyperparameters", "resolution")} == {
        "dataset": "moons",
        "seed": 0,
        "optimizer": "Adam",
        "steps": 100,
        "batch_size": None,
    }
    assert request["hyperparameters"]["lr"] == 0.01
    expected = api_train(live_server, request)
    assert network["result"] == expected

    path = trace(page, "network-plane", "network-path")
    assert path["x"] == expected["path_a"] and path["y"] == expected["path_b"]
    assert trace(page, "network-plane", "network-start")["x"] == expected["path_a"][:1]
    assert trace(page, "network-plane", "network-end")["y"] == expected["path_b"][-1:]
    pc1, pc2 = (100 * share for share in expected["explained_variance"])
    assert abs(axis_share(page, "xaxis", r"PC1 \(([\d.]+)% of variance\)") - pc1) <= 0.5
    assert abs(axis_share(page, "yaxis", r"PC2 \(([\d.]+)%\)") - pc2) <= 0.5

    points = expected["steps_taken"] + 1
    loss = trace(page, "network-loss", "network-loss")
    accuracy = trace(page, "network-loss", "network-accuracy")
    assert len(loss["x"]) == points == 101 and loss["y"] == expected["losses"]
    assert accuracy["y"] == expected["accuracy"]
    summary = page.get_by_test_id("network-summary")
    expect(summary).to_contain_text("final loss")
    expect(summary).to_contain_text("100 steps of Adam on moons")
    expect(summary.locator(".badge")).to_have_attribute("data-status", expected["status"])
    page.screenshot(path=str(artifacts / "network.png"))

    # A changed setting marks the shown training stale; the link restores and retrains it.
    set_number(page, "network-seed", 5)
    expect(page.locator("[data-network-stale]")).to_be_visible()
    set_number(page, "network-seed", 0)
    expect(page.locator("[data-network-stale]")).to_be_hidden()
    assert "net=moons,100,full,0" in page.url
    restored = restored_page(page)
    restored.wait_for_function(TRAINED)
    assert restored.evaluate("() => window.losslab.network.result.path_a") == expected["path_a"]
    restored.close()

    page.keyboard.press("Escape")
    expect(page.get_by_test_id("network-plane")).to_be_hidden()
    assert "net=" not in page.url
    assert errors(page, allow_422=True) == []
    assert page.watch.foreign == []  # type: ignore[attr-defined]


def test_a_busy_server_is_retried_once(page: Page, live_server: str) -> None:
    answered: list[int] = []

    def busy_once(route: Route) -> None:
        if answered:
            answered.append(200)
            route.continue_()
            return
        answered.append(429)
        route.fulfill(
            status=429,
            headers={"Retry-After": "1"},
            json={"detail": "Too many jobs at once: retry after 1 s"},
        )

    page.route("**/api/models/mlp/train", busy_once)
    open_page(page, f"{live_server}/?net=spirals,30,16,2&run=SGD,lr=0.05")
    expect(page.get_by_test_id("network-plane")).to_be_visible()
    page.wait_for_function(TRAINED)
    assert answered == [429, 200]
    request = page.evaluate("() => window.losslab.network.request")
    assert (request["dataset"], request["steps"], request["batch_size"], request["seed"]) == (
        "spirals",
        30,
        16,
        2,
    )
    expect(page.get_by_test_id("network-summary")).to_contain_text("30 steps of SGD on spirals")
    busy = "the server responded with a status of 429"
    assert [e for e in errors(page) if busy not in e] == []
