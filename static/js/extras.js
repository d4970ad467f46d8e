// The page's training knobs and surfaces of your own, wired into the page in one place:
// schedulers, clipping, noise and ensembles (knobs.js), your formula (formula.js), a model's
// loss (models.js), training the whole network (network.js), per-coordinate settings
// (groups.js) and Copy as PyTorch (script.js).
//
// main.js calls, in order: prepareExtras(location.search) while booting (scheduler specs and
// a linked formula or model surface), extras.register(app) before decoding the state,
// extras.install(app) once the page is built; then extras.view(runs) in each view model,
// extras.formView(run, spec) and extras.changeSplit(run, name, value, part) for the
// optimizer's form, extras.claimErrors(items) for run errors, extras.summary(run) in the runs
// list and extras.copyRun(run) when a run is duplicated.

import { extensions } from "./state.js";
import { Knobs, knobsCodec, knobsSummary, loadSchedulers } from "./knobs.js";
import { FORMULA, FormulaPanel, fetchFormula, formulaCodec, formulaFromParams } from "./formula.js";
import {
  MODEL,
  DEFAULT_MODEL,
  ModelPanel,
  fetchModel,
  lossView,
  modelCodec,
  modelFromParams,
} from "./models.js";
import { NetworkPanel, networkCodec } from "./network.js";
import { GroupsPanel, groupsCodec, groupsSummary } from "./groups.js";
import { ScriptExport } from "./script.js";
import { errorText } from "./api.js";
import { decodeLinkText } from "./helpers.js";
import { installLanguageSwitch, languageCodec } from "./language.js";
import { t } from "./i18n.js";

extensions.push(knobsCodec, formulaCodec, modelCodec, networkCodec, languageCodec, groupsCodec);

/** The query's keys other than `run`, decoded as state.js decodes them. */
export function queryParams(search) {
  const params = new Map();
  for (const pair of search.replace(/^\?/, "").split("&")) {
    const cut = pair.indexOf("=");
    const key = cut < 0 ? pair : pair.slice(0, cut);
    if (!key || key === "run") continue;
    const value = decodeLinkText(cut < 0 ? "" : pair.slice(cut + 1), pair);
    if (value !== null) params.set(key, value);
  }
  return params;
}

/** Surfaces a link asked for, fetched while the page boots: name -> {surface, grid, note}. */
const restored = new Map();
/** name -> why a linked surface could not be drawn (shown in its section, ready to fix). */
const problems = new Map();

export async function prepareExtras(search) {
  const params = queryParams(search);
  const jobs = [loadSchedulers()];
  const restore = (name, config, fetcher) => {
    if (!config) return;
    jobs.push(
      fetcher(config)
        .then((answer) => restored.set(name, answer))
        .catch((error) => problems.set(name, errorText(error))),
    );
  };
  if (params.get("surface") === FORMULA) restore(FORMULA, formulaFromParams(params), fetchFormula);
  if (params.get("surface") === MODEL) restore(MODEL, modelFromParams(params), fetchModel);
  await Promise.all(jobs);
}

const spans = new WeakMap();

/** The smallest and largest lr of a run's columns (cached while its frames stay). */
function lrSpan(columns) {
  let span = spans.get(columns);
  if (!span) {
    span = [Infinity, 0];
    for (const v of columns.lr) {
      if (typeof v !== "number") continue; // null: an optimizer without an lr (AliG)
      if (v < span[0]) span[0] = v;
      if (v > span[1]) span[1] = v;
    }
    spans.set(columns, span);
  }
  return span;
}

class Extras {
  /** Before the state is decoded: surfaces restored from the link join the page's. */
  register(app) {
    for (const [name, answer] of restored) {
      app.surfaces.set(name, answer.surface);
      app.grids.set(name, answer.grid);
    }
  }

