// "Train a model…": the loss of a real model over its two parameters ((w, b), or (a, b) on
// a small network's plane), stepped on batches from a seeded DataLoader. The landscape and
// the solid loss line are the full-data loss; the faint line is each step's batch loss.
//
// State: `surface` is "model", `model` is {model, dataset, batch_size, seed, directions?,
// bias?, shuffle?, loss?} (dataset: a name or {x, y}; batch_size: null = full batch, 1 =
// stochastic; bias false: linear regression as y = w·x, one parameter; shuffle false:
// mini-batches in data order; loss "mse": logistic regression's MSE on the sigmoid), and
// `lossPerEpoch` switches the loss chart to one point per epoch.
// URL: surface=model&model=linear_regression&data=noisy_line&batch=full&mseed=0[&dirs=pca]
// [&bias=0][&shuffle=0][&mloss=mse][&epoch=1]: each option only off its default and where it
// applies (absent: the default, so older links read as before); uploaded data travels as
// data=xy:x1,y1;x2,y2;... while the link stays short.
// Hooks: data-testid model-select, model-bias, model-loss, dataset-select, csv-upload,
// csv-error, batch-mode, batch-size (slider), batch-size-value, model-shuffle, model-seed,
// model-reseed, model-directions, model-note, model-error, loss-per-epoch.

import { errorText, postCSV, postJSON } from "./api.js";
import { readNumber } from "./helpers.js";
import { withAlpha } from "./plots.js";
import { t, ts } from "./i18n.js";

export const MODEL = "model";
const RESOLUTION = 120;
/** Uploaded data longer than this (characters) is left out of the link. */
const URL_DATA_LIMIT = 6000;
const SEED_RANGE = 2 ** 31;

export const MODELS = {
  linear_regression: {
    title: t("Linear regression"),
    axes: ["w", "b"],
    datasets: [
      ["noisy_line", t("Noisy line")],
      ["tiny", t("Tiny (3 points)")],
    ],
    csv: true,
    batches: true,
  },
  logistic_regression: {
    title: t("Logistic regression"),
    axes: ["w", "b"],
    datasets: [
      ["two_classes", t("Two overlapping classes")],
      ["separable", t("Separable classes")],
    ],
    csv: true,
    batches: true,
  },
  mlp_plane: {
    title: t("Small MLP, on a plane"),
    axes: ["a", "b"],
    datasets: [
      ["moons", t("Moons")],
      ["spirals", t("Spirals")],
    ],
    csv: false,
    // The plane is the full-data loss through fixed weights: the server takes no batch_size
    // (mini-batches on a network: "Train the whole network").
    batches: false,
  },
};

export const DEFAULT_MODEL = {
  model: "linear_regression",
  dataset: "noisy_line",
  batch_size: null,
  seed: 0,
};

/**
 * The request's `model` object: directions, bias, shuffle and loss only where they mean
 * something, and the last three only off their defaults (the API's: bias and shuffle on,
 * cross-entropy).
 */
function modelRequest(config) {
  const { directions, bias, shuffle, loss, ...rest } = config;
  const out = rest;
  if (config.model === "mlp_plane") out.directions = directions || "random";
  if (config.model === "linear_regression" && bias === false) out.bias = false;
  if (MODELS[config.model]?.batches && config.batch_size !== null && shuffle === false) {
    out.shuffle = false;
  }
  if (config.model === "logistic_regression" && loss === "mse") out.loss = "mse";
  return out;
}

/** Whether `config` is y = w·x: linear regression without its bias, one parameter. */
export function oneParameter(config) {
  return Boolean(config) && modelRequest(config).bias === false;
}

/** Whether the page's runs go to y = w·x (their start is [w], they have no y to set apart). */
export function requestsOneParameter(state) {
  return state.surface === MODEL && oneParameter(state.model);
}

