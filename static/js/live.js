// Live drag (issue 11): while a slider of the selected run moves, the landscape and the charts
// show that run's path at once from a sweep (docs/API.md, "Sweeps": the run computed for n
// values of the setting across the slider's range in one batched pass, each row equal to the
// single run), and the exact torch.optim run replaces the preview once the slider rests. The
// same sweep draws a sensitivity strip on the slider's track: where the run converges, keeps
// moving or diverges, and how low its final loss gets.
//
// When it asks: a slider (or its number box) of the selected run asks for its sweep when it
// is hovered for a moment or grabbed (pointer down, focus, a key). Sweeps go over a WebSocket
// of their own, where a newer sweep cancels the older, so the page holds at most one of the
// server's job slots (one per client); a hover never cancels a sweep in flight. Answers are
// cached by the run's request without the swept setting, plus the axis: grabbing again is
// instant, and a sweep of lr stays good while lr moves. A run a sweep cannot stand for (a
// scheduler, clipping, noise, a model's surface, an optimizer without a batched rule) and any
// refusal (422, 429) fall back to the exact run alone, as before.

import { RunChannel } from "./api.js";
import { decodeBlob } from "./binary.js";
import { fmt } from "./format.js";
import { t, ts } from "./i18n.js";
import { limits } from "./limits.js";
import { runRequest } from "./state.js";

/** Values per sweep (the server's bounds, values and values × steps, are in limits.js). */
const MAX_VALUES = 97;
/** A drag that rests this long asks for the exact run (as does letting go). */
const SETTLE_MS = 150;
/** A hover this long asks for the slider's sweep (for its strip). */
const HOVER_MS = 150;
/** Sweeps kept (a 97 × 1,000-step float32 sweep holds 1.6 MB). */
const CACHE_SIZE = 12;
/** Room left in a socket message (the server closes on one over max_ws_message_bytes). */
const MESSAGE_MARGIN = 1024;

export const STATUS_WORDS = {
  converged: t("converges"),
  max_steps: t("still moving"),
  diverged: t("diverges"),
};
const STATUS_RGB = {
  converged: [31, 138, 76],
  max_steps: [224, 150, 20],
  diverged: [201, 42, 42],
};

/** Step numbers 0, 1, 2, ... shared by every preview (views of one array). */
let stepNumbers = new Int32Array(0);
function steps(length) {
  if (stepNumbers.length < length) stepNumbers = Int32Array.from({ length }, (_, i) => i);
  return stepNumbers.subarray(0, length);
}

/**
 * What a slider of `run` would sweep: {body, axis, key, value}, or null when a sweep cannot
 * stand for this run. `part` is a number control of the form ({hp, index}); `key` is the
 * request without the swept value, plus the axis. `sweepable(name)` says whether the server
 * sweeps a hyperparameter of that optimizer (`supports.hyperparameter_sweep`).
 */
export function describe(state, run, part, sweepable) {
  const hp = part.hp;
  if (!(hp.type === "float" || hp.type === "pair") || !sweepable(run.optimizer)) {
    return null;
  }
  const body = runRequest(state, run);
  if (body.scheduler || body.clip || body.noise || body.param_groups) return null;
  // Models: a mini-batch run has no batched rule, and the loss chart of a model reads frames.
  if (body.surface && typeof body.surface === "object" && body.surface.model) return null;
  const own = body.hyperparameters[hp.name];
  const value = part.index === undefined ? own : Array.isArray(own) ? own[part.index] : null;
  const lo = hp.slider_min ?? hp.min ?? 0;
  const hi = hp.slider_max ?? hp.max ?? 1;
  const most = Math.min(MAX_VALUES, limits.max_sweep_values);
  const n = Math.min(most, Math.floor(limits.max_sweep_cell_steps / body.steps));
  if (typeof value !== "number" || !(hi > lo) || n < 2) return null;
  const axis = {
    name: part.index === undefined ? hp.name : `${hp.name}.${part.index}`,
    min: lo,
    max: hi,
    n,
    // As the slider's own scale (controls.js scaleFor): log where it is log.
    log: Boolean(hp.log && lo > 0),
  };
  const blank = { ...body.hyperparameters };
  if (part.index === undefined) blank[hp.name] = "*";
  else blank[hp.name] = own.map((v, i) => (i === part.index ? "*" : v));
  const key = JSON.stringify([{ ...body, hyperparameters: blank }, axis]);
  return { body, axis, key, value };
}

/**
 * The page's sweeps: asked for, cached, turned into previews and strips.
 * `host`: {state, landed(entry): a sweep arrived, settled(): a held run may go out}.
 */
