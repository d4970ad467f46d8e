// The lessons' figures: each puts the engine's numbers (the page's runs, or runs and curves
// it asks the API for) next to what a tutorial prints or claims, and says whether they agree.
// `drawFigure(name, host, app)` returns {update()}, called whenever a run on the page changes.

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { send, postJSON, errorText } from "./api.js";
import { fmt } from "./format.js";
import { CONFIG, PALETTE, STEP_AXIS, baseLayout, plotlyReady } from "./plots.js";
import { runRequest } from "./state.js";

/** Tutorial 000 prints these for SGD(lr=0.1) from (3, 2) on x0² + x1², in float32. */
const TUTORIAL_SGD = {
  start: [3, 2],
  lr: 0.1,
  steps: [
    [3.0, 2.0, 13.0],
    [2.4000000953674316, 1.600000023841858, 8.320000648498535],
    [1.9200000762939453, 1.2799999713897705, 5.32480001449585],
    [1.5360000133514404, 1.0239999294281006, 3.407871961593628],
    [1.2288000583648682, 0.8191999197006226, 2.1810381412506104],
    [0.9830400347709656, 0.6553599238395691, 1.3958643674850464],
    [0.7864320278167725, 0.5242879390716553, 0.8933531641960144],
    [0.629145622253418, 0.41943034529685974, 0.5717460513114929],
    [0.5033165216445923, 0.33554428815841675, 0.36591750383377075],
    [0.40265321731567383, 0.26843541860580444, 0.23418718576431274],
    [0.32212257385253906, 0.2147483378648758, 0.1498797982931137],
  ],
};
/** Tutorial 000's autograd example: x = [1., 2.], y = x0² + x1². */
const TUTORIAL_AUTOGRAD = { x: [1, 2], y: 5, grad: [2, 4] };
/** Tutorial 002's data for y = w·x. */
const TUTORIAL_DATA = { x: [1, 2, 3], y: [2, 4, 6] };
/** Tutorial 004's comparison table: what it claims, per optimizer. */
const TUTORIAL_TABLE = [
  { name: "SGD", match: (r) => r.optimizer === "SGD" && !(r.hyperparameters.momentum > 0), speed: "slow", memory: "low", sensitivity: "high" },
  { name: "SGD+momentum", match: (r) => r.optimizer === "SGD" && r.hyperparameters.momentum > 0, speed: "medium", memory: "low", sensitivity: "medium" },
  { name: "Adam", match: (r) => r.optimizer === "Adam", speed: "fast", memory: "medium", sensitivity: "low" },
  { name: "RMSprop", match: (r) => r.optimizer === "RMSprop", speed: "medium", memory: "medium", sensitivity: "medium" },
];
const STATUS = {
  converged: () => t("converged"),
  diverged: () => t("diverged"),
  max_steps: () => t("took all its steps"),
};
const statusText = (status) => (STATUS[status] ? STATUS[status]() : status);
const WORDS = { slow: () => t("slow"), medium: () => t("medium"), fast: () => t("fast"), low: () => t("low"), high: () => t("high") };

/** Each figure by its name in lessons/chapters.json (classes below, made on demand). */
const FIGURES = {
  autograd: (host, app) => new AutogradFigure(host, app),
  sgd_steps: (host, app) => new SgdStepsFigure(host, app),
  epochs_batch: (host, app) => new EpochsFigure(host, app, "batch"),
  epochs_sample: (host, app) => new EpochsFigure(host, app, "sample"),
  activations: (host, app) => new ActivationsFigure(host, app),
  loss_compare: (host, app) => new LossCompareFigure(host, app),
  optimizer_table: (host, app) => new OptimizerTableFigure(host, app),
};

export function drawFigure(name, host, app) {
  const make = FIGURES[name];
  if (!make) return null;
  const figure = make(host, app);
  figure.update();
  return figure;
}

/** A float as torch prints a tensor element: `2.` for a whole number, else up to 4 decimals. */
function torchNumber(value) {
  if (Number.isInteger(value)) return `${value}.`;
  return String(Number(value.toFixed(4)));
}

