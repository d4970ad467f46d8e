// Batched maps (POST /api/maps/*/stream), and the basin map: where every start point ends
// up with the selected run's optimizer and settings, drawn over the landscape. The
// hyperparameter map (hparams.js) shares the stream client, the one progress bar (MapJob:
// one map computes at a time) and the outcome colours defined here.
//
// Hooks: [data-testid="basin-map-button"] computes a basin map for the selected run;
// [data-testid="basin-overlay-toggle"] shows or hides it; [data-testid="basin-resolution"],
// [data-testid="basin-steps"]; the landscape's trace of it has meta.role "basin-map".
// [data-testid="map-progress"] is the progress bar of the map being computed.

import { ApiError, errorText, send } from "./api.js";
import { BINARY, KIND, STREAM, decodeBlob, parseJSON, readRecords, withNulls } from "./binary.js";
import { fmt } from "./format.js";
import { INK, escapeHover, withAlpha } from "./plots.js";
import { limits } from "./limits.js";
import { runRequest } from "./state.js";
import { el } from "./dom.js";
import { t } from "./i18n.js";

/**
 * Categorical colours for the minima a map reaches: light tints, so that no basin shares a
 * colour with a run's path (the runs' PALETTE is saturated and dark; a test holds them apart).
 */
export const BASIN_COLORS = [
  "#ffe066",
  "#8ce99a",
  "#a5d8ff",
  "#fcc2d7",
  "#d0bfff",
  "#ffc078",
  "#96f2d7",
  "#eebefa",
];
const DIVERGED_COLOR = "#7f1d1d";
/** Hover labels of map cells: dark text on white, whatever the cell's colour. */
export const HOVER = {
  bgcolor: "#ffffff",
  bordercolor: "#5c677d",
  align: "left",
  font: { color: INK, size: 13 },
};
export const UNDECIDED_COLOR = "#868e96";
/** The basin colours' opacity over the landscape, so its contours show through. */
const BASIN_ALPHA = 0.6;
/** A map shorter than this never shows its progress bar. */
const PROGRESS_DELAY_MS = 500;
const RESOLUTIONS = [32, 48, 64, 96, 128, 192, 256];


/** The request's `surface` as a key: a name, or your formula or model as JSON. */
function surfaceKey(state) {
  const run = state.runs[0];
  return run ? JSON.stringify(runRequest(state, run).surface) : "";
}

/** RunRequest fields a map takes; others (scheduler, clip, noise...) it leaves out. */
const MAP_FIELDS = new Set(["surface", "optimizer", "hyperparameters", "start", "steps", "dtype"]);

/** "scheduler, clip": the settings of `request` a map does not apply. */
export function leftOut(request) {
  return Object.keys(request)
    .filter((key) => !MAP_FIELDS.has(key) && request[key] !== null && request[key] !== undefined)
    .join(", ");
}

/** Map fields whose LLB1 arrays hold null as NaN or -1 (docs/API.md); `outcome`'s -1 is
 * "diverged", a value, so it is not here. The page's code tests these cells for null. */
const MAP_NULLS = {
  final_loss: Number.isNaN,
  final_x: Number.isNaN,
  final_y: Number.isNaN,
  steps_to_converge: (v) => v === -1,
};

/** A map's LLB1 blob as the object the JSON answer gives (grids: Arrays of rows). */
export function decodeMap(blob) {
  const map = decodeBlob(blob);
  for (const [field, isNull] of Object.entries(MAP_NULLS)) {
    if (Array.isArray(map[field])) map[field] = withNulls(map[field], isNull);
  }
  return map;
}

/**
 * `fn(value, i, j)` over every cell of a map's grid, as plain nested Arrays. Grid rows may be
 * typed arrays (LLB1), whose own map() would force every result to a number.
 */
export function cells(grid, fn) {
  return Array.from(grid, (row, i) => Array.from(row, (value, j) => fn(value, i, j)));
}

/**
 * POST `body` to a job's /stream route (a map's, a benchmark's) and read its progress;
 * resolves with the result. Asks for LLB1 records (a fifth of the bytes of JSON, no parsing
 * of numbers) and reads Server-Sent Events when that is what comes back; `binary: false` asks
 * for the events alone, whose `done` is the JSON answer as sent (a benchmark answers JSON
 * only). A 429 waits Retry-After seconds (told through `onWait(seconds)`) and retries once.
 */
