"""Search: querying the Whoosh index, the preview server's API answers and the CLI text."""

from __future__ import annotations

import functools
import html
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from whoosh import collectors, index
from whoosh.fields import Schema
from whoosh.qparser import MultifieldParser
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.query import And, DateRange, Query, Term

from site_src.search_analysis import TOKEN
from site_src.search_index import (  # noqa: F401 - re-exported for callers
    ANALYZER,
    ARTICLE,
    STORY,
    build_index,
    document_rows,
    make_schema,
    open_index,
    update_documents,
)
from site_src.search_score import SearchState

TEXT_FIELDS = ("title", "body")
FIELD_BOOSTS = {"title": 2.0, "body": 1.0}
BM25_B = 0.75
BM25_K1 = 1.2
MAX_PAGE_SIZE = 50
EXCERPT_CHARS = 240

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD_PREFIX = re.compile(r"(?<![\w.])([A-Za-z_]\w*):(?![/\s])")
_LOCK = threading.Lock()
_STATES: dict[str, SearchState] = {}


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


def _excerpt(text: str) -> str:
    """Return the escaped start of a text, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    return html.escape(text)


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
        state = _state_of(index_dir, ix)
        key = (query, source, story, date_from, date_to, page, page_size)
        cached = state.answers.get(key)
        if cached is not None:
            state.answers.move_to_end(key)
            return cached
        docnums, shown = _rank(state, parsed, limiter, (page - 1) * page_size, page_size)
        terms = _body_terms(parsed, state.searcher)
        hits = tuple(_make_hit(state.searcher.stored_fields(d), score, terms)
                     for score, d in shown)
        results = SearchResults(
            query=query,
            total=len(docnums),
            page=page,
            page_size=page_size,
            hits=hits,
            facets_source=state.facet("source", docnums),
            facets_story=state.facet("story", docnums),
        )
        state.remember(key, results)
    return results


def _rank(state: SearchState, parsed: Query, limiter: Query | None, start: int, size: int
          ) -> tuple[np.ndarray, list[tuple[float, int]]]:
    """Return every match's docnum, best first (ties by docnum), and (score, docnum) of the
    page shown: over arrays when the query allows (same scores), else by Whoosh itself."""
    allow = state.allowed(limiter) if limiter is not None else None
    found = state.scorer.score(parsed, allow)
    if found is not None:
        docnums, scores = found
        shown = slice(start, start + size)
        return docnums, list(zip(scores[shown].tolist(), docnums[shown].tolist(), strict=True))
    ranked = state.searcher.search(parsed, limit=None, filter=limiter, terms=False)
    scored = ranked.top_n  # every match, best first (ties by docnum), scored exactly
    docnums = np.fromiter((d for _, d in scored), dtype=np.int64, count=len(scored))
    return docnums, scored[start : start + size]


def forget_answers() -> None:
    """Drop every cached answer, filter and decoded posting list (the searchers stay open)."""
    with _LOCK:
        for state in _STATES.values():
            state.forget()


def _state_of(index_dir: Path, ix: index.Index) -> SearchState:
    """Return the cached search state of the index, renewed when the index changed."""
    state = _STATES.get(str(index_dir))
    if state is None or state.ix is not ix or not state.searcher.up_to_date():
        if state is not None:
            state.searcher.close()
        state = _STATES[str(index_dir)] = SearchState(ix)
    return state


def _body_terms(parsed: Query, searcher) -> frozenset[str]:
    """Return the body terms of a query (wildcards and prefixes expanded), for highlighting."""
    reader, found = searcher.reader(), set()
    for leaf in [parsed, *parsed.leaves()]:
        if leaf.is_leaf():
            for field, text in leaf.expanded_terms(reader, phrases=True):
                if field == "body":
                    found.add(text.decode("utf-8") if isinstance(text, bytes) else text)
    return frozenset(found)


def top_results(searcher, query: Query, limit: int, limiter: Query | None = None):
    """Return Whoosh's exact top `limit` hits (no matcher replacing: in Whoosh 2.7 it can drop
    true top hits of OR queries, e.g. title^2 OR body)."""
    collector = collectors.TermsCollector(collectors.TopCollector(limit, replace=0))
    if limiter is not None:
        collector = collectors.FilterCollector(collector, limiter)
    searcher.search_with_collector(query, collector)
    return collector.results()


@functools.lru_cache(maxsize=65536)
def _term_of(word: str) -> str:
    """Return the index term of one lowercased word (stop words give "")."""
    found = [t.text for t in ANALYZER(word)]
    return found[0] if len(found) == 1 else ""


def make_snippet(text: str, terms: frozenset[str], width: int = 220) -> str:
    """Return escaped text around the first matched word, matches wrapped in <mark>."""
    heads = {t[:2] for t in terms}
    spans = []
    for match in TOKEN.finditer(text):
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


def _make_hit(fields: dict, score: float, terms: frozenset[str]) -> Hit:
    """Turn a matched document's stored fields into a Hit with a highlighted snippet."""
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
        score=float(score or 0.0),
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
