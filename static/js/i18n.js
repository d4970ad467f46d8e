// The page's language: English, or Simplified Chinese. The server picks it (`?lang=`, then the
// browser's Accept-Language) and inlines its messages as #boot-i18n: {lang, messages}, where
// `messages` maps an English text, exactly as written in the code, to its translation.
// English texts are the keys: `t("Learning rate")` reads the same in the code as on the page,
// and a text with no translation shows in English rather than not at all.

const boot = document.getElementById("boot-i18n");
const data = boot ? JSON.parse(boot.textContent) : { lang: "en", messages: {} };

/** "en" or "zh". */
export const lang = data.lang === "zh" ? "zh" : "en";
const messages = data.messages || {};

/**
 * `text` in the page's language, with `{name}` placeholders filled from `params`:
 * t("Step {step} of {total}", { step: 3, total: 10 }).
 */
export function t(text, params) {
  const chosen = Object.prototype.hasOwnProperty.call(messages, text) ? messages[text] : text;
  if (!params) return chosen;
  return chosen.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

// ---- texts the server sends ---------------------------------------------------------------
// The JSON API speaks English (descriptions, analysis events, errors); the page shows those
// texts through `ts`. The rule, which tests/test_i18n_server.py ports to Python (the browser
// test pins the two together on the same texts):
// 1. the whole text, exactly, as a key of the messages;
// 2. else the first pattern that matches the whole text. The patterns are the keys with
//    `{name}` placeholders of the server's locale files (`patterns` in #boot-i18n; the page's
//    own "{count} of {max}" is none), each placeholder matching any text (as little as it
//    can), patterns with more fixed text first (then by key); each captured piece goes
//    through the same rule and fills the translation;
// 3. else the text as it came.
// A key with no fixed text at all is no pattern (it would match anything).

const PLACEHOLDER = /\{(\w+)\}/g;
const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

function compile(table, keys) {
  const found = [];
  for (const key of keys) {
    if (!has(table, key)) continue;
    const value = table[key];
    const parts = key.split(/\{(\w+)\}/);
    if (parts.length < 3) continue;
    const fixed = parts.filter((_, i) => i % 2 === 0);
    const weight = fixed.join("").length;
    if (weight === 0) continue;
    const escaped = fixed.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const names = parts.filter((_, i) => i % 2 === 1);
    const source = escaped.map((part, i) => (i ? `([\\s\\S]*?)${part}` : part)).join("");
    found.push({ key, value, names, weight, regex: new RegExp(`^${source}$`) });
  }
  found.sort((a, b) => b.weight - a.weight || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return found;
}

/**
 * The rule above over `table` (English -> translation) with the pattern keys `keys`: a
 * function of a server's text.
 */
export function serverTranslator(table, keys) {
  let patterns = null;
  const said = new Map();
  const translate = (text) => {
    if (typeof text !== "string" || text === "") return text;
    if (has(table, text)) return table[text];
    if (said.has(text)) return said.get(text);
    patterns ??= compile(table, keys);
    let answer = text;
    for (const pattern of patterns) {
      const match = pattern.regex.exec(text);
      if (!match) continue;
      const pieces = {};
      pattern.names.forEach((name, i) => {
        pieces[name] = translate(match[i + 1]);
      });
      answer = pattern.value.replace(PLACEHOLDER, (whole, name) =>
        has(pieces, name) ? pieces[name] : whole,
      );
      break;
    }
    said.set(text, answer);
    return answer;
  };
  return translate;
}

const serverText =
  lang === "en" ? (text) => text : serverTranslator(messages, data.patterns || []);

/** A text from the server (English) in the page's language, by the rule above. */
export function ts(text) {
  return serverText(text);
}
