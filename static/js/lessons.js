// Lessons: five chapters that follow the PyTorch tutorials (lessons/chapters.json, inlined in
// the page's language as #boot-lessons). A step sets the page to its state (the page's own
// link query), says a few sentences, draws its figure (lesson_figures.js), shows the run as
// plain PyTorch and offers a "try this" task, done when a finished run meets its check
// (lesson_checks.js). The address of a step is /lessons/<chapter>/<step>?<state>, so it can
// be shared; progress stays in this browser (localStorage).
//
// Hooks: data-testid lessons-open, lesson-panel, lesson-index, lesson-chapter (each chapter
// card, data-chapter), lesson-title, lesson-body, lesson-figure, lesson-task (data-done),
// lesson-code, lesson-prev, lesson-next, lesson-reset, lesson-close, lesson-dots.

import { el } from "./dom.js";
import { t } from "./i18n.js";
import { postText, errorText } from "./api.js";
import { runRequest } from "./state.js";
import { taskDone } from "./lesson_checks.js";
import { drawFigure } from "./lesson_figures.js";

const STORE = "losslab.lessons.v1";
const PATH = /^\/lessons\/(\d+)(?:\/(\d+))?\/?$/;

/** The chapters in the page's language ([] when the page has none). */
export function lessonChapters() {
  const node = document.getElementById("boot-lessons");
  try {
    return node ? JSON.parse(node.textContent) : [];
  } catch {
    return [];
  }
}

/** {chapter, step} (1-based) of a lesson address, or null. */
export function lessonInPath(pathname, chapters) {
  const match = PATH.exec(pathname);
  if (!match) return null;
  const chapter = Number(match[1]);
  const step = match[2] ? Number(match[2]) : 1;
  const found = chapters[chapter - 1];
  if (!found || step < 1 || step > found.steps.length) return null;
  return { chapter, step };
}

/**
 * Before the page decodes its link: a lesson address without a query shows its step's
 * state, written into the address so the page boots straight into it.
 */
export function prepareLessonLink() {
  const chapters = lessonChapters();
  const at = lessonInPath(location.pathname, chapters);
  const params = new URLSearchParams(location.search);
  // A query that names a surface is a state someone shared: it wins over the step's own.
  if (at && !params.has("surface")) {
    const state = chapters[at.chapter - 1].steps[at.step - 1].state;
    const lang = params.get("lang");
    const extra = lang ? `&lang=${encodeURIComponent(lang)}` : "";
    history.replaceState(null, "", `${location.pathname}?${state}${extra}${location.hash}`);
  }
}

function loadProgress() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE) || "{}");
    return { done: new Set(stored.done || []), seen: new Set(stored.seen || []) };
  } catch {
    return { done: new Set(), seen: new Set() };
  }
}

/** Paragraph text with `code` and **bold**, built as nodes (the content holds no HTML). */
export function richText(tag, text, cls) {
  const node = el(tag, cls);
  for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
    if (!part) continue;
    if (part.startsWith("`")) node.append(el("code", {}, part.slice(1, -1)));
    else if (part.startsWith("**")) node.append(el("strong", {}, part.slice(2, -2)));
    else node.append(part);
  }
  return node;
}

const key = (chapter, step) => `${chapter.id}/${step.id}`;

export class Lessons {
  /**
   * `host`: {state, specs, surfaces, entries() -> [{run, request, status, analysis,
   * lastStep, minima, frames}], selected() -> the selected entry, applyLink(query)}.
   */
  constructor({ button, panel, host }) {
    this.button = button;
    this.panel = panel;
    this.host = host;
    this.chapters = lessonChapters();
    this.progress = loadProgress();
    this.at = null;
    this.signature = "";
    this.codeTimer = 0;
    this.codeKey = "";
    this.figure = null;
    this.build();
    button.addEventListener("click", () => (this.panel.hidden ? this.showIndex() : this.close()));
    const linked = lessonInPath(location.pathname, this.chapters);
    if (linked) this.open(linked.chapter, linked.step, { apply: false });
  }

  build() {
    this.panel.replaceChildren();
    this.closeButton = el("button", {
      type: "button",
      class: "icon-button lesson-close",
      "data-testid": "lesson-close",
      "aria-label": t("Close the lesson"),
      title: t("Close the lesson"),
      text: "×",
    });
    this.closeButton.addEventListener("click", () => this.close());
    this.head = el("div", "lesson-head");
    this.content = el("div", "lesson-content");
    this.panel.append(el("div", "lesson-top", this.head, this.closeButton), this.content);
  }

  save() {
    const data = { done: [...this.progress.done], seen: [...this.progress.seen] };
    try {
      localStorage.setItem(STORE, JSON.stringify(data));
    } catch {
      // Private windows may refuse storage: progress then lasts as long as the page.
    }
  }

