"""The training knobs in the live page: schedulers, clipping, noise and ensembles, your own
formula, a model's loss with batches, and Copy as PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_page import RUNS_DONE, api_run, open_page, selected_run

# Chromium logs every 4xx answer as a console error; the tests that ask for one on purpose
# (a bad formula, a bad CSV, a model's script) allow exactly that line and nothing else.
EXPECTED_422 = "the server responded with a status of 422"


def errors(page: Page, allow_422: bool = False) -> list[str]:
    found: list[str] = page.watch.errors  # type: ignore[attr-defined]
    return [e for e in found if not (allow_422 and EXPECTED_422 in e)]


def wait_selected(page: Page, predicate: str) -> Any:
    """Wait until the selected run's config satisfies `predicate` (JS, of `c`) and it is done."""
    page.wait_for_function(
        f"""() => {{
          const {{state, runs}} = window.losslab;
          const run = runs[state.selected];
          const c = run && run.config;
          return Boolean(c) && ({predicate}) && run.status !== 'running' && run.frames.length > 1;
        }}"""
    )
    page.wait_for_function(RUNS_DONE)
    return selected_run(page)


def drawn_path(page: Page, run_id: str) -> list[tuple[float, float]]:
    xy = page.evaluate(
        """(id) => {
          const div = document.querySelector('[data-testid=landscape]');
          const trace = div.data.find(t => t.meta && t.meta.runId === id);
          return [Array.from(trace.x), Array.from(trace.y)];
        }""",
        run_id,
    )
    return list(zip(xy[0], xy[1], strict=True))


def path_of(frames: list[dict[str, Any]]) -> list[tuple[float, float]]:
    return [(f["x"], f["y"]) for f in frames]


def set_number(page: Page, testid: str, value: float | str) -> None:
    box = page.get_by_test_id(testid)
    box.fill(str(value))
    box.dispatch_event("change")


def open_section(page: Page, name: str) -> None:
    section = page.locator(f"details[data-knob='{name}']")
    if section.get_attribute("open") is None:
        section.locator("summary").click()


def chart_traces(page: Page, testid: str) -> Any:
    return page.evaluate(
        """(testid) => document.querySelector(`[data-testid=${testid}]`).data.map(t => ({
          meta: t.meta || null, x: Array.from(t.x || []), y: Array.from(t.y || []),
        }))""",
        testid,
    )


def restored_page(page: Page) -> Page:
    other = page.context.new_page()
    other.watch = page.watch  # type: ignore[attr-defined]
    open_page(other, page.url)
    return other