/** The names of the model's parameters: (w, b), (a, b) on a plane, or w alone. */
function axesOf(config) {
  if (oneParameter(config)) return ["w"];
  return (MODELS[config.model] || MODELS.linear_regression).axes;
}

/** The model surface for `config`: {surface (named MODEL, with axes), grid, note}. */
export async function fetchModel(config, resolution = RESOLUTION) {
  const answer = await postJSON(
    `/api/surfaces/model?resolution=${resolution}`,
    modelRequest(config),
  );
  const axes = axesOf(config);
  const surface = { ...answer.surface, name: MODEL, axes, note: answer.note || "" };
  // The data set travels with the surface: the Data & fit tab draws it (fit.js).
  const data = answer.data ?? null;
  return { ...answer, surface: { ...surface, samples: answer.samples ?? null, data } };
}

function encodeData(dataset) {
  if (typeof dataset === "string") return encodeURIComponent(dataset);
  const text = `xy:${dataset.x.map((x, i) => `${x},${dataset.y[i]}`).join(";")}`;
  return text.length <= URL_DATA_LIMIT ? text : "upload";
}

function decodeData(text, model) {
  if (text.startsWith("xy:")) {
    const x = [];
    const y = [];
    for (const pair of text.slice(3).split(";")) {
      const [a, b] = pair.split(",").map(Number);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
      x.push(a);
      y.push(b);
    }
    return x.length ? { x, y } : null;
  }
  return MODELS[model].datasets.some(([name]) => name === text) ? text : null;
}

export function modelFromParams(params) {
  const model = params.get("model");
  if (!model || !(model in MODELS)) return null;
  const batch = params.get("batch");
  const size = Number(batch);
  const seed = Number(params.get("mseed"));
  const config = {
    model,
    dataset: decodeData(params.get("data") || "", model) || MODELS[model].datasets[0][0],
    batch_size: MODELS[model].batches && Number.isInteger(size) && size >= 1 ? size : null,
    seed: Number.isInteger(seed) && seed >= 0 ? seed : 0,
  };
  if (model === "mlp_plane") config.directions = params.get("dirs") === "pca" ? "pca" : "random";
  if (params.get("bias") === "0") config.bias = false;
  if (params.get("shuffle") === "0") config.shuffle = false;
  if (params.get("mloss") === "mse") config.loss = "mse";
  // Only what applies to this model stays (a hand-written link may say more).
  return modelRequest(config);
}

export const modelCodec = {
  surface(state) {
    return state.surface === MODEL && state.model
      ? modelRequest(structuredClone(state.model))
      : undefined;
  },

  encode(state) {
    const parts = [];
    if (state.surface === MODEL && state.model) {
      const m = state.model;
      parts.push(
        `model=${m.model}`,
        `data=${encodeData(m.dataset)}`,
        `batch=${m.batch_size ?? "full"}`,
        `mseed=${m.seed}`,
      );
      if (m.model === "mlp_plane") parts.push(`dirs=${m.directions || "random"}`);
      const options = modelRequest(m);
      if (options.bias === false) parts.push("bias=0");
      if (options.shuffle === false) parts.push("shuffle=0");
      if (options.loss) parts.push(`mloss=${options.loss}`);
    }
    if (state.lossPerEpoch) parts.push("epoch=1");
    return parts;
  },

  /** y = w·x starts at [w] (the page keeps its start as [w, 0]). */
  request(body, state) {
    if (requestsOneParameter(state)) body.start = [body.start[0]];
  },

  decode(params, out) {
    const model = modelFromParams(params);
    const extra = { ...out.extra };
    if (model) extra.model = model;
    if (params.get("epoch") === "1") extra.lossPerEpoch = true;
    out.extra = extra;
  },
};

// ---- the loss chart: batch loss beside the full loss, per step or per epoch --------------

const series = new WeakMap();

