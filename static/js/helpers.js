// Helpers for what people type: the page's link (read by hand-written links too) and number
// boxes. HTTP is api.js's; elements are dom.js's.

/** Parts of the page's link that could not be read, each once, in order (takeUnreadable). */
const unreadable = new Set();

/**
 * decodeURIComponent for text from the page's link, which anyone can write by hand: a
 * malformed escape (`%E0%A4%A`) gives null instead of throwing "URI malformed", and `part`
 * (the link's own words, `sched=%E0%A4%A`) is noted so the page can say what it ignored.
 * Every decode of the link goes through here (state.js, knobs.js, extras.js).
 */
export function decodeLinkText(text, part) {
  try {
    return decodeURIComponent(text);
  } catch {
    unreadable.add(part);
    return null;
  }
}

/** The parts of the link noted as unreadable so far; forgets them. */
export function takeUnreadable() {
  const parts = [...unreadable];
  unreadable.clear();
  return parts;
}

/** A number from a text box, or null when it is empty or not finite. */
export function readNumber(input) {
  const text = input.value.trim();
  const value = Number(text);
  return text !== "" && Number.isFinite(value) ? value : null;
}
