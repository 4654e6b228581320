"""The search index on disk: Whoosh schema, building, per-document updates and opening.

Each document is analysed once (`analyse_text`, the same terms and positions as Whoosh's
StemmingAnalyzer, tested), by the process that writes its segment; the analysed terms feed
the Whoosh writer, come back as token arrays for the static export's postings and as text
for a compact side file (`ANALYSED_FILE`), from which search_export builds the static export
without reading every posting back through Whoosh.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.index import TOC, clean_files

from site_src.model import Article, Site, Story
from site_src.search_analysis import ANALYZER, ExportPostings
from site_src.search_segments import (  # noqa: F401 - analyse_row and SPLIT_DOCS re-exported
    SPLIT_DOCS,
    analyse_row,
    joined_terms,
    segment_starts,
    write_forked,
    write_here,
)
from site_src.urls import Urls

ANALYSED_FILE = "site-analysed.json.z"
DELTA_FILE = "site-analysed-delta.json.z"  # changes since the side file, for small updates
DELTA_LIMIT = 2000  # more changed entries than this: the side file is written whole again
ANALYSED_VERSION = 1
EXCERPT_CHARS = 600
ARTICLE, STORY = "article", "story"
_OPEN: dict[str, index.Index] = {}
_BUILT: dict[str, tuple[int, ExportPostings, list[dict]]] = {}  # the last build's export data


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
    articles: dict[str, Article]

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
            articles=known,
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


def story_row(look: _Lookup, urls: Urls, story: Story) -> dict:
    """Return the index fields of one story: its title, members' titles and outlets."""
    members = [look.articles[m] for m in story.member_ids if m in look.articles]
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
    rows += [story_row(look, urls, s) for s in site.stories if len(s.member_ids) > 1]
    return sorted(rows, key=lambda r: r["order"])


def cut_excerpt(text: str) -> str:
    """Return the start of a text, spaces collapsed, cut at a word boundary."""
    body = " ".join(text.split())
    return body[:EXCERPT_CHARS].rsplit(" ", 1)[0] if len(body) > EXCERPT_CHARS else body


def _entry_fields(row: dict) -> dict:
    """Return what the side file keeps of a document's fields (not its analysed text)."""
    fields = {k: v for k, v in row.items() if k not in ("body", "published")}
    fields["excerpt"] = cut_excerpt(row["body"] or "")
    published = row.get("published")
    fields["published"] = published.date().isoformat() if published else None
    return fields


def _analysed_entry(row: dict, analysed: tuple) -> list:
    """Return what the side file keeps of a document: its fields and analysed text."""
    return [_entry_fields(row), *joined_terms(analysed)]


PACK_BATCH_CHARS = 1 << 20  # the side file's JSON is compressed in pieces of about this size


def pack_analysed(docs: dict[str, list]) -> bytes:
    """Return the side file's compressed body: every document's entry, by key."""
    return pack_entries(docs[key] for key in sorted(docs))


def pack_entries(entries: Iterable[list]) -> bytes:
    """Return the side file's compressed body of these entries, in order (the JSON list is
    compressed a piece at a time, never held whole: the same bytes as all at once)."""
    packer, parts, batch, size = zlib.compressobj(1), [], ["["], 0
    for number, item in enumerate(entries):
        entry = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        batch.append("," + entry if number else entry)
        size += len(entry)
        if size > PACK_BATCH_CHARS:
            parts.append(packer.compress("".join(batch).encode("utf-8")))
            batch, size = [], 0
    batch.append("]")
    parts += [packer.compress("".join(batch).encode("utf-8")), packer.flush()]
    return b"".join(parts)


def write_analysed(index_dir: Path, generation: int, body: bytes) -> None:
    """Write the side file atomically (a new file: the old one may be hard-linked elsewhere)."""
    target = index_dir / ANALYSED_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_bytes(f"{ANALYSED_VERSION} {generation}\n".encode() + body)
    os.replace(temporary, target)


def read_analysed(index_dir: Path, generation: int) -> dict[str, list] | None:
    """Return key -> side entry when the side file (with its delta) describes this index
    generation."""
    try:
        head, body = (index_dir / ANALYSED_FILE).read_bytes().split(b"\n", 1)
        version, made = head.split()
        if version != str(ANALYSED_VERSION).encode():
            return None
        delta = None if int(made) == generation else _read_delta(index_dir, generation,
                                                                 int(made))
        if int(made) != generation and delta is None:
            return None
        entries = {entry[0]["key"]: entry for entry in json.loads(zlib.decompress(body))}
    except (OSError, ValueError, zlib.error):
        return None
    if delta is not None:
        for key in delta[1]:
            entries.pop(key, None)
        entries.update(delta[0])
    return entries


def _side_generation(index_dir: Path) -> int | None:
    """Return the index generation the side file (without delta) describes."""
    try:
        with open(index_dir / ANALYSED_FILE, "rb") as handle:
            version, made = handle.readline().split()
        return int(made) if version == str(ANALYSED_VERSION).encode() else None
    except (OSError, ValueError):
        return None


