"""Alignment inside a story: sentence counterparts, classes, word diffs and derivation labels.

How an analysis is made (a pure function of the members' texts and dates):

1. Each article is split into sentences (`text.split_segments`); page furniture is flagged
   as boilerplate (`boilerplate.find_boilerplate`) and left out of every share.
2. Every sentence is compared with the sentences of every other member, and with windows of
   two adjacent sentences (a rewrite often merges two). A sparse TF-IDF product over content
   word stems is the prefilter: only the few best windows by cosine get an exact word-level
   edit distance (rapidfuzz Indel on words coded as characters). A pair is `verbatim` when
   the words agree (Indel similarity >= 0.95), `edited` when most words survive (>= 0.6),
   `paraphrased` when the content words agree though the wording does not (cosine), else
   there is no match. A sentence between two sentences aligned to adjacent places of the
   same article is `paraphrased` to the passage between them when it shares some content
   (a "sandwich": spun copies keep the order of their source).
3. A sentence's counterpart is its best match among the members published no later (all
   other members when dates tie or are missing); no match means `new`.
4. Direction. Dates decide when both are known and differ. Otherwise (ties, no dates) the
   order comes from the text alone, by a rule that does not look at ids or input order:
   copies of one source each drift from it in their own way, so the source is the member
   closest to all the others (highest sum of pairwise similarity, like the centre of a star
   in a phylogeny). Remaining ties go to the member with a wire dateline ("WASHINGTON (AP)
   --"), then to the member less explained by the other (an excerpt is derived from the
   fuller text), then to `chronological_key`.
5. Label: the share D of an article's words whose best match lies in a member preceding it
   (by 4). D >= 0.6 is `wholly_derived`, D >= 0.2 `partially_derived`; below that the
   article is the `origin` when some member takes from it, else `independent`. The likely
   source is the preceding member that supplies most words; `source_share` is that share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC

from site_src import figures, quotes
from site_src.matching import RANK, Doc, Match, match_all, prepare_doc
from site_src.model import (
    BOILERPLATE,
    EDITED,
    INDEPENDENT,
    NEW,
    ORIGIN,
    PARAPHRASED,
    PARTIALLY_DERIVED,
    SEGMENT_CLASSES,
    VERBATIM,
    WHOLLY_DERIVED,
    Article,
    ArticleAnalysis,
    Counterpart,
    Segment,
    StoryAnalysis,
    chronological_key,
)
from site_src.text import word_diff

WHOLLY_MIN = 0.6
PARTIAL_MIN = 0.2
DOMINANT_MIN = 0.4  # a wholly derived article takes at least this share from one source
_WEIGHT = {VERBATIM: 1.0, EDITED: 0.75, PARAPHRASED: 0.5}
_DATELINE = re.compile(r"^[A-Z][A-Z .,'-]{2,40}\((?:AP|Reuters|AFP|UPI)\)\s*[\u2014\u2013-]", re.M)


def analyse_story(members: Sequence[Article]) -> StoryAnalysis:
    """Align the members of a story and return classes, labels, quotations and figures."""
    arts = sorted(members, key=lambda a: (chronological_key(a), a.id))
    if not arts:
        return StoryAnalysis(articles=())
    table: dict[str, str] = {}
    docs = [prepare_doc(a, table, len(arts) > 1) for a in arts]
    best = match_all(docs) if len(docs) > 1 else {}
    sim, cover = measure_pairs(docs, best)
    order = rank_members(docs, sim, cover)
    analyses = []
    for i, _doc in enumerate(docs):
        segments = build_segments(docs, i, best)
        analyses.append(label_article(docs, i, segments, best, order))
    analyses = finish_labels(analyses)
    view = StoryIndex(docs, best)
    docs_index = {id(a): k for k, a in enumerate(arts)}
    ranked = sorted(arts, key=lambda a: _rank_key(a, order[docs_index[id(a)]]))
    return StoryAnalysis(
        articles=tuple(analyses),
        similarity=tuple(tuple(row) for row in sim),
        quotations=quotes.build_quotations(ranked, view),
        figures=figures.build_figures(ranked, view),
    )


def _rank_key(article: Article, place: int) -> tuple:
    """Order members for quotations and figures: dated by date, then the inferred order."""
    when = article.published.astimezone(UTC).isoformat() if article.published else ""
    return (article.published is None, when, place)


class StoryIndex:
    """Lookups over an aligned story for the quotation and figure passes."""

    def __init__(self, docs: list[Doc], best: dict) -> None:
        """Keep the prepared members and their best matches."""
        self.docs = docs
        self.best = best
        self._index = {id(d.article): k for k, d in enumerate(docs)}

    def index(self, article: Article) -> int:
        """Return a member's position in chronological order."""
        return self._index[id(article)]

    def aligned(self, i: int, pos_i: int, j: int, pos_j: int) -> bool:
        """Tell whether the sentences at these offsets of members i and j are aligned."""
        return are_aligned(self.docs, self.best, i, pos_i, j, pos_j)

    def furniture(self, i: int, pos: int) -> bool:
        """Tell whether the offset lies in a boilerplate segment of member i."""
        k = _segment_at(self.docs[i], pos)
        return k is not None and self.docs[i].boiler[k]


