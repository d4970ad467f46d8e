// Wiring: API data in, one AppState, run slots streaming over WebSockets, and one render
// per animation frame that draws everything from the state.

import { api } from "./api.js";
import { HyperparameterForm, fillSelect } from "./controls.js";
import { BASE, runSpec, specOf } from "./catalog.js";
import { Picker } from "./picker.js";
import { copyText, download, framesToCSV, runToJSON } from "./exporting.js";
import { exact, fmt, norm2 } from "./format.js";
import { Charts } from "./charts.js";
import { ASCENT_LABEL, Landscape, TRAIN_LABEL } from "./landscape.js";
import { Phenomena } from "./analysis.js";
import { BasinMaps, MapJob } from "./maps.js";
import { HyperparameterMaps } from "./hparams.js";
import { Presets } from "./presets.js";
import { Benchmark } from "./benchmark.js";
import { Lessons, prepareLessonLink } from "./lessons.js";
import { extras, prepareExtras, queryParams } from "./extras.js";
import { PALETTE, plotlyReady } from "./plots.js";
import { takeUnreadable } from "./helpers.js";
import { sampleGrid } from "./scale.js";
import { RunList, STATUS_TEXT, normalizeDetail, reasonText } from "./runlist.js";
import { Playback } from "./playback.js";
import { LinkWriter } from "./link.js";
import { RunNamer, ascentAt, frameAt, runViews, scaledArrows } from "./viewmodel.js";
import { limits, setLimits } from "./limits.js";
import { FitPanel, fitData } from "./fit.js";
import { RunSlot } from "./runs.js";
import { LiveDrag } from "./live.js";
import {
  AppState,
  MAX_RUNS,
  decodeState,
  defaults,
  encodeState,
  runRequest,
} from "./state.js";
import { el } from "./dom.js";
import { t, ts } from "./i18n.js";

const GRID_RESOLUTION = 150;
const DEFAULT_SURFACE = "rosenbrock";
const DEFAULT_RUN = { optimizer: "SGD", hyperparameters: { momentum: 0.9 } };
/** How long the first landscape may wait for the first run's first frames (see render). */
const FIRST_FRAMES_WAIT_MS = 250;

const $ = (selector, root = document) => root.querySelector(selector);

const dom = {
  surfaceSelect: $('[data-testid="surface-select"]'),
  formula: $("[data-surface-formula]"),
  surfaceDescription: $("[data-surface-description]"),
  lrHint: $('[data-testid="lr-hint"]'),
  fitTab: $('[data-testid="fit-tab"]'),
  lrHintText: $("[data-lr-hint-text]"),
  useSuggestedLr: $('[data-testid="use-suggested-lr"]'),
  optimizerPicker: $('[data-picker="optimizer"]'),
  optimizerDescription: $("[data-optimizer-description]"),
  optimizerMeta: $("[data-optimizer-meta]"),
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
  linkNotice: $('[data-testid="link-notice"]'),
  logLoss: $('[data-testid="log-loss"]'),
  previewBadge: $('[data-testid="preview-badge"]'),
  sweepLegend: $("[data-sweep-legend]"),
  copyLink: $('[data-testid="copy-link"]'),
  exportCsv: $('[data-testid="export-csv"]'),
  exportJson: $('[data-testid="export-json"]'),
  errors: {
    start: $('[data-error-for="start"]'),
    steps: $('[data-error-for="steps"]'),
    general: $('[data-error-for="general"]'),
  },
};

/** Steps of a run unless the link says otherwise (or the server takes fewer). */
const DEFAULT_STEPS = 500;

/** Hyperparameters with one meaning across torch.optim, kept when the optimizer changes. */
const CARRIED = new Set(["lr", "weight_decay", "maximize"]);

/**
 * Into `values` (settings `hps` of the new optimizer or base), the CARRIED settings of
 * `oldValues` (under `oldSpec`) where they were changed from their default and fit.
 */
function carry(oldSpec, oldValues, hps, values) {
  for (const hp of hps) {
    if (!CARRIED.has(hp.name)) continue;
    const before = oldSpec && oldSpec.hyperparameters.find((h) => h.name === hp.name);
    const value = oldValues[hp.name];
    if (!before || before.type !== hp.type || value === undefined) continue;
    if (JSON.stringify(value) === JSON.stringify(before.default)) continue;
    const fits = (v) =>
      v === null ||
      typeof v !== "number" ||
      ((hp.min === null || v >= hp.min) && (hp.max === null || v <= hp.max));
    if (Array.isArray(value) ? value.every(fits) : fits(value)) values[hp.name] = value;
  }
}

const FAMILY_TEXT = {
  first_order: t("first-order"),
  closure: t("closure-based"),
  hessian: t("Hessian-based"),
  sharpness: t("sharpness-aware"),
  wrapper: t("wrapper"),
  schedule_free: t("Schedule-Free"),
};

/**
 * A label shown short (`short`) and read in full (`full`): the rest of `full` after `short`
 * for screen readers, or, where a translation does not begin with the short form, all of it.
 */
function abbreviated(short, full) {
  const label = el("span", "arrow-label");
  if (full.startsWith(short)) label.append(short, el("span", "sr-only", full.slice(short.length)));
  else label.append(el("span", { "aria-hidden": "true", text: short }), el("span", "sr-only", full));
  return label;
}

/**
 * A small line on an optimizer: its paper (a link, in a new tab), its library and its family
 * (how it is stepped, with `step`, in the family's tooltip). Null when it has none of them.
 */
function optimizerMeta(spec, { step = false } = {}) {
  const parts = [];
  if (spec.reference && spec.reference.url) {
    parts.push(
      el("a", {
        class: "paper-link",
        href: spec.reference.url,
        target: "_blank",
        rel: "noopener",
        text: spec.reference.title || spec.reference.url,
        title: t("{title} (opens in a new tab)", { title: spec.reference.title || t("The paper") }),
        "data-testid": "optimizer-paper",
      }),
    );
  }
  if (spec.source) parts.push(el("span", { class: "optimizer-source", text: spec.source }));
  if (spec.family) {
    parts.push(
      el("span", {
        class: "optimizer-family",
        text: FAMILY_TEXT[spec.family] || spec.family,
        title:
          step && spec.family_step
            ? t("How it is stepped: {how}", { how: ts(spec.family_step) })
            : null,
      }),
    );
  }
  if (!parts.length) return null;
  const line = el("p", { class: "optimizer-meta" });
  parts.forEach((part, i) => {
    if (i) line.append(el("span", { class: "meta-dot", "aria-hidden": "true", text: "·" }));
    line.append(part);
  });
  return line;
}

