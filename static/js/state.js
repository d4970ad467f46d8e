// The one state object of the page, and its mirror in the URL's query string.
//
// URL format (every key always present, hyperparameters only where they differ from torch's
// default, values readable as typed):
//   ?surface=rosenbrock&start=-1.2,1&steps=500&dtype=float32&view=contour&log=0&sel=1
//    &run=SGD,lr=0.001,momentum=0.9&run=Adam,lr=0.05,betas=0.9/0.99
// `run` repeats once per run in order; `sel` is the 0-based index of the selected run.
// A run's `color=k` (0-based palette index) appears where it is not the run's position, and
// `hide=1` where the run is hidden from the plots. The view adds `step=N` (a playhead pinned
// to step N), `speed=N` (steps per second, where not 60) and `tab=events` (the analysis tab,
// where not the first), so a link shows what its sender saw.
// `preset=<name>` follows `sel` while the page was set up by a preset (GET /api/presets).
// Pairs are `a/b` (triples `a/b/c`), booleans `1`/`0`, null (torch's own choice, "auto") is
// `none`. Optimizer names may hold a dot (`run=pytorch_optimizer.RAdam,lr=0.01`). A wrapper's
// base and the base's settings sit beside its own, as in the request:
// `run=SAM,rho=0.1,lr=0.1,momentum=0.9` (base_optimizer=SGD, the default, left out).
// The `extensions` below add keys (formula, model, ...) and run fields (sched, clip, noise,
// ...): knobs.js, formula.js and models.js document theirs. Among them, per-coordinate
// settings (groups.js: x and y as two parameter groups) are run fields: `pg=1` turns them on,
// `px.<name>=<value>` and `py.<name>=<value>` are x's and y's values where they differ from
// the run's own, so `run=SGD,lr=0.1,pg=1,py.lr=0.01` is
// SGD([{"params": [x]}, {"params": [y], "lr": 0.01}], lr=0.1); and a model's options are keys
// (models.js): `bias=0` (y = w·x, one parameter), `shuffle=0`, `mloss=mse`, each only off its
// default: a link without them reads as before.

import { decodeLinkText } from "./helpers.js";
import { decodeValue, encodeValue } from "./codec.js";
import { limits } from "./limits.js";
import { BASE, runSpec, specOf } from "./catalog.js";

/** The page's own limit: one palette colour per run. */
export const MAX_RUNS = 8;
export const SPEEDS = [5, 15, 30, 60, 120, 300, 1000];
export const TABS = ["stability", "events", "fit"];

export class AppState extends EventTarget {
  constructor(initial) {
    super();
    this.surface = "";
    this.start = [0, 0];
    this.steps = 500;
    this.dtype = "float32";
    this.view = "contour";
    this.logLoss = false;
    this.selected = "";
    /** The preset (by name) the page was set up from, or "". */
    this.preset = "";
    /**
     * `color`: the run's palette index, fixed when it is made.
     * @type {{id: string, optimizer: string, hyperparameters: Record<string, unknown>,
     *   color?: number}[]}
     */
    this.runs = [];
    /** null follows the end of the runs; a number pins the playhead to that step. */
    this.playhead = null;
    this.playing = false;
    this.speed = 60;
    /** Ids of the runs hidden from the plots (they still run; the legend shows them). */
    this.hidden = [];
    /** The analysis panel's open tab (TABS). */
    this.tab = TABS[0];
    Object.assign(this, initial);
  }

  /** Apply `patch` and tell listeners which keys changed. */
  set(patch) {
    const keys = Object.keys(patch).filter((key) => this[key] !== patch[key]);
    if (keys.length === 0) return;
    Object.assign(this, patch);
    this.dispatchEvent(new CustomEvent("change", { detail: { keys: new Set(keys) } }));
  }

  run(id) {
    return this.runs.find((run) => run.id === id) || null;
  }

  get selectedRun() {
    return this.run(this.selected) || this.runs[0] || null;
  }

  /** Replace one run's fields (immutably, so listeners can compare). */
  updateRun(id, patch) {
    this.set({ runs: this.runs.map((run) => (run.id === id ? { ...run, ...patch } : run)) });
  }

  setHyperparameter(id, name, value) {
    const run = this.run(id);
    if (!run) return;
    this.updateRun(id, { hyperparameters: { ...run.hyperparameters, [name]: value } });
  }
}

/**
 * Feature modules (registered by extras.js) that add to the request and the URL, each with
 * optional hooks: surface(state) -> the request's surface or undefined; request(body, state,
 * run) adds run fields (scheduler, clip, noise); encode(state) -> ["key=value"];
 * decode(params: Map, out) sets out.extra; encodeRun(run) -> ["field=value"];
 * decodeRunField(name, text, run).
 */
export const extensions = [];

/** The request's `surface`: a surface's name, or an object (your formula, a model). */
export function surfaceRequest(state) {
  for (const extension of extensions) {
    const surface = extension.surface ? extension.surface(state) : undefined;
    if (surface !== undefined) return surface;
  }
  return state.surface;
}

/** The RunRequest the API takes for `run` under the global settings of `state`. */
export function runRequest(state, run) {
  const body = {
    surface: surfaceRequest(state),
    optimizer: run.optimizer,
    hyperparameters: structuredClone(run.hyperparameters),
    start: [state.start[0], state.start[1]],
    steps: state.steps,
    dtype: state.dtype,
  };
  for (const extension of extensions) if (extension.request) extension.request(body, state, run);
  return body;
}