const torchTensor = (values) => `tensor([${values.map(torchNumber).join(", ")}])`;

function table(head, rows, cls = "lesson-table") {
  return el(
    "table",
    cls,
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map((cell) => (cell instanceof Node ? el("td", {}, cell) : el("td", { text: String(cell) })))))),
  );
}

function verdict(ok, yes, no) {
  return el("p", { class: `lesson-verdict ${ok ? "is-ok" : "is-off"}`, "data-testid": "lesson-verdict", "data-ok": String(ok), text: ok ? yes : no });
}

function note(text) {
  return el("p", { class: "lesson-note", text });
}

/** A figure's placeholder while what it shows is still being computed. */
function waiting(text) {
  return el("p", { class: "lesson-note lesson-waiting", text });
}

const selectedEntry = (app) => app.selected();

/** y and its gradient at the start: frame 0 of the selected run, printed as torch prints. */
class AutogradFigure {
  constructor(host, app) {
    this.host = host;
    this.app = app;
  }

  update() {
    const entry = selectedEntry(this.app);
    const frame = entry?.frames[0];
    if (!frame) {
      this.host.replaceChildren(waiting(t("Waiting for the run…")));
      return;
    }
    const grad = frame.grad;
    const same = entry.request.surface === "bowl" && frame.x === TUTORIAL_AUTOGRAD.x[0] && frame.y === TUTORIAL_AUTOGRAD.x[1];
    const agrees = same && frame.loss === TUTORIAL_AUTOGRAD.y && grad[0] === TUTORIAL_AUTOGRAD.grad[0] && grad[1] === TUTORIAL_AUTOGRAD.grad[1];
    const rows = [
      ["x", torchTensor([frame.x, frame.y]), torchTensor(TUTORIAL_AUTOGRAD.x)],
      ["y", torchNumber(frame.loss), torchNumber(TUTORIAL_AUTOGRAD.y)],
      ["grad", torchTensor(grad), torchTensor(TUTORIAL_AUTOGRAD.grad)],
    ];
    this.host.replaceChildren(
      table(["", t("losslab (torch, frame 0)"), t("the tutorial prints")], rows),
      same
        ? verdict(agrees, t("Same numbers: torch's autograd on the page gives what the tutorial printed."), t("These differ from the tutorial."))
        : note(t("The tutorial's point is x = (1, 2); this run starts at ({x}, {y}): y = x0² + x1² and grad = (2·x0, 2·x1) there.", { x: fmt(frame.x), y: fmt(frame.y) })),
    );
  }
}

/** Steps 0..10 of the selected run beside tutorial 000's printout. */
class SgdStepsFigure {
  constructor(host, app) {
    this.host = host;
    this.app = app;
  }

  update() {
    const entry = selectedEntry(this.app);
    if (!entry || entry.frames.length === 0) {
      this.host.replaceChildren(waiting(t("Waiting for the run…")));
      return;
    }
    const { request, frames } = entry;
    const hp = request.hyperparameters;
    const setup =
      request.surface === "bowl" &&
      request.optimizer === "SGD" &&
      hp.lr === TUTORIAL_SGD.lr &&
      !(hp.momentum > 0) &&
      !(hp.weight_decay > 0) &&
      !request.param_groups &&
      request.dtype === "float32" &&
      request.start[0] === TUTORIAL_SGD.start[0] &&
      request.start[1] === TUTORIAL_SGD.start[1];
    const shown = frames.slice(0, TUTORIAL_SGD.steps.length);
    let matches = 0;
    const rows = shown.map((frame, i) => {
      const printed = TUTORIAL_SGD.steps[i];
      const same = setup && printed && printed[0] === frame.x && printed[1] === frame.y && printed[2] === frame.loss;
      if (same) matches += 1;
      const mark = el("span", { class: same ? "lesson-match" : "lesson-nomatch", text: setup ? (same ? "✓" : "✗") : "" });
      // x's two elements one above the other, as x.tolist() would print them, full length.
      const x = el("span", "lesson-pair", el("span", {}, String(frame.x)), el("span", {}, String(frame.y)));
      return [frame.step, x, String(frame.loss), mark];
    });
    const head = [t("step"), "x", "y", setup ? t("= tutorial") : ""];
    const all = setup && matches === TUTORIAL_SGD.steps.length;
    this.host.replaceChildren(
      el("div", "lesson-scroll", table(head, rows, "lesson-table lesson-table-mono")),
      setup
        ? verdict(all, t("All {n} lines equal the tutorial's printout, digit for digit.", { n: matches }), t("{n} of {total} lines equal the tutorial's printout.", { n: matches, total: TUTORIAL_SGD.steps.length }))
        : note(t("The tutorial printed SGD at lr 0.1 from (3, 2) in float32; this run differs, so these are its own numbers. Reset the step to compare.")),
    );
  }
}

