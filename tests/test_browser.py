"""A reader opens the home page and an article in real Chromium: right text, no console errors."""

from __future__ import annotations

from pathlib import Path

from conftest import serve_static


def test_home_then_article_in_chromium(fixture_site: Path, page) -> None:  # noqa: ANN001
    with serve_static(fixture_site, "/some-repo/") as base:
        page.goto(base)
        assert page.locator("h1").first.inner_text() == "News corpus"
        assert page.get_by_role("search").count() == 1
        page.get_by_role("link", name="Central library reopens with a rooftop garden").click()
        page.wait_for_url("**/articles/library-reopens/")
        assert page.locator("h1").inner_text() == "Central library reopens with a rooftop garden"
        assert "finally has enough light to read by" in page.locator("main").inner_text()
        page.get_by_role("link", name="Portmouth Daily").first.click()
        page.wait_for_url("**/sources/portmouth-daily/")
        assert page.locator("h1").inner_text() == "Portmouth Daily"
    assert page.errors == []


def test_home_page_in_dark_mode_and_phone_width(fixture_site: Path, browser) -> None:  # noqa: ANN001
    context = browser.new_context(color_scheme="dark", viewport={"width": 375, "height": 740})
    phone = context.new_page()
    errors: list[str] = []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serve_static(fixture_site, "/some-repo/") as base:
        phone.goto(base)
        phone.wait_for_load_state("networkidle")  # every request answered before the server stops
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        width = phone.evaluate("document.documentElement.scrollWidth")
        context.close()
    assert background == "rgb(21, 23, 27)"
    assert width <= 375, "the home page scrolls sideways on a phone"
    assert errors == []
