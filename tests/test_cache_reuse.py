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
from site_src.output import iter_tree
from site_src.pipeline import build
from site_src.search_analysis import encode_numbers
from site_src.similarity import FeatureMemo, build_features

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
    with_memo = build_features(later, 3, FeatureMemo(cache.article_fingerprint, memo.latest))
    without = build_features(later, 3)
    assert (with_memo[0] != without[0]).nnz == 0
    assert np.array_equal(with_memo[1], without[1])
    assert (with_memo[2] != without[2]).nnz == 0


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
