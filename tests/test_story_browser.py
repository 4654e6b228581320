"""The seed story page in real Chromium: five outlets, a diff view that switches pairs without
a reload, and no console errors. Builds the seed site with `python build.py build --out DIR`."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging every request."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


@pytest.fixture(scope="module")
def seed_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Build the seed corpus and serve it on 127.0.0.1; yield (base URL, output folder)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    if not list((ROOT / "content").glob("*.md")):
        pytest.skip("no seed corpus in content/")
    out = tmp_path_factory.mktemp("site") / "_site"
    done = subprocess.run([sys.executable, "build.py", "build", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", out
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _seed_story_path(out: Path) -> str:
    """Return the site path of the largest story, read from data/index.json."""
    index = json.loads((out / "data" / "index.json").read_text(encoding="utf-8"))
    story = max(index["stories"], key=lambda s: (len(s["members"]), s["id"]))
    return f"/stories/{story['id']}/"


def _open(browser: object, url: str, width: int = 1280) -> tuple[object, list[str]]:
    """Open a page, collecting console errors and uncaught exceptions."""
    page = browser.new_page(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page, errors


def test_seed_story_page_shows_five_outlets(seed_site, browser):
    base, out = seed_site
    page, errors = _open(browser, base + _seed_story_path(out))
    rows = page.locator("#members tbody tr")
    assert rows.count() == 5
    outlets = {rows.nth(i).locator("td").first.inner_text().strip() for i in range(5)}
    assert len(outlets) == 5
    assert page.locator("#members svg[role=img]").count() == 1
    assert page.locator("#alignment thead th").count() == 6  # row number + five outlets
    assert page.locator("#diff ins").count() > 0 and page.locator("#diff del").count() > 0
    assert errors == []
    page.close()


def test_diff_view_switches_pairs_without_reload(seed_site, browser):
    base, out = seed_site
    url = base + _seed_story_path(out)
    page, errors = _open(browser, url)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    select = page.locator("#pair-select")
    assert select.is_visible()
    options = select.locator("option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert len(values) >= 2
    before_value = select.input_value()
    before_text = page.locator("#pair-table tbody").inner_text()
    before_head = page.locator("#pair-right").inner_text()
    other = next(v for v in values if v != before_value)
    select.select_option(other)
    page.wait_for_function(
        "value => document.getElementById('pair-table').dataset.member === value", arg=other)
    assert page.locator("#pair-table tbody").inner_text() != before_text
    assert page.locator("#pair-right").inner_text() != before_head
    assert page.locator("#pair-table tbody tr").count() > 0
    assert page.url == url and navigations == []
    select.select_option(before_value)  # and back again: the built rows return
    page.wait_for_function(
        "value => document.getElementById('pair-table').dataset.member === value",
        arg=before_value)
    assert page.locator("#pair-table tbody").inner_text() == before_text
    assert errors == []
    page.close()


def test_story_page_fits_a_phone(seed_site, browser):
    base, out = seed_site
    page, errors = _open(browser, base + _seed_story_path(out), width=390)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # wide tables scroll inside their own box
    assert errors == []
    page.close()


def test_article_page_toggles_reuse_marks(seed_site, browser):
    base, out = seed_site
    index = json.loads((out / "data" / "index.json").read_text(encoding="utf-8"))
    spun = next(a for a in index["articles"] if a["id"].startswith("002"))
    page, errors = _open(browser, base + f"/articles/{spun['id']}/")
    assert "% from " in page.locator(".reuse-source").inner_text()
    assert page.locator(".reuse-text mark").count() > 0
    assert page.locator(".reuse-text").is_visible()
    assert not page.locator(".article-body").is_visible()
    page.locator("#reuse-toggle").press("Space")  # keyboard: the marks go, the body returns
    assert page.locator(".article-body").is_visible()
    assert not page.locator(".reuse-text").is_visible()
    assert errors == []
    page.close()


@pytest.fixture(scope="module")
def parts_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build a corpus with one long story (its passage table in parts) and serve it."""
    from conftest import build_into

    from site_src import passages

    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    folder = tmp_path_factory.mktemp("parts")
    content = folder / "content"
    content.mkdir()
    lines = [f"The council met on day {i} and voted on motion number {i * 7} of the year."
             for i in range(60)]
    for name, outlet, day, extra in (("long-a", "Coastal Wire", 4, ""),
                                     ("long-b", "Portmouth Daily", 5, " Critics objected.")):
        body = "\n\n".join(line + extra for line in lines) + f"\n\nOnly {name} says this."
        (content / f"{name}.md").write_text(
            f"---\ntitle: Council votes {name}\nsource: {outlet}\npublished: 2024-03-0{day}\n"
            f"story: council-votes\n---\n{body}\n", encoding="utf-8")
    budget = passages.PART_BUDGET
    passages.PART_BUDGET = 2_000
    try:
        build_into(content, folder / "site")
    finally:
        passages.PART_BUDGET = budget
    handler = functools.partial(_QuietHandler, directory=str(folder / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_passage_table_parts_by_keyboard(parts_site, browser):
    page, errors = _open(browser, parts_site + "/stories/council-votes/")
    nav = page.locator("#alignment .parts-nav").first
    assert "part 1 of" in nav.inner_text()
    cell = page.locator("#alignment td[class^='c-']").first  # its letter in its class colour
    kind = cell.get_attribute("class")[2:]
    colour = "e => getComputedStyle(e).backgroundColor"
    assert cell.locator("b").first.evaluate(colour) == page.locator(
        f"#alignment .legend .k-{kind}").evaluate(colour)
    nav.locator("a[rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/stories/council-votes/alignment/2/")
    assert page.locator("#alignment tbody tr").count() > 0
    assert "part 2 of" in page.locator("h2#alignment-heading").inner_text()
    page.locator(".parts-nav a[rel=prev]").first.click()
    page.wait_for_url("**/stories/council-votes/#alignment")
    folded = page.locator("#added details:has(a[href*='/alignment/'])").first
    if folded.get_attribute("open") is None:
        folded.locator("summary").click()
    link = folded.locator("a[href*='/alignment/']").first  # a row on another part's page
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url("**" + href)
    assert page.evaluate("document.querySelector(':target') !== null")
    page.emulate_media(media="print")
    assert not page.locator(".parts-list").first.is_visible()
    assert errors == []
    page.close()
