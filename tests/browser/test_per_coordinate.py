"""Per-coordinate settings: x and y as two parameter groups, each float setting with an x and
a y value. The request's `param_groups` are those values where they differ from the run's
own, the run equals the API's for the same request, the link and Copy as PyTorch carry them;
an optimizer, or a run, that cannot take them says why."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.test_knobs import errors, restored_page, wait_selected
from tests.browser.test_page import api_run, open_page
from tests.browser.test_phone import PHONE, new_page

URL = "/?surface=rosenbrock&steps=120&run=SGD,lr=0.001,momentum=0.9"


def set_coordinate(page: Page, name: str, coordinate: int, value: float) -> None:
    box = page.locator(f"[data-hparam-value='{name}'][data-hparam-value-index='{coordinate}']")
    box.fill(str(value))
    box.dispatch_event("change")


def test_per_coordinate_settings_are_two_parameter_groups(page: Page, live_server: str) -> None:
    open_page(page, live_server + URL)
    toggle = page.get_by_test_id("per-coordinate")
    expect(toggle).to_be_enabled()
    expect(toggle).not_to_be_checked()
    expect(page.locator("[data-split]")).to_have_count(0)
    toggle.check()
    run = wait_selected(page, "Array.isArray(c.param_groups)")
    assert run["config"]["param_groups"] == [{}, {}]
    # Each float setting has an x and a y value; the switches stay one.
    for name in ("lr", "momentum", "dampening", "weight_decay"):
        expect(page.locator(f"[data-hparam='{name}'][data-split]")).to_be_visible()
    expect(page.locator("[data-hparam='nesterov']")).to_have_count(1)
    # A map would step one setting for both: it is not offered for this run.
    expect(page.get_by_test_id("hparam-map-open")).to_be_disabled()

    set_coordinate(page, "lr", 1, 0.0003)
    wait_selected(page, "c.param_groups[1].lr === 0.0003")
    set_coordinate(page, "momentum", 0, 0.5)
    run = wait_selected(page, "c.param_groups[0].momentum === 0.5")
    assert run["config"]["hyperparameters"]["lr"] == 0.001
    assert run["config"]["param_groups"] == [{"momentum": 0.5}, {"lr": 0.0003}]
    expected = api_run(live_server, run["config"])["frames"]
    path = [(f["x"], f["y"], f["loss"]) for f in run["frames"]]
    assert path == [(f["x"], f["y"], f["loss"]) for f in expected]
    # ... and the groups are what made this path.
    shared = api_run(live_server, {**run["config"], "param_groups": None})["frames"]
    assert path != [(f["x"], f["y"], f["loss"]) for f in shared]

    # The link carries them; a page opened from it runs the same request.
    assert "pg=1" in page.url and "py.lr=0.0003" in page.url and "px.momentum=0.5" in page.url
    restored = restored_page(page)
    again = wait_selected(restored, "Array.isArray(c.param_groups)")
    assert again["config"] == run["config"]
    expect(restored.get_by_test_id("per-coordinate")).to_be_checked()
    box = restored.locator("[data-hparam-value='lr'][data-hparam-value-index='1']")
    expect(box).to_have_value("0.0003")
    restored.close()

    # Copy as PyTorch writes the grouped call.
    page.get_by_test_id("copy-pytorch").click()
    code = page.get_by_test_id("script-code")
    expect(code).to_contain_text("torch.optim.SGD([{")
    text = code.inner_text()
    call = next(line for line in text.splitlines() if "torch.optim.SGD(" in line)
    assert "[px]" in call and "[py]" in call and "0.0003" in call and "0.5" in call, call
    expect(page.get_by_test_id("script-error")).to_be_hidden()
    page.get_by_test_id("script-close").click()

    # Off: the run's own settings for both again.
    toggle.uncheck()
    wait_selected(page, "!('param_groups' in c)")
    expect(page.locator("[data-split]")).to_have_count(0)
    assert "pg=1" not in page.url
    expect(page.get_by_test_id("hparam-map-open")).to_be_enabled()
    assert errors(page) == []


def test_what_cannot_take_them_says_why(page: Page, live_server: str) -> None:
    # A link asks for per-coordinate L-BFGS: the API refuses, beside the control.
    runs = "sel=1&run=SGD,lr=0.001&run=LBFGS,lr=0.5,pg=1"
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=40&{runs}")
    error = page.get_by_test_id("per-coordinate-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("param_groups take a first-order")
    toggle = page.get_by_test_id("per-coordinate")
    # Still on, so it can be turned off; the form is L-BFGS's own.
    expect(toggle).to_be_checked()
    expect(toggle).to_be_enabled()
    expect(page.locator("[data-split]")).to_have_count(0)
    toggle.uncheck()
    wait_selected(page, "c.optimizer === 'LBFGS' && !('param_groups' in c)")
    expect(error).to_be_hidden()
    expect(toggle).to_be_disabled()
    why = page.get_by_test_id("per-coordinate-row").locator("label").get_attribute("title")
    assert why and "plain first-order" in why and "LBFGS" in why, why

    # Clipping: an optimizer that could, a run that cannot.
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=40&run=SGD,lr=0.001,clip=norm/1/2")
    expect(toggle).to_be_disabled()
    why = page.get_by_test_id("per-coordinate-row").locator("label").get_attribute("title")
    assert why and "clipping" in why, why

    # y = w·x has no y to set apart.
    open_page(
        page,
        f"{live_server}/?surface=model&model=linear_regression&data=tiny&batch=full&mseed=0"
        "&bias=0&steps=40&run=SGD,lr=0.01",
    )
    expect(toggle).to_be_disabled()
    why = page.get_by_test_id("per-coordinate-row").locator("label").get_attribute("title")
    assert why and "one parameter" in why, why
    assert errors(page, allow_422=True) == []


def test_per_coordinate_settings_fit_a_phone(browser: Browser, live_server: str) -> None:
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    open_page(page, live_server + URL + ",pg=1,py.lr=0.0003")
    boxes = page.evaluate(
        """() => {
          const box = (e) => { const r = e.getBoundingClientRect();
            return {left: r.left, right: r.right, width: r.width, height: r.height}; };
          const sidebar = document.querySelector('.sidebar');
          return {
            sidebar: [sidebar.scrollWidth, sidebar.clientWidth],
            toggle: box(document.querySelector('[data-testid=per-coordinate-row] label')),
            sliders: [...document.querySelectorAll('[data-split] input[type=range]')].map(box),
            values: [...document.querySelectorAll('[data-split] input[type=number]')].map(box),
          };
        }"""
    )
    assert boxes["sidebar"][0] <= boxes["sidebar"][1], boxes
    assert boxes["toggle"]["height"] >= 44, boxes
    assert len(boxes["sliders"]) == len(boxes["values"]) == 8, boxes
    for part in boxes["sliders"] + boxes["values"]:
        assert part["left"] >= 0 and part["right"] <= PHONE["width"], boxes
    assert all(s["height"] >= 44 and s["width"] >= 150 for s in boxes["sliders"]), boxes
    assert all(v["width"] >= 70 for v in boxes["values"]), boxes
    assert errors(page) == []
    page.context.close()
