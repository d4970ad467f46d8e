// The hyperparameter map (POST /api/maps/hyperparameters/stream): one run per pair of values
// of two numeric hyperparameters of the selected run, from its start, drawn in a panel over
// the landscape and coloured by final loss, steps to converge or outcome. A click on a cell
// puts that pair of values on the selected run.
//
// Hooks: [data-testid="hparam-map-open"] opens the panel, [data-testid="hparam-map-close"]
// closes it, [data-testid="hparam-map-button"] computes into [data-testid="hparam-map"]
// (traces: meta.role "hparam-cells", "diverged", "stability-boundary", "current");
// [data-testid="hparam-metric"] picks the colour.

/* global Plotly */

import { fmt } from "./format.js";
import {
  BASIN_COLORS,
  HOVER,
  UNDECIDED_COLOR,
  categorical,
  cells,
  chip,
  leftOut,
  numberText,
  outcomeCodes,
  outcomeText,
  percent,
  shares,
} from "./maps.js";
import { CONFIG, FRAMED_AXIS, INK, baseLayout } from "./plots.js";
import { runRequest } from "./state.js";
import { limits } from "./limits.js";
import { el } from "./dom.js";
import { t, ts } from "./i18n.js";

const AXIS_CELLS = [16, 24, 32, 48, 64, 96, 128];
const METRICS = {
  final_loss: t("final loss"),
  steps_to_converge: t("steps to converge"),
  outcome: t("outcome"),
};
const NOT_CONVERGED = "#dde1e7";
const DIVERGED = "#b42318";
/** Low loss deep, high loss pale; few steps deep, many pale. */
const LOSS_SCALE = [
  [0, "#0b3c5d"],
  [0.25, "#1d6a8a"],
  [0.5, "#3f9ea1"],
  [0.75, "#9fd0a3"],
  [1, "#f5f1c0"],
];
const STEPS_SCALE = [
  [0, "#123f6b"],
  [0.35, "#3b77b3"],
  [0.7, "#93bde0"],
  [1, "#eef4fa"],
];

function colorbar(title) {
  return {
    title: { text: title, side: "right", font: { size: 11 } },
    thickness: 10,
    outlinewidth: 0,
    tickfont: { size: 10 },
    xpad: 6,
  };
}

function sameSurface(a, b) {
  return JSON.stringify(a.surface) === JSON.stringify(b.surface);
}

function surfaceTitle(surface) {
  return (surface && (ts(surface.title) || surface.name)) || t("this surface");
}

const axesCache = new WeakMap();

/** The numeric settings of `spec` an axis can sweep: floats, ints and pair elements. */
function axesOf(spec) {
  if (!spec) return [];
  if (axesCache.has(spec)) return axesCache.get(spec);
  const axes = [];
  for (const hp of spec.hyperparameters) {
    const lo = hp.slider_min ?? hp.min;
    const hi = hp.slider_max ?? hp.max;
    const common = { hp, lo, hi, log: hp.log };
    if (hp.type === "float" || hp.type === "int") {
      axes.push({ ...common, name: hp.name, label: hp.name });
    } else if (hp.type === "pair") {
      // Every element: a pair's two, a triple's three (Adan's betas).
      const size = Array.isArray(hp.default) && hp.default.length ? hp.default.length : 2;
      for (let index = 0; index < size; index += 1) {
        axes.push({ ...common, name: `${hp.name}.${index}`, index, label: `${hp.name}[${index}]` });
      }
    }
  }
  const usable = axes.filter((axis) => axis.lo !== null && axis.hi !== null && axis.hi > axis.lo);
  axesCache.set(spec, usable);
  return usable;
}

function axisValue(run, axis) {
  const value = run.hyperparameters[axis.hp.name];
  return axis.index === undefined ? value : Array.isArray(value) ? value[axis.index] : null;
}

