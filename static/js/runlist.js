// The runs list in the sidebar: one row per run with its colour, optimizer, changed
// hyperparameters, status badge and the reason the run ended, plus a remove button.
//
// Hooks: li[data-testid="run-row"][data-run-id][data-status], the badge
// [data-testid="run-status"] and the button [data-testid="remove-run"].

import { fmt } from "./format.js";
import { el, icon } from "./dom.js";
import { BASE, specOf } from "./catalog.js";
import { t, ts } from "./i18n.js";

export const STATUS_TEXT = {
  running: t("running"),
  converged: t("converged"),
  diverged: t("diverged"),
  max_steps: t("max steps"),
  error: t("error"),
};

const $ = (selector, root) => root.querySelector(selector);

/** A WebSocket or HTTP error `detail` as a list of {loc, msg}. */
export function normalizeDetail(detail) {
  if (Array.isArray(detail)) return detail;
  if (typeof detail === "string") return [{ loc: [], msg: detail }];
  return [{ loc: [], msg: t("the server rejected this run") }];
}

/** A setting's value as text; the elements of a pair or list joined by `listJoin`. */
function valueText(value, listJoin = ", ") {
  if (Array.isArray(value)) return value.map((v) => valueText(v)).join(listJoin);
  if (typeof value === "boolean") return value ? t("on") : t("off");
  if (value === null || value === undefined) return t("auto");
  return typeof value === "number" ? fmt(value) : String(value);
}

/**
 * "lr 0.05 · momentum 0.9": the learning rate (and a wrapper's base optimizer) and whatever
 * differs from torch's default, parts joined by `join`, a pair's values by `listJoin`.
 * `spec` is the run's (catalog.specOf: a wrapper's holds its base's settings too).
 */
export function paramSummary(spec, values, { join = " · ", listJoin = ", " } = {}) {
  if (!spec) return "";
  const parts = [];
  for (const hp of spec.hyperparameters) {
    const value = values[hp.name];
    const isDefault = JSON.stringify(value) === JSON.stringify(hp.default);
    if (hp.name !== "lr" && hp.name !== BASE && isDefault) continue;
    parts.push(`${hp.name} ${valueText(value, listJoin)}`);
  }
  return parts.join(join);
}

/** Short names in run names, which must fit a legend ("SGD m 0.9"). */
const SHORT = { momentum: "m", weight_decay: "wd", dampening: "damp", betas: "β", [BASE]: "over" };

/**
 * Names that tell the runs apart: the optimizer, and where runs share one, the settings that
 * differ among them ("SGD lr 0.001" beside "SGD lr 0.01"; at most two). `knobs(run)` is a
 * run's schedule/clip/noise summary, named when nothing else differs.
 */
export function runNames(runs, specs, knobs = () => "") {
  return runs.map((run) => {
    const twins = runs.filter((other) => other !== run && other.optimizer === run.optimizer);
    if (!twins.length) return run.optimizer;
    const spec = specOf(specs, run);
    const parts = [];
    for (const hp of spec ? spec.hyperparameters : []) {
      const value = JSON.stringify(run.hyperparameters[hp.name]);
      const differs = twins.some((other) => JSON.stringify(other.hyperparameters[hp.name]) !== value);
      if (differs) parts.push(`${SHORT[hp.name] || hp.name} ${valueText(run.hyperparameters[hp.name])}`);
    }
    const extra = knobs(run);
    if (!parts.length && extra && twins.some((other) => knobs(other) !== extra)) parts.push(extra);
    return [run.optimizer, ...parts.slice(0, 2)].join(" ");
  });
}

/** The short line under a run: where it ended and why. */
export function reasonText(slot) {
  if (slot.status === "error") return normalizeDetail(slot.error).map((d) => ts(d.msg)).join("; ");
  if (!slot.summary) {
    return slot.frames.length ? t("step {step}…", { step: slot.frames.length - 1 }) : t("starting…");
  }
  const s = slot.summary;
  const reason = ts(s.reason);
  if (slot.status === "diverged") {
    return /\bstep\b/.test(s.reason) ? reason : t("at step {step}: {reason}", { step: s.steps_taken, reason });
  }
  const loss = fmt(s.final_loss);
  if (slot.status === "converged") return t("at step {step} · loss {loss}", { step: s.steps_taken, loss });
  return t("{reason} · loss {loss}", { reason, loss });
}

const crossIcon = () => icon("M6 6l8 8M14 6l-8 8");

