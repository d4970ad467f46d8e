// The optimizer picker: a text box that filters a grouped list of optimizers (an ARIA
// combobox with a listbox popup). Typing filters (names first, then words of the description
// and the group), arrows move, Enter chooses, Escape puts the chosen name back; a click on the
// box or its button shows the whole list. Each option shows its name and one line of its
// description; the ones that cannot run here are listed last, greyed, with their reason, and
// cannot be chosen. The list is built the first time it opens (a page that never opens it
// builds none of its ~150 options).
//
// Hooks: the box is input[role=combobox] (the main one data-testid="optimizer-select", its
// value the chosen optimizer's name while closed); options are [role=option][data-name],
// aria-disabled="true" for the excluded; groups are [role=group][data-group].

import { el, icon } from "./dom.js";
import { groupSpecs } from "./catalog.js";
import { t, ts } from "./i18n.js";

let uid = 0;

/** A description's first sentence-sized line, in the page's language. */
function oneLine(text) {
  return ts(String(text || "").split("\n")[0]);
}

export class Picker {
  /**
   * Attach to `root` (holding the combobox `input` and optionally a [data-picker-toggle]
   * button). `specs`: the API's optimizers, in order; `only`: the names to offer (a wrapper's
   * base choices), or all; `onPick(name)`: an optimizer was chosen; `noun` and `one`: what the
   * count line calls them ("optimizers") and one of them ("optimizer").
   */
  constructor(root, { specs, only = null, onPick, noun = t("optimizers"), one = t("optimizer") }) {
    this.root = root;
    this.input = root.querySelector("input");
    this.toggle = root.querySelector("[data-picker-toggle]");
    this.specs = specs;
    this.only = only;
    this.onPick = onPick;
    this.noun = noun;
    this.one = one;
    this.value = "";
    this.built = false;
    this.open = false;
    /** The options shown, in order ({name, node, enabled, rank}), and the active one's index. */
    this.shown = [];
    this.active = -1;
    this.listId = `picker-list-${++uid}`;
    const input = this.input;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", this.listId);
    input.autocomplete = "off";
    input.spellcheck = false;
    this.bind();
  }

  /**
   * A picker of its own (the base optimizer's): a labelled box and its button. Returns the
   * root element; `picker` is on it.
   */
  static create({ label, testid, title, ...options }) {
    const id = `picker-input-${++uid}`;
    const input = el("input", {
      type: "text",
      id,
      class: "select picker-input",
      "data-testid": testid,
      title,
    });
    const root = el(
      "div",
      { class: "picker", "data-picker": testid },
      el("label", { class: "hp-name picker-label", for: id, text: label, title }),
      el("div", { class: "picker-field" }, input, toggleButton(label)),
    );
    root.picker = new Picker(root, options);
    return root;
  }

  /** Show `name` as the chosen optimizer (the box shows it unless someone is typing). */
  set(name) {
    if (name === this.value && (this.open || this.input.value === name)) return;
    this.value = name;
    if (!this.open) this.input.value = name;
    if (this.built) {
      for (const item of this.items) item.node.setAttribute("aria-selected", String(item.name === name));
    }
  }

  bind() {
    const input = this.input;
    input.addEventListener("focus", () => input.select());
    input.addEventListener("click", () => {
      if (!this.open) this.show("");
    });
    input.addEventListener("input", () => this.show(input.value));
    input.addEventListener("keydown", (event) => this.key(event));
    this.root.addEventListener("focusout", (event) => {
      if (!this.root.contains(event.relatedTarget)) this.close();
    });
    if (this.toggle) {
      this.toggle.addEventListener("pointerdown", (event) => event.preventDefault());
      this.toggle.addEventListener("click", () => {
        if (this.open) this.close();
        else {
          input.focus();
          this.show("");
        }
      });
    }
  }

