// Plotly plumbing shared by the landscape and the step charts: palette, config, layout
// defaults and the Drawer that keeps every plot at one Plotly call per animation frame.

/**
 * Plotly.js loads async (templates/index.html) so that the page builds itself while the
 * browser compiles it: resolves once `window.Plotly` exists. Whatever draws waits for it.
 * An async script delays the window's load event until it has run or failed, so Plotly
 * missing by then (even if it failed before this module ran) means it is not coming.
 */
export const plotlyReady = new Promise((resolve, reject) => {
  const settle = () => {
    if (window.Plotly) resolve(window.Plotly);
    else reject(new Error("Plotly.js could not be loaded"));
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
};

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
