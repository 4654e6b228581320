"""Every internal link of the built site works when served under /some-repo/ (GitHub Pages)."""

from __future__ import annotations

import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from conftest import serve_static

MAX_REQUESTS = 2000


class _LinkParser(HTMLParser):
    """Collect href and src attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record link-bearing attributes."""
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.links.append(value)


def crawl(start: str, prefix: str) -> tuple[set[str], list[tuple[str, str, int]]]:
    """Follow internal links from start; return pages seen and (page, link, status) failures."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
    queue, seen, broken = [start], {start}, []
    requests = 0
    while queue and requests < MAX_REQUESTS:
        url = queue.pop()
        requests += 1
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            broken.append(("?", url, error.code))
            continue
        if "html" not in kind:
            continue
        parser = _LinkParser()
        parser.feed(body.decode("utf-8"))
        for link in parser.links:
            target = urljoin(url, link).split("#")[0]
            if not target.startswith(origin):
                continue
            if not urlsplit(target).path.startswith(prefix):
                broken.append((url, link, 0))
                continue
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen, broken


def test_every_internal_link_resolves_under_a_project_path(fixture_site: Path) -> None:
    with serve_static(fixture_site, "/some-repo/") as base:
        seen, broken = crawl(base, "/some-repo/")
    assert broken == []
    assert len(seen) > 15
    assert any("/articles/harbour-bridge-wire/" in url for url in seen)


def test_seed_site_links_resolve(seed_site: Path) -> None:
    with serve_static(seed_site, "/some-repo/") as base:
        seen, broken = crawl(base, "/some-repo/")
    assert broken == []
    assert sum("/articles/" in url for url in seen) == 5
