// The selected run's training knobs: an lr scheduler (from GET /api/schedulers), gradient
// clipping, Gaussian gradient noise and the noisy ensemble drawn behind the run's path.
//
// Run fields (each run in a comparison has its own):
//   scheduler: {name, params, warmup?: {steps, start_factor}} | null
//   clip:      {max_norm, norm_type} | {max_value} | null
//   noise:     {std, seed} | null (std 0 is off and keeps the seed)
//   ensemble:  boolean (needs noise)
// URL, inside each `run=`: sched=StepLR,s.step_size=10,warmup=5/0.1,clip=norm/1/2 (or
// clip=value/0.5),noise=0.5/42,ens=1.
//
// Hooks: data-testid scheduler-select, warmup-steps, warmup-start-factor, clip-kind,
// clip-max-norm, clip-norm-type, clip-max-value, noise-std (slider), noise-std-value,
// noise-seed, noise-resample, ensemble-toggle, ensemble-status; scheduler parameters carry
// data-sparam="<name>" (and data-sparam-value / data-sparam-auto like the optimizer's form).

import { api, errorText, postJSON } from "./api.js";
import { HyperparameterForm, scaleFor } from "./controls.js";
import { exact, fmt, roundSig } from "./format.js";
import { withAlpha } from "./plots.js";
import { decodeLinkText, readNumber } from "./helpers.js";
import { runRequest } from "./state.js";
import { decodeValue, encodeValue } from "./codec.js";
import { limits } from "./limits.js";
import { t, ts } from "./i18n.js";

/** Scheduler specs by name, filled by loadSchedulers() before the page's state is decoded. */
export const SCHEDULERS = new Map();

export const ENSEMBLE_MEMBERS = 20;
const ENSEMBLE_DEBOUNCE_MS = 250;
const ENSEMBLE_RETRY_MS = 1500;
/** Noise and clipping thresholds span these decades on their sliders. */
const SPAN = [-3, 3];
const SEED_RANGE = 2 ** 31;

export async function loadSchedulers() {
  try {
    for (const spec of await api.schedulers()) SCHEDULERS.set(spec.name, spec);
  } catch {
    // The page works without schedulers; the select then offers none.
  }
}

const clone = (value) => structuredClone(value);

function schedulerDefaults(spec) {
  const params = {};
  for (const hp of spec.hyperparameters) params[hp.name] = clone(hp.default);
  return params;
}

// ---- request and URL --------------------------------------------------------------------

function positive(text) {
  const value = Number(text);
  return text !== "" && Number.isFinite(value) && value > 0 ? value : null;
}

export const knobsCodec = {
  request(body, state, run) {
    const scheduler = run.scheduler;
    if (scheduler && SCHEDULERS.has(scheduler.name)) {
      body.scheduler = { name: scheduler.name, params: clone(scheduler.params || {}) };
      if (scheduler.warmup && scheduler.warmup.steps > 0)
        body.scheduler.warmup = clone(scheduler.warmup);
    }
    if (run.clip) body.clip = clone(run.clip);
    if (run.noise && run.noise.std > 0) body.noise = clone(run.noise);
  },

  encodeRun(run) {
    const fields = [];
    const scheduler = run.scheduler;
    const spec = scheduler && SCHEDULERS.get(scheduler.name);
    if (spec) {
      fields.push(`sched=${encodeURIComponent(spec.name)}`);
      for (const hp of spec.hyperparameters) {
        const value = scheduler.params[hp.name];
        if (value !== undefined && JSON.stringify(value) !== JSON.stringify(hp.default)) {
          fields.push(`s.${hp.name}=${encodeValue(value)}`);
        }
      }
      if (scheduler.warmup && scheduler.warmup.steps > 0) {
        fields.push(`warmup=${scheduler.warmup.steps}/${scheduler.warmup.start_factor}`);
      }
    }
    const clip = run.clip;
    if (clip && clip.max_value !== undefined) fields.push(`clip=value/${clip.max_value}`);
    else if (clip) fields.push(`clip=norm/${clip.max_norm}/${clip.norm_type}`);
    if (run.noise && run.noise.std > 0) fields.push(`noise=${run.noise.std}/${run.noise.seed}`);
    if (run.ensemble) fields.push("ens=1");
    return fields;
  },

  decodeRunField(name, text, run) {
    if (name === "sched") {
      const spec = SCHEDULERS.get(decodeLinkText(text, `sched=${text}`));
      if (spec) run.scheduler = { name: spec.name, params: schedulerDefaults(spec) };
    } else if (name.startsWith("s.")) {
      const spec = run.scheduler && SCHEDULERS.get(run.scheduler.name);
      const hp = spec && spec.hyperparameters.find((h) => h.name === name.slice(2));
      if (hp) run.scheduler.params[hp.name] = decodeValue(hp, text, `${name}=${text}`);
    } else if (name === "warmup" && run.scheduler) {
      const [steps, factor] = text.split("/").map(Number);
      if (Number.isInteger(steps) && steps > 0) {
        const start = factor > 0 && factor <= 1 ? factor : 0.1;
        run.scheduler.warmup = { steps, start_factor: start };
      }
    } else if (name === "clip") {
      const [kind, a, b] = text.split("/");
      if (kind === "value" && positive(a)) run.clip = { max_value: positive(a) };
      if (kind === "norm" && positive(a)) {
        run.clip = { max_norm: positive(a), norm_type: b === "inf" ? "inf" : positive(b) || 2 };
      }
    } else if (name === "noise") {
      const [std, seed] = text.split("/").map(Number);
      if (Number.isFinite(std) && std >= 0) {
        run.noise = { std, seed: Number.isInteger(seed) && seed >= 0 ? seed : 0 };
      }
    } else if (name === "ens") {
      run.ensemble = text === "1";
    }
  },
};

