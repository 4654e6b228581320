"""Whole-query scoring over arrays (search_score) gives exactly Whoosh's scores and order."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_search import URLS, make_site, many_articles

from site_src import search, search_index
from site_src.search_score import ArrayScorer

FORMS = ("{a} {b}", "{a} OR {b}", "{a} OR {b} OR {c}", "{a} NOT {b}", "{a} ANDNOT {b}",
         "title:{a} {b}", "{a} {b} {c} {d}", "{p}*", "kind:story OR {a}", '"{a} {b}"',
         "({a} OR {b}) {c}", "{a}^3 {b}", "{a}")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two segments of many small articles, then an update: a third segment and deletions."""
    path = tmp_path_factory.mktemp("score") / "whoosh"
    articles = many_articles(search_index.SPLIT_DOCS + 40)
    search.build_index(make_site(articles), path, URLS)
    kept = articles[5:]
    search.update_documents(path, make_site(kept), URLS, [a.id for a in kept[:30]],
                            [a.id for a in articles[:5]])
    return path


def make_queries(words: list[str], count: int) -> list[str]:
    """Return generated queries of every form over the index's words."""
    rng = random.Random(11)
    queries = []
    for n in range(count):
        a, b, c, d = (rng.choice(words) for _ in range(4))
        queries.append(FORMS[n % len(FORMS)].format(a=a, b=b, c=c, d=d, p=a[:3]))
    return queries


def test_array_scores_equal_whoosh(index_dir: Path) -> None:
    """Every match, its score (to the last bit) and its rank equal Whoosh's, with and without
    a filter, over segments holding deleted documents; unsupported queries answer None."""
    ix = search.open_index(index_dir)
    with ix.searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 3 and searcher.reader().has_deletions()
        words = sorted(w.decode() for w in searcher.reader().lexicon("body"))
        scorer = ArrayScorer(searcher)
        limiter = search.make_filter("ap", None, None, None)
        allow = search.SearchState(ix).allowed(limiter)
        supported = 0
        for query in make_queries(words, 200):
            parsed = search.parse_query(query, ix.schema)
            for where, mask in ((None, None), (limiter, allow)):
                expected = searcher.search(parsed, limit=None, filter=where, terms=False).top_n
                found = scorer.score(parsed, mask)
                if found is None:
                    assert any(k in query for k in ('"', "kind:", "ANDNOT")), query
                    continue
                supported += 1
                docnums, scores = found
                assert list(zip(scores.tolist(), docnums.tolist(), strict=True)) == expected
        assert supported > 250


def test_api_answers_equal_whoosh_only_answers(index_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's JSON (hits, scores, highlights, facets, totals) is the same when every
    query is left to Whoosh's own collector."""
    queries = ["officials meetings", "said", "general OR flood", "strikes NOT war", "talks*"]
    params = [{"q": q, "page": p, "source": s} for q in queries for p in ("1", "2")
              for s in ("", "reuters")]
    search.forget_answers()
    fast = [search.answer_api(index_dir, p) for p in params]
    search.forget_answers()
    monkeypatch.setattr(ArrayScorer, "score", lambda *_args: None)
    slow = [search.answer_api(index_dir, p) for p in params]
    search.forget_answers()
    assert fast == slow
    assert sum(json.loads(body)["total"] for _, body in fast) > 100
