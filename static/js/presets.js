// One-click scenarios (GET /api/presets): choosing one sets the surface, the start, the
// length and replaces the runs with the preset's, which then run like any others. The
// state's `preset` names it, so a shared link shows the same description.
//
// Hooks: [data-testid="preset-select"] (option values are preset names),
// [data-testid="preset-description"], [data-testid="preset-restore"].

import { api } from "./api.js";
import { defaults } from "./state.js";
import { runSpec } from "./catalog.js";
import { EVENTS } from "./analysis.js";
import { t, ts } from "./i18n.js";

/** RunRequest fields the page keeps globally; anything else non-null rides on the run. */
const GLOBAL_FIELDS = new Set([
  "surface",
  "optimizer",
  "hyperparameters",
  "start",
  "steps",
  "dtype",
]);

/** Deep equality of JSON values, blind to key order. */
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => same(a[key], b[key]));
}

/** A run as the preset set it, where an absent field and a null one are alike. */
function sameRun(want, have) {
  const keys = new Set([...Object.keys(want), ...Object.keys(have)]);
  return [...keys].every((key) => same(want[key] ?? null, have[key] ?? null));
}

function option(value, text, title) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = text;
  if (title) node.title = title;
  return node;
}

export class Presets {
  /** `host`: {state, surfaces, specs, newId(), emphasize(type|null)}. */
  constructor({ select, info, host }) {
    this.select = select;
    this.info = info;
    this.host = host;
    this.title = info.querySelector("[data-preset-title]");
    this.chip = info.querySelector("[data-preset-phenomenon]");
    this.edited = info.querySelector("[data-preset-edited]");
    this.text = info.querySelector("[data-preset-text]");
    this.restore = info.querySelector('[data-testid="preset-restore"]');
    this.presets = new Map();
    this.pick = null;
    this.shownKey = "";
    select.addEventListener("change", () => {
      if (select.value) this.apply(select.value);
      else host.state.set({ preset: "" });
    });
    this.restore.addEventListener("click", () => this.apply(host.state.preset));
  }

  async load() {
    this.select.disabled = true;
    this.select.replaceChildren(option("", t("Loading scenarios…")));
    let list;
    try {
      list = await api.presets();
    } catch {
      this.select.replaceChildren(option("", t("Scenarios are unavailable")));
      return;
    }
    const usable = list.filter((p) => this.host.surfaces.has(p.surface) && p.runs.length);
    this.presets = new Map(usable.map((p) => [p.name, p]));
    this.select.replaceChildren(
      option("", t("Choose a scenario…")),
      ...usable.map((p) => option(p.name, ts(p.title), ts(p.description))),
    );
    this.select.disabled = false;
    const state = this.host.state;
    if (state.preset && !this.presets.has(state.preset)) state.set({ preset: "" });
    this.render();
  }

  /** The page state a preset stands for (runs without ids). */
  target(preset) {
    const { surfaces, specs } = this.host;
    const surface = surfaces.get(preset.surface);
    const first = preset.runs[0];
    const runs = preset.runs.map((request) => {
      const spec = runSpec(specs, request.optimizer, request.hyperparameters);
      const run = {
        optimizer: request.optimizer,
        hyperparameters: {
          ...(spec ? defaults(spec) : {}),
          ...structuredClone(request.hyperparameters),
        },
      };
      for (const [key, value] of Object.entries(request)) {
        if (!GLOBAL_FIELDS.has(key) && value !== null && value !== undefined) {
          run[key] = structuredClone(value);
        }
      }
      return run;
    });
    return {
      surface: preset.surface,
      start: first.start ? [first.start[0], first.start[1]] : [...surface.default_start],
      steps: first.steps,
      dtype: first.dtype || "float32",
      runs,
    };
  }

  apply(name) {
    const preset = this.presets.get(name);
    if (!preset) return;
    const target = this.target(preset);
    const runs = target.runs.map((run) => ({ id: this.host.newId(), ...run }));
    // Once the runs are in, select the first one that shows the phenomenon.
    this.pick = { name, ids: runs.map((run) => run.id), selected: runs[0].id };
    this.host.state.set({
      ...target,
      runs,
      selected: runs[0].id,
      preset: name,
      playing: false,
      playhead: null,
    });
  }

  /** Whether the page still shows exactly what the preset set up. */
  matches(preset) {
    const state = this.host.state;
    const target = this.target(preset);
    const runs = state.runs.map(({ id, ...run }) => run);
    return (
      target.surface === state.surface &&
      same(target.start, state.start) &&
      target.steps === state.steps &&
      target.dtype === state.dtype &&
      target.runs.length === runs.length &&
      target.runs.every((run, i) => sameRun(run, runs[i]))
    );
  }

  /**
   * Called every render: keeps the select and the description in line with the state.
   * Changes it makes to the state wait for the render to end.
   */
  render(slots) {
    const state = this.host.state;
    const preset = this.presets.get(state.preset) || null;
    if (preset && state.surface !== preset.surface) {
      // Not while the page renders: after it, as a change of its own.
      queueMicrotask(() => state.preset === preset.name && state.set({ preset: "" }));
      return;
    }
    const key = preset
      ? `${preset.name}:${JSON.stringify([state.surface, state.start, state.steps, state.dtype, state.runs])}`
      : "";
    if (key !== this.shownKey) {
      this.shownKey = key;
      this.select.value = preset ? preset.name : "";
      this.info.hidden = !preset;
      this.host.emphasize(preset ? preset.phenomenon : null);
      if (preset) {
        this.title.textContent = ts(preset.title);
        const kind = EVENTS[preset.phenomenon];
        this.chip.textContent = kind ? kind.label.toLowerCase() : preset.phenomenon.replace("_", " ");
        this.chip.dataset.type = preset.phenomenon;
        this.text.textContent = ts(preset.description);
        const edited = !this.matches(preset);
        this.edited.hidden = !edited;
        this.restore.hidden = !edited;
      }
    }
    if (slots) this.settle(slots);
  }

  settle(slots) {
    const pick = this.pick;
    const state = this.host.state;
    if (!pick) return;
    if (state.preset !== pick.name || state.selected !== pick.selected) {
      this.pick = null;
      return;
    }
    const done = pick.ids.map((id) => slots.get(id));
    if (done.some((slot) => !slot || slot.status === "running")) return;
    this.pick = null;
    const type = this.presets.get(pick.name).phenomenon;
    const index = done.findIndex(
      (slot) => slot.analysis && slot.analysis.events.some((event) => event.type === type),
    );
    if (index > 0) queueMicrotask(() => state.set({ selected: pick.ids[index] }));
  }
}
