// The landscape of a one-parameter model (y = w·x, `Surface.parameters` 1): the loss over all
// samples against w, as a curve; each run's path as markers on it (a frame's `loss` is that
// same full-data loss at its w), its point at the playhead emphasized; the minimum starred.
// landscape.js draws this instead of the contour, and turns a click on it into the start w.
//
// Hooks: the curve trace's meta.role is "loss-curve"; a run's path meta.runId (as on the
// contour), its progress meta.role "progress", the playheads "playheads", the start "start".

/* global Plotly */

import { fmt } from "./format.js";
import { t } from "./i18n.js";
import { CONFIG, FRAMED_AXIS, INK, baseLayout, escapeHover, withAlpha } from "./plots.js";

const MARGIN = { l: 58, r: 150, t: 40, b: 44 };
const NARROW_MARGIN = { l: 46, r: 12, t: 56 };
/** Phone widths: the plot's own height (px), and under it its x ticks and axis name. */
const NARROW_PLOT = 250;
const NARROW_AXIS = 44;
const CURVE_COLOR = "#3b4a6b";

/**
 * The full-data loss along w: the grid's row at y = 0 (a one-parameter model's loss does not
 * depend on y, which its runs keep at 0; the row there is the loss itself, wherever it is).
 */
export function curveOf(grid) {
  let row = 0;
  grid.y.forEach((y, i) => {
    if (Math.abs(y) < Math.abs(grid.y[row])) row = i;
  });
  return { x: grid.x, y: grid.z[row] };
}

/** The curve's loss at `w` (linear between its points), or null off its ends. */
export function lossAt(curve, w) {
  const { x, y } = curve;
  const n = x.length;
  if (!(w >= x[0] && w <= x[n - 1])) return null;
  let j = Math.min(n - 2, Math.floor(((w - x[0]) / (x[n - 1] - x[0])) * (n - 1)));
  while (j > 0 && x[j] > w) j -= 1;
  while (j < n - 2 && x[j + 1] < w) j += 1;
  const a = y[j];
  const b = y[j + 1];
  if (a === null || b === null) return null;
  return a + ((w - x[j]) / (x[j + 1] - x[j])) * (b - a);
}

const shown = (runs) => runs.filter((run) => !run.hidden);
const drawOrder = (runs) => [...runs.filter((r) => !r.selected), ...runs.filter((r) => r.selected)];
const headOf = (run) => Math.min(run.head, run.columns.x.length - 1);

export class CurveView {
  constructor(el, surface, grid) {
    this.el = el;
    this.surface = surface;
    this.curve = curveOf(grid);
    const losses = this.curve.y.filter((v) => v !== null && Number.isFinite(v));
    const lo = Math.min(...losses);
    const hi = Math.max(...losses);
    const pad = (hi - lo) * 0.06 || 1;
    this.range = [Math.max(lo - pad, lo > 0 ? 0 : -Infinity), hi + pad];
  }

  /** The card's height on a phone (px), with `legend` px of legend rows under the axis. */
  narrowHeight(legend) {
    return NARROW_MARGIN.t + NARROW_PLOT + NARROW_AXIS + legend + 6;
  }

  render(vm, { narrow, legend }) {
    const name = (vm.axes && vm.axes[0]) || "w";
    const data = [
      this.curveTrace(name),
      ...this.minimumTraces(name),
      ...drawOrder(vm.runs).map((run) => this.pathTrace(run, name, vm.scrubbing)),
      ...(vm.scrubbing ? shown(vm.runs).map((run) => this.progressTrace(run)) : []),
      ...this.arrowTraces(vm),
      this.startTrace(vm, name),
      this.headTrace(vm, name),
    ];
    return Plotly.react(this.el, data, this.layout(name, narrow, legend), CONFIG);
  }

  curveTrace(name) {
    return {
      type: "scatter",
      mode: "lines",
      name: t("loss over all samples"),
      meta: { role: "loss-curve" },
      x: this.curve.x,
      y: this.curve.y,
      line: { color: CURVE_COLOR, width: 2.4 },
      fill: "tozeroy",
      fillcolor: "rgba(76, 95, 213, 0.06)",
      hovertemplate: `${name} %{x:.4g}<br>${t("loss")} %{y:.4g}<extra></extra>`,
      showlegend: false,
    };
  }

  minimumTraces(name) {
    const minima = this.surface.minima.filter((m) => m.kind === "global");
    if (!minima.length) return [];
    const label = t("global minimum");
    return [
      {
        type: "scatter",
        mode: "markers",
        name: label,
        meta: { role: "minimum" },
        x: minima.map((m) => m.x),
        y: minima.map((m) => m.loss),
        text: minima.map((m) => `${label}<br>${name} ${fmt(m.x)}<br>${t("loss")} ${fmt(m.loss)}`),
        hovertemplate: "%{text}<extra></extra>",
        marker: { symbol: "star", size: 16, color: "#ffd43b", line: { color: INK, width: 1.1 } },
        cliponaxis: false,
      },
    ];
  }

