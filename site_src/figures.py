"""Figures: numbers and quantity phrases, grouped by what they count, and where they disagree.

A mention is a number ("124,000", "13", "two", "a dozen") or a vague quantity ("scores of",
"hundreds of"), with an optional hedge ("more than", "over a"), followed by the noun phrase
it counts; the head noun, with near-synonyms folded ("service members", "servicemen",
"service personnel" -> troops), is the subject. Dates, years, times, ordinals and compound
adjectives ("20-year") are not figures. Two mentions in different members are about the same
thing when they share a subject and either their sentences are aligned or they share a
content word nearby; such linked mentions form a group, which disagrees when two linked
mentions give different quantities (hedges aside).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from site_src.model import Article, FigureGroup, FigureMention
from site_src.text import STOPWORDS, split_words, stem, words

_UNITS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
    "a dozen": 12,
    "a hundred": 100,
    "a thousand": 1000,
}
_VAGUE = {
    "dozens": 24.0,
    "scores": 40.0,
    "hundreds": 200.0,
    "thousands": 2000.0,
    "tens of thousands": 20000.0,
    "hundreds of thousands": 200000.0,
    "millions": 2e6,
    "billions": 2e9,
}
_SCALE = {"hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_HEDGE = (
    r"(?:more than|less than|fewer than|at least|at most|up to|over|under|nearly|almost|about"
    r"|around|roughly|approximately|some|only|just|as many as)(?:\s+a)?"
)
_NUMBER = r"(?:\$\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w:/-])|" + r"|".join(
    sorted((re.escape(w) for w in _UNITS), key=len, reverse=True)
)
_HEDGE_BEFORE = re.compile(r"\b(?:" + _HEDGE + r")\s+$", re.I)
_MENTION = re.compile(
    r"(?<![\w$.,])"
    r"(?:(?P<vague>tens of thousands|hundreds of thousands|dozens|scores|hundreds|thousands"
    r"|millions|billions)\s+of|(?P<num>" + _NUMBER + r")(?:\s+(?P<scale>hundred|thousand"
    r"|million|billion|trillion)\b)?(?:\s*(?P<pct>%|percent\b))?)",
    re.I,
)
_MONTHS = re.compile(
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april"
    r"|june|july|august|september|october|november|december)\.?\s*$",
    re.I,
)
_NOUN_WORD = re.compile(r"\s*([A-Za-z][A-Za-z.\u2019'-]*)")
_PHRASE_STOP = STOPWORDS | {
    "including",
    "killed",
    "later",
    "ago",
    "earlier",
    "per",
    "via",
    "through",
    "across",
    "since",
    "until",
    "during",
    "against",
    "between",
    "among",
    "than",
    "toward",
    "towards",
    "within",
    "without",
    "near",
    "inside",
    "outside",
    "behind",
    "beyond",
    "were",
    "are",
    "had",
    "have",
}
_CONTEXT_STOP = STOPWORDS | {"last", "first", "next", "past", "ago", "later", "earlier", "year"}
_PLURALS = frozenset(
    split_words(
        "people men women children personnel police staff servicemen cattle militia media data "
        "clergy crew"
    )
)
_FOLD = {
    "service member": "troops",
    "servicemember": "troops",
    "serviceman": "troops",
    "servicemen": "troops",
    "service personnel": "troops",
    "military personnel": "troops",
    "troop": "troops",
    "soldier": "troops",
    "marine": "troops",
    "us servicemen": "troops",
    "people": "people",
    "individual": "people",
    "person": "people",
    "persons": "people",
    "afghan": "Afghans",
    "afghan civilian": "Afghans",
    "afghan national": "Afghans",
}


class StoryView(Protocol):
    """What figures need from the alignment of a story."""

    def index(self, article: Article) -> int: ...  # noqa: D102

    def aligned(self, i: int, pos_i: int, j: int, pos_j: int) -> bool: ...  # noqa: D102

    def furniture(self, i: int, pos: int) -> bool: ...  # noqa: D102


def extract_figures(text: str) -> list[tuple[str, str, float | None, int, int]]:
    """Return (subject, value key, value, start, end) of each figure mention in text."""
    out = []
    for match in _MENTION.finditer(text):
        if not (match.group("vague") or match.group("num")):
            continue
        if _not_a_count(text, match):
            continue
        value, key = _value(match)
        hedge = _HEDGE_BEFORE.search(text, max(0, match.start() - 24), match.start())
        begin = hedge.start() if hedge else match.start()
        if match.group("pct"):
            out.append(("percent", key, value, begin, match.end()))
            continue
        subject, end = _counted(text, match.end(), "$" in (match.group("num") or ""))
        if subject:
            out.append((subject, key, value, begin, end))
    return out


def _not_a_count(text: str, match: re.Match[str]) -> bool:
    """Tell whether a number is a date, year, time or ordinal rather than a count."""
    num = match.group("num")
    if not num:
        return False
    digits = num.strip("$ ").replace(",", "")
    before = text[max(0, match.start() - 12) : match.start()]
    if _MONTHS.search(before) or text[match.start() - 1 : match.start()] in (":", "/", "-"):
        return True
    if re.fullmatch(r"1[89]\d\d|20\d\d", digits) and "," not in num and not match.group("scale"):
        return True
    return num.lower() in ("one", "a")


def _value(match: re.Match[str]) -> tuple[float | None, str]:
    """Return the numeric value of a mention and the key it is compared by."""
    vague = match.group("vague")
    if vague:
        return _VAGUE[vague.lower()], vague.lower()
    num = match.group("num").lower().strip("$ ")
    value = float(_UNITS[num]) if num in _UNITS else float(num.replace(",", ""))
    scale = match.group("scale")
    if scale:
        value *= _SCALE[scale.lower()]
    return value, f"{value:g}"


def _counted(text: str, pos: int, money: bool) -> tuple[str | None, int]:
    """Return the folded noun counted after offset pos, and where the phrase ends."""
    taken: list[str] = []
    end = cursor = pos
    while len(taken) < 4:
        match = _NOUN_WORD.match(text, cursor)
        if match is None:
            break
        word = match.group(1).rstrip(".")
        if word.lower() in _PHRASE_STOP and not (word.isupper() and len(word) > 1):
            if word.lower() == "of" and not taken:
                cursor = match.end()
                continue
            break
        taken.append(word)
        cursor = match.start(1) + len(word)
        if _is_plural(word):
            return _fold(taken), cursor
        end = cursor
    if money:
        return "dollars", pos
    if len(taken) == 1:
        return _fold(taken), end
    return None, pos


def _is_plural(word: str) -> bool:
    """Tell whether a word looks like a plural noun (the head of a counted phrase)."""
    low = word.lower().replace("\u2019", "'")
    if low in _PLURALS:
        return True
    return len(low) > 3 and low.endswith("s") and not low.endswith(("ss", "us", "is", "'s"))


def _fold(phrase: list[str]) -> str:
    """Return the subject of a counted phrase, folding near-synonyms."""
    low = [w.lower().replace("\u2019", "'") for w in phrase]
    for size in (2, 1):
        if len(low) >= size:
            tail = " ".join(low[-size:])
            for key in (tail, tail[:-1] if tail.endswith("s") else tail):
                if key in _FOLD:
                    return _FOLD[key]
    head = phrase[-1]
    return head if head[:1].isupper() else head.lower()


def build_figures(ranked: Sequence[Article], view: StoryView) -> tuple[FigureGroup, ...]:
    """Group the figure mentions of a story's members by subject and flag disagreements."""
    items = []  # (member index, article, subject, key, value, start, end, context)
    for art in sorted(ranked, key=view.index):
        i = view.index(art)
        for subject, key, value, start, end in extract_figures(art.text):
            if not view.furniture(i, start):
                items.append(
                    (i, art, subject, key, value, start, end, _context(art.text, start, end))
                )
    parent = list(range(len(items)))

    def find(x: int) -> int:
        """Return the representative of an item's group."""
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    disagree_pairs = set()
    by_subject: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        by_subject.setdefault(item[2], []).append(k)
    for a, b in (
        (a, b) for ks in by_subject.values() for n, a in enumerate(ks) for b in ks[n + 1 :]
    ):
        first, second = items[a], items[b]
        if first[0] == second[0]:
            continue
        if first[7] & second[7] or view.aligned(first[0], first[5], second[0], second[5]):
            parent[find(b)] = find(a)
            if first[3] != second[3]:
                disagree_pairs.add((a, b))
    groups: dict[int, list[int]] = {}
    for k in range(len(items)):
        groups.setdefault(find(k), []).append(k)
    bad = {find(a) for a, _ in disagree_pairs}
    out = []
    for root, members in groups.items():
        mentions = tuple(
            FigureMention(
                items[k][1].id,
                items[k][1].text[items[k][5] : items[k][6]],
                items[k][4],
                items[k][5],
                items[k][6],
            )
            for k in members
        )
        out.append(
            (root not in bad, members[0], FigureGroup(items[root][2], mentions, root in bad))
        )
    out.sort(key=lambda x: (x[0], x[1]))
    return tuple(group for _, _, group in out)


def _context(text: str, start: int, end: int) -> frozenset[str]:
    """Return content stems within eight words either side of a mention, on its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    before = words(text[line_start:start])[-8:]
    after = words(text[end : line_end if line_end >= 0 else len(text)])[:8]
    return frozenset(
        stem(w) for w in before + after if w not in _CONTEXT_STOP and not w.isdigit() and len(w) > 2
    )
