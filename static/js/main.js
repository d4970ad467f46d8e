// Wiring: API data in, one AppState, run slots streaming over WebSockets, and one render
// per animation frame that draws everything from the state.

import { api } from "./api.js";
import { HyperparameterForm, fillSelect } from "./controls.js";
import { copyText, download, framesToCSV, runToJSON } from "./exporting.js";
import { exact, fmt, norm2 } from "./format.js";
import { Charts, Landscape, PALETTE, arrowsAt, sampleGrid } from "./plots.js";
import { RunSlot } from "./runs.js";
import {
  AppState,
  MAX_RUNS,
  decodeState,
  defaults,
  encodeState,
  runRequest,
} from "./state.js";

const GRID_RESOLUTION = 150;
const DEFAULT_SURFACE = "rosenbrock";
const DEFAULT_RUN = { optimizer: "SGD", hyperparameters: { momentum: 0.9 } };
const STATUS_TEXT = {
  running: "running",
  converged: "converged",
  diverged: "diverged",
  max_steps: "max steps",
  error: "error",
};

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const dom = {
  surfaceSelect: $('[data-testid="surface-select"]'),
  formula: $("[data-surface-formula]"),
  surfaceDescription: $("[data-surface-description]"),
  optimizerSelect: $('[data-testid="optimizer-select"]'),
  optimizerDescription: $("[data-optimizer-description]"),
  selectedLabel: $("[data-selected-label]"),
  hparams: $("[data-hparams]"),
  runsList: $("[data-runs-list]"),
  runsCount: $("[data-runs-count]"),
  addRun: $('[data-testid="add-run"]'),
  startX: $('[data-testid="start-x"]'),
  startY: $('[data-testid="start-y"]'),
  steps: $('[data-testid="steps"]'),
  dtype: $('[data-testid="dtype"]'),
  landscape: $('[data-testid="landscape"]'),
  landscapeTop: $("[data-landscape-top]"),
  cursor: $("[data-cursor-readout]"),
  viewToggle: $('[data-testid="view-toggle"]'),
  arrowLegend: $("[data-arrow-legend]"),
  loading: $("[data-loading]"),
  scrub: $('[data-testid="scrub"]'),
  speed: $('[data-testid="speed"]'),
  play: $('[data-testid="play"]'),
  pause: $('[data-testid="pause"]'),
  readoutStep: $("[data-readout-step]"),
  readoutLoss: $("[data-readout-loss]"),
  readoutPos: $("[data-readout-pos]"),
  readoutGrad: $("[data-readout-grad]"),
  statusLine: $("[data-status-line]"),
  logLoss: $('[data-testid="log-loss"]'),
  copyLink: $('[data-testid="copy-link"]'),
  exportCsv: $('[data-testid="export-csv"]'),
  exportJson: $('[data-testid="export-json"]'),
  errors: {
    start: $('[data-error-for="start"]'),
    steps: $('[data-error-for="steps"]'),
    general: $('[data-error-for="general"]'),
  },
};

