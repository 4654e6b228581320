"""Search: the Whoosh schema, index building and updates, querying, API answers, CLI text."""

from __future__ import annotations

import functools
import html
import json
import random
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from whoosh import collectors, index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.qparser import MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.query import And, DateRange, Query, Term
from whoosh.searching import ResultsPage

from site_src.model import Article, Site, Story
from site_src.urls import Urls

ANALYZER = StemmingAnalyzer()
TEXT_FIELDS = ("title", "body")
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}
BM25_B = 0.75
BM25_K1 = 1.2
MAX_PAGE_SIZE = 50
EXCERPT_CHARS = 240
ARTICLE, STORY = "article", "story"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD_PREFIX = re.compile(r"(?<![\w.])([A-Za-z_]\w*):(?![/\s])")
_LOCK = threading.Lock()
_OPEN: dict[str, index.Index] = {}
_SEARCHERS: dict[str, tuple] = {}


class QueryError(ValueError):
    """A query the parser cannot make sense of; the message says what is wrong."""


@dataclass(frozen=True)
class Hit:
    """One ranked result."""

    id: str
    kind: str
    title: str
    source: str
    source_name: str
    published: str | None  # ISO date (YYYY-MM-DD) or None
    url: str
    story: str
    story_title: str
    story_url: str
    outlets: int
    highlight: str  # HTML: escaped text with <mark> around matched words
    score: float


@dataclass(frozen=True)
class SearchResults:
    """A page of results with the total count and facets over every match."""

    query: str
    total: int
    page: int
    page_size: int
    hits: tuple[Hit, ...]
    facets_source: tuple[tuple[str, int], ...]  # (source key, count), most first
    facets_story: tuple[tuple[str, int], ...]  # (story id, count), most first


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


def make_parser(schema: Schema) -> MultifieldParser:
    """Return the query parser: title and body, title boosted, AND between words."""
    parser = MultifieldParser(list(TEXT_FIELDS), schema, fieldboosts=dict(FIELD_BOOSTS))
    parser.add_plugin(DateParserPlugin())
    return parser