class App {
  constructor(surfaces, optimizers, benchmarkDefaults) {
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
    this.announced = new Map();
    this.ready = false;
    /** "waiting" for Plotly.js, then "first" (the landscape draws alone), then "all". */
    this.plots = window.Plotly ? "first" : "waiting";
    this.firstDrawBy = performance.now() + FIRST_FRAMES_WAIT_MS;

    extras.register(this);
    this.state = new AppState(this.initialState());
    this.namer = new RunNamer(this.specs, (run) => extras.summary(run));
    this.link = new LinkWriter(
      () => encodeState(this.state, this.specs),
      () => this.live.held !== null,
    );
    this.noticeLink(takeUnreadable());
    this.runList = new RunList(dom.runsList, this.specs);
    this.playback = new Playback(this.state, () => this.endStep());
    this.live = new LiveDrag({
      state: this.state,
      sweepable: (name) => Boolean(this.specs.get(name)?.supports?.hyperparameter_sweep),
      landed: (entry) => this.sweepLanded(entry),
      settled: () => {
        this.runsDirty = true;
        this.schedule();
      },
    });
    this.form = new HyperparameterForm(dom.hparams, {
      onChange: (name, value, live, part) => this.changeHyperparameter(name, value, live, part),
      onGrab: (kind, part) => this.live.grab(kind, part),
      custom: (hp, emit) => (hp.name === BASE ? this.basePicker(hp, emit) : null),
      baseHead: (spec) => this.baseHead(spec),
    });
    this.landscape = new Landscape(dom.landscape, dom.landscapeTop, {
      onPick: (point, kind) => this.pick(point, kind),
      onToggleRun: (id) => this.toggleHidden(id),
      onHover: (point) => this.showCursor(point),
      afterDraw: () => this.checkReady(),
    });
    this.phenomena = new Phenomena($("[data-phenomena]"), {
      seek: (step) => this.playback.scrub(step),
      redraw: () => this.schedule(),
      domain: () => this.surface.domain,
      onTab: (tab) => this.state.set({ tab }),
    });
    this.fit = new FitPanel($('[data-testid="fit-chart"]'), $('[data-testid="fit-note"]'));
    this.phenomena.showTab(this.state.tab);
    this.charts = new Charts(
      {
        loss: $('[data-testid="loss-chart"]'),
        grad: $('[data-testid="grad-chart"]'),
        lr: $('[data-testid="lr-chart"]'),
      },
      { lossExtra: (vm) => this.phenomena.lossTraces(vm) },
    );
    const mapHost = {
      state: this.state,
      specs: this.specs,
      colors: this.colors,
      surface: () => this.surface,
      redraw: () => this.schedule(),
    };
    const job = new MapJob($("[data-map-job]"));
    this.basins = new BasinMaps({
      button: $('[data-testid="basin-map-button"]'),
      strip: $("[data-basin-strip]"),
      host: mapHost,
      job,
    });
    this.hparams = new HyperparameterMaps({
      open: $('[data-testid="hparam-map-open"]'),
      panel: $("[data-hmap-panel]"),
      host: mapHost,
      job,
    });
    this.presets = new Presets({
      select: $('[data-testid="preset-select"]'),
      info: $('[data-testid="preset-description"]'),
      host: {
        state: this.state,
        surfaces: this.surfaces,
        specs: this.specs,
        newId: () => this.newId(),
        emphasize: (type) => this.phenomena.emphasize(type),
      },
    });
    window.losslab = { state: this.state, runs: this.exposed };
    this.benchmark = new Benchmark({
      button: $('[data-testid="benchmark-open"]'),
      panel: $('[data-testid="benchmark-panel"]'),
      host: {
        state: this.state,
        specs: this.specs,
        surfaces,
        defaults: benchmarkDefaults,
        newId: () => this.newId(),
        closeMaps: () => this.hparams.setOpen(false),
      },
    });

    this.lessons = new Lessons({
      button: $('[data-testid="lessons-open"]'),
      panel: $('[data-testid="lesson-panel"]'),
      host: {
        state: this.state,
        entries: () => this.lessonEntries(),
        selected: () => this.lessonEntries().find((e) => e.run.id === this.state.selectedRun?.id) || null,
        applyLink: (query) => this.applyLink(query),
      },
    });

    fillSelect(
      dom.surfaceSelect,
      surfaces.map((s) => ({ value: s.name, text: ts(s.title), title: ts(s.description) })),
    );
    // The list of ~150 optimizers is built the first time it opens (picker.js).
    this.picker = new Picker(dom.optimizerPicker, {
      specs: optimizers,
      onPick: (name) => this.switchOptimizer(name),
    });
    this.bind();
    extras.install(this);
    this.reconcileSlots();
    this.offerMaps();
    this.state.addEventListener("change", (event) => this.changed(event.detail.keys));
    this.loadSurface();
    this.presets.load();
    this.link.write();
    this.schedule();
    if (this.plots === "waiting") {
      plotlyReady.then(
        () => {
          this.plots = "first";
          this.firstDrawBy = performance.now() + FIRST_FRAMES_WAIT_MS;
          this.schedule();
        },
        (error) => {
          dom.loading.hidden = false;
          dom.loading.textContent = t("Could not draw: {error}", { error: error.message });
        },
      );
    }
  }

