// The landscape: a contour map (or 3D surface) with every run's path, the known minima and
// saddles, the shared start, each run's playhead and the selected run's state arrows.

/* global Plotly */

import { fmt } from "./format.js";
import {
  CONFIG,
  Drawer,
  FRAMED_AXIS,
  INK,
  NO_REDRAW,
  baseLayout,
  drawTraceLine,
  escapeHover,
  hideEvents,
  previewLeft,
  traceGroup,
  traceMeta,
  unmarkTraces,
  withAlpha,
} from "./plots.js";
import { COLORSCALE, LossScale, contourTrace } from "./scale.js";
import { t } from "./i18n.js";
import { CurveView } from "./curve.js";

/** Paths of at most this many steps show a dot per step. */
const MARKER_STEPS = 200;
const CONTOUR_MARGIN = { l: 40, r: 150, t: 40, b: 24 };
/**
 * Phone widths (app.css's phone layout): the contour takes the card's width under its toolbar
 * (t), and the colour bar, laid flat, and the legend go under it; the card's height follows.
 */
const NARROW_QUERY = "(max-width: 720px)";
const NARROW_MARGIN = { l: 34, r: 12, t: 56, b: 0 };
/** Under the narrow contour (px): its x tick labels, then the flat colour bar and its ticks. */
const NARROW_TICKS = 26;
const NARROW_COLORBAR = 34;
/** The flat colour bar: its length (a fraction of the plot's width) and thickness (px). */
const NARROW_COLORBAR_LEN = 0.62;
const NARROW_COLORBAR_THICKNESS = 7;
/** Paths float this far (a fraction of the z range) over the drawn mesh, wherever they are. */
const LIFT = 0.018;
/** The 3D camera stays at least this high over the scene's centre (it never goes under). */
const EYE_Z_MIN = 0.12;
/** A sharpness-aware run's ascent arrow (app.css .arrow-ascent has the same colour). */
export const ASCENT_COLOR = "#e03131";
export const ASCENT_LABEL = t("ascent point (SAM perturbation)");
export const TRAIN_LABEL = t("training point y (gradient taken here)");
/** "step 12" in a hover, Plotly filling in the point's number. */
const HOVER_STEP = t("step {step}", { step: "%{pointNumber}" });
const lossText = (loss) => escapeHover(t("loss {loss}", { loss: fmt(loss) }));
/** The overlay plot only draws: it takes no pointer events and has no modebar. */
const TOP_CONFIG = { staticPlot: true, responsive: true, displayModeBar: false };

export class Landscape {
  constructor(el, top, { onPick, onHover, afterDraw, onToggleRun }) {
    this.el = el;
    this.onToggleRun = onToggleRun || (() => {});
    this.top = top;
    this.trails = new Map();
    this.mainKey = "";
    this.topShape = "";
    this.sent = null;
    /** runId -> the preview columns on screen (drawn by Plotly or by the fast path). */
    this.previews = new Map();
    /** Runs whose trace the fast path drew since the last Plotly.react (see pathTrace). */
    this.touched = new Set();
    /** runId -> the columns on screen; the plot's structure as last drawn by Plotly. */
    this.drawn = new Map();
    this.structure = "";
    this.streamed = false;
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
    // Phone widths lay the contour out otherwise (box()): redraw when the width crosses over.
    this.narrowQuery = window.matchMedia(NARROW_QUERY);
    this.narrow = this.narrowQuery.matches;
    /** The narrow legend's height as last drawn, and the card's height asked for (px). */
    this.legendHeight = 0;
    this.height = null;
    this.narrowQuery.addEventListener("change", () => {
      this.narrow = this.narrowQuery.matches;
      this.fitHeight();
      if (this.drawer.latest && this.surface) this.draw(this.drawer.latest);
    });
    // A new size means new plot domains (the aspect stays true): redraw with the last model.
    this.size = null;
    this.resizer = new ResizeObserver(() => {
      this.size = [el.clientWidth, el.clientHeight];
      // Plotly measures its div on window resizes only; the card also changes size when a
      // panel beside it opens or closes (the basin map strip).
      for (const plot of [el, top]) if (plot._fullLayout && !plot.hidden) Plotly.Plots.resize(plot);
      if (this.drawer.latest && this.surface) this.draw(this.drawer.latest);
    });
    this.resizer.observe(el);
  }

  setSurface(surface, grid) {
    this.surface = surface;
    this.grid = grid;
    // One parameter (y = w·x): the loss against w, a curve, in place of the contour and 3D.
    this.curve = surface.parameters === 1 ? new CurveView(this.el, surface, grid) : null;
    this.scale = new LossScale(grid.z, surface.minima.map((m) => m.loss));
    this.base = { contour: null, surface: null };
    this.mesh = null;
    this.mainKey = "";
    this.structure = "";
    this.topShape = "";
    this.sent = null;
  }

