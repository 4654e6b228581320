"""Clustering that reuses the previous run's state finds exactly the stories a clean run finds.

In memory only (no disk): random sequences of edits, additions, deletions and renames, each
run handed the state the run before it kept; and a small edit re-links only its own story.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cluster import FIGHT_A, FIGHT_B, OTHER_NEWS, QUAKE_A, QUAKE_B, QUAKE_OTHER, make

from site_src import cache, cluster
from site_src.cluster import find_stories
from site_src.cluster_memo import FeatureMemo, gather_rows
from site_src.similarity import _LEVEL_VALUES, count_levels, keep_top_features

TEXTS = [QUAKE_A, QUAKE_B, QUAKE_OTHER, FIGHT_A, FIGHT_B, OTHER_NEWS]
EXTRAS = ["", "Officials said more details would follow on Friday.",
          "The council will meet again next week to discuss the findings.",
          "Zorblax quintafel merovian."]

ARTICLE = st.tuples(st.integers(0, len(TEXTS) - 1), st.integers(0, len(EXTRAS) - 1),
                    st.one_of(st.none(), st.integers(0, 6)), st.sampled_from([None, "k1", "k2"]),
                    st.sampled_from(["wire", "daily"]))
STEP = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 20), ARTICLE),
    st.tuples(st.just("add"), st.integers(0, 20), ARTICLE),
    st.tuples(st.just("delete"), st.integers(0, 20), ARTICLE),
    st.tuples(st.just("rename"), st.integers(0, 20), ARTICLE),
)


def make_article(number: int, choice: tuple) -> object:
    """Return article `a<number>` from a (text, extra, day, story key, outlet) choice."""
    text, extra, day, key, source = choice
    body = f"{TEXTS[text]} {EXTRAS[extra]}".strip()
    return make(f"a{number}", body, day, key=key, source=source)


def apply_step(articles: list, step: tuple, serial: int) -> list:
    """Return the corpus after one edit, addition, deletion or rename."""
    kind, index, choice = step
    later = list(articles)
    if kind == "add" or not later:
        return later + [make_article(serial, choice)]
    index %= len(later)
    if kind == "edit":
        later[index] = replace(make_article(0, choice), id=later[index].id,
                               path=later[index].path)
    elif kind == "delete":
        del later[index]
    else:
        later[index] = replace(later[index], id=f"a{serial}", path=f"a{serial}.md")
    return later


@settings(max_examples=25, deadline=None, derandomize=True)
@given(first=st.lists(ARTICLE, min_size=1, max_size=10), steps=st.lists(STEP, max_size=5))
def test_each_run_with_the_last_runs_state_equals_a_clean_run(first, steps) -> None:  # noqa: ANN001
    """Every run reuses the state the run before kept (itself made from reused state)."""
    articles = [make_article(i, choice) for i, choice in enumerate(first)]
    memo = FeatureMemo(key_of=cache.article_fingerprint)
    assert find_stories(articles, memo) == find_stories(articles)
    for serial, step in enumerate(steps, start=100):
        articles = apply_step(articles, step, serial)
        memo = FeatureMemo(key_of=cache.article_fingerprint, previous=memo.latest)
        assert find_stories(articles, memo) == find_stories(articles)


def spy_on_linking(monkeypatch) -> list[int]:  # noqa: ANN001
    """Return a list that gets the article count of every cluster.link_average call."""
    sizes: list[int] = []
    real = cluster.link_average
    monkeypatch.setattr(cluster, "link_average",
                        lambda n, *rest: sizes.append(n) or real(n, *rest))
    return sizes


def test_a_small_edit_links_only_its_own_story_again(monkeypatch) -> None:  # noqa: ANN001
    """Three two-article stories; an edit adding words no other article has re-links two
    articles, and the stories stay those of a clean run."""
    articles = [make("q1", QUAKE_A, 0), make("q2", QUAKE_B, 0),
                make("f1", FIGHT_A, 1), make("f2", FIGHT_B, 1),
                make("o1", OTHER_NEWS, 2), make("o2", QUAKE_OTHER, 30)]
    memo = FeatureMemo(key_of=cache.article_fingerprint)
    before = find_stories(articles, memo)
    sizes = spy_on_linking(monkeypatch)
    edited = list(articles)
    edited[2] = replace(articles[2], text=articles[2].text + " Zorblax quintafel merovian.")
    after = find_stories(edited, FeatureMemo(cache.article_fingerprint, memo.latest))
    assert sizes == [2]
    assert after == find_stories(edited)
    assert {s.member_ids for s in after} == {s.member_ids for s in before}


def test_nothing_changed_links_nothing_again(monkeypatch) -> None:  # noqa: ANN001
    articles = [make(f"a{i}", text, i % 3) for i, text in enumerate(TEXTS)]
    memo = FeatureMemo(key_of=cache.article_fingerprint)
    before = find_stories(articles, memo)
    sizes = spy_on_linking(monkeypatch)
    assert find_stories(articles, FeatureMemo(cache.article_fingerprint, memo.latest)) == before
    assert sizes == [0]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=30),
                min_size=1, max_size=8), st.integers(1, 12))
def test_top_features_keep_the_heaviest_of_each_row(rows, limit) -> None:  # noqa: ANN001
    """The vectorised cut keeps per row the `limit` heaviest features, ties to the lower
    column, like sorting each row on its own."""
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0] + [len(r) for r in rows])
    data = np.concatenate(rows).astype(np.float32) / 4  # few values: many ties
    indices = np.concatenate([np.arange(len(r)) * 3 for r in rows])
    cut = keep_top_features(csr_matrix((data, indices, indptr)), limit)
    for i, row in enumerate(rows):
        expected = sorted(range(len(row)), key=lambda k: (-row[k], k))[:limit]
        assert sorted(cut[i].indices.tolist()) == sorted(3 * k for k in expected)


@pytest.mark.parametrize("pieces", [64, 1])
def test_rows_gathered_in_runs_equal_rows_picked_one_by_one(pieces, monkeypatch) -> None:  # noqa: ANN001
    """Runs copied at once, or (many runs) rows picked by index: the same rows."""
    from scipy.sparse import csr_matrix

    from site_src import cluster_memo

    monkeypatch.setattr(cluster_memo, "MAX_PIECES", pieces)
    first = csr_matrix(np.arange(20, dtype=np.float32).reshape(5, 4))
    second = csr_matrix(-np.arange(8, dtype=np.float32).reshape(2, 4))
    source = np.array([0, 0, 1, 0, 0, 1])
    row = np.array([0, 1, 0, 3, 4, 1])
    parts = [first.toarray(), second.toarray()]
    expected = np.vstack([parts[s][r] for s, r in zip(source, row, strict=True)])
    assert np.array_equal(gather_rows([first, second], source, row).toarray(), expected)
    dense = gather_rows(parts, source, row)
    assert np.array_equal(dense, expected)


def test_document_counts_are_exact_when_small_and_within_three_percent_when_large() -> None:
    counts = np.arange(0, 50_000)
    quantised = _LEVEL_VALUES[count_levels(counts)]
    assert np.array_equal(quantised[:17], counts[:17])
    assert np.all(np.abs(quantised[17:] / counts[17:] - 1) < 0.035)
    assert len(np.unique(quantised[1000:])) < 200


def test_a_partial_or_inconsistent_state_is_not_used() -> None:
    """A state from other code (a part missing) or cut to fewer articles gives a clean run."""
    articles = [make(f"a{i}", text, i % 3) for i, text in enumerate(TEXTS)]
    memo = FeatureMemo(key_of=cache.article_fingerprint)
    clean = find_stories(articles, memo)
    assert memo.latest is not None
    partial = replace(memo.latest, top=None)
    cut = replace(memo.latest, group=memo.latest.group[:-1])
    for state in (partial, cut):
        again = FeatureMemo(cache.article_fingerprint, previous=state)
        assert find_stories(articles, again) == clean
        assert again.previous is None


def test_rows_are_normalised_each_on_its_own() -> None:
    """Unit rows like scikit-learn's, and a row's bits do not depend on the rows beside it."""
    from scipy.sparse import random as sparse_random
    from sklearn.preprocessing import normalize as sklearn_normalize

    from site_src.similarity import normalize

    matrix = sparse_random(50, 300, density=0.05, format="csr", dtype=np.float32,
                           random_state=np.random.default_rng(3))
    unit = normalize(matrix)
    assert np.allclose(unit.toarray(), sklearn_normalize(matrix).toarray(), atol=1e-6)
    for i in range(0, 50, 7):
        alone = normalize(matrix[i:i + 1])
        assert np.array_equal(alone.data, unit[i].data)


def test_stop_words_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from site_src.similarity import load_stop_words

    assert load_stop_words() == frozenset(ENGLISH_STOP_WORDS)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.integers(0, 9), max_size=6), min_size=1, max_size=8),
       st.lists(st.integers(0, 7), max_size=3), st.lists(st.lists(st.integers(0, 9), max_size=6),
                                                        max_size=3))
def test_counts_updated_by_the_rows_that_came_and_went_equal_counts_made_afresh(
        before_rows, dropped, added) -> None:  # noqa: ANN001
    """Document counts and weights updated by the rows that came and went are what counting
    every row gives, and the columns said to have changed weight are exactly those."""
    from scipy.sparse import csr_matrix

    from site_src import cluster_memo

    def matrix(rows: list[list[int]]) -> csr_matrix:
        """Return a count matrix with one row per list of columns."""
        dense = np.zeros((len(rows), 10), dtype=np.float32)
        for i, columns in enumerate(rows):
            dense[i, columns] = 1
        return csr_matrix(dense)

    kept = [i for i in range(len(before_rows)) if i not in dropped]
    after_rows = [before_rows[i] for i in kept] + added
    before, after = matrix(before_rows), matrix(after_rows)
    old = np.array(kept + [-1] * len(added), dtype=np.int64)
    df_before, weight_before, _ = cluster_memo.weigh_columns(before, old[:0], None)
    df, weight, changed = cluster_memo.weigh_columns(after, old,
                                                     (before, df_before, weight_before))
    fresh_df, fresh_weight, _ = cluster_memo.weigh_columns(after, old, None)
    assert np.array_equal(df, fresh_df) and np.array_equal(weight, fresh_weight)
    assert np.array_equal(changed, weight != weight_before)
