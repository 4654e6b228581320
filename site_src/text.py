"""Text handling: plain text from Markdown, paragraphs, sentences and tokens."""

from __future__ import annotations

import functools
import re
import unicodedata

from markdown_it import MarkdownIt
from rapidfuzz.distance import Levenshtein

from site_src.model import DiffOp

_MD = MarkdownIt("commonmark", {"html": False})


def plain_text(markdown: str) -> str:
    """Return the readable text of a Markdown body: blocks joined by blank lines."""
    blocks: list[str] = []
    for token in _MD.parse(markdown):
        if token.type == "inline":
            parts: list[str] = []
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
            block = "".join(parts).strip()
            if block:
                blocks.append(block)
        elif token.type in ("code_block", "fence"):
            block = token.content.strip()
            if block:
                blocks.append(block)
    return "\n\n".join(blocks)


def split_words(words_: str) -> list[str]:
    """Split a space-separated word list."""
    return words_.split()


# --- sentences -------------------------------------------------------------------------------

# Titles and other abbreviations that are (almost) never the end of a sentence.
_TITLES = frozenset(
    split_words(
        "mr mrs ms dr prof gen lt col sgt capt cmdr adm maj brig cpl pvt sen rep gov atty supt "
        "det insp rev fr sr jr st mt ft messrs mmes hon pres amb gens no nos vs v etc al approx "
        "dept est fig inc corp ltd co bros univ ave blvd rd"
    )
)
# Abbreviations that may end a sentence (months, states, initialisms): break only when the
# next word is a usual sentence opener.
_SOFT = frozenset(
    split_words(
        "jan feb mar apr jun jul aug sep sept oct nov dec a.m p.m u.s u.n u.k e.u d.c ala ariz "
        "ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont neb "
        "nev okla ore pa tenn tex va vt wash wis wyo"
    )
)
_OPENERS = frozenset(
    split_words(
        "the a an he she it they we i you this that these those his her its their our there but "
        "and so yet in on at as after before when while if although though however also "
        "meanwhile still then now some many most both all no not one two three what who why how "
        "where mr mrs ms dr"
    )
)

# A candidate boundary: sentence punctuation, optional closing quotes/brackets, whitespace,
# then something that can open a sentence. Newlines always end a segment.
_BOUNDARY = re.compile(
    r"(?P<punct>[.!?\u2026]+)(?P<close>[\"'\u201d\u2019)\]]*)(?P<space>[ \t\u00a0]+)"
    r"(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u00de])"
    r"|(?P<newline>[ \t\u00a0]*\n\s*)"
)
_LAST_WORD = re.compile(r"(?:^|(?<=[\s(\[\u201c\"]))([A-Za-z][A-Za-z.]*)$")
_NEXT_WORD = re.compile(r"[\"'\u201c\u2018(\[]?([A-Za-z]+)")
_DATELINE_TAIL = re.compile(r"\((?:AP|Reuters|AFP|CNN|UPI|dpa|Xinhua)\)")
_SPEECH = (
    r"(?:said|says|added|asked|declared|stated|remarked|explained|told|wrote|noted|continued"
    r"|insisted|argued|replied|recalled|warned|tweeted)\b"
)
_ATTRIBUTION = re.compile(
    r"(?:[A-Z][\w.\u2019'-]*\s+){1,4}" + _SPEECH + r"|(?:he|she|they|it|we|I)\s+" + _SPEECH
)
_QUOTE_CHARS = re.compile(r"[\"\u201c\u201d]|\n\s*\n")
_MAX_QUOTE = 600  # longer quoted passages may be split inside


def split_segments(text: str) -> list[tuple[int, int]]:
    """Split text into sentence spans that partition it exactly, never crossing a line break."""
    if not text:
        return []
    quoted = _quoted_ranges(text)
    cuts: list[int] = []
    qi = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if end >= len(text):
            break
        if match.group("newline") is None:
            at = match.start("space")
            while qi < len(quoted) and quoted[qi][1] <= at:
                qi += 1
            if qi < len(quoted) and quoted[qi][0] < at:
                continue
            if not _is_sentence_end(text, match):
                continue
        if not cuts or cuts[-1] != end:
            cuts.append(end)
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        if cut > start:
            spans.append((start, cut))
            start = cut
    spans.append((start, len(text)))
    return spans


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    """Tell whether a candidate boundary ends a sentence (abbreviations, initials, datelines)."""
    punct = match.group("punct")
    close = match.group("close")
    if punct[-1] in "?!" and close and close[-1] in "\"\u201d\u2019'":
        return _ATTRIBUTION.match(text, match.end()) is None
    if punct != "." or close:
        return True
    before = text[max(0, match.start() - 30) : match.start()]
    last = _LAST_WORD.search(before)
    if last is None:
        return True
    word = last.group(1).lower().rstrip(".")
    following = text[match.end() : match.end() + 40]
    if _DATELINE_TAIL.match(following):
        return False
    if word in _TITLES:
        return False
    if word in _SOFT or "." in word or (len(word) == 1 and word.isalpha()):
        nxt = _NEXT_WORD.match(following)
        return nxt is not None and nxt.group(1).lower() in _OPENERS
    return True


