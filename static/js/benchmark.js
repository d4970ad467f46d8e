// The benchmark panel (POST /api/benchmarks/stream): the chosen optimizers, each run at every
// lr of one log grid from the same seeded starts on the chosen surfaces and judged at its best
// lr on each. The answer shows as a protocol line, a heatmap of success, success-against-lr
// curves and a sortable table; a cell or a row loads its run (the optimizer and its fixed
// settings at the tuned lr, from one of the starts it ran) as a preset loads its runs.
//
// Hooks: data-testid benchmark-open (header), benchmark-panel, benchmark-close. The form:
// bench-optimizers (items bench-optimizer[data-label], each with bench-remove), bench-add
// (the picker), bench-add-run, bench-surface (checkboxes, value the surface's name),
// bench-steps, bench-starts, bench-lr-min, bench-lr-max, bench-lr-n, bench-seed, bench-run,
// bench-progress, bench-cancel, bench-status, bench-error. The answer: bench-protocol,
// bench-rules, bench-heatmap (trace meta.role "bench-success"), bench-curves-surface,
// bench-curves ("bench-curve", "bench-tuned"), bench-table-box, bench-table (th[data-sort]
// with aria-sort; rows bench-row[data-optimizer][data-surface], cells td[data-col] holding
// the exact value in data-value), bench-export-csv, -markdown, -json.
// window.losslab.benchmark is {request, answer, running}.

/* global Plotly */

import { errorText } from "./api.js";
import { runSpec } from "./catalog.js";
import { el } from "./dom.js";
import { download } from "./exporting.js";
import { fmt } from "./format.js";
import { readNumber } from "./helpers.js";
import { limits } from "./limits.js";
import { HOVER, numberText, streamMap } from "./maps.js";
import { Picker } from "./picker.js";
import { CONFIG, FRAMED_AXIS, INK, baseLayout, escapeHover, plotlyReady } from "./plots.js";
import { defaults } from "./state.js";
import { t, ts } from "./i18n.js";

/** One colour per optimizer of an answer, twelve far apart (the runs' eight have near twins). */
const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#637939",
];
/** Success rate, pale to deep. */
const SUCCESS_SCALE = [
  [0, "#f3f4f7"],
  [0.35, "#cfe8d6"],
  [0.7, "#6cbf8a"],
  [1, "#1f7a45"],
];

const percent = (v) => `${Math.round(v * 100)}%`;
const valueText = (v) => (Array.isArray(v) ? v.map((x) => fmt(x)).join("/") : fmt(v));
const settingsText = (values) =>
  Object.entries(values)
    .map(([name, value]) => `${name} ${valueText(value)}`)
    .join(", ");
const medianSteps = (steps) => t("median {steps} steps", { steps: fmt(steps) });
/** The protocol's rules by name (the API's keys), as the page says them. */
const RULE_NAMES = {
  success: t("success"),
  starts: t("starts"),
  tuning: t("tuning"),
  interval: t("interval"),
  sensitivity: t("sensitivity"),
  final_loss: t("final loss"),
  rank: t("rank"),
  memory: t("memory"),
  step_cost: t("step cost"),
};
const ruleName = (name) => RULE_NAMES[name] || name.replaceAll("_", " ");
/** Whether a benchmark can tune a run of `spec` (catalog.runSpec): it has an lr. */
const tunable = (spec) => Boolean(spec && spec.hyperparameters.some((hp) => hp.name === "lr"));
/** Room over a plot for Plotly's PNG button: a finger's size on a phone (app.css). */
const topRoom = () => (window.matchMedia("(max-width: 720px)").matches ? 48 : 14);