  /** Pixel (client coordinates) to data coordinates, or null outside the plot area. */
  toData(clientX, clientY) {
    const layout = this.el._fullLayout;
    const flat = this.view === "contour" || this.view === "curve";
    if (!layout || !flat || !layout.xaxis || !layout.yaxis) return null;
    const rect = this.el.getBoundingClientRect();
    const xa = layout.xaxis;
    const ya = layout.yaxis;
    const px = clientX - rect.left - xa._offset;
    const py = clientY - rect.top - ya._offset;
    if (px < 0 || py < 0 || px > xa._length || py > ya._length) return null;
    // On the curve a point is a w (its run keeps the second coordinate at 0).
    return this.view === "curve" ? [xa.p2d(px), 0] : [xa.p2d(px), ya.p2d(py)];
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
    // A finger on the contour's plot area drags the start: the browser must not scroll the
    // page instead (and cancel the drag). Chromium does not honour app.css's touch-action on
    // Plotly's SVG drag rect, and the rest of the card must still scroll the page: so the
    // touch is claimed here, where it starts on the plot area only.
    el.addEventListener(
      "touchstart",
      (event) => {
        const touch = event.touches[0];
        if (event.touches.length !== 1 || !touch) return;
        if (event.target.closest && event.target.closest(".modebar, .legend")) return;
        if (this.toData(touch.clientX, touch.clientY)) event.preventDefault();
      },
      { passive: false },
    );
  }

  contourTraces() {
    if (this.base.contour) return this.base.contour;
    const base = contourTrace(this.grid, this.scale);
    const contour = {
      ...base,
      // The true loss under the pointer is shown by the page (a hover text grid costs a
      // lot on every redraw).
      hoverinfo: "skip",
      showlegend: false,
      colorbar: {
        ...base.colorbar,
        lenmode: "fraction",
        yanchor: "bottom",
        xanchor: "left",
        xpad: 0,
      },
    };
    this.base.contour = [contour, ...this.markerTraces(false)];
    return this.base.contour;
  }

  /**
   * The contour plot's area: the largest rectangle of the domain's aspect (so gradients look
   * perpendicular to level sets), centred, with the legend and colour bar hugging its right.
   */
  box() {
    // The size as the ResizeObserver last saw it: reading it here would force a layout in
    // every frame of a slider drag (the sidebar changes as the landscape redraws).
    if (!this.size) this.size = [this.el.clientWidth, this.el.clientHeight];
    const W = this.size[0] || 600;
    const H = this.size[1] || 480;
    const m = this.margin();
    const aw = Math.max(60, W - m.l - m.r);
    const ah = Math.max(60, H - m.t - m.b);
    const [x0, x1] = this.surface.domain.x;
    const [y0, y1] = this.surface.domain.y;
    const aspect = (x1 - x0) / (y1 - y0);
    if (this.narrow) return this.narrowBox(W, H, aw, ah, aspect);
    let pw = aw;
    let ph = aw / aspect;
    if (ph > ah) {
      ph = ah;
      pw = ah * aspect;
    }
    const left = (aw - pw) / 2;
    const bottom = (ah - ph) / 2;
    return {
      key: `${W}x${H}:${this.surface.name}`,
      x: [left / aw, (left + pw) / aw],
      y: [bottom / ah, (bottom + ph) / ah],
      side: (left + pw + 14) / aw,
      ah,
    };
  }

  /**
   * Phone widths: the contour at the card's whole width (at most a little taller than wide),
   * at the top; under it the x tick labels, the flat colour bar and the legend, whose heights
   * make the card's (fitHeight).
   */
  narrowBox(W, H, aw, ah, aspect) {
    let pw = aw;
    let ph = aw / aspect;
    // No taller than a phone held sideways shows with the toolbar and the bar under it.
    const most = Math.min(aw * 1.15, Math.max(240, window.innerHeight - 150));
    if (ph > most) {
      ph = most;
      pw = ph * aspect;
    }
    const left = (aw - pw) / 2;
    const below = Math.max(0, ah - ph);
    return {
      key: `${W}x${H}:${this.surface.name}:narrow`,
      narrow: true,
      x: [left / aw, (left + pw) / aw],
      y: [below / ah, 1],
      colorbarY: (below - NARROW_TICKS) / ah,
      legendY: (below - NARROW_TICKS - NARROW_COLORBAR) / ah,
      ah,
      height: NARROW_MARGIN.t + ph + NARROW_TICKS + NARROW_COLORBAR + this.legendHeight + 6,
    };
  }

  margin() {
    return this.narrow ? NARROW_MARGIN : CONTOUR_MARGIN;
  }

  /** Phone widths: the card takes the narrow contour's height (app.css --landscape-height). */
  fitHeight() {
    // The 3D view keeps the height the contour had.
    if (this.narrow && (!this.surface || (this.view === "3d" && !this.curve))) return;
    const box = () => (this.curve ? this.curve.narrowHeight(this.legendHeight) : this.box().height);
    const height = this.narrow ? Math.round(box()) : null;
    if (height === this.height) return;
    this.height = height;
    const card = this.el.parentElement;
    if (height === null) card.style.removeProperty("--landscape-height");
    else card.style.setProperty("--landscape-height", `${height}px`);
  }

