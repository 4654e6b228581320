"""Every match of a Whoosh query scored at once over arrays, with the scores Whoosh gives.

Whoosh's collectors step through a query's matcher tree one document at a time in Python;
for the API's whole-result answers (total and facets over every match) that is most of the
time of a query. Here the very matcher tree Whoosh builds for each segment is evaluated over
numpy arrays instead: a term's postings are read block by block and scored with its own
BM25F scorer's statistics (the same floating-point operations, so the same scores); unions
and intersections add their children's scores as Whoosh's matchers do, in the same tree
shape; boosts multiply. A tree holding any other kind of matcher (phrases, ANDNOT, unscored
fields) gives None and the caller asks Whoosh itself (tested equal on generated
queries, with several segments and deleted documents).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from whoosh import index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import (
    ArrayUnionMatcher,
    FilterMatcher,
    IntersectionMatcher,
    InverseMatcher,
    ListMatcher,
    NullMatcherClass,
    UnionMatcher,
    WrappingMatcher,
)
from whoosh.query import Query
from whoosh.scoring import BM25FScorer

LEAF_BUDGET = 4_000_000  # postings kept decoded (ids and weights) across queries
ANSWER_CACHE = 256  # recent answers kept per index generation
FILTER_CACHE = 64  # filters kept as document masks


class Unsupported(Exception):
    """The matcher tree holds a matcher this module does not evaluate."""


class _Segment:
    """One leaf searcher: its docnum offset, size and field lengths as the scorer reads them."""

    def __init__(self, number: int, searcher, offset: int) -> None:
        self.number, self.searcher, self.offset = number, searcher, offset
        self.size = searcher.doc_count_all()
        self.lengths: dict[str, np.ndarray] = {}
        reader = searcher.reader()
        self.is_deleted = reader.is_deleted
        self.deleted = np.zeros(self.size, dtype=bool)
        for docnum in range(self.size) if reader.has_deletions() else ():
            self.deleted[docnum] = reader.is_deleted(docnum)

    def field_lengths(self, field: str) -> np.ndarray:
        """Return every document's length of a field (what BM25FScorer.dfl returns)."""
        lengths = self.lengths.get(field)
        if lengths is None:
            read = self.searcher.doc_field_length
            lengths = np.array([read(d, field, 1) for d in range(self.size)], dtype=np.float64)
            self.lengths[field] = lengths
        return lengths


class ArrayScorer:
    """Scores whole queries over one open Whoosh searcher; decoded postings are kept (LRU)."""

    def __init__(self, searcher, budget: int = LEAF_BUDGET) -> None:
        self.searcher = searcher
        self.segments = [_Segment(n, s, offset)
                         for n, (s, offset) in enumerate(searcher.leaf_searchers())]
        self.size = searcher.doc_count_all()
        self.budget = budget
        self.leaves: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.held = 0

    def forget(self) -> None:
        """Drop the decoded postings."""
        self.leaves.clear()
        self.held = 0

    def score(self, query: Query, allow: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray] | None:
        """Return (docnums, scores) of every match (in `allow` when given), ordered as
        Whoosh's unlimited collector orders them (score descending, then docnum); None when
        the query's matchers are of a kind not evaluated here."""
        context = self.searcher.context()
        docs, scores = [], []
        try:
            for segment in self.segments:
                matcher = query.matcher(segment.searcher, context)
                mask, values = self._evaluate(matcher, segment)
                found = np.flatnonzero(mask)
                docs.append(found + segment.offset)
                scores.append(values[found])
        except Unsupported:
            return None
        docnums, values = np.concatenate(docs), np.concatenate(scores)
        if allow is not None:
            keep = allow[docnums]
            docnums, values = docnums[keep], values[keep]
        order = np.lexsort((docnums, -values))
        return docnums[order], values[order]

    def _evaluate(self, matcher, segment: _Segment, scored: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Return (matched mask, scores: 0.0 where unmatched) of a matcher over a segment's
        documents (scores are not computed when not scored)."""
        kind = type(matcher)
        if kind is UnionMatcher or kind is IntersectionMatcher:
            mask_a, score_a = self._evaluate(matcher.a, segment, scored)
            mask_b, score_b = self._evaluate(matcher.b, segment, scored)
            if kind is UnionMatcher:  # a.score() + b.score() where both match, else the one
                return mask_a | mask_b, score_a + score_b  # x + 0.0 == x
            mask = mask_a & mask_b
            return mask, np.where(mask, score_a + score_b, 0.0)
        if kind is ArrayUnionMatcher:  # a[doc] += score * boost, submatcher by submatcher
            if matcher._doccount != segment.size:
                raise Unsupported("partial ArrayUnionMatcher")
            total = np.zeros(segment.size)  # unscored: a[doc] = 1
            for sub in matcher._submatchers:
                mask, values = self._evaluate(sub, segment, scored and matcher._scored)
                if matcher._scored:
                    total += values * matcher._boost
                else:
                    total[mask] = 1.0
            return total > 0, total
        if kind is InverseMatcher:
            if matcher.missing != segment.is_deleted:
                raise Unsupported("InverseMatcher missing")
            mask, _ = self._evaluate(matcher.child, segment, False)
            mask = ~mask & ~segment.deleted
            return mask, np.where(mask, matcher._weight, 0.0)
        if kind is WrappingMatcher:
            mask, values = self._evaluate(matcher.child, segment, scored)
            return mask, values * matcher.boost if matcher.boost != 1.0 else values
        if kind is FilterMatcher:
            mask, values = self._evaluate(matcher.child, segment, scored)
            listed = np.zeros(segment.size, dtype=bool)
            listed[np.fromiter(matcher._ids, dtype=np.int64, count=len(matcher._ids))] = True
            mask = mask & (~listed if matcher._exclude else listed)
            values = np.where(mask, values, 0.0)
            return mask, values * matcher.boost if matcher.boost != 1.0 else values
        if kind is NullMatcherClass:
            return np.zeros(segment.size, dtype=bool), np.zeros(segment.size)
        if kind is W3LeafMatcher or kind is ListMatcher:
            return self._leaf(matcher, segment, scored)
        raise Unsupported(kind.__name__)

    def _leaf(self, matcher, segment: _Segment, scored: bool) -> tuple[np.ndarray, np.ndarray]:
        """Return (mask, BM25F scores) of one term's postings in a segment."""
        scorer = matcher.scorer if type(matcher) is W3LeafMatcher else matcher._scorer
        ids, weights = self._postings(matcher, segment)
        mask = np.zeros(segment.size, dtype=bool)
        mask[ids] = True
        if not scored:
            return mask, np.zeros(segment.size)
        if type(scorer) is not BM25FScorer:
            raise Unsupported(type(scorer).__name__)
        field = matcher._term[0]
        lengths = segment.field_lengths(field)[ids]
        idf, avgfl, big_b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        # whoosh.scoring.bm25, operation for operation, on every posting at once
        scores = idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - big_b) + big_b * lengths
                                                                / avgfl)))
        values = np.zeros(segment.size)
        values[ids] = scores
        return mask, values

    def _postings(self, matcher, segment: _Segment) -> tuple[np.ndarray, np.ndarray]:
        """Return a term's docnums and weights in a segment (decoded once, then kept)."""
        key = (segment.number, matcher._term)
        found = self.leaves.get(key)
        if found is not None:
            self.leaves.move_to_end(key)
            return found
        found = _read_list(matcher) if type(matcher) is ListMatcher else _read_blocks(matcher)
        self.leaves[key] = found
        self.held += len(found[0])
        while self.held > self.budget and len(self.leaves) > 1:
            _, (old, _) = self.leaves.popitem(last=False)
            self.held -= len(old)
        return found