class App {
  constructor(surfaces, optimizers) {
    this.surfaces = new Map(surfaces.map((s) => [s.name, s]));
    this.specs = new Map(optimizers.map((o) => [o.name, o]));
    this.slots = new Map();
    this.exposed = {};
    this.colors = new Map();
    this.grids = new Map();
    this.grid = null;
    this.nextId = 1;
    this.frameRequested = false;
    this.runsDirty = true;
    this.uiDirty = true;
    this.listDirty = true;
    this.lastTick = 0;
    this.carry = 0;
    this.announced = new Map();
    this.urlTimer = 0;
    this.urlAt = 0;
    this.ready = false;

    this.state = new AppState(this.initialState());
    this.form = new HyperparameterForm(dom.hparams, {
      onChange: (name, value) => {
        const run = this.state.selectedRun;
        if (run) this.state.setHyperparameter(run.id, name, value);
      },
    });
    this.landscape = new Landscape(dom.landscape, dom.landscapeTop, {
      onPick: (point) => point && this.setStart(point),
      onHover: (point) => this.showCursor(point),
      afterDraw: () => this.checkReady(),
    });
    this.charts = new Charts({
      loss: $('[data-testid="loss-chart"]'),
      grad: $('[data-testid="grad-chart"]'),
      lr: $('[data-testid="lr-chart"]'),
    });
    window.losslab = { state: this.state, runs: this.exposed };

    fillSelect(
      dom.surfaceSelect,
      surfaces.map((s) => ({ value: s.name, text: s.title, title: s.description })),
    );
    fillSelect(
      dom.optimizerSelect,
      optimizers.map((o) => ({ value: o.name, text: o.title || o.name, title: o.description })),
    );
    this.bind();
    this.reconcileSlots();
    this.state.addEventListener("change", (event) => this.changed(event.detail.keys));
    this.loadSurface();
    this.writeUrl();
    this.schedule();
  }

  initialState() {
    const url = decodeState(location.search, { surfaces: this.surfaces, specs: this.specs });
    const surfaceName =
      url.surface ||
      (this.surfaces.has(DEFAULT_SURFACE) ? DEFAULT_SURFACE : this.surfaces.keys().next().value);
    const surface = this.surfaces.get(surfaceName);
    let runs = url.runs;
    if (!runs) {
      const spec = this.specs.get(DEFAULT_RUN.optimizer) || this.specs.values().next().value;
      const hyperparameters = defaults(spec);
      for (const [name, value] of Object.entries(DEFAULT_RUN.hyperparameters)) {
        if (name in hyperparameters) hyperparameters[name] = value;
      }
      runs = [{ optimizer: spec.name, hyperparameters }];
    }
    runs = runs.map((run) => ({ id: this.newId(), ...run }));
    const selected = runs[Math.min(url.selectedIndex ?? 0, runs.length - 1)].id;
    return {
      surface: surfaceName,
      start: url.start || [...surface.default_start],
      steps: url.steps || 500,
      dtype: url.dtype || "float32",
      view: url.view || "contour",
      logLoss: url.logLoss || false,
      runs,
      selected,
    };
  }

  newId() {
    const id = `run-${this.nextId}`;
    this.nextId += 1;
    return id;
  }

  get surface() {
    return this.surfaces.get(this.state.surface);
  }

  // ---- state changes -------------------------------------------------------------------

  changed(keys) {
    const has = (...names) => names.some((name) => keys.has(name));
    if (has("surface")) this.loadSurface();
    if (has("runs")) this.reconcileSlots();
    if (has("surface", "start", "steps", "dtype", "runs")) {
      this.runsDirty = true;
      this.markStale();
      if (this.state.playing || this.state.playhead !== null) {
        this.state.set({ playing: false, playhead: null });
      }
    }
    if (has("runs", "selected")) this.listDirty = true;
    this.uiDirty = true;
    this.syncFields();
    if ([...keys].some((key) => !["playhead", "playing", "speed"].includes(key))) this.saveUrl();
    this.schedule();
  }

  /** Runs whose request changed read "running" at once; the request goes out next frame. */
  markStale() {
    for (const run of this.state.runs) {
      const slot = this.slots.get(run.id);
      if (!slot || slot.key === JSON.stringify(runRequest(this.state, run))) continue;
      slot.status = "running";
      const row = dom.runsList.querySelector(`[data-run-id="${run.id}"]`);
      if (row) {
        row.dataset.status = "running";
        $(".badge", row).textContent = STATUS_TEXT.running;
        $(".badge", row).dataset.status = "running";
      }
    }
  }

