// Per-coordinate settings: x and y as two parameter groups, each with its own numbers, as in
// `SGD([{"params": [x]}, {"params": [y], "lr": 0.01}], lr=0.1)` (docs/API.md, RunRequest's
// param_groups). While they are on, the optimizer's form shows each float setting twice, for
// x and for y (controls.js `parts`); switches, choices and whole numbers stay shared.
//
// Run field: paramGroups: [{name: value}, {name: value}] | undefined: x's and y's values
// where they differ from the run's own `hyperparameters` (the constructor's, which every
// group falls back on). The request sends those differences as `param_groups`; not on y = w·x,
// whose one parameter has no y to set apart (they come back on a two-parameter surface).
// URL, inside each `run=`: pg=1 (on), then px.<name>=<value> and py.<name>=<value> for x's and
// y's values: run=SGD,lr=0.1,pg=1,py.lr=0.01 is the call above.
// Hooks: data-testid per-coordinate (the checkbox), per-coordinate-row, per-coordinate-note,
// per-coordinate-error; a split setting's wrapper has data-hparam=<name> and data-split, its
// x and y sliders data-hparam-index 0 and 1, their boxes data-hparam-value-index 0 and 1.

import { encodeValue } from "./codec.js";
import { el } from "./dom.js";
import { t, ts } from "./i18n.js";
import { requestsOneParameter } from "./models.js";

const COORDINATES = ["x", "y"];
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
/** The settings a coordinate may have its own of: numbers on a continuous scale. */
const splits = (hp) => hp.type === "float";

/** What a group of `hyperparameters` (the run's own) says differently. */
function differences(group, hyperparameters) {
  const out = {};
  for (const [name, value] of Object.entries(group)) {
    if (name in hyperparameters && !same(value, hyperparameters[name])) out[name] = value;
  }
  return out;
}

export const groupsCodec = {
  request(body, state, run) {
    if (!run.paramGroups || requestsOneParameter(state)) return;
    body.param_groups = run.paramGroups.map((group) => differences(group, body.hyperparameters));
  },

  encodeRun(run) {
    if (!run.paramGroups) return [];
    const fields = ["pg=1"];
    run.paramGroups.forEach((group, i) => {
      for (const [name, value] of Object.entries(differences(group, run.hyperparameters))) {
        fields.push(`p${COORDINATES[i]}.${name}=${encodeValue(value)}`);
      }
    });
    return fields;
  },

  decodeRunField(name, text, run) {
    if (name === "pg") {
      if (text === "1") run.paramGroups ??= [{}, {}];
      return;
    }
    const match = /^p([xy])\.(.+)$/.exec(name);
    if (!match) return;
    const key = match[2];
    const shared = run.hyperparameters[key];
    if (!(typeof shared === "number" || shared === null)) return;
    const value = text === "none" ? null : Number(text);
    if (value !== null && (text === "" || !Number.isFinite(value))) return;
    run.paramGroups ??= [{}, {}];
    run.paramGroups[COORDINATES.indexOf(match[1])][key] = value;
  },
};

/** The runs list's word for a run with per-coordinate settings. */
export function groupsSummary(run) {
  return run.paramGroups ? t("x/y groups") : "";
}

export class GroupsPanel {
  /** `host`: the page's narrow host (extras.js); `hparams`: the optimizer's form. */
  constructor(host, hparams) {
    this.host = host;
    this.state = host.state;
    this.box = el("input", { type: "checkbox", "data-testid": "per-coordinate" });
    this.label = el(
      "label",
      { class: "check-row pc-toggle" },
      this.box,
      el(
        "span",
        {},
        t("Per-coordinate settings"),
        " ",
        el("span", { class: "check-note", text: t("x and y as two parameter groups") }),
      ),
    );
    this.note = el("p", { class: "pc-note", "data-testid": "per-coordinate-note", hidden: true });
    this.error = el("p", {
      class: "field-error",
      "data-testid": "per-coordinate-error",
      role: "alert",
      hidden: true,
    });
    this.root = el(
      "div",
      { class: "pc-row", "data-testid": "per-coordinate-row" },
      this.label,
      this.note,
      this.error,
    );
    hparams.before(this.root);
    this.box.addEventListener("change", () => this.toggle(this.box.checked));
    this.state.addEventListener("change", (event) => {
      const keys = event.detail.keys;
      if (["runs", "selected", "surface", "model"].some((key) => keys.has(key))) this.render();
    });
    this.render();
  }

