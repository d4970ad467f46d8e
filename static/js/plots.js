// Plotly wrappers: the landscape (contour or 3D surface with every run on it) and the
// step charts. A burst of `draw(vm)` calls costs one Plotly call per animation frame at
// most: the landscape is one `Plotly.react` with its surface trace objects kept stable;
// a chart whose data did not change only moves its playhead markers (`Plotly.animate`
// without redraw, safe there because a chart holds scatter traces only).

/* global Plotly */

import { fmt, norm2 } from "./format.js";

export const PALETTE = [
  "#e8590c",
  "#c2255c",
  "#2b8a3e",
  "#7048e8",
  "#1971c2",
  "#0c8599",
  "#e67700",
  "#862e9c",
];
const INK = "#1b2230";
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const SCALE = [
  [0, "#fbfaf5"],
  [0.12, "#eef3ef"],
  [0.26, "#d7e6e4"],
  [0.42, "#b5d0d6"],
  [0.58, "#8fb3c6"],
  [0.74, "#6b92b2"],
  [0.88, "#4d7199"],
  [1, "#35527c"],
];
const ARROW_SHARE = 0.12;
const MARKER_STEPS = 200;
const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtons: [["toImage"]],
  toImageButtonOptions: { format: "png", filename: "losslab", scale: 2 },
};
const TOP_CONFIG = { staticPlot: true, responsive: true, displayModeBar: false };
const NO_REDRAW = {
  transition: { duration: 0 },
  frame: { duration: 0, redraw: false },
  mode: "immediate",
};

/**
 * The colour (and 3D height) transform: the mean of a log scale, log(1 + (z - zmin) / s),
 * which gives valleys detail, and the loss's rank among the grid's values, which spreads
 * every surface over the whole colour scale. Monotone, so contours stay level sets; hover
 * and the colour bar's labels show the true loss.
 */
export class LossScale {
  constructor(z, floor = []) {
    const values = [];
    for (const row of z) for (const v of row) if (v !== null && Number.isFinite(v)) values.push(v);
    if (values.length === 0) values.push(0, 1);
    this.sorted = Float64Array.from(values).sort();
    this.lo = Math.min(this.sorted[0], ...floor);
    this.hi = Math.max(this.sorted[this.sorted.length - 1], this.lo + 1e-12);
    this.s = Math.max((this.hi - this.lo) * 2e-3, 1e-12);
    this.logTop = Math.log10(1 + (this.hi - this.lo) / this.s);
  }

  rank(v) {
    const a = this.sorted;
    const n = a.length;
    if (v <= a[0]) return 0;
    if (v >= a[n - 1]) return 1;
    let lo = 0;
    let hi = n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (a[mid] <= v) lo = mid;
      else hi = mid;
    }
    const span = a[hi] - a[lo];
    return (lo + (span > 0 ? (v - a[lo]) / span : 0)) / (n - 1);
  }

  t(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return null;
    const log = Math.log10(1 + Math.max(0, v - this.lo) / this.s) / this.logTop;
    return 0.5 * log + 0.5 * this.rank(v);
  }

  /** The loss whose transform is `t` (bisection; t is monotone). */
  inverse(t) {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (this.t(mid) < t) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  }

  /** Tick positions (transformed) labelled with round true losses. */
  ticks(count = 6) {
    const vals = [];
    const text = [];
    for (let i = 0; i < count; i++) {
      const raw = this.inverse(i / (count - 1));
      const nice = i === 0 ? this.lo : i === count - 1 ? raw : niceRound(raw);
      const tv = this.t(nice);
      if (tv === null || (vals.length && tv - vals[vals.length - 1] < 0.07)) continue;
      vals.push(tv);
      text.push(fmt(nice, i === count - 1 ? 2 : 3));
    }
    return { vals, text };
  }
}

function niceRound(v) {
  if (v === 0 || !Number.isFinite(v)) return v;
  const digits = Math.abs(v) >= 10 ? 2 : 1;
  return Number(v.toPrecision(digits));
}