export async function streamMap(path, body, { signal, onProgress, onWait, binary = true }) {
  const accept = binary ? `${BINARY}, text/event-stream;q=0.9` : "text/event-stream";
  const init = {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify(body),
  };
  const response = await send(path, init, { signal, onWait });
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  const reader = response.body.getReader();
  try {
    const read = type === STREAM ? mapRecords : mapEvents;
    const map = await read(reader, onProgress);
    if (map) return map;
  } finally {
    reader.cancel().catch(() => {});
  }
  throw new Error(t("the stream ended before its answer"));
}

/** The map from LLB1 stream records, or null if the stream ends first. */
async function mapRecords(reader, onProgress) {
  for await (const { kind, payload } of readRecords(reader)) {
    if (kind === KIND.progress) onProgress(parseJSON(payload).fraction);
    else if (kind === KIND.done) return decodeMap(payload);
    else if (kind === KIND.error) throw new ApiError(200, parseJSON(payload).detail);
  }
  return null;
}

/**
 * Server-Sent Events from a fetch body's reader, as they complete: {event, data} with
 * `data` the event's data lines joined (text, as sent).
 */
async function* readEvents(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

/** The map from Server-Sent Events, or null if the stream ends first. */
async function mapEvents(reader, onProgress) {
  for await (const { event, data } of readEvents(reader)) {
    const payload = JSON.parse(data);
    if (event === "progress") onProgress(payload.fraction);
    else if (event === "done") return payload;
    else if (event === "error") throw new ApiError(200, payload.detail);
  }
  return null;
}

/** The one map in flight: a progress bar that appears only for maps slower than 0.5 s. */
export class MapJob {
  constructor(root) {
    this.root = root;
    this.bar = root.querySelector('[data-testid="map-progress"]');
    this.label = root.querySelector("[data-map-job-label]");
    this.cancelButton = root.querySelector("[data-map-job-cancel]");
    this.controller = null;
    this.timer = 0;
    this.cancelButton.addEventListener("click", () => {
      if (this.controller) this.cancel();
      else this.hide();
    });
  }

  get busy() {
    return this.controller !== null;
  }

  cancel() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.hide();
  }

  hide() {
    clearTimeout(this.timer);
    this.root.hidden = true;
    this.root.classList.remove("is-error");
  }

  /** Run `path` with `body`; resolves with the map, or null when cancelled or failed. */
  async run(title, path, body) {
    this.cancel();
    const controller = new AbortController();
    this.controller = controller;
    this.title = title;
    this.fraction = 0;
    this.root.classList.remove("is-error");
    this.cancelButton.textContent = t("Cancel");
    this.cancelButton.setAttribute("aria-label", t("Cancel the {title}", { title }));
    this.show(0);
    this.root.hidden = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.controller === controller) this.root.hidden = false;
    }, PROGRESS_DELAY_MS);
    try {
      const map = await streamMap(path, body, {
        signal: controller.signal,
        onProgress: (fraction) => this.controller === controller && this.show(fraction),
        onWait: (seconds) => {
          if (this.controller !== controller) return;
          this.root.hidden = false;
          this.label.textContent = seconds
            ? t("{title}: server busy, retrying in {seconds} s", { title, seconds })
            : `${title}…`;
        },
      });
      if (this.controller !== controller) return null;
      this.controller = null;
      this.hide();
      return map;
    } catch (error) {
      if (this.controller !== controller || error.name === "AbortError") return null;
      this.controller = null;
      this.fail(t("{title} failed: {error}", { title, error: errorText(error, { withField: true }) }));
      return null;
    }
  }

  show(fraction) {
    const percent = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    this.bar.value = percent;
    this.bar.textContent = `${percent}%`;
    this.label.textContent = `${this.title} · ${percent}%`;
  }

  fail(message) {
    clearTimeout(this.timer);
    this.root.hidden = false;
    this.root.classList.add("is-error");
    this.label.textContent = message;
    this.cancelButton.textContent = t("Dismiss");
    this.cancelButton.setAttribute("aria-label", t("Dismiss this message"));
  }
}

/** Plotly's stepped colour scale for categorical codes 0..n-1. */
export function categorical(colors) {
  const n = colors.length;
  const scale = [];
  colors.forEach((color, k) => {
    scale.push([k / n, color], [(k + 1) / n, color]);
  });
  return scale;
}