export class LiveDrag {
  constructor(host) {
    this.host = host;
    this.state = host.state;
    /** key -> {key, id, axis, status: "loading" | "ready" | "refused", sweep, rows, summary} */
    this.cache = new Map();
    this.byId = new Map();
    this.inflight = null;
    this.sequence = 0;
    /** The run whose exact request waits for the slider to rest, and the timer. */
    this.held = null;
    this.settleTimer = 0;
    /** The number control taken (grabbed or focused), and the hovered one's timer. */
    this.grabbed = null;
    this.hoverTimer = 0;
    this.channel = null;
  }

  /** The socket opens on first use: a visitor who never touches a slider costs none. */
  get socket() {
    if (!this.channel) {
      this.channel = new RunChannel({
        onMessage: (message) => this.receive(message),
        onBinary: (data) => this.receiveBlob(data),
        onReopen: () => this.forget(this.inflight),
      });
    }
    return this.channel;
  }

  // ---- asking ---------------------------------------------------------------------------

  /** A number control of the form was hovered, grabbed or let go (controls.js onGrab). */
  grab(kind, part) {
    const run = this.state.selectedRun;
    if (!run || !part) return;
    if (kind === "hover") {
      clearTimeout(this.hoverTimer);
      this.hoverTimer = setTimeout(() => this.request(run, part, false), HOVER_MS);
    } else if (kind === "unhover") {
      clearTimeout(this.hoverTimer);
    } else if (kind === "grab") {
      this.grabbed = part;
      this.request(run, part, true);
    } else if (kind === "release") {
      if (this.grabbed === part) this.grabbed = null;
      this.settle();
    }
  }

  /** The sweep for `part` of `run`: cached, or asked for now (`urgent` cancels another). */
  request(run, part, urgent) {
    const want = describe(this.state, this.state.run(run.id) || run, part, this.host.sweepable);
    if (!want) return null;
    const known = this.cache.get(want.key);
    if (known) {
      this.cache.delete(want.key);
      this.cache.set(want.key, known);
      return known;
    }
    if (this.inflight && !urgent) return null;
    const message = {
      type: "sweep",
      sweep_id: `sweep-${++this.sequence}`,
      encoding: "binary",
      ...want.body,
      axis: want.axis,
    };
    if (JSON.stringify(message).length > limits.max_ws_message_bytes - MESSAGE_MARGIN) return null;
    // The server cancels the older sweep on this socket; it may still land (then kept).
    if (this.inflight) this.cache.delete(this.inflight.key);
    const entry = {
      key: want.key,
      id: message.sweep_id,
      axis: want.axis,
      lr: typeof want.body.hyperparameters.lr === "number" ? want.body.hyperparameters.lr : null,
      status: "loading",
      sweep: null,
      rows: new Map(),
      summary: null,
    };
    this.cache.set(entry.key, entry);
    this.byId.set(entry.id, entry);
    this.inflight = entry;
    this.socket.send(message);
    return entry;
  }

  receiveBlob(data) {
    let answer;
    try {
      answer = decodeBlob(data);
    } catch {
      return;
    }
    const entry = answer && answer.type === "sweep" ? this.byId.get(answer.sweep_id) : null;
    if (!entry) return;
    this.byId.delete(entry.id);
    if (this.inflight === entry) this.inflight = null;
    Object.assign(entry, { status: "ready", sweep: answer, summary: summarize(answer) });
    this.cache.delete(entry.key);
    this.cache.set(entry.key, entry);
    for (const [key, old] of this.cache) {
      if (this.cache.size <= CACHE_SIZE) break;
      if (old !== this.inflight) this.cache.delete(key);
    }
    this.host.landed(entry);
  }

  receive(message) {
    if (!message || !("sweep_id" in message)) return;
    const entry =
      this.byId.get(message.sweep_id) || (message.sweep_id === null ? this.inflight : null);
    if (!entry) return;
    if (message.type === "cancelled") this.forget(entry);
    else if (message.type === "error") {
      // Busy (429, `limit`): ask again on the next grab. Refused (422): never for this key.
      if (message.limit) this.forget(entry);
      else {
        this.byId.delete(entry.id);
        if (this.inflight === entry) this.inflight = null;
        entry.status = "refused";
        entry.detail = message.detail;
      }
    }
  }

  /** Drop a sweep that will not land (cancelled, busy, or its socket dropped). */
  forget(entry) {
    if (!entry) return;
    this.byId.delete(entry.id);
    if (this.cache.get(entry.key) === entry) this.cache.delete(entry.key);
    if (this.inflight === entry) this.inflight = null;
  }

