// The language in the link, and the top bar's switch to the other language.
//
// The server picks the page's language: `?lang=zh|en`, then the `lang` cookie it sets when
// a person chose one, then the browser's Accept-Language (app/web/i18n.py). A `lang=` the
// page was opened with stays in the address as the page rewrites it, so a reload, a
// bookmark and Copy link keep the language that was asked for; a link without one opens in
// its reader's own language.

import { lang } from "./i18n.js";

/** The `lang=` of the address the page opened with, when the server honoured it. */
const linked = new URLSearchParams(location.search).get("lang");
const keep = (linked || "").toLowerCase() === lang;

/** A state.js extension: writes `lang=` back where the link had it. */
export const languageCodec = {
  encode: () => (keep ? [`lang=${lang}`] : []),
};

/** `search` with its `lang=` replaced by `target`'s. */
export function switchHref(search, target) {
  const pairs = search
    .replace(/^\?/, "")
    .split("&")
    .filter((pair) => pair && pair.split("=")[0] !== "lang");
  return `?${[...pairs, `lang=${target}`].join("&")}`;
}

/** Point the switch at the page as it is now (the query changes as the page is used). */
export function installLanguageSwitch(link) {
  if (!link) return;
  const update = () => {
    link.href = switchHref(location.search, link.dataset.lang);
  };
  for (const type of ["pointerenter", "focus", "pointerdown", "click", "contextmenu"]) {
    link.addEventListener(type, update);
  }
}
