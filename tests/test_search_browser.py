"""Browser tests of the search page in Chromium: the built seed site served under /some-repo/,
first by a plain static server (no Python search behind it), then by the preview server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import serve_static

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
BASE = "/some-repo/"

sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """Build the shipped corpus with the real pipeline under the /some-repo/ base URL."""
    pipeline = pytest.importorskip("site_src.pipeline")
    from site_src.config import load_config

    out = tmp_path_factory.mktemp("site") / "_site"
    content = tmp_path_factory.mktemp("root")
    shutil.copytree(ROOT / "content", content / "content")
    shutil.copytree(ROOT / "templates", content / "templates")
    return pipeline.build(load_config(content, out_dir=out, base_url=BASE, progress=False))


@pytest.fixture(scope="module")
def built_site(built) -> Path:
    """The folder of the built site."""
    return built.out_dir


@pytest.fixture(scope="module", params=["static", "preview"])
def site_url(request: pytest.FixtureRequest, built_site: Path) -> Iterator[str]:
    """Serve the built site with a plain static server or with the preview server."""
    if request.param == "static":
        with serve_static(built_site, BASE) as url:
            yield url
        return
    serve = pytest.importorskip("site_src.serve")
    server = serve.start_server(built_site, BASE, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{BASE}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def page(browser, site_url: str):
    """Open the search page and collect console errors and failed requests."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(site_url + "search/")
    yield page
    context.close()


def _search(page, text: str) -> None:
    """Type a query into the search box and press Enter."""
    box = page.locator("#search-q")
    box.fill("")
    box.type(text, delay=10)
    box.press("Enter")
    page.wait_for_function(
        "() => !/Searching/.test(document.getElementById('search-status').textContent)"
        " && document.getElementById('search-status').textContent.length > 0"
    )


def test_query_shows_hits_grouped_by_story(page, built) -> None:
    """Every seed article is found; the members of the Milley story share one group that
    names how many outlets it has."""
    site = built.site
    story = max(site.stories, key=lambda s: len(s.member_ids))
    outlets = len({site.article(m).source for m in story.member_ids})
    _search(page, "taliban strikes")
    hrefs = [a.get_attribute("href") for a in page.locator(".search-hit-link").all()]
    assert all(h.startswith(BASE) for h in hrefs)
    assert {h.split("/")[-2] for h in hrefs if "/articles/" in h} == {a.id for a in site.articles}
    group = page.locator(".search-group", has=page.locator(f'a[href="{BASE}stories/{story.id}/"]'))
    assert f"{outlets} outlets" in group.locator(".search-group-title").inner_text()
    links = [a.get_attribute("href") for a in group.locator(".search-hit-link").all()]
    members = {h.split("/")[-2] for h in links if "/articles/" in h}
    assert members == set(story.member_ids)
    assert page.locator(".search-hit-snippet mark").count() > 0
    assert page.errors == []


def test_phrase_query_finds_only_the_exact_wording(page) -> None:
    """Milley's "War is hard" survives verbatim in two articles; the spun copy lost it."""
    _search(page, '"war is hard"')
    hrefs = [a.get_attribute("href") for a in page.locator(".search-hit-link").all()]
    assert sorted(h.split("/")[-2][:3] for h in hrefs) == ["000", "001"]
    assert "2 results" in page.locator("#search-status").inner_text()
    assert page.errors == []


def test_typo_is_corrected(page) -> None:
    """A misspelt word of five or more letters still finds the articles, and says so."""
    _search(page, "talibam")
    status = page.locator("#search-status").inner_text()
    assert "showing results for" in status.lower()
    assert page.locator(".search-hit").count() >= 5
    assert page.errors == []


def test_prefix_results_appear_while_typing_and_keys_move_focus(page) -> None:
    """Results appear before Enter; arrow keys walk the result links, Escape goes back."""
    page.locator("#search-q").type("milit", delay=20)
    page.wait_for_selector(".search-hit-link")
    page.locator("#search-q").press("ArrowDown")
    first = page.locator(".search-hit-link").first
    assert first.evaluate("el => el === document.activeElement")
    page.keyboard.press("ArrowDown")
    second = page.locator(".search-hit-link").nth(1)
    assert second.evaluate("el => el === document.activeElement")
    page.keyboard.press("Escape")
    assert page.locator("#search-q").evaluate("el => el === document.activeElement")
    assert page.errors == []


def test_outlet_filter_and_query_in_url(page, site_url: str) -> None:
    """A query in the address and an outlet filter narrow the hits to that outlet."""
    source = page.locator("#search-source option").nth(1).get_attribute("value")
    page.goto(f"{site_url}search/?q=taliban&source={source}")
    page.wait_for_selector(".search-hit")
    metas = page.locator(".search-hit-meta").all_inner_texts()
    assert len(metas) == 1
    assert page.errors == []
