"""search.js under node against Whoosh: the same analysis of every word, the same top 10.

Uses the seed corpus and a 1,000-article subset of ../shared/bench/allsides (skipped when the
data is absent) and /usr/share/dict/words when present. Needs node (skipped without it).
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from site_src import search, search_export
from site_src.model import Article, Site, Source, Story
from site_src.urls import Urls

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = sorted((SHARED / "seeds").glob("*.txt"))
ALLSIDES = SHARED / "bench" / "allsides" / "articles.jsonl.gz"
DICT = Path("/usr/share/dict/words")
HARNESS = ROOT / "tests" / "js" / "harness.js"
NODE = shutil.which("node")

if NODE is None:
    pytest.skip("node is not installed: search.js cannot be run", allow_module_level=True)


def run_node(request: dict) -> dict:
    """Run the node harness on one JSON request."""
    done = subprocess.run([NODE, str(HARNESS)], input=json.dumps(request), capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def whoosh_terms(text: str) -> list[str]:
    """Return Whoosh's analysis of a text."""
    return [t.text for t in search.ANALYZER(text)]


def read_allsides(limit: int) -> list[dict]:
    """Return the first `limit` AllSides records."""
    rows = []
    with gzip.open(ALLSIDES, "rt", encoding="utf-8") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if len(rows) == limit:
                break
    return rows


def seed_texts() -> list[str]:
    """Return the seed documents, or the shipped content files when the seeds are absent."""
    files = SEEDS or sorted((ROOT / "content").glob("*.md"))
    return [f.read_text(encoding="utf-8") for f in files]


def make_site(records: list[tuple[str, str, str, str]], story: bool) -> Site:
    """Return a site of (id, title, text, source) records, optionally all in one story."""
    articles = tuple(Article(id=i, title=t, source=s, body=x, text=x, path=f"{i}.md")
                     for i, t, x, s in records)
    sources = tuple(Source(k, k) for k in sorted({a.source for a in articles}))
    stories = ()
    if story:
        stories = (Story(id=articles[0].id, title=articles[0].title,
                         member_ids=tuple(a.id for a in articles)),)
    story_of = {a.id: articles[0].id for a in articles} if story else {}
    return Site(articles=articles, sources=sources, stories=stories, story_of=story_of)


def export_to(index_dir: Path, out: Path) -> None:
    """Write the static export of an index to a folder."""
    for rel, data in search_export.export_static(index_dir).items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def make_queries(texts: list[str], count: int, seed: int) -> list[str]:
    """Generate word, multi-word and phrase queries from the texts' own words."""
    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", rng.choice(texts))
                 if w not in ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO")]
        if len(words) < 4:
            continue
        kind = len(queries) % 4
        if kind == 3:
            start = rng.randrange(len(words) - 3)
            queries.append('"' + " ".join(words[start:start + rng.choice((2, 3))]) + '"')
        else:
            queries.append(" ".join(rng.sample(words, kind + 1)).lower())
    return queries


def whoosh_top(index_dir: Path, query: str) -> tuple[int, list[tuple[str, float]]]:
    """Return Whoosh's match count and top 10 (kind:id, score) for a query."""
    ix = search.open_index(index_dir)
    with ix.searcher() as searcher:
        # the exact ranking: Whoosh's block-quality pruning can skip true top hits
        parsed = search.parse_query(query, ix.schema)
        results = search.top_results(searcher, parsed, 10)
        top = [(f"{h['kind']}:{h['id']}", h.score) for h in results]
        return sum(1 for _ in searcher.docs_for_query(parsed)), top


def assert_same_top(query: str, expected: tuple[int, list], got: dict) -> None:
    """Assert equal totals and top 10; documents with tied scores may swap places."""
    total, top = expected
    assert got["total"] == total, query
    assert len(got["top"]) == len(top), query
    for (_, ws), (_, js) in zip(top, got["top"], strict=True):
        assert js == pytest.approx(ws, rel=1e-9), query
    if top:
        cutoff = top[-1][1] * (1 + 1e-9)
        sure = {i for i, s in top if s > cutoff}
        assert sure <= {i for i, _ in got["top"]}, query
        for (wi, ws), (ji, _) in zip(top, got["top"], strict=True):
            tied = [i for i, s in top if s == pytest.approx(ws, rel=1e-9)]
            assert ji == wi or ji in tied or ws <= cutoff, query


