"""Candidate search inside a story: the best matching window of every sentence in every member.

Sentences are compared with windows of one or two adjacent sentences of each other member: a
sparse TF-IDF product over content word stems picks a few windows, which then get an exact
word-level edit distance (rapidfuzz Indel on words coded as characters).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from rapidfuzz.distance import Indel
from scipy import sparse

from site_src.boilerplate import find_boilerplate
from site_src.model import EDITED, NEW, PARAPHRASED, VERBATIM, Article
from site_src.text import content_stems, encode_units, split_segments, words

VERBATIM_MIN = 0.95  # Indel similarity of the words
EDITED_MIN = 0.6
PARAPHRASE_COS = 0.35  # TF-IDF cosine of content stems
PARAPHRASE_MIX = (0.35, 0.25)  # (Indel, cosine) both at least
SANDWICH_COS = 0.08
SANDWICH_SHARED = 2
MIN_SHARED = 3  # content stems a paraphrase shares with its counterpart
PREFILTER_COS = 0.15
TOP_WINDOWS = 3
RANK = {VERBATIM: 3, EDITED: 2, PARAPHRASED: 1}


@dataclass(frozen=True)
class Match:
    """The best match of one sentence within one other member."""

    kind: str
    score: float
    doc: int
    start: int
    end: int


@dataclass
class Doc:
    """One member prepared for alignment."""

    article: Article
    spans: list[tuple[int, int]]
    boiler: list[bool]
    counts: list[int]
    codes: list[str]
    stems: list[frozenset[str]]
    units: list[tuple[int, int]] = field(default_factory=list)  # target windows (seg indices)
    single: dict[int, list[int]] = field(default_factory=dict)  # segment -> its one-unit window


def prepare_doc(article: Article, table: dict[str, str], full: bool = True) -> Doc:
    """Split an article into sentences, flag furniture and (if full) code its words."""
    text = article.text
    spans = split_segments(text)
    toks = [words(text[s:e]) for s, e in spans]
    counts = [len(t) for t in toks]
    codes = [encode_units(t, table) for t in toks] if full else []
    stems = [frozenset(content_stems(t)) for t in toks] if full else []
    doc = Doc(article, spans, find_boilerplate(text, spans, counts), counts, codes, stems)
    live = [k for k in range(len(spans)) if not doc.boiler[k] and doc.counts[k]]
    pairs = zip(live, live[1:], strict=False)
    doc.units = [(k, k) for k in live] + [(a, b) for a, b in pairs if b == a + 1]
    doc.single = {k: [u] for u, k in enumerate(live)}
    return doc


def build_matrix(docs: list[Doc]) -> tuple[list[sparse.csr_matrix], list[sparse.csr_matrix]]:
    """Return per member the TF-IDF rows of its sentences and of its target windows."""
    vocab: dict[str, int] = {}
    seg_terms = [
        [[vocab.setdefault(w, len(vocab)) for w in sorted(st)] for st in d.stems] for d in docs
    ]
    df = np.zeros(max(len(vocab), 1))
    nseg = 0
    for doc, rows in zip(docs, seg_terms, strict=True):
        for k, row in enumerate(rows):
            if not doc.boiler[k]:
                nseg += 1
                df[row] += 1
    idf = np.log((nseg + 1) / (df + 1)) + 1.0
    queries, targets = [], []
    for doc, rows in zip(docs, seg_terms, strict=True):
        queries.append(_tfidf(rows, idf, len(vocab)))
        units = [sorted(set(rows[a]) | set(rows[b])) for a, b in doc.units]
        targets.append(_tfidf(units, idf, len(vocab)))
    return queries, targets


def _tfidf(rows: list[list[int]], idf: np.ndarray, width: int) -> sparse.csr_matrix:
    """Build L2-normalised binary TF-IDF rows from lists of distinct term ids."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(indptr[-1]))
    data = idf[indices]
    owner = np.repeat(np.arange(len(rows)), lengths)
    norms = np.sqrt(np.bincount(owner, weights=data * data, minlength=len(rows)))
    norms[norms == 0] = 1.0
    return sparse.csr_matrix((data * (1.0 / norms)[owner], indices, indptr),
                             shape=(len(rows), max(width, 1)))


def classify(indel: float, cos: float) -> str:
    """Return the class of a sentence pair from word Indel similarity and content cosine."""
    if indel >= VERBATIM_MIN:
        return VERBATIM
    if indel >= EDITED_MIN:
        return EDITED
    if cos >= PARAPHRASE_COS or (indel >= PARAPHRASE_MIX[0] and cos >= PARAPHRASE_MIX[1]):
        return PARAPHRASED
    return NEW