  reconcileSlots() {
    const ids = new Set(this.state.runs.map((run) => run.id));
    for (const [id, slot] of this.slots) {
      if (ids.has(id)) continue;
      slot.dispose();
      this.slots.delete(id);
      this.colors.delete(id);
      delete this.exposed[id];
    }
    for (const run of this.state.runs) {
      if (this.slots.has(run.id)) continue;
      const slot = new RunSlot(run.id, { onChange: (s) => this.slotChanged(s) });
      this.slots.set(run.id, slot);
      this.exposed[run.id] = slot;
      const used = new Set(this.colors.values());
      this.colors.set(run.id, PALETTE.find((c) => !used.has(c)) || PALETTE[0]);
    }
    if (!this.state.run(this.state.selected) && this.state.runs.length) {
      this.state.set({ selected: this.state.runs[0].id });
    }
  }

  slotChanged(slot) {
    this.listDirty = true;
    this.uiDirty = true;
    const row = dom.runsList.querySelector(`[data-run-id="${slot.id}"]`);
    if (row && row.dataset.status !== slot.status) {
      row.dataset.status = slot.status;
      const badge = $(".badge", row);
      badge.textContent = STATUS_TEXT[slot.status];
      badge.dataset.status = slot.status;
    }
    if (slot.status !== "running" && this.announced.get(slot.id) !== slot.version) {
      this.announced.set(slot.id, slot.version);
      this.announce(slot);
    }
    this.schedule();
  }

  async loadSurface() {
    const name = this.state.surface;
    dom.loading.hidden = false;
    let grid = this.grids.get(name);
    if (!grid) {
      try {
        grid = await api.grid(name, GRID_RESOLUTION);
      } catch (error) {
        dom.loading.textContent = `Could not load the surface: ${error.message}`;
        return;
      }
      this.grids.set(name, grid);
    }
    if (this.state.surface !== name) return;
    this.grid = grid;
    this.landscape.setSurface(this.surface, grid);
    dom.loading.hidden = true;
    this.uiDirty = true;
    this.schedule();
  }