/** A number as a short, exact input value: 1e-5 rather than 0.00001. */
export function numberText(value) {
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential() : String(value);
}

/** The kinds of minimum a surface lists, as the page names them. */
const KIND_TEXT = { global: t("global"), local: t("local") };

function kindText(minimum) {
  return KIND_TEXT[minimum.kind] || minimum.kind;
}

function minimumName(minimum) {
  return t("{kind} minimum ({x}, {y})", {
    kind: kindText(minimum),
    x: fmt(minimum.x, 3),
    y: fmt(minimum.y, 3),
  });
}

/** Codes for a categorical heatmap: 0 undecided, 1 diverged, 2 + k for minimum k. */
export function outcomeCodes(map) {
  const colors = [
    UNDECIDED_COLOR,
    DIVERGED_COLOR,
    ...map.minima.map((_, k) => BASIN_COLORS[k % BASIN_COLORS.length]),
  ];
  const z = cells(map.outcome, (o) => (o >= 0 ? 2 + o : o + 2));
  return { z, colors };
}

export function outcomeText(map, i, j) {
  const o = map.outcome[i][j];
  if (o === -1) return t("diverged");
  const steps = map.steps_to_converge[i][j];
  const loss = map.final_loss[i][j];
  const where = o >= 0 ? `→ ${minimumName(map.minima[o])}` : t("→ no minimum reached");
  const when = steps === null ? t("still moving at the end") : t("converged in {steps} steps", { steps });
  return t("{where}<br>{when} · loss {loss}", { where, when, loss: escapeHover(fmt(loss)) });
}

export function shares(map) {
  const counts = new Map();
  let total = 0;
  for (const row of map.outcome) {
    for (const o of row) {
      counts.set(o, (counts.get(o) || 0) + 1);
      total += 1;
    }
  }
  return { counts, total };
}

export function percent(count, total) {
  const p = (100 * count) / total;
  return p > 0 && p < 1 ? "<1%" : `${Math.round(p)}%`;
}

/** A legend chip: colour key, name and share. */
export function chip(color, name, share, title) {
  const item = el("span", "map-chip");
  const key = el("span", "map-key");
  key.style.setProperty("--key-color", color);
  item.append(key, el("span", "map-chip-name", name), el("span", "map-chip-share", share));
  if (title) item.title = title;
  return item;
}

// ---- basin map --------------------------------------------------------------------------

export class BasinMaps {
  /** `host`: {state, specs, slots, colors, surface(), redraw()}; `job`: the shared MapJob. */
  constructor({ button, strip, host, job }) {
    this.button = button;
    this.strip = strip;
    this.host = host;
    this.job = job;
    this.map = null;
    this.visible = true;
    this.trace = null;
    this.stripKey = "";
    this.build();
    button.addEventListener("click", () => this.compute());
  }

  build() {
    const strip = this.strip;
    const head = el("div", "map-strip-head");
    const title = el("span", "map-strip-title", t("Basin map"));
    this.swatch = el("span", "swatch");
    this.meta = el("span", "map-strip-meta");
    this.stale = el("span", "map-stale", t("settings changed · recompute"));
    const info = el("span", "map-strip-info");
    info.append(title, this.swatch, this.meta);

    const controls = el("div", "map-strip-controls");
    const toggle = el("label", "switch");
    this.toggle = el("input");
    this.toggle.type = "checkbox";
    this.toggle.checked = true;
    this.toggle.dataset.testid = "basin-overlay-toggle";
    this.toggle.addEventListener("change", () => {
      this.visible = this.toggle.checked;
      this.host.redraw();
    });
    toggle.append(this.toggle, el("span", "switch-track"), el("span", "", t("overlay")));

    this.resolution = el("select", "select select-compact");
    this.resolution.dataset.testid = "basin-resolution";
    this.resolution.setAttribute("aria-label", t("Basin map resolution (start points per axis)"));
    this.resolution.title = t("Start points per axis");
    for (const n of RESOLUTIONS.filter((points) => points <= limits.max_map_resolution)) {
      const option = el("option", "", `${n} × ${n}`);
      option.value = String(n);
      this.resolution.append(option);
    }
    this.resolution.value = "64";

    const stepsLabel = el("label", "map-field");
    this.steps = el("input", "num num-compact");
    this.steps.type = "number";
    this.steps.min = "1";
    this.steps.step = "1";
    this.steps.dataset.testid = "basin-steps";
    this.steps.title = t("Steps per start point");
    stepsLabel.append(el("span", "", t("steps")), this.steps);

    const again = el("button", "btn btn-soft btn-compact", t("Recompute"));
    again.type = "button";
    again.addEventListener("click", () => this.compute());
    const close = el("button", "btn btn-ghost btn-icon btn-compact map-close");
    close.type = "button";
    close.setAttribute("aria-label", t("Close the basin map"));
    close.title = t("Close the basin map");
    close.textContent = "×";
    close.addEventListener("click", () => this.close());
    controls.append(toggle, this.resolution, stepsLabel, again, close);
    head.append(info, controls);

    this.legend = el("div", "map-legend");
    this.legend.setAttribute("aria-label", t("Basins: the minimum each start reaches"));
    strip.append(head, this.legend);
  }