  /** A run's frames as markers on the curve: (w, loss); faint while the playhead is back. */
  pathTrace(run, name, faint) {
    const c = run.columns;
    const alpha = faint ? 0.28 : run.selected ? 0.75 : 0.5;
    return {
      type: "scatter",
      mode: "markers",
      name: escapeHover(run.label),
      legendgroup: run.id,
      legendrank: run.index,
      visible: run.hidden ? "legendonly" : true,
      meta: { runId: run.id },
      x: c.x,
      y: c.loss,
      marker: {
        color: withAlpha(run.color, alpha),
        size: run.selected ? 7 : 6,
        line: { color: withAlpha("#ffffff", 0.9), width: 0.6 },
      },
      hovertemplate:
        `${escapeHover(run.label)}<br>${t("step")} %{pointNumber}<br>` +
        `${name} %{x:.4g}<br>${t("loss")} %{y:.4g}<extra></extra>`,
      showlegend: true,
    };
  }

  /** While scrubbing: the frames up to the playhead, solid over the faint whole path. */
  progressTrace(run) {
    const c = run.columns;
    const n = headOf(run) + 1;
    return {
      type: "scatter",
      mode: "markers",
      meta: { of: run.id, role: "progress" },
      x: c.x.slice(0, n),
      y: c.loss.slice(0, n),
      marker: { color: withAlpha(run.color, 0.8), size: 7, line: { color: "#ffffff", width: 0.6 } },
      hoverinfo: "skip",
      showlegend: false,
    };
  }

  /** Each shown run's point at its playhead, large and ringed in white. */
  headTrace(vm, name) {
    const runs = shown(vm.runs).filter((run) => run.columns.x.length);
    return {
      type: "scatter",
      mode: "markers",
      name: "playhead",
      meta: { role: "playheads", of: runs.map((run) => run.id) },
      x: runs.map((run) => run.columns.x[headOf(run)]),
      y: runs.map((run) => run.columns.loss[headOf(run)]),
      text: runs.map((run) => {
        const k = headOf(run);
        const at = `${name} ${fmt(run.columns.x[k])}`;
        return `${escapeHover(run.label)} · ${t("step")} ${k}<br>${at}<br>${t("loss")} ${fmt(run.columns.loss[k])}`;
      }),
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        color: runs.map((run) => run.color),
        size: runs.map((run) => (run.selected ? 16 : 12)),
        line: { color: "#ffffff", width: 2.6 },
      },
      cliponaxis: false,
      showlegend: false,
    };
  }

  startTrace(vm, name) {
    const w = vm.start[0];
    const loss = lossAt(this.curve, w);
    return {
      type: "scatter",
      mode: "markers",
      name: "start",
      meta: { role: "start" },
      x: [w],
      y: [loss],
      text: [`${t("start")} ${name} ${fmt(w)}<br>${t("click or drag along the curve to move it")}`],
      hovertemplate: "%{text}<extra></extra>",
      marker: { symbol: "circle", size: 12, color: "#ffffff", line: { color: INK, width: 2.6 } },
      showlegend: false,
    };
  }

  /**
   * The selected run's arrows at its playhead (−∇f, and a velocity-like state), along w at
   * the point's height: on the contour's scale (main.js scaledArrows), their y parts are 0.
   */
  arrowTraces(vm) {
    const origin = vm.arrowOrigin;
    return ["state", "grad"].map((kind) => {
      const arrow = origin ? (vm.arrows || []).find((a) => a.kind === kind) : null;
      const color = kind === "grad" ? INK : vm.arrowColor || INK;
      const y = vm.arrowLoss;
      return {
        type: "scatter",
        mode: "lines+markers",
        name: kind,
        meta: { role: `arrow-${kind}` },
        x: arrow ? [origin[0], origin[0] + arrow.shown[0]] : [null, null],
        y: arrow ? [y, y] : [null, null],
        line: { color, width: kind === "grad" ? 2 : 3.2 },
        marker: {
          symbol: ["circle", "arrow"],
          size: [0, kind === "grad" ? 10 : 12],
          angleref: "previous",
          color,
          line: { width: 0 },
        },
        hoverinfo: "skip",
        showlegend: false,
      };
    });
  }

  layout(name, narrow, legendHeight) {
    const axis = { ...FRAMED_AXIS, showgrid: true, gridcolor: "#eef0f4" };
    const margin = narrow
      ? { ...NARROW_MARGIN, b: NARROW_AXIS + legendHeight + 6 }
      : MARGIN;
    return {
      ...baseLayout(),
      uirevision: "curve",
      margin: { ...margin, autoexpand: false },
      dragmode: false,
      hovermode: "closest",
      showlegend: true,
      legend: narrow
        ? {
            orientation: "h",
            x: 0,
            y: -NARROW_AXIS / NARROW_PLOT,
            yanchor: "top",
            font: { size: 11, color: "#2d3648" },
            itemclick: "toggle",
            itemdoubleclick: false,
          }
        : {
            x: 1.02,
            xanchor: "left",
            y: 1,
            yanchor: "top",
            bgcolor: "rgba(255,255,255,0)",
            font: { size: 11, color: "#2d3648" },
            itemclick: "toggle",
            itemdoubleclick: false,
            tracegroupgap: 2,
          },
      xaxis: {
        ...axis,
        range: this.surface.domain.x,
        autorange: false,
        title: { text: name, font: { size: 13, color: INK }, standoff: 6 },
      },
      yaxis: {
        ...axis,
        range: this.range,
        autorange: false,
        title: { text: t("loss over all samples"), font: { size: 12 }, standoff: 4 },
      },
    };
  }
}
