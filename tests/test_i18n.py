"""The page in two languages: every text it says has its Chinese, and the right one shows.

The texts are the string literals of `t("...")` calls in static/js/ and templates/, found by
a small tokenizer (strings, template literals, comments and regex literals skipped as the
JS grammar reads them), so a `t("...")` in a comment is not a text of the page.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import Markup, escape

from losslab.web import i18n

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "static" / "js"
TEMPLATES = ROOT / "templates"
ZH = ROOT / "locales" / "zh"
# A `t(expression)` must say why its text is not a literal: `// i18n: <why>` on its line or
# the line above (a text the server sent, translated by pattern).
DYNAMIC = "// i18n:"


@dataclass(frozen=True)
class Call:
    file: str
    line: int
    text: str | None  # None: the argument is not a string literal


# ---- JS ----------------------------------------------------------------------------------

# After these tokens a `/` starts a regex literal; after a value (name, number, `)`, `]`) it
# divides.
REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {"", "return", "typeof", "case", "of", "in"}
JS_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\n|.)", re.S)
SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def unescape_js(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u{"):
            return chr(int(code[2:-1], 16))
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code == "\n":
            return ""
        return SIMPLE_ESCAPES.get(code, code)

    return JS_ESCAPE.sub(one, body)


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "template", "punct", "number"
    value: str
    line: int
    literal: str | None = None  # a string's (or a ${}-free template's) text


def expression_end(source: str, i: int) -> int:
    """The index of the `}` that closes a template's `${` expression starting at `i`."""
    depth = 0
    while True:
        c = source[i]
        if c in "\"'`":
            i = skip_quoted(source, i)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1


def skip_quoted(source: str, i: int) -> int:
    """The index past the string or template literal starting at `i`."""
    quote, j = source[i], i + 1
    while source[j] != quote:
        if source[j] == "\\":
            j += 2
        elif quote == "`" and source.startswith("${", j):
            j = expression_end(source, j + 2) + 1
        else:
            j += 1
    return j + 1


