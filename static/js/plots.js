// Plotly plumbing shared by the landscape and the step charts: palette, config, layout
// defaults and the Drawer that keeps every plot at one Plotly call per animation frame.

import { lang, t } from "./i18n.js";

/**
 * Plotly.js loads async (templates/index.html) so that the page builds itself while the
 * browser compiles it: resolves once `window.Plotly` exists. Whatever draws waits for it.
 * An async script delays the window's load event until it has run or failed, so Plotly
 * missing by then (even if it failed before this module ran) means it is not coming.
 */
export const plotlyReady = new Promise((resolve, reject) => {
  const settle = () => {
    if (window.Plotly) resolve(window.Plotly);
    else reject(new Error(t("Plotly.js could not be loaded")));
  };
  if (window.Plotly || document.readyState === "complete") {
    settle();
    return;
  }
  const script = document.querySelector("script[data-plotly]");
  if (script) script.addEventListener("load", settle);
  window.addEventListener("load", settle, { once: true });
});

/** One colour per run slot: saturated, distinct, readable on the pale-to-slate map. */
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

export const INK = "#1b2230";
export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Keep the modebar for its PNG button only. */
export const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtons: [["toImage"]],
  toImageButtonOptions: { format: "png", filename: "losslab", scale: 2 },
  ...(lang === "zh" ? { locale: "zh-CN" } : {}),
};

// Plotly's own words on the page (the modebar's one button), in the page's language.
plotlyReady.then(
  (Plotly) => {
    if (lang !== "zh") return;
    const dictionary = { "Download plot as a PNG": t("Download plot as a PNG") };
    Plotly.register({ moduleType: "locale", name: "zh-CN", dictionary });
  },
  () => {},
);

/** Plotly.animate options that move scatter points without a full redraw. */
export const NO_REDRAW = {
  transition: { duration: 0 },
  frame: { duration: 0, redraw: false },
  mode: "immediate",
};

/** Axes of a framed 2D map (landscape, network plane, hyperparameter map): ticks, no grid. */
export const FRAMED_AXIS = {
  showgrid: false,
  zeroline: false,
  ticks: "outside",
  ticklen: 4,
  tickcolor: "#c3c9d3",
  linecolor: "#c3c9d3",
  showline: true,
  mirror: true,
  fixedrange: true,
  tickfont: { size: 10 },
};

/** The step axis of the charts beside the landscape. */
export const STEP_AXIS = {
  zeroline: false,
  gridcolor: "#eef0f4",
  linecolor: "#d5dae2",
  tickfont: { size: 10 },
  rangemode: "tozero",
  hoverformat: "d",
};

