// Form controls built from the API's optimizer specs (GET /api/optimizers).
//
// Hooks: every hyperparameter input carries data-hparam="<torch kwarg>"; a log slider holds
// its slider position, so the number box beside it carries data-hparam-value="<kwarg>" and
// takes exact values. Pairs (and triples: as many elements as the default has): data-hparam on
// a wrapper, data-hparam-index on each element's slider.
// Each slider sits on a sensitivity strip (data-sweep-strip, drawn by live.js from a sweep)
// described by a text (data-sweep-text) for keyboard and screen-reader users.

import { exact, roundSig } from "./format.js";
import { el } from "./dom.js";
import { t, ts } from "./i18n.js";

const LOG_POSITIONS = 1000;
let uid = 0;

function niceStep(span) {
  if (!(span > 0)) return 0.001;
  return 10 ** Math.round(Math.log10(span / 1000));
}

/** The values a log setting steps through by key: about ten per decade, all round. */
const MANTISSAS = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8];
/** A drag that ends this close to an end of a linear slider (as a fraction) lands on it. */
const SNAP_FRACTION = 0.01;

/** The next round value above (dir 1) or below (dir -1) `value` on the log key grid. */
export function nextLogValue(value, dir) {
  const decade = Math.floor(Math.log10(value));
  const grid = [];
  for (const d of [decade - 1, decade, decade + 1]) {
    for (const m of MANTISSAS) grid.push(roundSig(m * 10 ** d, 3));
  }
  const tol = value * 1e-9;
  return dir > 0
    ? grid.find((v) => v > value + tol)
    : grid.reverse().find((v) => v < value - tol);
}

/**
 * Where a key takes a setting: arrows move a log setting to the next round value (about ten
 * per decade) and a linear one by 1% of its range; Page keys by a decade or 10%; Home and
 * End to the slider's ends. Undefined for other keys.
 */
export function keyedValue(hp, value, key) {
  const lo = hp.slider_min ?? hp.min ?? 0;
  const hi = hp.slider_max ?? hp.max ?? 1;
  const dirs = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10 };
  if (key === "Home") return lo;
  if (key === "End") return hi;
  const dir = dirs[key];
  if (!dir || value === null || value === undefined) return undefined;
  let next;
  if (hp.log && lo > 0) {
    const from = value > 0 ? value : lo;
    next = Math.abs(dir) === 10 ? roundSig(from * 10 ** Math.sign(dir), 3) : nextLogValue(from, dir);
  } else if (hp.type === "int") {
    next = value + Math.sign(dir) * Math.max(1, Math.round(((hi - lo) * Math.abs(dir)) / 100));
  } else {
    const step = niceStep(hi - lo) * 10 * Math.abs(dir);
    next = roundSig(Math.round((value + Math.sign(dir) * step) / step) * step, 12);
  }
  return Math.min(hi, Math.max(lo, next));
}

/**
 * Maps a value to a slider position and back, linear or logarithmic (over the hyperparameter's
 * slider range). With `zero`, a log slider's leftmost position means 0 (knobs.js: clipping,
 * noise).
 */
export function scaleFor(hp, { zero = false } = {}) {
  const lo = hp.slider_min ?? hp.min ?? 0;
  const hi = hp.slider_max ?? hp.max ?? 1;
  if (hp.log && lo > 0 && hi > lo) {
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    return {
      attrs: { min: 0, max: LOG_POSITIONS, step: 1 },
      toPosition: (v) => {
        if (v === null || !(v > 0)) return 0;
        const f = (Math.log10(v) - a) / (b - a);
        return Math.round(Math.min(1, Math.max(zero ? 1 / LOG_POSITIONS : 0, f)) * LOG_POSITIONS);
      },
      toValue: (p) =>
        zero && Number(p) <= 0
          ? 0
          : roundSig(10 ** (a + (Number(p) / LOG_POSITIONS) * (b - a)), 3),
    };
  }
  const integer = hp.type === "int";
  const step = integer ? 1 : niceStep(hi - lo);
  const snap = (v) => {
    if (v - lo <= (hi - lo) * SNAP_FRACTION) return lo;
    if (hi - v <= (hi - lo) * SNAP_FRACTION) return hi;
    return v;
  };
  return {
    attrs: { min: lo, max: hi, step },
    toPosition: (v) => (v === null ? lo : v),
    toValue: (p) => (integer ? Math.round(Number(p)) : roundSig(snap(Number(p)), 12)),
  };
}

