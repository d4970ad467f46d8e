// The landscape's colour transform, grid sampling and the optimizer-state arrows.

import { fmt, norm2 } from "./format.js";
import { t } from "./i18n.js";

/** The run's largest gradient is drawn this share of the domain's width. */
export const ARROW_SHARE = 0.12;

/** A soft, light-valleyed blue scale: valleys pale so the runs read clearly on them. */
export const COLORSCALE = [
  [0, "#fbfaf5"],
  [0.12, "#eef3ef"],
  [0.26, "#d7e6e4"],
  [0.42, "#b5d0d6"],
  [0.58, "#8fb3c6"],
  [0.74, "#6b92b2"],
  [0.88, "#4d7199"],
  [1, "#35527c"],
];

/**
 * A filled contour of `grid` ({x, y, z}) coloured through `scale`, as every landscape of the
 * page draws one; callers add hover and colour-bar placement.
 */
export function contourTrace(grid, scale) {
  const ticks = scale.ticks();
  return {
    type: "contour",
    x: grid.x,
    y: grid.y,
    z: grid.z.map((row) => row.map((v) => scale.t(v))),
    colorscale: COLORSCALE,
    autocontour: false,
    contours: { start: 0, end: 1, size: 1 / 24, coloring: "fill", showlines: true },
    zmin: 0,
    zmax: 1,
    // "fill" draws SVG paths only: no data: images (strict CSP) and cheap to redraw.
    line: { color: "rgba(27, 34, 48, 0.14)", width: 0.6, smoothing: 0.85 },
    colorbar: {
      title: { text: t("loss"), side: "top", font: { size: 11 } },
      thickness: 8,
      outlinewidth: 0,
      tickvals: ticks.vals,
      ticktext: ticks.text,
      tickfont: { size: 10 },
    },
  };
}

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
  { key: "d", sign: 1, label: t("d (L-BFGS direction)") },
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