/** The table's columns: heading, tooltip, the value sorted by (missing last), the cell. */
const COLUMNS = [
  {
    key: "overall",
    head: "#",
    title: t("Overall rank: by the mean of the optimizer's ranks on each surface"),
    value: (r, b) => b.optimizer(r).rank,
  },
  {
    key: "optimizer",
    head: t("optimizer"),
    value: (r) => r.optimizer,
    cell: (r, b) => [
      el("span", { class: "swatch", style: `--run-color: ${b.optimizer(r).color}` }),
      r.optimizer,
    ],
  },
  { key: "surface", head: t("surface"), value: (r, b) => ts(b.surface(r).title) },
  {
    key: "tuned_lr",
    head: t("tuned lr"),
    title: t("The grid's lr with the highest success rate (ties: fewer steps, lower loss, lower lr)"),
    value: (r) => r.tuned_lr,
    cell: (r, b) => {
      if (!r.tuned_at_edge) return fmt(r.tuned_lr, 3);
      const low = r.tuned_lr <= b.answer.protocol.lr.values[0];
      const title = low
        ? t("The grid's lowest lr: a lower one may do better (widen the grid)")
        : t("The grid's highest lr: a higher one may do better (widen the grid)");
      const mark = el("span", { class: "bench-edge", title, text: low ? t("◂ edge") : t("edge ▸") });
      return [fmt(r.tuned_lr, 3), mark];
    },
  },
  {
    key: "success",
    head: t("success"),
    title: t("Runs that reached the target at the tuned lr, and the 95% Wilson interval of the rate"),
    value: (r) => r.success_rate,
    cell: (r) => [
      el("b", { text: `${r.successes}/${r.runs}` }),
      el("span", {
        class: "bench-ci",
        text: `${Math.round(r.interval[0] * 100)}–${percent(r.interval[1])}`,
      }),
    ],
  },
  {
    key: "median_steps",
    head: t("median steps"),
    title: t("Median steps to the target over the runs that reached it"),
    value: (r) => r.median_steps,
  },
  {
    key: "final_loss",
    head: t("final loss"),
    title: t("Median final loss over the runs that did not diverge"),
    value: (r) => (r.final_loss ? r.final_loss.median : null),
  },
  {
    key: "diverged",
    head: t("diverged"),
    title: t("Runs at the tuned lr that left the bounds or went non-finite"),
    value: (r) => r.diverged,
    cell: (r) =>
      r.diverged ? el("span", { class: "bench-bad", text: `${r.diverged}/${r.runs}` }) : "0",
  },
  {
    key: "sensitivity",
    head: t("lr range"),
    title: t("lr sensitivity: the decades of lr around the tuned one that keep 90% of its success"),
    value: (r) => r.sensitivity_decades,
    cell: (r) =>
      r.sensitivity_decades === null ? "–" : t("{n} dec", { n: fmt(r.sensitivity_decades, 2) }),
  },
  {
    key: "state",
    head: t("state B/param"),
    title: t("Bytes of optimizer state per parameter element"),
    value: (r, b) => b.optimizer(r).state_bytes_per_parameter,
  },
  {
    key: "step",
    head: t("step µs"),
    title: t("Median µs of one optimizer.step() on a 64×64 parameter, measured on the server"),
    value: (r, b) => {
      const seconds = b.optimizer(r).step_seconds;
      return typeof seconds === "number" ? seconds * 1e6 : null;
    },
  },
];

/** Two sort values in `dir` (1 or −1), with missing values last either way. */
function compare(a, b, dir) {
  const missing = (v) => v === null || v === undefined || Number.isNaN(v);
  if (missing(a) || missing(b)) return missing(a) - missing(b);
  return dir * (typeof a === "string" ? a.localeCompare(b) : a - b);
}

export class Benchmark {
  /** `host`: {state, specs (Map), surfaces (the API's list), defaults (the default
   * benchmark's request, GET /api/benchmarks/defaults), newId(), closeMaps()}. */
  constructor({ button, panel, host }) {
    this.button = button;
    this.panel = panel;
    this.host = host;
    this.defaults = host.defaults;
    this.entries = structuredClone(this.defaults.optimizers);
    this.request = null;
    this.answer = null;
    this.controller = null;
    this.sort = { key: "overall", dir: 1 };
    this.loaded = -1;
    this.plotKey = "";
    // Each element by its hook: a data-testid, or for the rest a data-bench-* attribute.
    const q = (hook) => panel.querySelector(`[data-testid="${hook}"], [data-bench-${hook}]`);
    this.dom = {
      form: q("form"),
      list: q("bench-optimizers"),
      count: q("count"),
      addRun: q("bench-add-run"),
      addRunLabel: q("add-run-label"),
      note: q("note"),
      surfaces: q("bench-surfaces"),
      surfaceSet: q("surfaces"),
      size: q("size"),
      run: q("bench-run"),
      progress: q("progress"),
      bar: q("bench-progress"),
      percent: q("percent"),
      status: q("bench-status"),
      error: q("bench-error"),
      empty: q("empty"),
      results: q("answer"),
      protocol: q("bench-protocol"),
      rules: q("rules"),
      heatmap: q("bench-heatmap"),
      curvesSurface: q("bench-curves-surface"),
      curves: q("bench-curves"),
      head: q("head"),
      rows: q("rows"),
    };
    this.boxes = [...this.dom.form.querySelectorAll("input.num")];
    for (const box of this.boxes) box.value = numberText(this.budgetDefault(box.name));
    this.boxes.find((box) => box.name === "steps").max = String(limits.max_benchmark_steps);
    this.buildSurfaces();
    this.buildPicker();
    this.bind();
    Object.defineProperty(window.losslab, "benchmark", {
      get: () => ({
        request: this.request,
        answer: this.answer,
        running: Boolean(this.controller),
      }),
    });
  }