/** Batch-loss and per-epoch columns of one run, cached on its column object. */
function modelSeries(run) {
  const cached = series.get(run.columns);
  if (cached) return cached;
  const frames = run.slot.frames;
  const batch = frames.map((f) => (typeof f.batch_loss === "number" ? f.batch_loss : null));
  // Frame k's batch is the one step k + 1 trains on, so epoch e ends at the first frame of
  // epoch e + 1 (the point after its last step).
  const epoch = { step: [], loss: [], ends: [], batchX: [], batchY: [] };
  if (frames.length && typeof frames[0].epoch === "number") {
    epoch.step.push(0);
    epoch.loss.push(frames[0].loss);
    epoch.ends.push(0);
    let current = frames[0].epoch;
    let sum = 0;
    let count = 0;
    const close = (k) => {
      epoch.step.push(current + 1);
      epoch.loss.push(frames[k].loss);
      epoch.ends.push(k);
      epoch.batchX.push(current + 1);
      epoch.batchY.push(count ? sum / count : null);
    };
    for (let k = 0; k < frames.length - 1; k++) {
      if (frames[k].epoch !== current) {
        close(k);
        current = frames[k].epoch;
        sum = 0;
        count = 0;
      }
      if (batch[k] !== null) {
        sum += batch[k];
        count += 1;
      }
    }
    if (count) close(frames.length - 1);
  }
  const out = { batch, epoch };
  series.set(run.columns, out);
  return out;
}

/** Index of the last epoch end at or before `step`. */
function epochIndex(ends, step) {
  let i = 0;
  while (i + 1 < ends.length && ends[i + 1] <= step) i += 1;
  return i;
}

export function lossView(vm, perEpoch) {
  if (vm.surfaceName !== MODEL) return vm;
  const underlays = [];
  const batchHover = t("batch %{y:.4g}");
  const runs = vm.runs.map((run) => {
    const s = modelSeries(run);
    const color = withAlpha(run.color, run.selected ? 0.45 : 0.3);
    const trace = {
      type: "scatter",
      mode: perEpoch ? "lines+markers" : "lines",
      name: t("batch loss"),
      meta: { role: "batch-loss", runId: run.id },
      x: perEpoch ? s.epoch.batchX : run.columns.step,
      y: perEpoch ? s.epoch.batchY : s.batch,
      line: { color, width: 1 },
      marker: { color, size: 4 },
      hovertemplate: `${batchHover}<extra>${run.label.replace(/[<>&]/g, "")}</extra>`,
    };
    underlays.push(trace);
    if (!perEpoch) return run;
    const e = s.epoch;
    const columns = { ...run.columns, step: e.step, loss: e.loss };
    return { ...run, columns, head: epochIndex(e.ends, run.head) };
  });
  if (!perEpoch) return { ...vm, underlays, chartKey: "model-step" };
  const selected = runs.find((run) => run.selected) || runs[0];
  const ends = selected ? modelSeries(vm.runs[runs.indexOf(selected)]).epoch.ends : [0];
  const at = epochIndex(ends, vm.playhead);
  const playhead = selected && selected.columns.step.length ? selected.columns.step[at] : 0;
  return { ...vm, runs, underlays, playhead, perEpoch: true, chartKey: "model-epoch" };
}

// ---- the panel --------------------------------------------------------------------------

/** Samples in a data set: an upload's rows, or what the server says the surface has. */
function samplesOf(surface, dataset) {
  if (dataset && typeof dataset === "object") return dataset.x.length;
  return (surface && surface.samples) || 0;
}