/** An open eye (shown on the plots), or one struck through (hidden). */
function eyeIcon(hidden) {
  const eye = ["M2 10s3-5.5 8-5.5S18 10 18 10s-3 5.5-8 5.5S2 10 2 10z", "M10 12.3a2.3 2.3 0 1 0 0-4.6 2.3 2.3 0 0 0 0 4.6z"];
  return hidden ? icon(...eye, "M3 17L17 3") : icon(...eye);
}

export class RunList {
  constructor(list, specs) {
    this.list = list;
    this.specs = specs;
  }

  /** Rows for `runs` ({id, color, selected, slot, optimizer, hyperparameters}), in order. */
  render(runs) {
    const rows = new Map([...this.list.children].map((row) => [row.dataset.runId, row]));
    runs.forEach((run, i) => {
      const row = rows.get(run.id) || this.build(run.id);
      rows.delete(run.id);
      this.update(row, run, i + 1, runs.length);
      if (this.list.children[i] !== row) this.list.insertBefore(row, this.list.children[i] || null);
    });
    for (const row of rows.values()) row.remove();
  }

  /** Show a status change at once, before the next full render. */
  setStatus(id, status) {
    const row = this.list.querySelector(`[data-run-id="${id}"]`);
    if (!row || row.dataset.status === status) return;
    row.dataset.status = status;
    const badge = $(".badge", row);
    badge.textContent = STATUS_TEXT[status];
    badge.dataset.status = status;
  }

  build(id) {
    const row = el("li", "run-row");
    row.dataset.testid = "run-row";
    row.dataset.runId = id;
    const select = el("button", "run-select");
    select.type = "button";
    select.dataset.selectRun = "";
    const badge = el("span", "badge");
    badge.dataset.testid = "run-status";
    const top = el("span", "run-top");
    top.append(el("span", "run-name"), badge);
    const main = el("span", "run-main");
    const outcome = el("span", "run-outcome");
    outcome.dataset.testid = "run-outcome";
    main.append(top, el("span", "run-params"), el("span", "run-reason"), outcome);
    select.append(el("span", "swatch"), main);
    const hide = el("button", "run-hide");
    hide.type = "button";
    hide.dataset.testid = "hide-run";
    const remove = el("button", "run-remove");
    remove.type = "button";
    remove.dataset.testid = "remove-run";
    remove.append(crossIcon());
    const tools = el("span", "run-tools");
    tools.append(hide, remove);
    row.append(select, tools);
    return row;
  }

  update(row, run, index, count) {
    const { slot } = run;
    const status = STATUS_TEXT[slot.status];
    this.setStatus(run.id, slot.status);
    row.classList.toggle("selected", run.selected);
    const select = $(".run-select", row);
    select.setAttribute("aria-pressed", String(run.selected));
    select.setAttribute("aria-label", t("Run {label}, {status}. Select to edit.", { label: run.label, status }));
    $(".swatch", row).style.setProperty("--run-color", run.color);
    $(".run-name", row).textContent = run.label;
    row.classList.toggle("is-hidden", Boolean(run.hidden));
    const hide = $(".run-hide", row);
    hide.setAttribute("aria-pressed", String(Boolean(run.hidden)));
    hide.setAttribute(
      "aria-label",
      run.hidden ? t("Show run {index} on the plots", { index }) : t("Hide run {index} on the plots", { index }),
    );
    hide.title = run.hidden
      ? t("Show run {index} on the plots (or click its legend entry)", { index })
      : t("Hide run {index} on the plots (or click its legend entry)", { index });
    hide.replaceChildren(eyeIcon(run.hidden));
    const params = paramSummary(specOf(this.specs, run), run.hyperparameters);
    $(".run-params", row).textContent = run.knobs ? `${params} · ${run.knobs}` : params;
    const reason = $(".run-reason", row);
    reason.textContent = reasonText(slot);
    reason.title = slot.summary ? ts(slot.summary.reason) : "";
    // Where the run ended (analysis.outcome); a diverged run's badge and reason say it.
    const outcome = $(".run-outcome", row);
    const ended = slot.analysis ? slot.analysis.outcome : null;
    outcome.hidden = !ended || ended.type === "diverged";
    outcome.dataset.outcome = ended ? ended.type : "";
    outcome.textContent = ended ? ts(ended.detail) : "";
    const remove = $(".run-remove", row);
    remove.disabled = count <= 1;
    remove.setAttribute("aria-label", t("Remove run {index}", { index }));
    remove.title = t("Remove run {index}", { index });
  }
}