  /** Say which parts of the link were ignored (malformed escapes); the rest applies. */
  noticeLink(parts) {
    if (!parts.length) return;
    const text = dom.linkNotice.querySelector("[data-link-notice-text]");
    const shown = parts.map((part) => (part.length > 60 ? `${part.slice(0, 57)}…` : part));
    const values = { count: parts.length, parts: shown.join(", ") };
    text.textContent =
      parts.length === 1
        ? t("Ignored a part of this link that could not be read (malformed %-escapes): {parts}. The rest of the link applies.", values)
        : t("Ignored {count} parts of this link that could not be read (malformed %-escapes): {parts}. The rest of the link applies.", values);
    dom.linkNotice.hidden = false;
    dom.linkNotice
      .querySelector("[data-link-notice-dismiss]")
      .addEventListener("click", () => (dom.linkNotice.hidden = true), { once: true });
  }

  initialState() {
    return this.stateFromLink(location.search);
  }

  /** The whole page state a link's query stands for (what it leaves out: the defaults). */
  stateFromLink(search) {
    const url = decodeState(search, { surfaces: this.surfaces, specs: this.specs });
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
    // `hidden` travels on a decoded run; the state keeps it as a list of run ids.
    const ids = runs.map(() => this.newId());
    const hidden = ids.filter((_, i) => runs[i].hidden);
    runs = runs.map(({ hidden: _, ...run }, i) => ({ id: ids[i], ...run }));
    const selected = runs[Math.min(url.selectedIndex ?? 0, runs.length - 1)].id;
    return {
      surface: surfaceName,
      start: url.start || [...surface.default_start],
      steps: url.steps || Math.min(DEFAULT_STEPS, limits.max_steps),
      dtype: url.dtype || "float32",
      view: url.view || "contour",
      logLoss: url.logLoss || false,
      runs,
      selected,
      playhead: url.playhead ?? null,
      speed: url.speed || 60,
      tab: url.tab || "stability",
      hidden,
      preset: url.preset || "",
      ...url.extra,
    };
  }

  /**
   * Show what `query` (a page link's query) says, as if the page had been opened on it. A
   * surface of your own (formula, model) must be fetched as the page does while it boots,
   * so the page opens that address instead.
   */
  applyLink(query) {
    const surface = queryParams(query).get("surface");
    if (!this.surfaces.has(surface)) {
      location.assign(`${location.pathname}${query}`);
      return;
    }
    this.state.set({ ...this.stateFromLink(query), playing: false });
  }

  /** Every run as the lessons read it: its request, how it ended and its analysis. */
  lessonEntries() {
    return this.state.runs.map((run) => {
      const slot = this.slots.get(run.id);
      const frames = slot ? slot.frames : [];
      return {
        run,
        request: runRequest(this.state, run),
        status: slot ? slot.status : "running",
        analysis: slot ? slot.analysis : null,
        frames,
        lastStep: frames.length ? frames[frames.length - 1].step : 0,
        minima: this.surface?.minima || [],
      };
    });
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
    if (has("surface", "start", "steps", "dtype", "runs", "formula", "model")) {
      this.runsDirty = true;
      this.markStale();
      if (this.state.playing || this.state.playhead !== null) {
        this.state.set({ playing: false, playhead: null });
      }
    }
    if (has("runs", "selected", "hidden")) this.listDirty = true;
    if (has("surface", "model")) {
      // A regression model opens on its data and fit; elsewhere that tab does not exist.
      const fits = Boolean(fitData(this.surface));
      if (fits && keys.has("surface")) this.state.set({ tab: "fit" });
      else if (!fits && this.state.tab === "fit") this.state.set({ tab: "stability" });
    }
    if (has("tab")) this.phenomena.showTab(this.state.tab);
    if (has("selected", "surface")) this.live.settle();
    if (has("selected", "runs", "surface", "model")) this.offerMaps();
    // The status line speaks of the selected run as it is now: a new surface, selection or
    // request makes the old sentence untrue.
    if (has("selected", "surface", "start", "steps", "dtype", "runs", "formula", "model")) {
      this.announce();
    }
    this.uiDirty = true;
    this.syncFields();
    // While playing, the playhead moves every frame: the link catches up when it stops.
    const playback = ["playhead", "playing", "speed"];
    if (!this.state.playing || [...keys].some((key) => !playback.includes(key))) this.link.save();
    this.schedule();
  }

  /** The map buttons say up front when the selected run's optimizer cannot be mapped
   * (`supports` in GET /api/optimizers), instead of failing after a click. */
  offerMaps() {
    const run = this.state.selectedRun;
    const spec = run ? this.specs.get(run.optimizer) : null;
    const supports = spec?.supports || {};
    // A one-parameter model's landscape is a curve: maps of (x, y) have nothing to cover.
    const curve = this.surface.parameters === 1;
    // A map steps one setting for both coordinates: not a run with per-coordinate settings.
    const grouped = Boolean(run && run.paramGroups);
    const offer = (button, ok, refusal) => {
      if (!button) return;
      button.dataset.offer ??= button.title; // the button's own tooltip, kept for later
      button.disabled = curve || grouped || (Boolean(spec) && !ok);
      button.title = !button.disabled
        ? button.dataset.offer
        : curve
          ? t("Maps need two parameters; this model has one, w")
          : grouped
            ? t("Maps take one setting for x and y: turn this run's per-coordinate settings off to map it")
            : refusal;
    };
    const name = spec ? spec.name : "";
    offer(
      this.basins.button,
      supports.basin_map,
      t("Basin maps run element-wise optimizers (rows of one tensor stay independent); {name} is not one", { name }),
    );
    offer(
      this.hparams.openButton,
      supports.hyperparameter_map,
      t("Hyperparameter maps run first-order optimizers whose cells can step as independent parameter groups; {name} is not one", { name }),
    );
  }

  /** Runs whose request changed read "running" at once; the request goes out next frame. */
  markStale() {
    for (const run of this.state.runs) {
      const slot = this.slots.get(run.id);
      if (!slot || slot.key === JSON.stringify(runRequest(this.state, run))) continue;
      slot.status = "running";
      this.runList.setStatus(run.id, "running");
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
      // A run keeps its colour for life (and in links): the one it was given, else the
      // first free one, written back to the run so the link can carry it.
      const used = new Set(this.colors.values());
      const own = PALETTE[run.color];
      const color = own && !used.has(own) ? own : PALETTE.find((c) => !used.has(c)) || PALETTE[0];
      this.colors.set(run.id, color);
      run.color = PALETTE.indexOf(color);
    }
    if (!this.state.run(this.state.selected) && this.state.runs.length) {
      this.state.set({ selected: this.state.runs[0].id });
    }
  }