  /** A budget box's default: `name` is the request's field, "lr.min" for a nested one. */
  budgetDefault(name) {
    return name.split(".").reduce((value, key) => value[key], this.defaults);
  }

  buildSurfaces() {
    for (const surface of this.host.surfaces) {
      const box = el("input", {
        type: "checkbox",
        value: surface.name,
        checked: this.defaults.surfaces.includes(surface.name),
        "data-testid": "bench-surface",
      });
      const label = el("label", { class: "check-row", title: ts(surface.description) }, box);
      label.append(el("span", { text: ts(surface.title) }));
      this.dom.surfaces.append(label);
    }
  }

  /** The picker of the catalogue's optimizers a benchmark can tune (a wrapper by its base). */
  buildPicker() {
    const specs = this.host.specs;
    const only = [...specs.values()]
      .filter((spec) => !spec.excluded && tunable(runSpec(specs, spec.name, {})))
      .map((spec) => spec.name);
    const root = Picker.create({
      label: t("Add an optimizer"),
      testid: "bench-add",
      title: t("Any optimizer of the catalogue with a learning rate, at its defaults"),
      specs: [...specs.values()],
      only,
      noun: t("optimizers with an lr"),
      one: t("optimizer with an lr"),
      onPick: (name) => {
        root.picker.set("");
        this.add({ name, hyperparameters: {} });
      },
    });
    root.querySelector("input").placeholder = t("type a name…");
    this.panel.querySelector("[data-bench-picker]").append(root);
  }