  install(app) {
    this.app = app;
    const state = app.state;
    const activate = (answer, patch) => this.activate(answer, patch);
    this.select = document.querySelector('[data-testid="surface-select"]');
    // What the features may use of the page, and nothing else.
    const host = {
      state,
      specs: app.specs,
      colors: app.colors,
      surfaces: app.surfaces,
      redraw: () => app.schedule(),
      refresh: () => app.syncFields(),
      closeMaps: () => app.hparams.setOpen(false),
    };
    this.knobs = new Knobs(host, document.querySelector(".sidebar"));
    this.formula = new FormulaPanel(host, document.querySelector("[data-formula-section]"), {
      activate,
    });
    this.models = new ModelPanel(host, document.querySelector("[data-model-section]"), {
      activate,
    });
    this.script = new ScriptExport(host, document.querySelector('[data-testid="copy-pytorch"]'));
    this.network = new NetworkPanel(host);
    this.groups = new GroupsPanel(host, document.querySelector("[data-hparams]"));
    installLanguageSwitch(document.querySelector('[data-testid="lang-switch"]'));
    app.charts.setLossView((vm) => lossView(vm, state.lossPerEpoch));

    const own = document.createElement("optgroup");
    own.label = t("Your own");
    own.append(new Option(t("Your formula…"), FORMULA), new Option(t("Train a model…"), MODEL));
    this.select.append(own);
    this.select.value = state.surface;
    this.select.addEventListener("change", () => this.surfaceChosen(this.select.value));

    state.addEventListener("change", (event) => {
      const keys = event.detail.keys;
      if (keys.has("surface")) {
        delete this.formula.dom.section.dataset.pending;
        delete this.models.dom.section.dataset.pending;
      }
      if (["surface", "formula", "model", "lossPerEpoch", "runs"].some((key) => keys.has(key)))
        this.render();
    });
    Object.defineProperty(window.losslab, "ensembles", { get: () => this.knobs.exposed() });
    if (problems.has(FORMULA)) {
      this.formula.dom.section.dataset.pending = "true";
      this.formula.showError(problems.get(FORMULA), false);
    }
    if (problems.has(MODEL)) {
      this.models.dom.section.dataset.pending = "true";
      this.models.showError(problems.get(MODEL));
    }
    this.render();
  }

  /** "Your formula…" or "Train a model…" before one is loaded: load it, then switch. */
  surfaceChosen(value) {
    const pending = { [FORMULA]: this.formula, [MODEL]: this.models };
    for (const [name, panel] of Object.entries(pending)) {
      if (name === value && !this.app.surfaces.has(name))
        panel.dom.section.dataset.pending = "true";
      else delete panel.dom.section.dataset.pending;
    }
    if (value === FORMULA && !this.app.surfaces.has(FORMULA)) this.formula.apply();
    if (value === MODEL && !this.app.surfaces.has(MODEL))
      this.models.load(this.app.state.model || DEFAULT_MODEL);
    this.render();
  }

  /** A fetched surface ({surface, grid}) becomes the page's, with the state `patch`. */
  activate(answer, patch) {
    const app = this.app;
    const name = answer.surface.name;
    app.surfaces.set(name, answer.surface);
    app.grids.set(name, answer.grid);
    delete this.formula.dom.section.dataset.pending;
    delete this.models.dom.section.dataset.pending;
    const same = app.state.surface === name;
    // The server's suggested start, without float noise in the link (0.6000000000000001).
    const start = answer.surface.default_start.map((v) => Number(v.toPrecision(6)));
    app.state.set({ ...patch, surface: name, start });
    if (same) app.loadSurface();
    this.render();
  }

  render() {
    this.formula.render();
    this.models.render();
    if (document.activeElement !== this.select) this.select.value = this.app.state.surface;
  }

  /**
   * For the view model: ensemble paths under the runs, the surface's axis names, and
   * whether the lr chart needs a log axis (a schedule that decays by 100× or more).
   */
  view(runs) {
    const surface = this.app.surface;
    const { traces, key } = this.knobs.underlays(runs);
    let lo = Infinity;
    let hi = 0;
    for (const run of runs) {
      const [min, max] = lrSpan(run.columns);
      lo = Math.min(lo, min);
      hi = Math.max(hi, max);
    }
    const lrLog = lo > 0 && hi / lo >= 100;
    if (lrLog !== this.lrLog) {
      this.lrLog = lrLog;
      this.knobs.lrLog = lrLog;
      this.knobs.render();
    }
    return { below: traces, key, axes: (surface && surface.axes) || null, lrLog };
  }

  /** The knobs a duplicated run ("Add run") keeps. */
  copyRun(run) {
    const out = {};
    for (const key of ["scheduler", "clip", "noise", "ensemble", "paramGroups"]) {
      if (run[key] !== undefined) out[key] = structuredClone(run[key]);
    }
    return out;
  }

  claimErrors(items) {
    return this.groups.claimErrors(this.knobs.claimErrors(items));
  }

  summary(run) {
    return [knobsSummary(run), groupsSummary(run)].filter(Boolean).join(" · ");
  }

  /** The optimizer's form for `run`: per-coordinate x and y values where they are on. */
  formView(run, spec) {
    return this.groups.formView(run, spec);
  }

  /** Whether a moved setting was one coordinate's (groups.js took it). */
  changeSplit(run, name, value, part) {
    return this.groups.change(run, name, value, part);
  }
}

export const extras = new Extras();