  key(event) {
    if (event.altKey && event.key === "ArrowDown") {
      event.preventDefault();
      if (!this.open) this.show("");
      return;
    }
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: 8, PageUp: -8 };
    if (event.key in moves) {
      event.preventDefault();
      if (!this.open) this.show("");
      else this.move(moves[event.key]);
    } else if (event.key === "Enter") {
      if (!this.open) return;
      event.preventDefault();
      const item = this.shown[this.active];
      if (item && item.enabled) this.choose(item.name);
    } else if (event.key === "Escape") {
      if (!this.open) return;
      event.preventDefault();
      event.stopPropagation();
      this.close();
    }
  }

  /** Build the list (once): groups of options, each its name and a line of description. */
  build() {
    if (this.built) return;
    this.built = true;
    this.items = [];
    this.listbox = el("div", { role: "listbox", id: this.listId, class: "picker-list" });
    this.listbox.setAttribute("aria-label", this.noun);
    for (const group of groupSpecs(this.specs, this.only)) {
      const headId = `${this.listId}-${group.key}`;
      const head = el("div", { class: "picker-group-head", id: headId, role: "presentation" });
      head.append(el("span", { text: group.label }), el("span", { class: "picker-group-count" }));
      const node = el("div", {
        role: "group",
        class: "picker-group",
        "aria-labelledby": headId,
        "data-group": group.key,
      });
      node.append(head);
      const entries = [];
      for (const spec of group.specs) {
        const excluded = Boolean(spec.excluded);
        const reason = excluded ? ts(spec.excluded) : "";
        const line = excluded ? t("cannot run here: {reason}", { reason }) : oneLine(spec.description);
        const option = el(
          "div",
          {
            role: "option",
            id: `${this.listId}-o${this.items.length}`,
            class: "picker-option",
            "data-name": spec.name,
            "aria-selected": String(spec.name === this.value),
            "aria-disabled": excluded ? "true" : null,
            title: excluded ? t("{name} cannot run here: {reason}", { name: spec.name, reason }) : line,
          },
          el("span", { class: "picker-name", text: spec.name }),
          el("span", { class: "picker-desc", text: line }),
        );
        const item = {
          name: spec.name,
          node: option,
          enabled: !excluded,
          group: node,
          // What a query is matched against: the name, then the description and group words.
          names: `${spec.name} ${spec.title || ""}`.toLowerCase(),
          words: ` ${String(spec.description || "").split("\n")[0]} ${group.label} ${spec.source} ${spec.family}`
            .toLowerCase()
            .replace(/[^a-z0-9._]+/g, " "),
          // The page's language too: Chinese has no spaces, so any part of it matches.
          local: `${line} ${group.label}`.toLowerCase(),
        };
        this.items.push(item);
        entries.push(item);
        node.append(option);
      }
      node.entries = entries;
      this.listbox.append(node);
    }
    this.count = el("p", { class: "picker-count", "aria-live": "polite" });
    this.pop = el("div", { class: "picker-pop", hidden: true }, this.count, this.listbox);
    this.root.append(this.pop);
    this.listbox.addEventListener("pointerdown", (event) => event.preventDefault());
    this.listbox.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (!option || option.getAttribute("aria-disabled") === "true") return;
      this.choose(option.dataset.name);
    });
  }

  /**
   * Open (if closed) with the options matching `query`: every word must be in the name, or
   * (words of three letters or more) begin a word of the description or the group. The best
   * match is made active: the name itself, then names that begin with it, then the rest.
   */
  show(query) {
    this.build();
    const text = query.trim().toLowerCase();
    const all = text === "" || text === this.value.toLowerCase();
    const tokens = all ? [] : text.split(/\s+/);
    const shown = [];
    for (const item of this.items) {
      let rank = 0;
      for (const token of tokens) {
        if (item.names.includes(token)) continue;
        if (token.length >= 3 && item.words.includes(` ${token}`)) {
          rank = Math.max(rank, 3);
          continue;
        }
        if (/[^\x00-\x7f]/.test(token) && item.local.includes(token)) {
          rank = Math.max(rank, 3);
          continue;
        }
        rank = -1;
        break;
      }
      if (rank >= 0 && tokens.length && rank < 3) {
        const name = item.name.toLowerCase();
        rank = name === text ? 0 : name.startsWith(text) ? 1 : 2;
      }
      item.node.hidden = rank < 0;
      if (rank >= 0) shown.push({ ...item, rank });
    }
    for (const group of this.listbox.children) {
      const n = group.entries.filter((item) => !item.node.hidden).length;
      group.hidden = n === 0;
      group.querySelector(".picker-group-count").textContent = String(n);
    }
    this.shown = shown;
    const total = this.items.length;
    const counts = { shown: shown.length, total, noun: this.noun, one: this.one, query: query.trim() };
    this.count.textContent = shown.length
      ? all
        ? t("{total} {noun}: type to filter", counts)
        : t("{shown} of {total} {noun}", counts)
      : t("No {one} matches “{query}”", counts);
    // The active option: the chosen one when the whole list shows, else the best match.
    let best = -1;
    shown.forEach((item, i) => {
      if (!item.enabled) return;
      const better = all
        ? item.name === this.value
        : best < 0 || item.rank < shown[best].rank;
      if (better) best = i;
    });
    if (best < 0) best = shown.findIndex((item) => item.enabled);
    if (!this.open) {
      this.open = true;
      this.pop.hidden = false;
      this.root.classList.add("is-open");
      this.input.setAttribute("aria-expanded", "true");
    }
    this.activate(best, all ? "center" : "nearest");
  }

  /** Move the active option by `by` among the enabled ones shown. */
  move(by) {
    const enabled = this.shown.map((item, i) => (item.enabled ? i : -1)).filter((i) => i >= 0);
    if (!enabled.length) return;
    const at = enabled.indexOf(this.active);
    const next = at < 0 ? 0 : Math.max(0, Math.min(enabled.length - 1, at + by));
    this.activate(enabled[next], "nearest");
  }

  activate(index, block) {
    const old = this.shown[this.active];
    if (old) old.node.classList.remove("is-active");
    this.active = index;
    const item = this.shown[index];
    if (!item) {
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    item.node.classList.add("is-active");
    this.input.setAttribute("aria-activedescendant", item.node.id);
    // The list scrolls itself only: the page must not jump.
    const list = this.listbox;
    const top = item.node.offsetTop - list.offsetTop;
    const bottom = top + item.node.offsetHeight;
    if (block === "center") list.scrollTop = top - (list.clientHeight - item.node.offsetHeight) / 2;
    else if (top < list.scrollTop) list.scrollTop = top;
    else if (bottom > list.scrollTop + list.clientHeight) list.scrollTop = bottom - list.clientHeight;
  }

  choose(name) {
    this.close();
    this.set(name);
    this.input.value = name;
    if (this.onPick) this.onPick(name);
  }

  /** Close the list; the box shows the chosen optimizer again. */
  close() {
    if (!this.open) {
      this.input.value = this.value;
      return;
    }
    this.open = false;
    this.pop.hidden = true;
    this.root.classList.remove("is-open");
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.input.value = this.value;
  }
}

/** The button beside a picker's box that shows the whole list. */
export function toggleButton(label) {
  const button = el("button", {
    type: "button",
    class: "picker-toggle",
    tabIndex: -1,
    "aria-label": t("Show every choice of {label}", { label }),
    title: t("Show the whole list"),
    "data-picker-toggle": "",
  });
  button.append(icon("M6 8l4 4 4-4"));
  return button;
}
