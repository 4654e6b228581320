"""Page furniture inside article text: credits, stamps, prompts and trailing sidebars."""

from __future__ import annotations

import re

from site_src.text import word_spans

_CREDIT = re.compile(
    r"^\(?[^()]{0,60}\b(?:photo|photos|image|images|getty|courtesy|credit|file)\b[^()]{0,60}\)?$",
    re.I,
)
_PAREN_ONLY = re.compile(r"^\([^()]{1,60}\)$")
_FURNITURE_LINE = re.compile(
    r"(?:published|updated|publish|posted|last updated)\b|\d+\s+(?:seconds?|minutes?|hours?"
    r"|days?|weeks?|months?)\s+ago$|read (?:more|next|also)\b|related\b|advertisement\b"
    r"|comments?$",
    re.I,
)
_FURNITURE_WORDS = (
    "follow us",
    "follow our",
    "google news",
    "sign up",
    "subscribe",
    "newsletter",
    "click here",
    "share this",
    "sponsored",
    "be the first to comment",
    "leave a reply",
    "leave a comment",
    "your email address",
    "give your comment",
    "top content",
    "trending",
    "all rights reserved",
    "copyright",
    "\u00a9",
    "contributed to this report",
    "may not be published, broadcast",
    "download the app",
    "download our app",
)
_CLOCK = re.compile(r"\b\d{1,2}:\d{2}\b")


def _furniture_hits(text: str) -> list[int]:
    """Return the offsets of furniture phrases in text, in order."""
    low = text.lower()
    hits: list[int] = []
    for phrase in _FURNITURE_WORDS:
        if phrase in low:
            pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"
            hits.extend(m.start() for m in re.finditer(pattern, low))
    return sorted(hits)


_END_MARKER = re.compile(
    r"^(?:copyright\b|\u00a9|all rights reserved|read more:?$|related (?:articles|stories|news)"
    r"|sponsored|top content|more stories|leave a reply|be the first to comment"
    r"|give your comments|you may also like)",
    re.I,
)
_TRUNCATED = re.compile(r"(?:\w\.\.\.|\w\u2026|\[(?:\u2026|\.\.\.)\])$")
_MAX_FURNITURE_WORDS = 25
_ELLIPSES = ("...", "\u2026", "]")


def find_boilerplate(
    text: str, spans: list[tuple[int, int]], counts: list[int] | None = None
) -> list[bool]:
    """Flag the segments that are page furniture: credits, stamps, prompts, trailing sidebars."""
    flags = [False] * len(spans)
    if counts is None:
        counts = [len(word_spans(text[s:e])) for s, e in spans]
    total = sum(counts) or 1
    seen = 0
    tail = False
    para: list[int] = []
    hits = _furniture_hits(text)[::-1]  # nearest first when popped
    for index, (start, end) in enumerate(spans):
        chunk = text[start:end].strip()
        line_start = start == 0 or text[start - 1] == "\n"
        line_end = end == len(text) or "\n" in text[end - 1 : end]
        if not tail and seen >= 0.3 * total and line_start and _END_MARKER.match(chunk):
            tail = True
        credit = counts[index] <= 8 and bool(_PAREN_ONLY.match(chunk) or _CREDIT.match(chunk))
        while hits and hits[-1] < start:
            hits.pop()
        flags[index] = (
            tail
            or credit
            or (
                counts[index] <= _MAX_FURNITURE_WORDS
                and (
                    bool(hits)
                    and hits[-1] < end
                    or _FURNITURE_LINE.match(chunk) is not None
                    or (":" in chunk and _CLOCK.search(chunk) is not None)
                )
            )
            or (
                line_end and chunk.endswith(_ELLIPSES) and _TRUNCATED.search(chunk[-6:]) is not None
            )
            or (line_start and line_end and counts[index] <= 2 and chunk[-1:] not in '.!?"\u201d')
        )
        para.append(index)
        if credit and line_end:  # a caption: the whole paragraph before its credit
            for k in para:
                flags[k] = True
        if "\n\n" in text[end - 2 : end] or end == len(text) or _blank_line_ends(text, end):
            para = []
        seen += counts[index]
    return flags


def _blank_line_ends(text: str, end: int) -> bool:
    """Tell whether a blank line precedes offset end."""
    tail = text[max(0, end - 8) : end]
    return tail.count("\n") >= 2 and not tail.replace("\n", "").strip()