/** A run's knobs in one line for the runs list ("StepLR · clip ‖g‖≤1 · noise 0.5"). */
export function knobsSummary(run) {
  const parts = [];
  if (run.scheduler && SCHEDULERS.has(run.scheduler.name)) {
    parts.push(run.scheduler.warmup ? warmupText(run.scheduler.name) : run.scheduler.name);
  }
  if (run.clip) parts.push(clipText(run.clip));
  if (run.noise && run.noise.std > 0)
    parts.push(`${noiseText(run.noise.std)}${run.ensemble ? ` ×${ENSEMBLE_MEMBERS}` : ""}`);
  return parts.join(" · ");
}

const warmupText = (scheduler) => t("warmup → {scheduler}", { scheduler });
const noiseText = (std) => t("noise {std}", { std: fmt(std) });

/** "clip ‖g‖≤1" (by norm, ‖g‖1 or ‖g‖∞ for other norms) or "clip |g|≤0.5" (by value). */
function clipText(clip) {
  return clip.max_value !== undefined
    ? t("clip |g|≤{max}", { max: fmt(clip.max_value) })
    : t("clip ‖g‖{norm}≤{max}", { norm: normName(clip.norm_type), max: fmt(clip.max_norm) });
}

/** ‖g‖ with its norm as a subscript-like suffix: ‖g‖ (2), ‖g‖1, ‖g‖∞. */
function normName(type) {
  if (type === "inf") return "∞";
  return type === 2 ? "" : String(type);
}

// ---- controls ---------------------------------------------------------------------------

/** A log slider over SPAN decades whose leftmost position means 0 when `zero` is set. */
function logScale(zero) {
  const range = { log: true, slider_min: 10 ** SPAN[0], slider_max: 10 ** SPAN[1] };
  return scaleFor(range, { zero });
}

/** Slider + number box for one positive number; `onValue(value)`. */
function bindNumber(slider, box, { zero, onValue }) {
  const scale = logScale(zero);
  Object.assign(slider, scale.attrs);
  slider.addEventListener("input", () => {
    const value = scale.toValue(slider.value);
    box.value = exact(value);
    onValue(value);
  });
  box.addEventListener("change", () => {
    const value = readNumber(box);
    if (value === null || value < 0 || (!zero && value === 0)) {
      box.setAttribute("aria-invalid", "true");
      return;
    }
    box.removeAttribute("aria-invalid");
    slider.value = String(scale.toPosition(value));
    onValue(value);
  });
  return (value) => {
    if (document.activeElement !== slider) slider.value = String(scale.toPosition(value));
    if (document.activeElement !== box) {
      box.value = exact(value);
      box.removeAttribute("aria-invalid");
    }
  };
}

