"""The server's English on the Chinese page: i18n.js's `ts` and its Python port agree on every
server text, and a preset's analysis reads in Chinese with the numbers of the API's English."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from tests.browser.test_page import api_run, open_page
from tests.browser.test_phenomena import choose_preset, presets
from tests.test_i18n_server import (
    CJK,
    RULE_EXAMPLES,
    RULE_TABLE,
    all_texts,
    page_translator,
)

# The page's own module (its URL carries the asset version), so the page's messages.
TRANSLATE = """async ([texts, table, keys]) => {
  const link = document.querySelector('link[rel=modulepreload][href*="/i18n.js"]');
  const i18n = await import(link ? link.href : "/static/js/i18n.js");
  const rule = i18n.serverTranslator(table, keys);
  return {page: texts.map((text) => i18n.ts(text)), rule: texts.map((text) => rule(text))};
}"""
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def translate(page: Page, texts: list[str], table: dict[str, str] | None = None) -> Any:
    table = table or {}
    return page.evaluate(TRANSLATE, [texts, table, list(table)])


def test_the_page_and_python_translate_every_server_text_alike(
    page: Page, live_server: str, client: TestClient
) -> None:
    open_page(page, f"{live_server}/?lang=zh")
    texts = sorted({text for found in all_texts(client).values() for text in found})
    assert len(texts) > 800
    ts = page_translator()
    assert translate(page, texts)["page"] == [ts(text) for text in texts]
    examples = [text for text, _ in RULE_EXAMPLES]
    assert translate(page, examples, RULE_TABLE)["rule"] == [zh for _, zh in RULE_EXAMPLES]


def test_an_overshooting_preset_explains_itself_in_chinese(page: Page, live_server: str) -> None:
    preset = presets(live_server)["overshoot"]
    open_page(page, f"{live_server}/?lang=zh")
    choose_preset(page, "overshoot", len(preset["runs"]))
    # The preset selects the run that overshoots once the runs are done.
    selected = page.wait_for_function(
        """() => {
          const {state, runs} = window.losslab;
          const run = runs[state.selected];
          return run.analysis && run.analysis.events.some((e) => e.type === "overshoot")
            && {config: run.config};
        }"""
    ).json_value()
    english = api_run(live_server, selected["config"])["analysis"]
    ts = page_translator()

    page.get_by_test_id("events-tab").click()
    events = page.get_by_test_id("event")
    expect(events).to_have_count(len(english["events"]))
    for item, event in zip(events.all(), english["events"], strict=True):
        assert item.get_attribute("data-type") == event["type"]
        shown = item.locator(".event-detail").inner_text()
        assert shown == ts(event["detail"])
        assert CJK.search(shown) and not re.search(r"[a-z]{3,} [a-z]{3,}", shown)
        assert NUMBER.findall(shown) == NUMBER.findall(event["detail"])
    overshoot = page.locator("[data-testid=event][data-type=overshoot] .event-detail").first
    expect(overshoot).to_contain_text("步超调")

    outcome = page.locator("[data-events-outcome]")
    expect(outcome).to_contain_text(ts(english["outcome"]["detail"]))
    for number in NUMBER.findall(english["outcome"]["detail"]):
        expect(outcome).to_contain_text(number)
    assert page.watch.errors == []  # type: ignore[attr-defined]
