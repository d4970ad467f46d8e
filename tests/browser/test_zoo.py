"""The optimizer zoo on the page (issue #14): ~150 optimizers in a picker that filters a grouped
list, wrappers with their base optimizer's picker and settings, SAM's ascent arrow, the
Schedule-Free training point, triples (Adan's betas) and optimizers without an lr."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_links import assert_clean
from tests.browser.test_page import RUNS_DONE, api_run, open_page, selected_run
from tests.browser.test_phenomena import choose_preset
from tests.browser.test_phone import PHONE, new_page

PICKER = "[data-testid=optimizer-select]"
BASE_PICKER = "[data-testid=base-optimizer-picker]"
SHOWN = "[role=option]:not([hidden])"

# One trace of the landscape (main: the contour's plot, top: its overlay) by meta.role.
TRACE = """([where, role]) => {
  const plot = document.querySelector(
    where === 'top' ? '[data-landscape-top]' : '[data-testid=landscape]');
  const t = (plot.data || []).find((d) => d.meta && d.meta.role === role);
  return t ? {x: Array.from(t.x), y: Array.from(t.y), name: t.name, meta: t.meta} : null;
}"""


def trace(page: Page, where: str, role: str) -> Any:
    return page.evaluate(TRACE, [where, role])


def shown_names(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(SHOWN, "(os) => os.map((o) => o.dataset.name)")
    return names


def active_name(page: Page, picker: str = PICKER) -> str | None:
    name: str | None = page.evaluate(
        """(sel) => {
          const id = document.querySelector(sel).getAttribute('aria-activedescendant');
          return id ? document.getElementById(id).dataset.name : null;
        }""",
        picker,
    )
    return name


def test_sam_is_picked_by_typing_and_shows_its_base_and_its_ascent_arrow(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&start=3,2&steps=40&run=SGD,lr=0.1")
    box = page.locator(PICKER)
    box.click()
    box.fill("SAM")
    # The sharpness-aware family, and GSAM greyed out among those that cannot run here.
    names = shown_names(page)
    assert {"SAM", "WSAM", "FriendlySAM", "LookSAM", "BSAM"} <= set(names), names
    assert all("sam" in name.lower() for name in names), names
    assert active_name(page) == "SAM"  # the name itself before names that hold it
    gsam = page.locator("[role=option][data-name=GSAM]")
    expect(gsam).to_have_attribute("aria-disabled", "true")
    box.press("Enter")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'SAM'")
    expect(box).to_have_value("SAM")
    expect(box).to_have_attribute("aria-expanded", "false")
    # The wrapper's own settings, the base's picker (SGD, its default) and the base's own
    # settings under it; lr 0.1 came along, flat beside rho in the request.
    base = page.locator(BASE_PICKER)
    expect(base).to_have_value("SGD")
    expect(page.get_by_test_id("base-settings")).to_contain_text("SGD")
    for name in ("rho", "lr", "momentum"):
        expect(page.locator(f"input[type=range][data-hparam={name}]")).to_have_count(1)
    expect(page.get_by_test_id("optimizer-paper")).to_have_attribute("rel", "noopener")
    expect(page.get_by_test_id("optimizer-paper")).to_have_attribute("target", "_blank")
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    assert run["status"] in ("converged", "max_steps"), run["status"]
    hp = run["config"]["hyperparameters"]
    assert (hp["base_optimizer"], hp["lr"], hp["rho"]) == ("SGD", 0.1, 0.05)
    assert "run=SAM,lr=0.1" in page.url
    # The frames are torch's, and carry the ascent point of the step leaving each.
    expected = api_run(live_server, run["config"])["frames"]
    assert [f["ascent"] for f in run["frames"][:-1]] == [f["ascent"] for f in expected[:-1]]
    for step in (0, 3):
        page.locator("[data-testid=scrub]").fill(str(step))
        page.wait_for_function(
            """(s) => { const t = document.querySelector('[data-landscape-top]').data
                 .find((d) => d.meta && d.meta.role === 'arrow-ascent');
               return t && t.x[0] === window.losslab.runs[window.losslab.state.selected]
                 .frames[s].x; }""",
            arg=step,
        )
        frame = run["frames"][step]
        arrow = trace(page, "top", "arrow-ascent")
        assert arrow["x"] == [frame["x"], frame["ascent"][0]]
        assert arrow["y"] == [frame["y"], frame["ascent"][1]]
        assert arrow["meta"]["label"] == "ascent point (SAM perturbation)"
    expect(page.get_by_test_id("ascent-legend")).to_contain_text("ascent point (SAM perturbation)")
    key = trace(page, "main", "ascent-key")  # the legend beside the plot names it in full
    assert key["meta"]["label"] == "ascent point (SAM perturbation)"
    assert_clean(page)


def test_schedule_free_draws_its_training_point_beside_the_evaluation_point(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=rosenbrock&steps=60&run=Adam,lr=0.05")
    box = page.locator(PICKER)
    box.click()
    box.fill("schedulefreeadamw")
    assert shown_names(page) == ["ScheduleFreeAdamW"]
    box.press("Enter")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'ScheduleFreeAdamW'")
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    frames = run["frames"]
    assert run["status"] != "error"
    # The run's path is the evaluation point; the dotted companion is the training point.
    path = page.evaluate(
        """(id) => { const t = document.querySelector('[data-testid=landscape]').data
             .find((d) => d.meta && d.meta.runId === id);
           return {x: Array.from(t.x), y: Array.from(t.y)}; }""",
        run["id"],
    )
    assert path == {"x": [f["x"] for f in frames], "y": [f["y"] for f in frames]}
    train = trace(page, "main", "train-path")
    assert train is not None
    assert train["x"] == [f["train_point"][0] for f in frames]
    assert train["y"] == [f["train_point"][1] for f in frames]
    assert train["meta"]["label"] == "training point y (gradient taken here)"
    assert train["x"] != path["x"]  # they part once the averaging starts
    head = trace(page, "top", "train-heads")
    assert head["x"] == [frames[-1]["train_point"][0]]
    page.locator("[data-testid=scrub]").fill("10")
    page.wait_for_function(
        """(x) => document.querySelector('[data-landscape-top]').data
             .find((d) => d.meta && d.meta.role === 'train-heads').x[0] === x""",
        arg=frames[10]["train_point"][0],
    )
    expect(page.get_by_test_id("train-legend")).to_contain_text(
        "training point y (gradient taken here)"
    )
    expect(page.locator("[data-arrow-legend]")).to_contain_text("evaluation point x")
    expect(page.locator("[data-status-line]")).to_contain_text("evaluation point x")
    assert_clean(page)


def test_the_filter_finds_lion_and_the_keys_move_and_choose(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SGD,lr=0.1")
    box = page.locator(PICKER)
    box.focus()
    box.press("ArrowDown")  # opens the whole list on the optimizer chosen
    expect(box).to_have_attribute("aria-expanded", "true")
    assert active_name(page) == "SGD"
    assert len(shown_names(page)) > 140
    box.press_sequentially("lio")
    names = shown_names(page)
    assert "Lion" in names and "SGD" not in names, names
    assert active_name(page) == "Lion"
    assert names.index("DAdaptLion") < names.index("Lion")  # the list keeps its order
    box.press("ArrowUp")
    assert active_name(page) == "DAdaptLion"
    box.press("ArrowDown")
    assert active_name(page) == "Lion"
    box.press("Escape")  # closes and puts the chosen name back
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_value("SGD")
    box.fill("lio")
    box.press("Enter")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'Lion'")
    hp = page.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    assert hp["lr"] == 0.1  # lr carries over, as with the old select
    page.wait_for_function(RUNS_DONE)
    assert selected_run(page)["config"]["optimizer"] == "Lion"
    assert_clean(page)


def test_an_excluded_optimizer_is_listed_with_its_reason_but_cannot_be_chosen(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=Adam,lr=0.1")
    page.locator(".picker-toggle").first.click()
    group = page.locator("[role=group][data-group=excluded]")
    expect(group).to_be_visible()
    groups = page.eval_on_selector_all(
        "[role=listbox] > [role=group]", "(gs) => gs.map((g) => g.dataset.group)"
    )
    assert groups[0] == "torch" and groups[-1] == "excluded", groups
    sparse = group.locator("[role=option][data-name=SparseAdam]")
    expect(sparse).to_be_visible()
    expect(sparse).to_have_attribute("aria-disabled", "true")
    expect(sparse).to_contain_text("sparse gradients")
    assert "sparse gradients" in (sparse.get_attribute("title") or "")
    expect(sparse).to_be_disabled()
    sparse.click(force=True)
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.losslab.state.runs[0].optimizer") == "Adam"
    box = page.locator(PICKER)
    box.fill("SparseAdam")
    assert shown_names(page) == ["SparseAdam"]
    assert active_name(page) is None
    box.press("Enter")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.losslab.state.runs[0].optimizer") == "Adam"
    # A link naming one is not obeyed either: the page opens on its default run.
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SparseAdam,lr=0.1")
    assert page.evaluate("() => window.losslab.state.runs[0].optimizer") == "SGD"
    assert_clean(page)


def test_a_triple_has_three_sliders_and_round_trips_through_the_link(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=30&run=Adan,lr=0.05")
    sliders = page.locator("[data-hparam=betas] input[type=range]")
    expect(sliders).to_have_count(3)
    boxes = page.locator("[data-hparam-value=betas]")
    expect(boxes.nth(2)).to_have_value("0.99")
    sliders.nth(2).focus()
    sliders.nth(2).press("ArrowDown")
    expect(boxes.nth(2)).to_have_value("0.98")
    page.wait_for_function(
        """() => { const r = Object.values(window.losslab.runs)[0];
             return r.config && r.config.hyperparameters.betas[2] === 0.98
               && r.status !== 'running'; }"""
    )
    assert selected_run(page)["config"]["hyperparameters"]["betas"] == [0.98, 0.92, 0.98]
    assert "betas=0.98/0.92/0.98" in page.url
    other = page.context.new_page()
    other.watch = PageWatch(other, live_server)  # type: ignore[attr-defined]
    open_page(other, page.url)
    assert other.evaluate("() => window.losslab.state.runs[0].hyperparameters.betas") == [
        0.98,
        0.92,
        0.98,
    ]
    expect(other.locator("[data-hparam-value=betas]").nth(2)).to_have_value("0.98")
    # A link with two numbers for a triple is not read as one: the default stays.
    open_page(other, page.url.replace("betas=0.98/0.92/0.98", "betas=0.5/0.5"))
    assert other.evaluate("() => window.losslab.state.runs[0].hyperparameters.betas") == [
        0.98,
        0.92,
        0.99,
    ]
    assert_clean(page)


def test_a_new_base_keeps_lr_and_the_link_carries_base_and_settings(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=30&run=SAM,rho=0.1,lr=0.1,momentum=0.5")
    hp = page.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    assert (hp["base_optimizer"], hp["rho"], hp["lr"], hp["momentum"]) == ("SGD", 0.1, 0.1, 0.5)
    base = page.locator(BASE_PICKER)
    base.click()
    base.fill("radam")
    names = shown_names(page)
    # Both RAdams (torch's and pytorch_optimizer's), and Ranger, whose description names it.
    assert {"RAdam", "pytorch_optimizer.RAdam"} <= set(names), names
    assert "SAM" not in names and "ScheduleFreeRAdam" not in names  # bases only
    page.locator("[role=option][data-name='pytorch_optimizer.RAdam']").click()
    page.wait_for_function(
        "() => window.losslab.state.runs[0].hyperparameters.base_optimizer"
        " === 'pytorch_optimizer.RAdam'"
    )
    expect(base).to_have_value("pytorch_optimizer.RAdam")
    expect(page.get_by_test_id("base-settings")).to_contain_text("pytorch_optimizer.RAdam")
    hp = page.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    assert hp["lr"] == 0.1 and hp["rho"] == 0.1  # lr kept, the wrapper's own kept
    assert "momentum" not in hp and "betas" in hp  # SGD's settings gone, RAdam's in
    expect(page.locator("input[type=range][data-hparam=momentum]")).to_have_count(0)
    expect(page.locator("[data-hparam=betas] input[type=range]")).to_have_count(2)
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    assert run["status"] != "error", run
    assert run["config"]["hyperparameters"]["base_optimizer"] == "pytorch_optimizer.RAdam"
    # A base setting changed by hand, then the link, opened afresh, restores it all.
    box = page.locator("[data-hparam-value=weight_decay]").first
    box.fill("0.01")
    box.dispatch_event("change")
    page.wait_for_function(
        "() => window.losslab.state.runs[0].hyperparameters.weight_decay === 0.01"
    )
    page.wait_for_function(RUNS_DONE)
    assert "base_optimizer=pytorch_optimizer.RAdam" in page.url
    state = page.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    other = page.context.new_page()
    other.watch = PageWatch(other, live_server)  # type: ignore[attr-defined]
    open_page(other, page.url)
    assert other.evaluate("() => window.losslab.state.runs[0].hyperparameters") == state
    expect(other.locator(BASE_PICKER)).to_have_value("pytorch_optimizer.RAdam")
    expect(other.locator("[data-hparam-value=weight_decay]").first).to_have_value("0.01")
    # Back to SGD: lr stays, RAdam's settings go, SGD's defaults come.
    base = other.locator(BASE_PICKER)
    base.fill("SGD")
    base.press("Enter")
    other.wait_for_function(
        "() => window.losslab.state.runs[0].hyperparameters.base_optimizer === 'SGD'"
    )
    hp = other.evaluate("() => window.losslab.state.runs[0].hyperparameters")
    assert hp["lr"] == 0.1 and hp["momentum"] == 0 and "betas" not in hp
    expect(other.locator(BASE_PICKER)).to_be_focused()  # the keyboard stays where it was
    assert_clean(page)
    assert_clean(other)


def test_a_name_with_a_dot_round_trips_through_the_link(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=20&run=SGD,lr=0.05")
    box = page.locator(PICKER)
    box.click()
    box.fill("pytorch_optimizer.radam")
    assert shown_names(page) == ["pytorch_optimizer.RAdam"]
    box.press("Enter")
    page.wait_for_function(RUNS_DONE)
    run = selected_run(page)
    assert run["config"]["optimizer"] == "pytorch_optimizer.RAdam"
    assert run["status"] != "error"
    assert "run=pytorch_optimizer.RAdam,lr=0.05" in page.url
    other = page.context.new_page()
    other.watch = PageWatch(other, live_server)  # type: ignore[attr-defined]
    open_page(other, page.url)
    expect(other.locator(PICKER)).to_have_value("pytorch_optimizer.RAdam")
    assert other.evaluate("() => window.losslab.state.runs[0].hyperparameters.lr") == 0.05
    assert_clean(page)
    assert_clean(other)


def test_an_optimizer_without_lr_says_so(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=30&run=AliG")
    run = selected_run(page)
    assert run["status"] != "error"
    assert all(f["lr"] is None for f in run["frames"])
    page.wait_for_function(
        """() => (document.querySelector('[data-testid=lr-chart]').layout?.annotations || [])
             .some((a) => a.text.startsWith('lr —'))"""
    )
    expect(page.locator("[data-status-line]")).to_contain_text("lr —")
    expect(page.locator("[data-status-line]")).not_to_contain_text("null")
    assert_clean(page)


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Any:
    page = new_page(browser, live_server, PHONE, is_mobile=True, has_touch=True)
    open_page(page, f"{live_server}/?surface=bowl&steps=30&run=SGD,lr=0.1")
    yield page
    page.context.close()


def test_the_picker_is_usable_on_a_phone(phone: Page, artifacts: Path) -> None:
    box = phone.locator(PICKER)
    box.scroll_into_view_if_needed()
    box.tap()
    expect(box).to_have_attribute("aria-expanded", "true")
    sizes = phone.evaluate(
        """() => {
          const r = (e) => e.getBoundingClientRect();
          const options = [...document.querySelectorAll('[role=option]:not([hidden])')]
            .filter((o) => r(o).height > 0);
          return {
            box: r(document.querySelector('[data-testid=optimizer-select]')).height,
            toggle: [r(document.querySelector('.picker-toggle')).width,
                     r(document.querySelector('.picker-toggle')).height],
            options: options.map((o) => r(o).height),
            right: Math.max(...options.map((o) => r(o).right)),
            width: document.documentElement.clientWidth,
          };
        }"""
    )
    assert sizes["box"] >= 44, sizes
    assert min(sizes["toggle"]) >= 44, sizes
    assert sizes["options"] and min(sizes["options"]) >= 44, sizes
    assert sizes["right"] <= sizes["width"], sizes  # no sideways scrolling
    box.fill("lio")
    lion = phone.locator("[role=option][data-name=Lion]")
    lion.scroll_into_view_if_needed()
    phone.screenshot(path=str(artifacts / "zoo-phone-picker.png"))
    lion.tap()
    phone.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'Lion'")
    expect(box).to_have_value("Lion")
    phone.wait_for_function(RUNS_DONE)
    assert_clean(phone)


def test_map_buttons_say_up_front_when_the_optimizer_cannot_be_mapped(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?surface=bowl&run=SGD,lr=0.1")
    basin = page.get_by_test_id("basin-map-button")
    hmap = page.get_by_test_id("hparam-map-open")
    expect(basin).to_be_enabled()
    expect(hmap).to_be_enabled()
    box = page.locator(PICKER)
    box.click()
    box.fill("SAM")
    box.press("Enter")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'SAM'")
    expect(basin).to_be_disabled()
    expect(hmap).to_be_disabled()
    expect(basin).to_have_attribute("title", re.compile("SAM is not one"))
    # Lion: element-wise, so both maps run it (GET /api/optimizers, supports).
    box.click()
    box.fill("Lion")
    box.press("Enter")
    page.wait_for_function("() => window.losslab.state.runs[0].optimizer === 'Lion'")
    expect(basin).to_be_enabled()
    expect(hmap).to_be_enabled()
    expect(basin).to_have_attribute("title", re.compile("every start point"))


def test_the_sam_preset_ends_sgd_sharp_and_sam_flat_and_says_how_sharp(
    page: Page, live_server: str
) -> None:
    open_page(page, live_server)
    choose_preset(page, "sam_flat_minimum", 2)
    page.get_by_test_id("stability-tab").click()
    ended = {}
    for index in range(2):
        page.get_by_test_id("run-row").nth(index).click()
        line = page.get_by_test_id("end-sharpness")
        expect(line).to_be_visible()
        optimizer, final = page.evaluate(
            """() => {
              const {state, runs} = window.losslab;
              const run = runs[state.selected];
              return [run.config.optimizer, run.analysis.stability.final_sharpness];
            }"""
        )
        shown = float(line.locator("b").inner_text())
        assert shown == pytest.approx(final, rel=0.01)
        ended[optimizer] = shown
    assert ended["SGD"] > 40 and ended["SAM"] < 1, ended
    assert_clean(page)