/** Loss at (x, y) by bilinear interpolation of the grid, or null off the grid. */
export function sampleGrid(grid, x, y) {
  const { x: xs, y: ys, z } = grid;
  const n = xs.length;
  const fx = ((x - xs[0]) / (xs[n - 1] - xs[0])) * (n - 1);
  const fy = ((y - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
  if (!(fx >= 0 && fy >= 0 && fx <= n - 1 && fy <= ys.length - 1)) return null;
  const i = Math.min(Math.floor(fy), ys.length - 2);
  const j = Math.min(Math.floor(fx), n - 2);
  const a = fy - i;
  const b = fx - j;
  const q = [z[i][j], z[i][j + 1], z[i + 1][j], z[i + 1][j + 1]];
  if (q.some((v) => v === null)) return null;
  return (1 - a) * ((1 - b) * q[0] + b * q[1]) + a * ((1 - b) * q[2] + b * q[3]);
}

const STATE_ARROWS = [
  { key: "momentum_buffer", sign: -1, label: "−momentum_buffer" },
  { key: "exp_avg", sign: -1, label: "−exp_avg" },
  { key: "d", sign: 1, label: "d (L-BFGS direction)" },
];

/** The arrows worth drawing at `frame`: downhill gradient, then a velocity-like state. */
export function arrowsAt(frame) {
  if (!frame) return [];
  const arrows = [];
  const g = frame.grad;
  if (Array.isArray(g) && g.length === 2) {
    arrows.push({ kind: "grad", label: "−∇f", vec: [-g[0], -g[1]], mag: norm2(g) });
  }
  for (const { key, sign, label } of STATE_ARROWS) {
    const v = frame.state && frame.state[key];
    if (Array.isArray(v) && v.length === 2 && v.every(Number.isFinite)) {
      arrows.push({ kind: "state", label, vec: [sign * v[0], sign * v[1]], mag: norm2(v) });
      break;
    }
  }
  return arrows;
}

function baseLayout() {
  return {
    font: { family: FONT, size: 11, color: "#4a5466" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    hoverlabel: { font: { family: FONT, size: 12 }, bordercolor: "#d0d5dd" },
  };
}

/**
 * Runs one Plotly call at a time. A draw asked for while one is in flight is remembered
 * (only the newest) and made when it lands, so a burst of updates costs one call per frame.
 */
class Drawer {
  constructor(render, afterDraw) {
    this.render = render;
    this.afterDraw = afterDraw;
    this.busy = false;
    this.latest = null;
    this.again = false;
  }

  draw(vm) {
    this.latest = vm;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    Promise.resolve()
      .then(() => this.render(vm))
      .catch((error) => console.warn("losslab: draw failed", error))
      .finally(() => {
        this.busy = false;
        if (this.afterDraw) this.afterDraw();
        if (this.again) {
          this.again = false;
          this.draw(this.latest);
        }
      });
  }
}

export class Landscape {
  constructor(el, top, { onPick, onHover, afterDraw }) {
    this.el = el;
    this.top = top;
    this.trails = new Map();
    this.mainKey = "";
    this.topShape = "";
    this.sent = null;
    this.onPick = onPick;
    this.onHover = onHover;
    this.drawer = new Drawer((vm) => this.render(vm), afterDraw);
    this.surface = null;
    this.grid = null;
    this.scale = null;
    this.view = "contour";
    this.base = { contour: null, surface: null };
    this.dragging = false;
    this.bindPointer();
  }

  setSurface(surface, grid) {
    this.surface = surface;
    this.grid = grid;
    this.scale = new LossScale(grid.z, surface.minima.map((m) => m.loss));
    this.base = { contour: null, surface: null };
    this.text = null;
    this.mainKey = "";
    this.topShape = "";
    this.sent = null;
  }

  /** Pixel (client coordinates) to data coordinates, or null outside the plot area. */
  toData(clientX, clientY) {
    const layout = this.el._fullLayout;
    if (!layout || this.view !== "contour" || !layout.xaxis || !layout.yaxis) return null;
    const rect = this.el.getBoundingClientRect();
    const xa = layout.xaxis;
    const ya = layout.yaxis;
    const px = clientX - rect.left - xa._offset;
    const py = clientY - rect.top - ya._offset;
    if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
    return [xa.p2d(px), ya.p2d(py)];
  }

  bindPointer() {
    const el = this.el;
    el.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      if (event.target.closest && event.target.closest(".modebar, .legend")) return;
      const point = this.toData(event.clientX, event.clientY);
      if (!point) return;
      this.dragging = true;
      el.setPointerCapture(event.pointerId);
      el.classList.add("dragging");
      this.onPick(point, "start");
      event.preventDefault();
    });
    el.addEventListener("pointermove", (event) => {
      const point = this.toData(event.clientX, event.clientY);
      if (this.dragging && point) this.onPick(point, "move");
      this.onHover(point);
    });
    el.addEventListener("pointerleave", () => this.onHover(null));
    const end = (event) => {
      if (!this.dragging) return;
      this.dragging = false;
      el.classList.remove("dragging");
      if (el.hasPointerCapture(event.pointerId)) el.releasePointerCapture(event.pointerId);
      this.onPick(null, "end");
    };
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
  }

  contourTraces() {
    if (this.base.contour) return this.base.contour;
    const { grid, scale } = this;
    const zt = grid.z.map((row) => row.map((v) => scale.t(v)));
    const ticks = scale.ticks();
    const contour = {
      type: "contour",
      x: grid.x,
      y: grid.y,
      z: zt,
      colorscale: SCALE,
      autocontour: false,
      contours: { start: 0, end: 1, size: 1 / 24, coloring: "fill", showlines: true },
      zmin: 0,
      zmax: 1,
      // "fill" draws SVG paths only: no data: images (strict CSP) and cheap to redraw.
      line: { color: "rgba(27, 34, 48, 0.14)", width: 0.6, smoothing: 0.85 },
      // The true loss under the pointer is shown by the page (a hover text grid costs a
      // lot on every redraw).
      hoverinfo: "skip",
      showlegend: false,
      colorbar: {
        title: { text: "loss", side: "top", font: { size: 11 } },
        thickness: 8,
        len: 0.42,
        lenmode: "fraction",
        y: 0,
        yanchor: "bottom",
        x: 1.02,
        xpad: 0,
        outlinewidth: 0,
        tickvals: ticks.vals,
        ticktext: ticks.text,
        tickfont: { size: 10 },
      },
    };
    this.base.contour = [contour, ...this.markerTraces(false)];
    return this.base.contour;
  }

  surfaceTraces() {
    if (this.base.surface) return this.base.surface;
    const { grid, scale } = this;
    const zt = grid.z.map((row) => row.map((v) => scale.t(v)));
    const text = this.lossText();
    const surface = {
      type: "surface",
      x: grid.x,
      y: grid.y,
      z: zt,
      text,
      colorscale: SCALE,
      showscale: false,
      opacity: 1,
      lighting: { ambient: 0.75, diffuse: 0.55, specular: 0.08, roughness: 0.9 },
      contours: {
        z: { show: true, usecolormap: false, color: "rgba(27,34,48,0.25)", width: 1, project: { z: false } },
      },
      hovertemplate: "x %{x:.3f}<br>y %{y:.3f}<br>loss %{text}<extra></extra>",
      showlegend: false,
    };
    this.base.surface = [surface, ...this.markerTraces(true)];
    return this.base.surface;
  }

  lossText() {
    if (!this.text) this.text = this.grid.z.map((row) => row.map((v) => (v === null ? "–" : fmt(v))));
    return this.text;
  }

  /** Known minima (global: star, local: circle) and saddles (cross), with hover text. */
  markerTraces(is3d) {
    const { surface } = this;
    // Rastrigin has hundreds: keep them quiet so the runs stay readable.
    const crowded = surface.minima.length + surface.saddles.length > 24;
    const groups = [
      {
        name: "global minimum",
        points: surface.minima.filter((m) => m.kind === "global"),
        marker: { symbol: is3d ? "diamond" : "star", size: is3d ? 6 : 15, color: "#ffd43b" },
        line: 1.1,
      },
      {
        name: "local minimum",
        points: surface.minima.filter((m) => m.kind !== "global"),
        marker: { symbol: "circle", size: is3d ? 3 : crowded ? 5 : 8, color: "#ffffff" },
        line: crowded ? 0.8 : 1.3,
      },
      {
        name: "saddle",
        points: surface.saddles,
        marker: { symbol: is3d ? "x" : "x-thin", size: is3d ? 3 : crowded ? 5 : 9, color: INK },
        line: crowded ? 1.1 : 2,
      },
    ];
    return groups.map(({ name, points, marker, line }) => ({
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name,
      legendgroup: name,
      x: points.map((p) => p.x),
      y: points.map((p) => p.y),
      ...(is3d ? { z: this.zPath(points.map((p) => p.loss), 0.4) } : {}),
      text: points.map((p) => `${name}<br>(${fmt(p.x)}, ${fmt(p.y)})<br>loss ${fmt(p.loss)}`),
      hovertemplate: "%{text}<extra></extra>",
      opacity: crowded && name !== "global minimum" ? 0.6 : 1,
      marker: { ...marker, line: { color: INK, width: is3d ? 1 : line } },
      showlegend: points.length > 0,
    }));
  }

  /** z for a path in the 3D view: the colour transform, lifted a little off the surface. */
  zPath(losses, extra = 1) {
    const lift = 0.025 * extra;
    return losses.map((v) => {
      const t = this.scale.t(v);
      return t === null ? null : t + lift;
    });
  }

  /** A run's whole path: the trace tests compare with the frames (`meta.runId`). */
  pathTrace(run, is3d, faint) {
    const c = run.columns;
    const markers = run.steps <= MARKER_STEPS && !is3d && !faint;
    const dash = run.status === "error" ? "dot" : "solid";
    const width = is3d ? (faint ? 3 : 6) : faint ? 1.4 : run.selected ? 2.6 : 1.9;
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: markers ? "lines+markers" : "lines",
      name: run.label,
      legendgroup: run.id,
      meta: { runId: run.id },
      x: c.x,
      y: c.y,
      ...(is3d ? { z: this.zPath(c.loss) } : {}),
      line: { color: faint ? withAlpha(run.color, 0.38) : run.color, width, dash },
      marker: { color: run.color, size: 4.5, line: { color: "#ffffff", width: 0.8 } },
      hovertemplate: `${escapeHover(run.label)}<br>step %{pointNumber}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`,
      showlegend: true,
    };
  }

  /** The path up to the playhead, drawn over the faint whole path while scrubbing. */
  progressTrace(run, is3d) {
    const c = run.columns;
    const n = Math.min(run.head, c.x.length - 1) + 1;
    // Reuse the last slice while this run's trail did not move (keeps animate minimal).
    const cached = this.trails.get(run.id);
    const trail =
      cached && cached.columns === c && cached.n === n
        ? cached
        : { columns: c, n, x: c.x.slice(0, n), y: c.y.slice(0, n) };
    this.trails.set(run.id, trail);
    const markers = run.steps <= MARKER_STEPS && !is3d;
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: markers ? "lines+markers" : "lines",
      name: run.label,
      meta: { of: run.id, role: "progress" },
      x: trail.x,
      y: trail.y,
      ...(is3d ? { z: this.zPath(c.loss.slice(0, n)) } : {}),
      line: {
        color: run.color,
        width: is3d ? 6 : run.selected ? 2.6 : 1.9,
        dash: run.status === "error" ? "dot" : "solid",
      },
      marker: { color: run.color, size: 4.5, line: { color: "#ffffff", width: 0.8 } },
      hoverinfo: "skip",
      showlegend: false,
    };
  }

  /** One marker per run at its playhead (null while it has no frames). */
  headTrace(vm, is3d) {
    const runs = vm.runs;
    const at = (run) => Math.min(run.head, run.columns.x.length - 1);
    const pick = (run, column) => (run.columns.x.length ? run.columns[column][at(run)] : null);
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name: "playhead",
      meta: { role: "playheads" },
      x: runs.map((run) => pick(run, "x")),
      y: runs.map((run) => pick(run, "y")),
      ...(is3d ? { z: this.zPath(runs.map((run) => pick(run, "loss")), 2) } : {}),
      text: runs.map((run) =>
        run.columns.x.length
          ? `${escapeHover(run.label)} · step ${at(run)}<br>loss ${fmt(pick(run, "loss"))}`
          : "",
      ),
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        color: runs.map((run) => run.color),
        size: is3d ? 7 : runs.map((run) => (run.selected ? 14 : 11)),
        line: { color: "#ffffff", width: is3d ? 1 : 2.4 },
      },
      showlegend: false,
    };
  }

  startTrace(vm, is3d) {
    const [x, y] = vm.start;
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name: "start",
      meta: { role: "start" },
      x: [x],
      y: [y],
      ...(is3d ? { z: this.zPath([vm.startLoss]) } : {}),
      text: [`start (${fmt(x)}, ${fmt(y)})${is3d ? "" : "<br>click or drag the map to move it"}`],
      hovertemplate: "%{text}<extra></extra>",
      marker: {
        symbol: "circle",
        size: is3d ? 6 : 12,
        color: "#ffffff",
        line: { color: INK, width: is3d ? 2 : 2.6 },
      },
      showlegend: false,
    };
  }

  /** The selected run's gradient and velocity-like state at its playhead, as arrows. */
  arrowTraces(vm, is3d) {
    const arrows = vm.arrows || [];
    const at = vm.arrowOrigin;
    return ["state", "grad"].map((kind) => {
      const arrow = at ? arrows.find((a) => a.kind === kind) : null;
      const color = kind === "grad" ? INK : vm.arrowColor || INK;
      const trace = {
        type: is3d ? "scatter3d" : "scatter",
        mode: is3d ? "lines" : "lines+markers",
        name: arrow ? arrow.label : kind,
        meta: { role: `arrow-${kind}` },
        x: arrow ? [at[0], at[0] + arrow.shown[0]] : [],
        y: arrow ? [at[1], at[1] + arrow.shown[1]] : [],
        line: { color, width: is3d ? 6 : kind === "grad" ? 2 : 3.2 },
        hoverinfo: "skip",
        showlegend: false,
      };
      if (is3d) {
        const [z] = this.zPath([vm.arrowLoss], 2);
        trace.z = arrow ? [z, z] : [];
      } else {
        trace.marker = {
          symbol: ["circle", "arrow"],
          size: [0, kind === "grad" ? 10 : 12],
          angleref: "previous",
          color,
          line: { width: 0 },
        };
      }
      return trace;
    });
  }

  layout(vm) {
    const { surface } = this;
    const [x0, x1] = surface.domain.x;
    const [y0, y1] = surface.domain.y;
    const common = {
      ...baseLayout(),
      uirevision: `${surface.name}:${this.view}`,
      showlegend: true,
      legend: {
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
      hovermode: "closest",
    };
    if (this.view === "3d") {
      const zTop = 1;
      const ticks = this.scale.ticks(5);
      const axis = {
        showbackground: true,
        backgroundcolor: "#f4f6f9",
        gridcolor: "#dde2e9",
        zeroline: false,
        showspikes: false,
        tickfont: { size: 10 },
      };
      return {
        ...common,
        margin: { l: 0, r: 0, t: 0, b: 0 },
        scene: {
          xaxis: { ...axis, title: { text: "x" }, range: [x0, x1] },
          yaxis: { ...axis, title: { text: "y" }, range: [y0, y1] },
          zaxis: {
            ...axis,
            title: { text: "loss" },
            range: [0, zTop * 1.06],
            tickvals: ticks.vals,
            ticktext: ticks.text,
          },
          aspectmode: "manual",
          aspectratio: { x: 1, y: Math.min(1.4, (y1 - y0) / (x1 - x0)), z: 0.55 },
          camera: { eye: { x: -1.5, y: -1.65, z: 1.2 }, center: { x: 0, y: 0, z: -0.08 } },
          dragmode: "orbit",
        },
      };
    }
    const axis = {
      showgrid: false,
      zeroline: false,
      ticks: "outside",
      ticklen: 4,
      tickcolor: "#c3c9d3",
      linecolor: "#c3c9d3",
      showline: true,
      mirror: true,
      constrain: "domain",
      fixedrange: true,
      tickfont: { size: 10 },
    };
    return {
      ...common,
      // Fixed margins (no autoexpand) so the overlay plot's axes match the main plot's.
      margin: { l: 40, r: 150, t: 40, b: 24, autoexpand: false },
      dragmode: false,
      xaxis: { ...axis, range: [x0, x1], autorange: false },
      yaxis: { ...axis, range: [y0, y1], autorange: false, scaleanchor: "x", scaleratio: 1 },
    };
  }

  /** Draw view model `vm`: one Plotly call now, or one as soon as the current one lands. */
  draw(vm) {
    if (this.surface) this.drawer.draw(vm);
  }

  /**
   * Contour view: the contour, the whole paths and the start live in the main plot, which
   * is redrawn only when they change; playheads, trails and arrows live in a static plot
   * laid exactly over it, so playback never recomputes the contour. 3D: one plot.
   */
  render(vm) {
    const scrubbing = vm.scrubbing;
    if (vm.view === "3d") {
      this.clearTop();
      this.mainKey = "";
      const data = [
        ...this.surfaceTraces(),
        ...vm.runs.map((run) => this.pathTrace(run, true, scrubbing)),
        ...(scrubbing ? vm.runs.map((run) => this.progressTrace(run, true)) : []),
        this.headTrace(vm, true),
        this.startTrace(vm, true),
        ...this.arrowTraces(vm, true),
      ];
      return Plotly.react(this.el, data, this.layout(vm), CONFIG);
    }
    const calls = [];
    const mainKey = JSON.stringify([
      this.surface.name,
      vm.start,
      scrubbing,
      vm.runs.map((r) => [r.id, r.version, r.color, r.label, r.selected, r.status, r.steps]),
    ]);
    if (mainKey !== this.mainKey) {
      this.mainKey = mainKey;
      const data = [
        ...this.contourTraces(),
        ...vm.runs.map((run) => this.pathTrace(run, false, scrubbing)),
        this.startTrace(vm, false),
      ];
      calls.push(Plotly.react(this.el, data, this.layout(vm), CONFIG));
    }
    const top = [
      ...(scrubbing ? vm.runs.map((run) => this.progressTrace(run, false)) : []),
      this.headTrace(vm, false),
      ...this.arrowTraces(vm, false),
    ];
    // Same traces as before (only their points moved): animate just those, no full redraw.
    const topShape = JSON.stringify([
      this.surface.name,
      scrubbing,
      vm.runs.map((r) => [r.id, r.color, r.selected, r.status, r.steps > MARKER_STEPS]),
      top.slice(-2).map((t) => [t.name, t.line.color]),
    ]);
    if (topShape !== this.topShape || !this.sent) {
      this.topShape = topShape;
      this.sent = top;
      this.top.hidden = false;
      const layout = { ...this.layout(vm), showlegend: false, plot_bgcolor: "rgba(0,0,0,0)" };
      calls.push(Plotly.react(this.top, top, layout, TOP_CONFIG));
    } else {
      const indices = [];
      const updates = [];
      top.forEach((trace, i) => {
        const old = this.sent[i];
        if (sameData(old, trace)) return;
        indices.push(i);
        updates.push(trace.text ? { x: trace.x, y: trace.y, text: trace.text } : { x: trace.x, y: trace.y });
      });
      this.sent = top;
      if (indices.length) {
        calls.push(Plotly.animate(this.top, { data: updates, traces: indices }, NO_REDRAW));
      }
    }
    return Promise.all(calls);
  }

  clearTop() {
    if (this.top.hidden) return;
    this.top.hidden = true;
    this.topShape = "";
    this.sent = null;
    Plotly.purge(this.top);
  }
}

