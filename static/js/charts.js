// The step charts beside the landscape: loss, gradient norm and learning rate against
// step, one line per run, with a marker per run and a dotted rule at the playhead.

/* global Plotly */

import {
  CONFIG,
  Drawer,
  NO_REDRAW,
  STEP_AXIS,
  baseLayout,
  drawTraceLine,
  escapeHover,
  hideEvents,
  previewLeft,
  traceMeta,
  unmarkTraces,
} from "./plots.js";
import { t } from "./i18n.js";

const noRate = new WeakMap();

/** Whether a run's columns have no learning rate at all (AliG: every frame's lr is null). */
function withoutLr(columns) {
  let none = noRate.get(columns);
  if (none === undefined) {
    none = columns.lr.length > 0 && Array.prototype.every.call(columns.lr, (v) => typeof v !== "number");
    noRate.set(columns, none);
  }
  return none;
}

/** Losses spanning this many decades go on a log axis by themselves (a divergence does). */
const AUTO_LOG_DECADES = 3;

/** One step chart: a line per run, a marker per run at the playhead and a vertical rule. */
class StepChart {
  constructor(el, { column, yTitle, logAxis, extra, autoLog = false }) {
    this.el = el;
    this.column = column;
    /** Optional: more traces drawn after the playhead and rule (run events on the loss). */
    this.extra = extra;
    this.yTitle = yTitle;
    this.logAxis = logAxis;
    /** A loss that spans AUTO_LOG_DECADES or more goes on a log axis by itself, with a cue. */
    this.autoLog = autoLog;
    this.cue = el.closest(".chart-card")?.querySelector("[data-log-cue]") || null;
    this.drawer = new Drawer((vm) => this.render(vm));
    this.structure = "";
    this.data = "";
    this.lastReact = 0;
    this.timer = 0;
    /** runId -> preview columns on screen; runs the fast path drew since the last react. */
    this.previews = new Map();
    this.touched = new Set();
    /** runId -> columns on screen; whether stream() drew since the last react. */
    this.drawn = new Map();
    this.streamed = false;
  }

  traces(vm) {
    const col = this.column;
    // vm.underlays: traces under the runs' lines (a model's batch loss).
    const under = vm.underlays || [];
    const traces = vm.runs.map((run) => {
      // New arrays for a line the fast path drew, so that Plotly.react recomputes it.
      const fresh = this.touched.has(run.id);
      return {
        type: "scatter",
        mode: "lines",
        name: escapeHover(run.label),
        meta: traceMeta(run),
        x: fresh ? Array.from(run.columns.step) : run.columns.step,
        y: fresh ? Array.from(run.columns[col]) : run.columns[col],
        line: {
          color: run.color,
          width: run.selected ? 2.2 : 1.5,
          dash: run.preview ? "dash" : "solid",
        },
        hovertemplate: `%{y:.4g}<extra>${escapeHover(run.label)}</extra>`,
      };
    });
    traces.push(this.headTrace(vm), this.ruleTrace(vm));
    // Step events have no place on a per-epoch loss (models.js).
    if (this.extra && !vm.perEpoch) {
      // Not the events of a run under preview: they belong to the path it replaced.
      const previewed = new Set(vm.runs.filter((r) => r.preview).map((r) => r.id));
      traces.push(...this.extra(vm).filter((tr) => !(tr.meta && previewed.has(tr.meta.of))));
    }
    return [...under, ...traces];
  }

  /**
   * Draw the runs' previews that changed into their lines, now (no Plotly call; the axes
   * stay as they are until the exact run redraws the chart). False: redraw with Plotly.
   */
  preview(vm) {
    if (!this.el._fullLayout || this.structure === "") return !vm.runs.some((r) => r.preview);
    const under = (vm.underlays || []).length;
    for (const [i, run] of vm.runs.entries()) {
      if (!run.preview) continue;
      const c = run.columns;
      if (this.previews.get(run.id) === c) {
        const trace = this.el.data && this.el.data[under + i];
        if (trace) trace.meta = traceMeta(run);
        continue;
      }
      if (!drawTraceLine(this.el, under + i, c.step, c[this.column], traceMeta(run))) return false;
      this.touched.add(run.id);
      this.previews.set(run.id, c);
      // Event markers on the loss belong to the path the preview replaced.
      hideEvents(this.el, run.id, "is-preview");
    }
    return true;
  }