  // ---- previews -------------------------------------------------------------------------

  /**
   * `run` (as the state now holds it) changed through `part`: the preview of its new value,
   * or null without a sweep for it. `live` (a slider moving) holds the run's exact request
   * until the slider rests or is let go.
   */
  change(run, part, live) {
    const want = describe(this.state, run, part, this.host.sweepable);
    const entry = want && this.request(run, part, true);
    const preview = entry && entry.status === "ready" ? this.preview(entry, want.value) : null;
    if (!preview) {
      this.settle();
      return null;
    }
    preview.key = JSON.stringify(runRequest(this.state, run));
    if (live) {
      this.held = run.id;
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.settle(), SETTLE_MS);
    } else this.settle();
    return preview;
  }

  /** Whether run `id`'s exact request waits for its slider to rest. */
  holds(id) {
    return this.held === id;
  }

  settle() {
    clearTimeout(this.settleTimer);
    if (this.held === null) return;
    this.held = null;
    this.host.settled();
  }

  /** The swept row nearest to `target` as a preview, or null outside the sweep's range. */
  preview(entry, target) {
    const { axis, values } = entry.sweep;
    const slack = (axis.max - axis.min) * 1e-9;
    if (!(target >= axis.min - slack && target <= axis.max + slack)) return null;
    const at = axis.log ? Math.log : (v) => v;
    let best = 0;
    let distance = Infinity;
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(at(values[i]) - at(target));
      if (d < distance) {
        distance = d;
        best = i;
      }
    }
    const columns = this.row(entry, best);
    return {
      key: "",
      name: axis.name,
      index: best,
      value: values[best],
      target,
      status: entry.sweep.status[best],
      length: columns.x.length,
      columns,
    };
  }

  /** Row `i` of a sweep as plot columns (views of the sweep's arrays, cached). */
  row(entry, i) {
    let columns = entry.rows.get(i);
    if (columns) return columns;
    const s = entry.sweep;
    const length = s.steps_taken[i] + 1;
    const lr = s.axis.name === "lr" ? s.values[i] : entry.lr;
    columns = {
      step: steps(length),
      x: s.x[i].subarray(0, length),
      y: s.y[i].subarray(0, length),
      loss: s.loss[i].subarray(0, length),
      gnorm: s.grad_norm[i].subarray(0, length),
      lr: new Float64Array(length).fill(lr ?? NaN),
    };
    entry.rows.set(i, columns);
    return columns;
  }

  /** The preview of the grabbed control's current value, once its sweep lands. */
  current(entry) {
    const part = this.grabbed;
    const run = this.state.selectedRun;
    if (!part || !run) return null;
    const want = describe(this.state, run, part, this.host.sweepable);
    if (!want || want.key !== entry.key) return null;
    return this.change(run, part, true);
  }

  // ---- sensitivity strips ---------------------------------------------------------------

  /**
   * Paint the strip of every slider of `form` whose sweep for `run` is at hand. A strip whose
   * run has changed since (another slider moved) stays, dimmed, until the slider is hovered
   * or grabbed again and the new sweep lands (asking for every slider after every change
   * would keep the server's job slots busy for the page's maps and ensembles).
   */
  renderStrips(form, run, legend) {
    let any = false;
    for (const part of form.sliders) {
      const want = run ? describe(this.state, run, part, this.host.sweepable) : null;
      const entry = want && this.cache.get(want.key);
      if (entry && entry.status === "ready") {
        paintStrip(part, entry);
        any = true;
      } else if (want && part.drawn && !(entry && entry.status === "refused")) {
        staleStrip(part);
        any = true;
      } else clearStrip(part);
    }
    if (legend) legend.hidden = !any;
  }
}

// ---- strips: the sweep's outcome along the slider ---------------------------------------

/**
 * What a sweep says along its axis: contiguous stretches of one status, the best row, and
 * per row a shade of its final loss (0: the lowest of the rows that did not diverge, towards
 * 1 as it gets worse; robust to sign and outliers).
 */
