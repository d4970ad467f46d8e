// One codec for every setting's value in the page's link: an optimizer's hyperparameters
// (state.js) and a scheduler's parameters (knobs.js), by the type the API gives each
// (GET /api/optimizers, /api/schedulers): bool, choice, pair, int_list, int, float.
//
//   null (torch's own choice, "auto")  none
//   booleans                           1 / 0
//   pairs and lists                    a/b (a triple a/b/c: as many as the default has)
//   text (choices)                     %-escaped (the word "none" as %6Eone: it is not null)

import { decodeLinkText } from "./helpers.js";

function encodeAtom(value) {
  if (value === null || value === undefined) return "none";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") return String(value);
  // A choice spelled "none" (Lookahead's pullback_momentum) must not read back as null.
  if (value === "none") return "%6Eone";
  return encodeURIComponent(String(value));
}

/** A value as the link writes it. */
export function encodeValue(value) {
  return Array.isArray(value) ? value.map(encodeAtom).join("/") : encodeAtom(value);
}

const fallback = (hp) => structuredClone(hp.default);
const nullable = (hp) => Boolean(hp.nullable) || hp.default === null;

function decodeNumber(text, otherwise) {
  if (text === "none") return null;
  const value = Number(text);
  return text !== "" && Number.isFinite(value) ? value : otherwise;
}

/**
 * The value of `hp` that the link's `text` says, or its default where the text cannot be
 * read (a hand-edited link). `part` is the link's own words, for the notice of unreadable
 * escapes (helpers.decodeLinkText).
 */
export function decodeValue(hp, text, part = `${hp.name}=${text}`) {
  switch (hp.type) {
    case "bool":
      return text === "1" || text === "true";
    case "pair": {
      // As many numbers as the default holds (Adan's betas are three).
      const size = Array.isArray(hp.default) && hp.default.length ? hp.default.length : 2;
      const parts = text.split("/");
      if (parts.length !== size) return fallback(hp);
      return parts.map((piece, i) => decodeNumber(piece, hp.default ? hp.default[i] : 0));
    }
    case "int_list": {
      if (text === "none") return nullable(hp) ? null : fallback(hp);
      const values = text.split("/").map(Number);
      return values.length && values.every(Number.isInteger) ? values : fallback(hp);
    }
    case "choice": {
      if (text === "none") return (hp.choices || []).includes(null) ? null : fallback(hp);
      const value = decodeLinkText(text, part);
      return value !== null && (hp.choices || []).includes(value) ? value : fallback(hp);
    }
    default: {
      const value = decodeNumber(text, fallback(hp));
      return value === null && !nullable(hp) ? fallback(hp) : value;
    }
  }
}
