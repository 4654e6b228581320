"""Quotations: quoted spans, their speakers, and how each story member renders them.

A quotation is grouped across members greedily, members taken in story order (earliest
first): a span joins the quotation it matches best (same words, one inside the other, a close
word-level edit, or -- for a reworded quote -- sentences aligned to each other with a
compatible speaker), else it starts a new one. Each member then renders the quotation as
`exact` (all its words, maybe more), `shortened` (only some of its words, in order),
`altered` (other words; a word diff is given), `missing`, or `only_here` when no other member
quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz.distance import Indel

from site_src.model import (
    QUOTE_ALTERED,
    QUOTE_EXACT,
    QUOTE_MISSING,
    QUOTE_ONLY_HERE,
    QUOTE_SHORTENED,
    Article,
    Quotation,
    QuoteRendering,
)
from site_src.text import content_stems, encode_units, split_words, word_diff, words

MATCH_MIN = 0.5
_SPEECH = (
    r"(?:said|says|say|added|adds|asked|declared|stated|remarked|explained|told|wrote|noted"
    r"|continued|insisted|argued|replied|recalled|warned|tweeted|claimed|stressed|called"
    r"|calling|described|describing|vowed|urged|concluded|admitted)"
)
_NAME = r"(?:[A-Z][\w.\u2019'-]*\s+){0,4}[A-Z][\w\u2019'-]*"
_AFTER_VERB = re.compile(r"\s*[,.]?\s*" + _SPEECH + r"\s+(" + _NAME + r")")
_AFTER_NAME = re.compile(r"\s*[,.]?\s*(" + _NAME + r")\s+" + _SPEECH + r"\b")
_PRONOUN = re.compile(r"\b(?:he|she|He|She)\s+(?:\w+ly\s+)?" + _SPEECH + r"\b")
_BEFORE = re.compile(r"(" + _NAME + r")\s+(?:\w+ly\s+)?" + _SPEECH + r"\b[^.!?\"\u201c]{0,60}$")
_UNNAMED = re.compile(r"[\"\u201d\u2019]?\s*[,.]?\s*(?:[\w\u2019'-]+\s+){0,4}" + _SPEECH + r"\b")
_ACCORDING = re.compile(r"according to (" + _NAME + r")")
_ACCORDING_AFTER = re.compile(r"\s*[,.]?\s*according to (" + _NAME + r")")
_SUBJECT = re.compile(r"(" + _NAME + r")[\s,]")
_SENTENCE_END = re.compile(r"[.!?][\"\u201d\u2019]?\s+(?=[A-Z\"\u201c])")
_ABBREV_END = re.compile(r"\b(?:[A-Z]|Gen|Sen|Rep|Dr|Mr|Mrs|Ms|Lt|Col|Gov|St)\.$")
_DATELINE = re.compile(r"^[A-Z][A-Z .,'-]{2,40}\(\w+\)\s*[\u2014\u2013-]+\s*")
_NOT_NAMES = frozenset(
    split_words(
        "The A An But And In On At As After Before When While If Although Though However Also "
        "It This That These Those There Their They We I You He She His Her Its Our Asked "
        "Speaking From For With Without During Regarding Meanwhile Yet Still Then Now Some Many "
        "Most It’s It's That’s That's What Who Why How Yes No"
    )
)
_TITLES = frozenset(
    split_words(
        "President Gen. General Army Marine Defense Secretary Sen. Senator Rep. Dr. Mr. Mrs. "
        "Ms. U.S. US Joint Chiefs Chairman Lt. Col. Adm. Admiral Gov. Governor Prime Minister "
        "Vice Deputy Chief Major Staff of State"
    )
)


class StoryView(Protocol):
    """What quotations need from the alignment of a story."""

    def index(self, article: Article) -> int: ...  # noqa: D102

    def aligned(self, i: int, pos_i: int, j: int, pos_j: int) -> bool: ...  # noqa: D102

    def furniture(self, i: int, pos: int) -> bool: ...  # noqa: D102


@dataclass(frozen=True)
class QuoteSpan:
    """A quoted passage in one text: inner offsets, text and speaker (if the text says)."""

    start: int
    end: int
    text: str
    speaker: str | None


def extract_quotes(text: str) -> list[QuoteSpan]:
    """Return every quoted span of text with its speaker where the text names one."""
    spans = sorted(_find_pairs(text))
    out: list[QuoteSpan] = []
    last: str | None = None
    known: set[str] = set()
    raw = []
    for start, end, close_end, open_at in spans:
        speaker = _speaker(text, open_at, close_end, last)
        if speaker is not None:
            last = speaker
            known.add(speaker)
        raw.append((start, end, speaker, open_at))
    prev_line, prev_speaker = -1, None
    for start, end, speaker, open_at in raw:
        line = text.rfind("\n", 0, open_at)
        unnamed = _UNNAMED.match(text, min(end + 1, len(text))) is not None
        if speaker is None and line == prev_line and not unnamed:
            speaker = prev_speaker
        if speaker is None and not unnamed:
            speaker = _mentioned(text, open_at, known)
        prev_line, prev_speaker = line, speaker
        out.append(QuoteSpan(start, end, text[start:end], speaker))
    return out


def _find_pairs(text: str) -> list[tuple[int, int, int, int]]:
    """Return (inner start, inner end, closing mark end, opening mark) of quoted passages."""
    found = []
    for para in re.finditer(r"[^\n]+", text):
        base, chunk = para.start(), para.group()
        pos = 0
        while True:
            open_at = chunk.find("\u201c", pos)
            if open_at < 0:
                break
            close = chunk.find("\u201d", open_at + 1)
            end = close if close >= 0 else len(chunk)
            found.append(
                (base + open_at + 1, base + end, base + min(end + 1, len(chunk)), base + open_at)
            )
            pos = end + 1
        marks = [m.start() for m in re.finditer('"', chunk)]
        for a, b in zip(marks[::2], marks[1::2], strict=False):
            found.append((base + a + 1, base + b, base + b + 1, base + a))
        inside = [(s - base, e - base) for s, e, _, _ in found if base <= s <= base + len(chunk)]
        for m in re.finditer(r"\u2018([^\u2018\u2019]{2,200}?)\u2019(?![A-Za-z])", chunk):
            if not any(s <= m.start() < e for s, e in inside):
                found.append((base + m.start(1), base + m.end(1), base + m.end(), base + m.start()))
    cleaned = []
    for start, end, close_end, open_at in found:
        inner = text[start:end]
        lead = len(inner) - len(inner.lstrip())
        trail = len(inner) - len(inner.rstrip())
        if words(inner):
            cleaned.append((start + lead, end - trail, close_end, open_at))
    return cleaned


def _speaker(text: str, open_at: int, close_end: int, last: str | None) -> str | None:
    """Find who says a quotation from the words around it (patterns, pronouns, according to)."""
    line_end = text.find("\n", close_end)
    after = text[close_end : line_end if line_end >= 0 else len(text)][:80]
    for pattern in (_AFTER_VERB, _AFTER_NAME):
        match = pattern.match(after)
        if match and _surname(match.group(1)):
            return _surname(match.group(1))
    if re.match(r"\s*[,.]?\s*(?:he|she)\s+" + _SPEECH, after):
        return last
    sentence = _sentence_before(text, open_at)
    match = _BEFORE.search(sentence)
    if match and _surname(match.group(1)):
        return _surname(match.group(1))
    if _PRONOUN.search(sentence):
        return last
    match = _ACCORDING.search(sentence) or _ACCORDING_AFTER.match(after)
    if match and _surname(match.group(1)):
        return _surname(match.group(1))
    if re.search(r"\b" + _SPEECH + r"\b", sentence):
        match = _SUBJECT.match(sentence)
        if match and _surname(match.group(1)):
            return _surname(match.group(1))
    return None


def _sentence_before(text: str, pos: int) -> str:
    """Return the text from the start of the sentence holding pos up to pos."""
    start = text.rfind("\n", 0, pos) + 1
    for match in _SENTENCE_END.finditer(text, start, pos):
        if not _ABBREV_END.search(text, start, match.start() + 1):
            start = match.end()
    return _DATELINE.sub("", text[start:pos])


def _surname(name: str) -> str | None:
    """Return the last name of a captured name, or None when it is no person's name."""
    parts = [p for p in name.split() if p not in _TITLES]
    if not parts or parts[0] in _NOT_NAMES or parts[-1] in _NOT_NAMES:
        return None
    last = parts[-1].rstrip(".,\u2019'")
    return last if last[:1].isupper() and len(last) > 1 else None


