// Whether a lesson's "try this" task is done: a task's `check` (lessons/chapters.json) holds
// when one finished run on the page meets every key. Read from what the run really did (its
// status, its analysis' events and outcome) and how it was asked for (its request), never
// from the sliders alone.

const COMPARE = {
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/** A run's settings: the shared value, or each coordinate's under per-coordinate settings. */
function settingValues(request, name) {
  const shared = request.hyperparameters?.[name];
  const groups = request.param_groups;
  if (!Array.isArray(groups)) return [shared];
  return groups.map((group) => (name in group ? group[name] : shared));
}

function meetsHyperparameters(request, wanted) {
  return Object.entries(wanted).every(([name, [op, bound]]) => {
    const test = COMPARE[op];
    if (!test) return false;
    // Per-coordinate settings: the condition holds when some coordinate meets it.
    return settingValues(request, name).some((value) => value !== undefined && test(value, bound));
  });
}

function meetsModel(surface, wanted) {
  if (!surface || typeof surface !== "object") return false;
  const defaults = { batch_size: null, bias: true, shuffle: true };
  return Object.entries(wanted).every(([key, value]) => {
    const actual = key in surface ? surface[key] : defaults[key];
    if (key === "loss" && actual === undefined) {
      const natural = surface.model === "logistic_regression" ? "cross_entropy" : "mse";
      return value === natural;
    }
    return actual === value;
  });
}

const same = (a, b) => Array.isArray(a) && Array.isArray(b) && a.length >= 1 && a.every((v, i) => Math.abs(v - b[i]) < 1e-9);

/**
 * Whether `entry` = {request, status, analysis, lastStep, minima} meets `check`; `context`:
 * {start: the step's own start [x, y], finished: how many runs have finished}.
 */
export function runMeets(check, entry, context = {}) {
  const { request, analysis } = entry;
  if (!request || !analysis || entry.status === "running" || entry.status === "error") return false;
  for (const [key, wanted] of Object.entries(check)) {
    switch (key) {
      case "event":
        if (!analysis.events.some((event) => event.type === wanted)) return false;
        break;
      case "status":
        if (entry.status !== wanted) return false;
        break;
      case "outcome":
        if (analysis.outcome?.type !== wanted) return false;
        break;
      case "minimum_kind": {
        const index = analysis.outcome?.minimum;
        const minimum = Number.isInteger(index) ? entry.minima?.[index] : null;
        if (!minimum || minimum.kind !== wanted) return false;
        break;
      }
      case "optimizer":
        if (request.optimizer !== wanted) return false;
        break;
      case "hp":
        if (!meetsHyperparameters(request, wanted)) return false;
        break;
      case "surface": {
        const name = typeof request.surface === "string" ? request.surface : "model";
        if (name !== wanted) return false;
        break;
      }
      case "model":
        if (!meetsModel(request.surface, wanted)) return false;
        break;
      case "max_step":
        if (!(entry.lastStep <= wanted)) return false;
        break;
      case "param_groups":
        if (Array.isArray(request.param_groups) !== wanted) return false;
        break;
      case "clip":
        if (Boolean(request.clip) !== wanted) return false;
        break;
      case "scheduler":
        if (request.scheduler?.name !== wanted) return false;
        break;
      case "start_changed":
        if (same(request.start, context.start) === wanted) return false;
        break;
      case "runs":
        if (!((context.finished || 0) >= wanted)) return false;
        break;
      default:
        return false; // a key this page does not know can never be met by accident
    }
  }
  return true;
}

/** Whether some run among `entries` completes `check`. */
export function taskDone(check, entries, context = {}) {
  const finished = entries.filter((e) => e.analysis && e.status !== "running").length;
  return entries.some((entry) => runMeets(check, entry, { ...context, finished }));
}