export class ModelPanel {
  /** `host`: the page's narrow host (extras.js). */
  constructor(host, root, { activate }) {
    this.host = host;
    this.state = host.state;
    this.activate = activate;
    this.ticket = null;
    this.describeTimer = 0;
    this.lastMini = 20;
    this.upload = null;
    const q = (id) => document.querySelector(`[data-testid="${id}"]`);
    this.dom = {
      section: root,
      summary: root.querySelector('[data-knob-state="model"]'),
      model: q("model-select"),
      biasRow: root.querySelector("[data-bias-row]"),
      bias: q("model-bias"),
      biasNote: root.querySelector("[data-bias-note]"),
      lossRow: root.querySelector("[data-loss-row]"),
      loss: q("model-loss"),
      shuffleRow: root.querySelector("[data-shuffle-row]"),
      shuffle: q("model-shuffle"),
      dataset: q("dataset-select"),
      csv: q("csv-upload"),
      csvError: q("csv-error"),
      mode: q("batch-mode"),
      sizeRow: root.querySelector("[data-batch-size-row]"),
      size: q("batch-size"),
      sizeValue: q("batch-size-value"),
      seed: q("model-seed"),
      reseed: q("model-reseed"),
      directionsRow: root.querySelector("[data-directions-row]"),
      directions: q("model-directions"),
      note: q("model-note"),
      error: q("model-error"),
      samples: root.querySelector("[data-model-samples]"),
      epochToggle: document.querySelector("[data-epoch-toggle]"),
      perEpoch: q("loss-per-epoch"),
      lossNote: document.querySelector("[data-loss-note]"),
      startX: document.querySelector('label[for="start-x"]'),
      startY: document.querySelector('label[for="start-y"]'),
    };
    const d = this.dom;
    d.model.replaceChildren(
      ...Object.entries(MODELS).map(
        ([name, m]) => new Option(`${m.title} (${m.axes.join(", ")})`, name),
      ),
    );
    this.bind();
  }

  get config() {
    return this.state.model || DEFAULT_MODEL;
  }

  bind() {
    const d = this.dom;
    d.model.addEventListener("change", () => {
      const name = d.model.value;
      const dataset = MODELS[name].datasets[0][0];
      const patch = {
        model: name,
        dataset,
        directions: name === "mlp_plane" ? "random" : undefined,
      };
      if (!MODELS[name].batches) patch.batch_size = null;
      this.load({ ...this.config, ...patch });
    });
    // Without a bias the landscape is another (a curve over w): fetch it. So is another loss.
    d.bias.addEventListener("change", () => this.load({ ...this.config, bias: d.bias.checked }));
    d.loss.addEventListener("change", () => this.load({ ...this.config, loss: d.loss.value }));
    d.shuffle.addEventListener("change", () => {
      const config = { ...this.config, shuffle: d.shuffle.value === "shuffle" };
      this.state.set({ model: config });
      this.describe(config);
    });
    d.dataset.addEventListener("change", () => {
      const value = d.dataset.value;
      this.load({ ...this.config, dataset: value === "csv" && this.upload ? this.upload : value });
    });
    d.csv.addEventListener("change", () => this.readCSV());
    d.mode.addEventListener("change", () => {
      const mode = d.mode.value;
      const size =
        mode === "full" ? null : mode === "stochastic" ? 1 : this.miniSize(this.lastMini);
      this.setBatch(size);
    });
    d.size.addEventListener("input", () => {
      const size = this.miniSize(Number(d.size.value));
      d.sizeValue.value = String(size);
      this.setBatch(size);
    });
    d.sizeValue.addEventListener("change", () => {
      const size = readNumber(d.sizeValue);
      if (size === null || !Number.isInteger(size) || size < 1) {
        d.sizeValue.setAttribute("aria-invalid", "true");
        return;
      }
      d.sizeValue.removeAttribute("aria-invalid");
      this.setBatch(size);
    });
    d.seed.addEventListener("change", () => {
      const seed = readNumber(d.seed);
      if (seed === null || !Number.isInteger(seed) || seed < 0) {
        d.seed.setAttribute("aria-invalid", "true");
        return;
      }
      d.seed.removeAttribute("aria-invalid");
      this.load({ ...this.config, seed });
    });
    d.reseed.addEventListener("click", () => {
      this.load({ ...this.config, seed: Math.floor(Math.random() * SEED_RANGE) });
    });
    d.directions.addEventListener("change", () =>
      this.load({ ...this.config, directions: d.directions.value }),
    );
    d.perEpoch.addEventListener("change", () =>
      this.state.set({ lossPerEpoch: d.perEpoch.checked }),
    );
  }