  slotChanged(slot) {
    this.listDirty = true;
    this.uiDirty = true;
    this.runList.setStatus(slot.id, slot.status);
    const said = `${slot.version}:${slot.status}`;
    if (slot.id === this.state.selected && this.announced.get(slot.id) !== said) {
      this.announced.set(slot.id, said);
      this.announce();
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
        dom.loading.textContent = t("Could not load the surface: {error}", { error: error.message });
        return;
      }
      this.grids.set(name, grid);
    }
    if (this.state.surface !== name) return;
    this.grid = grid;
    this.landscape.setSurface(this.surface, grid);
    // The note stays while Plotly.js still loads: render() hides it as the landscape draws.
    if (this.plots !== "waiting") dom.loading.hidden = true;
    this.uiDirty = true;
    this.schedule();
  }

  /**
   * A slider (or number box) of the selected run moved: the state takes the value, and where
   * a sweep covers it the run's path is redrawn from the sweep now, in this event (live.js).
   */
  changeHyperparameter(name, value, live, part) {
    const run = this.state.selectedRun;
    if (!run) return;
    if (name === BASE) {
      this.switchBase(value);
      return;
    }
    if (extras.changeSplit(run, name, value, part)) return;
    this.state.setHyperparameter(run.id, name, value);
    const preview = part ? this.live.change(this.state.run(run.id), part, live) : null;
    if (preview) this.showPreview(run.id, preview);
  }

  showPreview(id, preview) {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.setPreview(preview);
    if (this.plots !== "all") return;
    // Straight into the plots, in this event handler; the frame scheduled by the state
    // change draws the rest (playheads, readouts, 3D).
    const vm = this.viewModel();
    this.landscape.preview(vm);
    this.charts.preview(vm);
    this.renderPreviewBadge(vm);
  }

  /** A sweep arrived: strips redraw; a slider still held shows its value's row at once. */
  sweepLanded(entry) {
    this.uiDirty = true;
    this.schedule();
    const run = this.state.selectedRun;
    const slot = run && this.slots.get(run.id);
    const shown = slot && JSON.stringify(slot.config);
    if (!slot || shown === JSON.stringify(runRequest(this.state, run))) return;
    const preview = this.live.current(entry);
    if (preview) this.showPreview(run.id, preview);
  }

  /** The map was clicked or the start dragged: runs show their new frames without a hold. */
  pick(point, kind) {
    const eager = kind !== "end";
    for (const slot of this.slots.values()) slot.eager = eager;
    if (point && !this.basins.pick(point)) this.setStart(point);
    // The new runs go out in this event, not a frame later.
    if (eager) this.submitRuns();
    // The plots draw properly again (landscape.js stream()).
    else this.schedule();
  }

  setStart(point) {
    const d = this.surface.domain;
    const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.max(d.x[1] - d.x[0], d.y[1] - d.y[0]))));
    const round = (v) => Number(v.toFixed(digits));
    // A one-parameter model's runs keep the second coordinate at 0.
    const y = this.surface.parameters === 1 ? 0 : round(point[1]);
    this.state.set({ start: [round(point[0]), y] });
  }

  // ---- event bindings ------------------------------------------------------------------

  bind() {
    const state = this.state;
    dom.surfaceSelect.addEventListener("change", () => {
      const surface = this.surfaces.get(dom.surfaceSelect.value);
      if (surface) state.set({ surface: surface.name, start: [...surface.default_start] });
    });
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
    dom.steps.max = String(limits.max_steps);
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
    dom.useSuggestedLr.addEventListener("click", () => {
      const run = state.selectedRun;
      const lr = this.surface.suggested_lr;
      if (run && lr) state.setHyperparameter(run.id, "lr", lr);
    });
    dom.scrub.addEventListener("input", () => this.playback.scrub(Number(dom.scrub.value)));
    dom.runsList.addEventListener("click", (event) => {
      const row = event.target.closest("[data-run-id]");
      if (!row) return;
      const id = row.dataset.runId;
      if (event.target.closest('[data-testid="remove-run"]')) this.removeRun(id);
      else if (event.target.closest('[data-testid="hide-run"]')) this.toggleHidden(id);
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
    switch (name) {
      case "play":
        this.playback.play();
        break;
      case "pause":
        this.playback.pause();
        break;
      case "step":
        this.playback.step(1);
        break;
      case "step-back":
        this.playback.step(-1);
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
      ...extras.copyRun(source),
    };
    // Appended: the others keep their numbers (and, with them, their colours).
    state.set({ runs: [...state.runs, run], selected: run.id });
  }

  removeRun(id) {
    const state = this.state;
    if (state.runs.length <= 1) return;
    const index = state.runs.findIndex((run) => run.id === id);
    const runs = state.runs.filter((run) => run.id !== id);
    const selected =
      state.selected === id ? runs[Math.min(index, runs.length - 1)].id : state.selected;
    state.set({ runs, selected, hidden: state.hidden.filter((other) => other !== id) });
  }

  /** Hide a run from the plots or show it again (its list row and legend entry stay). */
  toggleHidden(id) {
    const hidden = this.state.hidden;
    this.state.set({
      hidden: hidden.includes(id) ? hidden.filter((other) => other !== id) : [...hidden, id],
    });
  }

  /**
   * Switch the selected run's optimizer: torch's defaults for it, keeping only the settings
   * that mean the same in every optimizer (CARRIED) where the user changed them and they
   * fit. SGD's momentum 0.9 is not RMSprop's momentum: it is not carried.
   */
  switchOptimizer(name) {
    const run = this.state.selectedRun;
    const own = this.specs.get(name);
    if (!run || !own || own.excluded || run.optimizer === name) return;
    // A wrapper starts on its default base, with that base's defaults beside its own.
    const spec = runSpec(this.specs, name, {});
    const values = defaults(spec);
    carry(specOf(this.specs, run), run.hyperparameters, spec.hyperparameters, values);
    this.state.updateRun(run.id, { optimizer: name, hyperparameters: values });
  }

  /**
   * Switch the selected wrapper run's base optimizer: the wrapper's own settings stay, the
   * base's are the new base's defaults, but for lr (and the rest of CARRIED) where both bases
   * have it and it was changed.
   */
  switchBase(name) {
    const run = this.state.selectedRun;
    const spec = run && runSpec(this.specs, run.optimizer, { [BASE]: name });
    if (!spec || !spec.base || spec.base.name !== name || run.hyperparameters[BASE] === name) return;
    const old = specOf(this.specs, run);
    const values = {};
    for (const hp of spec.own) values[hp.name] = structuredClone(run.hyperparameters[hp.name] ?? hp.default);
    values[BASE] = name;
    for (const hp of spec.baseHyperparameters) values[hp.name] = structuredClone(hp.default);
    carry(old, run.hyperparameters, spec.baseHyperparameters, values);
    this.state.updateRun(run.id, { hyperparameters: values });
  }

  /** The base optimizer's picker in a wrapper's form: the grouped list, its choices only. */
  basePicker(hp, emit) {
    const root = Picker.create({
      label: t("base optimizer"),
      testid: "base-optimizer-picker",
      title: ts(hp.description),
      specs: [...this.specs.values()],
      only: hp.choices,
      noun: t("base optimizers"),
      one: t("base optimizer"),
      onPick: (name) => {
        // The form is rebuilt for the new base: its picker takes the focus back (renderControls).
        this.refocusBase = document.activeElement === root.querySelector("input");
        emit(name);
      },
    });
    root.querySelector("input").dataset.hparam = hp.name;
    return { root, set: (value) => root.picker.set(value) };
  }

  /** The heading over a wrapper's base optimizer's settings: its name, what it is, its paper. */
  baseHead(spec) {
    const base = spec.base;
    const head = el("div", { class: "hp-base-head", "data-testid": "base-settings" });
    const [before, after] = t("settings of the base optimizer, {name}").split("{name}");
    head.append(
      el("p", { class: "hp-base-title" }, before, el("b", { text: base.name }), after),
      el("p", { class: "description", text: ts(base.description) }),
    );
    const meta = optimizerMeta(base);
    if (meta) head.append(meta);
    return head;
  }

  async copyLink(button) {
    this.link.write();
    const ok = await copyText(location.href);
    const label = $("[data-label]", button);
    label.textContent = ok ? t("Copied") : t("Copy failed");
    button.classList.toggle("done", ok);
    clearTimeout(this.copyTimer);
    this.copyTimer = setTimeout(() => {
      label.textContent = t("Copy link");
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

  // ---- the frame loop -----------------------------------------------------------------

  schedule() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame((now) => this.frame(now));
  }

  frame(now) {
    this.frameRequested = false;
    this.submitRuns();
    this.playback.tick(now);
    this.render();
    if (this.state.playing) this.schedule();
  }

  /** Ask for the runs whose request changed (each slot sends it once its last one moved). */
  submitRuns() {
    if (this.runsDirty) {
      this.runsDirty = false;
      for (const run of this.state.runs) {
        const slot = this.slots.get(run.id);
        const request = runRequest(this.state, run);
        const key = JSON.stringify(request);
        // A slider in motion: its preview stands in until the slider rests (live.js).
        if (this.live.holds(run.id)) continue;
        // A preview of another request goes. One of the request on hand (a slider dragged back
        // to where it was) stays until that run, asked again, replaces it.
        if (slot.preview && slot.preview.key !== key) slot.setPreview(null);
        else if (slot.preview && slot.key === key && !slot.awaits(key)) slot.key = "";
        if (slot.key === key) continue;
        slot.key = key;
        slot.submit(request);
      }
    }
  }

  endStep() {
    let longest = 0;
    for (const slot of this.slots.values()) longest = Math.max(longest, slot.length);
    return Math.max(0, longest - 1);
  }

  viewModel() {
    const state = this.state;
    const end = this.endStep();
    const playhead = state.playhead === null ? end : Math.min(state.playhead, end);
    const sliding =
      this.live.held !== null || [...this.slots.values()].some((slot) => slot.preview);
    const names = this.namer.current(state.runs, sliding);
    const runs = runViews({ state, slots: this.slots, colors: this.colors, names, playhead });
    const selected = runs.find((run) => run.selected) || runs[0];
    const frame = selected && frameAt(selected);
    const width = this.surface.domain.x[1] - this.surface.domain.x[0];
    const { arrows, factor } = scaledArrows(selected, frame, width);
    const basins = this.basins.landscapeLayer();
    const events = this.phenomena.landscapeLayer(runs);
    const knobs = extras.view(runs);
    return {
      view: state.view,
      // The start is being dragged: runs restart at every move (landscape.js stream()).
      live: [...this.slots.values()].some((slot) => slot.eager),
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
      arrows: factor > 0 && !selected.hidden ? arrows : [],
      arrowFactor: factor,
      arrowOrigin: frame ? [frame.x, frame.y] : null,
      arrowLoss: frame ? frame.loss : null,
      arrowColor: selected ? selected.color : null,
      ascent: ascentAt(selected, frame),
      // A Schedule-Free run's path is its evaluation point; its training point shows beside.
      trainPoint: Boolean(selected && !selected.hidden && selected.columns.tx),
      layers: {
        key: `${basins.key}|${events.key}|${knobs.key}`,
        below: [...basins.below, ...knobs.below],
        above: events.above,
      },
      axes: knobs.axes,
      lrLog: knobs.lrLog,
    };
  }

  render() {
    const vm = this.viewModel();
    if (this.uiDirty) this.renderControls();
    if (this.listDirty) this.renderRuns(vm);
    this.renderPlayback(vm);
    this.basins.render();
    this.presets.render(this.slots);
    this.renderArrowLegend(vm);
    this.renderPreviewBadge(vm);
    // The lesson reads runs, not plots: it need not wait for Plotly.js (its figures do).
    this.lessons.update();
    this.uiDirty = false;
    this.listDirty = false;
    // The plots wait for Plotly.js (the constructor schedules a frame when it lands).
    if (this.plots === "waiting" || this.awaitFirstFrames()) return;
    if (this.grid && this.landscape.surface && this.landscape.surface.name === this.state.surface) {
      this.landscape.draw(vm);
      dom.loading.hidden = true;
    }
    if (this.plots === "first") {
      // The first landscape goes out alone and the charts follow a frame later: it is what
      // a visitor looks at first, and Plotly's first calls are slow (it compiles as it goes).
      this.plots = "all";
      this.schedule();
      return;
    }
    this.charts.draw(vm);
    this.phenomena.draw(vm);
    const data = fitData(this.surface);
    dom.fitTab.hidden = !data;
    if (data && this.state.tab === "fit") this.fit.draw(vm, data);
    this.hparams.render();
  }

  /**
   * Whether the first landscape should wait for the first run's first frames, so that it is
   * drawn once, path included, rather than twice. Only briefly: the run's socket cannot even
   * open while the page is busy drawing, so drawing first would hold up the run as well.
   */
  awaitFirstFrames() {
    if (this.plots !== "first") return false;
    const run = this.state.runs[0];
    const slot = run && this.slots.get(run.id);
    const left = this.firstDrawBy - performance.now();
    if (!slot || slot.frames.length > 0 || slot.status !== "running" || left <= 0) return false;
    clearTimeout(this.firstDrawTimer);
    this.firstDrawTimer = setTimeout(() => this.schedule(), left);
    return true;
  }

  /**
   * For an SGD run: the surface's stability bound, 2(1+β)/λ with λ its sharpness (at the
   * default start and the global minimum), a warning when the run's lr is past it (it will
   * diverge at once), and the suggested lr (1/λ) one click away.
   */
  renderLrHint() {
    const run = this.state.selectedRun;
    const { sharpness, suggested_lr: suggested } = this.surface;
    const hp = run ? run.hyperparameters : {};
    const lr = hp.lr;
    const beta = Number(hp.momentum) || 0;
    // 2(1+β)/λ is the rule of plain and heavy-ball SGD; Nesterov, dampening, weight decay
    // and ascent have other rules (analysis.stability_rule), which the Sharpness tab states.
    const heavyBall =
      !hp.nesterov && !hp.maximize && !(Number(hp.weight_decay) > 0) && !(Number(hp.dampening) > 0);
    // Per-coordinate settings (param_groups) have no single lr to bound.
    const grouped = Boolean(run && run.paramGroups);
    if (!run || run.optimizer !== "SGD" || grouped || !sharpness || typeof lr !== "number" || !heavyBall) {
      dom.lrHint.hidden = true;
      return;
    }
    const bound = (2 * (1 + beta)) / sharpness;
    const rule = beta ? `2(1+β)/λ = ${fmt(bound, 3)} (β = ${fmt(beta)})` : `2/λ = ${fmt(bound, 3)}`;
    const past = lr >= bound;
    dom.lrHint.hidden = false;
    dom.lrHint.classList.toggle("is-warning", past);
    const numbers = { lr: fmt(lr), rule, sharpness: fmt(sharpness, 4) };
    dom.lrHintText.textContent = past
      ? t(
          "lr {lr} is past this surface's bound {rule}, with its curvature up to λ = {sharpness}: the run will oscillate ever wider and diverge.",
          numbers,
        )
      : t("Curvature here reaches λ = {sharpness}: SGD is stable while lr < {rule}.", numbers);
    // Offered where the lr is past the bound: a stable lr needs no correction.
    dom.useSuggestedLr.hidden = !past || !suggested;
    dom.useSuggestedLr.textContent = t("Use lr {lr} (1/λ)", { lr: exact(suggested) });
  }

  /** The simple inputs mirror the state at once (no frame delay). */
  syncFields() {
    const state = this.state;
    const surface = this.surface;
    dom.surfaceSelect.value = state.surface;
    dom.formula.textContent = surface.formula;
    dom.surfaceDescription.textContent = ts(surface.description);
    this.renderLrHint();
    if (document.activeElement !== dom.startX) dom.startX.value = exact(state.start[0]);
    if (document.activeElement !== dom.startY) dom.startY.value = exact(state.start[1]);
    if (document.activeElement !== dom.steps) dom.steps.value = String(state.steps);
    dom.dtype.value = state.dtype;
    dom.logLoss.checked = state.logLoss;
    dom.speed.value = String(state.speed);
    // One parameter (y = w·x): the start is w alone and the landscape a curve, with no 3D.
    const curve = surface.parameters === 1;
    dom.startY.closest(".field").hidden = curve;
    dom.viewToggle.dataset.offer ??= dom.viewToggle.title;
    dom.viewToggle.disabled = curve;
    const flat = dom.viewToggle.querySelector('[data-seg="contour"]');
    flat.dataset.text ??= flat.textContent;
    flat.textContent = curve ? t("Curve") : flat.dataset.text;
    dom.viewToggle.title = curve
      ? t("One parameter: the landscape is the loss against w, a curve, with no 3D view")
      : dom.viewToggle.dataset.offer;
    const is3d = state.view === "3d" && !curve;
    dom.viewToggle.dataset.view = is3d ? "3d" : "contour";
    dom.viewToggle.setAttribute("aria-pressed", String(is3d));
    dom.viewToggle.setAttribute("aria-label", is3d ? t("Contour view") : t("3D view"));
    dom.landscape.classList.toggle("is-3d", is3d);
    const end = this.endStep();
    dom.scrub.max = String(end);
    if (document.activeElement !== dom.scrub || state.playing) {
      dom.scrub.value = String(state.playhead === null ? end : Math.min(state.playhead, end));
    }
  }

  renderControls() {
    const state = this.state;
    this.syncFields();

    const run = state.selectedRun;
    if (!run) return;
    const spec = specOf(this.specs, run);
    const index = state.runs.indexOf(run) + 1;
    this.picker.set(run.optimizer);
    this.renderOptimizerInfo(spec);
    dom.selectedLabel.replaceChildren();
    const swatch = el("span", "swatch");
    swatch.style.setProperty("--run-color", this.colors.get(run.id));
    dom.selectedLabel.append(swatch, t("editing run {index}", { index }));
    const base = spec.base ? `:${spec.base.name}` : "";
    // Per-coordinate settings (groups.js) show each float setting as an x and a y value.
    const view = extras.formView(run, spec);
    this.form.render(`${run.id}:${run.optimizer}${base}${view.key}`, view.spec, view.values);
    if (this.refocusBase) {
      this.refocusBase = false;
      const picker = dom.hparams.querySelector('[data-testid="base-optimizer-picker"]');
      if (picker) picker.focus();
    }
    this.live.renderStrips(this.form, run, dom.sweepLegend);

    const slot = this.slots.get(run.id);
    const detail = slot && slot.status === "error" ? normalizeDetail(slot.error) : [];
    const rest = extras.claimErrors(this.form.showErrors(detail));
    const buckets = { start: [], steps: [], general: [] };
    for (const item of rest) {
      const at = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body") : [];
      const bucket = at[0] === "start" ? "start" : at[0] === "steps" ? "steps" : "general";
      const msg = ts(item.msg);
      buckets[bucket].push(at.length && bucket === "general" ? `${at.join(".")}: ${msg}` : msg);
    }
    for (const [name, messages] of Object.entries(buckets)) {
      dom.errors[name].hidden = messages.length === 0;
      dom.errors[name].textContent = messages.join(" ");
    }
    dom.steps.toggleAttribute("aria-invalid", buckets.steps.length > 0);
    dom.startX.toggleAttribute("aria-invalid", buckets.start.length > 0);
    dom.startY.toggleAttribute("aria-invalid", buckets.start.length > 0);

    dom.addRun.disabled = state.runs.length >= MAX_RUNS;
    dom.runsCount.textContent = t("{count} of {max}", { count: state.runs.length, max: MAX_RUNS });
    const hasFrames = Boolean(slot && slot.frames.length);
    dom.exportCsv.disabled = !hasFrames;
    dom.exportJson.disabled = !hasFrames;
    this.labelExports();
  }

  /** Under the picker: what the optimizer is, its paper, its library and how it is stepped. */
  renderOptimizerInfo(spec) {
    if (this.infoFor === spec.name) return;
    this.infoFor = spec.name;
    dom.optimizerDescription.textContent = ts(spec.description);
    const meta = optimizerMeta(spec, { step: true });
    dom.optimizerMeta.replaceChildren(...(meta ? meta.childNodes : []));
    dom.optimizerMeta.hidden = !meta;
  }

  /** The exports take the selected run alone: their labels say which one. */
  labelExports() {
    const index = this.state.runs.findIndex((run) => run.id === this.state.selected);
    const run = this.state.runs[index];
    if (!run) return;
    for (const [button, format, what] of [
      [dom.exportCsv, "CSV", "step, x, y, loss, grad_x, grad_y, lr"],
      [dom.exportJson, "JSON", t("every frame and the summary")],
    ]) {
      let tag = button.querySelector("[data-export-run]");
      if (!tag) {
        tag = document.createElement("span");
        tag.className = "export-run";
        tag.dataset.exportRun = "";
        button.append(tag);
      }
      tag.textContent = t("run {index}", { index: index + 1 });
      const name = t("run {index} ({optimizer})", { index: index + 1, optimizer: run.optimizer });
      button.setAttribute("aria-label", t("Download {name} as {format}", { name, format }));
      button.title = t("Download the selected run, {name}, as {format} ({what})", { name, format, what });
    }
  }

  renderRuns(vm) {
    this.runList.render(
      vm.runs.map((run) => {
        const config = this.state.run(run.id);
        // The view's fields win: its `color` is the colour, the state's is its palette index.
        return { ...config, ...run, knobs: extras.summary(config) };
      }),
    );
  }

  renderPlayback(vm) {
    const state = this.state;
    dom.scrub.max = String(vm.end);
    if (document.activeElement !== dom.scrub || state.playing) dom.scrub.value = String(vm.playhead);
    dom.scrub.setAttribute("aria-valuetext", t("step {step} of {end}", { step: vm.playhead, end: vm.end }));
    dom.play.classList.toggle("active", state.playing);
    dom.play.setAttribute("aria-pressed", String(state.playing));
    const sel = vm.selected;
    const frame = vm.frame;
    dom.readoutStep.textContent = t("step {step} / {end}", {
      step: frame ? frame.step : vm.playhead,
      end: sel ? Math.max(0, sel.columns.x.length - 1) : vm.end,
    });
    dom.readoutLoss.textContent = frame ? t("loss {loss}", { loss: fmt(frame.loss) }) : "";
    const gnorm = frame && (frame.grad ? norm2(frame.grad) : frame.gnorm);
    if (this.surface.parameters === 1) {
      // y = w·x: the one parameter, and the loss's slope along it (its gradient's y is 0).
      dom.readoutPos.textContent = frame ? `w ${fmt(frame.x)}` : "";
      dom.readoutGrad.textContent = frame ? `|∂L/∂w| ${fmt(gnorm)}` : "";
    } else {
      dom.readoutPos.textContent = frame ? `(${fmt(frame.x)}, ${fmt(frame.y)})` : "";
      dom.readoutGrad.textContent = frame ? `‖∇f‖ ${fmt(gnorm)}` : "";
    }
    const color = sel ? sel.color : "";
    dom.readoutStep.parentElement.style.setProperty("--run-color", color);
  }

  /** "preview" on the landscape while a swept path stands in for the selected run. */
  renderPreviewBadge(vm) {
    const run = vm.runs.find((r) => r.preview && r.selected) || vm.runs.find((r) => r.preview);
    const p = run && run.preview;
    // Once per change: this runs in every frame and every input event.
    const key = p ? `${run.color}:${p.name}:${p.value}:${p.target}` : "";
    if (key === this.badgeKey) return;
    this.badgeKey = key;
    dom.previewBadge.hidden = !run;
    if (!run) return;
    const name = p.name.replace(/\.(\d)$/, "[$1]");
    dom.previewBadge.style.setProperty("--run-color", run.color);
    dom.previewBadge.querySelector("[data-preview-text]").textContent = `${name} ≈ ${fmt(p.value, 3)}`;
    dom.previewBadge.title = t(
      "The swept path nearest to {name} = {target} ({name} = {value}); the exact run replaces it when the slider rests.",
      { name, target: fmt(p.target), value: fmt(p.value) },
    );
  }

  renderArrowLegend(vm) {
    const legend = dom.arrowLegend;
    if ((!vm.arrows.length && !vm.ascent && !vm.trainPoint) || !vm.frame) {
      legend.hidden = true;
      return;
    }
    legend.hidden = false;
    const items = vm.arrows.map((arrow) => {
      const item = el("span", `arrow-item arrow-${arrow.kind}`);
      const key = el("span", "arrow-key");
      if (arrow.kind === "state") key.style.setProperty("--run-color", vm.arrowColor);
      item.title = t("{label}: true length {length}", { label: arrow.label, length: arrow.mag });
      item.append(key, el("span", "arrow-label", arrow.label), el("span", "arrow-mag", fmt(arrow.mag, 3)));
      return item;
    });
    if (vm.ascent) {
      // The perturbation ε itself, drawn at its true length (not on the gradients' scale).
      const item = el("span", "arrow-item arrow-ascent");
      const size = Math.hypot(vm.ascent.to[0] - vm.ascent.from[0], vm.ascent.to[1] - vm.ascent.from[1]);
      item.title = t(
        "{label}: w + ε(w), where the step from here takes its second gradient; |ε| = {size}, drawn at its true length",
        { label: ASCENT_LABEL, size: fmt(size) },
      );
      item.dataset.testid = "ascent-legend";
      // Short on screen (the legend beside the plot names it in full): the strip is one line.
      const label = abbreviated(t("ascent"), ASCENT_LABEL);
      item.append(el("span", "arrow-key"), label, el("span", "arrow-mag", fmt(size, 3)));
      items.push(item);
    }
    if (vm.trainPoint) {
      const item = el("span", "arrow-item arrow-train");
      const key = el("span", "arrow-key");
      key.style.setProperty("--run-color", vm.arrowColor);
      item.title = t(
        "The line is the evaluation point x (what optimizer.eval() puts in the parameters); dotted: the {label}",
        { label: TRAIN_LABEL },
      );
      item.dataset.testid = "train-legend";
      item.append(key, abbreviated(t("training point y"), TRAIN_LABEL));
      items.push(item);
    }
    const clipped = vm.arrows.some((a) => a.clipped) ? t(", cut at the domain's width") : "";
    const scale =
      vm.view === "3d" || !vm.arrows.length
        ? ""
        : t(", drawn ×{factor} for the whole run{clipped}", { factor: fmt(vm.arrowFactor, 2), clipped });
    const what = vm.trainPoint ? t("path: evaluation point x · ") : "";
    const note = el(
      "span",
      "arrow-note",
      t("{what}arrows at step {step}{scale}", { what, step: vm.frame.step, scale }),
    );
    legend.replaceChildren(note, ...items);
  }

  showCursor(point) {
    const loss = point && this.grid ? sampleGrid(this.grid, point[0], point[1]) : null;
    dom.cursor.hidden = !point;
    if (!point) return;
    const at =
      this.surface.parameters === 1
        ? `w ${fmt(point[0], 3)}`
        : `x ${fmt(point[0], 3)}  y ${fmt(point[1], 3)}`;
    dom.cursor.textContent = loss === null ? at : t("{at}  loss {loss}", { at, loss: fmt(loss, 4) });
  }

  /**
   * Say what the selected run is doing in the polite live region: running, or how it ended.
   * Settles for 250 ms first (a drag is not read out per step), and always reads the state
   * as it is then, so it never names a run that is not selected or a surface that is gone.
   */
  announce() {
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      const id = this.state.selected;
      const index = this.state.runs.findIndex((run) => run.id === id) + 1;
      const run = this.state.run(id);
      const slot = this.slots.get(id);
      if (!run) {
        dom.statusLine.textContent = "";
        return;
      }
      const name = t("Run {index} ({optimizer})", { index, optimizer: run.optimizer });
      if (!slot || slot.status === "running") {
        dom.statusLine.textContent = t("{name} is running…", { name });
        return;
      }
      const why =
        slot.status === "error" || !slot.summary ? reasonText(slot) : ts(slot.summary.reason);
      const where = slot.summary ? t(" at step {step}", { step: slot.summary.steps_taken }) : "";
      const loss = slot.summary ? t(", final loss {loss}", { loss: fmt(slot.summary.final_loss) }) : "";
      const last = slot.frames[slot.frames.length - 1];
      // An optimizer without a learning rate (AliG) has lr null: "—", not "null".
      const lr = last && slot.status !== "error" && !(typeof last.lr === "number") ? t(", lr —") : "";
      const train =
        last && Array.isArray(last.train_point)
          ? t(" Its path is the evaluation point x; dotted, the {label}.", { label: TRAIN_LABEL })
          : "";
      dom.statusLine.textContent = t("{name} {status}{where}: {why}{loss}{lr}.{train}", {
        name,
        status: STATUS_TEXT[slot.status],
        where,
        why,
        loss,
        lr,
        train,
      });
    }, 250);
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

async function boot() {
  prepareLessonLink();
  try {
    const [surfaces, optimizers, limits, benchmarkDefaults] = await Promise.all([
      api.surfaces(),
      api.optimizers(),
      api.limits(),
      api.benchmarkDefaults(),
      prepareExtras(location.search),
    ]);
    setLimits(limits);
    new App(surfaces, optimizers, benchmarkDefaults);
  } catch (error) {
    dom.loading.hidden = false;
    dom.loading.textContent = t("Could not reach the losslab API: {error}", { error: error.message });
    dom.statusLine.textContent = t("The page could not load its data from the server.");
  }
}

boot();
