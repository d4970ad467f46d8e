// The view model's parts: what every plot and panel draws of the runs at the playhead,
// computed from the state and the run slots (main.js assembles them once per frame).

import { runNames } from "./runlist.js";
import { ARROW_SHARE, arrowsAt } from "./scale.js";

/**
 * Run names that tell runs apart ("2 · SGD m 0.9"), held still while a slider is held or
 * its preview stands in: a name that changed with every input event would redraw every plot
 * from scratch (the live preview is one path); they change with the exact run's redraw.
 */
export class RunNamer {
  constructor(specs, summary) {
    this.specs = specs;
    this.summary = summary;
    this.names = null;
  }

  current(runs, sliding) {
    const held = sliding && this.names && this.names.length === runs.length;
    if (!held) this.names = runNames(runs, this.specs, this.summary);
    return this.names;
  }
}

/** One view per run: its columns (or its preview's), head, colour, name and status. */
export function runViews({ state, slots, colors, names, playhead }) {
  return state.runs.map((run, index) => {
    const slot = slots.get(run.id);
    const preview = slot.preview;
    const columns = preview ? preview.columns : slot.columns();
    const last = Math.max(0, columns.x.length - 1);
    return {
      id: run.id,
      index,
      preview,
      label: `${index + 1} · ${names[index]}`,
      color: colors.get(run.id),
      selected: run.id === state.selected,
      hidden: state.hidden.includes(run.id),
      columns,
      head: state.playhead === null ? last : Math.min(playhead, last),
      steps: slot.config ? slot.config.steps : state.steps,
      status: slot.status,
      version: slot.version,
      slot,
    };
  });
}

/** The frame at a run view's head: its run's, or a preview's (no gradient vector, no state). */
export function frameAt(run) {
  if (!run.preview) return run.slot.frames[run.head];
  const c = run.columns;
  const k = run.head;
  if (k >= c.x.length) return undefined;
  const frame = { step: k, x: c.x[k], y: c.y[k], loss: c.loss[k], lr: c.lr[k] };
  return { ...frame, gnorm: c.gnorm[k], grad: null };
}

/**
 * The arrows at the selected run's frame, on one scale for the whole run, set by its largest
 * gradient: arrows shrink as the gradient vanishes (a converged run shows almost none), so
 * lengths compare honestly across steps. An arrow longer than the domain (`width`) is cut
 * there, and says so (`clipped`).
 */
export function scaledArrows(selected, frame, width) {
  const arrows = arrowsAt(frame);
  let largest = 0;
  for (const g of selected ? selected.columns.gnorm : []) if (g > largest) largest = g;
  if (!(largest > 0)) largest = Math.max(0, ...arrows.map((a) => a.mag));
  const factor = largest > 0 ? (ARROW_SHARE * width) / largest : 0;
  for (const arrow of arrows) {
    const cut = Math.min(1, arrow.mag * factor > width ? width / (arrow.mag * factor) : 1);
    arrow.clipped = cut < 1;
    arrow.shown = [arrow.vec[0] * factor * cut, arrow.vec[1] * factor * cut];
  }
  return { arrows, factor };
}

/**
 * A sharpness-aware run's ascent at the selected run's frame: from the frame's point to the
 * ascent point w + ε(w) where the step leaving it took its second gradient (`ascent`), or null.
 */
export function ascentAt(run, frame) {
  if (!run || run.hidden || run.preview || !frame) return null;
  const to = frame.ascent;
  if (!Array.isArray(to) || to.length !== 2 || !to.every(Number.isFinite)) return null;
  return { from: [frame.x, frame.y], to, loss: frame.loss };
}
