"""The Whoosh index, queries, the search API, CLI text and the static export (in-memory sites)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from site_src import search, search_export
from site_src.model import Article, Site, Source, Story
from site_src.urls import Urls

URLS = Urls("/some-repo/")
FILLER = (
    "Officials described the talks in general terms and said more meetings would follow "
    "in the coming weeks, according to people familiar with the discussions. "
)


def make_article(n: int, title: str, text: str, source: str, day: int | None) -> Article:
    """Return an article with a plain-text body."""
    when = datetime(2021, 9, day, 12, tzinfo=UTC) if day else None
    return Article(id=f"a{n:02d}", title=title, source=source, body=text, text=text,
                   path=f"a{n:02d}.md", published=when)


ARTICLES = (
    make_article(1, "Milley: coordination with Taliban on strikes possible",
                 "Gen. Mark Milley said coordination with the Taliban on counterterrorism "
                 "strikes is possible. War is hard. It is vicious. " + FILLER, "ap", 1),
    make_article(2, "Milley open to working with the Taliban",
                 "The general said war is hard and brutal, and strikes against the Islamic "
                 "State may need Taliban help. " + FILLER, "foxnews", 1),
    make_article(3, "US considers an unorthodox alliance",
                 "It is difficult to fight in a war. It's a nasty beast, said the chairman "
                 "about strikes in Afghanistan. " + FILLER, "spinner", 2),
    make_article(4, "Hurricane Ida floods New York subway",
                 "Record rainfall from the remnants of Hurricane Ida flooded subway stations "
                 "in New York and New Jersey. " + FILLER, "ap", 2),
    make_article(5, "Storm remnants bring flash floods to the northeast",
                 "Flash flood emergencies were declared in New York City as the remnants of "
                 "Ida moved through. " + FILLER, "reuters", None),
)
STORIES = (
    Story(id="a01", title="Milley: coordination with Taliban on strikes possible",
          member_ids=("a01", "a02", "a03")),
    Story(id="a04", title="Hurricane Ida floods New York subway", member_ids=("a04", "a05")),
)


def make_site(articles: tuple[Article, ...] = ARTICLES) -> Site:
    """Return the test site: two stories of several outlets."""
    keys = sorted({a.source for a in articles})
    story_of = {m: s.id for s in STORIES for m in s.member_ids if any(a.id == m for a in articles)}
    return Site(articles=articles, sources=tuple(Source(k, k.upper() + " News") for k in keys),
                stories=STORIES, story_of=story_of)


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    """A fresh Whoosh index of the test site."""
    path = tmp_path / "whoosh"
    search.build_index(make_site(), path, URLS)
    return path


def hit_ids(results: search.SearchResults) -> list[str]:
    """Return kind:id of every hit, in rank order."""
    return [f"{h.kind}:{h.id}" for h in results.hits]


def test_words_are_anded_and_stemmed(index_dir: Path) -> None:
    """'floods subway' finds the flooding articles (floods -> flood), not the Taliban ones."""
    results = search.search(index_dir, "flooding subway")
    assert set(hit_ids(results)) == {"article:a04", "story:a04"}
    assert results.hits[0].highlight.count("<mark>") >= 1


def test_title_boost_ranks_title_matches_first(index_dir: Path) -> None:
    """An article with the word in its title outranks one with it only in the body."""
    results = search.search(index_dir, "alliance")
    assert hit_ids(results) == ["article:a03", "story:a01"]


def test_phrase_and_full_query_language(index_dir: Path) -> None:
    """Phrases, field queries, OR and NOT all work as in Whoosh."""
    assert set(hit_ids(search.search(index_dir, '"war is hard"'))) == {"article:a01", "article:a02"}
    assert hit_ids(search.search(index_dir, "kind:story AND taliban")) == ["story:a01"]
    assert set(hit_ids(search.search(index_dir, "source:reuters OR source:spinner"))) == {
        "article:a03", "article:a05"}
    assert "article:a01" not in hit_ids(search.search(index_dir, "strikes NOT vicious"))


def test_filters_by_outlet_story_and_date(index_dir: Path) -> None:
    """Outlet, story and date-range filters narrow the hits; undated articles drop out."""
    assert hit_ids(search.search(index_dir, "strikes", source="foxnews")) == ["article:a02"]
    in_story = search.search(index_dir, "new york", story="a04")
    assert set(hit_ids(in_story)) == {"article:a04", "article:a05", "story:a04"}
    dated = search.search(index_dir, "new york", date_from="2021-09-02", date_to="2021-09-02")
    assert set(hit_ids(dated)) == {"article:a04", "story:a04"}


def test_facets_count_every_match(index_dir: Path) -> None:
    """Facets count outlets and stories over all matches, not just the page."""
    results = search.search(index_dir, "said", page_size=1)
    assert results.total == 5
    assert len(results.hits) == 1
    assert dict(results.facets_source) == {"ap": 2, "foxnews": 1, "spinner": 1, "reuters": 1}
    assert dict(results.facets_story) == {"a01": 3, "a04": 2}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("(war", "parenthes"),
        ('war "is', "quotation"),
        ("published:notadate", "notadate"),
        ("colour:red", "unknown field 'colour'"),
        ("   ", "empty query"),
    ],
)
def test_malformed_query_has_clear_message(index_dir: Path, query: str, message: str) -> None:
    """Malformed queries raise QueryError saying what is wrong."""
    with pytest.raises(search.QueryError, match=message):
        search.search(index_dir, query)


def test_api_answers_json(index_dir: Path) -> None:
    """The API returns hits, highlights, facets, total and page as JSON."""
    status, body = search.answer_api(index_dir, {"q": "taliban", "page": "1", "size": "2"})
    data = json.loads(body)
    assert status == 200
    assert data["total"] == 3 and data["page"] == 1 and len(data["hits"]) == 2
    assert data["pages"] == 2
    assert {"highlight", "url", "title", "source", "published", "story"} <= set(data["hits"][0])
    assert data["hits"][0]["url"].startswith("/some-repo/")
    assert {f["id"] for f in data["facets"]["story"]} == {"a01"}


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "(war"}, {"q": "war", "page": "0"}, {"q": "war", "size": "x"},
     {"q": "war", "from": "yesterday"}, {"q": "war", "from": "2021-09-03", "to": "2021-09-01"}],
)
def test_api_errors_are_json_400(index_dir: Path, params: dict) -> None:
    """Bad requests get a 400 with a JSON error message."""
    status, body = search.answer_api(index_dir, params)
    assert status == 400
    assert json.loads(body)["error"]


def test_api_bounds_page_size_and_reports_missing_index(index_dir: Path, tmp_path: Path) -> None:
    """Page size is capped; a missing index is a 503 JSON error, not a traceback."""
    _, body = search.answer_api(index_dir, {"q": "said", "size": "100000"})
    assert json.loads(body)["size"] == search.MAX_PAGE_SIZE
    status, body = search.answer_api(tmp_path / "nothing", {"q": "war"})
    assert status == 503 and "build" in json.loads(body)["error"]


def test_format_results_for_the_cli(index_dir: Path) -> None:
    """The CLI text has rank, title, outlet, date, URL and a snippet with the match marked."""
    text = search.format_results(search.search(index_dir, "subway"))
    assert "1. Hurricane Ida floods New York subway" in text
    assert "AP News · 2021-09-02" in text
    assert "/some-repo/articles/a04/" in text
    assert "[subway]" in text
    assert "No results" in search.format_results(search.search(index_dir, "zebra"))


def test_update_documents_changes_and_deletes(index_dir: Path) -> None:
    """Changed documents are re-indexed, deleted ones disappear."""
    changed = replace(ARTICLES[4], text=ARTICLES[4].text + " Zebras escaped the zoo.")
    site = make_site(ARTICLES[:2] + ARTICLES[3:4] + (changed,))
    search.update_documents(index_dir, site, URLS, ["a05"], ["a03"])
    assert hit_ids(search.search(index_dir, "zebra")) == ["article:a05"]
    assert "article:a03" not in hit_ids(search.search(index_dir, "strikes"))
    assert search.search(index_dir, "alliance").total == 0


def test_export_is_deterministic(tmp_path: Path) -> None:
    """Two builds of the same site export byte-identical files, and meta.json names them."""
    first, second = tmp_path / "one", tmp_path / "two"
    search.build_index(make_site(), first, URLS)
    search.build_index(make_site(), second, URLS)
    files = search_export.export_static(first)
    assert files == search_export.export_static(second)
    meta = json.loads(files["meta.json"])
    named = {n for n in meta["terms"] + meta["vocab"] + meta["blocks"] if n}
    assert named <= set(files)
    assert meta["docs"] == 7


def test_shard_names_stay_when_one_document_changes(tmp_path: Path) -> None:
    """Editing one article renames only the shards whose content changed."""
    search.build_index(make_site(), tmp_path / "before", URLS)
    edited = replace(ARTICLES[3], text=ARTICLES[3].text + " Zebras escaped the zoo.")
    search.build_index(make_site(ARTICLES[:3] + (edited,) + ARTICLES[4:]), tmp_path / "after",
                       URLS)
    before = set(search_export.export_static(tmp_path / "before"))
    after = set(search_export.export_static(tmp_path / "after"))
    terms_before = {n for n in before if n.startswith("t/")}
    terms_after = {n for n in after if n.startswith("t/")}
    assert len(terms_before & terms_after) >= 0.8 * len(terms_before)
    assert len(terms_after - terms_before) <= 6
    docs_changed = {n for n in after - before if n.startswith("d/")}
    assert len(docs_changed) == 1