/** The form's hooks say data-hparam; scheduler parameters say data-sparam. */
function renameHooks(root) {
  for (const node of root.querySelectorAll("*")) {
    for (const { name, value } of [...node.attributes]) {
      if (!name.startsWith("data-hparam")) continue;
      node.removeAttribute(name);
      node.setAttribute(name.replace("data-hparam", "data-sparam"), value);
    }
  }
}

const $ = (root, testid) => root.querySelector(`[data-testid="${testid}"]`);

export class Knobs {
  /** `host`: the page's narrow host (extras.js); `root`: the sidebar. */
  constructor(host, root) {
    this.host = host;
    this.state = host.state;
    this.ensembles = new Map();
    this.ensembleTimer = 0;
    this.ensembleVersion = 0;
    this.formKey = "";
    const q = (name) => $(root, name);
    this.dom = {
      schedule: root.querySelector('[data-knob="schedule"]'),
      gradient: root.querySelector('[data-knob="gradient"]'),
      scheduleState: root.querySelector('[data-knob-state="schedule"]'),
      gradientState: root.querySelector('[data-knob-state="gradient"]'),
      select: q("scheduler-select"),
      description: root.querySelector("[data-scheduler-description]"),
      params: root.querySelector("[data-sparams]"),
      lists: root.querySelector("[data-sparam-lists]"),
      warmupRow: root.querySelector("[data-warmup]"),
      warmupSteps: q("warmup-steps"),
      warmupFactor: q("warmup-start-factor"),
      scheduleError: root.querySelector('[data-error-for="scheduler"]'),
      clipKind: q("clip-kind"),
      clipNorm: root.querySelector("[data-clip-norm]"),
      clipValue: root.querySelector("[data-clip-value]"),
      maxNorm: q("clip-max-norm"),
      maxNormSlider: q("clip-max-norm-slider"),
      normType: q("clip-norm-type"),
      maxValue: q("clip-max-value"),
      maxValueSlider: q("clip-max-value-slider"),
      noiseStd: q("noise-std"),
      noiseStdValue: q("noise-std-value"),
      noiseSeed: q("noise-seed"),
      resample: q("noise-resample"),
      noiseRow: root.querySelector("[data-noise-seed-row]"),
      ensemble: q("ensemble-toggle"),
      ensembleStatus: q("ensemble-status"),
      gradientError: root.querySelector('[data-error-for="gradient"]'),
      lrNote: document.querySelector("[data-lr-note]"),
    };
    this.form = new HyperparameterForm(this.dom.params, {
      onChange: (name, value) => this.setParam(name, value),
    });
    this.fillSchedulers();
    this.bind();
    this.state.addEventListener("change", (event) => this.changed(event.detail.keys));
    // A link that sets knobs opens their sections.
    const runs = this.state.runs;
    if (runs.some((r) => r.scheduler)) this.dom.schedule.open = true;
    if (runs.some((r) => r.clip || (r.noise && r.noise.std > 0))) this.dom.gradient.open = true;
    this.render();
    this.queueEnsembles();
  }

  get run() {
    return this.state.selectedRun;
  }

  update(patch) {
    const run = this.run;
    if (run) this.state.updateRun(run.id, patch);
  }

  fillSchedulers() {
    const select = this.dom.select;
    const none = document.createElement("option");
    none.value = "";
    none.textContent = t("none: constant lr");
    select.replaceChildren(none);
    for (const spec of SCHEDULERS.values()) {
      const option = document.createElement("option");
      option.value = spec.name;
      option.textContent = ts(spec.title) || spec.name;
      option.title = ts(spec.description);
      select.append(option);
    }
    select.disabled = SCHEDULERS.size === 0;
  }