def _check_balance(text: str) -> None:
    """Raise QueryError for an unclosed quote or parenthesis."""
    if text.count('"') % 2:
        raise QueryError('unclosed quotation mark: close the phrase with a second "')
    depth = 0
    for char in re.sub(r'"[^"]*"', "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise QueryError("unbalanced parentheses: ')' without a matching '('")
    if depth:
        raise QueryError("unbalanced parentheses: '(' is never closed")


def parse_query(text: str, schema: Schema) -> Query:
    """Parse a query in the Whoosh query language; raise QueryError when it is malformed."""
    if not text.strip():
        raise QueryError("empty query: type one or more words")
    _check_balance(text)
    for name in _FIELD_PREFIX.findall(re.sub(r'"[^"]*"', "", text)):
        if name not in schema:
            known = ", ".join(n for n in schema.names() if schema[n].indexed and n != "key")
            raise QueryError(f"unknown field {name!r}: search one of {known}")
    try:
        query = make_parser(schema).parse(text)
    except Exception as error:  # Whoosh raises bare Exceptions for bad dates and ranges
        raise QueryError(f"cannot parse {text!r}: {error}") from error
    for node in [query, *query.leaves()]:
        if getattr(node, "error", None):
            raise QueryError(
                f"cannot understand {str(node.error)!r} in {text!r}"
                " (field values: dates look like 2021 or 2021-09-01)"
            )
    return query


def _parse_day(value: str | None, label: str) -> datetime | None:
    """Parse a YYYY-MM-DD filter bound; raise QueryError when it is not one."""
    if not value:
        return None
    if not _DATE.match(value):
        raise QueryError(f"{label} must be a date like 2021-09-01, not {value!r}")
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError as error:
        raise QueryError(f"{label} is not a valid date: {value!r}") from error


def make_filter(
    source: str | None, story: str | None, date_from: str | None, date_to: str | None
) -> Query | None:
    """Return the Whoosh filter for outlet, story and date range, or None."""
    parts: list[Query] = []
    if source:
        parts.append(Term("source", source))
    if story:
        parts.append(Term("story", story))
    start, end = _parse_day(date_from, "from"), _parse_day(date_to, "to")
    if start and end and start > end:
        raise QueryError("the 'from' date is after the 'to' date")
    if start or end:
        end_of_day = end + timedelta(days=1) - timedelta(microseconds=1) if end else None
        parts.append(DateRange("published", start, end_of_day))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


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


def _excerpt(text: str) -> str:
    """Return the escaped start of a text, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    return html.escape(text)


def _facet(counter: Counter) -> tuple[tuple[str, int], ...]:
    """Return facet counts, most first, ties by key; empty keys dropped."""
    return tuple(sorted(((k, n) for k, n in counter.items() if k), key=lambda kv: (-kv[1], kv[0])))


def search(
    index_dir: Path,
    query: str,
    *,
    source: str | None = None,
    story: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    page: int = 1,
    page_size: int = 10,
) -> SearchResults:
    """Run a Whoosh-language query with optional filters; return one page and facets."""
    page, page_size = max(1, page), max(1, min(page_size, MAX_PAGE_SIZE))
    ix = open_index(index_dir)
    parsed = parse_query(query, ix.schema)
    limiter = make_filter(source, story, date_from, date_to)
    with _LOCK:
        searcher = _searcher_of(index_dir, ix)
        matched = And([parsed, limiter]) if limiter else parsed
        docnums = sorted(searcher.docs_for_query(matched))
        sources = searcher.reader().column_reader("source")
        stories = searcher.reader().column_reader("story")
        by_source = Counter(sources[d] for d in docnums)
        by_story = Counter(stories[d] for d in docnums)
        results = ResultsPage(top_results(searcher, parsed, page * page_size, limiter),
                              page, page_size)
        hits = tuple(_make_hit(hit) for hit in results)
    return SearchResults(
        query=query,
        total=len(docnums),
        page=page,
        page_size=page_size,
        hits=hits,
        facets_source=_facet(by_source),
        facets_story=_facet(by_story),
    )


def _searcher_of(index_dir: Path, ix: index.Index):
    """Return a cached searcher of the index, refreshed when the index changed."""
    cached = _SEARCHERS.get(str(index_dir))
    if cached is None or cached[0] is not ix or not cached[1].up_to_date():
        if cached is not None:
            cached[1].close()
        cached = (ix, ix.searcher())
        _SEARCHERS[str(index_dir)] = cached
    return cached[1]


def top_results(searcher, query: Query, limit: int, limiter: Query | None = None):
    """Return Whoosh's exact top `limit` hits (no matcher replacing: in Whoosh 2.7 it can drop
    true top hits of OR queries, e.g. title^2 OR body)."""
    collector = collectors.TermsCollector(collectors.TopCollector(limit, replace=0))
    if limiter is not None:
        collector = collectors.FilterCollector(collector, limiter)
    searcher.search_with_collector(query, collector)
    return collector.results()


_WORD = re.compile(r"[\w*]+(?:\.?[\w*]+)*")


@functools.lru_cache(maxsize=65536)
def _term_of(word: str) -> str:
    """Return the index term of one lowercased word (stop words give "")."""
    found = [t.text for t in ANALYZER(word)]
    return found[0] if len(found) == 1 else ""


def make_snippet(text: str, terms: frozenset[str], width: int = 220) -> str:
    """Return escaped text around the first matched word, matches wrapped in <mark>."""
    heads = {t[:2] for t in terms}
    spans = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if word[:2] in heads and _term_of(word) in terms:
            spans.append(match.span())
            if spans[-1][0] - spans[0][0] > width:
                break
    if not spans:
        return _excerpt(text)
    start = max(0, text.rfind(" ", 0, max(0, spans[0][0] - 60)) + 1)
    end = min(len(text), start + width)
    end = text.rfind(" ", spans[0][1], end + 1) if end < len(text) else end
    end = end if end > spans[0][1] else min(len(text), spans[0][1] + 40)
    out, at = ["… " if start else ""], start
    for left, right in spans:
        if left < at or right > end:
            continue
        out += [html.escape(text[at:left]), "<mark>", html.escape(text[left:right]), "</mark>"]
        at = right
    out += [html.escape(text[at:end]), " …" if end < len(text) else ""]
    return " ".join("".join(out).split())


def _make_hit(hit) -> Hit:
    """Turn a Whoosh hit into a Hit with a highlighted snippet."""
    fields = hit.fields()
    terms = frozenset(t.decode() for f, t in (hit.matched_terms() or ()) if f == "body")
    snippet = make_snippet(fields.get("body", ""), terms)
    published = fields.get("published")
    return Hit(
        id=fields["id"],
        kind=fields["kind"],
        title=fields["title"],
        source=fields.get("source", ""),
        source_name=fields.get("source_name", ""),
        published=published.date().isoformat() if published else None,
        url=fields["url"],
        story=fields.get("story", ""),
        story_title=fields.get("story_title", ""),
        story_url=fields.get("story_url", ""),
        outlets=int(fields.get("outlets", 1)),
        highlight=snippet,
        score=float(hit.score or 0.0),
    )


def _api_error(status: int, message: str) -> tuple[int, bytes]:
    """Return a JSON error answer."""
    return status, json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    """Read a positive integer parameter; raise QueryError when it is not one."""
    value = (params.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise QueryError(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def answer_api(index_dir: Path, params: Mapping[str, str]) -> tuple[int, bytes]:
    """Answer GET /search/api?q=&source=&story=&from=&to=&page=&size= with (status, JSON)."""
    query = (params.get("q") or "").strip()
    if not query:
        return _api_error(400, "missing query: add ?q=words")
    try:
        page = _int_param(params, "page", 1)
        size = min(_int_param(params, "size", 10), MAX_PAGE_SIZE)
        results = search(
            index_dir,
            query,
            source=params.get("source") or None,
            story=params.get("story") or None,
            date_from=params.get("from") or None,
            date_to=params.get("to") or None,
            page=page,
            page_size=size,
        )
    except QueryError as error:
        return _api_error(400, str(error))
    except FileNotFoundError as error:
        return _api_error(503, str(error))
    body = {
        "query": results.query,
        "total": results.total,
        "page": results.page,
        "size": results.page_size,
        "pages": -(-results.total // results.page_size),
        "hits": [asdict(h) for h in results.hits],
        "facets": {
            "source": [{"key": k, "count": n} for k, n in results.facets_source],
            "story": [{"id": k, "count": n} for k, n in results.facets_story],
        },
    }
    return 200, json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _plain_snippet(snippet: str) -> str:
    """Turn an HTML snippet into terminal text with matches in [brackets]."""
    text = snippet.replace("<mark>", "[").replace("</mark>", "]")
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def format_results(results: SearchResults) -> str:
    """Return the text `build.py search` prints: ranked hits with outlet, date, URL, snippet."""
    if not results.hits:
        return f"No results for {results.query!r}.\n"
    first = (results.page - 1) * results.page_size + 1
    lines = [f"{results.total} result(s) for {results.query!r}:", ""]
    for rank, hit in enumerate(results.hits, start=first):
        outlet = hit.source_name or (f"story, {hit.outlets} outlets" if hit.kind == STORY else "")
        meta = " · ".join(p for p in (outlet, hit.published or "undated") if p)
        lines.append(f"{rank:>3}. {hit.title}")
        lines.append(f"     {meta}")
        lines.append(f"     {hit.url}")
        lines.append(f"     {_plain_snippet(hit.highlight)}")
        lines.append("")
    return "\n".join(lines)