/** The tutorial's y = w·x loops, as it wrote them, in plain float64 arithmetic. */
export function tutorialLoop(mode, w0, lr, epochs) {
  const { x: xs, y: ys } = TUTORIAL_DATA;
  let w = w0;
  const rows = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (mode === "batch") {
      let cost = 0;
      for (let i = 0; i < xs.length; i++) cost += (xs[i] * w - ys[i]) ** 2;
      cost /= xs.length;
      let grad = 0;
      for (let i = 0; i < xs.length; i++) grad += 2 * xs[i] * (xs[i] * w - ys[i]);
      grad /= xs.length;
      w -= lr * grad;
      rows.push({ epoch, w, loss: cost });
    } else {
      for (let i = 0; i < xs.length; i++) w -= lr * (2 * xs[i] * (xs[i] * w - ys[i]));
      const last = xs.length - 1;
      rows.push({ epoch, w, loss: (xs[last] * w - ys[last]) ** 2 });
    }
  }
  return rows;
}

/** The engine's w and loss per epoch, in the tutorial's convention. */
function engineEpochs(mode, frames) {
  const rows = [];
  if (mode === "batch") {
    for (let k = 0; k + 1 < frames.length; k++) rows.push({ epoch: k, w: frames[k + 1].x, loss: frames[k].loss });
    return rows;
  }
  // Per sample: w after epoch e is the point of the first frame of epoch e + 1; the tutorial
  // prints the loss of the last sample at that w.
  const { x: xs, y: ys } = TUTORIAL_DATA;
  const last = xs.length - 1;
  for (let e = 0; ; e++) {
    const frame = frames[(e + 1) * xs.length];
    if (!frame) break;
    rows.push({ epoch: e, w: frame.x, loss: (xs[last] * frame.x - ys[last]) ** 2 });
  }
  return rows;
}

class EpochsFigure {
  constructor(host, app, mode) {
    this.host = host;
    this.app = app;
    this.mode = mode;
    this.chart = el("div", { class: "lesson-chart", "data-testid": "lesson-epoch-chart" });
  }

  /** Whether the selected run is the tutorial's loop (any lr, w and length). */
  tutorialSetup(request) {
    const s = request.surface;
    const hp = request.hyperparameters;
    const batches = this.mode === "batch" ? s.batch_size == null : s.batch_size === 1 && s.shuffle === false;
    return (
      typeof s === "object" &&
      s.model === "linear_regression" &&
      s.dataset === "tiny" &&
      s.bias === false &&
      batches &&
      request.optimizer === "SGD" &&
      !(hp.momentum > 0) &&
      !(hp.weight_decay > 0) &&
      !request.scheduler &&
      !request.clip &&
      !request.noise
    );
  }