  /** The narrow legend wraps to as many rows as its entries need: the card makes room. */
  fitLegend() {
    if (!this.narrow || this.view === "3d") return;
    const legend = this.el.querySelector(".legend");
    const height = legend ? Math.ceil(legend.getBoundingClientRect().height) : 0;
    if (height === this.legendHeight) return;
    this.legendHeight = height;
    this.fitHeight();
  }

  /** The contour traces placed for `box` (a new contour object only when the box moves). */
  placedContour(box) {
    const base = this.contourTraces();
    if (this.placed && this.placed.key === box.key && this.placed.base === base) {
      return this.placed.traces;
    }
    const [contour, ...markers] = base;
    const colorbar = box.narrow
      ? {
          // Flat and slim under the plot, from its left edge; its title is an annotation
          // past its right end (layout(): Plotly sets a flat bar's title over it or left of
          // it, on the first tick label).
          ...contour.colorbar,
          orientation: "h",
          title: { text: "" },
          x: box.x[0],
          xanchor: "left",
          y: box.colorbarY,
          yanchor: "top",
          len: (box.x[1] - box.x[0]) * NARROW_COLORBAR_LEN,
          thickness: NARROW_COLORBAR_THICKNESS,
          ypad: 0,
        }
      : {
          ...contour.colorbar,
          x: box.side,
          y: box.y[0],
          len: Math.max((box.y[1] - box.y[0]) * 0.45, Math.min(box.y[1] - box.y[0], 120 / box.ah)),
        };
    const traces = [{ ...contour, colorbar }, ...markers];
    this.placed = { key: box.key, base, traces };
    return traces;
  }

  surfaceTraces() {
    if (this.base.surface) return this.base.surface;
    // The contour's grid as is: a thinner mesh (80 a side) made the 3D view appear no sooner
    // (bench/browser_timing.py 3d: the WebGL scene's setup is the cost) and Rastrigin coarse.
    const { grid, scale } = this;
    const zt = grid.z.map((row) => row.map((v) => scale.t(v)));
    this.mesh = { x: grid.x, y: grid.y, z: zt };
    const surface = {
      type: "surface",
      x: grid.x,
      y: grid.y,
      z: zt,
      text: grid.z.map((row) => row.map((v) => (v === null ? "–" : fmt(v)))),
      colorscale: COLORSCALE,
      showscale: false,
      // See-through enough that a path behind a ridge (once the camera turns) still shows.
      opacity: 0.9,
      lighting: { ambient: 0.75, diffuse: 0.55, specular: 0.08, roughness: 0.9 },
      contours: {
        z: { show: true, usecolormap: false, color: "rgba(27,34,48,0.25)", width: 1, project: { z: false } },
      },
      hovertemplate: `x %{x:.3f}<br>y %{y:.3f}<br>${escapeHover(t("loss"))} %{text}<extra></extra>`,
      showlegend: false,
    };
    this.base.surface = [surface, ...this.markerTraces(true)];
    return this.base.surface;
  }

  /**
   * Highest z of the drawn mesh over (x, y): the larger of the two ways Plotly may cut the
   * grid cell into triangles (so above the facet it drew), or null off the mesh.
   */
  meshTop(x, y) {
    const { x: xs, y: ys, z } = this.mesh;
    const i = cell(xs, x);
    const j = cell(ys, y);
    if (i < 0 || j < 0) return null;
    const a = z[j][i];
    const b = z[j][i + 1];
    const c = z[j + 1][i];
    const d = z[j + 1][i + 1];
    if (a === null || b === null || c === null || d === null) return null;
    const u = (x - xs[i]) / (xs[i + 1] - xs[i]);
    const v = (y - ys[j]) / (ys[j + 1] - ys[j]);
    const main = u >= v ? a + u * (b - a) + v * (d - b) : a + v * (c - a) + u * (d - c);
    const cross = u + v <= 1 ? a + u * (b - a) + v * (c - a) : d + (1 - u) * (c - d) + (1 - v) * (b - d);
    return Math.max(main, cross);
  }