def measure_pairs(docs: list[Doc], best: dict) -> tuple[list[list[float]], list[list[float]]]:
    """Return the symmetric similarity matrix and the directed coverage c[i][j]."""
    n = len(docs)
    weighted = [[0.0] * n for _ in range(n)]
    cover = [[0.0] * n for _ in range(n)]
    for (i, k, j), match in best.items():
        weighted[i][j] += _WEIGHT[match.kind] * docs[i].counts[k]
        cover[i][j] += docs[i].counts[k]
    for i, doc in enumerate(docs):
        total = content_words(doc) or 1
        for j in range(n):
            weighted[i][j] /= total
            cover[i][j] = round(cover[i][j] / total, 6)
    sim = [
        [1.0 if i == j else round(max(weighted[i][j], weighted[j][i]), 4) for j in range(n)]
        for i in range(n)
    ]
    return sim, cover


def content_words(doc: Doc) -> int:
    """Count the words of a member outside boilerplate."""
    return sum(c for c, b in zip(doc.counts, doc.boiler, strict=False) if not b)


def rank_members(docs: list[Doc], sim: list[list[float]], cover: list[list[float]]) -> list[int]:
    """Return each member's place in the inferred order used where dates do not decide."""
    n = len(docs)
    keys = []
    for i, doc in enumerate(docs):
        centrality = round(sum(sim[i][j] for j in range(n) if j != i), 3)
        dateline = 1 if _DATELINE.search(doc.article.text[:400]) else 0
        explained = round(sum(cover[i][j] for j in range(n) if j != i), 3)
        keys.append((-centrality, -dateline, explained, chronological_key(doc.article), i))
    order = [0] * n
    for place, key in enumerate(sorted(keys)):
        order[key[-1]] = place
    return order


def precedes(docs: list[Doc], order: list[int], j: int, i: int) -> bool:
    """Tell whether member j comes before member i (dates first, then the inferred order)."""
    dj, di = docs[j].article.published, docs[i].article.published
    if dj is not None and di is not None and dj != di:
        return dj < di
    return order[j] < order[i]


def may_source(docs: list[Doc], j: int, i: int) -> bool:
    """Tell whether member j was published no later than member i (ties and gaps allowed)."""
    dj, di = docs[j].article.published, docs[i].article.published
    return j != i and (dj is None or di is None or dj <= di)


def pick(docs: list[Doc], best: dict, i: int, k: int, allowed) -> Match | None:  # noqa: ANN001
    """Return the best match of sentence k of member i among the allowed members."""
    found = None
    for j in range(len(docs)):
        match = best.get((i, k, j))
        if match is None or not allowed(j):
            continue
        if found is None or (RANK[match.kind], match.score) > (RANK[found.kind], found.score):
            found = match
    return found