function sameData(a, b) {
  if (!a || a.x.length !== b.x.length) return false;
  if (a.x === b.x && a.y === b.y) return true;
  if (b.x.length > 32) return false;
  return JSON.stringify([a.x, a.y, a.text]) === JSON.stringify([b.x, b.y, b.text]);
}

function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function escapeHover(text) {
  return String(text).replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c]);
}

/** One step chart: a line per run, a marker per run at the playhead and a vertical rule. */
class StepChart {
  constructor(el, { column, yTitle, logAxis }) {
    this.el = el;
    this.column = column;
    this.yTitle = yTitle;
    this.logAxis = logAxis;
    this.drawer = new Drawer((vm) => this.render(vm));
    this.structure = "";
    this.data = "";
    this.lastReact = 0;
    this.timer = 0;
  }

  traces(vm) {
    const col = this.column;
    const traces = vm.runs.map((run) => ({
      type: "scatter",
      mode: "lines",
      name: run.label,
      meta: { runId: run.id },
      x: run.columns.step,
      y: run.columns[col],
      line: { color: run.color, width: run.selected ? 2.2 : 1.5 },
      hovertemplate: `%{y:.4g}<extra>${escapeHover(run.label)}</extra>`,
    }));
    traces.push(this.headTrace(vm), this.ruleTrace(vm));
    return traces;
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
    const col = this.column;
    if (col === "lr" && !log) {
      // Learning rates are >= 0 and often constant: show them from zero.
      let top = 0;
      for (const run of vm.runs) for (const v of run.columns.lr) if (v > top) top = v;
      return [0, (top || 1) * 1.25];
    }
    // Keep a diverged run from flattening the others: cap the axis above the sane runs.
    if (log || !vm.runs.some((run) => run.status === "diverged")) return null;
    let lo = Infinity;
    let hi = -Infinity;
    for (const run of vm.runs) {
      const ys = run.columns[col];
      const span = run.status === "diverged" ? ys.slice(0, 1) : ys;
      for (const v of span) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) return null;
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.12;
    return [lo - pad, hi + pad];
  }

