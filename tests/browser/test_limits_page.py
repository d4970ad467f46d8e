"""The page keeps within the limits of the server it talks to, read from it (GET /api/limits
inlined into the page), never from copies of its own."""

from __future__ import annotations

from playwright.sync_api import Browser

from losslab.config import Settings
from tests.servers import make_app, serve_in_thread


def test_the_page_takes_its_limits_from_the_server(browser: Browser) -> None:
    settings = Settings(
        max_steps=300, max_map_resolution=64, max_map_axis=48, max_network_steps=200
    )
    with serve_in_thread(make_app(settings)) as (url, _):
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(f"{url}/?steps=250")
        page.wait_for_selector("body[data-ready='true']")
        assert page.get_by_test_id("steps").get_attribute("max") == "300"
        assert page.evaluate("() => window.losslab.state.steps") == 250
        resolutions = page.get_by_test_id("basin-resolution").evaluate(
            "(el) => [...el.options].map(o => Number(o.value))"
        )
        assert max(resolutions) == 64
        cells = page.locator("[data-hmap-cells]").evaluate(
            "(el) => [...el.options].map(o => Number(o.value))"
        )
        assert max(cells) == 48
        assert page.get_by_test_id("network-steps").get_attribute("max") == "200"
        # A link asking for more steps than this server takes is not applied.
        page.goto(f"{url}/?steps=400")
        page.wait_for_selector("body[data-ready='true']")
        assert page.evaluate("() => window.losslab.state.steps") == 300  # the most it takes
        context.close()