export class HyperparameterMaps {
  /** `host`: {state, specs, colors, surface(), redraw()}; `job`: the shared MapJob. */
  constructor({ open, panel, host, job }) {
    this.openButton = open;
    this.panel = panel;
    this.host = host;
    this.job = job;
    this.map = null;
    this.specName = "";
    this.plotKey = "";
    this.bound = false;
    this.q = (selector) => panel.querySelector(selector);
    this.plot = this.q('[data-testid="hparam-map"]');
    this.subtitle = this.q("[data-hmap-subtitle]");
    this.empty = this.q("[data-hmap-empty]");
    this.stale = this.q("[data-hmap-stale]");
    this.legend = this.q("[data-hmap-legend]");
    this.fields = {
      x: this.axisFields("x"),
      y: this.axisFields("y"),
    };
    this.cells = this.q("[data-hmap-cells]");
    for (const n of AXIS_CELLS.filter((cells) => cells <= limits.max_map_axis)) {
      const option = el("option", "", `${n} × ${n}`);
      option.value = String(n);
      this.cells.append(option);
    }
    this.cells.value = "32";
    this.steps = this.q("[data-hmap-steps]");
    this.metric = this.q('[data-testid="hparam-metric"]');
    for (const [value, text] of Object.entries(METRICS)) {
      const option = el("option", "", text);
      option.value = value;
      this.metric.append(option);
    }
    new ResizeObserver(() => this.host.redraw()).observe(this.plot);
    this.metric.addEventListener("change", () => {
      this.plotKey = "";
      this.host.redraw();
    });
    open.addEventListener("click", () => this.setOpen(this.panel.hidden));
    this.q('[data-testid="hparam-map-close"]').addEventListener("click", () => this.setOpen(false));
    this.q('[data-testid="hparam-map-button"]').addEventListener("click", () => this.compute());
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false);
    });
  }

  axisFields(key) {
    const fields = {
      name: this.q(`[data-hmap-axis="${key}"]`),
      min: this.q(`[data-hmap-min="${key}"]`),
      max: this.q(`[data-hmap-max="${key}"]`),
      log: this.q(`[data-hmap-log="${key}"]`),
    };
    fields.name.addEventListener("change", () => this.axisDefaults(key, fields.name.value));
    return fields;
  }

  setOpen(open) {
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.hidden = !open;
    this.openButton.setAttribute("aria-expanded", String(open));
    this.openButton.classList.toggle("active", open);
    if (open) {
      this.syncAxes(true);
      this.plotKey = "";
      this.q('[data-testid="hparam-map-button"]').focus();
    } else if (hadFocus) this.openButton.focus();
    this.host.redraw();
  }

  get spec() {
    const run = this.host.state.selectedRun;
    return run ? this.host.specs.get(run.optimizer) : null;
  }

  /** Axis choices for the selected run's optimizer; defaults lr (log) × momentum, or the next. */
  syncAxes(resetSteps) {
    const spec = this.spec;
    if (!spec) return;
    if (resetSteps || !this.steps.value) {
      this.steps.value = String(Math.min(this.host.state.steps, 1000));
    }
    if (spec.name === this.specName) return;
    this.specName = spec.name;
    this.axes = axesOf(spec);
    for (const key of ["x", "y"]) {
      const select = this.fields[key].name;
      select.replaceChildren(
        ...this.axes.map((axis) => {
          const option = el("option", "", axis.label);
          option.value = axis.name;
          return option;
        }),
      );
    }
    const names = this.axes.map((axis) => axis.name);
    const x = names.includes("lr") ? "lr" : names[0];
    const others = names.filter((name) => name !== x);
    const y = others.includes("momentum") ? "momentum" : others[0];
    this.axisDefaults("x", x);
    if (y) this.axisDefaults("y", y);
  }

  axisDefaults(key, name) {
    const axis = this.axes.find((a) => a.name === name);
    const fields = this.fields[key];
    if (!axis) return;
    fields.name.value = name;
    fields.min.value = numberText(axis.lo);
    fields.max.value = numberText(axis.hi);
    fields.log.checked = Boolean(axis.log);
    const other = this.fields[key === "x" ? "y" : "x"];
    if (other.name.value === name) {
      const next = this.axes.find((a) => a.name !== name);
      if (next) this.axisDefaults(key === "x" ? "y" : "x", next.name);
    }
  }

  readAxis(key, n) {
    const f = this.fields[key];
    return {
      name: f.name.value,
      min: Number(f.min.value),
      max: Number(f.max.value),
      n,
      log: f.log.checked,
    };
  }

  async compute() {
    const state = this.host.state;
    const run = state.selectedRun;
    if (!run) return;
    this.syncAxes(false);
    const request = runRequest(state, run);
    const n = Number(this.cells.value) || 32;
    const asked = Math.round(Number(this.steps.value)) || Math.min(state.steps, 1000);
    // More cells, fewer steps each: the server takes cells × steps up to its limit.
    const steps = Math.max(1, Math.min(asked, Math.floor(limits.max_map_cell_steps / n ** 2)));
    this.steps.value = String(steps);
    const body = {
      surface: request.surface,
      optimizer: request.optimizer,
      hyperparameters: request.hyperparameters,
      start: request.start,
      steps,
      axes: { x: this.readAxis("x", n), y: this.readAxis("y", n) },
      dtype: request.dtype,
    };
    this.computing = true;
    this.plotKey = "";
    this.host.redraw();
    const map = await this.job.run(
      t("Hyperparameter map {n} × {n}", { n }),
      "/api/maps/hyperparameters/stream",
      body,
    );
    this.computing = false;
    if (map) {
      this.map = { ...map, request: body, runId: run.id, leftOut: leftOut(request) };
    }
    this.plotKey = "";
    this.host.redraw();
  }

  /** The run a map was computed for still matches it, apart from the two axes. */
  isStale(run) {
    const map = this.map;
    if (!run || run.optimizer !== map.request.optimizer) return true;
    const state = this.host.state;
    const request = runRequest(state, run);
    const strip = (hp) => {
      const copy = structuredClone(hp);
      for (const axis of [map.request.axes.x, map.request.axes.y]) {
        const [name, index] = axis.name.split(".");
        if (index === undefined) delete copy[name];
        else if (Array.isArray(copy[name])) copy[name][Number(index)] = null;
      }
      return JSON.stringify(copy);
    };
    return (
      JSON.stringify([request.surface, request.start, request.dtype]) !==
        JSON.stringify([map.request.surface, map.request.start, map.request.dtype]) ||
      strip(request.hyperparameters) !== strip(map.request.hyperparameters)
    );
  }

  render() {
    if (this.panel.hidden) return;
    const state = this.host.state;
    const run = state.selectedRun;
    this.syncAxes(false);
    // A map of another surface says nothing about this one.
    if (this.map && run && !sameSurface(runRequest(state, run), this.map.request)) this.map = null;
    const map = this.map;
    const index = run ? state.runs.indexOf(run) + 1 : 0;
    const current = map && run ? this.currentPoint(run) : null;
    const stale = map ? this.isStale(run) : false;
    const key = JSON.stringify([
      Boolean(map),
      map && map.x.length,
      map && map.request,
      this.metric.value,
      current,
      run && run.id,
      run && this.host.colors.get(run.id),
      stale,
      this.computing,
      this.plot.clientWidth,
      this.plot.clientHeight,
    ]);
    if (key === this.plotKey) return;
    this.plotKey = key;
    const start = state.start.map((v) => fmt(v, 3)).join(", ");
    this.subtitle.textContent = run
      ? t("run {index} ({optimizer}) on {surface} from ({start}): every cell is a full run", {
          index,
          optimizer: run.optimizer,
          surface: surfaceTitle(this.host.surface()),
          start,
        })
      : "";
    this.stale.hidden = !stale;
    this.empty.hidden = Boolean(map);
    this.empty.textContent = this.computing
      ? t("Computing…")
      : t(
          "Pick two settings and press Compute: each cell runs the selected run's optimizer with that pair of values.",
        );
    this.legend.hidden = !map;
    if (!map) {
      Plotly.purge(this.plot);
      this.bound = false;
      return;
    }
    this.drawLegend(map, run, index);
    // Sized explicitly: the panel opens without a window resize.
    const size = { width: this.plot.clientWidth, height: this.plot.clientHeight };
    Plotly.react(
      this.plot,
      this.traces(map, run, current, index),
      { ...this.layout(map), ...size },
      CONFIG,
    );
    if (!this.bound) {
      this.bound = true;
      this.plot.on("plotly_click", (event) => this.clicked(event));
    }
  }

  currentPoint(run) {
    const map = this.map;
    const known = axesOf(this.host.specs.get(run.optimizer));
    const axes = [map.request.axes.x, map.request.axes.y].map((a) =>
      known.find((b) => b.name === a.name),
    );
    if (axes.some((a) => !a)) return null;
    const [x, y] = axes.map((axis) => axisValue(run, axis));
    return typeof x === "number" && typeof y === "number" ? [x, y] : null;
  }

  /** z for the chosen metric, with a colour bar labelled in true values. */
  metricGrid(map) {
    const metric = this.metric.value;
    if (metric === "outcome") {
      const { z, colors } = outcomeCodes(map);
      return {
        z,
        zmin: -0.5,
        zmax: colors.length - 0.5,
        colorscale: categorical(colors),
        showscale: false,
      };
    }
    const diverged = (i, j) => map.outcome[i][j] === -1;
    if (metric === "steps_to_converge") {
      const z = cells(map.steps_to_converge, (v, i, j) => (diverged(i, j) ? null : v));
      return {
        z,
        colorscale: STEPS_SCALE,
        showscale: true,
        colorbar: colorbar(t("steps to converge")),
      };
    }
    // Final loss on a log scale, measured from the lowest known or reached loss.
    let floor = Math.min(...map.minima.map((m) => m.loss));
    let top = -Infinity;
    for (const row of map.final_loss) {
      for (const v of row) {
        if (v === null) continue;
        if (v < floor) floor = v;
        if (v > top) top = v;
      }
    }
    if (!Number.isFinite(floor)) floor = 0;
    const span = Math.max(top - floor, 1e-12);
    const eps = span * 1e-9;
    const logOf = (v) => Math.log10(v - floor + eps);
    const z = cells(map.final_loss, (v, i, j) => (v === null || diverged(i, j) ? null : logOf(v)));
    const lo = Math.max(logOf(floor), logOf(top) - 10);
    const hi = logOf(top);
    const ticks = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi); e += Math.max(1, Math.ceil((hi - lo) / 5)))
      ticks.push(e);
    return {
      z,
      zmin: lo,
      zmax: Math.max(hi, lo + 1e-6),
      colorscale: LOSS_SCALE,
      showscale: true,
      colorbar: {
        ...colorbar(floor === 0 ? t("final loss") : t("final loss − min")),
        tickvals: ticks,
        ticktext: ticks.map((e) => fmt(10 ** e, 2)),
      },
    };
  }

  traces(map, run, current, index) {
    const xa = map.request.axes.x;
    const ya = map.request.axes.y;
    const cell = this.metricGrid(map);
    const text = cells(map.outcome, (_, i, j) => outcomeText(map, i, j));
    const label = `${xa.name} %{x:.4g} · ${ya.name} %{y:.4g}<br>%{text}<extra></extra>`;
    const traces = [
      {
        type: "heatmap",
        meta: { role: "hparam-cells", metric: this.metric.value },
        x: map.x,
        y: map.y,
        text,
        zsmooth: false,
        hovertemplate: label,
        hoverlabel: HOVER,
        xgap: 0,
        ygap: 0,
        ...cell,
      },
      {
        type: "heatmap",
        meta: { role: "diverged" },
        x: map.x,
        y: map.y,
        z: cells(map.outcome, (o) => (o === -1 ? 1 : null)),
        text,
        zmin: 0,
        zmax: 1,
        colorscale: [
          [0, DIVERGED],
          [1, DIVERGED],
        ],
        showscale: false,
        zsmooth: false,
        hovertemplate: label,
        hoverlabel: HOVER,
      },
    ];
    if (map.stability_boundary && map.stability_boundary.length) {
      const bx = map.stability_boundary.map((p) => p[0]);
      const by = map.stability_boundary.map((p) => p[1]);
      traces.push(
        {
          type: "scatter",
          mode: "lines",
          meta: { role: "boundary-halo" },
          x: bx,
          y: by,
          line: { color: "rgba(255,255,255,0.9)", width: 5 },
          hoverinfo: "skip",
        },
        {
          type: "scatter",
          mode: "lines",
          name: t("stability bound"),
          meta: { role: "stability-boundary" },
          x: bx,
          y: by,
          line: { color: INK, width: 2, dash: "dash" },
          hovertemplate: `${t("stability bound (theory)")}<br>${xa.name} %{x:.4g} · ${ya.name} %{y:.4g}<extra></extra>`,
        },
      );
    }
    if (current && run) {
      const color = this.host.colors.get(run.id);
      traces.push({
        type: "scatter",
        mode: "markers",
        name: t("run {index}", { index }),
        meta: { role: "current", runId: run.id },
        x: [current[0]],
        y: [current[1]],
        marker: {
          symbol: "circle",
          size: 15,
          color: "rgba(255,255,255,0.35)",
          line: { color, width: 3 },
        },
        hovertemplate: `${t("run {index}'s settings", { index })}<br>${xa.name} %{x:.4g} · ${ya.name} %{y:.4g}<extra></extra>`,
      });
    }
    return traces;
  }

  layout(map) {
    const xa = map.request.axes.x;
    const ya = map.request.axes.y;
    const edges = (values, log) => {
      // The heatmap's outer cell edges, so the whole map shows edge to edge.
      const n = values.length;
      const f = log ? Math.log10 : (v) => v;
      const a = f(values[0]);
      const b = f(values[n - 1]);
      const half = (b - a) / (n - 1) / 2;
      return [a - half, b + half];
    };
    const axis = (a, values) => ({
      title: {
        text: a.log ? t("{name} (log)", { name: a.name }) : a.name,
        standoff: 6,
        font: { size: 12, color: INK },
      },
      type: a.log ? "log" : "linear",
      range: edges(values, a.log),
      autorange: false,
      ...FRAMED_AXIS,
      exponentformat: "power",
    });
    return {
      ...baseLayout(),
      margin: { l: 58, r: 12, t: 8, b: 44 },
      plot_bgcolor: NOT_CONVERGED,
      xaxis: axis(xa, map.x),
      yaxis: axis(ya, map.y),
      dragmode: false,
      hovermode: "closest",
      showlegend: false,
      uirevision: "hparam",
    };
  }

  drawLegend(map, run, index) {
    const items = [];
    const metric = this.metric.value;
    if (metric === "outcome") {
      const { counts, total } = shares(map);
      map.minima.forEach((minimum, k) => {
        const count = counts.get(k) || 0;
        if (count) {
          items.push(
            chip(
              BASIN_COLORS[k % BASIN_COLORS.length],
              `${ts(minimum.kind)} (${fmt(minimum.x, 3)}, ${fmt(minimum.y, 3)})`,
              percent(count, total),
            ),
          );
        }
      });
      items.push(chip(UNDECIDED_COLOR, t("undecided"), percent(counts.get(-2) || 0, total)));
    } else if (metric === "steps_to_converge") {
      items.push(chip(NOT_CONVERGED, t("did not converge"), ""));
    }
    const { counts, total } = shares(map);
    items.push(chip(DIVERGED, t("diverged"), percent(counts.get(-1) || 0, total)));
    if (map.stability_boundary && map.stability_boundary.length) {
      const line = el("span", "map-chip");
      line.append(
        el("span", "map-key map-key-line"),
        el("span", "map-chip-name", t("stability bound (theory)")),
      );
      items.push(line);
    }
    if (run) {
      const mark = el("span", "map-chip");
      const ring = el("span", "map-key map-key-ring");
      ring.style.setProperty("--key-color", this.host.colors.get(run.id));
      mark.append(ring, el("span", "map-chip-name", t("run {index}", { index })));
      items.push(mark);
    }
    if (map.leftOut)
      items.push(el("span", "map-chip map-note", t("without the run's {fields}", { fields: map.leftOut })));
    items.push(
      el(
        "span",
        "map-hint",
        this.covers()
          ? t("Click a cell: its settings run on the landscape (the map stays behind its button).")
          : t("Click a cell to run its settings on the landscape."),
      ),
    );
    this.legend.replaceChildren(...items);
  }

  /** A click on a cell sets that cell's two values on the selected run. */
  clicked(event) {
    const map = this.map;
    const point = event && event.points && event.points[0];
    const run = this.host.state.selectedRun;
    if (!map || !point || !run || run.optimizer !== map.request.optimizer) return;
    const xa = map.request.axes.x;
    const ya = map.request.axes.y;
    const nearest = (values, v, log) => {
      const f = log ? Math.log10 : (u) => u;
      let best = 0;
      values.forEach((u, k) => {
        if (Math.abs(f(u) - f(v)) < Math.abs(f(values[best]) - f(v))) best = k;
      });
      return values[best];
    };
    const x = nearest(map.x, point.x, xa.log);
    const y = nearest(map.y, point.y, ya.log);
    const hyperparameters = structuredClone(run.hyperparameters);
    for (const [name, value] of [
      [xa.name, x],
      [ya.name, y],
    ]) {
      const [base, index] = name.split(".");
      if (index === undefined) hyperparameters[base] = value;
      else {
        const pair = Array.isArray(hyperparameters[base])
          ? [...hyperparameters[base]]
          : [null, null];
        pair[Number(index)] = value;
        hyperparameters[base] = pair;
      }
    }
    this.host.state.updateRun(run.id, { hyperparameters });
    // Where the map covers the whole landscape, step aside so the new path shows; the map
    // stays as it is behind its button (a wide card shows both side by side).
    if (this.covers()) this.setOpen(false);
  }

  /** Whether the open panel hides the landscape entirely (not side by side with it). */
  covers() {
    return this.panel.offsetLeft < this.panel.parentElement.clientWidth / 4;
  }
}