def js_tokens(source: str, first_line: int = 1) -> Iterator[Token]:
    """Tokens of an ES module, enough to read `t("...")` calls; comments are dropped."""
    i, line, previous = 0, first_line, ""
    n = len(source)
    while i < n:
        c = source[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            end = source.index("*/", i + 2) + 2
            line += source.count("\n", i, end)
            i = end
        elif c in "\"'":
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            token = Token("string", source[i : j + 1], line, unescape_js(source[i + 1 : j]))
            line += source.count("\n", i, j)
            i = j + 1
            yield token
            previous = "string"
        elif c == "`":
            j, plain, inner = i + 1, True, []
            while source[j] != "`":
                if source[j] == "\\":
                    j += 2
                elif source.startswith("${", j):
                    plain = False
                    end = expression_end(source, j + 2)
                    inner.append((source[j + 2 : end], line + source.count("\n", i, j)))
                    j = end + 1
                else:
                    j += 1
            literal = unescape_js(source[i + 1 : j]) if plain else None
            yield Token("template", source[i : j + 1], line, literal)
            for text, at in inner:  # the calls inside `${...}` are calls too
                yield from js_tokens(text, at)
            line += source.count("\n", i, j)
            i = j + 1
            previous = "template"
        elif c == "/" and previous in REGEX_AFTER:
            j, in_class = i + 1, False
            while in_class or source[j] != "/":
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            j += 1
            while j < n and (source[j].isalnum()):
                j += 1
            i = j
            previous = "regex"
        elif c.isalpha() or c in "_$":
            j = i
            while j < n and (source[j].isalnum() or source[j] in "_$"):
                j += 1
            word = source[i:j]
            yield Token("name", word, line)
            i = j
            previous = word if word in REGEX_AFTER else "name"
        elif c.isdigit():
            j = i
            while j < n and (source[j].isalnum() or source[j] in "._"):
                j += 1
            yield Token("number", source[i:j], line)
            i = j
            previous = "number"
        else:
            yield Token("punct", c, line)
            i += 1
            previous = c if c not in ")]" else "name"


def shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def js_calls(path: Path) -> list[Call]:
    """Every `t(...)` call of a module (not `x.t(` nor a definition `function t(`)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tokens = list(js_tokens(source))
    calls = []
    name = shown(path)
    for k in range(len(tokens) - 2):
        token, paren = tokens[k], tokens[k + 1]
        if token.kind != "name" or token.value != "t" or paren.value != "(":
            continue
        before = tokens[k - 1] if k else None
        if before and before.value in (".", "function"):
            continue
        if is_method_definition(tokens, k + 1):
            continue
        arg, after = tokens[k + 2], tokens[k + 3] if k + 3 < len(tokens) else None
        literal = arg.literal if after and after.value in ",)" else None
        if literal is None:
            nearby = lines[max(0, token.line - 2) : token.line]
            if any(DYNAMIC in text for text in nearby):
                continue
        calls.append(Call(name, token.line, literal))
    return calls


def is_method_definition(tokens: list[Token], paren: int) -> bool:
    """`t(v) { ... }`: a class's own method named t, no call."""
    depth = 0
    for k in range(paren, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[k].value, 0) if tokens[k].kind == "punct" else 0
        if depth == 0:
            return k + 1 < len(tokens) and tokens[k + 1].value == "{"
    return False


def js_files() -> list[Path]:
    return sorted(path for path in JS.rglob("*.js") if path.name != "i18n.js")


IMPORTS_T = re.compile(r"import\s*\{[^}]*\bt\b[^}]*\}\s*from\s*[\"'](?:\./|\.\./)+i18n\.js[\"']")


def imports_t(path: Path) -> bool:
    return bool(IMPORTS_T.search(path.read_text(encoding="utf-8")))


# ---- templates -----------------------------------------------------------------------------

JINJA_BLOCK = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
JINJA_CALL = re.compile(r"(?<![\w.])t\(\s*")
JINJA_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*[,)]""", re.S)


def template_calls(path: Path) -> list[Call]:
    source = path.read_text(encoding="utf-8")
    calls = []
    name = shown(path)
    for block in JINJA_BLOCK.finditer(source):
        inner = block.group(1) if block.group(1) is not None else block.group(2)
        offset = block.start(1) if block.group(1) is not None else block.start(2)
        for call in JINJA_CALL.finditer(inner):
            line = source.count("\n", 0, offset + call.start()) + 1
            string = JINJA_STRING.match(inner, call.end())
            text = ast.literal_eval(string.group(1)) if string else None
            calls.append(Call(name, line, text))
    return calls


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def all_calls() -> list[Call]:
    # A module that does not import i18n's `t` may have a `t` of its own (a scale's map).
    calls = [call for path in js_files() if imports_t(path) for call in js_calls(path)]
    return calls + [call for path in template_files() for call in template_calls(path)]


def placeholders(text: str) -> set[str]:
    return set(i18n.PLACEHOLDER.findall(text))


# ---- the extractor itself ----------------------------------------------------------------


def test_the_extractor_reads_calls_as_js_does(tmp_path: Path) -> None:
    source = (
        "// t('in a comment') is no call\n"
        'const a = t("Plain {n}", { n }), b = t(\'single "quoted"\');\n'
        "const c = s.split(/[t(\"x\")]/g).t('method'), d = x / t(`template`) / 2;\n"
        "/* t('block comment') */ const e = t(name), f = t(`with ${a}`), g = t('a' + b);\n"
        "// i18n: a server text\n"
        "const h = t(server.description);\n"
        "function t(text) {}\n"
        "class A { t(v) { return v; } }\n"
        "const i = t('it\\'s {x}') + t(\"line\\\nbreak\");\n"
        "return t('returned');\n"
        "const j = `${t(\"inside {n}\", { n: `${t('nested')}` })} and ${a ? \"}\" : t('after')}`;\n"
    )
    probe = tmp_path / "probe.js"
    probe.write_text(source, encoding="utf-8")
    calls = js_calls(probe)
    assert [(call.line, call.text) for call in calls] == [
        (2, "Plain {n}"),
        (2, 'single "quoted"'),
        (3, "template"),
        (4, None),
        (4, None),
        (4, None),
        (9, "it's {x}"),
        (9, "linebreak"),
        (11, "returned"),
        (12, "inside {n}"),
        (12, "nested"),
        (12, "after"),
    ]


def test_the_extractor_reads_jinja_calls(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<p title="{{ t("Say {x}", x=1) }}">{{ t(\'it\\\'s\') }}</p>\n{{ t(name) }}',
        encoding="utf-8",
    )
    calls = template_calls(page)
    assert [(call.line, call.text) for call in calls] == [(1, "Say {x}"), (1, "it's"), (2, None)]


# ---- the translations ------------------------------------------------------------------------


def test_every_text_of_the_page_is_a_literal() -> None:
    """A `t(name)` cannot be checked: write the text there, or say why with `// i18n:`."""
    dynamic = [f"{call.file}:{call.line}" for call in all_calls() if call.text is None]
    assert dynamic == []


def test_every_text_of_the_page_has_its_chinese() -> None:
    table = i18n.messages("zh")
    missing = [
        f"{call.file}:{call.line}: {call.text}"
        for call in all_calls()
        if call.text and call.text not in table
    ]
    assert missing == []


def test_no_translation_is_stale() -> None:
    """Every key of locales/zh/ (but the server's texts) is still a text of the page."""
    used = {call.text for call in all_calls()}
    # Texts the server sends (descriptions, events, errors) are matched by i18n.js's `ts`,
    # not written as `t("...")` literals: their files need no literal to use them.
    server = {path.name for path in ZH.glob(i18n.SERVER_FILES)}
    stale = [
        f"{path.name}: {key}"
        for path in sorted(ZH.glob("*.json"))
        if path.name not in server
        for key in json.loads(path.read_text(encoding="utf-8"))
        if key not in used
    ]
    assert stale == []


def test_a_translation_has_the_placeholders_of_its_english() -> None:
    wrong = {
        key: value
        for key, value in i18n.messages("zh").items()
        if placeholders(key) != placeholders(value) or not value.strip()
    }
    assert wrong == {}


def test_every_module_that_says_a_text_imports_t() -> None:
    """A `t("...")` with no import would throw at run time, which node --check cannot see."""
    lacking = [
        shown(path)
        for path in js_files()
        if not imports_t(path) and any(call.text for call in js_calls(path))
    ]
    assert lacking == []


# ---- loading the locale files ----------------------------------------------------------------


def write(folder: Path, name: str, data: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_locale_files_merge_and_are_read_again_when_edited(tmp_path: Path) -> None:
    write(tmp_path / "zh", "a.json", {"Run": "运行"})
    write(tmp_path / "zh", "b.json", {"Step": "步"})
    assert dict(i18n.messages("zh", tmp_path)) == {"Run": "运行", "Step": "步"}
    write(tmp_path / "zh", "b.json", {"Step": "第几步", "Steps": "步数"})
    assert dict(i18n.messages("zh", tmp_path)) == {"Run": "运行", "Step": "第几步", "Steps": "步数"}
    assert i18n.messages("en", tmp_path) == {}


def test_a_text_translated_in_two_files_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "zh", "a.json", {"Run": "运行"})
    write(tmp_path / "zh", "b.json", {"Run": "跑"})
    with pytest.raises(i18n.LocaleError, match=r"'Run' is translated twice: in a.json and b.json"):
        i18n.messages("zh", tmp_path)


@pytest.mark.parametrize("data", [["Run"], {"Run": 1}, {"Run": {"zh": "运行"}}], ids=str)
def test_a_locale_file_is_a_flat_object_of_texts(tmp_path: Path, data: object) -> None:
    write(tmp_path / "zh", "a.json", data)
    with pytest.raises(i18n.LocaleError, match=r"a\.json"):
        i18n.messages("zh", tmp_path)


def test_the_templates_t_escapes_the_text_but_not_markup_params() -> None:
    t = i18n.translator("en")
    said = t("{a} & {b} <i>", a="<x>", b=Markup("<code>y</code>"))
    assert said == Markup("&lt;x&gt; &amp; <code>y</code> &lt;i&gt;")
    assert t("{missing} stays") == "{missing} stays"


# ---- choosing the language -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh", "zh"),
        ("zh-Hans-CN", "zh"),
        ("zh-TW", "zh"),
        ("ZH-hk;q=0.7", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", "zh"),
        ("de-DE,en;q=0.5,zh;q=0.4", "en"),
        ("en;q=0.3,zh;q=0.6", "zh"),
        ("zh;q=0,en;q=0.1", "en"),
        ("zh;q=oops", "en"),
        ("fr", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
    ],
    ids=str,
)
def test_accept_language_picks_the_best_language_the_page_has(
    header: str | None, lang: str
) -> None:
    assert i18n.accepted_language(header) == lang


def html_lang(response_text: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', response_text)
    assert match
    return match.group(1)


def boot_i18n(response_text: str) -> dict[str, object]:
    match = re.search(
        r'<script type="application/json" id="boot-i18n">(.*?)</script>', response_text
    )
    assert match
    data: dict[str, object] = json.loads(match.group(1))
    return data


def page(client: TestClient, query: str = "", **headers: str) -> tuple[str, str]:
    response = client.get(f"/{query}", headers=headers)
    assert response.status_code == 200
    return html_lang(response.text), response.headers["vary"]


@pytest.fixture
def fresh(make_client: object) -> TestClient:
    """A client with an empty cookie jar."""
    client: TestClient = make_client()  # type: ignore[operator]
    return client


def test_the_browsers_language_is_the_default(fresh: TestClient) -> None:
    assert page(fresh, **{"Accept-Language": "zh-CN,zh;q=0.9"})[0] == "zh-CN"
    assert page(fresh, **{"Accept-Language": "en-US"})[0] == "en"
    assert page(fresh)[0] == "en"
    assert "lang" not in fresh.cookies  # no choice was made


def test_lang_in_the_query_wins_and_is_remembered(fresh: TestClient) -> None:
    response = fresh.get("/?lang=zh", headers={"Accept-Language": "en-US"})
    assert html_lang(response.text) == "zh-CN"
    assert "lang=zh" in response.headers["set-cookie"]
    # Later visits without ?lang keep the choice over the browser's language ...
    assert page(fresh, **{"Accept-Language": "en-US"})[0] == "zh-CN"
    # ... until another choice.
    assert page(fresh, "?lang=en", **{"Accept-Language": "zh-CN"})[0] == "en"
    assert page(fresh, **{"Accept-Language": "zh-CN"})[0] == "en"


def test_an_unknown_lang_is_no_choice(fresh: TestClient) -> None:
    response = fresh.get("/?lang=fr", headers={"Accept-Language": "zh-CN"})
    assert html_lang(response.text) == "zh-CN"
    assert "set-cookie" not in response.headers
    fresh.cookies.set("lang", "klingon")
    assert page(fresh, **{"Accept-Language": "en"})[0] == "en"


def test_the_page_varies_with_language_and_cookie(fresh: TestClient) -> None:
    vary = {part.strip() for part in page(fresh)[1].split(",")}
    assert {"Accept-Language", "Cookie", "Accept-Encoding"} <= vary


def test_the_page_inlines_only_its_languages_messages(fresh: TestClient) -> None:
    english = fresh.get("/?lang=en").text
    assert boot_i18n(english) == {"lang": "en", "messages": {}}
    chinese = fresh.get("/?lang=zh").text
    table, patterns = dict(i18n.messages("zh")), i18n.server_patterns("zh")
    assert boot_i18n(chinese) == {"lang": "zh", "messages": table, "patterns": patterns}


def test_the_template_speaks_the_pages_language(fresh: TestClient) -> None:
    english = fresh.get("/?lang=en").text
    chinese = fresh.get("/?lang=zh").text
    table = i18n.messages("zh")
    texts = [c.text for c in all_calls() if c.file.startswith("templates/") and c.text]
    # The switch's title names the other language: one of the two shows on each page.
    sample = [
        text
        for text in texts
        if text in table and not placeholders(text) and not text.startswith("Show this page")
    ]
    assert len(sample) >= 10
    for text in sample:
        assert str(escape(text)) in english, text
        assert str(escape(table[text])) in chinese, text


def test_the_switch_keeps_the_rest_of_the_query(fresh: TestClient) -> None:
    english = fresh.get("/?surface=himmelblau&lang=en&run=SGD,lr=0.01").text
    assert 'href="?surface=himmelblau&amp;run=SGD,lr=0.01&amp;lang=zh"' in english
    assert 'title="Show this page in Simplified Chinese"' in english
    chinese = fresh.get("/?lang=zh").text
    assert 'href="?lang=en"' in chinese
    assert f'title="{i18n.messages("zh")["Show this page in English"]}"' in chinese


@pytest.mark.parametrize(
    "path", ["/api/surfaces", "/api/optimizers", "/api/schedulers", "/api/presets"]
)
def test_the_json_api_stays_english(fresh: TestClient, path: str) -> None:
    plain = fresh.get(path)
    fresh.cookies.set("lang", "zh")
    chinese = fresh.get(f"{path}?lang=zh", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.status_code == plain.status_code == 200
    assert chinese.content == plain.content


def test_errors_of_the_api_stay_english(fresh: TestClient) -> None:
    body = {"surface": "bowl", "optimizer": "SGD", "hyperparameters": {"lr": -1}}
    plain = fresh.post("/api/runs", json=body)
    chinese = fresh.post("/api/runs", json=body, headers={"Accept-Language": "zh-CN"})
    assert plain.status_code == chinese.status_code == 422
    assert chinese.json() == plain.json()