  get samples() {
    return samplesOf(this.host.surfaces.get(MODEL), this.config.dataset);
  }

  miniSize(size) {
    const top = Math.max(2, this.samples - 1);
    return Math.min(top, Math.max(2, Math.round(size) || 2));
  }

  /**
   * Fetch the landscape for `config` and switch to it; on failure say why and keep the old.
   * The grid does not depend on the batches, so it is asked for in full batch, which also
   * tells the data set's size: a mini-batch larger than the new data shrinks to fit.
   */
  async load(config) {
    const d = this.dom;
    const ticket = {};
    this.ticket = ticket;
    d.section.dataset.busy = "true";
    this.showError("");
    try {
      const answer = await fetchModel({ ...config, batch_size: null });
      if (this.ticket !== ticket) return;
      const n = samplesOf(answer.surface, config.dataset);
      const size = config.batch_size;
      const fitted =
        !MODELS[config.model].batches || size === null
          ? null
          : size === 1
            ? size
            : Math.min(size, Math.max(1, n - 1));
      const next = { ...config, batch_size: fitted };
      this.activate(answer, { model: next });
      if (fitted !== null) this.describe(next);
    } catch (error) {
      if (this.ticket !== ticket) return;
      this.showError(errorText(error));
      this.render();
    } finally {
      if (this.ticket === ticket) delete d.section.dataset.busy;
    }
  }

  setBatch(size) {
    if (size !== null && size > 1) this.lastMini = size;
    const config = { ...this.config, batch_size: size };
    this.state.set({ model: config });
    // The grid is the same; the description names the batch mode.
    clearTimeout(this.describeTimer);
    this.describeTimer = setTimeout(() => this.describe(config), 300);
  }

  async describe(config) {
    try {
      const answer = await fetchModel(config, 2);
      if (JSON.stringify(this.state.model) !== JSON.stringify(config)) return;
      const old = this.host.surfaces.get(MODEL);
      if (old)
        this.host.surfaces.set(MODEL, { ...answer.surface, minima: old.minima, domain: old.domain });
      this.host.refresh();
    } catch {
      // The description is a nicety; the run itself reports its own errors.
    }
  }

  async readCSV() {
    const d = this.dom;
    const file = d.csv.files && d.csv.files[0];
    if (!file) return;
    d.csvError.hidden = true;
    try {
      const text = await file.text();
      const data = await postCSV("/api/datasets/csv", text);
      this.upload = { x: data.x, y: data.y };
      this.uploadName = file.name;
      const model = MODELS[this.config.model].csv ? this.config.model : "linear_regression";
      await this.load({ ...this.config, model, dataset: this.upload, directions: undefined });
    } catch (error) {
      d.csvError.textContent = `${file.name}: ${errorText(error)}`;
      d.csvError.hidden = false;
    } finally {
      d.csv.value = "";
    }
  }

  showError(message) {
    this.dom.error.textContent = message;
    this.dom.error.hidden = !message;
  }