def test_analyser_matches_whoosh_on_corpus_words() -> None:
    """Every word (and every whole text) of the seeds is analysed identically."""
    texts = seed_texts()
    words = sorted({w for t in texts for w in t.split()})
    got = run_node({"op": "analyse", "words": words + texts})["terms"]
    expected = [whoosh_terms(w) for w in words + texts]
    mismatches = [(w, e, g) for w, e, g in zip(words + texts, expected, got, strict=True) if e != g]
    assert mismatches == []


def test_analyser_matches_whoosh_on_a_large_word_list() -> None:
    """A large word list (AllSides vocabulary, the system dictionary) stems identically."""
    words: set[str] = set()
    if DICT.exists():
        words.update(DICT.read_text(encoding="utf-8", errors="ignore").split())
    if ALLSIDES.exists():
        for row in read_allsides(3000):
            words.update(row["text"].split())
            words.update(row["title"].split())
    if len(words) < 10000:
        pytest.skip("no large word list: neither /usr/share/dict/words nor ../shared/bench")
    ordered = sorted(words)
    got = run_node({"op": "analyse", "words": ordered})["terms"]
    mismatches = [(w, whoosh_terms(w), g) for w, g in zip(ordered, got, strict=True)
                  if whoosh_terms(w) != g]
    assert len(ordered) > 10000
    assert mismatches[:20] == []


def test_word_characters_and_lowercasing_match_python() -> None:
    """JS's word-character class and toLowerCase agree with Python's on assigned characters."""
    js_word = set(run_node({"op": "word"})["word"])
    assigned = [c for c in range(sys.maxunicode + 1)
                if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
    py_word = {c for c in assigned if re.fullmatch(r"\w", chr(c))}
    differ = sorted(c for c in assigned if (c in py_word) != (c in js_word))
    assert [hex(c) for c in differ] == []
    letters = [chr(c) for c in sorted(py_word)]
    lowered = run_node({"op": "lower", "words": letters})["lower"]
    assert [(ch, ch.lower(), lo) for ch, lo in zip(letters, lowered, strict=True)
            if ch.lower() != lo] == []


def test_ranking_matches_whoosh_on_the_seeds(tmp_path: Path) -> None:
    """For 120 generated queries over the seed story, JS's top 10 equals Whoosh's."""
    texts = seed_texts()
    records = [(f"seed-{n:03d}", t.strip().splitlines()[0][:120], t, f"outlet-{n}")
               for n, t in enumerate(texts)]
    index_dir, out = tmp_path / "whoosh", tmp_path / "static"
    search.build_index(make_site(records, story=True), index_dir, Urls("/"))
    export_to(index_dir, out)
    queries = make_queries(texts, 120, seed=1) + ['"war is hard"', "U.S.-Taliban relationship"]
    got = run_node({"op": "search", "dir": str(out), "queries": queries})["results"]
    for query, result in zip(queries, got, strict=True):
        assert_same_top(query, whoosh_top(index_dir, query), result)


def test_ranking_matches_whoosh_on_allsides(tmp_path: Path) -> None:
    """For 200 generated queries over 1,000 AllSides articles, JS's top 10 equals Whoosh's."""
    if not ALLSIDES.exists():
        pytest.skip(f"benchmark data absent: {ALLSIDES}")
    rows = read_allsides(1000)
    records = [(f"as-{n:04d}", r["title"], r["text"], r["source"] or "unknown")
               for n, r in enumerate(rows)]
    index_dir, out = tmp_path / "whoosh", tmp_path / "static"
    search.build_index(make_site(records, story=False), index_dir, Urls("/"))
    export_to(index_dir, out)
    queries = make_queries([r["text"] for r in rows], 200, seed=2)
    got = run_node({"op": "search", "dir": str(out), "queries": queries})["results"]
    nonempty = 0
    for query, result in zip(queries, got, strict=True):
        expected = whoosh_top(index_dir, query)
        nonempty += expected[0] > 0
        assert_same_top(query, expected, result)
    assert nonempty >= 150
