"""The page in Simplified Chinese: chosen by the switch, a link or the browser, kept while the
page rewrites its link, and with no English left on screen but names and code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from losslab.web import i18n
from tests.browser.conftest import PageWatch
from tests.browser.test_page import RUNS_DONE, open_page

ZH = i18n.messages("zh")


def zh(text: str) -> str:
    return ZH[text]


def html_lang(page: Page) -> str:
    return str(page.evaluate("document.documentElement.lang"))


@pytest.fixture
def new_page(browser: Browser, live_server: str) -> Iterator[Any]:
    """Pages in contexts of their own (a locale, cookies), closed afterwards."""
    contexts = []

    def make(**options: Any) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 720}, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.watch = PageWatch(page, live_server)  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


def test_lang_zh_shows_the_page_in_chinese(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?lang=zh")
    assert html_lang(page) == "zh-CN"
    expect(page.get_by_test_id("add-run")).to_have_text(zh("Add run"))
    expect(page.get_by_test_id("copy-link")).to_have_text(zh("Copy link"))
    expect(page.locator("#h-optimizer")).to_have_text(zh("Optimizer"))
    expect(page.locator("[data-seg=contour]")).to_have_text(zh("Contour"))
    expect(page.get_by_test_id("events-tab")).to_contain_text(zh("Events"))
    expect(page.locator("label[for=speed]")).to_have_text(zh("speed"))
    assert page.get_by_test_id("speed").locator("option[value='60']").inner_text() == zh(
        "{n} steps/s"
    ).replace("{n}", "60")
    # A text the scripts write (analysis.js), and the switch, named in its own language.
    expect(page.get_by_test_id("stability-note")).to_contain_text(zh("λ where it ended: ").strip())
    expect(page.get_by_test_id("lang-switch")).to_have_text("English")
    assert page.watch.errors == []  # type: ignore[attr-defined]


def test_the_switch_goes_to_english_and_back_and_the_choice_stays(
    page: Page, live_server: str
) -> None:
    open_page(page, f"{live_server}/?lang=zh&surface=himmelblau")
    # The page rewrites its link as it is used: the language stays in it.
    page.get_by_test_id("add-run").click()
    page.wait_for_function("() => window.losslab.state.runs.length === 2")
    page.wait_for_function("() => new URLSearchParams(location.search).getAll('run').length === 2")
    assert "lang=zh" in page.url
    with page.expect_navigation():
        page.get_by_test_id("lang-switch").click()
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == "en"
    expect(page.get_by_test_id("add-run")).to_have_text("Add run")
    # The rest of the view came along: the surface and both runs.
    assert page.evaluate("window.losslab.state.surface") == "himmelblau"
    assert page.evaluate("window.losslab.state.runs.length") == 2
    assert "lang=en" in page.url and "lang=zh" not in page.url
    page.reload()
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == "en"
    # A link without `lang` opens in the language last chosen (the cookie), not the browser's.
    page.goto(f"{live_server}/?surface=bowl")
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == "en"
    with page.expect_navigation():
        page.get_by_test_id("lang-switch").click()
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == "zh-CN"
    assert page.evaluate("window.losslab.state.surface") == "bowl"
    page.goto(f"{live_server}/")
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == "zh-CN"
    expect(page.get_by_test_id("add-run")).to_have_text(zh("Add run"))
    # A link the page wrote keeps only what was asked: no `lang` when none was.
    page.wait_for_function(RUNS_DONE)
    assert "lang=" not in page.url


@pytest.mark.parametrize(("locale", "lang"), [("zh-CN", "zh-CN"), ("en-US", "en")], ids=str)
def test_the_browsers_language_is_the_default(
    new_page: Any, live_server: str, locale: str, lang: str
) -> None:
    page = new_page(locale=locale)
    page.goto(live_server)
    page.wait_for_selector("body[data-ready='true']")
    assert html_lang(page) == lang
    expected = zh("Add run") if lang == "zh-CN" else "Add run"
    expect(page.get_by_test_id("add-run")).to_have_text(expected)


# ---- nothing left in English ---------------------------------------------------------------

# What the page shows of the parts a person reads: text (the charts' SVG text too), the
# options of its selects, and the title, aria-label, placeholder and data-title (Plotly's
# modebar tooltips) of every element drawn. Left out: <code> (code is code), and words marked
# as another language (`lang="en"`: the switch names English in English).
SHOWN_TEXT = """(roots) => {
  const out = [];
  const foreign = (node) => {
    const marked = node.closest('[lang]');
    return marked && marked !== document.documentElement && !marked.lang.startsWith('zh');
  };
  const skip = (node) => node.closest('code, script, style') || foreign(node);
  const shown = (node) => node.checkVisibility({ visibilityProperty: true });
  for (const selector of roots) {
    for (const root of document.querySelectorAll(selector)) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || skip(parent) || !node.textContent.trim()) continue;
        if (parent.tagName === 'OPTION' ? shown(parent.closest('select')) : shown(parent)) {
          out.push(node.textContent.trim());
        }
      }
      const named = '[title], [aria-label], [placeholder], [data-title]';
      for (const element of root.querySelectorAll(named)) {
        if (skip(element) || !shown(element)) continue;
        for (const name of ['title', 'aria-label', 'placeholder', 'data-title']) {
          const value = element.getAttribute(name);
          if (value && value.trim()) out.push(value.trim());
        }
      }
    }
  }
  return [...new Set(out)];
}"""
ROOTS = [".topbar", ".sidebar", ".charts", ".playbar", "[data-status-line]", ".landscape-card"]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*(?:-[A-Za-z][A-Za-z0-9_.]*)*")
# Names the page keeps in Latin script, as Chinese PyTorch texts do: the product, libraries,
# languages and formats, and the people methods and functions are named after.
NAMES = {
    "losslab",
    "torch",
    "pytorch-optimizer",
    "Python",
    "Markdown",
    "Plotly",
    "Schedule-Free",
    "Rosenbrock",
    "Beale",
    "Himmelblau",
    "Rastrigin",
    "Ackley",
    "Hessian",
    "Nesterov",
    "Wilson",
}
# Python and torch words the page shows as they are typed (a call, `step()`, is code too).
CODE_WORDS = {"lr", "dtype", "None", "True", "False", "inf", "nan"}


def allowed_words(live_server: str) -> set[str]:
    """Every name the API's catalogues give: optimizers, schedulers, their settings, models."""
    words = set(NAMES) | CODE_WORDS
    for path in ("/api/optimizers", "/api/schedulers"):
        for spec in httpx.get(f"{live_server}{path}", timeout=30).json():
            words.add(spec["name"])
            words.update(hp["name"] for hp in spec["hyperparameters"])
    return words


