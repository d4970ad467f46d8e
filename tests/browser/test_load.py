"""Loading the page fast: data inline, modules preloaded, Plotly async and compressed, assets
cached for good (bench/browser_timing.py measures the time; these check the mechanisms)."""

from __future__ import annotations

import gzip
import json
import os
import re
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Request, Route, expect

from losslab.web.routes.pages import PLOTLY_JS, STATIC, accepts_gzip, embed_json
from tests.browser.test_page import open_page

BOOT_APIS = ("/api/surfaces", "/api/optimizers", "/api/schedulers", "/api/presets")
BLOCK = re.compile(r'<script type="application/json" id="([\w-]+)"([^>]*)>(.*?)</script>', re.S)


def blocks(html: str) -> dict[str, tuple[str, Any]]:
    """The page's JSON data blocks: id -> (attributes, parsed JSON)."""
    return {name: (attributes, json.loads(text)) for name, attributes, text in BLOCK.findall(html)}


def api_requests(page: Page) -> list[str]:
    """Paths (with query) of the /api/ requests the page has made, read from the browser."""
    paths: list[str] = page.evaluate(
        """() => performance.getEntriesByType('resource')
          .map(e => new URL(e.name))
          .filter(u => u.pathname.startsWith('/api/'))
          .map(u => u.pathname + u.search)"""
    )
    return paths


def test_the_page_boots_without_asking_for_its_data(page: Page, live_server: str) -> None:
    for query, surface in (("", "rosenbrock"), ("?surface=bowl&run=Adam,lr=0.1", "bowl")):
        open_page(page, f"{live_server}/{query}")
        assert page.evaluate("() => window.losslab.state.surface") == surface
        assert api_requests(page) == []  # lists, presets and the grid came inline
        expect(page.get_by_test_id("preset-select")).to_be_enabled()
        assert page.locator("[data-testid=scheduler-select] option").count() > 5
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == [] and watch.foreign == []


def test_inline_data_is_what_the_api_answers(live_server: str) -> None:
    def api(path: str) -> Any:
        response = httpx.get(f"{live_server}{path}", timeout=30)
        assert response.status_code == 200
        return response.json()

    page = httpx.get(f"{live_server}/", timeout=30)
    found = blocks(page.text)
    lists = found["boot-data"][1]
    for path in BOOT_APIS:
        assert lists[path.rsplit("/", 1)[1]] == api(path), path
    attributes, grid = found["boot-grid"]
    assert 'data-surface="rosenbrock"' in attributes and 'data-resolution="150"' in attributes
    assert grid == api("/api/surfaces/rosenbrock/grid?resolution=150")

    linked = blocks(httpx.get(f"{live_server}/?surface=himmelblau", timeout=30).text)
    assert 'data-surface="himmelblau"' in linked["boot-grid"][0]
    assert linked["boot-grid"][1] == api("/api/surfaces/himmelblau/grid?resolution=150")
    unknown = blocks(httpx.get(f"{live_server}/?surface=%3Cnope%3E", timeout=30).text)
    assert 'data-surface="rosenbrock"' in unknown["boot-grid"][0]
    # A linked formula brings its own grid (POST /api/surfaces/custom): none inline.
    assert "boot-grid" not in blocks(httpx.get(f"{live_server}/?surface=formula").text)


def test_json_in_the_page_cannot_end_its_script_element(page: Page) -> None:
    evil = {
        "a": "</script><script>window.pwned = 1</script>",
        "b": "<!-- <script> & &amp; </SCRIPT >",
        "c": ["\u2028", "<", ">", "&"],
    }
    text = embed_json(json.dumps(evil))
    assert "<" not in text and ">" not in text and "&" not in text
    page.set_content(
        f'<script type="application/json" id="data">{text}</script><p id="after">after</p>'
    )
    assert page.evaluate("() => window.pwned") is None
    assert page.evaluate("() => document.scripts.length") == 1
    assert page.evaluate("() => JSON.parse(document.getElementById('data').textContent)") == evil
    expect(page.locator("#after")).to_have_text("after")