export function summarize(sweep) {
  const { values, status, final_loss: loss } = sweep;
  const n = values.length;
  const stretches = [];
  for (let i = 0; i < n; i++) {
    const last = stretches[stretches.length - 1];
    if (last && last.status === status[i]) last.to = i;
    else stretches.push({ status: status[i], from: i, to: i });
  }
  const kept = [];
  for (let i = 0; i < n; i++) {
    if (status[i] !== "diverged" && Number.isFinite(loss[i])) kept.push(i);
  }
  const low = Math.min(...kept.map((i) => loss[i]));
  const gaps = kept.map((i) => loss[i] - low).filter((d) => d > 0).sort((a, b) => a - b);
  const scale = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 1;
  const shade = Array.from({ length: n }, (_, i) => {
    const d = loss[i] - low;
    return status[i] === "diverged" || !Number.isFinite(d) ? 1 : d / (d + scale);
  });
  const best = kept.length ? kept.reduce((a, i) => (loss[i] < loss[a] ? i : a), kept[0]) : -1;
  return { stretches, shade, best };
}

/** A CSS gradient across the track: a colour per row, hard edges where the status changes. */
function gradient(sweep, summary) {
  const n = sweep.values.length;
  const at = (i) => `${((i / (n - 1)) * 100).toFixed(2)}%`;
  const colour = (i) => {
    const [r, g, b] = STATUS_RGB[sweep.status[i]] || STATUS_RGB.max_steps;
    const alpha = sweep.status[i] === "diverged" ? 0.85 : 1 - 0.62 * summary.shade[i];
    return `rgba(${r}, ${g}, ${b}, ${alpha.toFixed(3)})`;
  };
  const stops = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && sweep.status[i] !== sweep.status[i - 1]) {
      const mid = `${(((i - 0.5) / (n - 1)) * 100).toFixed(2)}%`;
      stops.push(`${colour(i - 1)} ${mid}`, `${colour(i)} ${mid}`);
    }
    stops.push(`${colour(i)} ${at(i)}`);
  }
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

/**
 * The strip in words: "lr: still moving up to 9.31e-5, converges 0.000108–0.0123, diverges
 * from 0.0142; lowest final loss 2.1e-9 at 0.00316 (97 values, 1000 steps each)."
 */
export function sweepText(label, sweep, summary) {
  const { values } = sweep;
  const n = values.length;
  const v = (i) => fmt(values[i], 3);
  const parts = summary.stretches.map(({ status, from, to }) => {
    const word = STATUS_WORDS[status] || status;
    if (from === 0 && to === n - 1) {
      return t("{word} over the whole range {from}–{to}", { word, from: v(0), to: v(n - 1) });
    }
    if (from === to) return t("{word} at {value}", { word, value: v(from) });
    if (from === 0) return t("{word} up to {value}", { word, value: v(to) });
    if (to === n - 1) return t("{word} from {value}", { word, value: v(from) });
    return t("{word} {from}–{to}", { word, from: v(from), to: v(to) });
  });
  const best =
    summary.best >= 0
      ? t("; lowest final loss {loss} at {value}", {
          loss: fmt(sweep.final_loss[summary.best], 3),
          value: v(summary.best),
        })
      : "";
  // Arrays of shape (n, steps + 1): the run's length, whatever each row took.
  const steps = sweep.x[0].length - 1;
  return t("{label}: {parts}{best} ({n} values, {steps} steps each).", {
    label,
    parts: parts.join(t(", ")),
    best,
    n,
    steps,
  });
}

function paintStrip(part, entry) {
  if (part.drawn === entry && !part.stale) return;
  part.drawn = entry;
  part.stale = false;
  part.strip.parentElement.classList.remove("is-stale");
  const label = part.index === undefined ? part.hp.name : `${part.hp.name}[${part.index}]`;
  const text = sweepText(label, entry.sweep, entry.summary);
  part.strip.style.backgroundImage = gradient(entry.sweep, entry.summary);
  part.strip.parentElement.classList.add("has-sweep");
  part.text.textContent = text;
  part.slider.setAttribute("aria-describedby", part.text.id);
  part.slider.title = `${ts(part.hp.description || "")}\n\n${text}`.trim();
}

/** A strip of an older run: dimmed, and no longer what the slider is described by. */
function staleStrip(part) {
  if (part.stale) return;
  part.stale = true;
  part.strip.parentElement.classList.add("is-stale");
  part.text.textContent = "";
  part.slider.removeAttribute("aria-describedby");
  part.slider.title = ts(part.hp.description || "");
}

function clearStrip(part) {
  if (!part.drawn) return;
  part.drawn = null;
  part.stale = false;
  part.strip.style.backgroundImage = "";
  part.strip.parentElement.classList.remove("has-sweep", "is-stale");
  part.text.textContent = "";
  part.slider.removeAttribute("aria-describedby");
  part.slider.title = ts(part.hp.description || "");
}