export function baseLayout() {
  return {
    font: { family: FONT, size: 11, color: "#4a5466" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    hoverlabel: { font: { family: FONT, size: 12 }, bordercolor: "#d0d5dd" },
    // The PNG button: on white, so it reads over a plot (a touch screen shows it always).
    modebar: { bgcolor: "rgba(255,255,255,0.94)", color: "#8a93a3", activecolor: "#4c5fd5" },
  };
}

/**
 * Runs one Plotly call at a time. A draw asked for while one is in flight is remembered
 * (only the newest) and made when it lands, so a burst of updates costs one call per frame.
 */
export class Drawer {
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

export function withAlpha(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function escapeHover(text) {
  return String(text).replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c]);
}

// ---- the fast path ----------------------------------------------------------------------
// A slider's preview (live.js) moves one line up to once per input event, and a dragged
// start restarts every run at each pointer move. Plotly redraws a changed trace only through
// a full recalculation of the plot (50 ms with the landscape's contour), so these write the
// line's SVG path themselves, into the group Plotly drew the trace in, and the trace's `x`,
// `y` and `meta` into `gd.data` (what the page shows, for tests). The next Plotly.react of
// the plot draws everything from the data again; the owner must then hand it new arrays for
// the trace (copies) so Plotly sees the change.

/** A run's path or line `meta`: its run, and for a preview what the preview stands for. */
export function traceMeta(run) {
  const p = run.preview;
  if (!p) return { runId: run.id };
  const preview = { name: p.name, value: p.value, target: p.target, status: p.status };
  return { runId: run.id, preview };
}

/** Whether a run drawn as a preview (a key of `shown`) has none any more: redraw then. */
export function previewLeft(shown, runs) {
  return [...shown.keys()].some((id) => !runs.some((r) => r.id === id && r.preview));
}

/** Hide the event markers of run `id` (or of every run) in `gd`: they are of an older path. */
export function hideEvents(gd, id, mark) {
  for (const [i, trace] of (gd.data || []).entries()) {
    const meta = trace.meta;
    if (!meta || meta.role !== "events" || (id && meta.of !== id)) continue;
    const group = traceGroup(gd, i);
    if (group) group.classList.add(mark);
  }
}

/** Take back what the fast path drew into `gd`: Plotly is about to draw it all again. */
export function unmarkTraces(gd) {
  for (const node of gd.querySelectorAll(".is-preview, .is-live")) {
    node.classList.remove("is-preview", "is-live");
  }
}

/** The SVG group of trace `index` of plot `gd` (Plotly's datum for it names the trace). */
export function traceGroup(gd, index) {
  for (const node of gd.querySelectorAll(".scatterlayer > .trace")) {
    const cd = node.__data__;
    if (cd && cd[0] && cd[0].trace && cd[0].trace.index === index) return node;
  }
  return null;
}

/** Pixels beyond which a line is cut (a diverging path leaves for 1e30). */
const FAR = 4000;

/**
 * The SVG path `d` through (xs[i], ys[i]) on axes `xa`, `ya` (Plotly's full axes, whose
 * c2p maps a value to pixels, log axes included). Segments are cut at FAR pixels outside
 * the plot; non-finite points (a log axis at 0) break the line.
 */
export function linePath(xa, ya, xs, ys) {
  const lo = -FAR;
  const hiX = xa._length + FAR;
  const hiY = ya._length + FAR;
  const parts = [];
  let px = NaN;
  let py = NaN;
  let open = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xa.c2p(xs[i]);
    const y = ya.c2p(ys[i]);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      open = false;
      px = NaN;
      continue;
    }
    const inside = x >= lo && x <= hiX && y >= lo && y <= hiY;
    if (Number.isFinite(px)) {
      const seg = clipSegment(px, py, x, y, lo, hiX, hiY);
      if (seg) {
        if (!open || seg[4]) parts.push(`M${round(seg[0])},${round(seg[1])}`);
        parts.push(`L${round(seg[2])},${round(seg[3])}`);
        open = inside;
      } else open = false;
    } else if (inside) {
      parts.push(`M${round(x)},${round(y)}`);
      open = true;
    }
    px = x;
    py = y;
  }
  return parts.join("") || "M0,0";
}

const round = (v) => Math.round(v * 100) / 100;

/**
 * Liang–Barsky: the part of segment (x0, y0)–(x1, y1) inside [lo, hiX] × [lo, hiY], as
 * [x0, y0, x1, y1, starts-inside-cut], or null when none of it is.
 */
function clipSegment(x0, y0, x1, y1, lo, hiX, hiY) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const sides = [
    [-dx, x0 - lo],
    [dx, hiX - x0],
    [-dy, y0 - lo],
    [dy, hiY - y0],
  ];
  for (const [p, q] of sides) {
    if (p === 0) {
      if (q < 0) return null;
    } else {
      const t = q / p;
      if (p < 0) {
        if (t > t1) return null;
        if (t > t0) t0 = t;
      } else {
        if (t < t0) return null;
        if (t < t1) t1 = t;
      }
    }
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy, t0 > 0];
}

/**
 * Draw new points into the line of trace `index` of `gd`, its markers hidden: a preview,
 * dashed (`mark` "is-preview", app.css), or a run streaming in while the start is dragged
 * (`mark` "is-live", solid). `data` holds the new x, y and meta. Returns the trace's group,
 * or null when it has no line drawn yet (the caller then redraws with Plotly).
 */
export function drawTraceLine(gd, index, xs, ys, meta, mark = "is-preview") {
  const layout = gd._fullLayout;
  const trace = gd.data && gd.data[index];
  const group = layout && trace ? traceGroup(gd, index) : null;
  const line = group && group.querySelector(".js-line");
  if (!line) return null;
  const full = gd._fullData[index];
  const xa = layout[full.xaxis === "x" ? "xaxis" : `xaxis${full.xaxis.slice(1)}`];
  const ya = layout[full.yaxis === "y" ? "yaxis" : `yaxis${full.yaxis.slice(1)}`];
  line.setAttribute("d", linePath(xa, ya, xs, ys));
  group.classList.add(mark);
  trace.x = Array.from(xs);
  trace.y = Array.from(ys);
  trace.meta = meta;
  return group;
}