def build_segments(docs: list[Doc], i: int, best: dict) -> list[Segment]:
    """Return the classified segments of member i with counterparts and word diffs."""
    doc = docs[i]
    text = doc.article.text
    out = []
    for k, (s, e) in enumerate(doc.spans):
        if doc.boiler[k]:
            out.append(Segment(s, e, BOILERPLATE))
            continue
        match = pick(docs, best, i, k, lambda j: may_source(docs, j, i))
        if match is None:
            out.append(Segment(s, e, NEW))
            continue
        other = docs[match.doc].article
        part = Counterpart(other.id, match.start, match.end, match.score)
        diff = word_diff(other.text[match.start : match.end], text[s:e])
        out.append(Segment(s, e, match.kind, part, diff))
    return out


def label_article(docs, i, segments, best, order) -> ArticleAnalysis:  # noqa: ANN001
    """Compute composition and a provisional derivation label for member i."""
    doc = docs[i]
    totals = dict.fromkeys(SEGMENT_CLASSES, 0)
    taken: dict[int, int] = {}
    derived = 0
    for k, seg in enumerate(segments):
        totals[seg.kind] += doc.counts[k]
        if seg.kind == BOILERPLATE:
            continue
        match = pick(docs, best, i, k, lambda j: precedes(docs, order, j, i))
        if match is not None:
            derived += doc.counts[k]
            taken[match.doc] = taken.get(match.doc, 0) + doc.counts[k]
    total = sum(v for c, v in totals.items() if c != BOILERPLATE)
    composition = tuple(
        (c, round(totals[c] / total, 4) if total else 0.0)
        for c in SEGMENT_CLASSES
        if c != BOILERPLATE
    )
    share = derived / total if total else 0.0
    source, source_share = None, 0.0
    if taken:
        j = min(taken, key=lambda x: (-taken[x], order[x]))
        source, source_share = docs[j].article.id, round(taken[j] / total, 4)
    if share >= WHOLLY_MIN and source_share >= DOMINANT_MIN:
        label = WHOLLY_DERIVED
    elif share >= PARTIAL_MIN:
        label = PARTIALLY_DERIVED
    else:
        label, source, source_share = INDEPENDENT, None, 0.0
    return ArticleAnalysis(
        doc.article.id, tuple(segments), composition, label, source, source_share
    )


def finish_labels(analyses: list[ArticleAnalysis]) -> list[ArticleAnalysis]:
    """Mark as origin each underived member that another member takes from (or a lone one)."""
    sources = {a.likely_source for a in analyses if a.likely_source}
    out = []
    for item in analyses:
        if item.label == INDEPENDENT and (item.article_id in sources or len(analyses) == 1):
            item = ArticleAnalysis(
                item.article_id, item.segments, item.composition, ORIGIN, None, 0.0
            )
        out.append(item)
    return out


def are_aligned(docs: list[Doc], best: dict, i: int, pos_i: int, j: int, pos_j: int) -> bool:
    """Tell whether the sentence at pos_i of member i matches the one at pos_j of member j."""
    k_i, k_j = _segment_at(docs[i], pos_i), _segment_at(docs[j], pos_j)
    if k_i is None or k_j is None:
        return False
    for a, ka, b, kb in ((i, k_i, j, k_j), (j, k_j, i, k_i)):
        match = best.get((a, ka, b))
        if match is not None:
            s, e = docs[b].spans[kb]
            if match.start < e and s < match.end:
                return True
    return False


def _segment_at(doc: Doc, pos: int) -> int | None:
    """Return the index of the segment holding offset pos."""
    lo, hi = 0, len(doc.spans) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        s, e = doc.spans[mid]
        if pos < s:
            hi = mid - 1
        elif pos >= e:
            lo = mid + 1
        else:
            return mid
    return None
