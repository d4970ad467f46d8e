"""The page's language, English or Simplified Chinese, and the Chinese of its texts.

A text's English, exactly as the code writes it, is its key: `locales/zh/*.json` are flat
objects English -> Chinese, merged into one table. The JSON API never translates: only the
page (pages.py) and its scripts (static/js/i18n.js) read this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

LANGUAGES = ("en", "zh")
DEFAULT = "en"
# What `<html lang>` says for each: the Chinese is the simplified script of the mainland.
HTML_LANG = {"en": "en", "zh": "zh-CN"}
LOCALES = Path(__file__).resolve().parents[2] / "locales"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
PLACEHOLDER = re.compile(r"\{(\w+)\}")
SERVER_FILES = "server*.json"
"""Texts the server sends (descriptions, analysis, errors), which the page translates with
static/js/i18n.js `ts`: the keys of these files with placeholders are its patterns."""


class LocaleError(ValueError):
    """A locale file that is not a flat object of texts, or a text two files translate."""


def supported(code: str | None) -> str | None:
    """`code` ("zh", "EN", ...) as one of LANGUAGES, or None."""
    code = (code or "").strip().lower()
    return code if code in LANGUAGES else None


def accepted_language(header: str | None) -> str:
    """The best language of LANGUAGES an Accept-Language header asks for.

    Every Chinese (zh, zh-CN, zh-Hans, zh-TW, ...) reads the Simplified Chinese page; a
    language the page does not have counts for nothing, and with none it has, English.
    Ties go to the one named first, as browsers list them in order of preference.
    """
    best, best_quality = DEFAULT, 0.0
    for item in (header or "").split(","):
        tag, _, params = item.partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > best_quality:
            best, best_quality = primary, quality
    return best


def page_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """`?lang=` first, then the cookie a person's earlier choice left, then the browser's."""
    return supported(query) or supported(cookie) or accepted_language(accept_language)


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Each locale file's name, size and mtime: an edit changes it (as asset_version does)."""
    return tuple(
        (path.name, stat.st_size, stat.st_mtime_ns)
        for path in sorted(folder.glob("*.json"))
        for stat in [path.stat()]
    )


@lru_cache(maxsize=4)
def _load(folder: Path, signature: tuple[tuple[str, int, int], ...]) -> Mapping[str, str]:
    table: dict[str, str] = {}
    source: dict[str, str] = {}
    for name, _, _ in signature:
        data: Any = json.loads((folder / name).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise LocaleError(f"{folder.name}/{name}: not a JSON object")
        for key, value in data.items():
            if not isinstance(value, str):
                raise LocaleError(f"{folder.name}/{name}: {key!r} is not a text")
            if key in source:
                raise LocaleError(f"{key!r} is translated twice: in {source[key]} and {name}")
            table[key] = value
            source[key] = name
    return table


def messages(lang: str, root: Path = LOCALES) -> Mapping[str, str]:
    """English -> `lang` for every text of the page; English itself needs none.

    Read again whenever a file of the language changes, like the templates, so an edited
    translation shows on the next visit.
    """
    if lang == DEFAULT:
        return {}
    folder = root / lang
    return _load(folder, _signature(folder))


def server_patterns(lang: str, root: Path = LOCALES) -> list[str]:
    """The keys of `lang`'s server files that have placeholders: the patterns of `ts`. The
    page's own texts are no patterns there (its "{count} of {max}" is no server sentence)."""
    if lang == DEFAULT:
        return []
    return sorted(
        key
        for path in sorted((root / lang).glob(SERVER_FILES))
        for key in json.loads(path.read_text(encoding="utf-8"))
        if PLACEHOLDER.search(key)
    )


def boot_json(lang: str, root: Path = LOCALES) -> str:
    """The page's #boot-i18n block: its language, only that language's messages and, but in
    English, the patterns of the server's texts (`server_patterns`)."""
    if lang == DEFAULT:
        return _boot_json(lang, root, ())
    folder = root / lang
    return _boot_json(lang, folder, _signature(folder))


@lru_cache(maxsize=4)
def _boot_json(lang: str, folder: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    table = _load(folder, signature) if signature else {}
    data: dict[str, Any] = {"lang": lang, "messages": table}
    if signature:
        data["patterns"] = server_patterns(lang, folder.parent)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def translator(lang: str) -> Any:
    """The templates' `t(text, **params)`: `text` in `lang`, `{name}` filled from params.

    The answer is markup with the text escaped; a param that is Markup (a `<code>` made
    with `{% set %}`) goes in as it is, any other param escaped.
    """
    table = messages(lang)

    def t(text: str, **params: object) -> Markup:
        chosen = str(escape(table.get(text, text)))

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(escape(params[name])) if name in params else match.group(0)

        return Markup(PLACEHOLDER.sub(fill, chosen))  # escaped piece by piece just above

    return t