def _quoted_ranges(text: str) -> list[tuple[int, int]]:
    """Return (open, close) offsets of double-quoted passages closed in the same paragraph."""
    ranges: list[tuple[int, int]] = []
    open_at = -1
    straight_open = -1
    for match in _QUOTE_CHARS.finditer(text):
        char = match.group()
        pos = match.start()
        if char == "\u201c":
            open_at = pos
        elif char == "\u201d":
            if open_at >= 0:
                if pos - open_at <= _MAX_QUOTE:
                    ranges.append((open_at, pos))
                open_at = -1
        elif char == '"':
            if straight_open < 0:
                straight_open = pos
            else:
                if pos - straight_open <= _MAX_QUOTE:
                    ranges.append((straight_open, pos))
                straight_open = -1
        else:  # paragraph break: unclosed quotes are forgotten
            open_at = straight_open = -1
    ranges.sort()
    return ranges


# --- tokens ----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
_UNIT = re.compile(r"\w+(?:['\u2019]\w+)*\s*|[^\w\s]\s*|\s+")
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2026": "...",
    }
)
STOPWORDS = frozenset(
    split_words(
        "a an the and or but if of to in on at by for with from as is are was were be been "
        "being it its it's this that these those he she they them his her their we our you your "
        "i me my not no nor so than too very can will would should could may might must do does "
        "did done has have had having said says say told also into over under about after "
        "before while when where which who whom whose what why how there here then now just "
        "only any all some more most other such out up down off again further once both each "
        "few own same s t d ll re ve m o don't didn't isn't wasn't aren't won't can't"
    )
)


def normalise(text: str) -> str:
    """Return text with typographic quotes, dashes and spaces folded to plain ASCII forms."""
    return unicodedata.normalize("NFKC", text.translate(_FOLD))


def words(text: str) -> list[str]:
    """Return the lowercased word tokens of text (apostrophes folded to ')."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def word_spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) offsets of the word tokens of text."""
    return [m.span() for m in _WORD.finditer(text)]


def diff_units(text: str) -> list[str]:
    """Split text into words and punctuation marks, each with its trailing whitespace."""
    return _UNIT.findall(text)


def unit_key(unit: str) -> str:
    """Return the comparison key of a diff unit: folded case, quotes and no whitespace."""
    return normalise(unit.strip()).lower()


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return a crude stem of a lowercased word (plural and verb endings removed)."""
    if len(word) > 4 and word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", 4), ("ing", 5), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) >= keep + len(suffix) - 1:
            if suffix == "s" and word.endswith("ss"):
                break
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_stems(tokens: list[str]) -> list[str]:
    """Return the stems of the content words (stop words dropped) among tokens."""
    return [stem(t) for t in tokens if t not in STOPWORDS and len(t) > 1 or t.isdigit()]


def shingles(tokens: list[str], size: int = 3) -> set[tuple[str, ...]]:
    """Return the set of word n-grams (shingles) of a token list."""
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


# --- word diffs ------------------------------------------------------------------------------


def encode_units(keys: list[str], table: dict[str, str]) -> str:
    """Map each key to one private character (shared table) so diffs run on strings."""
    out = []
    for key in keys:
        char = table.get(key)
        if char is None:
            code = 0x100 + len(table)
            if code >= 0xD800:
                code += 0x800
            char = table[key] = chr(code)
        out.append(char)
    return "".join(out)


def word_diff(old: str, new: str) -> tuple[DiffOp, ...]:
    """Diff two texts word by word; the `a` parts rebuild old and the `b` parts rebuild new.

    Words compare after folding case, typographic quotes and whitespace, so an `equal` step
    may differ in those between its `a` and `b`.
    """
    units_a, units_b = diff_units(old), diff_units(new)
    table: dict[str, str] = {}
    enc_a = encode_units([unit_key(u) for u in units_a], table)
    enc_b = encode_units([unit_key(u) for u in units_b], table)
    ops: list[DiffOp] = []
    pend_a: list[str] = []
    pend_b: list[str] = []
    for op in Levenshtein.opcodes(enc_a, enc_b):
        part_a = "".join(units_a[op.src_start : op.src_end])
        part_b = "".join(units_b[op.dest_start : op.dest_end])
        if op.tag == "equal":
            _flush_change(ops, pend_a, pend_b)
            ops.append(DiffOp("equal", part_a, part_b))
        else:
            pend_a.append(part_a)
            pend_b.append(part_b)
    _flush_change(ops, pend_a, pend_b)
    return tuple(ops)


def _flush_change(ops: list[DiffOp], pend_a: list[str], pend_b: list[str]) -> None:
    """Append the pending changed parts as one insert, delete or replace step."""
    part_a, part_b = "".join(pend_a), "".join(pend_b)
    pend_a.clear()
    pend_b.clear()
    if part_a and part_b:
        ops.append(DiffOp("replace", part_a, part_b))
    elif part_a:
        ops.append(DiffOp("delete", part_a, ""))
    elif part_b:
        ops.append(DiffOp("insert", "", part_b))
