"""What the incremental caches reuse gives the same results as starting afresh.

Clustering with remembered per-article features (in memory: no disk), and the static search
export updated in place after an edit, compared with a clean build byte for byte.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from conftest import FIXTURE_CORPUS, make_config
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cluster import FIGHT_A, FIGHT_B, OTHER_NEWS, QUAKE_A, QUAKE_B, QUAKE_OTHER, make

from site_src import cache, export_update
from site_src.cluster import find_stories
from site_src.cluster_memo import FeatureMemo, make_features
from site_src.output import iter_tree
from site_src.pipeline import build
from site_src.search_analysis import encode_numbers

TEXTS = [QUAKE_A, QUAKE_B, QUAKE_OTHER, FIGHT_A, FIGHT_B, OTHER_NEWS]
FURNITURE = "Sign up for our newsletter today."


def make_corpus(choices: list[tuple[int, int, bool]]) -> list:
    """Return articles from (text, day, with furniture line) choices; one outlet for all."""
    return [make(f"a{i}", TEXTS[text] + (f"\n{FURNITURE}" if furniture else ""), day,
                 source="wire") for i, (text, day, furniture) in enumerate(choices)]


CHOICE = st.tuples(st.integers(0, len(TEXTS) - 1), st.integers(0, 5), st.booleans())


@settings(max_examples=25, deadline=None, derandomize=True)
@given(first=st.lists(CHOICE, min_size=1, max_size=9),
       edits=st.lists(st.tuples(st.integers(0, 8), CHOICE), max_size=4))
def test_remembered_features_cluster_like_fresh_ones(first, edits) -> None:  # noqa: ANN001
    """Edits that also change which lines are page furniture: same stories, same vectors."""
    articles = make_corpus(first)
    memo = FeatureMemo(key_of=cache.article_fingerprint)
    find_stories(articles, memo)
    later = list(articles)
    for index, (text, day, furniture) in edits:
        if index < len(later):
            fresh = make_corpus([(text, day, furniture)])[0]
            later[index] = replace(fresh, id=later[index].id, path=later[index].path)
    reused = FeatureMemo(key_of=cache.article_fingerprint, previous=memo.latest)
    assert find_stories(later, reused) == find_stories(later)
    with_memo = make_features(later, 3, FeatureMemo(cache.article_fingerprint, memo.latest))
    without = make_features(later, 3)
    assert (with_memo.vectors != without.vectors).nnz == 0
    assert np.array_equal(with_memo.bands, without.bands)
    assert (with_memo.years != without.years).nnz == 0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 5000), max_size=40))
def test_vectorised_varints_match_search_analysis(numbers) -> None:  # noqa: ANN001
    code = encode_numbers(numbers)
    assert export_update.encode_array(np.array(numbers, dtype=np.int64)) == code
    assert export_update.decode_array(code)[0].tolist() == numbers


def test_an_edit_updates_the_search_export_in_place(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    updates = []
    real = export_update.update_export
    monkeypatch.setattr(export_update, "update_export",
                        lambda *args: updates.append(real(*args)) or updates[-1])
    path = corpus / "harbour-bridge-daily.md"
    path.write_text(path.read_text("utf-8").replace("furious", "livid at the toll plans"),
                    encoding="utf-8")
    assert build(make_config(corpus, out)).mode == "incremental"
    assert len(updates) == 1 and updates[0] is not None  # updated, not exported afresh
    clean = tmp_path / "clean" / "site"
    build(make_config(corpus, clean))
    assert dict(iter_tree(out / "search/static")) == dict(iter_tree(clean / "search/static"))


def encode_postings(postings: dict[int, list[int]]) -> tuple[str, str]:
    """Return the postings and positions codes a clean export writes for doc -> positions."""
    pairs: list[int] = []
    places: list[int] = []
    previous = -1
    for doc in sorted(postings):
        spots = postings[doc]
        pairs.extend([(doc - previous) * 2] if len(spots) == 1
                     else [(doc - previous) * 2 + 1, len(spots)])
        places.extend(b - a for a, b in zip([0, *spots], spots, strict=False))
        previous = doc
    return encode_numbers(pairs), encode_numbers(places)


SPOTS = st.lists(st.integers(0, 40), min_size=1, max_size=4, unique=True).map(sorted)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(terms=st.lists(st.dictionaries(st.integers(0, 30), SPOTS, min_size=1, max_size=8),
                      min_size=1, max_size=4),
       leaving=st.sets(st.integers(0, 30)), coming=st.lists(SPOTS, max_size=4),
       data=st.data())
def test_postings_renumbered_in_place_equal_fresh_ones(terms, leaving, coming, data) -> None:  # noqa: ANN001
    """Documents leave, others come in between, the rest are renumbered: the codes updated
    in place are the codes a clean export writes for the new numbering."""
    count = 31 - len(leaving) + len(coming)
    slots = sorted(data.draw(st.sets(st.integers(0, count - 1), min_size=len(coming),
                                     max_size=len(coming))))
    moved = np.full(31, -1, np.int64)
    moved[[d for d in range(31) if d not in leaving]] = [n for n in range(count)
                                                        if n not in slots]
    added = dict(zip(slots, coming, strict=True))
    for postings in terms:
        pairs, places = encode_postings(postings)
        expected = {int(moved[d]): s for d, s in postings.items() if moved[d] >= 0} | added
        df, new_pairs, new_places = export_update.splice(pairs, places, moved, added)
        assert df == len(expected)
        assert (new_pairs, new_places) == (encode_postings(expected) if expected else ("", ""))
    staying = [p for p in terms if not leaving.intersection(p)]  # untouched terms
    assert export_update.remap_codes([encode_postings(p)[0] for p in staying], moved) == [
        encode_postings({int(moved[d]): s for d, s in p.items()})[0] for p in staying]


def test_added_deleted_and_renamed_articles_update_the_export_in_place(
        tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Documents that come or go (new stories among them) move the others along; the export
    is updated, not made afresh, and equals a clean build's after every step."""
    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    out = tmp_path / "build" / "site"
    build(make_config(corpus, out))
    updates = []
    real = export_update.update_export
    monkeypatch.setattr(export_update, "update_export",
                        lambda *args: updates.append(real(*args)) or updates[-1])
    first = sorted(corpus.glob("*.md"))[0]
    copy = corpus / "a-copy-of-the-first.md"
    steps = [
        lambda: copy.write_text(first.read_text("utf-8").replace("title: ", "title: Copy of ", 1)
                                .replace("url: https://", "url: https://copy.", 1),
                                encoding="utf-8"),  # makes a story: documents move
        lambda: sorted(corpus.glob("*.md"))[-1].unlink(),
        lambda: first.rename(corpus / "zz-renamed.md"),
    ]
    for number, step in enumerate(steps):
        step()
        result = build(make_config(corpus, out))
        assert result.mode == "incremental" and not result.problems
        assert len(updates) == number + 1 and updates[-1] is not None
        clean = tmp_path / f"clean{number}" / "site"
        build(make_config(corpus, clean))
        assert dict(iter_tree(out / "search/static")) == dict(iter_tree(clean / "search/static"))