def english_words(text: str, allowed: set[str]) -> list[str]:
    """The words of `text` that are English prose rather than a name, code or a symbol."""
    found = []
    for match in WORD.finditer(text):
        word = match.group()
        after = text[match.end() : match.end() + 1]
        if (
            len(word) == 1  # a variable: x, y, w, b
            or after in ("(", "²")  # math: step(), std²
            # The English term beside its Chinese, as the glossary asks: 轮（epoch）.
            or (text[match.start() - 1 : match.start()] == "（" and after == "）")
            or word in allowed
            or word.isupper()  # an acronym: SGD, CSV, JSON, API, PCA, MLP
            or any(c.isdigit() or c in "_." for c in word)  # code: float32, torch.optim
            or any(c.isupper() for c in word[1:])  # a class or a brand: PyTorch, StepLR
        ):
            continue
        found.append(word)
    return found


def csv_columns(page: Page) -> set[str]:
    """The header of the CSV the page exports: its column names are code."""
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    header = download.value.path().read_text(encoding="utf-8").splitlines()[0]
    return set(header.split(","))


def leftovers(page: Page, allowed: set[str]) -> dict[str, list[str]]:
    texts: list[str] = page.evaluate(SHOWN_TEXT, ROOTS)
    texts.append(page.title())
    return {text: words for text in texts if (words := english_words(text, allowed))}


def test_no_english_is_left_on_the_chinese_page(page: Page, live_server: str) -> None:
    open_page(page, f"{live_server}/?lang=zh&surface=rosenbrock&run=SGD,lr=0.001,momentum=0.9")
    allowed = allowed_words(live_server) | csv_columns(page)
    # The knobs open, as a person opens them, and both tabs of the analysis.
    page.evaluate("() => document.querySelectorAll('.sidebar details').forEach(d => d.open = true)")
    page.get_by_test_id("scheduler-select").select_option("StepLR")
    page.get_by_test_id("clip-kind").select_option("norm")
    page.wait_for_function(RUNS_DONE)
    found = leftovers(page, allowed)
    page.get_by_test_id("events-tab").click()
    expect(page.get_by_test_id("events-list")).to_be_visible()
    found |= leftovers(page, allowed)
    assert found == {}