  setStart(point) {
    const d = this.surface.domain;
    const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.max(d.x[1] - d.x[0], d.y[1] - d.y[0]))));
    const round = (v) => Number(v.toFixed(digits));
    this.state.set({ start: [round(point[0]), round(point[1])] });
  }

  // ---- event bindings ------------------------------------------------------------------

  bind() {
    const state = this.state;
    dom.surfaceSelect.addEventListener("change", () => {
      const surface = this.surfaces.get(dom.surfaceSelect.value);
      if (surface) state.set({ surface: surface.name, start: [...surface.default_start] });
    });
    dom.optimizerSelect.addEventListener("change", () => this.switchOptimizer(dom.optimizerSelect.value));
    const readStart = () => {
      const x = Number(dom.startX.value);
      const y = Number(dom.startY.value);
      if (dom.startX.value.trim() === "" || dom.startY.value.trim() === "" || !Number.isFinite(x) || !Number.isFinite(y)) {
        this.uiDirty = true;
        this.schedule();
        return;
      }
      state.set({ start: [x, y] });
    };
    dom.startX.addEventListener("change", readStart);
    dom.startY.addEventListener("change", readStart);
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (!button || button.disabled) return;
      this.action(button.dataset.action, button);
    });
    dom.steps.addEventListener("change", () => {
      const steps = Number(dom.steps.value);
      if (dom.steps.value.trim() === "" || !Number.isFinite(steps)) {
        this.uiDirty = true;
        this.schedule();
        return;
      }
      state.set({ steps });
    });
    dom.dtype.addEventListener("change", () => state.set({ dtype: dom.dtype.value }));
    dom.logLoss.addEventListener("change", () => state.set({ logLoss: dom.logLoss.checked }));
    dom.speed.addEventListener("change", () => state.set({ speed: Number(dom.speed.value) }));
    dom.scrub.addEventListener("input", () => {
      const value = Number(dom.scrub.value);
      state.set({ playing: false, playhead: value >= Number(dom.scrub.max) ? null : value });
    });
    dom.runsList.addEventListener("click", (event) => {
      const row = event.target.closest("[data-run-id]");
      if (!row) return;
      const id = row.dataset.runId;
      if (event.target.closest('[data-testid="remove-run"]')) this.removeRun(id);
      else if (event.target.closest("[data-select-run]")) state.set({ selected: id });
    });
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (target.closest("input, select, textarea, button, a, [contenteditable]")) return;
      if (event.key === " ") {
        event.preventDefault();
        this.action(state.playing ? "pause" : "play");
      } else if (event.key === "ArrowRight") {
        event.preventDefault();
        this.action("step");
      } else if (event.key === "ArrowLeft") {
        event.preventDefault();
        this.action("step-back");
      }
    });
  }

  action(name, button) {
    const state = this.state;
    const end = this.endStep();
    const current = state.playhead === null ? end : Math.min(state.playhead, end);
    switch (name) {
      case "play":
        if (end < 1) return;
        this.lastTick = 0;
        this.carry = 0;
        state.set({ playing: true, playhead: state.playhead === null || current >= end ? 0 : current });
        break;
      case "pause":
        state.set({ playing: false });
        break;
      case "step": {
        const next = Math.min(end, current + 1);
        state.set({ playing: false, playhead: next >= end ? null : next });
        break;
      }
      case "step-back":
        state.set({ playing: false, playhead: Math.max(0, current - 1) });
        break;
      case "toggle-view":
        state.set({ view: state.view === "contour" ? "3d" : "contour" });
        break;
      case "random-start": {
        const d = this.surface.domain;
        this.setStart([
          d.x[0] + Math.random() * (d.x[1] - d.x[0]),
          d.y[0] + Math.random() * (d.y[1] - d.y[0]),
        ]);
        break;
      }
      case "add-run":
        this.addRun();
        break;
      case "copy-link":
        this.copyLink(button);
        break;
      case "export-csv":
      case "export-json":
        this.exportRun(name === "export-csv" ? "csv" : "json");
        break;
      default:
        break;
    }
  }

  addRun() {
    const state = this.state;
    if (state.runs.length >= MAX_RUNS) return;
    const source = state.selectedRun;
    const run = {
      id: this.newId(),
      optimizer: source.optimizer,
      hyperparameters: structuredClone(source.hyperparameters),
    };
    const index = state.runs.findIndex((r) => r.id === source.id);
    const runs = [...state.runs];
    runs.splice(index + 1, 0, run);
    state.set({ runs, selected: run.id });
  }

  removeRun(id) {
    const state = this.state;
    if (state.runs.length <= 1) return;
    const index = state.runs.findIndex((run) => run.id === id);
    const runs = state.runs.filter((run) => run.id !== id);
    const selected =
      state.selected === id ? runs[Math.min(index, runs.length - 1)].id : state.selected;
    state.set({ runs, selected });
  }

  /** Switch the selected run's optimizer, keeping values the user changed where they fit. */
  switchOptimizer(name) {
    const run = this.state.selectedRun;
    const spec = this.specs.get(name);
    if (!run || !spec || run.optimizer === name) return;
    const old = this.specs.get(run.optimizer);
    const values = defaults(spec);
    for (const hp of spec.hyperparameters) {
      const before = old && old.hyperparameters.find((h) => h.name === hp.name);
      const value = run.hyperparameters[hp.name];
      if (!before || before.type !== hp.type || value === undefined) continue;
      if (JSON.stringify(value) === JSON.stringify(before.default)) continue;
      const fits = (v) =>
        v === null ||
        typeof v !== "number" ||
        ((hp.min === null || v >= hp.min) && (hp.max === null || v <= hp.max));
      if (Array.isArray(value) ? value.every(fits) : fits(value)) values[hp.name] = value;
    }
    this.state.updateRun(run.id, { optimizer: name, hyperparameters: values });
  }

  async copyLink(button) {
    this.writeUrl();
    const ok = await copyText(location.href);
    const label = $("[data-label]", button);
    label.textContent = ok ? "Copied" : "Copy failed";
    button.classList.toggle("done", ok);
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => {
      label.textContent = "Copy link";
      button.classList.remove("done");
    }, 1600);
  }

  exportRun(format) {
    const run = this.state.selectedRun;
    const slot = run && this.slots.get(run.id);
    if (!slot || slot.frames.length === 0) return;
    const index = this.state.runs.indexOf(run) + 1;
    const base = `losslab-${this.state.surface}-${run.optimizer}-run${index}`;
    if (format === "csv") download(`${base}.csv`, framesToCSV(slot.frames), "text/csv");
    else download(`${base}.json`, runToJSON(slot), "application/json");
  }

  // ---- URL ----------------------------------------------------------------------------

  writeUrl() {
    const query = encodeState(this.state, this.specs);
    if (query !== location.search) {
      history.replaceState(null, "", `${location.pathname}${query}${location.hash}`);
    }
  }

  /** replaceState on every change, at most every 80 ms (browsers throttle faster callers). */
  saveUrl() {
    const wait = 80 - (performance.now() - this.urlAt);
    clearTimeout(this.urlTimer);
    if (wait <= 0) {
      this.urlAt = performance.now();
      this.writeUrl();
    } else {
      this.urlTimer = setTimeout(() => this.saveUrl(), wait);
    }
  }

  // ---- the frame loop -----------------------------------------------------------------

  schedule() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame((now) => this.frame(now));
  }

  frame(now) {
    this.frameRequested = false;
    if (this.runsDirty) {
      this.runsDirty = false;
      for (const run of this.state.runs) {
        const slot = this.slots.get(run.id);
        const request = runRequest(this.state, run);
        const key = JSON.stringify(request);
        if (slot.key === key) continue;
        slot.key = key;
        slot.submit(request);
      }
    }
    if (this.state.playing) this.advance(now);
    this.render();
    if (this.state.playing) this.schedule();
  }

  endStep() {
    let longest = 0;
    for (const slot of this.slots.values()) longest = Math.max(longest, slot.frames.length);
    return Math.max(0, longest - 1);
  }

  advance(now) {
    const state = this.state;
    const end = this.endStep();
    if (!this.lastTick) {
      this.lastTick = now;
      return;
    }
    this.carry += ((now - this.lastTick) / 1000) * state.speed;
    this.lastTick = now;
    const whole = Math.floor(this.carry);
    if (whole < 1) return;
    this.carry -= whole;
    const next = (state.playhead ?? 0) + whole;
    if (next >= end) state.set({ playing: false, playhead: null });
    else state.set({ playhead: next });
  }

  viewModel() {
    const state = this.state;
    const end = this.endStep();
    const playhead = state.playhead === null ? end : Math.min(state.playhead, end);
    const runs = state.runs.map((run, index) => {
      const slot = this.slots.get(run.id);
      const columns = slot.columns();
      const last = Math.max(0, columns.x.length - 1);
      return {
        id: run.id,
        label: `${index + 1} · ${run.optimizer}`,
        color: this.colors.get(run.id),
        selected: run.id === state.selected,
        columns,
        head: state.playhead === null ? last : Math.min(playhead, last),
        steps: slot.config ? slot.config.steps : state.steps,
        status: slot.status,
        version: slot.version,
        slot,
      };
    });
    const selected = runs.find((run) => run.selected) || runs[0];
    const frame = selected && selected.slot.frames[selected.head];
    const arrows = arrowsAt(frame);
    const width = this.surface.domain.x[1] - this.surface.domain.x[0];
    const longest = Math.max(0, ...arrows.map((a) => a.mag));
    const factor = longest > 0 ? (0.12 * width) / longest : 0;
    for (const arrow of arrows) arrow.shown = [arrow.vec[0] * factor, arrow.vec[1] * factor];
    return {
      view: state.view,
      logLoss: state.logLoss,
      surfaceName: state.surface,
      start: state.start,
      startLoss: this.grid ? sampleGrid(this.grid, state.start[0], state.start[1]) : null,
      runs,
      playhead,
      scrubbing: state.playhead !== null,
      end,
      selected,
      frame,
      arrows: factor > 0 ? arrows : [],
      arrowFactor: factor,
      arrowOrigin: frame ? [frame.x, frame.y] : null,
      arrowLoss: frame ? frame.loss : null,
      arrowColor: selected ? selected.color : null,
    };
  }

  render() {
    const vm = this.viewModel();
    if (this.uiDirty) this.renderControls();
    if (this.listDirty) this.renderRuns(vm);
    this.renderPlayback(vm);
    if (this.grid && this.landscape.surface && this.landscape.surface.name === this.state.surface) {
      this.landscape.draw(vm);
    }
    this.charts.draw(vm);
    this.renderArrowLegend(vm);
    this.uiDirty = false;
    this.listDirty = false;
  }

  /** The simple inputs mirror the state at once (no frame delay). */
  syncFields() {
    const state = this.state;
    const surface = this.surface;
    dom.surfaceSelect.value = state.surface;
    dom.formula.textContent = surface.formula;
    dom.surfaceDescription.textContent = surface.description;
    if (document.activeElement !== dom.startX) dom.startX.value = exact(state.start[0]);
    if (document.activeElement !== dom.startY) dom.startY.value = exact(state.start[1]);
    if (document.activeElement !== dom.steps) dom.steps.value = String(state.steps);
    dom.dtype.value = state.dtype;
    dom.logLoss.checked = state.logLoss;
    dom.speed.value = String(state.speed);
    const is3d = state.view === "3d";
    dom.viewToggle.dataset.view = state.view;
    dom.viewToggle.setAttribute("aria-pressed", String(is3d));
    dom.viewToggle.setAttribute("aria-label", is3d ? "Contour view" : "3D view");
    dom.landscape.classList.toggle("is-3d", is3d);
  }

  renderControls() {
    const state = this.state;
    this.syncFields();

    const run = state.selectedRun;
    if (!run) return;
    const spec = this.specs.get(run.optimizer);
    const index = state.runs.indexOf(run) + 1;
    dom.optimizerSelect.value = run.optimizer;
    dom.optimizerDescription.textContent = spec.description;
    dom.selectedLabel.replaceChildren();
    const swatch = el("span", "swatch");
    swatch.style.setProperty("--run-color", this.colors.get(run.id));
    dom.selectedLabel.append(swatch, `editing run ${index}`);
    this.form.render(`${run.id}:${run.optimizer}`, spec, run.hyperparameters);

    const slot = this.slots.get(run.id);
    const detail = slot && slot.status === "error" ? normalizeDetail(slot.error) : [];
    const rest = this.form.showErrors(detail);
    const buckets = { start: [], steps: [], general: [] };
    for (const item of rest) {
      const at = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body") : [];
      const bucket = at[0] === "start" ? "start" : at[0] === "steps" ? "steps" : "general";
      buckets[bucket].push(at.length && bucket === "general" ? `${at.join(".")}: ${item.msg}` : item.msg);
    }
    for (const [name, messages] of Object.entries(buckets)) {
      dom.errors[name].hidden = messages.length === 0;
      dom.errors[name].textContent = messages.join(" ");
    }
    dom.steps.toggleAttribute("aria-invalid", buckets.steps.length > 0);
    dom.startX.toggleAttribute("aria-invalid", buckets.start.length > 0);
    dom.startY.toggleAttribute("aria-invalid", buckets.start.length > 0);

    dom.addRun.disabled = state.runs.length >= MAX_RUNS;
    dom.runsCount.textContent = `${state.runs.length} of ${MAX_RUNS}`;
    const hasFrames = Boolean(slot && slot.frames.length);
    dom.exportCsv.disabled = !hasFrames;
    dom.exportJson.disabled = !hasFrames;
  }

  renderRuns(vm) {
    const rows = new Map(
      [...dom.runsList.children].map((row) => [row.dataset.runId, row]),
    );
    const ordered = [];
    for (const run of vm.runs) {
      let row = rows.get(run.id);
      if (!row) row = this.buildRow(run.id);
      rows.delete(run.id);
      this.updateRow(row, run);
      ordered.push(row);
    }
    ordered.forEach((row, i) => {
      if (dom.runsList.children[i] !== row) dom.runsList.insertBefore(row, dom.runsList.children[i] || null);
    });
    for (const row of rows.values()) row.remove();
  }

  buildRow(id) {
    const row = el("li", "run-row");
    row.dataset.testid = "run-row";
    row.dataset.runId = id;
    const select = el("button", "run-select");
    select.type = "button";
    select.dataset.selectRun = "";
    const swatch = el("span", "swatch");
    const main = el("span", "run-main");
    const name = el("span", "run-name");
    const badge = el("span", "badge");
    badge.dataset.testid = "run-status";
    const top = el("span", "run-top");
    top.append(name, badge);
    main.append(top, el("span", "run-params"), el("span", "run-reason"));
    select.append(swatch, main);
    const remove = el("button", "run-remove");
    remove.type = "button";
    remove.dataset.testid = "remove-run";
    remove.append(svgCross());
    row.append(select, remove);
    return row;
  }

  updateRow(row, run) {
    const spec = this.specs.get(this.state.run(run.id).optimizer);
    const config = this.state.run(run.id);
    const slot = run.slot;
    const index = this.state.runs.findIndex((r) => r.id === run.id) + 1;
    row.dataset.status = slot.status;
    row.classList.toggle("selected", run.selected);
    const select = $(".run-select", row);
    select.setAttribute("aria-pressed", String(run.selected));
    select.setAttribute("aria-label", `Run ${index}: ${config.optimizer}, ${STATUS_TEXT[slot.status]}. Select to edit.`);
    $(".swatch", row).style.setProperty("--run-color", run.color);
    $(".run-name", row).textContent = `${index} · ${config.optimizer}`;
    $(".run-params", row).textContent = paramSummary(spec, config.hyperparameters);
    const badge = $(".badge", row);
    badge.textContent = STATUS_TEXT[slot.status];
    badge.dataset.status = slot.status;
    $(".run-reason", row).textContent = reasonText(slot);
    const remove = $(".run-remove", row);
    remove.disabled = this.state.runs.length <= 1;
    remove.setAttribute("aria-label", `Remove run ${index}`);
    remove.title = `Remove run ${index}`;
  }

  renderPlayback(vm) {
    const state = this.state;
    dom.scrub.max = String(vm.end);
    if (document.activeElement !== dom.scrub || state.playing) dom.scrub.value = String(vm.playhead);
    dom.scrub.setAttribute("aria-valuetext", `step ${vm.playhead} of ${vm.end}`);
    dom.play.classList.toggle("active", state.playing);
    dom.play.setAttribute("aria-pressed", String(state.playing));
    const sel = vm.selected;
    const frame = vm.frame;
    dom.readoutStep.textContent = `step ${frame ? frame.step : vm.playhead} / ${sel ? Math.max(0, sel.columns.x.length - 1) : vm.end}`;
    dom.readoutLoss.textContent = frame ? `loss ${fmt(frame.loss)}` : "";
    dom.readoutPos.textContent = frame ? `(${fmt(frame.x)}, ${fmt(frame.y)})` : "";
    dom.readoutGrad.textContent = frame ? `‖∇f‖ ${fmt(norm2(frame.grad))}` : "";
    const color = sel ? sel.color : "";
    dom.readoutStep.parentElement.style.setProperty("--run-color", color);
  }

  renderArrowLegend(vm) {
    const legend = dom.arrowLegend;
    if (!vm.arrows.length || !vm.frame) {
      legend.hidden = true;
      return;
    }
    legend.hidden = false;
    const items = vm.arrows.map((arrow) => {
      const item = el("span", `arrow-item arrow-${arrow.kind}`);
      const key = el("span", "arrow-key");
      if (arrow.kind === "state") key.style.setProperty("--run-color", vm.arrowColor);
      item.title = `${arrow.label}: true length ${arrow.mag}`;
      item.append(key, el("span", "arrow-label", arrow.label), el("span", "arrow-mag", fmt(arrow.mag, 3)));
      return item;
    });
    const scale = vm.view === "3d" ? "" : `, drawn ×${fmt(vm.arrowFactor, 2)}`;
    const note = el("span", "arrow-note", `arrows at step ${vm.frame.step}${scale}`);
    legend.replaceChildren(note, ...items);
  }

  showCursor(point) {
    const loss = point && this.grid ? sampleGrid(this.grid, point[0], point[1]) : null;
    dom.cursor.hidden = !point;
    if (!point) return;
    const at = `x ${fmt(point[0], 3)}  y ${fmt(point[1], 3)}`;
    dom.cursor.textContent = loss === null ? at : `${at}  loss ${fmt(loss, 4)}`;
  }

  announce(slot) {
    const index = this.state.runs.findIndex((run) => run.id === slot.id) + 1;
    const run = this.state.run(slot.id);
    if (!run) return;
    const what = STATUS_TEXT[slot.status];
    const why = reasonText(slot);
    dom.statusLine.textContent = `Run ${index} (${run.optimizer}): ${what}${why ? `, ${why}` : ""}.`;
  }

  checkReady() {
    if (this.ready) return;
    const first = this.state.runs[0];
    const slot = first && this.slots.get(first.id);
    const data = dom.landscape.data || [];
    const drawn = data.some((t) => t.meta && t.meta.runId === first.id && t.x && t.x.length > 0);
    if (slot && slot.frames.length > 0 && drawn) {
      this.ready = true;
      document.body.dataset.ready = "true";
    }
  }
}