  /** New frames of the runs straight into their lines (as preview(), solid). */
  stream(vm) {
    if (!this.el._fullLayout || vm.runs.some((r) => r.preview)) return false;
    const under = (vm.underlays || []).length;
    for (const [i, run] of vm.runs.entries()) {
      const c = run.columns;
      if (this.drawn.get(run.id) === c) continue;
      const meta = traceMeta(run);
      if (!drawTraceLine(this.el, under + i, c.step, c[this.column], meta, "is-live")) return false;
      this.touched.add(run.id);
      this.drawn.set(run.id, c);
    }
    // Events on the loss belong to the runs before the drag.
    hideEvents(this.el, null, "is-live");
    this.streamed = true;
    return true;
  }

  headTrace(vm) {
    const col = this.column;
    const pick = (run, column) => {
      const n = run.columns.step.length;
      return n ? run.columns[column][Math.min(run.head, n - 1)] : null;
    };
    return {
      type: "scatter",
      mode: "markers",
      meta: { role: "playheads" },
      x: vm.runs.map((run) => pick(run, "step")),
      y: vm.runs.map((run) => pick(run, col)),
      marker: { color: vm.runs.map((run) => run.color), size: 7, line: { color: "#fff", width: 1.5 } },
      hoverinfo: "skip",
    };
  }

  ruleTrace(vm) {
    return {
      type: "scatter",
      mode: "lines",
      meta: { role: "rule" },
      x: [vm.playhead, vm.playhead],
      y: [0, 1],
      yaxis: "y2",
      line: { color: "rgba(27,34,48,0.35)", width: 1, dash: "dot" },
      hoverinfo: "skip",
    };
  }

  yRange(vm, log) {
    if (this.column === "lr" && !log) {
      // Learning rates are >= 0 and often constant: show them from zero.
      let top = 0;
      for (const run of vm.runs) for (const v of run.columns.lr) if (v > top) top = v;
      return [0, (top || 1) * 1.25];
    }
    // Everything else on its whole range: a divergence is the lesson, never cut off.
    return null;
  }