  get run() {
    return this.state.selectedRun;
  }

  /** Whether the run's optimizer takes parameter groups (GET /api/optimizers). */
  allows(run) {
    const spec = run && this.host.specs.get(run.optimizer);
    return Boolean(spec && spec.supports && spec.supports.param_groups);
  }

  /** Why the selected run cannot have per-coordinate settings now, or "". */
  refusal(run) {
    if (!this.allows(run)) {
      return t(
        "Per-coordinate settings take a plain first-order optimizer (SGD, Adam, Lion, …); {name} is not one",
        { name: run.optimizer },
      );
    }
    if (run.clip || (run.noise && run.noise.std > 0)) {
      return t("Per-coordinate settings do not combine with gradient clipping or noise");
    }
    if (requestsOneParameter(this.state)) {
      return t("This model has one parameter, w: there is no y to set apart");
    }
    return "";
  }

  toggle(on) {
    const run = this.run;
    if (run) this.state.updateRun(run.id, { paramGroups: on ? [{}, {}] : undefined });
  }

  render() {
    const run = this.run;
    if (!run) return;
    const on = Boolean(run.paramGroups);
    const why = this.refusal(run);
    this.box.checked = on;
    // Once on, it can always be turned off: the reason shows under it instead.
    this.box.disabled = Boolean(why) && !on;
    this.label.title =
      why ||
      t(
        "Give x and y their own settings: two parameter groups, as in SGD([{'params': [x]}, {'params': [y], 'lr': 0.01}], lr=0.1)",
      );
    this.note.textContent = on ? why : "";
    this.note.hidden = !(on && why);
    this.root.classList.toggle("is-on", on && !why);
  }

  /**
   * The form for `run` under `spec`: each float setting as an x and a y value while its
   * per-coordinate settings are on and can apply, else as it is.
   * {key (added to the form's), spec, values}.
   */
  formView(run, spec) {
    if (!run.paramGroups || this.refusal(run)) {
      return { key: "", spec, values: run.hyperparameters };
    }
    const values = { ...run.hyperparameters };
    const hyperparameters = spec.hyperparameters.map((hp) => {
      if (!splits(hp)) return hp;
      const shared = run.hyperparameters[hp.name];
      values[hp.name] = run.paramGroups.map((group) => (hp.name in group ? group[hp.name] : shared));
      return { ...hp, type: "pair", parts: COORDINATES, default: [hp.default, hp.default] };
    });
    return { key: ":xy", spec: { ...spec, hyperparameters }, values };
  }

  /**
   * A split setting of the form moved (`part.index`: 0 for x, 1 for y): that coordinate's
   * group takes it. False when it is not a split setting (the run's own value moved).
   */
  change(run, name, value, part) {
    if (!run.paramGroups || !part || !part.hp.parts) return false;
    const i = part.index;
    const groups = run.paramGroups.map((group) => ({ ...group }));
    if (same(value[i], run.hyperparameters[name])) delete groups[i][name];
    else groups[i][name] = value[i];
    this.state.updateRun(run.id, { paramGroups: groups });
    return true;
  }

  /** The server's complaints about `param_groups` show here; returns the others. */
  claimErrors(items) {
    const mine = [];
    const rest = [];
    for (const item of items) {
      const loc = (Array.isArray(item.loc) ? item.loc : []).filter((p) => p !== "body");
      if (loc[0] !== "param_groups") {
        rest.push(item);
        continue;
      }
      const where = loc.length > 2 ? `${COORDINATES[loc[1]]} ${loc.slice(2).join(".")}: ` : "";
      mine.push(`${where}${ts(String(item.msg))}`);
    }
    this.error.textContent = mine.join(" ");
    this.error.hidden = mine.length === 0;
    // The server's refusal says it: the page's own reason would say it twice.
    if (mine.length) this.note.hidden = true;
    return rest;
  }
}