def _read_delta(index_dir: Path, generation: int, base: int
                ) -> tuple[dict[str, list], set[str]] | None:
    """Return (entries set, keys dropped) of the delta that takes the side file of
    generation base to this generation; None when there is no such delta."""
    if base == generation:
        return {}, set()
    try:
        head, body = (index_dir / DELTA_FILE).read_bytes().split(b"\n", 1)
        if head.split() != [str(x).encode() for x in (ANALYSED_VERSION, generation, base)]:
            return None
        entries, dropped = json.loads(zlib.decompress(body))
    except (OSError, ValueError, zlib.error):
        return None
    return entries, set(dropped)


def _write_delta(index_dir: Path, generation: int, base: int, entries: dict[str, list],
                 dropped: set[str]) -> None:
    """Write the delta atomically (a new file: the old one may be hard-linked elsewhere)."""
    body = zlib.compress(json.dumps([entries, sorted(dropped)], ensure_ascii=False,
                                    separators=(",", ":")).encode("utf-8"), 1)
    target = index_dir / DELTA_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_bytes(f"{ANALYSED_VERSION} {generation} {base}\n".encode() + body)
    os.replace(temporary, target)


def build_index(site: Site, index_dir: Path, urls: Urls, *, parallel: bool = True) -> None:
    """Build a fresh Whoosh index of the site's articles and stories in index_dir.

    Large sites get several segments (same scores: Whoosh ranks with whole-index
    statistics) of at most SEGMENT_DOCS documents, each analysed and written, two at a
    time (one by a forked process, which sends back its documents' analysed text); this one
    joins them into the static export's postings and the side file. The files are the same
    bytes either way.
    """
    if index_dir.exists():
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    _BUILT.pop(str(index_dir), None)
    rows = document_rows(site, urls)
    ix = index.create_in(str(index_dir), make_schema())
    (index_dir / f"{ix.indexname}.tmp").mkdir()  # the writers' (unused) temporary storage
    starts = segment_starts(len(rows))
    parts = [(rows[a:b], seed)
             for seed, (a, b) in enumerate(zip(starts, starts[1:], strict=False), 1)]
    if parallel and hasattr(os, "fork") and len(parts) > 1:
        results = write_forked(ix, parts)
    else:
        results = (write_here(ix, *part) for part in parts)
    fields = [_entry_fields(row) for row in rows]
    segments: list = []
    payloads: list[tuple[int, tuple]] = []

    def entries() -> Iterator[list]:
        """Yield each document's side file entry, in export order, as its segment arrives
        (a segment's analysed texts are let go once packed)."""
        for (segment, texts, payload), start in zip(results, starts, strict=False):
            segments.append(segment)
            payloads.append((start, payload))
            for number, analysed in enumerate(texts, start):
                yield [fields[number], *analysed]

    body = pack_entries(entries())
    shutil.rmtree(index_dir / f"{ix.indexname}.tmp")
    generation = ix.latest_generation() + 1
    TOC(ix.schema, segments, generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, segments)
    write_analysed(index_dir, generation, body)
    del body
    export = ExportPostings.joined(payloads)
    _BUILT.clear()  # keep only the last build's
    _BUILT[str(index_dir)] = (generation, export, fields)
    _OPEN.pop(str(index_dir), None)


def take_built(index_dir: Path, generation: int) -> tuple[ExportPostings, list[dict]] | None:
    """Return (and forget) the export data build_index kept for this index generation."""
    built = _BUILT.pop(str(index_dir), None)
    return built[1:] if built and built[0] == generation else None


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
    before, base = ix.latest_generation(), _side_generation(index_dir)
    delta = _read_delta(index_dir, before, base) if base is not None else None
    with ix.searcher() as searcher:  # stories that lose a member must be re-indexed too
        for doc_id in deleted:
            old = searcher.document(key=f"{ARTICLE}:{doc_id}")
            if old and old.get("story"):
                touched.add(old["story"])
    writer = ix.writer(limitmb=128, compound=False)
    dropped = set()
    for doc_id in sorted(deleted | changed):
        for key in (f"{ARTICLE}:{doc_id}", f"{STORY}:{doc_id}"):
            writer.delete_by_term("key", key)
            dropped.add(key)
    new_rows = [article_row(look, urls, articles[i]) for i in sorted(changed - deleted)
                if i in articles]
    new_rows += [story_row(look, urls, stories[i])
                 for i in sorted((touched | (changed & set(stories))) - deleted) if i in stories]
    for row in new_rows:
        writer.update_document(**_clean_row(row))
    writer.commit()
    generation = index.open_dir(str(index_dir)).latest_generation()
    made = {row["key"]: _analysed_entry(row, analyse_row(row)) for row in new_rows}
    if delta is not None and len(delta[0]) + len(made) <= DELTA_LIMIT:
        entries = {k: v for k, v in delta[0].items() if k not in dropped} | made
        _write_delta(index_dir, generation, base, entries, (delta[1] | dropped) - made.keys())
    else:
        docs = read_analysed(index_dir, before)
        if docs is None:  # no usable side file: describe every document of the site afresh
            docs = {row["key"]: _analysed_entry(row, analyse_row(row))
                    for row in document_rows(site, urls)}
        for key in dropped:
            docs.pop(key, None)
        docs.update(made)
        write_analysed(index_dir, generation, pack_analysed(docs))
    _BUILT.pop(str(index_dir), None)
    _OPEN.pop(str(index_dir), None)


def _clean_row(row: dict) -> dict:
    """Drop empty optional values Whoosh should not index."""
    return {k: v for k, v in row.items() if v is not None}


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