def test_scheduler_draws_its_schedule(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=40&run=SGD,lr=0.05")
    open_section(page, "schedule")
    page.get_by_test_id("scheduler-select").select_option("StepLR")
    page.locator("[data-sparam-auto='step_size']").uncheck()
    box = page.locator("[data-sparam-value='step_size']")
    box.fill("10")
    box.dispatch_event("change")
    run = wait_selected(page, "c.scheduler && c.scheduler.params.step_size === 10")
    assert run["config"]["scheduler"]["name"] == "StepLR"

    expected = api_run(live_server, run["config"])
    lrs = [f["lr"] for f in run["frames"]]
    assert lrs == [f["lr"] for f in expected["frames"]]
    # gamma 0.1 every 10 steps: the rate the next step uses drops at steps 10, 20, 30.
    assert lrs[9] == 0.05 and abs(lrs[10] - 0.005) < 1e-12 and abs(lrs[20] - 0.0005) < 1e-12

    lr_trace = next(
        t
        for t in chart_traces(page, "lr-chart")
        if t["meta"] and t["meta"].get("runId") == run["id"]
    )
    assert lr_trace["y"] == lrs
    # A decay over decades is drawn on a log axis, and the chart names the schedule.
    assert (
        page.evaluate("document.querySelector('[data-testid=lr-chart]').layout.yaxis.type") == "log"
    )
    expect(page.locator("[data-lr-note]")).to_contain_text("StepLR")
    assert "sched=StepLR" in page.url and "s.step_size=10" in page.url
    assert errors(page) == []


def test_clipping_noise_and_ensemble(page: Page, live_server: str, artifacts: Path) -> None:
    # From Himmelblau's central peak, the noise decides which of the four minima a run finds.
    open_page(
        page,
        f"{live_server}/?surface=himmelblau&start=-0.27,-0.92&steps=150"
        "&run=SGD,lr=0.01,sched=CosineAnnealingLR",
    )
    open_section(page, "gradient")
    page.get_by_test_id("clip-kind").select_option("norm")
    set_number(page, "clip-max-norm", 20)
    set_number(page, "noise-std-value", 20)
    set_number(page, "noise-seed", 7)
    first = wait_selected(
        page,
        "c.clip && c.clip.max_norm === 20 && c.noise && c.noise.std === 20 && c.noise.seed === 7",
    )
    config = first["config"]
    assert config["clip"] == {"max_norm": 20, "norm_type": 2}
    expected = api_run(live_server, config)
    assert path_of(first["frames"]) == path_of(expected["frames"])
    assert drawn_path(page, first["id"]) == path_of(expected["frames"])
    # Noise: `grad` is what step() saw, `true_grad` the surface's own.
    assert all("true_grad" in f for f in first["frames"])

    set_number(page, "noise-seed", 8)
    other = wait_selected(page, "c.noise.seed === 8")
    assert path_of(other["frames"]) != path_of(first["frames"])
    set_number(page, "noise-seed", 7)
    again = wait_selected(page, "c.noise.seed === 7")
    assert path_of(again["frames"]) == path_of(first["frames"])

    page.get_by_test_id("noise-resample").click()
    resampled = wait_selected(page, "c.noise.seed !== 7")
    assert path_of(resampled["frames"]) != path_of(first["frames"])
    assert page.get_by_test_id("noise-seed").input_value() == str(
        resampled["config"]["noise"]["seed"]
    )
    set_number(page, "noise-seed", 7)
    wait_selected(page, "c.noise.seed === 7")

    page.get_by_test_id("ensemble-toggle").check()
    run_id = first["id"]
    page.wait_for_function(
        "(id) => (window.losslab.ensembles[id] || {}).status === 'done'", arg=run_id, timeout=60_000
    )
    page.wait_for_function(
        """(id) => document.querySelector('[data-testid=landscape]').data
             .filter(t => t.meta && t.meta.role === 'ensemble' && t.meta.of === id)
             .length === 20""",
        arg=run_id,
    )
    faint = page.evaluate(
        """(id) => document.querySelector('[data-testid=landscape]').data
             .filter(t => t.meta && t.meta.role === 'ensemble' && t.meta.of === id)
             .map(t => [t.line.color, t.x.length, t.meta.seed])""",
        run_id,
    )
    assert sorted(s for _, _, s in faint) == list(range(7, 27))
    assert all(color.startswith("rgba(") and n > 1 for color, n, _ in faint)
    expect(page.get_by_test_id("ensemble-status")).to_contain_text("20 runs")

    page.locator("details[data-knob='gradient']").evaluate("e => e.scrollIntoView({block: 'end'})")
    page.screenshot(path=str(artifacts / "knobs.png"))

    restored = restored_page(page)
    run = restored.evaluate("() => window.losslab.state.selectedRun")
    assert run["scheduler"]["name"] == "CosineAnnealingLR"
    assert run["clip"] == {"max_norm": 20, "norm_type": 2}
    assert run["noise"] == {"std": 20, "seed": 7}
    assert run["ensemble"] is True
    assert restored.get_by_test_id("clip-kind").input_value() == "norm"
    assert restored.get_by_test_id("noise-seed").input_value() == "7"
    assert path_of(selected_run(restored)["frames"]) == path_of(first["frames"])
    restored.wait_for_function(
        "() => Object.values(window.losslab.ensembles)[0]?.status === 'done'"
    )
    assert errors(page) == []
    assert page.watch.foreign == []  # type: ignore[attr-defined]


def test_formula_surface(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?steps=150")
    page.get_by_test_id("surface-select").select_option("formula")
    page.get_by_test_id("formula-input").fill("(x - 1)**2 + 2*(y + 0.5)**2")
    for testid, value in [
        ("formula-x-min", -2),
        ("formula-x-max", 3),
        ("formula-y-min", -2),
        ("formula-y-max", 2),
    ]:
        page.get_by_test_id(testid).fill(str(value))
    page.get_by_test_id("formula-apply").click()
    run = wait_selected(page, "c.surface.formula === '(x - 1)**2 + 2*(y + 0.5)**2'")
    assert run["config"]["surface"]["domain"] == {"x": [-2, 3], "y": [-2, 2]}
    expected = api_run(live_server, run["config"])
    assert path_of(run["frames"]) == path_of(expected["frames"])
    page.wait_for_function(
        """() => {
          const data = document.querySelector('[data-testid=landscape]').data || [];
          const star = data.find(t => t.name === 'global minimum');
          return star && Math.abs(star.x[0] - 1) < 1e-6 && Math.abs(star.y[0] + 0.5) < 1e-6;
        }"""
    )
    assert drawn_path(page, run["id"]) == path_of(expected["frames"])

    page.get_by_test_id("formula-input").fill("x**2 + z")
    page.get_by_test_id("formula-apply").click()
    error = page.get_by_test_id("formula-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("unknown name 'z'")
    # The last good formula stays: still drawn and running.
    assert (
        page.evaluate("() => window.losslab.state.formula.formula") == "(x - 1)**2 + 2*(y + 0.5)**2"
    )
    expect(page.get_by_test_id("landscape")).to_be_visible()
    page.get_by_test_id("formula-input").fill("x**2 + 3*y**2")
    page.get_by_test_id("formula-apply").click()
    expect(error).to_be_hidden()
    wait_selected(page, "c.surface.formula === 'x**2 + 3*y**2'")

    restored = restored_page(page)
    assert restored.get_by_test_id("surface-select").input_value() == "formula"
    assert restored.get_by_test_id("formula-input").input_value() == "x**2 + 3*y**2"
    assert selected_run(restored)["config"]["surface"]["formula"] == "x**2 + 3*y**2"
    assert errors(page, allow_422=True) == []


def test_model_with_mini_batches_and_csv(
    page: Page, live_server: str, artifacts: Path, tmp_path: Path
) -> None:
    open_page(page, f"{live_server}/?steps=200&run=SGD,lr=0.05")
    page.get_by_test_id("surface-select").select_option("model")
    page.wait_for_function("() => window.losslab.state.surface === 'model'")
    assert page.get_by_test_id("model-select").input_value() == "linear_regression"
    assert page.get_by_test_id("dataset-select").input_value() == "noisy_line"
    page.get_by_test_id("batch-mode").select_option("mini")
    page.get_by_test_id("batch-size").evaluate(
        "(el) => { el.value = '25'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    run = wait_selected(
        page, "c.surface.model === 'linear_regression' && c.surface.batch_size === 25"
    )
    assert run["config"]["surface"]["dataset"] == "noisy_line"
    frames = run["frames"]
    assert all(isinstance(f["batch_loss"], float) and isinstance(f["epoch"], int) for f in frames)
    assert frames[-1]["epoch"] >= 20  # 200 samples in batches of 25: 8 steps per epoch
    expected = api_run(live_server, run["config"])
    assert path_of(frames) == path_of(expected["frames"])

    traces = chart_traces(page, "loss-chart")
    full = next(
        t
        for t in traces
        if t["meta"] and t["meta"].get("runId") == run["id"] and "role" not in t["meta"]
    )
    batch = next(t for t in traces if t["meta"] and t["meta"].get("role") == "batch-loss")
    assert full["y"] == [f["loss"] for f in frames]
    assert batch["y"] == [f["batch_loss"] for f in frames]
    names = page.evaluate(
        """() => document.querySelector('[data-testid=landscape]').layout.annotations
             .map(a => a.text)"""
    )
    assert names == ["w", "b"]
    expect(page.locator("label[for=start-x]")).to_have_text("start w")

    page.get_by_test_id("log-loss").check()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=loss-chart]').layout.yaxis.type === 'log'"
    )
    page.screenshot(path=str(artifacts / "model.png"))

    # Per epoch: the mean batch loss of each epoch and the full loss at its end.
    page.get_by_test_id("loss-per-epoch").check()
    page.wait_for_function(
        """() => document.querySelector('[data-testid=loss-chart]').data
             .some(t => t.meta && t.meta.role === 'batch-loss' && t.x.length === 25)"""
    )

    restored = restored_page(page)
    assert restored.get_by_test_id("batch-mode").input_value() == "mini"
    assert restored.get_by_test_id("batch-size-value").input_value() == "25"
    assert restored.get_by_test_id("loss-per-epoch").is_checked()
    assert path_of(selected_run(restored)["frames"]) == path_of(frames)
    restored.close()

    good = tmp_path / "points.csv"
    good.write_text("x,y\n" + "".join(f"{i},{2 * i + 1 + (i % 3) * 0.1}\n" for i in range(12)))
    page.get_by_test_id("csv-upload").set_input_files(str(good))
    uploaded = wait_selected(page, "typeof c.surface.dataset === 'object'")
    assert uploaded["config"]["surface"]["dataset"]["x"] == [float(i) for i in range(12)]
    assert page.get_by_test_id("dataset-select").input_value() == "csv"

    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,abc\n")
    page.get_by_test_id("csv-upload").set_input_files(str(bad))
    expect(page.get_by_test_id("csv-error")).to_contain_text("row 2")
    assert page.evaluate("() => typeof window.losslab.state.model.dataset") == "object"

    # Copy as PyTorch writes the model's training loop, the uploaded rows written out.
    page.get_by_test_id("copy-pytorch").click()
    expect(page.get_by_test_id("script-code")).to_contain_text("nn.Linear(1, 1")
    expect(page.get_by_test_id("script-code")).to_contain_text("X = [")
    expect(page.get_by_test_id("script-error")).to_be_hidden()
    page.get_by_test_id("script-close").click()
    assert errors(page, allow_422=True) == []


def test_copy_as_pytorch(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?surface=bowl&steps=30&run=SGD,lr=0.1")
    page.get_by_test_id("copy-pytorch").click()
    code = page.get_by_test_id("script-code")
    expect(code).to_contain_text("torch.optim.SGD")
    expect(page.get_by_test_id("script-status")).not_to_have_text("Writing the script…")
    href = page.get_by_test_id("script-download").get_attribute("href")
    assert href is not None and href.startswith("blob:")
    page.get_by_test_id("script-close").click()
    expect(page.get_by_test_id("script-dialog")).to_be_hidden()
    assert errors(page) == []