  /** Known minima (global: star, local: circle) and saddles (cross), with hover text. */
  markerTraces(is3d) {
    const { surface } = this;
    // Rastrigin has hundreds: keep them quiet so the runs stay readable.
    const crowded = surface.minima.length + surface.saddles.length > 24;
    const groups = [
      {
        kind: "global",
        name: t("global minimum"),
        points: surface.minima.filter((m) => m.kind === "global"),
        marker: { symbol: is3d ? "diamond" : "star", size: is3d ? 6 : 15, color: "#ffd43b" },
        line: 1.1,
      },
      {
        kind: "local",
        name: t("local minimum"),
        points: surface.minima.filter((m) => m.kind !== "global"),
        marker: { symbol: "circle", size: is3d ? 3 : crowded ? 5 : 8, color: "#ffffff" },
        line: crowded ? 0.8 : 1.3,
      },
      {
        kind: "saddle",
        name: t("saddle"),
        points: surface.saddles,
        marker: { symbol: is3d ? "square" : "x-thin", size: is3d ? 3 : crowded ? 5 : 9, color: is3d ? "#ffffff" : INK },
        line: crowded ? 1.1 : 2,
      },
    ];
    return groups.map(({ kind, name, points, marker, line }) => ({
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name,
      legendgroup: name,
      x: points.map((p) => p.x),
      y: points.map((p) => p.y),
      ...(is3d ? { z: this.zPath(points.map((p) => p.loss), 0.6, points.map((p) => p.x), points.map((p) => p.y)) } : {}),
      text: points.map((p) => `${escapeHover(name)}<br>(${fmt(p.x)}, ${fmt(p.y)})<br>${lossText(p.loss)}`),
      hovertemplate: "%{text}<extra></extra>",
      opacity: crowded && kind !== "global" ? 0.6 : 1,
      marker: { ...marker, line: { color: INK, width: is3d ? 1 : line } },
      showlegend: points.length > 0,
    }));
  }

  /**
   * z for points in the 3D view: the colour transform of their loss, or the drawn mesh over
   * them where it is higher (its flat facets cut the chord of a curved valley: a path at its
   * true loss would run under them), lifted a little more.
   */
  zPath(losses, extra = 1, xs = null, ys = null) {
    const lift = LIFT * extra;
    return Array.from(losses, (v, k) => {
      const level = this.scale.t(v);
      if (level === null) return null;
      const top = xs && this.mesh ? this.meshTop(xs[k], ys[k]) : null;
      return (top === null ? level : Math.max(level, top)) + lift;
    });
  }

