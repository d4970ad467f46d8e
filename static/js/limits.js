// The server's limits (GET /api/limits, inlined into the page at boot): every `max_*` setting
// by its LOSSLAB_ name. The page keeps its requests within them and copies none of them.

/** Filled once, before the app starts (main.js boot). */
export const limits = {};

export function setLimits(values) {
  Object.assign(limits, values);
}
