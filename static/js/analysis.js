// What a finished run shows (its `analysis`): event markers on the landscape and the loss
// chart, the Events list of the selected run, and its sharpness against the stability bound.
//
// Hooks: the tabs [data-testid="stability-tab"] and [data-testid="events-tab"]; the chart
// [data-testid="stability-chart"] (traces carry meta.role "sharpness" and "threshold", the
// threshold trace also meta.value); [data-testid="stability-note"]; the list
// [data-testid="events-list"] of li[data-testid="event"][data-type][data-step].

/* global Plotly */

import { fmt } from "./format.js";
import {
  CONFIG,
  Drawer,
  INK,
  NO_REDRAW,
  STEP_AXIS,
  baseLayout,
  escapeHover,
  withAlpha,
} from "./plots.js";
import { el } from "./dom.js";
import { t, ts } from "./i18n.js";

/** One Plotly symbol (and the same shape as an SVG path, 12 x 12) per event type. */
export const EVENTS = {
  overshoot: {
    label: t("Overshoot"),
    symbol: "triangle-up",
    path: "M6 1.2 11.2 10.4H.8Z",
  },
  oscillation: {
    label: t("Oscillation"),
    symbol: "diamond",
    path: "M6 .6 11.4 6 6 11.4.6 6Z",
  },
  escape: {
    label: t("Escape"),
    symbol: "star",
    path: "M6 .5l1.6 3.6 3.9.4-2.9 2.6.8 3.9L6 9 2.6 11l.8-3.9L.5 4.5l3.9-.4Z",
  },
  saddle_stall: {
    label: t("Saddle stall"),
    symbol: "hourglass",
    path: "M1.5 1.2h9L1.5 10.8h9Z",
  },
  divergence: {
    label: t("Divergence"),
    symbol: "x",
    path: "M2.6 1 6 4.4 9.4 1 11 2.6 7.6 6 11 9.4 9.4 11 6 7.6 2.6 11 1 9.4 4.4 6 1 2.6Z",
  },
};

const BAD = "#c92a2a";
const HOVER = { bgcolor: "#ffffff", align: "left", font: { color: INK } };
const SVG = "http://www.w3.org/2000/svg";

export function eventSymbol(type, color) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 12 12");
  svg.setAttribute("class", "event-symbol");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", (EVENTS[type] || EVENTS.overshoot).path);
  path.setAttribute("fill", color);
  svg.append(path);
  return svg;
}

/** Chinese (and full-width) characters: two columns wide, and a line may break between any two. */
const WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef";
const TOKENS = new RegExp(`\\s+|[${WIDE}]|[^\\s${WIDE}]+`, "g");
const columns = (text) => [...text].reduce((n, c) => n + (c.charCodeAt(0) >= 0x2e80 ? 2 : 1), 0);

/** Break a sentence into hover lines of about `width` columns (words, or Chinese characters). */
function wrap(text, width = 56) {
  const lines = [];
  let line = "";
  let space = false;
  for (const token of String(text).match(TOKENS) || []) {
    if (/^\s/.test(token)) {
      space = true;
      continue;
    }
    const joined = line && space ? ` ${token}` : token;
    if (line && columns(line) + columns(joined) > width) {
      lines.push(line);
      line = token;
    } else line += joined;
    space = false;
  }
  if (line) lines.push(line);
  return lines.map(escapeHover).join("<br>");
}

/**
 * The events of a run view (from App.viewModel) with the frame each one points at: the
 * frame of its step, or for a run that flew off the map (divergence), the last frame
 * before it left `domain`.
 */
function placedEvents(run, domain) {
  const analysis = run.slot.analysis;
  const frames = run.slot.frames;
  if (!analysis || !frames.length) return [];
  const inside = (f) =>
    !domain ||
    (f.x >= domain.x[0] && f.x <= domain.x[1] && f.y >= domain.y[0] && f.y <= domain.y[1]);
  return analysis.events
    .filter((event) => EVENTS[event.type])
    .map((event) => {
      let k = Math.max(0, Math.min(event.step, frames.length - 1));
      while (k > 0 && !inside(frames[k])) k -= 1;
      return { ...event, frame: frames[k], drawnAt: k };
    });
}

/** The first event of each kind, in order of their steps. */
function firstOfEach(events) {
  const seen = new Set();
  return events.filter((event) => !seen.has(event.type) && seen.add(event.type));
}

/**
 * What the panel shows of a run: its analysis (of this version), or that it is running or
 * has none. Frames streaming in change nothing here until the analysis lands (a redraw per
 * frames message cost a Plotly.react each time a dragged start restarted the runs).
 */
