"""The API documentation pages render in a real browser, offline, under their own policy."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page


def test_swagger_ui_renders_every_route_offline(
    page: Page, live_server: str, artifacts: Path
) -> None:
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/runs" in [path.strip() for path in paths]
    assert "/api/maps/basins/stream" in [path.strip() for path in paths]
    page.screenshot(path=str(artifacts / "docs.png"))
    assert page.watch.foreign == []  # type: ignore[attr-defined]
    assert blocked == []


def test_redoc_renders_offline(page: Page, live_server: str, artifacts: Path) -> None:
    fetched: list[str] = []
    page.on("requestfinished", lambda r: fetched.append(r.url))
    page.goto(f"{live_server}/redoc")
    page.wait_for_selector("h1", timeout=20_000)
    assert "losslab" in page.locator("h1").first.inner_text()
    page.get_by_text("/api/runs/stream").first.wait_for(state="attached", timeout=20_000)
    page.screenshot(path=str(artifacts / "redoc.png"))
    # ReDoc's footer asks its CDN for a logo; the page's policy blocks it before it leaves.
    assert [url for url in fetched if not url.startswith((live_server, "blob:"))] == []
    errors = page.watch.errors  # type: ignore[attr-defined]
    assert all("violates the following Content Security Policy" in e for e in errors), errors