  bind() {
    const d = this.dom;
    d.select.addEventListener("change", () => {
      const spec = SCHEDULERS.get(d.select.value);
      const old = this.run && this.run.scheduler;
      if (!spec) return this.update({ scheduler: null });
      const warmup = old && old.warmup && spec.supports_warmup ? old.warmup : undefined;
      this.update({
        scheduler: {
          name: spec.name,
          params: schedulerDefaults(spec),
          ...(warmup ? { warmup } : {}),
        },
      });
    });
    const readWarmup = () => {
      const run = this.run;
      if (!run || !run.scheduler) return;
      const steps = readNumber(d.warmupSteps);
      const factor = readNumber(d.warmupFactor);
      const { warmup, ...rest } = run.scheduler;
      if (!steps || steps < 1 || !Number.isInteger(steps)) return this.update({ scheduler: rest });
      const start =
        factor !== null && factor > 0 && factor <= 1
          ? factor
          : (warmup && warmup.start_factor) || 0.1;
      this.update({ scheduler: { ...rest, warmup: { steps, start_factor: start } } });
    };
    d.warmupSteps.addEventListener("change", readWarmup);
    d.warmupFactor.addEventListener("change", readWarmup);

    this.clipMemory = { max_norm: 1, norm_type: 2, max_value: 1 };
    d.clipKind.addEventListener("change", () => this.setClip(d.clipKind.value));
    this.showMaxNorm = bindNumber(d.maxNormSlider, d.maxNorm, {
      zero: false,
      onValue: (value) => {
        this.clipMemory.max_norm = value;
        this.setClip("norm");
      },
    });
    this.showMaxValue = bindNumber(d.maxValueSlider, d.maxValue, {
      zero: false,
      onValue: (value) => {
        this.clipMemory.max_value = value;
        this.setClip("value");
      },
    });
    d.normType.addEventListener("change", () => {
      this.clipMemory.norm_type = d.normType.value === "inf" ? "inf" : Number(d.normType.value);
      this.setClip("norm");
    });

    this.showStd = bindNumber(d.noiseStd, d.noiseStdValue, {
      zero: true,
      onValue: (std) => this.setNoise({ std }),
    });
    d.noiseSeed.addEventListener("change", () => {
      const seed = readNumber(d.noiseSeed);
      if (seed === null || seed < 0 || !Number.isInteger(seed)) {
        d.noiseSeed.setAttribute("aria-invalid", "true");
        return;
      }
      d.noiseSeed.removeAttribute("aria-invalid");
      this.setNoise({ seed });
    });
    d.resample.addEventListener("click", () => {
      const old = this.run && this.run.noise ? this.run.noise.seed : -1;
      let seed = Math.floor(Math.random() * SEED_RANGE);
      if (seed === old) seed = (seed + 1) % SEED_RANGE;
      this.setNoise({ seed });
    });
    d.ensemble.addEventListener("change", () => this.update({ ensemble: d.ensemble.checked }));
  }

  setClip(kind) {
    const m = this.clipMemory;
    if (kind === "norm") this.update({ clip: { max_norm: m.max_norm, norm_type: m.norm_type } });
    else if (kind === "value") this.update({ clip: { max_value: m.max_value } });
    else this.update({ clip: null });
  }

  setNoise(patch) {
    const run = this.run;
    if (!run) return;
    const noise = { std: 0, seed: 0, ...(run.noise || {}), ...patch };
    this.update({ noise });
  }

  setParam(name, value) {
    const run = this.run;
    const scheduler = run && run.scheduler;
    if (!scheduler) return;
    const spec = SCHEDULERS.get(scheduler.name);
    const params = { ...(spec ? schedulerDefaults(spec) : {}), ...scheduler.params };
    let next = value;
    // Leaving "auto": start from what the server derives from the run, not the slider's middle.
    if (params[name] === null && value !== null) next = this.derived(name, run) ?? value;
    this.update({ scheduler: { ...scheduler, params: { ...params, [name]: next } } });
  }

  /** The value the server uses for an "auto" (null) parameter, as documented in the API. */
  derived(name, run) {
    const steps = this.state.steps;
    const lr = typeof run.hyperparameters.lr === "number" ? run.hyperparameters.lr : 0.001;
    const quarter = Math.max(1, Math.round(steps / 4));
    const table = {
      step_size: quarter,
      T_0: quarter,
      T_max: steps,
      total_steps: steps,
      step_size_down: run.scheduler.params.step_size_up ?? quarter,
      base_lr: lr,
      max_lr: roundSig(10 * lr, 3),
      milestones: [Math.max(1, Math.round(steps / 3)), Math.max(2, Math.round((2 * steps) / 3))],
    };
    return table[name];
  }

  // ---- state in, controls out -----------------------------------------------------------

  changed(keys) {
    if (["runs", "selected", "steps"].some((key) => keys.has(key))) this.render();
    if (
      ["runs", "surface", "start", "steps", "dtype", "formula", "model"].some((key) =>
        keys.has(key),
      )
    ) {
      this.queueEnsembles();
    }
  }

