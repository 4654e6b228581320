"""Hostile titles, bodies and URLs are shown as text, never run; unsafe links never ship."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from conftest import build_into

HOSTILE = """---
title: "<script>alert('title')</script> & <b>bold</b>"
source: "<img src=x onerror=alert(1)>"
authors: ["\\"><svg onload=alert(2)>"]
url: https://example.org/?q=<script>
---
Body with <script>alert('body')</script> and <img src=x onerror="alert(3)">.

[click me](javascript:alert(4)) and [data](data:text/html;base64,PHNjcmlwdD4=) and
[fine](https://example.org/ok).

<iframe src="https://evil.example"></iframe>
"""


class _TagCollector(HTMLParser):
    """Record every tag and attribute the browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Keep the tag and its attributes."""
        self.tags.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Parse HTML into (tag, attributes) pairs."""
    collector = _TagCollector()
    collector.feed(html)
    return collector.tags


def _site_text(site: Path) -> str:
    """All HTML of a built site, concatenated."""
    return "\n".join(p.read_text("utf-8") for p in sorted(site.rglob("*.html")))


def test_hostile_article_is_escaped_everywhere(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    corpus.mkdir()
    (corpus / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    result = build_into(corpus, tmp_path / "site")
    assert not [p for p in result.problems if p.severity == "error"]
    html = _site_text(tmp_path / "site")
    page = (tmp_path / "site/articles/hostile/index.html").read_text("utf-8")
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt;" in page
    tags = _tags(html)
    scripts = [dict(attrs).get("src") or "" for tag, attrs in tags if tag == "script"]
    assert all(re.fullmatch(r"/static/[\w.-]+\.js", src) for src in scripts), scripts
    handlers = [(tag, name) for tag, attrs in tags for name, _ in attrs if name.startswith("on")]
    assert handlers == [], "an event-handler attribute got through"
    assert not [tag for tag, _ in tags if tag in ("iframe", "img", "svg", "b")]
    links = [value or "" for _, attrs in tags for name, value in attrs if name in ("href", "src")]
    assert not [v for v in links if v.lower().startswith(("javascript:", "data:"))]
    assert 'href="https://example.org/ok"' in page


def test_unsafe_front_matter_url_is_an_error(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    corpus.mkdir()
    (corpus / "bad-url.md").write_text(
        "---\ntitle: T\nsource: S\nurl: javascript:alert(1)\n---\nBody.\n", encoding="utf-8"
    )
    result = build_into(corpus, tmp_path / "site")
    errors = [p for p in result.problems if p.severity == "error"]
    assert errors and errors[0].path.endswith("bad-url.md") and errors[0].line == 4
    assert "http" in errors[0].message
    assert not (tmp_path / "site/articles/bad-url").exists()


def test_pages_carry_a_content_security_policy(fixture_site: Path) -> None:
    for page in fixture_site.rglob("*.html"):
        text = page.read_text("utf-8")
        assert "Content-Security-Policy" in text and "script-src 'self'" in text, page