function stage(run) {
  if (run.slot.analysis) return run.version;
  return run.slot.status === "running" ? "running" : "none";
}

function hoverText(run, event) {
  const step = escapeHover(t("step {step}", { step: event.step }));
  const head = `<b>${escapeHover(EVENTS[event.type].label)}</b> · ${step} · ${escapeHover(run.label)}`;
  const left = t("off the map: drawn where the run left it (step {step})", { step: event.drawnAt });
  const off = event.drawnAt < event.step ? `<br><i>${escapeHover(left)}</i>` : "";
  return `${head}<br>${wrap(ts(event.detail))}${off}`;
}

/** "bound 2(1+β)/lr = 3800": the threshold as the lr makes it (else with its condition). */
function boundLabel(stability, threshold, condition) {
  const value = escapeHover(fmt(threshold, 3));
  return stability.formula
    ? t("bound {formula} = {value}", { formula: escapeHover(stability.formula), value })
    : t("bound {value} · {condition}", { value, condition: escapeHover(condition) });
}

/** The rule's condition alone: "gradient descent is stable while lr·λ < 2" → "lr·λ < 2". */
export function ruleCondition(rule) {
  if (!rule) return "";
  const cut = rule.indexOf(" while ");
  // The English rule is cut; what remains is a formula, or for ascent a sentence (ts).
  return ts(cut < 0 ? rule : rule.slice(cut + 7));
}

export class Phenomena {
  /**
   * `root` is the analysis card; `seek(step)` moves the playhead; `redraw()` asks the host
   * for a render; `domain()` is the surface's domain (events are drawn inside it).
   */
  /** `onTab(name)`: a tab was opened (the page keeps it in its state and link). */
  constructor(root, { seek, redraw, domain, onTab }) {
    this.root = root;
    this.onTab = onTab || (() => {});
    this.domain = domain;
    this.seek = seek;
    this.redraw = redraw;
    this.tabs = [...root.querySelectorAll("[data-tab]")];
    this.panels = new Map(
      [...root.querySelectorAll("[data-panel]")].map((panel) => [panel.dataset.panel, panel]),
    );
    this.chartEl = root.querySelector('[data-testid="stability-chart"]');
    this.note = root.querySelector('[data-testid="stability-note"]');
    this.list = root.querySelector('[data-testid="events-list"]');
    this.outcome = root.querySelector("[data-events-outcome]");
    this.count = root.querySelector("[data-events-count]");
    this.tab = "stability";
    this.listKey = "";
    this.chartKey = "";
    this.headKey = "";
    this.layerCache = new Map();
    this.lossCache = new Map();
    this.highlight = null;
    this.drawer = new Drawer((vm) => this.renderChart(vm));
    // The chart's size as last observed: measuring it per draw would force a layout in
    // every frame while a slider moves.
    this.size = null;
    new ResizeObserver(() => {
      this.size = [this.chartEl.clientWidth, this.chartEl.clientHeight];
      this.redraw();
    }).observe(this.chartEl);
    this.bind();
  }