  /** The request for the selected run, at the chosen resolution and steps. */
  request() {
    const state = this.host.state;
    const run = state.selectedRun;
    const request = runRequest(state, run);
    const resolution = Number(this.resolution.value) || 64;
    let steps = Math.round(Number(this.steps.value));
    // First map: the run's own steps (a shorter map would call "undecided" what the run
    // settles), as many as the server takes for this many start points.
    const most = Math.floor(limits.max_map_cell_steps / resolution ** 2);
    if (!this.map || !(steps >= 1)) steps = state.steps;
    // A finer grid takes fewer steps per start point (the box then shows what was sent).
    steps = Math.max(1, Math.min(steps, most));
    return {
      surface: request.surface,
      optimizer: request.optimizer,
      hyperparameters: request.hyperparameters,
      steps,
      resolution,
      dtype: request.dtype,
    };
  }

  async compute() {
    const state = this.host.state;
    const run = state.selectedRun;
    if (!run) return;
    const body = this.request();
    this.steps.value = String(body.steps);
    this.strip.hidden = false;
    this.pending = true;
    this.renderStrip(true);
    const map = await this.job.run(
      t("Basin map {n} × {n}", { n: body.resolution }),
      "/api/maps/basins/stream",
      body,
    );
    this.pending = false;
    if (!map) {
      this.renderStrip(true);
      return;
    }
    this.map = { ...map, request: body, runId: run.id, surfaceKey: surfaceKey(state) };
    this.map.leftOut = leftOut(runRequest(state, run));
    this.trace = null;
    this.visible = true;
    this.toggle.checked = true;
    this.renderStrip(true);
    this.host.redraw();
  }

  close() {
    if (this.pending) this.job.cancel();
    this.pending = false;
    this.map = null;
    this.trace = null;
    this.strip.hidden = true;
    this.host.redraw();
  }

  get shown() {
    const state = this.host.state;
    return Boolean(
      this.map &&
      this.visible &&
      state.view === "contour" &&
      this.map.surfaceKey === surfaceKey(state),
    );
  }

  /** Landscape layer: the categorical heatmap under the paths. */
  landscapeLayer() {
    if (!this.shown) return { key: "", below: [] };
    if (!this.trace) {
      const map = this.map;
      const { z, colors } = outcomeCodes(map);
      const text = cells(map.outcome, (_, i, j) => outcomeText(map, i, j));
      // A contour trace coloured as a heatmap: Plotly draws every heatmap trace under every
      // contour trace, so a plain heatmap would hide beneath the landscape's filled contour.
      this.trace = {
        type: "contour",
        name: "basins",
        meta: { role: "basin-map" },
        x: map.x,
        y: map.y,
        z,
        text,
        zmin: -0.5,
        zmax: colors.length - 0.5,
        zauto: false,
        autocontour: false,
        // Translucent colours, crisp outlines: each basin reads as a tinted, outlined region.
        contours: {
          coloring: "heatmap",
          showlines: true,
          start: 0.5,
          end: colors.length - 1.5,
          size: 1,
        },
        line: { width: 1.3, color: "rgba(27, 34, 48, 0.6)", smoothing: 0.6 },
        colorscale: categorical(colors.map((c) => withAlpha(c, BASIN_ALPHA))),
        showscale: false,
        hovertemplate: t("start (%{x:.3g}, %{y:.3g})<br>%{text}<extra>basin map</extra>"),
        hoverlabel: HOVER,
        showlegend: false,
      };
      this.traceKey = `basins:${Math.random().toString(36).slice(2)}`;
    }
    return { key: this.traceKey, below: [this.trace] };
  }