/**
 * One number: slider + number box (+ "auto" checkbox when null is allowed).
 * `index` is set for an element of a pair. `onGrab(kind)` hears the slider or box being
 * taken ("grab": pointer down, focus, a key), let go ("release": pointer up, change, blur),
 * or hovered ("hover", "unhover"): live.js asks for a sweep then.
 */
function numberControl(hp, { index, nullable, label, name = label, onValue, onGrab }) {
  const id = `hp-${hp.name}-${index ?? "v"}-${++uid}`;
  const scale = scaleFor(hp);
  const title = ts(hp.description);
  const withSlider = !(hp.type === "int" && hp.nullable);
  const slider = withSlider
    ? el("input", {
        type: "range",
        id,
        class: "slider",
        title,
        ...scale.attrs,
        "data-hparam": index === undefined ? hp.name : null,
        "data-hparam-index": index,
        "aria-label":
          index === undefined ? null : hp.parts ? name : t("{name} element {index}", { name: hp.name, index }),
      })
    : null;
  const box = el("input", {
    type: "number",
    class: "num num-compact",
    step: hp.type === "int" ? 1 : "any",
    title,
    id: withSlider ? null : id,
    "aria-label": t("{name} value", { name }),
    "data-hparam": withSlider ? null : hp.name,
    "data-hparam-value": hp.name,
    "data-hparam-value-index": index,
  });
  if (hp.min !== null && hp.min !== undefined) box.min = hp.min;
  if (hp.max !== null && hp.max !== undefined) box.max = hp.max;
  const auto = nullable
    ? el("input", {
        type: "checkbox",
        "data-hparam-auto": hp.name,
        "data-hparam-auto-index": index,
        "aria-label": t("{name}: auto (torch's own choice)", { name }),
        title: t("auto: let torch choose (None)"),
      })
    : null;
  let last = null;

  const set = (value) => {
    last = value;
    const isNull = value === null || value === undefined;
    if (auto) auto.checked = isNull;
    if (slider) {
      slider.disabled = isNull;
      if (document.activeElement !== slider) slider.value = String(scale.toPosition(value));
    }
    box.disabled = isNull;
    box.placeholder = isNull ? t("auto") : "";
    if (document.activeElement !== box) box.value = isNull ? "" : exact(value);
  };

  if (slider) {
    slider.addEventListener("input", () => {
      const value = scale.toValue(slider.value);
      last = value;
      box.value = exact(value);
      onValue(value, true);
    });
    for (const type of ["pointerdown", "focus", "keydown"]) {
      slider.addEventListener(type, () => onGrab("grab"));
    }
    slider.addEventListener("keydown", (event) => stepByKey(event, true));
    for (const type of ["pointerup", "change", "blur"]) {
      slider.addEventListener(type, () => onGrab("release"));
    }
  }
  /** Keys step by amounts that suit the scale (keyedValue), not the browser's 1 or 1/1000. */
  const stepByKey = (event, fromSlider) => {
    if (!fromSlider && !["ArrowUp", "ArrowDown", "PageUp", "PageDown"].includes(event.key)) return;
    const current = fromSlider ? (last ?? scale.toValue(slider.value)) : Number(box.value);
    const value = keyedValue(hp, Number.isFinite(current) ? current : last, event.key);
    if (value === undefined) return;
    event.preventDefault();
    last = value;
    box.value = exact(value);
    if (slider) slider.value = String(scale.toPosition(value));
    onValue(value, fromSlider);
  };
  box.addEventListener("keydown", (event) => stepByKey(event, false));
  box.addEventListener("focus", () => onGrab("grab"));
  box.addEventListener("blur", () => onGrab("release"));
  box.addEventListener("change", () => {
    const value = Number(box.value);
    if (box.value.trim() === "" || !Number.isFinite(value)) {
      box.value = exact(last);
      return;
    }
    last = value;
    if (slider) slider.value = String(scale.toPosition(value));
    onValue(value, false);
  });
  if (auto) {
    auto.addEventListener("change", () => {
      if (auto.checked) onValue(null, false);
      else {
        const lo = hp.slider_min ?? hp.min ?? 0;
        const hi = hp.slider_max ?? hp.max ?? 1;
        const guess = hp.log ? roundSig(Math.sqrt(lo * hi), 1) : lo + (hi - lo) / 8;
        onValue(hp.type === "int" ? Math.round(guess) : guess, false);
      }
    });
  }

  const head = el(
    "div",
    { class: "hp-head" },
    el("label", { for: id, class: "hp-name", title, text: label }),
    auto ? el("label", { class: "auto" }, auto, el("span", { text: t("auto") })) : null,
    box,
  );
  const strip = el("span", { class: "sweep-strip", "aria-hidden": "true", "data-sweep-strip": "" });
  const text = el("p", { class: "sweep-text", id: `${id}-sweep`, "data-sweep-text": "" });
  const track = slider ? el("div", { class: "hp-slider" }, strip, slider) : null;
  const root = el("div", { class: "hp-number" }, head, track, slider ? text : null);
  root.addEventListener("pointerenter", () => onGrab("hover"));
  root.addEventListener("pointerleave", () => onGrab("unhover"));
  const part = { hp, index, slider, box, strip, text, root };
  return { root, set, part };
}