def test_cached_analyses_read_compare_and_pickle_as_the_stored_ones(tmp_path: Path) -> None:
    import pickle

    from site_src.model import ArticleAnalysis, StoryAnalysis

    stored = StoryAnalysis(articles=(ArticleAnalysis("a", (), (("new", 1.0),), "origin"),),
                           similarity=((1.0,),))
    store = cache.AnalysisStore(tmp_path)
    store.put_many({"k": stored})
    found = store.get_many(["k", "missing"])
    store.close()
    assert list(found) == ["k"]
    lazy = found["k"]
    assert isinstance(lazy, StoryAnalysis)
    assert lazy.similarity == ((1.0,),) and lazy.quotations == ()
    assert lazy.for_article("a") == stored.articles[0]
    assert lazy == stored and stored == lazy and hash(lazy) == hash(stored)
    assert repr(lazy) == repr(stored)
    again = pickle.loads(pickle.dumps(lazy))
    assert type(again) is StoryAnalysis and again == stored


def test_outlet_tallies_from_the_cache_sum_like_fresh_ones(tmp_path: Path) -> None:
    from site_src import rebuild, storyview, tallies
    from site_src.urls import Urls, story_json_path

    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    site = build(make_config(corpus, tmp_path / "site")).site
    keys = {story_json_path(s): s.id for s in site.stories}  # any keys that stay the same
    first = rebuild.story_tallies(site, tmp_path / "cache", keys)
    again = rebuild.story_tallies(site, tmp_path / "cache", keys)
    fresh = {s.id: tallies.story_tally(s, site) for s in site.stories if s.analysis is not None}
    assert first == again == fresh and fresh
    urls = Urls(base_url="/")
    pages = [storyview.source_reuse_context(s, site, urls) for s in site.sources]
    storyview.use_story_tallies(site, {i: {"words": {}, "taken": {}, "analysed": {}}
                                       for i in first})  # the given tallies are the ones used
    assert [storyview.source_reuse_context(s, site, urls) for s in site.sources] != pages
    storyview.use_story_tallies(site, first)
    assert [storyview.source_reuse_context(s, site, urls) for s in site.sources] == pages