def test_the_page_falls_back_to_fetching_without_inline_data(page: Page, live_server: str) -> None:
    # Removed as the parser adds them, before any module runs. (Serving an edited document
    # through page.route would make Chromium treat the page as non-local and block its
    # WebSocket to 127.0.0.1.)
    page.add_init_script(
        """new MutationObserver((records) => {
          for (const record of records) for (const node of record.addedNodes) {
            if (node.type === 'application/json') node.remove();
          }
        }).observe(document, {childList: true, subtree: true});"""
    )
    open_page(page, f"{live_server}/")
    made = api_requests(page)
    for path in (*BOOT_APIS, "/api/surfaces/rosenbrock/grid?resolution=150"):
        assert path in made, (path, made)
    expect(page.get_by_test_id("preset-select")).to_be_enabled()
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == []


def test_every_module_is_preloaded(page: Page, live_server: str) -> None:
    scripts: list[str] = []

    def note(request: Request) -> None:
        if request.url.endswith(".js") and "/vendor/" not in request.url:
            scripts.append(request.url)

    page.on("request", note)
    open_page(page, f"{live_server}/")
    preloaded = page.evaluate(
        "() => [...document.querySelectorAll('link[rel=modulepreload]')].map(l => l.href)"
    )
    on_disk = sorted(path.name for path in (STATIC / "js").glob("*.js"))
    assert sorted(url.rsplit("/", 1)[1] for url in preloaded) == on_disk
    # Every module the page loaded was announced up front: none waited for its importer.
    assert scripts and set(scripts) <= set(preloaded), set(scripts) - set(preloaded)


def test_plotly_is_compressed_once_and_cached_for_good(live_server: str) -> None:
    html = httpx.get(f"{live_server}/", timeout=30).text
    match = re.search(r'<script src="(/vendor/plotly-[^"]+\.min\.js)" async', html)
    assert match, "the page loads Plotly.js async from a versioned URL"
    url = f"{live_server}{match.group(1)}"
    raw = PLOTLY_JS.read_bytes()
    with httpx.Client(timeout=30) as client:
        zipped = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert zipped.headers["content-type"].startswith("text/javascript")
        assert int(zipped.headers["content-length"]) < len(raw) / 2
        assert zipped.content == raw  # httpx undid the gzip
        # ("gzip;q=0" too gets plain bytes here, but then Starlette's GZipMiddleware, which
        # reads no q-values, compresses them on the way out.)
        for refusing in ("identity", "br"):
            plain = client.get(url, headers={"accept-encoding": refusing})
            assert "content-encoding" not in plain.headers, refusing
            assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert plain.content == raw
        with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as wire:
            assert gzip.decompress(b"".join(wire.iter_raw())) == raw
        assert client.get(f"{live_server}/vendor/plotly-0.0.0.min.js").status_code == 404