/** How many numbers a "pair" holds: as many as its default (Adan's betas are three). */
export function pairSize(hp) {
  return Array.isArray(hp.default) && hp.default.length > 0 ? hp.default.length : 2;
}

/**
 * `emit(value, live, index)`; `grab(kind, part)` as numberControl's onGrab; `custom(hp, emit)`
 * may build the row's control instead ({root, set}; the base optimizer's picker).
 */
function buildControl(hp, emit, grab, custom) {
  const error = el("p", {
    class: "field-error",
    role: "alert",
    "data-error-for": `hp:${hp.name}`,
    hidden: true,
  });
  const row = el("div", { class: `hp hp-${hp.type}`, "data-hp-row": hp.name });
  let set;
  /** The number controls of this row ({hp, index, slider, box, strip, text, root}). */
  const numbers = [];

  const own = custom ? custom(hp, (value) => emit(value, false)) : null;
  if (own) {
    row.append(own.root);
    set = own.set;
  } else if (hp.type === "bool") {
    const id = `hp-${hp.name}-${++uid}`;
    const box = el("input", { type: "checkbox", id, title: ts(hp.description), "data-hparam": hp.name });
    box.addEventListener("change", () => emit(box.checked, false));
    row.append(
      el(
        "div",
        { class: "hp-check" },
        box,
        el("label", { for: id, class: "hp-name", title: ts(hp.description), text: hp.name }),
      ),
    );
    set = (value) => {
      box.checked = Boolean(value);
    };
  } else if (hp.type === "choice") {
    const id = `hp-${hp.name}-${++uid}`;
    const select = el("select", {
      id,
      class: "select select-compact",
      title: ts(hp.description),
      "data-hparam": hp.name,
    });
    (hp.choices || []).forEach((choice, i) => {
      const text = choice === null ? t("default (None)") : String(choice);
      select.append(el("option", { value: String(i), text }));
    });
    select.addEventListener("change", () => emit(hp.choices[Number(select.value)], false));
    row.append(
      el(
        "div",
        { class: "hp-head" },
        el("label", { for: id, class: "hp-name", title: ts(hp.description), text: hp.name }),
      ),
      select,
    );
    set = (value) => {
      const i = (hp.choices || []).findIndex((c) => c === value);
      select.value = String(Math.max(0, i));
    };
  } else if (hp.type === "pair") {
    // `parts`: one value per coordinate, named (x and y as two parameter groups, groups.js),
    // under the setting's name; otherwise the elements of one value, betas[0], betas[1].
    const split = Array.isArray(hp.parts);
    const wrapper = el("div", {
      class: split ? "hp-split" : "hp-pair",
      role: "group",
      "aria-label": hp.name,
      title: ts(hp.description),
      "data-hparam": hp.name,
      "data-split": split,
    });
    if (split) wrapper.append(el("span", { class: "hp-name hp-split-name", text: hp.name }));
    const size = pairSize(hp);
    let current = Array.isArray(hp.default) ? [...hp.default] : new Array(size).fill(0);
    const parts = Array.from({ length: size }, (_, index) => {
      const control = numberControl(hp, {
        index,
        nullable: hp.nullable || (Array.isArray(hp.default) && hp.default[index] === null),
        label: split ? hp.parts[index] : `${hp.name}[${index}]`,
        name: split ? `${hp.name} ${hp.parts[index]}` : `${hp.name}[${index}]`,
        onValue: (value, live) => {
          current = [...current];
          current[index] = value;
          emit(current, live, index);
        },
        onGrab: (kind) => grab(kind, control.part),
      });
      return control;
    });
    for (const part of parts) wrapper.append(part.root);
    row.append(wrapper);
    set = (value) => {
      current = Array.isArray(value) ? [...value] : new Array(size).fill(null);
      parts.forEach((part, i) => part.set(current[i]));
    };
    numbers.push(...parts.map((control) => control.part));
  } else {
    const control = numberControl(hp, {
      nullable: hp.nullable,
      label: hp.name,
      onValue: (value, live) => emit(value, live),
      onGrab: (kind) => grab(kind, control.part),
    });
    row.append(control.root);
    set = control.set;
    numbers.push(control.part);
  }
  row.append(error);
  return { hp, row, set, error, numbers };
}