  /** A click on the landscape while the map shows: start exactly at that cell's point. */
  pick(point) {
    if (!this.shown) return false;
    const { x, y } = this.map;
    const nearest = (values, v) => {
      const step = (values[values.length - 1] - values[0]) / (values.length - 1);
      return Math.max(0, Math.min(values.length - 1, Math.round((v - values[0]) / step)));
    };
    const j = nearest(x, point[0]);
    const i = nearest(y, point[1]);
    this.host.state.set({ start: [x[j], y[i]] });
    return true;
  }

  render() {
    if (this.map && this.map.surfaceKey !== surfaceKey(this.host.state)) {
      this.map = null;
      this.trace = null;
      if (!this.pending) this.strip.hidden = true;
    }
    this.renderStrip(false);
  }

  renderStrip(force) {
    const state = this.host.state;
    const map = this.map;
    const run = map ? state.run(map.runId) : state.selectedRun;
    const current = map && run ? this.request() : null;
    const stale =
      map && current
        ? JSON.stringify([
            map.request.optimizer,
            map.request.hyperparameters,
            map.request.dtype,
          ]) !== JSON.stringify([current.optimizer, current.hyperparameters, current.dtype])
        : false;
    const key = JSON.stringify([
      Boolean(map),
      this.pending,
      stale,
      !run || map === null,
      run && this.host.colors.get(run.id),
      run && state.runs.indexOf(run),
      state.view,
      map && map.x.length,
    ]);
    if (!force && key === this.stripKey) return;
    this.stripKey = key;
    this.swatch.hidden = !run;
    if (run) this.swatch.style.setProperty("--run-color", this.host.colors.get(run.id));
    if (!map) {
      this.meta.textContent = this.pending ? t("computing…") : "";
      this.legend.replaceChildren();
      return;
    }
    const r = map.request;
    const index = run ? state.runs.indexOf(run) + 1 : 0;
    const who = run ? t("run {index} · {optimizer}", { index, optimizer: r.optimizer }) : r.optimizer;
    const where = state.view === "contour" ? "" : t(" · shows on the contour view");
    this.meta.textContent = `${who}${where}`;
    this.meta.title = t(
      "{nx} × {ny} start points, {steps} steps each, with run {index}'s optimizer and settings",
      { nx: map.x.length, ny: map.y.length, steps: r.steps, index },
    );
    const { counts, total } = shares(map);
    const chips = map.minima
      .map((minimum, k) => ({ minimum, k, count: counts.get(k) || 0 }))
      .filter((item) => item.count > 0)
      .sort((a, b) => b.count - a.count);
    const shown = chips.slice(0, 6);
    const rest = chips.slice(6).reduce((sum, item) => sum + item.count, 0);
    const items = shown.map(({ minimum, k, count }) =>
      chip(
        BASIN_COLORS[k % BASIN_COLORS.length],
        `${kindText(minimum)} (${fmt(minimum.x, 3)}, ${fmt(minimum.y, 3)})`,
        percent(count, total),
        t("{minimum}, loss {loss}: {count} of {total} starts", {
          minimum: minimumName(minimum),
          loss: fmt(minimum.loss),
          count,
          total,
        }),
      ),
    );
    if (rest) {
      const more = t("{count} more minima", { count: chips.length - 6 });
      items.push(chip("#ced4da", more, percent(rest, total)));
    }
    if (counts.get(-1)) {
      items.push(
        chip(DIVERGED_COLOR, t("diverged"), percent(counts.get(-1), total), t("the run left the bounds")),
      );
    }
    if (counts.get(-2)) {
      items.push(
        chip(
          UNDECIDED_COLOR,
          t("undecided"),
          percent(counts.get(-2), total),
          t("ended near no known minimum"),
        ),
      );
    }
    if (map.leftOut)
      items.push(el("span", "map-chip map-note", t("without the run's {fields}", { fields: map.leftOut })));
    items.push(el("span", "map-hint", t("Click a cell to start there.")));
    if (stale) items.unshift(this.stale);
    this.legend.replaceChildren(...items);
  }
}