  render() {
    const run = this.run;
    if (!run) return;
    this.renderSchedule(run);
    this.renderGradient(run);
    this.renderEnsembleStatus();
  }

  renderSchedule(run) {
    const d = this.dom;
    const scheduler = run.scheduler && SCHEDULERS.has(run.scheduler.name) ? run.scheduler : null;
    const spec = scheduler && SCHEDULERS.get(scheduler.name);
    d.select.value = spec ? spec.name : "";
    d.description.textContent = spec
      ? ts(spec.description) + (spec.needs_loss ? t(" step() is given the loss of each step.") : "")
      : t("The optimizer keeps its lr for the whole run.");
    d.params.hidden = !spec;
    d.lists.hidden = !spec;
    d.warmupRow.hidden = !(spec && spec.supports_warmup);
    d.scheduleState.textContent = spec
      ? scheduler.warmup
        ? warmupText(spec.name)
        : spec.name
      : t("off");
    d.schedule.classList.toggle("knob-on", Boolean(spec));
    const log = this.lrLog;
    if (d.lrNote)
      d.lrNote.textContent = [spec ? spec.name : "", log ? t("log scale") : ""]
        .filter(Boolean)
        .join(" · ");
    if (!spec) {
      this.formKey = "";
      this.form.key = "";
      d.params.replaceChildren();
      d.lists.replaceChildren();
      return;
    }
    const steps = this.state.steps;
    const key = `${run.id}:${spec.name}:${steps}`;
    const plain = {
      ...spec,
      hyperparameters: spec.hyperparameters
        .filter((hp) => hp.type !== "int_list")
        .map((hp) =>
          // Step counts: a slider over this run's length, not up to a million.
          hp.type === "int" && (hp.slider_max ?? 0) > 10000
            ? { ...hp, slider_max: Math.max(10, steps) }
            : hp,
        ),
    };
    const params = { ...schedulerDefaults(spec), ...scheduler.params };
    this.form.render(key, plain, params);
    if (key !== this.formKey) {
      this.formKey = key;
      renameHooks(d.params);
      this.buildLists(spec);
    }
    for (const control of this.listControls) control.set(params[control.name]);
    if (document.activeElement !== d.warmupSteps)
      d.warmupSteps.value = scheduler.warmup ? String(scheduler.warmup.steps) : "";
    if (document.activeElement !== d.warmupFactor) {
      d.warmupFactor.value = String(scheduler.warmup ? scheduler.warmup.start_factor : 0.1);
    }
  }

  /** int_list parameters (MultiStepLR's milestones): a comma-separated box with "auto". */
  buildLists(spec) {
    this.listControls = [];
    const nodes = [];
    for (const hp of spec.hyperparameters.filter((h) => h.type === "int_list")) {
      const id = `sparam-${hp.name}`;
      const box = document.createElement("input");
      box.type = "text";
      box.id = id;
      box.className = "num num-list";
      box.inputMode = "numeric";
      box.dataset.sparam = hp.name;
      box.title = ts(hp.description);
      box.placeholder = t("auto");
      const auto = document.createElement("input");
      auto.type = "checkbox";
      auto.dataset.sparamAuto = hp.name;
      auto.setAttribute("aria-label", t("{name}: auto", { name: hp.name }));
      const error = document.createElement("p");
      error.className = "field-error";
      error.hidden = true;
      error.dataset.errorFor = `sparam:${hp.name}`;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.className = "hp-name";
      label.title = ts(hp.description);
      label.textContent = hp.name;
      const autoLabel = document.createElement("label");
      autoLabel.className = "auto";
      autoLabel.append(auto, t("auto"));
      const head = document.createElement("div");
      head.className = "hp-head";
      head.append(label, autoLabel);
      const row = document.createElement("div");
      row.className = "hp hp-list";
      row.append(head, box, error);
      nodes.push(row);
      box.addEventListener("change", () => {
        const parts = box.value
          .split(/[\s,;/]+/)
          .filter(Boolean)
          .map(Number);
        const ok = parts.length > 0 && parts.every((v) => Number.isInteger(v) && v >= 1);
        error.hidden = ok;
        error.textContent = ok ? "" : t("Whole step numbers, e.g. 100, 200, 300");
        box.toggleAttribute("aria-invalid", !ok);
        if (ok)
          this.setParam(
            hp.name,
            [...new Set(parts)].sort((a, b) => a - b),
          );
      });
      auto.addEventListener("change", () => this.setParam(hp.name, auto.checked ? null : []));
      this.listControls.push({
        name: hp.name,
        set: (value) => {
          auto.checked = value === null || value === undefined;
          box.disabled = auto.checked;
          if (document.activeElement !== box)
            box.value = Array.isArray(value) ? value.join(", ") : "";
        },
      });
    }
    this.dom.lists.replaceChildren(...nodes);
  }