  layout(vm) {
    const log = this.logAxis(vm);
    const range = this.yRange(vm, log);
    return {
      ...baseLayout(),
      uirevision: `${vm.surfaceName}:${log}`,
      margin: { l: 46, r: 8, t: 6, b: 24 },
      showlegend: false,
      hovermode: "x unified",
      xaxis: {
        zeroline: false,
        gridcolor: "#eef0f4",
        linecolor: "#d5dae2",
        tickfont: { size: 10 },
        rangemode: "tozero",
        hoverformat: "d",
      },
      yaxis: {
        type: log ? "log" : "linear",
        gridcolor: "#eef0f4",
        zeroline: false,
        linecolor: "#d5dae2",
        tickfont: { size: 10 },
        exponentformat: "power",
        ...(range ? { range, autorange: false } : { autorange: true }),
      },
      yaxis2: { overlaying: "y", range: [0, 1], visible: false, fixedrange: true },
    };
  }

  draw(vm) {
    this.drawer.draw(vm);
  }

  render(vm) {
    const structure = JSON.stringify([
      vm.surfaceName,
      this.logAxis(vm),
      vm.runs.map((r) => [r.id, r.color, r.label, r.selected, r.status]),
    ]);
    const data = vm.runs.map((r) => `${r.id}:${r.version}`).join(",");
    const now = performance.now();
    clearTimeout(this.timer);
    if (structure !== this.structure || data !== this.data) {
      // Streaming data redraws at most ten times a second; a structural change at once.
      if (structure === this.structure && now - this.lastReact < 100) {
        this.timer = setTimeout(() => this.draw(vm), 100 - (now - this.lastReact));
      } else {
        this.structure = structure;
        this.data = data;
        this.lastReact = now;
        this.moved = null;
        return Plotly.react(this.el, this.traces(vm), this.layout(vm), CONFIG);
      }
    }
    const n = vm.runs.length;
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
  constructor({ loss, grad, lr }) {
    this.charts = [
      new StepChart(loss, { column: "loss", logAxis: (vm) => vm.logLoss }),
      new StepChart(grad, { column: "gnorm", logAxis: () => true }),
      new StepChart(lr, { column: "lr", logAxis: () => false }),
    ];
  }

  draw(vm) {
    for (const chart of this.charts) chart.draw(vm);
  }
}
