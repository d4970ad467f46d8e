"""What a person feels on the page, measured in headless Chromium (not a test).

    python bench/browser_timing.py

1. Slider to first new frame: the lr slider of the selected run gets an `input` event (as
   a drag does); the clock stops at the first animation frame after the page holds frames
   of the run for the new lr. 20 samples, median and p95.
2. Playback: 6 runs of 1,000 steps overlaid on Rosenbrock, played at full speed; the time
   between animation frames over a few seconds (median, p95) and the frames per second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
PORT = 8765
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


def main() -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
         "--port", str(PORT), "--log-level", "warning"], cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
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
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