  renderGradient(run) {
    const d = this.dom;
    const clip = run.clip;
    const kind = !clip ? "none" : clip.max_value !== undefined ? "value" : "norm";
    if (clip && kind === "norm")
      Object.assign(this.clipMemory, { max_norm: clip.max_norm, norm_type: clip.norm_type });
    if (clip && kind === "value") this.clipMemory.max_value = clip.max_value;
    d.clipKind.value = kind;
    d.clipNorm.hidden = kind !== "norm";
    d.clipValue.hidden = kind !== "value";
    this.showMaxNorm(this.clipMemory.max_norm);
    this.showMaxValue(this.clipMemory.max_value);
    const type = String(this.clipMemory.norm_type);
    if (![...d.normType.options].some((o) => o.value === type)) {
      const option = document.createElement("option");
      option.value = type;
      option.textContent = type;
      d.normType.append(option);
    }
    d.normType.value = type;

    const noise = run.noise || { std: 0, seed: 0 };
    this.showStd(noise.std);
    if (document.activeElement !== d.noiseSeed) d.noiseSeed.value = String(noise.seed);
    const noisy = noise.std > 0;
    d.noiseRow.classList.toggle("is-off", !noisy);
    d.ensemble.checked = Boolean(run.ensemble);
    d.ensemble.disabled = !noisy;

    const parts = [];
    if (clip) parts.push(clipText(clip));
    if (noisy) parts.push(noiseText(noise.std));
    d.gradientState.textContent = parts.length ? parts.join(" · ") : t("off");
    d.gradient.classList.toggle("knob-on", parts.length > 0);
  }

  /**
   * Take the server's complaints about knobs ({loc, msg} items) and show them here;
   * returns the items that belong elsewhere.
   */
  claimErrors(items) {
    const d = this.dom;
    const schedule = [];
    const gradient = [];
    const params = [];
    const rest = [];
    for (const item of items) {
      const loc = (Array.isArray(item.loc) ? item.loc : []).filter((p) => p !== "body");
      if (loc[0] === "scheduler" && loc[1] === "params" && loc.length > 2) {
        params.push({ loc: ["hyperparameters", loc[2]], msg: item.msg });
      } else if (loc[0] === "scheduler") schedule.push(ts(String(item.msg)));
      else if (loc[0] === "clip" || loc[0] === "noise") gradient.push(ts(String(item.msg)));
      else rest.push(item);
    }
    const unplaced = this.run && this.run.scheduler ? this.form.showErrors(params) : params;
    schedule.push(
      ...unplaced.map((item) =>
        t("{field}: {message}", { field: item.loc[1], message: ts(String(item.msg)) }),
      ),
    );
    d.scheduleError.hidden = schedule.length === 0;
    d.scheduleError.textContent = schedule.join(" ");
    d.gradientError.hidden = gradient.length === 0;
    d.gradientError.textContent = gradient.join(" ");
    if (schedule.length || params.length) d.schedule.open = true;
    if (gradient.length) d.gradient.open = true;
    return rest;
  }

  // ---- ensembles --------------------------------------------------------------------------

  /** Ask again (debounced) for every run whose ensemble request changed. */
  queueEnsembles() {
    clearTimeout(this.ensembleTimer);
    const wanted = new Set();
    for (const run of this.state.runs) {
      if (run.ensemble && run.noise && run.noise.std > 0) wanted.add(run.id);
    }
    let dropped = false;
    for (const id of this.ensembles.keys()) {
      if (wanted.has(id)) continue;
      this.ensembles.delete(id);
      dropped = true;
    }
    if (dropped) this.ensembleChanged();
    if (wanted.size) {
      this.ensembleTimer = setTimeout(() => {
        for (const id of wanted) this.fetchEnsemble(id);
      }, ENSEMBLE_DEBOUNCE_MS);
    }
  }