  /**
   * A run's whole path: the trace tests compare with the frames (`meta.runId`). A preview
   * (a swept path standing in while a slider moves) is dashed and says so in `meta.preview`.
   */
  pathTrace(run, is3d, faint) {
    const c = run.columns;
    const preview = run.preview;
    const markers = run.steps <= MARKER_STEPS && !is3d && !faint && !preview;
    const dash = preview ? "dash" : run.status === "error" ? "dot" : "solid";
    const width = is3d ? (faint ? 3 : 6) : faint ? 1.4 : run.selected ? 2.6 : 1.9;
    // A trace the fast path drew holds other arrays in `data` than Plotly computed: new
    // arrays make Plotly.react recompute it.
    const fresh = this.touched.has(run.id);
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: markers ? "lines+markers" : "lines",
      name: escapeHover(run.label),
      legendgroup: run.id,
      // The selected path is drawn last (on top); the legend keeps the runs' order.
      legendrank: run.index,
      visible: run.hidden ? "legendonly" : true,
      meta: traceMeta(run),
      x: fresh ? Array.from(c.x) : c.x,
      y: fresh ? Array.from(c.y) : c.y,
      ...(is3d ? { z: this.zPath(c.loss, 1, c.x, c.y) } : {}),
      line: { color: faint ? withAlpha(run.color, 0.38) : run.color, width, dash },
      marker: { color: run.color, size: 4.5, line: { color: "#ffffff", width: 0.8 } },
      hovertemplate: `${escapeHover(run.label)}${c.tx ? `<br>${escapeHover(t("evaluation point x"))}` : ""}<br>${HOVER_STEP}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`,
      showlegend: true,
    };
  }

  /**
   * Schedule-Free runs: the path is the evaluation point x (what optimizer.eval() puts in the
   * parameters); beside it, thin and dotted in the run's colour, the training point y where
   * each gradient is taken (`train_point`). One trace per such run shown; the selected run's
   * names it in the legend.
   */
  trainTraces(runs, is3d) {
    return drawOrder(shown(runs).filter((run) => run.columns.tx && !run.preview)).map((run) => {
      const c = run.columns;
      return {
        type: is3d ? "scatter3d" : "scatter",
        mode: "lines",
        // Two short lines: the legend beside the plot has about 95 px for text.
        name: t("training point y<br>(gradient here)"),
        legendgroup: `train:${run.id}`,
        legendrank: 100,
        showlegend: run.selected,
        x: c.tx,
        y: c.ty,
        ...(is3d ? { z: this.zPath(c.tloss, 1, c.tx, c.ty) } : {}),
        line: { color: run.color, width: is3d ? 3 : 1.3, dash: "dot" },
        meta: { role: "train-path", of: run.id, label: TRAIN_LABEL },
        hovertemplate: `${escapeHover(run.label)}<br>${escapeHover(TRAIN_LABEL)}<br>${HOVER_STEP}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`,
      };
    });
  }

  /**
   * The legend's entry for the ascent arrow (drawn on the overlay, which has no legend): a
   * trace with no points, while the selected run is sharpness-aware.
   */
  ascentKey(runs) {
    const run = runs.find((r) => r.selected && !r.hidden && r.columns.ascent && !r.preview);
    if (!run) return [];
    return [
      {
        type: "scatter",
        mode: "lines",
        // The legend beside the plot has about 95 px for text: the strip's tooltip and the
        // trace's meta carry the whole label.
        name: t("ascent point<br>(SAM)"),
        legendrank: 101,
        meta: { role: "ascent-key", label: ASCENT_LABEL },
        x: [null],
        y: [null],
        line: { color: ASCENT_COLOR, width: 2.2, dash: "dash" },
        hoverinfo: "skip",
        showlegend: true,
      },
    ];
  }

  /** The training point y of each shown Schedule-Free run at its playhead (a diamond). */
  trainHeadTrace(vm, is3d) {
    const runs = shown(vm.runs).filter((run) => run.columns.tx && !run.preview);
    const at = (run) => Math.min(run.head, run.columns.tx.length - 1);
    const x = runs.map((run) => run.columns.tx[at(run)]);
    const y = runs.map((run) => run.columns.ty[at(run)]);
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name: "train-heads",
      meta: { role: "train-heads", label: TRAIN_LABEL, of: runs.map((run) => run.id) },
      x,
      y,
      ...(is3d ? { z: this.zPath(runs.map((run) => run.columns.tloss[at(run)]), 2, x, y) } : {}),
      marker: {
        symbol: "diamond",
        color: "#ffffff",
        size: is3d ? 5 : 10,
        line: { color: runs.map((run) => run.color), width: 2.2 },
      },
      hoverinfo: "skip",
      showlegend: false,
    };
  }

  /**
   * Sharpness-aware runs (SAM and its kin): from the selected run's point at the playhead to
   * the ascent point w + ε(w) where the step leaving it took its second gradient, dashed, in
   * its own colour, at true length (ε is the perturbation itself, not a scaled vector).
   */
  ascentTrace(vm, is3d) {
    const a = vm.ascent;
    return this.arrowTrace(is3d, {
      name: "ascent",
      meta: { role: "arrow-ascent", label: ASCENT_LABEL },
      ends: a ? [a.from, a.to] : null,
      loss: a ? a.loss : null,
      color: ASCENT_COLOR,
      width: is3d ? 5 : 2.2,
      dash: "dash",
      head: 11,
    });
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
      name: escapeHover(run.label),
      meta: { of: run.id, role: "progress" },
      x: trail.x,
      y: trail.y,
      ...(is3d ? { z: this.zPath(c.loss.slice(0, n), 1, trail.x, trail.y) } : {}),
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
    const runs = shown(vm.runs);
    const at = (run) => Math.min(run.head, run.columns.x.length - 1);
    const pick = (run, column) => (run.columns.x.length ? run.columns[column][at(run)] : null);
    return {
      type: is3d ? "scatter3d" : "scatter",
      mode: "markers",
      name: "playhead",
      meta: { role: "playheads" },
      x: runs.map((run) => pick(run, "x")),
      y: runs.map((run) => pick(run, "y")),
      ...(is3d ? { z: this.zPath(runs.map((run) => pick(run, "loss")), 2, runs.map((run) => pick(run, "x")), runs.map((run) => pick(run, "y"))) } : {}),
      text: runs.map((run) =>
        run.columns.x.length
          ? `${escapeHover(run.label)} · ${t("step {step}", { step: at(run) })}<br>${lossText(pick(run, "loss"))}`
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
      ...(is3d ? { z: this.zPath([vm.startLoss], 1, [x], [y]) } : {}),
      text: [
        escapeHover(t("start ({x}, {y})", { x: fmt(x), y: fmt(y) })) +
          (is3d ? "" : `<br>${escapeHover(t("click or drag the map to move it"))}`),
      ],
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
      return this.arrowTrace(is3d, {
        name: kind,
        meta: { role: `arrow-${kind}` },
        ends: arrow ? [at, [at[0] + arrow.shown[0], at[1] + arrow.shown[1]]] : null,
        loss: vm.arrowLoss,
        color: kind === "grad" ? INK : vm.arrowColor || INK,
        width: is3d ? 6 : kind === "grad" ? 2 : 3.2,
        head: kind === "grad" ? 10 : 12,
      });
    });
  }

  /**
   * One arrow from `ends[0]` to `ends[1]`, or none (`ends` null: two gaps). One name and two
   * points whatever the arrow, so the overlay animates it from one frame to the next (an
   * arrow leaving must be drawn as gone). In 3D both ends sit at `loss`, or over the mesh
   * where a wall rises higher; in the contour an arrowhead of size `head` marks the tip.
   */
  arrowTrace(is3d, { name, meta, ends, loss, color, width, dash, head }) {
    const trace = {
      type: is3d ? "scatter3d" : "scatter",
      mode: is3d ? "lines" : "lines+markers",
      name,
      meta,
      x: ends ? [ends[0][0], ends[1][0]] : [null, null],
      y: ends ? [ends[0][1], ends[1][1]] : [null, null],
      line: dash ? { color, width, dash } : { color, width },
      hoverinfo: "skip",
      showlegend: false,
    };
    if (is3d) {
      trace.z = ends ? this.zPath([loss, loss], 2, trace.x, trace.y) : [null, null];
    } else {
      trace.marker = {
        symbol: ["circle", "arrow"],
        size: [0, head],
        angleref: "previous",
        color,
        line: { width: 0 },
      };
    }
    return trace;
  }

  layout(vm) {
    const { surface } = this;
    const [x0, x1] = surface.domain.x;
    const [y0, y1] = surface.domain.y;
    // vm.axes: the parameters' names where they are not x and y (a model's w and b).
    const names = vm.axes || ["x", "y"];
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
        // A click hides or shows the run everywhere (main.js toggleHidden), not just its path
        // (the plotly_legendclick handler answers false, so Plotly itself toggles nothing).
        itemclick: "toggle",
        itemdoubleclick: false,
        tracegroupgap: 2,
      },
      hovermode: "closest",
      // Phone widths: the camera button shows always (a touch screen has no hover), styled as
      // the card's other tools (app.css).
      ...(this.narrow ? { modebar: { bgcolor: "rgba(255,255,255,0.94)", color: "#4c5fd5", activecolor: "#3b4cc0" } } : {}),
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
        // The top band (as in the contour view) holds the map buttons and the modebar: the
        // legend starts under it.
        margin: { l: 0, r: 0, t: this.margin().t, b: 0 },
        // Over the scene's empty top right corner: the surface gets the card's whole width.
        legend: { ...common.legend, x: 1, xanchor: "right", bgcolor: "rgba(255,255,255,0.7)" },
        scene: {
          xaxis: { ...axis, title: { text: names[0] }, range: [x0, x1], autorange: false },
          yaxis: { ...axis, title: { text: names[1] }, range: [y0, y1], autorange: false },
          zaxis: {
            ...axis,
            title: { text: t("loss") },
            range: [0, zTop * 1.06],
            autorange: false,
            tickvals: ticks.vals,
            ticktext: ticks.text,
          },
          aspectmode: "manual",
          aspectratio: { x: 1, y: Math.min(1.4, (y1 - y0) / (x1 - x0)), z: 0.55 },
          camera: {
            // High enough to see into a valley over its near wall (Rosenbrock's path from
            // end to end), low enough that the relief reads.
            // A phone's narrow scene is seen from further away: the loss axis's ticks and
            // title stay inside the card.
            eye: this.narrow ? { x: -1.0, y: -1.35, z: 2.25 } : { x: -0.8, y: -1.08, z: 1.8 },
            center: { x: 0.04, y: 0, z: -0.12 },
            up: { x: 0, y: 0, z: 1 },
          },
          // Turntable keeps the loss axis upright; keepCamera() keeps the eye over the floor.
          dragmode: "turntable",
        },
      };
    }
    const axis = FRAMED_AXIS;
    const box = this.box();
    return {
      ...common,
      // Fixed margins and domains (no autoexpand) so the overlay's axes match the main plot's.
      margin: { ...this.margin(), autoexpand: false },
      dragmode: false,
      legend: box.narrow
        ? // In rows under the colour bar (it wraps to the width: fitLegend makes room).
          { ...common.legend, orientation: "h", x: box.x[0], y: box.legendY }
        : { ...common.legend, x: box.side, y: box.y[1] },
      xaxis: { ...axis, range: [x0, x1], autorange: false, domain: box.x },
      yaxis: { ...axis, range: [y0, y1], autorange: false, domain: box.y },
      annotations: [...(vm.axes ? axisNames(names, box) : []), ...(box.narrow ? [colorbarTitle(box)] : [])],
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
    if (this.curve) return this.renderCurve(vm);
    this.view = vm.view;
    if (vm.view === "3d") {
      this.clearTop();
      this.mainKey = "";
      this.structure = "";
      const data = [
        ...this.surfaceTraces(),
        ...drawOrder(vm.runs).map((run) => this.pathTrace(run, true, scrubbing)),
        ...this.trainTraces(vm.runs, true),
        ...(scrubbing ? shown(vm.runs).map((run) => this.progressTrace(run, true)) : []),
        this.headTrace(vm, true),
        this.startTrace(vm, true),
        ...this.arrowTraces(vm, true),
        this.ascentTrace(vm, true),
        this.trainHeadTrace(vm, true),
      ];
      return Plotly.react(this.el, data, this.layout(vm), CONFIG).then(() => {
        this.listenLegend();
        this.keepCamera();
      });
    }
    this.fitHeight();
    const calls = [];
    // vm.layers: extra traces under the paths (a basin map) and over them (run events).
    const layers = vm.layers || { key: "", below: [], above: [] };
    // A preview changes neither the key (its rows go by the fast path, preview()) nor a
    // status the plot shows ("running" looks like "converged"); leaving one redraws.
    const left = previewLeft(this.previews, vm.runs);
    const structure = JSON.stringify([
      this.box().key,
      scrubbing,
      vm.runs.map((r) => [r.id, r.color, r.label, r.selected, r.hidden, r.status === "error", r.steps]),
      layers.key,
      vm.runs.map((r) => Boolean(r.columns.ascent)),
    ]);
    const mainKey = JSON.stringify([structure, vm.start, vm.runs.map((r) => r.version)]);
    const changed = mainKey !== this.mainKey || left;
    // While the start is dragged (vm.live) every run restarts at each move and streams in:
    // the paths and the start go straight into the plot (a Plotly.react recomputes the
    // contour, 40 ms a message); Plotly draws it all again once the drag ends.
    if (changed && vm.live && !left && structure === this.structure && this.stream(vm)) {
      this.mainKey = mainKey;
    } else if (changed || (this.streamed && !vm.live)) {
      this.mainKey = mainKey;
      this.structure = structure;
      this.streamed = false;
      const [contour, ...marks] = this.placedContour(this.box());
      // The events of a run under preview belong to the path it replaced.
      const previewed = new Set(vm.runs.filter((r) => r.preview).map((r) => r.id));
      const data = [
        contour,
        ...layers.below,
        ...marks,
        ...drawOrder(vm.runs).map((run) => this.pathTrace(run, false, scrubbing)),
        ...this.trainTraces(vm.runs, false),
        ...this.ascentKey(vm.runs),
        ...layers.above.filter((t) => !(t.meta && previewed.has(t.meta.of))),
        this.startTrace(vm, false),
      ];
      unmarkTraces(this.el);
      this.touched.clear();
      this.previews.clear();
      this.drawn = new Map(vm.runs.map((run) => [run.id, run.columns]));
      for (const run of vm.runs) if (run.preview) this.previews.set(run.id, run.columns);
      calls.push(
        Plotly.react(this.el, data, this.layout(vm), CONFIG).then(() => {
          this.listenLegend();
          this.fitLegend();
        }),
      );
    } else if (!this.preview(vm)) {
      this.mainKey = "";
      return this.render(vm);
    }
    const marks = [
      ...this.arrowTraces(vm, false),
      this.ascentTrace(vm, false),
      this.trainHeadTrace(vm, false),
    ];
    const top = [
      ...(scrubbing ? shown(vm.runs).map((run) => this.progressTrace(run, false)) : []),
      this.headTrace(vm, false),
      ...marks,
    ];
    // Same traces as before (only their points moved): animate just those, no full redraw.
    const topShape = JSON.stringify([
      this.box().key,
      scrubbing,
      vm.runs.map((r) => [
        r.id,
        r.color,
        r.selected,
        r.hidden,
        r.status === "error",
        r.steps > MARKER_STEPS,
        Boolean(r.columns.tx),
      ]),
      marks.map((t) => [t.name, t.line ? t.line.color : "", String(t.marker && t.marker.color)]),
    ]);
    if (topShape !== this.topShape || !this.sent) {
      this.topShape = topShape;
      this.sent = top;
      this.top.hidden = false;
      const base = this.layout(vm);
      // The overlay draws marks only: the axes (ticks, labels, frame) are the main plot's.
      const bare = { showticklabels: false, ticks: "", showline: false, mirror: false };
      const layout = {
        ...base,
        xaxis: { ...base.xaxis, ...bare },
        yaxis: { ...base.yaxis, ...bare },
        showlegend: false,
        plot_bgcolor: "rgba(0,0,0,0)",
        annotations: [],
      };
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

  /** One parameter: the curve, in one plot (no overlay, no 3D: the view toggle is off). */
  renderCurve(vm) {
    const first = this.view !== "curve";
    this.view = "curve";
    this.clearTop();
    this.mainKey = "";
    this.structure = "";
    if (first) this.fitHeight();
    const drawn = this.curve.render(vm, { narrow: this.narrow, legend: this.legendHeight });
    return drawn.then(() => {
      this.listenLegend();
      this.fitLegend();
    });
  }

  /**
   * Draw the runs' previews that changed straight into the contour plot, now (no Plotly
   * call: this runs in the slider's input handler, and the path is on screen at the next
   * paint). Returns false when the plot must be redrawn instead (3D, or not drawn yet).
   */
  preview(vm) {
    for (const run of vm.runs) {
      if (!run.preview) continue;
      if (this.view !== "contour" || vm.view !== "contour" || !this.el._fullLayout) return false;
      const data = this.el.data || [];
      const index = data.findIndex((t) => t.meta && t.meta.runId === run.id);
      if (index < 0) return false;
      const c = run.columns;
      if (this.previews.get(run.id) === c) {
        // The same swept row: the path stays, the value it stands for moved.
        data[index].meta = traceMeta(run);
        continue;
      }
      if (!drawTraceLine(this.el, index, c.x, c.y, traceMeta(run))) return false;
      this.touched.add(run.id);
      this.previews.set(run.id, c);
      // The run's event markers belong to the path the preview replaced.
      hideEvents(this.el, run.id, "is-preview");
    }
    return true;
  }

  /**
   * Draw the runs whose frames changed, and the start, straight into the contour plot (as
   * preview() does, solid). False: the plot must be redrawn with Plotly instead.
   */
  stream(vm) {
    const data = this.el.data || [];
    if (this.view !== "contour" || !this.el._fullLayout) return false;
    for (const run of vm.runs) {
      if (run.preview) return false;
      const c = run.columns;
      if (this.drawn.get(run.id) === c) continue;
      const index = data.findIndex((t) => t.meta && t.meta.runId === run.id);
      if (index < 0 || !drawTraceLine(this.el, index, c.x, c.y, { runId: run.id }, "is-live")) {
        return false;
      }
      this.touched.add(run.id);
      this.drawn.set(run.id, c);
    }
    const index = data.findIndex((t) => t.meta && t.meta.role === "start");
    const group = index >= 0 ? traceGroup(this.el, index) : null;
    const point = group && group.querySelector(".points path");
    if (!point) return false;
    const [x, y] = vm.start;
    const layout = this.el._fullLayout;
    point.setAttribute("transform", `translate(${layout.xaxis.c2p(x)},${layout.yaxis.c2p(y)})`);
    Object.assign(data[index], { x: [x], y: [y] });
    this.streamed = true;
    return true;
  }

  /** A legend click hides or shows that run everywhere (the page's state decides). */
  listenLegend() {
    if (!this.el.on) return;
    if (this.el.removeAllListeners) this.el.removeAllListeners("plotly_legendclick");
    this.el.on("plotly_legendclick", (event) => {
      const trace = event.data && event.data[event.curveNumber];
      const id = trace && trace.meta && trace.meta.runId;
      if (id) this.onToggleRun(id);
      return false;
    });
  }

  /**
   * Once the 3D plot exists: a camera moved under the surface (a drag past the horizon, or a
   * relayout) is put back over it, as far away and in the same direction around.
   */
  keepCamera() {
    const el = this.el;
    if (this.cameraKept || !el.on) return;
    this.cameraKept = true;
    el.on("plotly_relayout", () => {
      const scene = this.view === "3d" && el._fullLayout && el._fullLayout.scene;
      const camera = scene && scene.camera;
      if (!camera || !camera.eye) return;
      const { x, y, z } = camera.eye;
      const up = camera.up || { x: 0, y: 0, z: 1 };
      const tilted = Math.abs(up.x) > 1e-6 || Math.abs(up.y) > 1e-6 || up.z <= 0;
      if (z >= EYE_Z_MIN && !tilted) return;
      const r = Math.hypot(x, y, z) || 1;
      const ez = Math.max(z, EYE_Z_MIN);
      const around = Math.hypot(x, y);
      const k = around > 1e-9 ? Math.sqrt(Math.max(r * r - ez * ez, 0.01)) / around : 0;
      const eye = around > 1e-9 ? { x: x * k, y: y * k, z: ez } : { x: -r * 0.7, y: -r * 0.7, z: ez };
      Plotly.relayout(el, { "scene.camera.eye": eye, "scene.camera.up": { x: 0, y: 0, z: 1 } });
    });
  }

  clearTop() {
    if (this.top.hidden) return;
    this.top.hidden = true;
    this.topShape = "";
    this.sent = null;
    Plotly.purge(this.top);
  }
}

/** The runs shown on the plots (not hidden from them). */
function shown(runs) {
  return runs.filter((run) => !run.hidden);
}

/** Paths in the order Plotly stacks them: the selected run's last, on top of the others. */
function drawOrder(runs) {
  return [...runs.filter((run) => !run.selected), ...runs.filter((run) => run.selected)];
}

/** "loss" past the right end of the narrow contour's flat colour bar. */
function colorbarTitle(box) {
  return {
    xref: "paper",
    yref: "paper",
    showarrow: false,
    text: t("loss"),
    font: { size: 11 },
    x: box.x[0] + (box.x[1] - box.x[0]) * NARROW_COLORBAR_LEN,
    y: box.colorbarY - NARROW_COLORBAR_THICKNESS / 2 / box.ah,
    xanchor: "left",
    yanchor: "middle",
    xshift: 6,
  };
}

/** Axis names at the ends of the contour's axes: the x name past its right end, y above. */
function axisNames(names, box) {
  const note = { xref: "paper", yref: "paper", showarrow: false, font: { size: 13, color: INK } };
  const [x0, x1] = box.x;
  const [y0, y1] = box.y;
  return [
    { ...note, text: names[0], x: x1, y: y0, xanchor: "left", yanchor: "top", xshift: 4 },
    { ...note, text: names[1], x: x0, y: y1, xanchor: "right", yanchor: "bottom", xshift: -6 },
  ];
}

/** Index of the cell of increasing `edges` holding `v` (the last cell holds its end), or -1. */
function cell(edges, v) {
  const n = edges.length;
  if (!(v >= edges[0] && v <= edges[n - 1]) || n < 2) return -1;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}

function sameData(a, b) {
  if (!a || a.x.length !== b.x.length) return false;
  if (a.x === b.x && a.y === b.y) return true;
  if (b.x.length > 32) return false;
  return JSON.stringify([a.x, a.y, a.text]) === JSON.stringify([b.x, b.y, b.text]);
}