  bind() {
    const d = this.dom;
    const on = (hook, fn) =>
      this.panel.querySelector(`[data-testid="${hook}"]`).addEventListener("click", fn);
    this.button.addEventListener("click", () => this.setOpen(this.panel.hidden));
    on("benchmark-close", () => this.setOpen(false));
    on("bench-add-run", () => this.add(this.selectedEntry()));
    on("bench-cancel", () => this.controller && this.controller.abort());
    on("bench-export-csv", () => this.exportAs("csv"));
    on("bench-export-markdown", () => this.exportAs("md"));
    on("bench-export-json", () => this.exportAs("json"));
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false);
    });
    d.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.run();
    });
    d.form.addEventListener("input", () => this.renderSize());
    d.list.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-testid=bench-remove]");
      if (!remove) return;
      this.entries.splice(Number(remove.dataset.index), 1);
      this.renderForm();
    });
    d.head.addEventListener("click", (event) => {
      const th = event.target.closest("th[data-sort]");
      if (!th) return;
      const key = th.dataset.sort;
      this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : 1 };
      this.renderTable();
    });
    d.rows.addEventListener("click", (event) => {
      const tr = event.target.closest("tr[data-index]");
      if (tr) this.load(Number(tr.dataset.index));
    });
    d.rows.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr[data-index]");
      if (!tr || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();
      this.load(Number(tr.dataset.index));
    });
    d.curvesSurface.addEventListener("change", () => this.draw());
    const resized = new ResizeObserver(() => this.draw());
    resized.observe(d.heatmap);
    resized.observe(d.curves);
  }

  setOpen(open) {
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    // The page behind is out of reach (the keyboard's too) while the panel covers it.
    document.querySelector(".layout").inert = open;
    document.body.classList.toggle("bench-open", open);
    if (open) {
      this.renderForm();
      this.plotKey = "";
      this.draw();
      this.dom.run.focus({ preventScroll: true });
    } else if (hadFocus) this.button.focus();
  }

  // ---- the form ----------------------------------------------------------------------

  /** Add an entry unless one with the same optimizer and settings is there already. */
  add(entry) {
    if (!entry) return;
    const key = (e) => JSON.stringify([e.name, e.hyperparameters]);
    const same = this.entries.find((e) => key(e) === key(entry));
    const name = same && (same.label || this.title(same));
    this.dom.note.textContent = same ? t("{name} is in the list already.", { name }) : "";
    this.dom.note.hidden = !same;
    if (!same) this.entries.push(entry);
    this.renderForm();
  }

  /** The selected run's optimizer and the settings it changed from their defaults (not lr). */
  selectedEntry() {
    const run = this.host.state.selectedRun;
    const spec = run && runSpec(this.host.specs, run.optimizer, run.hyperparameters);
    if (!tunable(spec)) return null;
    const hyperparameters = {};
    for (const hp of spec.hyperparameters) {
      const value = run.hyperparameters[hp.name];
      if (hp.name === "lr" || value === undefined) continue;
      if (JSON.stringify(value) !== JSON.stringify(hp.default)) {
        hyperparameters[hp.name] = structuredClone(value);
      }
    }
    return { name: run.optimizer, hyperparameters };
  }

  /** What the API calls an entry without a label: its name and fixed settings. */
  title(entry) {
    const settings = Object.entries(entry.hyperparameters).map(([k, v]) => `${k}=${valueText(v)}`);
    return [entry.name, ...settings].join(" ");
  }

  renderForm() {
    const d = this.dom;
    d.list.replaceChildren(
      ...this.entries.map((entry, index) => {
        const name = entry.label || entry.name;
        const settings = settingsText(entry.hyperparameters);
        const sub = entry.label ? [entry.name, settings].filter(Boolean).join(", ") : settings;
        const item = el("li", {
          class: "bench-optimizer",
          "data-testid": "bench-optimizer",
          "data-label": entry.label || this.title(entry),
        });
        const main = el("span", { class: "bench-opt-main" });
        main.append(el("span", { class: "bench-opt-name", text: name }));
        if (sub) main.append(el("span", { class: "bench-opt-settings", text: sub }));
        const remove = el("button", {
          type: "button",
          class: "bench-remove",
          "data-testid": "bench-remove",
          "data-index": String(index),
          "aria-label": t("Remove {name}", { name }),
          title: t("Remove {name} from the benchmark", { name }),
          text: "×",
        });
        item.append(main, remove);
        return item;
      }),
    );
    d.count.textContent = t("{n} of {max}", {
      n: this.entries.length,
      max: limits.max_benchmark_optimizers,
    });
    // The selected run's optimizer, offered as it is set (the page behind cannot change while
    // the panel is open).
    const state = this.host.state;
    const entry = this.selectedEntry();
    const index = state.runs.indexOf(state.selectedRun) + 1;
    d.addRun.hidden = !entry;
    if (entry) {
      const settings = settingsText(entry.hyperparameters);
      d.addRunLabel.textContent = settings
        ? t("Run {index}'s {optimizer}, {settings}", { index, optimizer: entry.name, settings })
        : t("Run {index}'s {optimizer}", { index, optimizer: entry.name });
      d.addRun.title = t(
        "Add run {index}'s optimizer with its settings fixed (its lr is what the benchmark tunes; its schedule, clipping and noise are left out)",
        { index },
      );
    }
    this.renderSize();
  }

  surfaceNames() {
    return [...this.dom.surfaces.querySelectorAll("input:checked")].map((box) => box.value);
  }

  renderSize() {
    const read = (name) => readNumber(this.boxes.find((box) => box.name === name));
    const [steps, starts, n] = [read("steps"), read("starts"), read("lr.n")];
    const [o, s] = [this.entries.length, this.surfaceNames().length];
    const runs = o * s * n * starts;
    this.dom.size.textContent =
      steps && starts && n
        ? t("{optimizers} × {surfaces} × {lrs} × {starts}: {runs} of {steps}", {
            optimizers: o === 1 ? t("1 optimizer") : t("{n} optimizers", { n: o }),
            surfaces: s === 1 ? t("1 surface") : t("{n} surfaces", { n: s }),
            lrs: n === 1 ? t("1 lr") : t("{n} lrs", { n }),
            starts: starts === 1 ? t("1 start") : t("{n} starts", { n: starts }),
            runs: runs === 1 ? t("1 run") : t("{n} runs", { n: runs.toLocaleString("en") }),
            steps: steps === 1 ? t("1 step") : t("{n} steps", { n: steps }),
          })
        : "";
  }

  /** The form's request, or null (its boxes marked) when a box holds no number. */
  body() {
    const values = {};
    for (const box of this.boxes) {
      values[box.name] = readNumber(box);
      if (values[box.name] === null) box.setAttribute("aria-invalid", "true");
    }
    const bad = this.boxes.filter((box) => values[box.name] === null).map((box) => box.name);
    if (bad.length) {
      this.fail(t("{fields}: a number, please.", { fields: bad.join(t(", ")) }));
      return null;
    }
    return {
      optimizers: this.entries.map(({ name, hyperparameters, label }) =>
        label ? { name, hyperparameters, label } : { name, hyperparameters },
      ),
      surfaces: this.surfaceNames(),
      steps: values.steps,
      starts: values.starts,
      lr: { min: values["lr.min"], max: values["lr.max"], n: values["lr.n"] },
      seed: values.seed,
    };
  }

  // ---- running -----------------------------------------------------------------------

  async run() {
    if (this.controller) return;
    this.clearMarks();
    const body = this.body();
    if (!body) return;
    const controller = new AbortController();
    this.controller = controller;
    const d = this.dom;
    const [o, s] = [body.optimizers.length, body.surfaces.length];
    const running = t("Running {optimizers} × {surfaces}…", {
      optimizers: o === 1 ? t("1 optimizer") : t("{n} optimizers", { n: o }),
      surfaces: s === 1 ? t("1 surface") : t("{n} surfaces", { n: s }),
    });
    this.progress(0);
    d.progress.hidden = false;
    d.run.disabled = true;
    d.run.setAttribute("aria-busy", "true");
    d.status.textContent = running;
    try {
      const answer = await streamMap("/api/benchmarks/stream", body, {
        signal: controller.signal,
        binary: false,
        onProgress: (fraction) => this.progress(fraction),
        onWait: (seconds) => {
          d.status.textContent = seconds
            ? t("The server is busy: trying again in {seconds} s…", { seconds })
            : running;
        },
      });
      this.show(body, answer);
      d.status.textContent = t("Done in {seconds} s. Click a cell or a row to watch its run.", {
        seconds: fmt(answer.seconds, 2),
      });
    } catch (error) {
      if (error.name === "AbortError") {
        d.status.textContent = this.answer
          ? t("Cancelled: the server stopped the benchmark. The results shown are the previous one's.")
          : t("Cancelled: the server stopped the benchmark.");
      } else {
        d.status.textContent = "";
        this.fail(
          t("Could not run the benchmark: {error}", { error: errorText(error, { withField: true }) }),
        );
        this.mark(error.detail);
      }
    } finally {
      this.controller = null;
      d.progress.hidden = true;
      d.run.disabled = false;
      d.run.removeAttribute("aria-busy");
    }
  }

  progress(fraction) {
    const p = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    this.dom.bar.value = p;
    this.dom.bar.textContent = `${p}%`;
    this.dom.percent.textContent = `${p}%`;
  }

  fail(message) {
    this.dom.error.textContent = message;
    this.dom.error.hidden = false;
  }

  clearMarks() {
    this.dom.error.hidden = true;
    for (const node of this.panel.querySelectorAll("[aria-invalid], .is-invalid")) {
      node.removeAttribute("aria-invalid");
      node.classList.remove("is-invalid");
    }
  }

  /**
   * Mark the field a 422 names (`loc`: ["body", "lr", "max"], ["body", "optimizers", 2, ...])
   * and bring it into view.
   */
  mark(detail) {
    const loc = Array.isArray(detail) && Array.isArray(detail[0]?.loc) ? detail[0].loc : [];
    const [field, index] = loc.filter((part) => part !== "body");
    const box = this.boxes.find((b) => b.name === (field === "lr" ? `lr.${index}` : field));
    let marked = box;
    if (box) box.setAttribute("aria-invalid", "true");
    else if (field === "optimizers") {
      marked = (Number.isInteger(index) && this.dom.list.children[index]) || this.dom.list;
    } else if (field === "surfaces") marked = this.dom.surfaceSet;
    if (!marked) return;
    if (!box) marked.classList.add("is-invalid");
    marked.scrollIntoView({ block: "center" });
    if (box) box.focus({ preventScroll: true });
  }

  // ---- the answer --------------------------------------------------------------------

  show(request, answer) {
    this.request = request;
    this.answer = answer;
    this.loaded = -1;
    this.sort = { key: "overall", dir: 1 };
    const color = (k) => COLORS[k % COLORS.length];
    this.byLabel = new Map(
      answer.optimizers.map((o, k) => [o.label, { ...o, index: k, color: color(k) }]),
    );
    this.bySurface = new Map(answer.surfaces.map((s) => [s.name, s]));
    this.dom.empty.hidden = true;
    this.dom.results.hidden = false;
    this.renderProtocol();
    const select = this.dom.curvesSurface;
    const keep = select.value;
    select.replaceChildren(...answer.surfaces.map((s) => new Option(ts(s.title), s.name)));
    if (this.bySurface.has(keep)) select.value = keep;
    this.renderTable();
    this.plotKey = "";
    this.draw();
  }

  optimizer(row) {
    return this.byLabel.get(row.optimizer);
  }

  surface(row) {
    return this.bySurface.get(row.surface);
  }

  renderProtocol() {
    const { protocol: p, surfaces } = this.answer;
    const v = p.versions;
    this.dom.protocol.textContent = t(
      "lr {min} to {max}, {n} values (log) · {starts} starts per surface (seed {seed}) · {steps} steps · tolerance {tolerance} · {dtype} · losslab {losslab}, torch {torch}, pytorch_optimizer {pytorch_optimizer}, Python {python}",
      {
        min: numberText(p.lr.min),
        max: numberText(p.lr.max),
        n: p.lr.n,
        starts: p.starts,
        seed: p.seed,
        steps: p.steps,
        tolerance: numberText(p.tolerance),
        dtype: p.dtype,
        losslab: v.losslab,
        torch: v.torch,
        pytorch_optimizer: v.pytorch_optimizer,
        python: v.python,
      },
    );
    const rules = Object.entries(p.rules).map(([name, text]) => [ruleName(name), ts(text)]);
    this.dom.protocol.title = rules
      .map(([name, text]) => t("{field}: {message}", { field: name, message: text }))
      .join("\n\n");
    const targets = surfaces.map((s) => [
      t("target, {surface}", { surface: ts(s.title) }),
      t("loss ≤ {target}: {rule}", { target: fmt(s.target, 4), rule: ts(s.target_rule) }),
    ]);
    this.dom.rules.replaceChildren(
      ...[...rules, ...targets].flatMap(([name, text]) => [
        el("dt", { text: name }),
        el("dd", { text }),
      ]),
    );
  }

  renderTable() {
    const { key, dir } = this.sort;
    this.dom.head.replaceChildren(
      ...COLUMNS.map((c) => {
        const sorted = c.key === key;
        const th = el("th", {
          scope: "col",
          "data-sort": c.key,
          "aria-sort": sorted ? (dir > 0 ? "ascending" : "descending") : "none",
        });
        const arrow = el("span", { class: "bench-arrow", "aria-hidden": "true" });
        arrow.textContent = sorted ? (dir > 0 ? "▲" : "▼") : "";
        const title = c.title || t("Sort by {column}", { column: c.head });
        th.append(el("button", { type: "button", class: "bench-sort", title }, c.head, arrow));
        return th;
      }),
    );
    const column = COLUMNS.find((c) => c.key === key);
    const order = this.answer.rows
      .map((row, index) => ({ row, index, value: column.value(row, this) }))
      .sort((a, b) => compare(a.value, b.value, dir) || a.index - b.index);
    this.dom.rows.replaceChildren(...order.map(({ row, index }) => this.tableRow(row, index)));
  }

  tableRow(row, index) {
    const surface = this.surface(row);
    const start = surface.starts[row.example_start];
    const tr = el("tr", {
      "data-testid": "bench-row",
      "data-index": String(index),
      "data-optimizer": row.optimizer,
      "data-surface": row.surface,
      tabIndex: 0,
      class: index === this.loaded ? "is-loaded" : null,
      title: t("Watch {optimizer} at lr {lr} on {surface}, from ({start})", {
        optimizer: row.optimizer,
        lr: fmt(row.tuned_lr, 3),
        surface: ts(surface.title),
        start: start.join(", "),
      }),
    });
    for (const c of COLUMNS) {
      const value = c.value(row, this);
      const shown = typeof value === "number" ? fmt(value, 3) : (value ?? "–");
      const td = el("td", { "data-col": c.key, "data-value": JSON.stringify(value ?? null) });
      td.append(...[c.cell ? c.cell(row, this) : shown].flat());
      tr.append(td);
    }
    return tr;
  }

  /** Row `index` becomes the page's one run, as a preset's runs do; the panel steps aside. */
  load(index) {
    const { protocol, rows } = this.answer;
    const row = rows[index];
    const entry = this.optimizer(row);
    const spec = runSpec(this.host.specs, entry.name, entry.hyperparameters);
    const run = {
      id: this.host.newId(),
      optimizer: entry.name,
      hyperparameters: {
        ...(spec ? defaults(spec) : {}),
        ...structuredClone(entry.hyperparameters),
        lr: row.tuned_lr,
      },
    };
    const [x, y] = this.surface(row).starts[row.example_start];
    this.loaded = index;
    this.renderTable();
    this.host.state.set({
      surface: row.surface,
      start: [x, y],
      steps: Math.min(protocol.steps, limits.max_steps),
      dtype: protocol.dtype,
      runs: [run],
      selected: run.id,
      hidden: [],
      preset: "",
      playing: false,
      playhead: null,
    });
    this.host.closeMaps();
    this.setOpen(false);
  }

  exportAs(kind) {
    const answer = this.answer;
    if (!answer) return;
    const name = "losslab-benchmark";
    if (kind === "csv") download(`${name}.csv`, answer.exports.csv, "text/csv");
    else if (kind === "md") download(`${name}.md`, answer.exports.markdown, "text/markdown");
    else {
      const { exports: _, ...rest } = answer;
      download(`${name}.json`, `${JSON.stringify(rest, null, 2)}\n`, "application/json");
    }
  }

  // ---- the plots ---------------------------------------------------------------------

  draw() {
    if (this.panel.hidden || !this.answer) return;
    if (!window.Plotly) {
      plotlyReady.then(() => this.draw());
      return;
    }
    const { heatmap, curves, curvesSurface } = this.dom;
    const size = (node) => ({ width: node.clientWidth, height: node.clientHeight });
    const key = JSON.stringify([size(heatmap), size(curves), curvesSurface.value]);
    if (key === this.plotKey && this.plotted === this.answer) return;
    this.plotKey = key;
    this.plotted = this.answer;
    const narrow = heatmap.clientWidth < 520;
    const heat = { ...this.heatmapLayout(narrow), ...size(heatmap) };
    Plotly.react(heatmap, this.heatmapTraces(narrow), heat, CONFIG);
    const lines = { ...this.curveLayout(curves.clientWidth < 520), ...size(curves) };
    Plotly.react(curves, this.curveTraces(curvesSurface.value), lines, CONFIG);
    if (!heatmap.dataset.bound) {
      heatmap.dataset.bound = "true";
      heatmap.on("plotly_click", (event) => {
        const point = event && event.points && event.points[0];
        const [i, j] = point ? point.pointNumber : [];
        const index = point ? this.cells[i]?.[j] : null;
        if (index !== null && index !== undefined) this.load(index);
      });
    }
  }

  /** Optimizers from the overall best down, surfaces across; narrow, without the colour bar. */
  heatmapTraces(narrow) {
    const { ranking, surfaces, rows } = this.answer;
    const labels = [...ranking].sort((a, b) => a.rank - b.rank).map((r) => r.optimizer);
    const at = new Map(rows.map((row, index) => [`${row.optimizer}\n${row.surface}`, index]));
    this.cells = labels.map((label) => surfaces.map((s) => at.get(`${label}\n${s.name}`) ?? null));
    const cell = (fn) =>
      this.cells.map((line) => line.map((i) => (i === null ? null : fn(rows[i]))));
    const hover = (r) =>
      escapeHover(t("{optimizer} on {surface}", { optimizer: r.optimizer, surface: ts(this.surface(r).title) })) +
      "<br>" +
      escapeHover(
        t("{successes} of {runs} reach the target at lr {lr}", {
          successes: r.successes,
          runs: r.runs,
          lr: fmt(r.tuned_lr, 3),
        }),
      ) +
      "<br>" +
      (r.median_steps === null ? "" : `${escapeHover(medianSteps(r.median_steps))} · `) +
      escapeHover(t("click to watch a run"));
    return [
      {
        type: "heatmap",
        meta: { role: "bench-success" },
        x: surfaces.map((s) => ts(s.title)),
        y: labels,
        z: cell((r) => r.success_rate),
        text: cell((r) => `${r.successes}/${r.runs}`),
        hovertext: cell(hover),
        texttemplate: "%{text}",
        textfont: { size: narrow ? 10.5 : 12 },
        hovertemplate: "%{hovertext}<extra></extra>",
        hoverlabel: HOVER,
        zmin: 0,
        zmax: 1,
        colorscale: SUCCESS_SCALE,
        xgap: 2,
        ygap: 2,
        showscale: !narrow,
        colorbar: {
          title: { text: t("success"), side: "right", font: { size: 11 } },
          thickness: 10,
          outlinewidth: 0,
          tickformat: ".0%",
          tickfont: { size: 10 },
          xpad: 6,
        },
      },
    ];
  }

  /** Narrow, the surfaces' names go under the cells, aslant, and the PNG button over them. */
  heatmapLayout(narrow) {
    const tickfont = { size: 11, color: INK };
    const axis = { ...FRAMED_AXIS, type: "category", showline: false, ticks: "", tickfont };
    return {
      ...baseLayout(),
      margin: { l: 8, r: 8, t: narrow ? topRoom() : 4, b: 8 },
      xaxis: {
        ...axis,
        side: narrow ? "bottom" : "top",
        tickangle: narrow ? -40 : 0,
        automargin: true,
      },
      yaxis: { ...axis, autorange: "reversed", automargin: true },
      dragmode: false,
      hovermode: "closest",
    };
  }

  /** Success against lr on one surface: a line per optimizer, a diamond at its tuned lr. */
  curveTraces(surfaceName) {
    const traces = [];
    for (const [label, o] of this.byLabel) {
      const row = this.answer.rows.find((r) => r.optimizer === label && r.surface === surfaceName);
      if (!row) continue;
      const name = escapeHover(label);
      const steps = (c) =>
        c.median_steps === null ? t("none reach the target") : medianSteps(c.median_steps);
      traces.push(
        {
          type: "scatter",
          mode: "lines+markers",
          name: label,
          legendgroup: label,
          meta: { role: "bench-curve", optimizer: label },
          x: row.curve.map((c) => c.lr),
          y: row.curve.map((c) => c.success_rate),
          customdata: row.curve.map(steps),
          // Past the colours, the lines repeat them dashed.
          line: { color: o.color, width: 2, dash: o.index < COLORS.length ? "solid" : "dash" },
          marker: { color: o.color, size: 5 },
          hovertemplate:
            `<b>${name}</b> ${escapeHover(t("at lr"))} %{x:.3g}<br>` +
            `%{y:.0%} ${escapeHover(t("succeed"))} · %{customdata}<extra></extra>`,
        },
        {
          type: "scatter",
          mode: "markers",
          name: t("{optimizer}, tuned", { optimizer: label }),
          legendgroup: label,
          showlegend: false,
          meta: { role: "bench-tuned", optimizer: label },
          x: [row.tuned_lr],
          y: [row.success_rate],
          marker: {
            color: o.color,
            size: 12,
            symbol: "diamond",
            line: { color: "#ffffff", width: 1.5 },
          },
          hovertemplate: `<b>${name}</b>${escapeHover(t(": tuned lr"))} %{x:.3g}, %{y:.0%} ${escapeHover(t("succeed"))}<extra></extra>`,
        },
      );
    }
    return traces;
  }

  /** Narrow, the legend goes under the plot. */
  curveLayout(narrow) {
    const axis = { gridcolor: "#eef0f4", zeroline: false, linecolor: "#d5dae2", fixedrange: true };
    const title = (text) => ({ text, standoff: 4, font: { size: 11, color: INK } });
    return {
      ...baseLayout(),
      margin: { l: 48, r: 8, t: topRoom(), b: 40 },
      xaxis: {
        ...axis,
        type: "log",
        exponentformat: "power",
        title: title(t("lr (log) · ◆ tuned")),
      },
      yaxis: { ...axis, range: [-0.04, 1.04], tickformat: ".0%", title: title(t("success")) },
      legend: narrow
        ? { orientation: "h", x: 0, y: -0.28, yanchor: "top", font: { size: 11 } }
        : { x: 1.02, y: 1, font: { size: 11 } },
      showlegend: true,
      hovermode: "closest",
      dragmode: false,
    };
  }
}
