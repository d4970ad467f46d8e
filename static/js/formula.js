// "Your formula…": a loss surface typed as an expression in x and y, checked and gridded by
// POST /api/surfaces/custom, then run like any other surface.
//
// State: `surface` is "formula" and `formula` is {formula, domain: {x: [lo, hi], y: [lo, hi]}}.
// URL: surface=formula&formula=<encoded text>&domain=xlo,xhi,ylo,yhi.
// Hooks: data-testid formula-input, formula-x-min, formula-x-max, formula-y-min,
// formula-y-max, formula-apply, formula-error.

import { errorText, postJSON } from "./api.js";
import { readNumber } from "./helpers.js";
import { t, ts } from "./i18n.js";

export const FORMULA = "formula";
export const EXAMPLE = {
  formula: "sin(x) * cos(y) + 0.1 * (x**2 + y**2)",
  domain: { x: [-4, 4], y: [-4, 4] },
};
const RESOLUTION = 150;

/** The custom surface for `config`: {surface (named FORMULA), grid, note}; throws ApiError. */
export async function fetchFormula(config) {
  const answer = await postJSON(`/api/surfaces/custom?resolution=${RESOLUTION}`, config);
  return { ...answer, surface: { ...answer.surface, name: FORMULA } };
}

export const formulaCodec = {
  surface(state) {
    return state.surface === FORMULA && state.formula ? structuredClone(state.formula) : undefined;
  },

  encode(state) {
    if (state.surface !== FORMULA || !state.formula) return [];
    const { x, y } = state.formula.domain;
    return [
      `formula=${encodeURIComponent(state.formula.formula)}`,
      `domain=${[...x, ...y].join(",")}`,
    ];
  },

  decode(params, out) {
    const config = formulaFromParams(params);
    if (config) out.extra = { ...out.extra, formula: config };
  },
};

export function formulaFromParams(params) {
  const text = params.get("formula");
  if (!text) return null;
  const d = (params.get("domain") || "").split(",").map(Number);
  const ok = d.length === 4 && d.every(Number.isFinite) && d[0] < d[1] && d[2] < d[3];
  return {
    formula: text,
    domain: ok ? { x: [d[0], d[1]], y: [d[2], d[3]] } : structuredClone(EXAMPLE.domain),
  };
}

/** The column of "... (at column 8)" in the server's own (English) words, or null. */
function errorColumn(error) {
  const match = /at column (\d+)/.exec(JSON.stringify((error && error.detail) ?? ""));
  return match ? Number(match[1]) : null;
}

export class FormulaPanel {
  /** `activate(answer, patch)` registers a fetched surface with the page and switches to it. */
  /** `host`: the page's narrow host (extras.js). */
  constructor(host, root, { activate }) {
    this.host = host;
    this.state = host.state;
    this.activate = activate;
    this.busy = null;
    const q = (id) => root.querySelector(`[data-testid="${id}"]`);
    this.dom = {
      section: root,
      input: q("formula-input"),
      xMin: q("formula-x-min"),
      xMax: q("formula-x-max"),
      yMin: q("formula-y-min"),
      yMax: q("formula-y-max"),
      apply: q("formula-apply"),
      error: q("formula-error"),
      note: root.querySelector("[data-formula-note]"),
    };
    this.show(this.state.formula || EXAMPLE);
    this.dom.apply.addEventListener("click", () => this.apply());
    this.dom.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.apply();
      }
    });
    this.dom.input.addEventListener("input", () => this.clearError());
  }

  show(config) {
    const d = this.dom;
    d.input.value = config.formula;
    [d.xMin.value, d.xMax.value] = config.domain.x.map(String);
    [d.yMin.value, d.yMax.value] = config.domain.y.map(String);
  }

  /** The formula and domain as typed, or a message saying what is wrong with the domain. */
  read() {
    const d = this.dom;
    const [x0, x1, y0, y1] = [d.xMin, d.xMax, d.yMin, d.yMax].map(readNumber);
    if ([x0, x1, y0, y1].some((v) => v === null))
      return { problem: t("Give the domain as four numbers.") };
    if (!(x0 < x1 && y0 < y1))
      return { problem: t("Each range needs its low end below its high end.") };
    return { config: { formula: d.input.value.trim(), domain: { x: [x0, x1], y: [y0, y1] } } };
  }

  clearError() {
    this.dom.error.hidden = true;
    this.dom.error.textContent = "";
    this.dom.input.removeAttribute("aria-invalid");
  }

  /** `column`: where the server found the formula wrong (1-based), for the caret. */
  showError(message, focus = true, column = null) {
    const d = this.dom;
    d.error.textContent = message;
    d.error.hidden = false;
    d.input.setAttribute("aria-invalid", "true");
    if (column !== null && focus) {
      const at = Math.max(0, column - 1);
      d.input.focus();
      d.input.setSelectionRange(at, Math.min(d.input.value.length, at + 1));
    }
  }

  async apply() {
    const { config, problem } = this.read();
    if (problem) return this.showError(problem);
    if (!config.formula) return this.showError(t("Type a formula in x and y, e.g. x**2 + 3*y**2"));
    const d = this.dom;
    const ticket = {};
    this.busy = ticket;
    d.apply.disabled = true;
    d.apply.dataset.busy = "true";
    try {
      const answer = await fetchFormula(config);
      if (this.busy !== ticket) return;
      this.clearError();
      d.note.textContent = ts(answer.note || "");
      d.note.hidden = !answer.note;
      this.activate(answer, { formula: config });
    } catch (error) {
      if (this.busy === ticket) this.showError(errorText(error), true, errorColumn(error));
    } finally {
      if (this.busy === ticket) {
        this.busy = null;
        d.apply.disabled = false;
        delete d.apply.dataset.busy;
      }
    }
  }

  render() {
    const active = this.state.surface === FORMULA;
    this.dom.section.hidden = !active && !this.dom.section.dataset.pending;
  }
}