function normalizeDetail(detail) {
  if (Array.isArray(detail)) return detail;
  if (typeof detail === "string") return [{ loc: [], msg: detail }];
  return [{ loc: [], msg: "the server rejected this run" }];
}

function paramSummary(spec, values) {
  if (!spec) return "";
  const parts = [];
  for (const hp of spec.hyperparameters) {
    const value = values[hp.name];
    const isDefault = JSON.stringify(value) === JSON.stringify(hp.default);
    if (hp.name !== "lr" && isDefault) continue;
    let text;
    if (Array.isArray(value)) text = value.map((v) => (v === null ? "auto" : fmt(v))).join(", ");
    else if (typeof value === "boolean") text = value ? "on" : "off";
    else if (value === null) text = "auto";
    else text = typeof value === "number" ? fmt(value) : String(value);
    parts.push(`${hp.name} ${text}`);
  }
  return parts.join(" · ");
}

function reasonText(slot) {
  if (slot.status === "error") {
    const detail = normalizeDetail(slot.error);
    return detail.map((d) => d.msg).join("; ");
  }
  if (!slot.summary) return slot.frames.length ? `step ${slot.frames.length - 1}…` : "starting…";
  const s = slot.summary;
  if (slot.status === "diverged") {
    return /\bstep\b/.test(s.reason) ? s.reason : `at step ${s.steps_taken}: ${s.reason}`;
  }
  if (slot.status === "converged") return `at step ${s.steps_taken} · loss ${fmt(s.final_loss)}`;
  return `${s.reason} · loss ${fmt(s.final_loss)}`;
}

function svgCross() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 20 20");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M6 6l8 8M14 6l-8 8");
  svg.append(path);
  return svg;
}

async function boot() {
  try {
    const [surfaces, optimizers] = await Promise.all([api.surfaces(), api.optimizers()]);
    new App(surfaces, optimizers);
  } catch (error) {
    dom.loading.hidden = false;
    dom.loading.textContent = `Could not reach the losslab API: ${error.message}`;
    dom.statusLine.textContent = "The page could not load its data from the server.";
  }
}

boot();