  /**
   * One ensemble request per run at a time (each is `members` whole runs on the server):
   * a change while one is in flight asks again once it lands. The old paths stay drawn
   * until the new ones arrive.
   */
  fetchEnsemble(id) {
    const run = this.state.run(id);
    if (!run || !run.ensemble) return;
    const request = runRequest(this.state, run);
    const members = Math.max(
      2,
      Math.min(ENSEMBLE_MEMBERS, Math.floor(limits.max_ensemble_steps / request.steps)),
    );
    const body = { ...request, members };
    const key = JSON.stringify(body);
    let entry = this.ensembles.get(id);
    if (!entry) {
      entry = { key: "", runs: [], status: "idle", message: "", members };
      this.ensembles.set(id, entry);
    }
    if (entry.inflight) {
      entry.again = true;
      return;
    }
    if (entry.key === key) return;
    Object.assign(entry, {
      key,
      members,
      status: "loading",
      inflight: true,
      again: false,
      message: "",
    });
    this.ensembleChanged();
    let retry = false;
    postJSON("/api/runs/ensemble", body)
      .then((answer) => {
        Object.assign(entry, { status: "done", runs: answer.runs });
      })
      .catch((error) => {
        // Busy (429): try again shortly; anything else waits for the next change.
        retry = error && error.status === 429;
        Object.assign(entry, { status: "error", runs: [], message: errorText(error) });
        if (retry) entry.key = "";
      })
      .finally(() => {
        entry.inflight = false;
        if (this.ensembles.get(id) !== entry) return;
        this.ensembleChanged();
        if (entry.again) this.fetchEnsemble(id);
        else if (retry) setTimeout(() => this.fetchEnsemble(id), ENSEMBLE_RETRY_MS);
      });
  }

  ensembleChanged() {
    this.ensembleVersion += 1;
    this.renderEnsembleStatus();
    this.host.redraw();
  }

  renderEnsembleStatus() {
    const d = this.dom;
    const run = this.run;
    const entry = run && this.ensembles.get(run.id);
    let text = "";
    let state = "";
    if (run && run.ensemble && !(run.noise && run.noise.std > 0)) {
      text = t("Needs noise: set a std above 0.");
    } else if (entry && entry.status === "loading") {
      text = t("Running {n} noisy copies…", { n: entry.members });
      state = "loading";
    } else if (entry && entry.status === "error") {
      text = entry.message;
      state = "error";
    } else if (entry && entry.status === "done" && entry.runs.length) {
      const losses = entry.runs.map((r) => r.final_loss);
      const seeds = entry.runs.map((r) => r.seed);
      text = t("{n} runs, seeds {first}–{last}: final loss {low} to {high}", {
        n: seeds.length,
        first: seeds[0],
        last: seeds[seeds.length - 1],
        low: fmt(Math.min(...losses), 3),
        high: fmt(Math.max(...losses), 3),
      });
    }
    d.ensembleStatus.textContent = text;
    d.ensembleStatus.hidden = !text;
    d.ensembleStatus.dataset.state = state;
  }

  /** Faint ensemble paths for the landscape, behind the runs (contour view): {traces, key}. */
  underlays(runs) {
    const looks = runs.map((r) => `${r.id}/${r.color}/${r.selected}`).join(",");
    const key = `${this.ensembleVersion}:${looks}`;
    if (this.drawn && this.drawn.key === key) return this.drawn;
    const traces = [];
    for (const run of runs) {
      const entry = this.ensembles.get(run.id);
      if (!entry || !entry.runs.length) continue;
      const color = withAlpha(run.color, run.selected ? 0.3 : 0.2);
      for (const member of entry.runs) {
        traces.push({
          type: "scatter",
          mode: "lines",
          x: member.x,
          y: member.y,
          meta: { role: "ensemble", of: run.id, seed: member.seed },
          line: { color, width: 1 },
          hoverinfo: "skip",
          showlegend: false,
        });
      }
    }
    this.drawn = { traces, key };
    return this.drawn;
  }

  exposed() {
    const out = {};
    for (const [id, entry] of this.ensembles) {
      out[id] = { status: entry.status, runs: entry.runs, message: entry.message };
    }
    return out;
  }
}
