// Small helpers shared by the feature modules (knobs, formula, models, script): JSON and text
// requests that carry the server's own error message, and a tiny element builder.

import { ApiError } from "./api.js";

async function send(url, init) {
  const response = await fetch(url, init);
  if (response.ok) return response;
  const body = await response.json().catch(() => null);
  throw new ApiError(response.status, body && body.detail);
}

const jsonInit = (body, signal) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
  signal,
});

export async function postJSON(url, body, signal) {
  return (await send(url, jsonInit(body, signal))).json();
}

export async function postText(url, body, signal) {
  return (await send(url, jsonInit(body, signal))).text();
}

export async function postCSV(url, text) {
  const init = { method: "POST", headers: { "content-type": "text/csv" }, body: text };
  return (await send(url, init)).json();
}

/** The first message of an error (422 `detail[0].msg`, a string detail, or the error's own). */
export function errorText(error) {
  const detail = error && error.detail;
  if (Array.isArray(detail) && detail.length) return detail.map((d) => d.msg).join("; ");
  if (typeof detail === "string") return detail;
  if (error && error.status === 429) return "The server is busy: try again in a moment.";
  return error && error.message ? error.message : "The request failed.";
}

/** `el("p", {class: "hint", text: "…", "data-x": "1"}, ...children)`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (
      key.startsWith("data-") ||
      key.startsWith("aria-") ||
      key === "for" ||
      key === "role"
    ) {
      node.setAttribute(key, value === true ? "" : String(value));
    } else node[key] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

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