  /** Decades the positive values span, or 0 when any value is not positive. */
  decades(vm) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const run of vm.runs) {
      for (const v of run.columns[this.column]) {
        if (!(v > 0)) return 0;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return hi > lo ? Math.log10(hi / lo) : 0;
  }

  isLog(vm) {
    const chosen = this.logAxis(vm);
    const auto = this.autoLog && !chosen && !vm.perEpoch && this.decades(vm) >= AUTO_LOG_DECADES;
    if (this.cue) {
      this.cue.hidden = !auto;
      if (auto) {
        const n = Math.floor(this.decades(vm));
        this.cue.textContent = t("log · {n} decades", { n });
        this.cue.title = t("The losses span {n} decades: shown on a log scale, so nothing is cut off", { n });
      }
    }
    return chosen || auto;
  }

  /** A log axis labels whole decades, about five of them; null: let Plotly choose. */
  decadeStep(vm) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const run of vm.runs) {
      for (const v of run.columns[this.column]) {
        if (!(v > 0)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!(hi > lo)) return 1;
    // Under two decades whole decades leave the axis bare: Plotly's own ticks then.
    if (hi / lo < 100) return null;
    return Math.max(1, Math.ceil(Math.log10(hi / lo) / 5));
  }

  /** The lr chart: "lr —" for the runs that have none (their lines are empty). */
  notes(vm) {
    if (this.column !== "lr") return "";
    const none = vm.runs.filter((run) => !run.preview && withoutLr(run.columns));
    if (!none.length) return "";
    return t("lr — ({runs}: no learning rate)", { runs: none.map((run) => run.label).join(t(", ")) });
  }

  layout(vm) {
    const log = this.isLog(vm);
    const range = this.yRange(vm, log);
    const note = this.notes(vm);
    return {
      ...baseLayout(),
      uirevision: `${vm.surfaceName}:${log}`,
      margin: { l: 46, r: 8, t: 6, b: 24 },
      showlegend: false,
      hovermode: "x unified",
      xaxis: { ...STEP_AXIS },
      yaxis: {
        type: log ? "log" : "linear",
        ...(log && this.decadeStep(vm) ? { dtick: this.decadeStep(vm) } : {}),
        gridcolor: "#eef0f4",
        zeroline: false,
        linecolor: "#d5dae2",
        tickfont: { size: 10 },
        exponentformat: "power",
        ...(range ? { range, autorange: false } : { autorange: true }),
      },
      yaxis2: { overlaying: "y", range: [0, 1], visible: false, fixedrange: true },
      annotations: note
        ? [
            {
              xref: "paper",
              yref: "paper",
              x: 0.02,
              y: 0.96,
              xanchor: "left",
              yanchor: "top",
              showarrow: false,
              text: note,
              font: { size: 10.5, color: "#667085" },
            },
          ]
        : [],
    };
  }

  draw(vm) {
    this.drawer.draw(vm);
  }

  render(vm) {
    // Only a divergence changes how a chart looks (yRange); previews take the fast path.
    const structure = JSON.stringify([
      vm.surfaceName,
      vm.chartKey || "",
      this.isLog(vm),
      vm.runs.map((r) => [r.id, r.color, r.label, r.selected, r.status === "diverged"]),
      this.notes(vm),
    ]);
    const data = vm.runs.map((r) => `${r.id}:${r.version}`).join(",");
    const now = performance.now();
    clearTimeout(this.timer);
    const left = previewLeft(this.previews, vm.runs);
    if (left || !this.preview(vm)) this.structure = "";
    if (this.streamed && !vm.live) this.structure = "";
    // The start dragged: runs stream in, drawn into their lines (the axes wait for the end).
    if (data !== this.data && vm.live && structure === this.structure && this.stream(vm)) {
      this.data = data;
    } else if (structure !== this.structure || data !== this.data) {
      // Streaming data redraws at most ten times a second; a structural change at once.
      if (structure === this.structure && now - this.lastReact < 100) {
        this.timer = setTimeout(() => this.draw(vm), 100 - (now - this.lastReact));
      } else {
        this.structure = structure;
        this.data = data;
        this.lastReact = now;
        this.moved = null;
        const traces = this.traces(vm);
        unmarkTraces(this.el);
        this.touched.clear();
        this.previews.clear();
        this.streamed = false;
        this.drawn = new Map(vm.runs.map((run) => [run.id, run.columns]));
        for (const run of vm.runs) if (run.preview) this.previews.set(run.id, run.columns);
        return Plotly.react(this.el, traces, this.layout(vm), CONFIG);
      }
    }
    const n = (vm.underlays || []).length + vm.runs.length;
    const head = this.headTrace(vm);
    const rule = this.ruleTrace(vm);
    const key = JSON.stringify([head.x, head.y, rule.x]);
    if (key === this.moved) return null;
    this.moved = key;
    return Plotly.animate(
      this.el,
      { data: [{ x: head.x, y: head.y }, { x: rule.x, y: rule.y }], traces: [n, n + 1] },
      NO_REDRAW,
    );
  }
}

export class Charts {
  /** `lossExtra(vm)`: traces added to the loss chart (event markers). */
  constructor({ loss, grad, lr }, { lossExtra } = {}) {
    this.charts = [
      new StepChart(loss, {
        column: "loss",
        logAxis: (vm) => vm.logLoss,
        extra: lossExtra,
        autoLog: true,
      }),
      new StepChart(grad, { column: "gnorm", logAxis: () => true }),
      new StepChart(lr, { column: "lr", logAxis: (vm) => Boolean(vm.lrLog) }),
    ];
  }

  /** `view(vm)` reshapes what the loss chart draws (models.js: batch loss, per epoch). */
  setLossView(view) {
    this.lossView = view;
  }

  draw(vm) {
    const shown = visibleRuns(vm);
    const [loss, ...rest] = this.charts;
    loss.draw(this.lossView ? this.lossView(shown) : shown);
    for (const chart of rest) chart.draw(shown);
  }

  /** Draw changed previews now, straight into the lines (see StepChart.preview). */
  preview(vm) {
    const shown = visibleRuns(vm);
    const [loss, ...rest] = this.charts;
    loss.preview(this.lossView ? this.lossView(shown) : shown);
    for (const chart of rest) chart.preview(shown);
  }
}

/** The view without the runs hidden from the plots (a legend click, the list's eye). */
function visibleRuns(vm) {
  return vm.runs.some((run) => run.hidden)
    ? { ...vm, runs: vm.runs.filter((run) => !run.hidden) }
    : vm;
}
