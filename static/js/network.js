// "Train the network" (Li et al., 2018): all weights of the small MLP trained with the
// selected run's optimizer and hyperparameters (POST /api/models/mlp/train), its path θ_t
// projected on the top two principal directions of θ_t − θ_T and drawn over the loss of
// that plane, with the full-data loss and accuracy per step. A panel over the landscape.
//
// State: `network` is null or {open, dataset, steps, batch_size (null = full batch), seed}.
// URL: net=moons,500,full,0 while the panel is open; such a link trains again on load.
// Hooks: data-testid network-train-open (over the landscape, on the network's plane),
// network-train-model (Model section), network-train-close, network-dataset, network-steps,
// network-batch-mode, network-batch-size, network-seed, network-train-button,
// network-plane (traces' meta.role: "network-plane", "network-path", "network-start",
// "network-end"), network-loss ("network-loss", "network-accuracy"), network-summary,
// network-error. window.losslab.network is {request, result, training}.

/* global Plotly */

import { errorText, postJSON } from "./api.js";
import { fmt } from "./format.js";
import { readNumber } from "./helpers.js";
import { leftOut } from "./maps.js";
import { MODEL, MODELS } from "./models.js";
import { CONFIG, FRAMED_AXIS, INK, PALETTE, baseLayout, plotlyReady } from "./plots.js";
import { STATUS_TEXT, paramSummary } from "./runlist.js";
import { LossScale, contourTrace } from "./scale.js";
import { limits } from "./limits.js";
import { runRequest } from "./state.js";
import { specOf } from "./catalog.js";
import { t } from "./i18n.js";

const TRAIN_URL = "/api/models/mlp/train";
const WIDTHS = [2, 16, 16, 2];
/** Weights and biases of the MLP 2-16-16-2. */
const WEIGHTS = WIDTHS.slice(1).reduce((n, out, i) => n + (WIDTHS[i] + 1) * out, 0);
const DATASETS = MODELS.mlp_plane.datasets;
const RESOLUTION = 80;
const DEFAULT_MINI = 32;
/** Paths of at most this many steps show a dot per step. */
const MARKER_STEPS = 200;
const ACCURACY_COLOR = "#667085";
/** The panel's box for each field a 422 can name. */
const FIELDS = { steps: "steps", seed: "seed", batch_size: "batchSize", dataset: "dataset" };