def match_all(docs: list[Doc]) -> dict[tuple[int, int, int], Match]:
    """Find, for each sentence and each other member, the best matching window there.

    One sparse cosine product per member against every member's windows at once (stacked),
    so a story of n members costs n products, not n squared; a very long member costs what
    its shared words cost, not sentences times windows.
    """
    queries, targets = build_matrix(docs)
    offsets = np.cumsum([0] + [t.shape[0] for t in targets])
    windows = sparse.csr_matrix(sparse.vstack(targets, format="csr").T)
    best: dict[tuple[int, int, int], Match] = {}
    for i, doc in enumerate(docs):
        live = [k for k in range(len(doc.spans)) if not doc.boiler[k] and doc.counts[k]]
        if not live:
            continue
        block = sparse.csr_matrix(queries[i][live] @ windows)
        block.data[block.data < PREFILTER_COS] = 0.0  # windows below it are never used
        block.eliminate_zeros()
        rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        member = np.searchsorted(offsets, block.indices, side="right") - 1
        order = np.lexsort((block.indices, rows, member))  # by member, sentence, window
        rows, member = rows[order], member[order]
        cols = (block.indices[order] - offsets[member]).tolist()
        vals = block.data[order].tolist()
        cuts = np.flatnonzero((np.diff(rows) != 0) | (np.diff(member) != 0)) + 1
        bounds = [0, *cuts.tolist(), len(cols)]
        for lo, hi in zip(bounds, bounds[1:], strict=False) if cols else ():
            j = int(member[lo])
            if j == i:
                continue
            k = live[int(rows[lo])]
            found = _best_window(doc, k, docs[j], j, cols[lo:hi], vals[lo:hi])
            if found is not None:
                best[(i, k, j)] = found
    starts = [sorted((d.spans[a][0], u) for u, (a, _b) in enumerate(d.units)) for d in docs]
    for i in range(len(docs)):
        _fill_sandwiches(docs, i, best, queries, targets, starts)
    return best


def _best_window(
    doc: Doc, k: int, other: Doc, j: int, cols: list[int], vals: list[float]
) -> Match | None:
    """Score the best few windows of another member for one sentence by exact word Indel.

    cols/vals: the windows with a cosine of at least PREFILTER_COS.
    """
    cosine = dict(zip(cols, vals, strict=True))
    top = sorted(cosine, key=lambda u: (-cosine[u], u))[:TOP_WINDOWS]
    found: Match | None = None
    key_best: tuple[int, float] = (0, 0.0)
    chosen = set(top)
    for u in top:
        a, b = other.units[u]
        if a != b:
            chosen.update(other.single[a], other.single[b])
    for u in sorted(chosen):
        cos = cosine.get(u, 0.0)
        if cos < PREFILTER_COS:
            continue
        a, b = other.units[u]
        code = other.codes[a] + (other.codes[b] if b != a else "")
        indel = Indel.normalized_similarity(doc.codes[k], code)
        kind = classify(indel, cos)
        if kind == PARAPHRASED and not _shares_enough(
            doc.stems[k], other.stems[a] | other.stems[b]
        ):
            kind = NEW
        if kind == NEW:
            continue
        score = round(0.5 * indel + 0.5 * cos, 6)
        key = (RANK[kind], score)
        if key > key_best:
            key_best = key
            found = Match(kind, score, j, other.spans[a][0], other.spans[b][1])
    return found


def _shares_enough(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Tell whether two passages share enough content words to be paraphrases."""
    return len(mine & theirs) >= min(MIN_SHARED, len(mine), len(theirs)) > 0


def _fill_sandwiches(docs, i, best, queries, targets, starts) -> None:  # noqa: ANN001
    """Align unmatched sentences lying between two sentences aligned to the same passage."""
    doc = docs[i]
    live = [k for k in range(len(doc.spans)) if not doc.boiler[k] and doc.counts[k]]
    for pos in range(1, len(live) - 1):
        k, prev_k, next_k = live[pos], live[pos - 1], live[pos + 1]
        for j, other in enumerate(docs):
            if j == i or (i, k, j) in best:
                continue
            before, after = best.get((i, prev_k, j)), best.get((i, next_k, j))
            if before is None or after is None or not before.end <= after.start:
                continue
            units = _units_between(other, before.end, after.start, starts[j])
            if not units or len(units) > 5:
                continue
            cos = (queries[i][[k]] @ targets[j][units].T).toarray()[0]
            u_best = max(range(len(units)), key=lambda x: (cos[x], -x))
            if cos[u_best] < SANDWICH_COS:
                continue
            a, b = other.units[units[u_best]]
            if len(doc.stems[k] & (other.stems[a] | other.stems[b])) < SANDWICH_SHARED:
                continue
            code = other.codes[a] + (other.codes[b] if b != a else "")
            indel = Indel.normalized_similarity(doc.codes[k], code)
            score = round(0.5 * indel + 0.5 * float(cos[u_best]), 6)
            best[(i, k, j)] = Match(PARAPHRASED, score, j, other.spans[a][0], other.spans[b][1])


def _units_between(other: Doc, lo: int, hi: int, starts: list[tuple[int, int]]) -> list[int]:
    """Return the windows of other lying within [lo, hi), in window order ([] if over 5).

    starts is (start offset, window) sorted. At most three windows start in the range but end
    past hi, so a range holding more than 8 starts has more than 5 windows: callers skip it.
    """
    first = bisect.bisect_left(starts, (lo, -1))
    last = bisect.bisect_left(starts, (hi + 1, -1))
    if last - first > 8:
        return []
    found = [u for _s, u in starts[first:last] if other.spans[other.units[u][1]][1] <= hi]
    return sorted(found)