export function defaults(spec) {
  const values = {};
  for (const hp of spec.hyperparameters) values[hp.name] = structuredClone(hp.default);
  return values;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

export function encodeState(state, specs) {
  const parts = [
    `surface=${encodeURIComponent(state.surface)}`,
    `start=${state.start.map(String).join(",")}`,
    `steps=${state.steps}`,
    `dtype=${state.dtype}`,
    `view=${state.view}`,
    `log=${state.logLoss ? 1 : 0}`,
    `sel=${Math.max(0, state.runs.findIndex((run) => run.id === state.selected))}`,
  ];
  if (state.preset) parts.push(`preset=${encodeURIComponent(state.preset)}`);
  if (state.playhead !== null) parts.push(`step=${state.playhead}`);
  if (state.speed !== 60) parts.push(`speed=${state.speed}`);
  if (state.tab !== TABS[0]) parts.push(`tab=${state.tab}`);
  for (const extension of extensions) if (extension.encode) parts.push(...extension.encode(state));
  state.runs.forEach((run, index) => {
    const spec = specOf(specs, run);
    const fields = [encodeURIComponent(run.optimizer)];
    for (const hp of spec ? spec.hyperparameters : []) {
      const value = run.hyperparameters[hp.name];
      if (value !== undefined && !same(value, hp.default)) {
        fields.push(`${hp.name}=${encodeValue(value)}`);
      }
    }
    for (const extension of extensions) {
      if (extension.encodeRun) fields.push(...extension.encodeRun(run));
    }
    if (Number.isInteger(run.color) && run.color !== index) fields.push(`color=${run.color}`);
    if (state.hidden.includes(run.id)) fields.push("hide=1");
    parts.push(`run=${fields.join(",")}`);
  });
  return `?${parts.join("&")}`;
}

/**
 * Read what the query string says, checked against the API's surfaces and optimizers.
 * Returns only the keys present and valid; `runs` carry no ids yet.
 */
export function decodeState(search, { surfaces, specs }) {
  const out = {};
  const runs = [];
  const others = new Map();
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (!pair) continue;
    const cut = pair.indexOf("=");
    const key = cut < 0 ? pair : pair.slice(0, cut);
    const raw = cut < 0 ? "" : pair.slice(cut + 1);
    // A run decodes field by field (decodeRun): one bad field must not cost the whole run.
    const text = key === "run" ? raw : decodeLinkText(raw, pair);
    if (text === null) continue;
    switch (key) {
      case "surface":
        if (surfaces.has(text)) out.surface = text;
        break;
      case "start": {
        const xy = text.split(",").map(Number);
        if (xy.length === 2 && xy.every(Number.isFinite)) out.start = xy;
        break;
      }
      case "steps": {
        const steps = Number(text);
        if (Number.isInteger(steps) && steps >= 1 && steps <= limits.max_steps) out.steps = steps;
        break;
      }
      case "dtype":
        if (text === "float32" || text === "float64") out.dtype = text;
        break;
      case "view":
        if (text === "contour" || text === "3d") out.view = text;
        break;
      case "log":
        out.logLoss = text === "1" || text === "true";
        break;
      case "sel":
        if (/^\d+$/.test(text)) out.selectedIndex = Number(text);
        break;
      case "preset":
        if (/^[\w-]+$/.test(text)) out.preset = text;
        break;
      case "step":
        if (/^\d+$/.test(text) && Number(text) <= limits.max_steps) out.playhead = Number(text);
        break;
      case "speed":
        if (SPEEDS.includes(Number(text))) out.speed = Number(text);
        break;
      case "tab":
        if (TABS.includes(text)) out.tab = text;
        break;
      case "run": {
        const run = decodeRun(text, specs);
        if (run && runs.length < MAX_RUNS) runs.push(run);
        break;
      }
      default:
        others.set(key, text);
        break;
    }
  }
  if (runs.length) {
    // A run without `color=` keeps the colour of its place.
    runs.forEach((run, index) => {
      if (!Number.isInteger(run.color)) run.color = index;
    });
    out.runs = runs;
  }
  for (const extension of extensions) if (extension.decode) extension.decode(others, out);
  return out;
}

function decodeRun(text, specs) {
  const [head, ...fields] = text.split(",");
  const name = decodeLinkText(head, `run=${text}`);
  const own = name === null ? null : specs.get(name);
  if (!own || own.excluded) return null;
  // A wrapper's base first: the other fields may be the base's settings.
  const baseField = fields.find((field) => field.startsWith(`${BASE}=`));
  const baseHp = own.hyperparameters.find((h) => h.name === BASE);
  const chosen = baseField && baseHp ? { [BASE]: decodeValue(baseHp, baseField.slice(BASE.length + 1)) } : {};
  const spec = runSpec(specs, name, chosen);
  const hyperparameters = defaults(spec);
  const run = { optimizer: name, hyperparameters };
  for (const field of fields) {
    const cut = field.indexOf("=");
    if (cut < 0) continue;
    const hp = spec.hyperparameters.find((h) => h.name === field.slice(0, cut));
    const [key, text] = [field.slice(0, cut), field.slice(cut + 1)];
    if (hp) hyperparameters[hp.name] = decodeValue(hp, text);
    else if (key === "color") {
      if (/^\d+$/.test(text)) run.color = Number(text);
    } else if (key === "hide") run.hidden = text === "1";
    else {
      for (const extension of extensions) {
        if (extension.decodeRunField) extension.decodeRunField(key, text, run);
      }
    }
  }
  return run;
}