  update() {
    const entry = selectedEntry(this.app);
    if (!entry || entry.frames.length < 2 || entry.status === "running") {
      this.host.replaceChildren(waiting(t("Waiting for the run to finish…")));
      return;
    }
    const { request, frames } = entry;
    if (!this.tutorialSetup(request)) {
      const what = this.mode === "batch" ? t("full-batch") : t("per-sample, in data order");
      this.host.replaceChildren(note(t("The tutorial's loop is plain SGD on y = w·x over x = [1, 2, 3], y = [2, 4, 6], {what}; this run is something else. Reset the step to compare.", { what })));
      return;
    }
    const engine = engineEpochs(this.mode, frames);
    const stepsPerEpoch = this.mode === "batch" ? 1 : TUTORIAL_DATA.x.length;
    const epochs = Math.floor(request.steps / stepsPerEpoch);
    const tutorial = tutorialLoop(this.mode, request.start[0], request.hyperparameters.lr, epochs);
    let worstW = 0;
    let worstLoss = 0;
    const rows = engine.map((row) => {
      const mine = tutorial[row.epoch];
      worstW = Math.max(worstW, Math.abs(mine.w - row.w) / Math.max(1, Math.abs(mine.w)));
      worstLoss = Math.max(worstLoss, Math.abs(mine.loss - row.loss) / Math.max(1e-300, Math.abs(mine.loss)));
      return [row.epoch, mine.w.toPrecision(12), row.w.toPrecision(12), mine.loss.toPrecision(6), row.loss.toPrecision(6)];
    });
    const agree = worstW <= 1e-12 && worstLoss <= 1e-9;
    const lastW = engine.length ? engine[engine.length - 1].w : request.start[0];
    const parts = [
      verdict(
        agree,
        t("{n} epochs: losslab's torch run and the tutorial's own loop agree (largest relative difference: w {dw}, loss {dl}).", { n: engine.length, dw: worstW.toExponential(1), dl: worstLoss.toExponential(1) }),
        t("losslab and the tutorial's loop differ: w by up to {dw}.", { dw: worstW.toExponential(1) }),
      ),
      note(t("Predict (after training): forward(4) = 4·w = {value}", { value: (4 * lastW).toPrecision(10) })),
    ];
    if (engine.length < epochs) {
      parts.push(note(t("losslab stopped after {n} epochs: the gradient and the step fell below {tol} (float64), so the run converged; the tutorial's loop goes on for {total} epochs without moving w measurably.", { n: engine.length, tol: "1.5e-8", total: epochs })));
    }
    if (this.mode === "sample") parts.push(note(t("As in the tutorial, the loss printed per epoch is the last sample's, (3·w − 6)², at the w after that epoch.")));
    this.host.replaceChildren(
      this.chart,
      ...parts,
      el("details", { class: "lesson-details" }, el("summary", { text: t("Every epoch: w and loss") }), el("div", "lesson-scroll lesson-scroll-tall", table([t("epoch"), t("w (tutorial loop)"), t("w (losslab)"), t("loss (tutorial loop)"), t("loss (losslab)")], rows, "lesson-table lesson-table-mono"))),
    );
    this.draw(engine, tutorial.slice(0, Math.max(engine.length, 1)));
  }

  async draw(engine, tutorial) {
    const Plotly = await plotlyReady;
    const layout = {
      ...baseLayout(),
      height: 200,
      margin: { l: 54, r: 8, t: 8, b: 34 },
      xaxis: { ...STEP_AXIS, title: { text: t("epoch"), standoff: 4 } },
      yaxis: { gridcolor: "#eef0f4", title: { text: t("loss"), standoff: 4 }, type: "log", exponentformat: "power" },
      legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 1, xanchor: "right", font: { size: 10 } },
      showlegend: true,
    };
    const positive = (rows) => rows.filter((r) => r.loss > 0);
    const traces = [
      { x: positive(tutorial).map((r) => r.epoch), y: positive(tutorial).map((r) => r.loss), mode: "lines", name: t("tutorial's loop"), line: { color: "#8a93a3", width: 4 } },
      { x: positive(engine).map((r) => r.epoch), y: positive(engine).map((r) => r.loss), mode: "markers", name: t("losslab (torch)"), marker: { color: PALETTE[0], size: 4 } },
    ];
    Plotly.react(this.chart, traces, layout, { ...CONFIG, responsive: true });
  }
}