  setOpen(open) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("lesson-open", open);
  }

  /** The list of chapters with this browser's progress. */
  showIndex() {
    this.at = null;
    this.setOpen(true);
    this.writePath("/");
    this.head.replaceChildren(el("h2", { class: "lesson-heading", text: t("Lessons") }));
    const list = el("ol", { class: "lesson-index", "data-testid": "lesson-index" });
    for (const chapter of this.chapters) {
      const tasks = chapter.steps.filter((s) => s.task);
      const done = tasks.filter((s) => this.progress.done.has(key(chapter, s))).length;
      const card = el(
        "button",
        { type: "button", class: "lesson-card", "data-testid": "lesson-chapter", "data-chapter": chapter.id },
        el("span", { class: "lesson-card-number", text: String(chapter.id) }),
        el(
          "span",
          "lesson-card-text",
          el("span", { class: "lesson-card-title", text: chapter.title }),
          el("span", { class: "lesson-card-summary", text: chapter.summary }),
          el("span", {
            class: "lesson-card-progress",
            text: t("{done} of {total} tasks done", { done, total: tasks.length }),
          }),
        ),
      );
      card.addEventListener("click", () => this.open(chapter.id, 1));
      list.append(el("li", {}, card));
    }
    this.content.replaceChildren(
      el("p", { class: "lesson-intro", text: t("Five chapters that bring the PyTorch tutorials to life: every number they print, computed again by real torch; every claim they make, tried on the page.") }),
      list,
    );
  }

  close() {
    this.at = null;
    this.figure = null;
    this.setOpen(false);
    this.writePath("/");
  }

  /** The address bar's path, keeping the page's query (the link writer keeps the path). */
  writePath(path) {
    if (location.pathname !== path) history.replaceState(null, "", `${path}${location.search}${location.hash}`);
  }

  get chapter() {
    return this.at ? this.chapters[this.at.chapter - 1] : null;
  }

  get step() {
    return this.at ? this.chapter.steps[this.at.step - 1] : null;
  }

  /** Show step `step` of chapter `chapter`; `apply` sets the page to the step's state. */
  open(chapter, step, { apply = true } = {}) {
    if (!this.chapters[chapter - 1]?.steps[step - 1]) return;
    this.at = { chapter, step };
    this.setOpen(true);
    this.writePath(`/lessons/${chapter}/${step}`);
    this.progress.seen.add(key(this.chapter, this.step));
    this.save();
    this.render();
    if (apply) this.host.applyLink(`?${this.step.state}`);
    this.signature = "";
    this.codeKey = "";
    this.update();
  }

  render() {
    const { chapter, step } = this;
    const total = chapter.steps.length;
    const dots = el("ol", { class: "lesson-dots", "data-testid": "lesson-dots" });
    this.dots = [];
    chapter.steps.forEach((s, i) => {
      const state = this.progress.done.has(key(chapter, s)) ? "done" : this.progress.seen.has(key(chapter, s)) ? "seen" : "";
      const dot = el("button", {
        type: "button",
        class: `lesson-dot${i + 1 === this.at.step ? " is-current" : ""}`,
        "data-state": state,
        "aria-label": t("Step {n}: {title}", { n: i + 1, title: s.title }),
        title: s.title,
        "aria-current": i + 1 === this.at.step ? "step" : undefined,
      });
      dot.addEventListener("click", () => this.open(chapter.id, i + 1));
      this.dots.push(dot);
      dots.append(el("li", {}, dot));
    });
    const back = el("button", { type: "button", class: "link-button", text: t("All lessons") });
    back.addEventListener("click", () => this.showIndex());
    this.head.replaceChildren(
      el(
        "p",
        "lesson-crumb",
        back,
        el("span", { "aria-hidden": "true", text: " · " }),
        el("span", { text: t("Chapter {n}: {title}", { n: chapter.id, title: chapter.title }) }),
      ),
      dots,
    );

    const body = el("div", { class: "lesson-body", "data-testid": "lesson-body" });
    for (const paragraph of step.body) body.append(richText("p", paragraph));
    this.figureHost = el("div", { class: "lesson-figure", "data-testid": "lesson-figure", hidden: !step.figure });
    this.figure = step.figure ? drawFigure(step.figure, this.figureHost, this.host) : null;
    this.taskBox = step.task ? this.buildTask(step.task) : null;

    this.code = el("code", {});
    this.codeStatus = el("p", { class: "lesson-code-status", role: "status" });
    const code = el(
      "details",
      { class: "lesson-code", "data-testid": "lesson-code" },
      el("summary", { text: t("The same run in PyTorch") }),
      this.codeStatus,
      el("pre", {}, this.code),
    );

    const prev = el("button", { type: "button", class: "btn btn-ghost", "data-testid": "lesson-prev", text: t("Back") });
    const next = el("button", {
      type: "button",
      class: "btn btn-primary",
      "data-testid": "lesson-next",
      text: this.at.step < total ? t("Next") : this.at.chapter < this.chapters.length ? t("Next chapter") : t("All lessons"),
    });
    const reset = el("button", {
      type: "button",
      class: "link-button",
      "data-testid": "lesson-reset",
      text: t("Reset this step"),
      title: t("Set the page back to this step's state"),
    });
    prev.disabled = this.at.step === 1 && this.at.chapter === 1;
    prev.addEventListener("click", () => this.move(-1));
    next.addEventListener("click", () => this.move(1));
    reset.addEventListener("click", () => this.host.applyLink(`?${this.step.state}`));

    this.content.replaceChildren(
      ...[
        el("p", { class: "lesson-count", text: t("Step {n} of {total}", { n: this.at.step, total }) }),
      el("h2", { class: "lesson-title", "data-testid": "lesson-title", text: step.title }),
      body,
      this.figureHost,
      this.taskBox,
      code,
      el("div", "lesson-nav", prev, reset, next),
      ].filter(Boolean),
    );
    this.content.scrollTop = 0;
  }

  buildTask(task) {
    const status = el("p", { class: "lesson-task-status", role: "status" });
    const box = el(
      "section",
      { class: "lesson-task", "data-testid": "lesson-task", "data-done": "false" },
      el("h3", { class: "lesson-task-title", text: t("Try this") }),
      richText("p", task.text, "lesson-task-text"),
      task.hint ? el("details", { class: "lesson-hint" }, el("summary", { text: t("Hint") }), richText("p", task.hint)) : null,
      status,
    );
    if (task.solution) {
      const show = el("button", {
        type: "button",
        class: "link-button lesson-solution",
        "data-testid": "lesson-solution",
        text: t("Show me"),
        title: t("Set the page to one way of doing it"),
      });
      show.addEventListener("click", () => this.host.applyLink(`?${task.solution}`));
      box.append(show);
    }
    box.status = status;
    return box;
  }

  move(delta) {
    const { chapter, step } = this.at;
    const total = this.chapter.steps.length;
    if (step + delta >= 1 && step + delta <= total) this.open(chapter, step + delta);
    else if (delta > 0 && chapter < this.chapters.length) this.open(chapter + 1, 1);
    else if (delta > 0) this.showIndex();
    else if (chapter > 1) this.open(chapter - 1, this.chapters[chapter - 2].steps.length);
  }

  /** Called on every page render: check the task and redraw the figure when a run changed. */
  update() {
    if (!this.at) return;
    const entries = this.host.entries();
    const signature = entries
      // Finished runs only: a streaming run changes every frame, its figure once it is done.
      .map((e) => `${e.run.id}:${e.status}:${e.analysis ? e.frames.length : 0}:${JSON.stringify(e.request)}`)
      .join("|") + `|${this.host.state.selected}`;
    if (signature === this.signature) return;
    this.signature = signature;
    if (this.figure) this.figure.update();
    this.checkTask(entries);
    this.scheduleCode();
  }

  checkTask(entries) {
    const { task } = this.step;
    if (!task || !this.taskBox) return;
    const id = key(this.chapter, this.step);
    const start = new URLSearchParams(this.step.state).get("start");
    const context = { start: start ? start.split(",").map(Number) : null };
    if (taskDone(task.check, entries, context) && !this.progress.done.has(id)) {
      this.progress.done.add(id);
      this.save();
      this.dots[this.at.step - 1].dataset.state = "done";
    }
    const done = this.progress.done.has(id);
    this.taskBox.dataset.done = String(done);
    this.taskBox.status.textContent = done
      ? t("Done. Keep exploring, or go on to the next step.")
      : entries.some((e) => e.status === "running")
        ? t("Waiting for the runs to finish…")
        : t("Not yet: change a setting and watch the runs.");
  }

  /** The selected run as a PyTorch script (the Copy as PyTorch text), fetched once it rests. */
  scheduleCode() {
    clearTimeout(this.codeTimer);
    const entry = this.host.selected();
    if (!entry) return;
    const request = runRequest(this.host.state, entry.run);
    const wanted = JSON.stringify(request);
    if (wanted === this.codeKey) return;
    this.codeTimer = setTimeout(async () => {
      this.codeKey = wanted;
      this.codeStatus.textContent = t("Writing the script…");
      try {
        const text = await postText("/api/runs/script", request);
        if (wanted !== this.codeKey) return;
        this.code.textContent = text;
        this.codeStatus.textContent = t("Exactly what Copy as PyTorch gives for the selected run: paste it into Python and it prints every step.");
      } catch (error) {
        if (wanted !== this.codeKey) return;
        this.code.textContent = "";
        this.codeStatus.textContent = errorText(error);
      }
    }, 250);
  }
}
