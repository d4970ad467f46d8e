"""What a person feels on the page, measured in headless Chromium (not a test).

    python bench/browser_timing.py          # all three
    python bench/browser_timing.py load     # only the first

0. Navigation to ready: from navigation start to the page setting `body[data-ready]` (its
   first landscape drawn with the first run's path on it: the page is interactive). Cold is
   a new browser context (empty HTTP cache) per sample; warm is a second visit in the same
   context (a new tab). 7 samples each, after one unmeasured load that warms the server;
   median and p95. Returning is a visitor with a profile on disk who has been here before:
   a persistent profile, three unmeasured visits, then 7 measured. Chromium keeps V8's
   compiled code of a script only there (from the third visit on; never in a fresh or
   incognito context like those of cold and warm), so only it is spared compiling and
   running Plotly.js's 4.8 MB from scratch, the bulk of the time in the other two.
1. Slider to first new frame: the lr slider of the selected run gets an `input` event (as
   a drag does); the clock stops at the first animation frame after the page holds frames
   of the run for the new lr. 20 samples, median and p95.
2. Playback: 6 runs of 1,000 steps overlaid on Rosenbrock, played at full speed; the time
   between animation frames over a few seconds (median, p95) and the frames per second.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from served import served

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip

SLIDER_TO_FRAME = """async (fraction) => {
  const {state, runs} = window.losslab;
  const id = state.selected;
  const slider = document.querySelector("input[type=range][data-hparam='lr']");
  const t0 = performance.now();
  slider.value = String(Number(slider.min) + (Number(slider.max) - Number(slider.min)) * fraction);
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  const before = runs[id].config;
  while (true) {
    await new Promise(requestAnimationFrame);
    const run = window.losslab.runs[id];
    if (run.config !== before && run.frames.length > 0) return performance.now() - t0;
    if (performance.now() - t0 > 10000) return -1;
  }
}"""

# The moment body[data-ready] appears, in ms since navigation start (performance.now()'s
# origin), recorded by the page itself so the clock does not depend on polling.
READY_CLOCK = """
new MutationObserver((_, observer) => {
  if (document.body && document.body.dataset.ready === "true") {
    window.__readyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-ready"]});
"""

FRAME_INTERVALS = """async (seconds) => {
  const times = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await new Promise(requestAnimationFrame);
    times.push(performance.now());
  }
  return times.slice(1).map((t, i) => t - times[i]);
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def visit(context: BrowserContext, url: str) -> float:
    """One navigation in a new tab of `context`: ms from navigation start to ready."""
    page = context.new_page()
    page.goto(url)
    ready = float(page.wait_for_function("() => window.__readyAt").json_value())
    page.close()
    return ready


def navigation_to_ready(browser: Browser, url: str, samples: int = 7) -> None:
    cold: list[float] = []
    warm: list[float] = []
    for k in range(samples + 1):
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.add_init_script(READY_CLOCK)
        first = visit(context, url)
        time.sleep(0.3)  # the HTTP cache is written behind the first visit
        second = visit(context, url)
        context.close()
        if k > 0:  # the first load warms the server (its caches, torch), not measured
            cold.append(first)
            warm.append(second)
    for name, values in (("cold", cold), ("warm", warm)):
        median, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"navigation → ready, {name}: median {median:.0f} ms, p95 {p95:.0f} ms "
              f"over {len(values)} visits")  # fmt: skip


def returning_visits(playwright: Playwright, url: str, samples: int = 7) -> None:
    with tempfile.TemporaryDirectory(prefix="losslab-profile-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            args=FLAGS,
            viewport={"width": 1280, "height": 720},
        )
        context.add_init_script(READY_CLOCK)
        values = []
        for k in range(samples + 3):
            ready = visit(context, url)
            time.sleep(0.3)
            if k >= 3:
                values.append(ready)
        context.close()
    median, p95 = statistics.median(values), percentile(values, 0.95)
    print(f"navigation → ready, returning: median {median:.0f} ms, p95 {p95:.0f} ms "
          f"over {len(values)} visits")  # fmt: skip


def main() -> None:
    only_load = sys.argv[1:] == ["load"]
    with served() as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        navigation_to_ready(browser, f"{base}/")
        returning_visits(p, f"{base}/")
        if only_load:
            browser.close()
            return
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{base}/?surface=rosenbrock&steps=300&run=SGD,lr=0.001")
        page.wait_for_selector("body[data-ready='true']")
        samples = []
        for k in range(20):
            ms = page.evaluate(SLIDER_TO_FRAME, 0.2 + 0.02 * k)
            if ms >= 0:
                samples.append(ms)
            page.wait_for_timeout(150)
        median, p95 = statistics.median(samples), percentile(samples, 0.95)
        print(f"slider → first new frame: median {median:.0f} ms, p95 {p95:.0f} ms "
              f"over {len(samples)} changes")  # fmt: skip
        runs = "&".join(
            f"run={name}" for name in ("SGD,lr=0.001", "SGD,lr=0.002,momentum=0.9",
            "Adam,lr=0.05", "RMSprop,lr=0.01", "Adagrad,lr=0.5", "NAdam,lr=0.05")
        )  # fmt: skip
        page.goto(f"{base}/?surface=rosenbrock&steps=1000&{runs}")
        page.wait_for_selector("body[data-ready='true']")
        page.wait_for_function(
            "() => Object.values(window.losslab.runs).every(r => r.status !== 'running')"
        )
        page.select_option("[data-testid=speed]", value="1000")
        page.locator("[data-testid=scrub]").fill("0")
        page.get_by_test_id("play").click()
        intervals = page.evaluate(FRAME_INTERVALS, 4)
        median, p95 = statistics.median(intervals), percentile(intervals, 0.95)
        print(f"6 runs × 1000 steps playing: frame interval median {median:.1f} ms, "
              f"p95 {p95:.1f} ms ({1000 / median:.0f} fps)")  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main()