def _mentioned(text: str, open_at: int, known: set[str]) -> str | None:
    """Return the known speaker named last in the sentence before a quote, if it speaks."""
    sentence = _sentence_before(text, open_at)
    if not re.search(r"\b" + _SPEECH + r"\b", sentence):
        return None
    best, where = None, -1
    for name in sorted(known):
        pos = sentence.rfind(name)
        if pos > where:
            best, where = name, pos
    return best


@dataclass(frozen=True)
class _Said:
    """A quoted span of one member, with its words coded for fast comparison."""

    member: int
    span: QuoteSpan
    words: tuple[str, ...]
    code: str
    stems: frozenset[str]


def build_quotations(ranked: Sequence[Article], view: StoryView) -> tuple[Quotation, ...]:
    """Group the quotations of a story's members and record how each member renders them."""
    clusters: list[list[_Said]] = []
    holders: list[set[int]] = []
    by_stem: dict[str, set[int]] = {}
    table: dict[str, str] = {}
    seen: set[tuple[int, str]] = set()
    for art in ranked:
        i = view.index(art)
        for span in extract_quotes(art.text):
            if view.furniture(i, span.start):
                continue
            toks = tuple(words(span.text))
            said = _Said(i, span, toks, encode_units(toks, table), frozenset(content_stems(toks)))
            candidates = sorted({c for w in said.stems for c in by_stem.get(w, ())})
            best, best_score = None, MATCH_MIN
            for c in candidates:
                if i in holders[c]:
                    continue
                score = max(_match(view, said, other) for other in clusters[c])
                if score > best_score:
                    best, best_score = c, score
            if best is None and (i, said.code) in seen:
                continue
            seen.add((i, said.code))
            if best is None:
                best = len(clusters)
                clusters.append([])
                holders.append(set())
            clusters[best].append(said)
            holders[best].add(i)
            for w in said.stems:
                by_stem.setdefault(w, set()).add(best)
    return tuple(_quotation(ranked, view, [(x.member, x.span) for x in c]) for c in clusters)