  bind() {
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => this.showTab(tab.dataset.tab));
      tab.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
        event.preventDefault();
        const n = this.tabs.length;
        const next =
          this.tabs[(this.tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : n - 1)) % n];
        next.focus();
        this.showTab(next.dataset.tab);
      });
    }
    this.list.addEventListener("click", (event) => {
      const item = event.target.closest("[data-step]");
      if (item) this.seek(Number(item.dataset.step));
    });
  }

  showTab(name) {
    if (name === this.tab) return;
    this.tab = name;
    this.onTab(name);
    for (const tab of this.tabs) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const [key, panel] of this.panels) panel.hidden = key !== name;
    this.chartKey = "";
    this.redraw();
  }

  /** Point the Events list at the phenomenon a preset is about (null to stop). */
  emphasize(type) {
    this.highlight = type;
    this.listKey = "";
  }

  /** Landscape layer: one marker trace per finished run, at its events' points. */
  landscapeLayer(runs) {
    const above = [];
    const keys = [];
    for (const run of runs) {
      const cached = this.layerCache.get(run.id);
      // Events come with a finished run's analysis: a run streaming in changes nothing here
      // (the landscape keeps its fast path while the start is dragged).
      const at = run.slot.analysis ? run.version : "none";
      const stamp = `${at}:${run.color}:${run.label}:${run.selected}:${run.hidden}`;
      let trace = cached && cached.stamp === stamp ? cached.trace : null;
      if (!cached || cached.stamp !== stamp) {
        // Only the selected run's events, the first of each kind: markers of every run
        // buried the paths (the Events tab lists them all, and seeks to each).
        const events = run.selected && !run.hidden ? firstOfEach(placedEvents(run, this.domain())) : [];
        trace = events.length
          ? {
              type: "scatter",
              mode: "markers",
              name: t("events"),
              meta: { role: "events", of: run.id },
              x: events.map((e) => e.frame.x),
              y: events.map((e) => e.frame.y),
              text: events.map((e) => hoverText(run, e)),
              customdata: events.map((e) => e.type),
              hovertemplate: "%{text}<extra></extra>",
              hoverlabel: { ...HOVER, bordercolor: run.color },
              marker: {
                symbol: events.map((e) => EVENTS[e.type].symbol),
                size: events.map((e) => (e.type === "divergence" ? 13 : 12)),
                color: run.color,
                opacity: run.selected ? 1 : 0.75,
                line: { color: "#ffffff", width: 1.4 },
              },
              cliponaxis: true,
              showlegend: false,
            }
          : null;
        this.layerCache.set(run.id, { stamp, trace });
      }
      if (trace) above.push(trace);
      keys.push(`${run.id}:${stamp}`);
    }
    for (const id of this.layerCache.keys()) {
      if (!runs.some((run) => run.id === id)) this.layerCache.delete(id);
    }
    return { key: keys.join(","), above };
  }

  /** Loss chart layer: the same markers at (step, loss). */
  lossTraces(vm) {
    const traces = [];
    // The selected run's events explain its curve (a spike, a plateau); another run's
    // markers would only crowd it.
    for (const run of vm.runs.filter((r) => r.selected)) {
      const stamp = `${run.version}:${run.color}:${run.label}`;
      const cached = this.lossCache.get(run.id);
      if (cached && cached.stamp === stamp) {
        if (cached.trace) traces.push(cached.trace);
        continue;
      }
      const events = placedEvents(run);
      const trace = events.length
        ? {
            type: "scatter",
            mode: "markers",
            meta: { role: "events", of: run.id },
            x: events.map((e) => e.frame.step),
            y: events.map((e) => e.frame.loss),
            text: events.map(
              (e) => `${escapeHover(EVENTS[e.type].label)}${t(": ")}${wrap(ts(e.detail), 48)}`,
            ),
            hovertemplate: "%{text}<extra></extra>",
            marker: {
              symbol: events.map((e) => EVENTS[e.type].symbol),
              size: 9,
              color: run.color,
              line: { color: "#ffffff", width: 1 },
            },
            cliponaxis: true,
            showlegend: false,
          }
        : null;
      this.lossCache.set(run.id, { stamp, trace });
      if (trace) traces.push(trace);
    }
    return traces;
  }

  draw(vm) {
    const run = vm.selected;
    this.renderList(vm, run);
    if (this.tab === "stability") this.drawer.draw(vm);
  }

  // ---- the Events list -----------------------------------------------------------------

  renderList(vm, run) {
    const analysis = run && run.slot.analysis;
    const key = run ? `${run.id}:${stage(run)}:${run.color}:${this.highlight}` : "";
    if (key !== this.listKey) {
      this.listKey = key;
      const events = run ? placedEvents(run) : [];
      this.count.textContent = analysis ? String(events.length) : "";
      this.outcome.replaceChildren();
      if (!run || run.slot.status === "running") {
        this.outcome.textContent = t("The selected run is still running…");
      } else if (!analysis) {
        this.outcome.textContent = t("No analysis: the run did not finish.");
      } else {
        const label = el("span", "events-outcome-label", t("Outcome"));
        label.dataset.type = analysis.outcome.type;
        this.outcome.append(label, ` ${ts(analysis.outcome.detail)}`);
      }
      const items = events.map((event) => {
        const item = el("li", "event");
        item.dataset.testid = "event";
        item.dataset.type = event.type;
        item.dataset.step = String(event.step);
        item.classList.toggle("is-phenomenon", event.type === this.highlight);
        const button = el("button", "event-button");
        button.type = "button";
        button.title = t("Move the playhead to step {step}", { step: event.step });
        const head = el("span", "event-head");
        head.append(
          el("span", { class: "event-type", "data-badge": t("scenario"), text: EVENTS[event.type].label }),
          el("span", "event-step", t("step {step}", { step: event.step })),
        );
        const text = el("span", "event-text");
        text.append(head, el("span", "event-detail", ts(event.detail)));
        button.append(eventSymbol(event.type, run.color), text);
        item.append(button);
        return item;
      });
      this.list.replaceChildren(...items);
      if (analysis && !events.length) {
        this.list.append(el("li", "events-empty", t("No events: a smooth, uneventful descent.")));
      }
      this.passedAt = null;
    }
    // Events the playhead has passed read as past.
    const at = run ? run.head : 0;
    if (at !== this.passedAt) {
      this.passedAt = at;
      for (const item of this.list.children) {
        if (item.dataset.step) item.classList.toggle("is-past", Number(item.dataset.step) <= at);
      }
    }
  }

  // ---- the stability chart -------------------------------------------------------------

  renderChart(vm) {
    const run = vm.selected;
    const analysis = run && run.slot.analysis;
    if (!this.size) this.size = [this.chartEl.clientWidth, this.chartEl.clientHeight];
    const size = this.size;
    const key = run ? `${run.id}:${stage(run)}:${run.color}:${size}` : `:${size}`;
    if (key !== this.chartKey) {
      this.chartKey = key;
      this.headKey = "";
      this.renderNote(run, analysis);
      const { data, layout } = this.figure(vm, run, analysis);
      // Sized explicitly: the card's note above changes its height without a window resize.
      return Plotly.react(
        this.chartEl,
        data,
        { ...layout, width: size[0], height: size[1] },
        CONFIG,
      );
    }
    if (!analysis) return null;
    const head = this.headPoint(run, analysis);
    const headKey = JSON.stringify(head);
    if (headKey === this.headKey) return null;
    this.headKey = headKey;
    return Plotly.animate(
      this.chartEl,
      {
        data: [{ x: [head.x], y: [head.y] }, { x: [head.x, head.x] }],
        traces: [this.headIndex, this.headIndex + 1],
      },
      NO_REDRAW,
    );
  }

  headPoint(run, analysis) {
    // Long runs have their curvature on a subsample of steps: the point nearest the head.
    const { sharpness: sharp, steps } = analysis.curvature;
    let i = 0;
    while (i + 1 < steps.length && steps[i + 1] <= run.head) i += 1;
    return { x: steps[i], y: sharp[i] };
  }

  renderNote(run, analysis) {
    const note = this.note;
    note.replaceChildren();
    note.title = "";
    if (!run || run.slot.status === "running") {
      note.textContent = t("Waiting for the selected run to finish…");
      return;
    }
    if (!analysis) {
      note.textContent = t("No analysis: the run did not finish.");
      return;
    }
    const s = analysis.stability;
    const optimizer = run.slot.config ? run.slot.config.optimizer : run.label;
    note.title = s.rule
      ? t("{rule}: the largest Hessian eigenvalue λ must stay below the bound.", {
          rule: capitalize(ts(s.rule)),
        })
      : "";
    if (s.threshold === null) {
      const condition = ruleCondition(s.rule);
      note.append(
        s.rule
          ? t("No closed-form bound for {optimizer} with these settings ({condition}). ", {
              optimizer,
              condition,
            })
          : t("No closed-form bound for {optimizer}. ", { optimizer }),
      );
      note.append(el("span", "note-faint", t("Largest λ {value}.", { value: fmt(s.max_sharpness) })));
      note.append(this.endSharpness(s));
      return;
    }
    const over = s.max_sharpness > s.threshold;
    const verdict = el("span", over ? "note-bad" : "note-good");
    verdict.textContent = t("max λ {max} {relation} bound {bound}", {
      max: fmt(s.max_sharpness),
      relation: over ? ">" : "<",
      bound: fmt(s.threshold),
    });
    // The bound is the lr's: "2/lr", "2(1+β)/lr" (so a smaller lr raises it).
    const condition = ruleCondition(s.rule);
    const rest = s.formula
      ? t(", the bound = {formula} · stable while {condition}", { formula: s.formula, condition })
      : t(", the bound · stable while {condition}", { condition });
    note.append(verdict, el("span", "note-faint", rest));
    if (s.measured_contraction !== null && s.predicted_contraction !== null) {
      const line = el("span", "note-line");
      line.append(
        t("contraction/step: measured "),
        el("b", "", fmt(s.measured_contraction, 3)),
        t(" · predicted "),
        el("b", "", fmt(s.predicted_contraction, 3)),
      );
      note.append(line);
    }
    note.append(this.endSharpness(s));
  }

  /** How sharp the point the run ended at is (flat minima are what SAM looks for). */
  endSharpness(s) {
    const line = el("span", "note-line");
    line.dataset.testid = "end-sharpness";
    line.append(t("λ where it ended: "), el("b", "", fmt(s.final_sharpness)));
    line.title = t("The Hessian's largest eigenvalue at the last frame: how sharp the point is");
    return line;
  }

  figure(vm, run, analysis) {
    const layout = {
      ...baseLayout(),
      margin: { l: 46, r: 8, t: 6, b: 24 },
      showlegend: false,
      hovermode: "x unified",
      xaxis: { ...STEP_AXIS },
      yaxis2: { overlaying: "y", range: [0, 1], visible: false, fixedrange: true },
    };
    if (!analysis) {
      layout.yaxis = { visible: false };
      layout.xaxis = { ...layout.xaxis, visible: false };
      this.headIndex = 0;
      return { data: [], layout };
    }
    const { sharpness: sharp, steps } = analysis.curvature;
    const last = Math.max(1, steps.at(-1) ?? 0);
    const threshold = analysis.stability.threshold;
    const values = threshold === null ? sharp : [...sharp, threshold];
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const log = lo > 0 && hi / lo > 30;
    let range;
    if (log) {
      const a = Math.log10(lo);
      const b = Math.log10(hi);
      const pad = Math.max(0.08, (b - a) * 0.1);
      range = [a - pad, b + Math.max(0.3, (b - a) * 0.22)];
    } else {
      const bottom = lo >= 0 ? 0 : lo - (hi - lo || 1) * 0.1;
      range = [bottom, hi + Math.max((hi - bottom) * 0.22, 1e-9)];
    }
    const top = log ? 10 ** range[1] : range[1];
    const data = [];
    if (threshold !== null) {
      // The region above the bound, where a quadratic of that curvature would blow up.
      data.push({
        type: "scatter",
        mode: "lines",
        meta: { role: "unstable" },
        x: [0, last, last, 0],
        y: [threshold, threshold, top, top],
        fill: "toself",
        fillcolor: "rgba(201, 42, 42, 0.06)",
        line: { width: 0 },
        hoverinfo: "skip",
      });
    }
    data.push({
      type: "scatter",
      mode: "lines",
      name: t("sharpness"),
      meta: { role: "sharpness", runId: run.id },
      x: steps,
      y: sharp,
      line: { color: run.color, width: 2 },
      hovertemplate: "λmax %{y:.4g}<extra></extra>",
    });
    const condition = ruleCondition(analysis.stability.rule);
    if (threshold !== null) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: t("bound"),
        meta: { role: "threshold", value: threshold, rule: analysis.stability.rule },
        x: [0, last],
        y: [threshold, threshold],
        line: { color: BAD, width: 1.6, dash: "dash" },
        hovertemplate: `${escapeHover(t("bound"))} %{y:.4g} (${escapeHover(condition)})<extra></extra>`,
      });
      layout.annotations = [
        {
          xref: "paper",
          x: 1,
          xanchor: "right",
          yref: "y",
          y: log ? Math.log10(threshold) : threshold,
          yanchor: "bottom",
          text: boundLabel(analysis.stability, threshold, condition),
          showarrow: false,
          font: { size: 10, color: BAD },
          bgcolor: "rgba(255,255,255,0.85)",
          borderpad: 1,
        },
      ];
    }
    this.headIndex = data.length;
    const head = this.headPoint(run, analysis);
    this.headKey = JSON.stringify(head);
    data.push(
      {
        type: "scatter",
        mode: "markers",
        meta: { role: "playhead" },
        x: [head.x],
        y: [head.y],
        marker: { color: run.color, size: 7, line: { color: "#fff", width: 1.5 } },
        hoverinfo: "skip",
      },
      {
        type: "scatter",
        mode: "lines",
        meta: { role: "rule" },
        x: [head.x, head.x],
        y: [0, 1],
        yaxis: "y2",
        line: { color: "rgba(27,34,48,0.35)", width: 1, dash: "dot" },
        hoverinfo: "skip",
      },
    );
    layout.yaxis = {
      type: log ? "log" : "linear",
      range,
      autorange: false,
      gridcolor: "#eef0f4",
      zeroline: false,
      linecolor: "#d5dae2",
      tickfont: { size: 10 },
      exponentformat: "power",
      ...(log ? { dtick: Math.max(1, Math.ceil((range[1] - range[0]) / 4)) } : { nticks: 5 }),
    };
    layout.xaxis.range = [0, last];
    layout.xaxis.autorange = false;
    layout.uirevision = `${run.id}`;
    layout.hoverlabel = { ...layout.hoverlabel, bgcolor: withAlpha("#ffffff", 0.95) };
    return { data, layout };
  }
}

function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : "";
}
