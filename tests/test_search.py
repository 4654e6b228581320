"""The Whoosh index, queries, the search API, CLI text and the static export (in-memory sites)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from whoosh import index

from site_src import search, search_export, search_index
from site_src.model import Article, Site, Source, Story
from site_src.search_analysis import analyse_text, encode_positions
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


TRICKY = [
    "İstanbul THE war is hard", "the a an I", "", "*foo* bar.baz x.y. 3.141 big-time",
    "ǅemal ΣΑΣ straße", "To be, or not to be: U.S.-Taliban talks' 'quoted' words",
    "Casualties: more than 150 (scores of Afghans) — over a 100", FILLER * 3,
]


@pytest.mark.parametrize("text", TRICKY + [a.text for a in ARTICLES] + [a.title for a in ARTICLES])
def test_one_pass_analysis_equals_whoosh(text: str) -> None:
    """analyse_text gives exactly the terms and positions of Whoosh's analyser."""
    offset, terms = analyse_text(text)
    expected = [(t.text, t.pos) for t in search.ANALYZER(text, positions=True)]
    assert [(t, offset + i) for i, t in enumerate(terms)] == expected


def test_position_codes_equal_whoosh() -> None:
    """The writer's position bytes are those of Whoosh's Positions format."""
    encode = search.make_schema()["body"].format.encode
    for spots in ([0], [7], [300], [70000], [1, 2], [0, 5, 9, 300, 70000], list(range(0, 3000, 2))):
        assert encode_positions(spots) == encode(spots)


def whoosh_native(path: Path, site: Site) -> None:
    """Write the index with Whoosh's own add_document (the reference for the fast writer)."""
    path.mkdir()
    ix = index.create_in(str(path), search.make_schema())
    state = random.getstate()
    random.seed(1)  # the segment name build_index gives a one-segment index
    writer = ix.writer(compound=False)
    random.setstate(state)
    for row in search.document_rows(site, URLS):
        writer.add_document(**search_index._clean_row(row))
    writer.commit()


def index_content(path: Path) -> dict:
    """Return everything Whoosh reads from an index: per term its statistics and postings
    (docnum, weight, value bytes), stored fields, field lengths and columns."""
    ix = index.open_dir(str(path))
    out: dict = {}
    with ix.reader() as reader:
        for name in ix.schema.names():
            if not ix.schema[name].indexed:
                continue
            for text in reader.lexicon(name):
                info = reader.term_info(name, text)
                stats = (info.doc_frequency(), info.weight(), info.min_length(),
                         info.max_length(), info.max_weight(), info.min_id(), info.max_id())
                matcher, postings = reader.postings(name, text), []
                while matcher.is_active():
                    postings.append((matcher.id(), matcher.weight(), matcher.value()))
                    matcher.next()
                out[(name, text)] = (stats, postings)
        out["stored"] = list(reader.iter_docs())
        out["lengths"] = [[reader.doc_field_length(d, f) for f in ("title", "body")]
                          for d in range(reader.doc_count_all())]
        out["columns"] = {c: list(reader.column_reader(c)) for c in ("source", "story")}
    return out


def test_fast_writer_index_reads_as_whoosh_writes_it(tmp_path: Path) -> None:
    """The pre-analysed writer's index reads back exactly as the one Whoosh's own writer
    makes (it only leaves tiny posting blocks uncompressed), and the other files are equal."""
    search.build_index(make_site(), tmp_path / "fast", URLS)
    whoosh_native(tmp_path / "native", make_site())
    assert index_content(tmp_path / "fast") == index_content(tmp_path / "native")
    fast = {p.name: p.read_bytes() for p in (tmp_path / "fast").glob("MAIN_*")}
    native = {p.name: p.read_bytes() for p in (tmp_path / "native").glob("MAIN_*")}
    native.pop("MAIN_WRITELOCK", None)
    assert fast.keys() == native.keys()
    same = [n for n in fast if not n.endswith((".pst", ".trm"))]
    assert len(same) > 3
    assert all(fast[n] == native[n] for n in same)


def test_index_bytes_do_not_depend_on_hash_seed(tmp_path: Path) -> None:
    """Two processes with different string hashing write byte-identical index files."""
    script = ("import sys; sys.path[:0] = [sys.argv[2], sys.argv[3]]; from pathlib import Path;"
              "import test_search as t; from site_src import search;"
              "search.build_index(t.make_site(), Path(sys.argv[1]), t.URLS)")
    root = Path(__file__).resolve().parents[1]
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / seed), str(root),
                        str(root / "tests")], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
    files = [{p.name: p.read_bytes() for p in (tmp_path / s).iterdir()} for s in ("1", "2")]
    assert files[0] == files[1]


def many_articles(count: int) -> tuple[Article, ...]:
    """Return `count` small articles built from the test texts."""
    words = " ".join(a.text for a in ARTICLES).split()
    return tuple(make_article(n, " ".join(words[n % 50 : n % 50 + 6]),
                              " ".join(words[(n * 7) % 200 :] + words[: n % 30]),
                              ("ap", "reuters", "foxnews")[n % 3], 1 + n % 20)
                 for n in range(count))


def test_two_segments_forked_or_not_and_export_paths_agree(tmp_path: Path) -> None:
    """A large site: forked and in-process builds write the same bytes; the export made
    during the build, from the side file and read back from Whoosh are all identical; and
    searching two segments ranks as Whoosh does."""
    site = make_site(many_articles(search_index.SPLIT_DOCS + 20))
    search.build_index(site, tmp_path / "forked", URLS)
    search.build_index(site, tmp_path / "inline", URLS, parallel=False)
    forked = {p.name: p.read_bytes() for p in (tmp_path / "forked").iterdir()}
    assert forked == {p.name: p.read_bytes() for p in (tmp_path / "inline").iterdir()}
    assert len([n for n in forked if n.endswith(".trm")]) == 2
    built = search_export.export_static(tmp_path / "forked")
    assert built == search_export.export_static(tmp_path / "forked")  # from the side file
    assert built == search_export.export_static(tmp_path / "forked", use_side_file=False)
    results = search.search(tmp_path / "forked", "officials meetings", page_size=10)
    ix = search.open_index(tmp_path / "forked")
    with ix.searcher() as searcher:
        parsed = search.parse_query("officials meetings", ix.schema)
        expected = [(h["id"], h.score) for h in search.top_results(searcher, parsed, 10)]
    assert [(h.id, h.score) for h in results.hits] == expected


def test_export_after_updates_equals_read_back(index_dir: Path) -> None:
    """After per-document updates the side file still describes the index exactly."""
    changed = replace(ARTICLES[4], text=ARTICLES[4].text + " Zebras escaped the zoo.")
    site = make_site(ARTICLES[:2] + ARTICLES[3:4] + (changed,))
    search.update_documents(index_dir, site, URLS, ["a05"], ["a03"])
    fast = search_export.export_static(index_dir)
    assert fast == search_export.export_static(index_dir, use_side_file=False)
    assert any(b"zebra" in data for name, data in fast.items() if name.startswith("t/"))


def test_repeated_queries_are_answered_alike(index_dir: Path) -> None:
    """A cached answer equals a fresh one, and an index update is seen at once."""
    first = search.answer_api(index_dir, {"q": "taliban"})
    assert search.answer_api(index_dir, {"q": "taliban"}) == first
    search.forget_answers()
    assert search.answer_api(index_dir, {"q": "taliban"}) == first
    site = make_site(ARTICLES[1:])
    search.update_documents(index_dir, site, URLS, [], ["a01"])
    assert json.loads(search.answer_api(index_dir, {"q": "taliban"})[1])["total"] == 1