/** sigmoid, tanh and ReLU with their autograd derivatives (GET /api/activations). */
class ActivationsFigure {
  constructor(host, app) {
    this.host = host;
    this.app = app;
    this.chart = el("div", { class: "lesson-chart lesson-chart-tall", "data-testid": "lesson-activation-chart" });
    this.summary = el("div", "lesson-activation-summary");
    this.loaded = false;
  }

  update() {
    if (this.loaded) return;
    this.loaded = true;
    this.host.replaceChildren(this.chart, this.summary);
    this.load();
  }

  async load() {
    try {
      const data = await (await send("/api/activations?x_min=-8&x_max=8&points=321")).json();
      const Plotly = await plotlyReady;
      const colors = { sigmoid: PALETTE[1], tanh: PALETTE[4], relu: PALETTE[2] };
      const names = { sigmoid: "sigmoid", tanh: "tanh", relu: "ReLU" };
      const traces = [];
      for (const [name, curve] of Object.entries(data.functions)) {
        traces.push({ x: data.x, y: curve.value, mode: "lines", name: names[name], line: { color: colors[name], width: 2 } });
        traces.push({ x: data.x, y: curve.grad, mode: "lines", name: t("{name} gradient", { name: names[name] }), line: { color: colors[name], width: 2, dash: "dot" } });
      }
      const shapes = data.functions.sigmoid.vanishing.map(([a, b]) => ({ type: "rect", xref: "x", yref: "paper", x0: a, x1: b, y0: 0, y1: 1, fillcolor: "rgba(194,37,92,0.07)", line: { width: 0 } }));
      const layout = {
        ...baseLayout(),
        height: 250,
        margin: { l: 36, r: 8, t: 8, b: 30 },
        xaxis: { ...STEP_AXIS, rangemode: "normal", title: { text: "x", standoff: 2 } },
        yaxis: { gridcolor: "#eef0f4", range: [-1.15, 1.6], zeroline: true, zerolinecolor: "#d5dae2" },
        legend: { orientation: "h", y: -0.22, font: { size: 10 } },
        shapes,
      };
      Plotly.react(this.chart, traces, layout, CONFIG);
      const below = data.vanishing_below;
      const rows = Object.entries(data.functions).map(([name, curve]) => {
        const where = curve.vanishing.map(([a, b]) => `[${fmt(a, 3)}, ${fmt(b, 3)}]`).join(", ") || t("nowhere in this range");
        return [names[name], fmt(curve.max_grad, 3), where];
      });
      this.summary.replaceChildren(
        table([t("function"), t("largest gradient"), t("gradient below {below}", { below })], rows),
        note(t("Shaded: where sigmoid's gradient is under {below}. Each sigmoid layer multiplies the gradient by at most 0.25, so it fades through many layers; ReLU passes 1 wherever x > 0 (and 0 where x < 0).", { below })),
      );
    } catch (error) {
      this.host.replaceChildren(note(errorText(error)));
    }
  }
}

/** MSE on the sigmoid against cross-entropy, from the selected run's start and settings. */
class LossCompareFigure {
  constructor(host, app) {
    this.host = host;
    this.app = app;
    this.chart = el("div", { class: "lesson-chart lesson-chart-tall", "data-testid": "lesson-loss-chart" });
    this.text = el("div", "lesson-compare-text");
    this.key = "";
    this.abort = null;
  }

  update() {
    const entry = selectedEntry(this.app);
    const request = entry && runRequest(this.app.state, entry.run);
    if (!request || typeof request.surface !== "object" || request.surface.model !== "logistic_regression") {
      this.host.replaceChildren(note(t("This figure compares the two losses on the logistic regression model.")));
      this.key = "";
      return;
    }
    const key = JSON.stringify({ ...request, surface: { ...request.surface, loss: null } });
    if (key === this.key) return;
    this.key = key;
    this.abort?.abort();
    this.abort = new AbortController();
    this.host.replaceChildren(this.chart, this.text);
    this.text.replaceChildren(waiting(t("Running both losses…")));
    this.load(request, this.abort.signal);
  }