/**
 * The selected run's hyperparameter controls. `onChange(name, value, live, part)`: `live` while
 * a slider moves, `part` the number control that moved ({hp, index, ...}); `onGrab(kind,
 * part)` as numberControl's.
 */
export class HyperparameterForm {
  /**
   * `custom(hp, emit)`: a control of the page's own for `hp`, or null (buildControl);
   * `baseHead(spec)`: the heading over a wrapper's base optimizer's settings.
   */
  constructor(container, { onChange, onGrab = () => {}, custom = null, baseHead = null }) {
    this.container = container;
    this.onChange = onChange;
    this.onGrab = onGrab;
    this.custom = custom;
    this.baseHead = baseHead;
    this.controls = new Map();
    this.key = "";
  }

  /** Every number control with a slider, in order. */
  get sliders() {
    return [...this.controls.values()].flatMap((c) => c.numbers || []).filter((p) => p.slider);
  }

  /**
   * Rebuild for `spec` when `key` (run id + optimizer, and a wrapper's base) changed, then
   * show `values`. A wrapper's spec (catalog.runSpec) lists its own settings, then its base's
   * under `baseHead(spec)`.
   */
  render(key, spec, values) {
    if (key !== this.key) {
      this.key = key;
      this.controls.clear();
      const nodes = [];
      const first = spec.baseHyperparameters ? spec.baseHyperparameters[0] : null;
      for (const hp of spec.hyperparameters) {
        if (hp === first && this.baseHead) nodes.push(this.baseHead(spec));
        const numbers = [];
        const control = buildControl(
          hp,
          (value, live, index) => {
            const part = numbers.find((p) => p.index === index) || null;
            this.onChange(hp.name, value, live, part);
          },
          (kind, part) => this.onGrab(kind, part),
          this.custom,
        );
        numbers.push(...control.numbers);
        if (spec.baseHyperparameters && spec.baseHyperparameters.includes(hp)) {
          control.row.classList.add("hp-of-base");
        }
        this.controls.set(hp.name, control);
        nodes.push(control.row);
      }
      // A base whose settings are all the wrapper's own still says which it is.
      if (spec.base && !first && this.baseHead) nodes.push(this.baseHead(spec));
      this.container.replaceChildren(...nodes);
    }
    for (const [name, control] of this.controls) control.set(values[name]);
  }

  /** Show 422-style `detail` items next to their controls; returns those with no control. */
  showErrors(detail) {
    const rest = [];
    for (const control of this.controls.values()) {
      control.error.hidden = true;
      control.error.textContent = "";
      control.row.classList.remove("invalid");
      for (const input of control.row.querySelectorAll("input, select")) {
        input.removeAttribute("aria-invalid");
      }
    }
    for (const item of detail) {
      const loc = Array.isArray(item.loc) ? item.loc : [];
      const at = loc[0] === "body" ? loc.slice(1) : loc;
      const control = at[0] === "hyperparameters" ? this.controls.get(String(at[1])) : null;
      if (!control) {
        rest.push(item);
        continue;
      }
      control.error.hidden = false;
      const message = ts(String(item.msg));
      control.error.textContent = control.error.textContent
        ? `${control.error.textContent} ${message}`
        : message;
      control.row.classList.add("invalid");
      for (const input of control.row.querySelectorAll("input, select")) {
        input.setAttribute("aria-invalid", "true");
      }
    }
    return rest;
  }
}

export function fillSelect(select, options) {
  select.replaceChildren(
    ...options.map(({ value, text, title }) => el("option", { value, text, title })),
  );
}
