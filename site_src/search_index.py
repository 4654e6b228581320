"""The search index on disk: Whoosh schema, building, per-document updates and opening."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema

from site_src.model import Article, Site, Story
from site_src.urls import Urls

ANALYZER = StemmingAnalyzer()
ARTICLE, STORY = "article", "story"
_OPEN: dict[str, index.Index] = {}


def make_schema() -> Schema:
    """Return the schema of the search index (articles and stories, told apart by kind)."""
    return Schema(
        key=ID(stored=True, unique=True),
        id=ID(stored=True),
        kind=ID(stored=True),
        title=TEXT(analyzer=ANALYZER, stored=True),
        body=TEXT(analyzer=ANALYZER, stored=True),
        source=ID(stored=True, sortable=True),
        published=DATETIME(stored=True),
        story=ID(stored=True, sortable=True),
        url=STORED,
        source_name=STORED,
        story_title=STORED,
        story_url=STORED,
        outlets=STORED,
        order=STORED,
    )


def _utc_naive(when: datetime | None) -> datetime | None:
    """Return a naive UTC datetime (what Whoosh's DATETIME stores), or None."""
    if when is None:
        return None
    return when.astimezone(UTC).replace(tzinfo=None)


def _order_key(when: datetime | None, kind: str, doc_id: str) -> str:
    """Return the export order: by date, undated last; new articles append at the end."""
    stamp = _utc_naive(when).isoformat() if when else "~"
    return f"{stamp}|{kind}|{doc_id}"


@dataclass(frozen=True)
class _Lookup:
    """Precomputed maps of a site, so rows are made in linear time."""

    names: dict[str, str]
    stories: dict[str, Story]
    outlets: dict[str, int]
    first: dict[str, datetime | None]
    story_of: dict[str, str]

    @classmethod
    def of(cls, site: Site) -> _Lookup:
        """Index a site's outlets and stories."""
        known = {a.id: a for a in site.articles}
        outlets: dict[str, int] = {}
        first: dict[str, datetime | None] = {}
        for story in site.stories:
            members = [known[m] for m in story.member_ids if m in known]
            outlets[story.id] = len({a.source for a in members})
            dates = [a.published for a in members if a.published]
            first[story.id] = min(dates) if dates else None
        return cls(
            names={s.key: s.name for s in site.sources},
            stories={s.id: s for s in site.stories},
            outlets=outlets,
            first=first,
            story_of=dict(site.story_of),
        )


def article_row(look: _Lookup, urls: Urls, article: Article) -> dict:
    """Return the index fields of one article."""
    story = look.stories.get(look.story_of.get(article.id, ""))
    story_id = story.id if story else ""
    return {
        "key": f"{ARTICLE}:{article.id}",
        "id": article.id,
        "kind": ARTICLE,
        "title": article.title,
        "body": article.text,
        "source": article.source,
        "published": _utc_naive(article.published),
        "story": story_id,
        "url": urls.url_for(article),
        "source_name": look.names.get(article.source, article.source),
        "story_title": story.title if story else "",
        "story_url": urls.url_for(story) if story else "",
        "outlets": look.outlets.get(story_id, 1),
        "order": _order_key(article.published, ARTICLE, article.id),
    }


def story_row(site: Site, look: _Lookup, urls: Urls, story: Story) -> dict:
    """Return the index fields of one story: its title, members' titles and outlets."""
    known = {a.id for a in site.articles}
    members = [site.article(m) for m in story.member_ids if m in known]
    lines = [f"{a.title} ({look.names.get(a.source, a.source)})" for a in members]
    published = look.first.get(story.id)
    return {
        "key": f"{STORY}:{story.id}",
        "id": story.id,
        "kind": STORY,
        "title": story.title,
        "body": "\n".join(lines),
        "source": "",
        "published": _utc_naive(published),
        "story": story.id,
        "url": urls.url_for(story),
        "source_name": "",
        "story_title": story.title,
        "story_url": urls.url_for(story),
        "outlets": look.outlets.get(story.id, 0),
        "order": _order_key(published, STORY, story.id),
    }


def document_rows(site: Site, urls: Urls) -> list[dict]:
    """Return every document of the index (articles and multi-member stories), in export order."""
    look = _Lookup.of(site)
    rows = [article_row(look, urls, a) for a in site.articles]
    rows += [story_row(site, look, urls, s) for s in site.stories if len(s.member_ids) > 1]
    return sorted(rows, key=lambda r: r["order"])


def _clean_row(row: dict) -> dict:
    """Drop empty optional values Whoosh should not index."""
    return {k: v for k, v in row.items() if v is not None}


def build_index(site: Site, index_dir: Path, urls: Urls) -> None:
    """Build a fresh Whoosh index of the site's articles and stories in index_dir."""
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    state = random.getstate()
    random.seed(0)  # Whoosh names segments randomly: make the files reproducible
    try:
        ix = index.create_in(str(index_dir), make_schema())
        writer = ix.writer(limitmb=256)
        for row in document_rows(site, urls):
            writer.add_document(**_clean_row(row))
        writer.commit()
    finally:
        random.setstate(state)
    _OPEN.pop(str(index_dir), None)


def update_documents(
    index_dir: Path,
    site: Site,
    urls: Urls,
    changed_ids: Iterable[str],
    deleted_ids: Iterable[str],
) -> None:
    """Replace the documents of changed article/story ids and remove deleted ones."""
    changed, deleted = set(changed_ids), set(deleted_ids)
    articles = {a.id: a for a in site.articles}
    stories = {s.id: s for s in site.stories if len(s.member_ids) > 1}
    touched = {site.story_of[i] for i in changed if i in site.story_of}
    look = _Lookup.of(site)
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:  # stories that lose a member must be re-indexed too
        for doc_id in deleted:
            old = searcher.document(key=f"{ARTICLE}:{doc_id}")
            if old and old.get("story"):
                touched.add(old["story"])
    writer = ix.writer(limitmb=128)
    for doc_id in sorted(deleted | changed):
        writer.delete_by_term("key", f"{ARTICLE}:{doc_id}")
        writer.delete_by_term("key", f"{STORY}:{doc_id}")
    for doc_id in sorted(changed - deleted):
        if doc_id in articles:
            writer.update_document(**_clean_row(article_row(look, urls, articles[doc_id])))
    for story_id in sorted((touched | (changed & set(stories))) - deleted):
        if story_id in stories:
            writer.update_document(**_clean_row(story_row(site, look, urls, stories[story_id])))
    writer.commit()
    _OPEN.pop(str(index_dir), None)


def open_index(index_dir: Path) -> index.Index:
    """Open (and cache) the index in index_dir; raise FileNotFoundError when there is none."""
    key = str(index_dir)
    ix = _OPEN.get(key)
    if ix is None or ix.latest_generation() != getattr(ix, "_seen_generation", None):
        if not index.exists_in(key):
            raise FileNotFoundError(f"no search index in {index_dir}: run `build.py build` first")
        ix = index.open_dir(key)
        ix._seen_generation = ix.latest_generation()
        _OPEN[key] = ix
    return ix
