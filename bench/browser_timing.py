"""What a person feels on the page, measured in headless Chromium (not a test).

    python bench/browser_timing.py          # load, slider, playback
    python bench/browser_timing.py load     # only the first
    python bench/browser_timing.py drag     # only the drag
    python bench/browser_timing.py 3d       # only the 3D view
    python bench/browser_timing.py benchmark  # the Benchmark panel
    python bench/browser_timing.py lessons    # lesson steps, and the page in Chinese

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
3. Drag (`drag`): 4 runs of 1,000 steps on Rosenbrock; the selected run's lr slider is
   grabbed (pointerdown, focus), moved by one `input` event every 16 ms (60 events, lr rising
   about 4x), then released (`change`, pointerup). Per input event: the time until the first
   animation frame whose paint shows that event's lr, or a later one, as the run's path on
   the landscape (a preview from a sweep counts; it names its value in the trace's `meta`),
   taken at that frame's requestAnimationFrame as in 1. On release: the time until the exact
   run of the final lr is on screen (its first frames, and complete). The first drag grabs a
   slider the page has no sweep for yet (it waits 300 ms, a person's grab, before moving);
   the other four reuse it. Median and p95 over all events. Then the start point is dragged
   across the map (a pointer move every 50 ms): the time from each move until the selected
   run's path on screen starts at the new start (no sweep: its run streams in at once).
4. Benchmark (`benchmark`): the Benchmark panel is opened and the default benchmark started
   with a click on Run: the time until the first animation frame that paints its progress
   bar above 0, and until the one that paints the results (the table's rows). 3 samples.
5. Lessons (`lessons`): navigation to ready at `/?lang=zh` against `/?lang=en` (cold, 5
   visits each: the Chinese page inlines its messages), then every step of the lessons
   walked with Next, each timed from the click to the first animation frame that paints the
   new step with its runs finished and its figure drawn (a step on a model surface opens
   its address: a navigation). Median and p95 per kind.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from urllib.parse import parse_qs

import httpx
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

# One drag of a hyperparameter slider of the selected run, driven from inside the page so the
# events are 16 ms apart. What a frame shows is read after its paint (a message posted from its
# requestAnimationFrame callback runs after the rendering steps), so a draw made by a callback
# that ran after ours still counts for that frame; the frame's time is taken in the callback.
DRAG = """async ({name, from, to, events, interval, wait}) => {
  const {state, runs} = window.losslab;
  const id = state.selected;
  const slot = runs[id];
  const slider = document.querySelector(`input[type=range][data-hparam='${name}']`);
  const box = document.querySelector(`[data-hparam-value='${name}']`);
  const landscape = document.querySelector('[data-testid=landscape]');
  // An exact path is the slot's columns: tag each with the value its frames were run for.
  const tags = new WeakMap();
  if (!slot.__tagged) {
    const columns = slot.columns;
    slot.columns = function () {
      const c = columns.call(this);
      if (this.config) tags.set(c.x, this.config.hyperparameters[name]);
      return c;
    };
    slot.__tagged = tags;
  }
  const tagged = slot.__tagged;
  // The same frames as the slot's (a copy, when the page hands Plotly new arrays).
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const shown = () => {
    const t = (landscape.data || []).find((t) => t.meta && t.meta.runId === id);
    if (!t || !t.x || t.x.length === 0) return null;
    const p = t.meta.preview;
    if (p) return {value: p.target, preview: true};
    let value = tagged.get(t.x);
    if (value === undefined && slot.config && !slot.preview && same(t.x, slot.columns().x)) {
      value = slot.config.hyperparameters[name];
    }
    return value === undefined ? null : {value, preview: false, done: slot.status !== 'running'};
  };
  const sign = Math.sign(to - from);
  const sent = [];
  const latencies = [];
  let previews = 0;
  let release = null;
  let exactAt = null;
  let doneAt = null;
  let finished;
  const over = new Promise((resolve) => (finished = resolve));
  const channel = new MessageChannel();
  let frameAt = 0;
  channel.port1.onmessage = () => {
    const s = shown();
    if (s) {
      while (sent.length && sent[0].t <= frameAt && sign * (s.value - sent[0].value) >= -1e-12) {
        latencies.push(frameAt - sent.shift().t);
        if (s.preview) previews += 1;
      }
      if (release && !s.preview && s.value === release.value) {
        if (exactAt === null) exactAt = frameAt - release.t;
        if (s.done && doneAt === null) doneAt = frameAt - release.t;
      }
    }
    if ((release && doneAt !== null && sent.length === 0) || performance.now() - start > 20000) {
      finished();
      return;
    }
    requestAnimationFrame(probe);
  };
  const probe = () => {
    frameAt = performance.now();
    channel.port2.postMessage(0);
  };
  const start = performance.now();
  slider.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true, pointerId: 1}));
  slider.focus();
  await new Promise((r) => setTimeout(r, wait));
  requestAnimationFrame(probe);
  for (let k = 0; k < events; k += 1) {
    const position = Math.round(from + ((to - from) * (k + 1)) / events);
    const t = performance.now();
    slider.value = String(position);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    sent.push({t, value: Number(box.value)});
    await new Promise((r) => setTimeout(r, interval));
  }
  release = {t: performance.now(), value: Number(box.value)};
  slider.dispatchEvent(new Event('change', {bubbles: true}));
  slider.dispatchEvent(new PointerEvent('pointerup', {bubbles: true, pointerId: 1}));
  slider.blur();
  await over;
  return {latencies, missed: sent.length, previews, exactAt, doneAt};
}"""

# From each pointer move on the map to the first frame whose path starts at the new start.
START_LAGS = """() => {
  const div = document.querySelector('[data-testid=landscape]');
  window.__lags = [];
  div.addEventListener('pointermove', (event) => {
    if (!event.buttons) return;
    const t0 = performance.now();
    const check = () => {
      const {state} = window.losslab;
      const path = div.data.find((t) => t.meta && t.meta.runId === state.selected);
      const [x, y] = state.start;
      const near = path && path.x.length && Math.abs(path.x[0] - x) < 1e-6;
      if (near && Math.abs(path.y[0] - y) < 1e-6) window.__lags.push(performance.now() - t0);
      else if (performance.now() - t0 < 3000) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, {capture: true});
}"""

# From a click on the view toggle to the first animation frame after the landscape is drawn
# in the view asked for (`3d`: its WebGL scene; `contour`: its cartesian axes).
TOGGLE_VIEW = """async (view) => {
  const el = document.querySelector('[data-testid=landscape]');
  const toggle = document.querySelector('[data-testid=view-toggle]');
  const drawn = new Promise((resolve) => {
    const on = () => {
      const layout = el._fullLayout;
      const gl = Boolean(layout && layout._has && layout._has('gl3d'));
      if (gl !== (view === '3d')) return;
      el.removeListener('plotly_afterplot', on);
      requestAnimationFrame(() => resolve(performance.now()));
    };
    el.on('plotly_afterplot', on);
  });
  const t0 = performance.now();
  toggle.click();
  return (await drawn) - t0;
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


RUNS_DONE = "() => Object.values(window.losslab.runs).every(r => r.status !== 'running')"
DRAG_RUNS = ("SGD,lr=0.0005,momentum=0.9", "Adam,lr=0.05", "RMSprop,lr=0.01", "SGD,lr=0.002")


def drag(browser: Browser, base: str, drags: int = 5) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    runs = "&".join(f"run={run}" for run in DRAG_RUNS)
    page.goto(f"{base}/?surface=rosenbrock&steps=1000&sel=0&{runs}")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_function(RUNS_DONE)
    latencies: list[float] = []
    previews = missed = 0
    exact: list[float] = []
    done: list[float] = []
    for k in range(drags):
        # lr from about 4.6e-4 to 2.5e-3 (positions of the 1e-5..10 log slider), then back.
        span = (280, 400) if k % 2 == 0 else (400, 280)
        result = page.evaluate(
            DRAG,
            {"name": "lr", "from": span[0], "to": span[1], "events": 60, "interval": 16,
             "wait": 300 if k == 0 else 50},
        )  # fmt: skip
        latencies += result["latencies"]
        previews += result["previews"]
        missed += result["missed"]
        if result["exactAt"] is not None:
            exact.append(result["exactAt"])
        if result["doneAt"] is not None:
            done.append(result["doneAt"])
        page.wait_for_function(RUNS_DONE)
        page.wait_for_timeout(300)
    page.evaluate(START_LAGS)
    at = page.evaluate(
        """() => {
          const div = document.querySelector('[data-testid=landscape]');
          const L = div._fullLayout;
          const r = div.getBoundingClientRect();
          return [r.left + L.xaxis._offset + L.xaxis.d2p(-1.2), r.top + L.yaxis._offset
                  + L.yaxis.d2p(1.0)];
        }"""
    )  # fmt: skip
    page.mouse.move(at[0], at[1])
    page.mouse.down()
    for k in range(1, 31):
        page.mouse.move(at[0] + 4 * k, at[1] + 2 * k)
        page.wait_for_timeout(50)
    page.mouse.up()
    page.wait_for_function(RUNS_DONE)
    lags = page.evaluate("() => window.__lags")
    page.close()
    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"drag, input → its path on screen: median {median:.0f} ms, p95 {p95:.0f} ms over "
          f"{len(latencies)} input events ({previews} as a preview, "
          f"{missed} never shown)")  # fmt: skip
    for label, values in (("first frames", exact), ("complete", done)):
        if values:
            print(f"drag, release → exact run on screen ({label}): median "
                  f"{statistics.median(values):.0f} ms, max {max(values):.0f} ms "
                  f"over {len(values)} releases")  # fmt: skip
    if lags:
        print(f"drag the start, move → path from the new start on screen: median "
              f"{statistics.median(lags):.0f} ms, p95 {percentile(lags, 0.95):.0f} ms "
              f"over {len(lags)} of 30 moves")  # fmt: skip


def three_d(browser: Browser, base: str, pages: int = 5, toggles: int = 4) -> None:
    first: list[float] = []
    again: list[float] = []
    for _ in range(pages):
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-ready='true']")
        page.wait_for_function(RUNS_DONE)
        page.wait_for_timeout(300)
        for k in range(toggles):
            (first if k == 0 else again).append(page.evaluate(TOGGLE_VIEW, "3d"))
            page.wait_for_timeout(300)
            page.evaluate(TOGGLE_VIEW, "contour")
            page.wait_for_timeout(300)
        page.close()
    for label, values in (("first", first), ("again", again)):
        print(f"3D toggle → first WebGL frame, {label}: median {statistics.median(values):.0f} ms, "
              f"max {max(values):.0f} ms over {len(values)} toggles")  # fmt: skip


BENCHMARK_CLICK = """async () => {
  const bar = document.querySelector('[data-testid=bench-progress]');
  const rows = () => document.querySelectorAll('[data-testid=bench-table] tbody tr').length;
  const before = rows() ? [...document.querySelectorAll('[data-testid=bench-table] tbody tr')] : [];
  const painted = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now());
    channel.port2.postMessage(null);
  }));
  const began = performance.now();
  document.querySelector('[data-testid=bench-run]').click();
  let progressAt = null;
  for (;;) {
    const at = await painted();
    if (progressAt === null && Number(bar.value) > 0) progressAt = at - began;
    const now = [...document.querySelectorAll('[data-testid=bench-table] tbody tr')];
    if (now.length && (before.length === 0 || now[0] !== before[0])) {
      return {progress: progressAt, results: at - began};
    }
  }
}"""


def benchmark_panel(browser: Browser, base: str, samples: int = 3) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/")
    page.wait_for_selector("body[data-ready='true']")
    page.click("[data-testid=benchmark-open]")
    progress, results = [], []
    for _ in range(samples):
        timing = page.evaluate(BENCHMARK_CLICK)
        progress.append(timing["progress"])
        results.append(timing["results"])
        page.wait_for_timeout(500)
    page.close()
    print(f"benchmark: click → progress shown, median {statistics.median(progress):.0f} ms; "
          f"click → results drawn, median {statistics.median(results) / 1000:.1f} s "
          f"over {samples}")  # fmt: skip


LESSON_NEXT = """async () => {
  const t0 = performance.now();
  const title = document.querySelector("[data-testid=lesson-title]").textContent;
  document.querySelector("[data-testid=lesson-next]").click();
  const done = () => {
    const now = document.querySelector("[data-testid=lesson-title]");
    const runs = Object.values(window.losslab.runs);
    return now && now.textContent !== title
      && runs.length > 0 && runs.every((r) => r.status !== "running")
      && !document.querySelector("[data-testid=lesson-figure] .lesson-waiting");
  };
  while (!done()) await new Promise((r) => requestAnimationFrame(r));
  return performance.now() - t0;
}"""


def lesson_steps(browser: Browser, base: str) -> None:
    for lang in ("en", "zh"):
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.add_init_script(READY_CLOCK)
        visit(context, f"{base}/?lang={lang}")  # warms the server
        context.close()
        times = []
        for _ in range(5):
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_init_script(READY_CLOCK)
            times.append(visit(context, f"{base}/?lang={lang}"))
            context.close()
        print(f"navigation → ready, cold, lang={lang}: median {statistics.median(times):.0f} ms")
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{base}/lessons/1/1")
    page.wait_for_selector("body[data-ready='true']")
    in_place: list[float] = []
    reloads: list[float] = []
    built_in = {s["name"] for s in httpx.get(f"{base}/api/surfaces").json()}
    total = page.evaluate("JSON.parse(document.getElementById('boot-lessons').textContent)")
    steps = [s["state"] for chapter in total for s in chapter["steps"]]
    for state in steps[1:]:
        own = parse_qs(state)["surface"][0] not in built_in
        if own:
            t0 = time.perf_counter()
            with page.expect_navigation():
                page.click("[data-testid=lesson-next]")
            page.wait_for_selector("body[data-ready='true']")
            page.wait_for_function(
                "() => Object.values(window.losslab.runs).every(r => r.status !== 'running')"
                " && !document.querySelector('[data-testid=lesson-figure] .lesson-waiting')"
            )
            reloads.append((time.perf_counter() - t0) * 1000)
        else:
            in_place.append(page.evaluate(LESSON_NEXT))
    page.close()
    for name, values in (("in place", in_place), ("opening a model step", reloads)):
        if values:
            print(f"lesson Next → step drawn, {name}: median {statistics.median(values):.0f} ms, "
                  f"p95 {percentile(values, 0.95):.0f} ms over {len(values)} steps")  # fmt: skip


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    only_load = mode == "load"
    with served() as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        if mode == "drag":
            drag(browser, base)
            browser.close()
            return
        if mode == "3d":
            three_d(browser, base)
            browser.close()
            return
        if mode == "benchmark":
            benchmark_panel(browser, base)
            browser.close()
            return
        if mode == "lessons":
            lesson_steps(browser, base)
            browser.close()
            return
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