def test_the_page_is_compressed_once_and_always_revalidated(live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        zipped = client.get("/", headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        # The page's language follows the browser's languages and a chosen one's cookie.
        assert zipped.headers["vary"] == "Accept-Encoding, Accept-Language, Cookie"
        assert zipped.headers["cache-control"] == "no-cache"
        plain = client.get("/", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["cache-control"] == "no-cache"
        assert zipped.text == plain.text
        # Each distinct page is its own (the cache is keyed by the page's bytes).
        other = client.get("/?surface=bowl", headers={"accept-encoding": "gzip"})
        assert 'data-surface="bowl"' in other.text and other.text != zipped.text
        assert 'data-surface="rosenbrock"' in client.get("/").text


def test_assets_are_versioned_and_a_change_gets_a_new_url(live_server: str) -> None:
    def stylesheet() -> str:
        html = httpx.get(f"{live_server}/", timeout=30).text
        match = re.search(r'<link rel="stylesheet" href="(/assets/[0-9a-f]+/css/app\.css)">', html)
        assert match
        return match.group(1)

    with httpx.Client(base_url=live_server, timeout=30) as client:
        url = stylesheet()
        current = client.get(url)
        assert current.status_code == 200
        assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert current.text == (STATIC / "css" / "app.css").read_text()
        # A page older than the files gets today's file, revalidated rather than kept.
        stale = client.get("/assets/000000000000/css/app.css")
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
        assert client.get(f"{url.rsplit('/css/', 1)[0]}/css/nope.css").status_code == 404
        assert client.get("/assets/x/..%2F..%2Fapp%2Fconfig.py").status_code == 404
        assert client.get("/assets/x/../../app/config.py").status_code == 404

        css = STATIC / "css" / "app.css"
        before = css.stat()
        try:
            os.utime(css, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
            assert stylesheet() != url  # an edited file has a new URL at once
        finally:
            os.utime(css, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert stylesheet() == url


def test_a_second_visit_asks_the_server_for_the_page_only(
    browser: Browser, live_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        first = context.new_page()
        open_page(first, f"{live_server}/")
        first.close()
        second = context.new_page()
        open_page(second, f"{live_server}/")
        fetched = second.evaluate(
            """() => performance.getEntriesByType('resource')
              .filter(e => /\\/(assets|vendor)\\//.test(e.name))
              .map(e => [new URL(e.name).pathname, e.transferSize])"""
        )
        assert len(fetched) > 20
        # transferSize 0: from the cache, not even revalidated (a 304 has a size).
        assert [path for path, size in fetched if size != 0] == []
    finally:
        context.close()


def test_the_page_builds_itself_while_plotly_loads(page: Page, live_server: str) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/vendor/plotly-*.min.js", hold)
    page.goto(f"{live_server}/?surface=bowl&run=SGD,lr=0.1", wait_until="domcontentloaded")
    page.wait_for_function("() => window.losslab && Object.keys(window.losslab.runs).length")
    # Controls, the runs list and the run itself are there before Plotly.js is.
    page.wait_for_function(
        "() => Object.values(window.losslab.runs).every(r => r.status === 'converged')"
    )
    expect(page.get_by_test_id("optimizer-select")).to_have_value("SGD")
    expect(page.locator("[data-runs-list] li")).to_have_count(1)
    expect(page.locator("[data-loading]")).to_be_visible()
    assert page.evaluate("() => typeof window.Plotly") == "undefined"
    assert page.evaluate("() => document.body.dataset.ready") is None
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("body[data-ready='true']")
    expect(page.locator("[data-loading]")).to_be_hidden()
    # The charts follow the landscape a frame later.
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=loss-chart]').data || []).length > 0"
    )
    watch = page.watch  # type: ignore[attr-defined]
    assert watch.errors == []


def test_the_page_says_so_when_plotly_cannot_load(page: Page, live_server: str) -> None:
    page.route("**/vendor/plotly-*.min.js", lambda route: route.abort())
    page.goto(f"{live_server}/")
    expect(page.locator("[data-loading]")).to_have_text(
        "Could not draw: Plotly.js could not be loaded"
    )
    # The rest of the page works: controls are built and runs still run.
    page.wait_for_function(
        "() => Object.values(window.losslab.runs).every(r => r.status && r.status !== 'running')"
    )
    expect(page.get_by_test_id("optimizer-select")).to_have_value("SGD")


def test_accept_encoding_is_read_with_its_q_values() -> None:
    cases = {
        "gzip, deflate, br": True,
        "deflate, gzip;q=0.5": True,
        "*": True,
        "gzip;q=0": False,
        "gzip;q=0, *": False,  # named beats the wildcard
        "*;q=0": False,
        "br, identity": False,
        "gzip;q=nope": False,
        "": False,
        None: False,
    }
    assert {header: accepts_gzip(header) for header in cases} == cases
