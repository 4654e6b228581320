"""Turn the shared benchmark data into model Article objects, in memory (no project I/O).

The data stays in ../shared (resolved from the repo root); nothing is copied into the project.
Corpora: the five seeds, ECB+ topics 1-22 (Cybulska & Vossen 2014, CC BY 3.0) and the
AllSides articles (Baly et al. 2020; publishers' copyright, benchmark use only).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from dateutil import parser as date_parser

from site_src.model import Article

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDS_DIR = SHARED / "seeds"
ECBPLUS_FILE = SHARED / "data" / "ecbplus-dev" / "documents.jsonl"
ALLSIDES_FILE = SHARED / "bench" / "allsides" / "articles.jsonl.gz"

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def make_slug(value: str) -> str:
    """Return a lowercase ASCII slug of a name ("New York Times - News" -> new-york-times-news)."""
    return _SLUG_JUNK.sub("-", value.lower()).strip("-") or "unknown"


def parse_date(value: str | None) -> datetime | None:
    """Parse a date in any common format into an aware UTC datetime, or None when implausible."""
    if not value or not value.strip():
        return None
    try:
        when = date_parser.parse(value.strip())
    except (ValueError, OverflowError):
        return None
    if not 1990 <= when.year <= 2035:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def make_article(
    article_id: str,
    title: str,
    text: str,
    source: str,
    published: datetime | None = None,
    url: str | None = None,
) -> Article:
    """Build an Article whose body is its plain text."""
    return Article(
        id=article_id,
        title=title,
        source=source,
        body=text,
        text=text,
        path=f"{article_id}.md",
        published=published,
        url=url,
    )


def first_line(text: str, limit: int = 120) -> str:
    """Return the first non-empty line of a text, shortened to a title."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:limit]
    return ""


def load_seeds() -> list[Article]:
    """Return the five seed documents as undated articles (id = file stem prefix)."""
    articles = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        seed_id = "seed-" + path.stem.split("_")[0]
        articles.append(make_article(seed_id, first_line(text), text, seed_id))
    return articles


def load_ecbplus() -> tuple[list[Article], dict[str, str]]:
    """Return ECB+ documents as undated articles and the gold cluster of each article id."""
    articles: list[Article] = []
    gold: dict[str, str] = {}
    with ECBPLUS_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            source = make_slug(doc.get("outlet") or "unknown")
            text = doc["text"]
            articles.append(
                make_article(doc["doc_id"], first_line(text), text, source, url=doc.get("url"))
            )
            gold[doc["doc_id"]] = doc["cluster_id"]
    return articles, gold


def iter_allsides(limit: int | None = None) -> Iterator[Article]:
    """Yield AllSides articles in file order (dates parsed with python-dateutil)."""
    with gzip.open(ALLSIDES_FILE, "rt", encoding="utf-8") as handle:
        for count, line in enumerate(handle):
            if limit is not None and count >= limit:
                return
            doc = json.loads(line)
            text = doc.get("text") or ""
            title = doc.get("title") or first_line(text)
            yield make_article(
                doc["id"],
                title,
                text,
                make_slug(doc.get("source") or "unknown"),
                published=parse_date(doc.get("date")),
                url=doc.get("url"),
            )


def load_allsides(limit: int | None = None) -> list[Article]:
    """Return the first `limit` AllSides articles (all when None)."""
    return list(iter_allsides(limit))


def have_shared(*paths: Path) -> bool:
    """Tell whether the shared data files exist."""
    return all(path.exists() for path in paths)
