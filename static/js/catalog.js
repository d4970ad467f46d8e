// The optimizer catalogue (GET /api/optimizers) as the page groups and combines it: the picker's
// groups (torch.optim, then pytorch_optimizer by family, then the ones that cannot run here),
// and a run's settings, which for a wrapper (SAM, Lookahead, ...) are its own and its base
// optimizer's side by side, as the request sends them (docs/API.md).

import { t } from "./i18n.js";

/** A wrapper's setting naming the optimizer it steps with (a "choice" of plain ones). */
export const BASE = "base_optimizer";

/** The picker's groups, in order: [key, label, test(spec)]. */
const GROUPS = [
  ["torch", "torch.optim", (s) => s.source === "torch.optim"],
  ["first_order", t("First-order"), (s) => s.family === "first_order"],
  ["sharpness", t("Sharpness-aware (SAM)"), (s) => s.family === "sharpness"],
  ["wrapper", t("Wrappers"), (s) => s.family === "wrapper"],
  ["schedule_free", t("Schedule-Free"), (s) => s.family === "schedule_free"],
  ["hessian", t("Hessian-based"), (s) => s.family === "hessian"],
  ["closure", t("Closure-based"), (s) => s.family === "closure"],
];
const OTHER = ["other", t("Other"), () => true];
const EXCLUDED = ["excluded", t("Cannot run here"), () => true];

/**
 * `specs` (in the API's order) as the picker's groups: [{key, label, specs}], empty ones left
 * out; the excluded last, whatever their family. `only` (a list of names) keeps just those.
 */
export function groupSpecs(specs, only = null) {
  const keep = only ? new Set(only) : null;
  const groups = [...GROUPS, OTHER, EXCLUDED].map(([key, label]) => ({ key, label, specs: [] }));
  const byKey = new Map(groups.map((g) => [g.key, g]));
  for (const spec of specs) {
    if (keep && !keep.has(spec.name)) continue;
    const [key] = spec.excluded
      ? EXCLUDED
      : GROUPS.find(([, , test]) => test(spec)) || OTHER;
    byKey.get(key).specs.push(spec);
  }
  return groups.filter((g) => g.specs.length > 0);
}

/** Whether a run of `spec` takes a base optimizer (and its settings beside its own). */
export function isWrapper(spec) {
  return Boolean(spec && spec.hyperparameters.some((hp) => hp.name === BASE));
}

/** The base a wrapper's `values` choose: theirs, else the setting's default. */
export function baseName(spec, values) {
  const hp = spec.hyperparameters.find((h) => h.name === BASE);
  if (!hp) return null;
  const chosen = values ? values[BASE] : undefined;
  return (hp.choices || []).includes(chosen) ? chosen : hp.default;
}

const combined = new WeakMap();

/**
 * The settings a run of `optimizer` with `values` takes: the optimizer's spec, or for a
 * wrapper a spec whose `hyperparameters` are its own, then its base's (those the wrapper does
 * not name itself: a shared name is the wrapper's), with `own`, `base` (the base's spec) and
 * `baseHyperparameters`. One object per wrapper and base, so callers may cache by it.
 */
export function runSpec(specs, optimizer, values) {
  const spec = specs.get(optimizer);
  if (!isWrapper(spec)) return spec || null;
  const base = specs.get(baseName(spec, values));
  if (!base) return spec;
  let bases = combined.get(spec);
  if (!bases) combined.set(spec, (bases = new Map()));
  let out = bases.get(base.name);
  if (!out) {
    const own = new Set(spec.hyperparameters.map((hp) => hp.name));
    const baseHyperparameters = base.hyperparameters.filter((hp) => !own.has(hp.name));
    out = {
      ...spec,
      hyperparameters: [...spec.hyperparameters, ...baseHyperparameters],
      own: spec.hyperparameters,
      base,
      baseHyperparameters,
    };
    bases.set(base.name, out);
  }
  return out;
}

/** The spec of a run ({optimizer, hyperparameters}): runSpec for its values. */
export function specOf(specs, run) {
  return run ? runSpec(specs, run.optimizer, run.hyperparameters) : null;
}