/** A share of variance as a percentage: whole numbers, one decimal near 0 or 100. */
export function percentText(share) {
  const p = share * 100;
  if (!Number.isFinite(p)) return "–";
  return p < 10 || p > 99 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

/** "lr 0.01, betas 0.9/0.99": lr, then the settings that differ from torch's defaults. */
function settingsText(spec, hyperparameters) {
  return paramSummary(spec, hyperparameters, { join: ", ", listJoin: "/" });
}

function batchText(size) {
  if (size === null) return t("full batch");
  return size === 1 ? t("one sample a step") : t("batches of {size}", { size });
}

/** The data sets by name, as a sentence says them ("learns moons"). */
const DATASET_WORDS = { moons: t("moons"), spirals: t("spirals") };

function datasetText(name) {
  return DATASET_WORDS[name] || name;
}


/** POST the training; a 429 waits Retry-After seconds (told through `onWait`) and retries once. */
function postTraining(body, onWait) {
  return postJSON(TRAIN_URL, body, undefined, { onWait });
}

export const networkCodec = {
  encode(state) {
    const n = state.network;
    return n && n.open ? [`net=${n.dataset},${n.steps},${n.batch_size ?? "full"},${n.seed}`] : [];
  },

  decode(params, out) {
    const text = params.get("net");
    if (!text) return;
    const [dataset, steps, batch, seed] = text.split(",");
    const whole = (s, min) => (/^\d+$/.test(s || "") && Number(s) >= min ? Number(s) : null);
    if (!DATASETS.some(([name]) => name === dataset)) return;
    const network = {
      open: true,
      dataset,
      steps: whole(steps, 1) ?? 300,
      batch_size: batch === "full" ? null : whole(batch, 1),
      seed: whole(seed, 0) ?? 0,
    };
    out.extra = { ...out.extra, network };
  },
};

export class NetworkPanel {
  /** `host`: the page's narrow host (extras.js). */
  constructor(host) {
    this.host = host;
    this.state = host.state;
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    this.panel = document.querySelector("[data-network-panel]");
    this.chip = q("network-train-open");
    this.entry = q("network-train-model");
    this.dom = {
      subtitle: q("network-subtitle"),
      close: q("network-train-close"),
      dataset: q("network-dataset"),
      steps: Object.assign(q("network-steps"), { max: String(limits.max_network_steps) }),
      mode: q("network-batch-mode"),
      batchSize: q("network-batch-size"),
      seed: q("network-seed"),
      stale: this.panel.querySelector("[data-network-stale]"),
      train: q("network-train-button"),
      error: q("network-error"),
      body: this.panel.querySelector("[data-network-body]"),
      plane: q("network-plane"),
      loss: q("network-loss"),
      empty: this.panel.querySelector("[data-network-empty]"),
      emptyText: this.panel.querySelector("[data-network-empty-text]"),
      summary: q("network-summary"),
      note: this.panel.querySelector("[data-network-note]"),
    };
    this.hmapPanel = document.querySelector("[data-hmap-panel]");
    this.shown = null;
    this.training = false;
    this.waiting = 0;
    this.error = "";
    this.plotKey = "";
    this.lastMini = DEFAULT_MINI;
    this.dom.dataset.replaceChildren(...DATASETS.map(([name, title]) => new Option(title, name)));
    this.bind();
    const resized = new ResizeObserver(() => this.draw());
    resized.observe(this.dom.plane);
    resized.observe(this.dom.loss);
    this.state.addEventListener("change", (event) => {
      const keys = event.detail.keys;
      if (["network", "runs", "selected", "surface", "model"].some((key) => keys.has(key))) {
        this.render();
      }
    });
    Object.defineProperty(window.losslab, "network", { get: () => this.exposed() });
    this.render();
    // A link with the panel open shows its training again (once the runs have colours).
    if (this.settings.open) queueMicrotask(() => this.train());
  }

  exposed() {
    const shown = this.shown;
    return {
      request: shown ? shown.request : null,
      result: shown ? shown.result : null,
      training: this.training,
    };
  }

  /** The panel's settings: the state's, or defaults that follow the page's network model. */
  get settings() {
    if (this.state.network) return this.state.network;
    const model = this.state.model;
    const mlp = this.state.surface === MODEL && model && model.model === "mlp_plane";
    return {
      open: false,
      dataset: mlp && typeof model.dataset === "string" ? model.dataset : DATASETS[0][0],
      steps: Math.min(this.state.steps, limits.max_network_steps),
      batch_size: mlp ? model.batch_size : null,
      seed: mlp ? model.seed : 0,
    };
  }

  update(patch) {
    this.state.set({ network: { ...this.settings, ...patch } });
  }

  bind() {
    const d = this.dom;
    this.chip.addEventListener("click", () => this.setOpen(this.panel.hidden));
    this.entry.addEventListener("click", () => this.setOpen(true));
    d.close.addEventListener("click", () => this.setOpen(false));
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false);
      else if (event.key === "Enter" && event.target.matches("input")) {
        event.target.dispatchEvent(new Event("change"));
        this.train();
      }
    });
    // One panel over the landscape at a time.
    document.querySelector('[data-testid="hparam-map-open"]').addEventListener("click", () => {
      if (!this.hmapPanel.hidden && !this.panel.hidden) this.setOpen(false);
    });
    d.dataset.addEventListener("change", () => this.update({ dataset: d.dataset.value }));
    d.mode.addEventListener("change", () =>
      this.update({ batch_size: d.mode.value === "full" ? null : this.lastMini }),
    );
    for (const input of [d.steps, d.batchSize, d.seed]) {
      input.addEventListener("change", () => this.readBox(input));
    }
    d.train.addEventListener("click", () => this.train());
  }

  /** One number box into the settings; false (and marked) when it holds no whole number. */
  readBox(input) {
    const value = readNumber(input);
    const ok = value !== null && Number.isInteger(value);
    if (ok) input.removeAttribute("aria-invalid");
    else input.setAttribute("aria-invalid", "true");
    if (!ok) return false;
    if (input.name === "batch_size") this.lastMini = value;
    if (this.settings[input.name] !== value) this.update({ [input.name]: value });
    return true;
  }

  setOpen(open) {
    const hadFocus = this.panel.contains(document.activeElement);
    if (open && !this.hmapPanel.hidden) this.host.closeMaps();
    this.update({ open });
    if (open) {
      this.dom.train.focus();
      this.draw();
    } else if (hadFocus) {
      (this.chip.hidden ? this.entry : this.chip).focus();
    }
  }

  /** The request for the panel's settings and the selected run's optimizer. */
  request() {
    const run = this.state.selectedRun;
    const s = this.settings;
    return {
      dataset: s.dataset,
      seed: s.seed,
      optimizer: run.optimizer,
      hyperparameters: structuredClone(run.hyperparameters),
      steps: s.steps,
      batch_size: s.batch_size,
      resolution: RESOLUTION,
    };
  }

  async train() {
    const run = this.state.selectedRun;
    if (!run || this.training) return;
    const boxes = [this.dom.steps, this.dom.seed];
    if (this.settings.batch_size !== null) boxes.push(this.dom.batchSize);
    const bad = boxes.filter((input) => !this.readBox(input));
    if (bad.length) {
      this.error = t("{fields}: a whole number, please.", {
        fields: bad.map((input) => input.name).join(", "),
      });
      this.render();
      return;
    }
    const request = this.request();
    const color = this.host.colors.get(run.id) || PALETTE[0];
    this.training = true;
    this.error = "";
    this.render();
    try {
      const result = await postTraining(request, (seconds) => {
        this.waiting = seconds;
        this.render();
      });
      this.shown = { request, result, color };
      this.plotKey = "";
    } catch (error) {
      this.error = errorText(error, { withField: true });
      const field = error.detail && error.detail[0] && error.detail[0].loc;
      const input = Array.isArray(field) && this.dom[FIELDS[field[1]]];
      if (input) input.setAttribute("aria-invalid", "true");
    } finally {
      this.training = false;
      this.waiting = 0;
      this.render();
      this.draw();
    }
  }

  render() {
    const d = this.dom;
    const state = this.state;
    const s = this.settings;
    const onPlane = state.surface === MODEL && state.model && state.model.model === "mlp_plane";
    this.chip.hidden = !onPlane;
    for (const button of [this.chip, this.entry]) {
      button.setAttribute("aria-expanded", String(Boolean(s.open)));
      button.classList.toggle("active", Boolean(s.open));
    }
    this.panel.hidden = !s.open;
    if (!s.open) return;

    const set = (input, value) => {
      if (document.activeElement !== input) input.value = String(value);
    };
    d.dataset.value = s.dataset;
    set(d.steps, s.steps);
    set(d.seed, s.seed);
    d.mode.value = s.batch_size === null ? "full" : "mini";
    d.batchSize.hidden = s.batch_size === null;
    if (s.batch_size !== null) set(d.batchSize, s.batch_size);

    const run = state.selectedRun;
    if (run) {
      const index = state.runs.indexOf(run) + 1;
      const spec = specOf(this.host.specs, run);
      const without = leftOut(runRequest(state, run));
      const values = {
        weights: WEIGHTS,
        optimizer: run.optimizer,
        settings: settingsText(spec, run.hyperparameters),
        index,
        without,
      };
      d.subtitle.textContent = without
        ? t("Trains all {weights} weights with {optimizer} {settings} (run {index}'s settings, without its {without}).", values)
        : t("Trains all {weights} weights with {optimizer} {settings} (run {index}'s settings).", values);
    }
    const training = this.training;
    const shown = this.shown;
    d.stale.hidden =
      training ||
      !shown ||
      !run ||
      JSON.stringify(this.request()) === JSON.stringify(shown.request);
    d.train.setAttribute("aria-busy", String(training));
    d.error.textContent = this.error;
    d.error.hidden = !this.error;

    d.body.setAttribute("aria-busy", String(training));
    d.empty.hidden = Boolean(shown) && !training;
    d.empty.classList.toggle("is-busy", training);
    d.emptyText.textContent = training
      ? this.waiting
        ? t("The server is busy: trying again in {seconds} s…", { seconds: this.waiting })
        : t("Training all {weights} weights for {steps} steps…", { weights: WEIGHTS, steps: s.steps })
      : t(
          "Press Train: the network learns {dataset} with the selected run's optimizer, and its path shows on the plane of its own two main directions.",
          { dataset: datasetText(s.dataset) },
        );
    this.renderSummary();
  }

  renderSummary() {
    const d = this.dom;
    const shown = this.shown;
    d.note.hidden = !shown;
    if (!shown) {
      d.summary.replaceChildren();
      return;
    }
    const r = shown.result;
    const req = shown.request;
    const last = r.losses.length - 1;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.dataset.status = r.status;
    badge.textContent = STATUS_TEXT[r.status] || r.status;
    const steps = r.steps_taken;
    const where =
      r.status === "diverged" ? t("diverged after {steps} steps", { steps }) : t("{steps} steps", { steps });
    d.summary.replaceChildren(
      badge,
      t("final loss {loss} · accuracy {accuracy} · {where} of {optimizer} on {dataset}, {batch}", {
        loss: fmt(r.losses[last]),
        accuracy: percentText(r.accuracy[last]),
        where,
        optimizer: req.optimizer,
        dataset: datasetText(req.dataset),
        batch: batchText(req.batch_size),
      }),
    );
  }

  // ---- the plots ------------------------------------------------------------------------

  draw() {
    const shown = this.shown;
    if (this.panel.hidden || !shown) return;
    if (!window.Plotly) {
      // A linked training can finish before Plotly.js has loaded (it loads async).
      plotlyReady.then(() => this.draw());
      return;
    }
    const { plane, loss } = this.dom;
    const size = (el) => ({ width: el.clientWidth, height: el.clientHeight });
    const key = JSON.stringify([size(plane), size(loss)]);
    if (this.plotKey === key && this.plotted === shown) return;
    this.plotKey = key;
    this.plotted = shown;
    Plotly.react(
      plane,
      this.planeTraces(shown),
      { ...this.planeLayout(shown), ...size(plane) },
      CONFIG,
    );
    Plotly.react(
      loss,
      this.lossTraces(shown),
      { ...this.lossLayout(shown), ...size(loss) },
      CONFIG,
    );
  }

  planeTraces({ result: r, color }) {
    const plane = contourTrace(r, new LossScale(r.z));
    const n = r.path_a.length;
    const end = n - 1;
    const point = (role, k, marker, text) => ({
      type: "scatter",
      mode: "markers",
      meta: { role },
      x: [r.path_a[k]],
      y: [r.path_b[k]],
      marker,
      hovertemplate: t("{text}<br>loss {loss}<extra></extra>", { text, loss: fmt(r.losses[k]) }),
    });
    return [
      {
        ...plane,
        meta: { role: "network-plane" },
        text: r.z.map((row) => row.map((v) => (v === null ? "–" : fmt(v)))),
        hovertemplate: t("PC1 %{x:.3g} · PC2 %{y:.3g}<br>loss %{text}<extra></extra>"),
        colorbar: { ...plane.colorbar, len: 0.9, xpad: 8 },
      },
      {
        type: "scatter",
        mode: n <= MARKER_STEPS + 1 ? "lines+markers" : "lines",
        meta: { role: "network-path" },
        x: r.path_a,
        y: r.path_b,
        customdata: r.losses,
        line: { color, width: 2.4 },
        marker: { color, size: 4.5, line: { color: "#ffffff", width: 0.8 } },
        hovertemplate: t(
          "step %{pointNumber}<br>PC1 %{x:.4g} · PC2 %{y:.4g}<br>loss %{customdata:.4g}<extra></extra>",
        ),
      },
      point(
        "network-start",
        0,
        { symbol: "circle", size: 12, color: "#ffffff", line: { color: INK, width: 2.6 } },
        t("start θ₀"),
      ),
      point(
        "network-end",
        end,
        { symbol: "circle", size: 13, color, line: { color: "#ffffff", width: 2.4 } },
        t("end θ_T, step {step}", { step: end }),
      ),
    ];
  }

  planeLayout({ result: r }) {
    const [ev1, ev2] = r.explained_variance;
    const xr = [r.x[0], r.x[r.x.length - 1]];
    const yr = [r.y[0], r.y[r.y.length - 1]];
    const title = (text) => ({ text, standoff: 4, font: { size: 12, color: INK } });
    const end = r.path_a.length - 1;
    return {
      ...baseLayout(),
      margin: { l: 52, r: 8, t: 8, b: 40 },
      xaxis: {
        ...FRAMED_AXIS,
        range: xr,
        autorange: false,
        title: title(t("PC1 ({share} of variance)", { share: percentText(ev1) })),
      },
      yaxis: { ...FRAMED_AXIS, range: yr, autorange: false, title: title(`PC2 (${percentText(ev2)})`) },
      annotations: [
        pointLabel(t("start"), r.path_a[0], r.path_b[0], xr, yr),
        pointLabel(t("end"), r.path_a[end], r.path_b[end], xr, yr),
      ],
      showlegend: false,
      hovermode: "closest",
      dragmode: false,
      uirevision: "network",
    };
  }

  lossTraces({ result: r, color }) {
    const steps = r.losses.map((_, k) => k);
    return [
      {
        type: "scatter",
        mode: "lines",
        name: t("loss"),
        meta: { role: "network-loss" },
        x: steps,
        y: r.losses,
        line: { color, width: 2 },
        hovertemplate: t("loss %{y:.4g}<extra></extra>"),
      },
      {
        type: "scatter",
        mode: "lines",
        name: t("accuracy"),
        meta: { role: "network-accuracy" },
        x: steps,
        y: r.accuracy,
        yaxis: "y2",
        line: { color: ACCURACY_COLOR, width: 1.5, dash: "dot" },
        hovertemplate: t("accuracy %{y:.1%}<extra></extra>"),
      },
    ];
  }

  lossLayout({ color }) {
    const grid = {
      gridcolor: "#eef0f4",
      zeroline: false,
      linecolor: "#d5dae2",
      tickfont: { size: 10 },
    };
    const title = (text, c) => ({ text, standoff: 2, font: { size: 11, color: c } });
    return {
      ...baseLayout(),
      margin: { l: 52, r: 52, t: 6, b: 22 },
      showlegend: false,
      hovermode: "x unified",
      xaxis: { ...grid, rangemode: "tozero", hoverformat: "d", fixedrange: true },
      yaxis: {
        ...grid,
        rangemode: "tozero",
        exponentformat: "power",
        fixedrange: true,
        title: title(t("loss"), color),
      },
      yaxis2: {
        overlaying: "y",
        side: "right",
        range: [0, 1.04],
        tickvals: [0, 0.5, 1],
        tickformat: ".0%",
        showgrid: false,
        zeroline: false,
        fixedrange: true,
        tickfont: { size: 10 },
        title: title(t("accuracy"), ACCURACY_COLOR),
      },
      uirevision: "network-loss",
    };
  }
}

/** A small label by a marked point, pointing in from the plot's nearer edges. */
function pointLabel(text, x, y, xr, yr) {
  const right = x < (xr[0] + xr[1]) / 2;
  const up = y < (yr[0] + yr[1]) / 2;
  return {
    x,
    y,
    text,
    showarrow: true,
    arrowhead: 0,
    arrowwidth: 1,
    arrowcolor: "rgba(27, 34, 48, 0.55)",
    ax: right ? 30 : -30,
    ay: up ? -22 : 22,
    standoff: 7,
    font: { size: 11, color: INK },
    bgcolor: "rgba(255, 255, 255, 0.88)",
    borderpad: 2,
  };
}
