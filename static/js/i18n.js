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