def _match(view: StoryView, mine: _Said, theirs: _Said) -> float:
    """Score how likely two quoted spans of two members are the same quotation."""
    if mine.code == theirs.code:
        return 1.0
    short, long_ = sorted((mine.code, theirs.code), key=len)
    if len(short) < 3:
        return 0.0
    if short in long_:
        return 0.9
    indel = Indel.normalized_similarity(mine.code, theirs.code)
    if indel >= 0.6:
        return indel
    q, o = mine.span, theirs.span
    speakers_ok = q.speaker is None or o.speaker is None or q.speaker == o.speaker
    if speakers_ok and view.aligned(mine.member, q.start, theirs.member, o.start):
        return 0.5 + 0.3 * indel + 0.01
    return 0.0


def _contains(long_: Sequence[str], short: Sequence[str]) -> bool:
    """Tell whether short occurs as a contiguous run inside long_."""
    n = len(short)
    return any(long_[k : k + n] == short for k in range(len(long_) - n + 1))


def _quotation(ranked, view, cluster) -> Quotation:  # noqa: ANN001
    """Build the Quotation of a cluster: canonical text and every member's rendering."""
    first_i, first = cluster[0]
    speaker = next((s.speaker for _, s in cluster if s.speaker), None)
    by_member = dict(cluster)
    renderings = []
    canon_words = words(first.text)
    for art in sorted(ranked, key=view.index):
        i = view.index(art)
        span = by_member.get(i)
        if span is None:
            renderings.append(QuoteRendering(art.id, QUOTE_MISSING))
            continue
        status, diff = _status(first.text, canon_words, span.text, len(cluster) == 1)
        if i == first_i:
            diff = ()
        renderings.append(QuoteRendering(art.id, status, span.text, span.start, span.end, diff))
    source = ranked[[view.index(a) for a in ranked].index(first_i)]
    return Quotation(first.text, speaker, source.id, first.start, first.end, tuple(renderings))


def _status(canon: str, canon_words: list[str], text: str, alone: bool) -> tuple[str, tuple]:
    """Return the rendering status of text against the canonical quotation, with a diff."""
    if alone:
        return QUOTE_ONLY_HERE, ()
    mine = words(text)
    if mine == canon_words or _contains(mine, canon_words):
        return QUOTE_EXACT, ()
    table: dict[str, str] = {}
    a, b = encode_units(canon_words, table), encode_units(mine, table)
    lcs = (len(a) + len(b) - Indel.distance(a, b)) // 2
    if lcs == len(mine) and len(mine) < len(canon_words):
        return QUOTE_SHORTENED, word_diff(canon, text)
    return QUOTE_ALTERED, word_diff(canon, text)