def _read_list(matcher: ListMatcher) -> tuple[np.ndarray, np.ndarray]:
    """Return the docnums and weights of inlined postings (ListMatcher.weight's rules)."""
    ids = np.asarray(matcher._ids, dtype=np.int64)
    if matcher._all_weights:
        weights = np.full(len(ids), float(matcher._all_weights))
    elif matcher._weights:
        weights = np.asarray(matcher._weights, dtype=np.float64)
    else:
        weights = np.ones(len(ids))
    return ids, weights


def _read_blocks(matcher: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    """Return the docnums and weights of a posting list, block by block from its start
    (W3LeafMatcher._read_ids and _read_weights' rules, without decoding each posting)."""
    if matcher._byteids:
        raise Unsupported("byte ids")
    matcher.reset()
    ids, weights = [], []
    while True:
        matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        ids.append(np.cumsum(np.asarray(raw_ids, dtype=np.int64)))  # delta_decode
        if raw_weights is None:
            weights.append(np.ones(count))
        elif isinstance(raw_weights, float):
            weights.append(np.full(count, np.float32(raw_weights), dtype=np.float64))
        else:
            weights.append(np.asarray(raw_weights, dtype=np.float64))
        if matcher._lastblock:
            break
        matcher._next_block()
    return np.concatenate(ids), np.concatenate(weights)


class SearchState:
    """An open searcher of one index generation with its array scorer, facet columns as
    arrays, filters as document masks and recent answers."""

    def __init__(self, ix: index.Index) -> None:
        self.ix = ix
        self.searcher = ix.searcher()
        self.scorer = ArrayScorer(self.searcher)
        self.answers: OrderedDict[tuple, object] = OrderedDict()
        self.filters: OrderedDict[Query, np.ndarray] = OrderedDict()
        self.columns: dict[str, tuple[list[str], np.ndarray]] = {}
        reader = self.searcher.reader()
        for name in ("source", "story"):
            values = list(reader.column_reader(name))
            keys = sorted(set(values))
            code = {k: i for i, k in enumerate(keys)}
            self.columns[name] = (keys, np.array([code[v] for v in values], dtype=np.int64))

    def facet(self, name: str, docnums: np.ndarray) -> tuple[tuple[str, int], ...]:
        """Return (value, count) of a column over the matched documents, most first."""
        keys, codes = self.columns[name]
        counts = np.bincount(codes[docnums], minlength=len(keys)) if len(docnums) else []
        pairs = ((keys[i], int(n)) for i, n in enumerate(counts) if n and keys[i])
        return tuple(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))

    def allowed(self, limiter: Query) -> np.ndarray:
        """Return the documents a filter query lets through (Whoosh's filter set), as a mask."""
        mask = self.filters.get(limiter)
        if mask is None:
            mask = np.zeros(self.scorer.size, dtype=bool)
            mask[np.fromiter(self.searcher.docs_for_query(limiter), dtype=np.int64)] = True
            self.filters[limiter] = mask
            if len(self.filters) > FILTER_CACHE:
                self.filters.popitem(last=False)
        return mask

    def remember(self, key: tuple, answer: object) -> None:
        """Keep an answer, forgetting the oldest beyond ANSWER_CACHE."""
        self.answers[key] = answer
        if len(self.answers) > ANSWER_CACHE:
            self.answers.popitem(last=False)

    def forget(self) -> None:
        """Drop cached answers, filter masks and decoded postings (the searcher stays open)."""
        self.answers.clear()
        self.filters.clear()
        self.scorer.forget()
