// "Data & fit": on a regression model's surface, the data set and the model of the selected
// run's current frame, moving as the run plays. The frame's point (x, y) is (w, b):
//   linear regression    the line y = w·x + b through the points;
//   logistic regression  the probability σ(w·x + b) over the labels 0/1, and the decision
//                        boundary x = −b/w where it crosses ½.
// The data come with the surface (POST /api/surfaces/model answers `data`; models.js keeps
// it on the surface as `surface.data`).
//
// Hooks: the tab [data-testid="fit-tab"], the chart [data-testid="fit-chart"] (traces carry
// meta.role "data", "fit", "start-fit" and "boundary"), the caption [data-testid="fit-note"].

import { fmt } from "./format.js";
import { t } from "./i18n.js";
import { CONFIG, Drawer, FRAMED_AXIS, INK, baseLayout, withAlpha } from "./plots.js";

const CURVE_POINTS = 120;
const POINT_COLOR = "#5c677d";
const CLASS_COLORS = ["#1971c2", "#e8590c"];

/** The regression data of `surface`, or null (any other surface, or an MLP's plane). */
export function fitData(surface) {
  const data = surface && surface.data;
  return data && (data.model === "linear_regression" || data.model === "logistic_regression")
    ? data
    : null;
}

function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

function span(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const pad = (hi - lo) * 0.06 || 1;
  return [lo - pad, hi + pad];
}

/** The model of parameters (w, b) over `xs`: the line, or the probability of class 1. */
function curve(model, w, b, [lo, hi]) {
  const x = [];
  const y = [];
  for (let k = 0; k <= CURVE_POINTS; k++) {
    const u = lo + ((hi - lo) * k) / CURVE_POINTS;
    x.push(u);
    y.push(model === "linear_regression" ? w * u + b : sigmoid(w * u + b));
  }
  return { x, y };
}

export class FitPanel {
  /** `chart`: the plot's element; `note`: its caption. */
  constructor(chart, note) {
    this.chart = chart;
    this.note = note;
    this.drawer = new Drawer((job) => this.render(job));
    this.key = "";
  }

  /** Draw `data` with the selected run's frame (`vm.frame`, its point is (w, b)). */
  draw(vm, data) {
    const frame = vm.frame;
    const run = vm.selected;
    const start = run && run.columns.x.length ? [run.columns.x[0], run.columns.y[0]] : null;
    const key = JSON.stringify([
      data.x.length,
      data.model,
      frame && [frame.x, frame.y],
      start,
      run && run.color,
    ]);
    if (key === this.key && this.data === data) return;
    this.key = key;
    this.data = data;
    this.drawer.draw({ data, frame, start, color: (run && run.color) || INK, label: run && run.label });
  }

  render({ data, frame, start, color, label }) {
    const linear = data.model === "linear_regression";
    const xr = span(data.x);
    const traces = [];
    if (linear) {
      traces.push({
        type: "scatter",
        mode: "markers",
        name: t("data"),
        meta: { role: "data" },
        x: data.x,
        y: data.y,
        marker: { color: withAlpha(POINT_COLOR, 0.55), size: 6, line: { color: "#fff", width: 0.6 } },
        hovertemplate: `x %{x:.3g}, y %{y:.3g}<extra>${t("sample")}</extra>`,
      });
    } else {
      for (const label01 of [0, 1]) {
        const xs = data.x.filter((_, i) => data.y[i] === label01);
        traces.push({
          type: "scatter",
          mode: "markers",
          name: t("class {label}", { label: label01 }),
          meta: { role: "data", label: label01 },
          x: xs,
          y: xs.map(() => label01),
          marker: {
            color: withAlpha(CLASS_COLORS[label01], 0.5),
            size: 7,
            symbol: label01 ? "circle" : "diamond",
            line: { color: "#fff", width: 0.6 },
          },
          hovertemplate: `x %{x:.3g}<extra>${t("class {label}", { label: label01 })}</extra>`,
        });
      }
    }
    if (start) {
      const c = curve(data.model, start[0], start[1], xr);
      traces.push({
        type: "scatter",
        mode: "lines",
        name: t("at step 0"),
        meta: { role: "start-fit" },
        ...c,
        line: { color: withAlpha(color, 0.45), width: 1.4, dash: "dot" },
        hoverinfo: "skip",
      });
    }
    let caption = t("The selected run has no frame yet.");
    // The frame's model over the data's span (its y values also size a linear plot).
    const fit = frame ? curve(data.model, frame.x, frame.y, xr) : null;
    if (frame) {
      const [w, b] = [frame.x, frame.y];
      traces.push({
        type: "scatter",
        mode: "lines",
        name: t("step {step}", { step: frame.step }),
        meta: { role: "fit", w, b, step: frame.step },
        ...fit,
        line: { color, width: 2.6 },
        hovertemplate: linear
          ? "x %{x:.3g} → ŷ %{y:.3g}<extra></extra>"
          : `x %{x:.3g} → ${t("P(class 1)")} %{y:.2f}<extra></extra>`,
      });
      if (linear) {
        caption = t("step {step} of {run}: ŷ = {w}·x + {b}", {
          step: frame.step,
          run: label || t("the run"),
          w: fmt(w, 3),
          b: fmt(b, 3),
        });
      } else {
        const boundary = w !== 0 ? -b / w : null;
        const inside = boundary !== null && boundary >= xr[0] && boundary <= xr[1];
        if (inside) {
          traces.push({
            type: "scatter",
            mode: "lines",
            name: t("boundary"),
            meta: { role: "boundary", x: boundary },
            x: [boundary, boundary],
            y: [-0.08, 1.08],
            line: { color: INK, width: 1.4, dash: "dash" },
            hovertemplate: `${t("boundary x = {x}", { x: fmt(boundary, 3) })}<extra></extra>`,
          });
        }
        const x = fmt(boundary, 3);
        const where =
          boundary === null
            ? t("no boundary (w = 0)")
            : inside
              ? t("boundary x = −b/w = {x}", { x })
              : t("boundary x = −b/w = {x} (off the data)", { x });
        caption = t("step {step} of {run}: P(class 1) = σ({w}·x + {b}) · {where}", {
          step: frame.step,
          run: label || t("the run"),
          w: fmt(w, 3),
          b: fmt(b, 3),
          where,
        });
      }
    }
    this.note.textContent = caption;
    const yr = linear ? span([...data.y, ...(fit ? fit.y : [])]) : [-0.12, 1.12];
    // A diverged fit would squeeze the data into a line: the data set keeps the frame.
    const yRange = linear ? clampRange(yr, span(data.y)) : yr;
    const layout = {
      ...baseLayout(),
      margin: { l: 40, r: 8, t: 6, b: 28 },
      showlegend: false,
      hovermode: "closest",
      xaxis: { ...FRAMED_AXIS, range: xr },
      yaxis: {
        ...FRAMED_AXIS,
        range: yRange,
        ...(linear ? {} : { tickvals: [0, 0.5, 1] }),
        title: { text: linear ? "y" : t("class / P(1)"), standoff: 4, font: { size: 11 } },
      },
    };
    return Plotly.react(this.chart, traces, layout, CONFIG);
  }
}

/** `range`, but never more than three data spans wide around the data's own range. */
function clampRange([lo, hi], [dlo, dhi]) {
  const reach = (dhi - dlo) * 1.5;
  return [Math.max(lo, dlo - reach), Math.min(hi, dhi + reach)];
}