  async load(request, signal) {
    const losses = [
      ["mse", t("MSE on sigmoid")],
      ["cross_entropy", t("cross-entropy")],
    ];
    try {
      const runs = await Promise.all(losses.map(([loss]) => postJSON("/api/runs", { ...request, surface: { ...request.surface, loss } }, signal)));
      const Plotly = await plotlyReady;
      const traces = [];
      runs.forEach((run, i) => {
        const steps = run.frames.map((f) => f.step);
        const color = [PALETTE[1], PALETTE[4]][i];
        traces.push({ x: steps, y: run.frames.map((f) => f.loss), mode: "lines", name: t("{loss}: loss", { loss: losses[i][1] }), line: { color, width: 2 } });
        traces.push({ x: steps, y: run.frames.map((f) => Math.hypot(...(f.true_grad || f.grad))), mode: "lines", name: t("{loss}: gradient norm", { loss: losses[i][1] }), yaxis: "y2", line: { color, width: 1.5, dash: "dot" } });
      });
      const layout = {
        ...baseLayout(),
        height: 250,
        // Room for the right axis's powers of ten, on a phone too.
        margin: { l: 44, r: 54, t: 8, b: 30 },
        xaxis: { ...STEP_AXIS, title: { text: t("step"), standoff: 2 } },
        yaxis: { gridcolor: "#eef0f4", title: { text: t("loss"), standoff: 2 } },
        yaxis2: { overlaying: "y", side: "right", type: "log", showgrid: false, title: { text: t("gradient norm"), standoff: 2 }, exponentformat: "power" },
        legend: { orientation: "h", y: -0.25, font: { size: 10 } },
      };
      Plotly.react(this.chart, traces, layout, CONFIG);
      const rows = runs.map((run, i) => {
        const first = run.frames[0];
        const last = run.frames[run.frames.length - 1];
        return [losses[i][1], fmt(Math.hypot(...(first.true_grad || first.grad)), 3), run.summary.steps_taken, fmt(last.loss, 4), statusText(run.status)];
      });
      this.text.replaceChildren(
        table([t("loss"), t("gradient at the start"), t("steps"), t("final loss"), t("status")], rows),
        note(t("Both runs start at the same (w, b) with the same optimizer. Where the sigmoid saturates, MSE's gradient carries the sigmoid's tiny slope and the run barely moves; cross-entropy's does not.")),
      );
    } catch (error) {
      if (signal.aborted) return;
      this.text.replaceChildren(note(errorText(error)));
    }
  }
}

/** The page's runs as measurements beside tutorial 004's table of claims. */
class OptimizerTableFigure {
  constructor(host, app) {
    this.host = host;
    this.app = app;
  }

  update() {
    const entries = this.app.entries();
    const rows = TUTORIAL_TABLE.map((claim) => {
      const entry = entries.find((e) => claim.match(e.request));
      const measured = !entry
        ? [t("not on the page"), "", ""]
        : entry.status === "running" || !entry.analysis
          ? [t("running…"), "", ""]
          : [statusText(entry.status), entry.status === "converged" ? String(entry.lastStep) : "—", fmt(entry.frames[entry.frames.length - 1]?.loss, 3)];
      return [claim.name, WORDS[claim.speed](), WORDS[claim.memory](), WORDS[claim.sensitivity](), ...measured];
    });
    this.host.replaceChildren(
      el("div", "lesson-scroll", table([t("optimizer"), t("speed (claim)"), t("memory (claim)"), t("lr sensitivity (claim)"), t("status here"), t("steps to converge"), t("final loss")], rows)),
      note(t("Claims from the tutorial's table; the last three columns are measured on this page. The Benchmark (top bar) measures them properly: every optimizer tuned on the same lr grid, from the same seeded starts.")),
    );
  }
}