  render() {
    const d = this.dom;
    const active = this.state.surface === MODEL;
    d.section.hidden = !active && !d.section.dataset.pending;
    d.epochToggle.hidden = !active;
    d.perEpoch.checked = Boolean(this.state.lossPerEpoch);
    const key = (kind, text) => {
      const span = document.createElement("span");
      span.className = `loss-key loss-key-${kind}`;
      span.textContent = text;
      return span;
    };
    d.lossNote.replaceChildren(
      ...(this.state.lossPerEpoch
        ? [key("full", t("all samples, at each epoch's end")), key("batch", t("mean batch loss"))]
        : [key("full", t("all samples")), key("batch", t("the batch each step trained on"))]),
    );
    d.lossNote.hidden = !active;
    // y = w·x has w alone: the page hides the second start box (main.js syncFields).
    const axes = active ? axesOf(this.config) : ["x", "y"];
    d.startX.textContent = t("start {axis}", { axis: axes[0] });
    d.startY.textContent = t("start {axis}", { axis: axes[1] ?? "b" });
    if (!active) return;

    const config = this.config;
    const model = MODELS[config.model];
    d.model.value = config.model;
    const bias = config.bias !== false;
    d.biasRow.hidden = config.model !== "linear_regression";
    d.bias.checked = bias;
    d.biasNote.textContent = bias
      ? t("on: y = w·x + b, two parameters")
      : t("off: y = w·x, one parameter");
    d.lossRow.hidden = config.model !== "logistic_regression";
    d.loss.value = config.loss === "mse" ? "mse" : "cross_entropy";
    const options = model.datasets.map(([name, title]) => new Option(title, name));
    const upload = typeof config.dataset === "object" ? config.dataset : this.upload;
    if (model.csv && upload) {
      const rows = upload.x.length;
      const name = this.uploadName || t("Uploaded CSV");
      options.push(new Option(t("{name} ({rows} rows)", { name, rows }), "csv"));
      if (typeof config.dataset === "object") this.upload = config.dataset;
    }
    d.dataset.replaceChildren(...options);
    d.dataset.value = typeof config.dataset === "object" ? "csv" : config.dataset;
    d.csv.closest("[data-csv]").hidden = !model.csv;

    const n = this.samples;
    const size = config.batch_size;
    const mode = size === null ? "full" : size === 1 ? "stochastic" : "mini";
    d.mode.value = mode;
    for (const option of d.mode.options) option.disabled = !model.batches && option.value !== "full";
    d.mode.title = model.batches
      ? ""
      : t("The plane is the loss over all samples; for mini-batches train the whole network below");
    d.sizeRow.hidden = mode !== "mini";
    // The order of the samples matters where a step takes some of them.
    d.shuffleRow.hidden = !model.batches || mode === "full";
    d.shuffle.value = config.shuffle === false ? "order" : "shuffle";
    const loader = d.section.querySelector("[data-shuffle-code]");
    if (loader) loader.textContent = `shuffle=${d.shuffle.value === "order" ? "False" : "True"}`;
    d.size.min = "2";
    d.size.max = String(Math.max(2, n - 1));
    if (mode === "mini") {
      if (document.activeElement !== d.size) d.size.value = String(size);
      if (document.activeElement !== d.sizeValue) d.sizeValue.value = String(size);
    }
    const perEpoch = mode === "full" ? 1 : Math.ceil(n / (mode === "stochastic" ? 1 : size));
    d.samples.textContent = !n
      ? ""
      : model.batches
        ? perEpoch === 1
          ? t("{n} samples · 1 step per epoch", { n })
          : t("{n} samples · {steps} steps per epoch", { n, steps: perEpoch })
        : t("{n} samples · full batch only: the plane is the loss over all of them", { n });
    if (document.activeElement !== d.seed) d.seed.value = String(config.seed);
    d.directionsRow.hidden = config.model !== "mlp_plane";
    d.directions.value = config.directions || "random";
    const surface = this.host.surfaces.get(MODEL);
    const note = surface && surface.note;
    d.note.textContent = note ? ts(note) : "";
    d.note.hidden = !note;
    const modeText = {
      full: t("batch GD"),
      mini: t("mini-batch {size}", { size }),
      stochastic: t("stochastic"),
    }[mode];
    const title = oneParameter(config) ? "y = w·x" : model.title.split(/[,，]/)[0];
    d.summary.textContent = `${title} · ${modeText}`;
  }
}
