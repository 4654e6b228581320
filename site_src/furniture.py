"""Page furniture line rules for the importer: captions, bylines, dates, end markers, teasers.

Each rule looks at one stripped line of raw article text; the finders pull the date, authors and
outlet out of the lines judged to be furniture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

# --- Line rules: what page furniture looks like ------------------------------------------------

_TERMINAL = re.compile(r"[.!?…:;][\"'”’»)\]]*$")
_TRUNCATED = re.compile(r"(?:\.\.\.|…|\[…\]|\[\.\.\.\])$")
_CREDIT_WORD = (r"(?:AP|AFP|Reuters|Getty(?: Images)?|EPA|Pool|Photos?|photos?|File|file|Image"
                r"|image|Courtesy|courtesy|Handout|handout|Shutterstock|Xinhua|Bloomberg)")
_CAPTION_CREDIT = re.compile(r"\([^()]{0,50}\b" + _CREDIT_WORD + r"\b[^()]{0,50}\)$")
_NAMED_CREDIT = re.compile(r"[.!?”\"’]\s+\((?P<inner>[^()]{2,40})\)$")
_CREDIT_TAIL = re.compile(r"(?:^|[.!?”\"’]\s+)(?:Photos?|Photograph|Picture|Image|Credit)\s*"
                          r"(?:/|:|\||by)\s*[\w .&'’/-]{1,40}$")
_RELATIVE_TIME = re.compile(r"(?:updated\s+)?(?:\d+|an?|one)\s+(?:sec(?:ond)?s?|min(?:ute)?s?"
                            r"|h(?:ou)?rs?|days?|weeks?|months?|years?)\s+ago|just now", re.I)
_COPYRIGHT = re.compile(r"(?:copyright\s*(?:©|\(c\)|\d{4})|©|\(c\)\s*\d{4})", re.I)
_COPYRIGHT_NAME = re.compile(r"(?:copyright|©|\(c\)|\d{4}(?:\s*[-–]\s*\d{4})?|[\s,])*(.*)", re.I)
_COPYRIGHT_CUT = re.compile(r"\.?\s*\ball rights reserved\b|\.\s+(?=This|Any|No |All )|\s\|\s"
                            r"|\.$", re.I)
_END_PHRASES = re.compile("|".join([
    r"be the first to comment\.?", r"leave an? (?:reply|comment)\.?",
    r"(?:post|add|give|write|show|view|load) (?:a |your |the )?comments?\.?",
    r"your email address will not be published\..*", r"\d+ comments?", r"comments?(?: \(\d+\))?",
    r"join the (?:conversation|discussion)\.?", r"top content trending",
    r"sponsored(?: content| articles?| stories| links| posts)?:?",
    r"(?:paid|partner|promoted) (?:content|posts?|stories)", r"trending(?: now| stories)?:?",
    r"most (?:read|popular|viewed|shared)(?: stories| articles)?:?",
    r"(?:related|more|recommended|latest|top) (?:stories|articles|news|videos?)(?: for you)?:?",
    r"you (?:may|might) (?:also )?like:?", r"recommended(?: for you)?:?",
]), re.I)
_LIST_LABEL = re.compile(r"(?:read more|read also|also read|see also|more on this(?: story)?"
                         r"|related(?: stories| articles| coverage| links)?)\s*:?", re.I)
_TEASER = re.compile(r"(?:read next|read more|read also|also read|related|see also|must read"
                     r"|recommended|watch|listen)\s*:\s*(?P<target>.+)", re.I)
_FURNITURE_PHRASES = re.compile("|".join([
    r"advertisement", r"story continues below(?: advertisement)?", r"scroll to continue.*",
    r"for the latest (?:headlines|news|updates)\b.*", r"follow (?:us|our [\w ]{1,30}) on .*",
    r"(?:sign up|subscribe|get (?:our|the))\b.*\b(?:newsletters?|briefing|alerts)\b.*",
    r"share(?: this)?(?: article| story| page)?(?: on \w+)?:?",
    r"(?:photo |image |video )?credits?:.*",
]), re.I)
_BYLINE = re.compile(r"(?:By|BY|Written by|Reporting by|Author:)\s+(?P<names>.{2,100})")
_NAME_LINKS = frozenset({"and", "&", "|", "de", "da", "di", "van", "von", "der", "al", "bin", "la",
                         "le", "del", "y"})
_ORG_WORDS = re.compile(r"\b(?:Press|News|Staff|Reuters|Agency|Times|Post|Correspondent|Writer"
                        r"|Reporter|Editor|Bureau|AP|AFP)\b")


def is_prose(line: str) -> bool:
    """True for a sentence-like paragraph: long, or six+ words ending in sentence punctuation."""
    if _TRUNCATED.search(line):
        return False
    words = len(line.split())
    return words >= 20 or (words >= 6 and bool(_TERMINAL.search(line)))


def is_headline(line: str) -> bool:
    """True for a line that can be a headline: 3+ words, at most 200 chars, no final period."""
    return len(line.split()) >= 3 and len(line) <= 200 and not line.endswith(".")


def is_caption(line: str) -> bool:
    """True for a photo caption or credit, e.g. "... (AP Photo/Susan Walsh)" or "... Photo / AP"."""
    if _CAPTION_CREDIT.search(line) or _CREDIT_TAIL.search(line):
        return True
    named = _NAMED_CREDIT.search(line)
    if not named:
        return False
    inner = named.group("inner").strip()
    words = inner.split()
    return (len(words) <= 5 and not _TERMINAL.search(inner)
            and all(w[:1].isupper() or not w[:1].isalpha() for w in words))


def is_copyright(line: str) -> bool:
    """True for a copyright line ("Copyright © X. All rights reserved.")."""
    return bool(_COPYRIGHT.match(line)) or "all rights reserved" in line.casefold()


def is_end_marker(line: str) -> bool:
    """True for a line after which a page holds no more article: copyright, comments, ads."""
    return is_copyright(line) or bool(_END_PHRASES.fullmatch(line))


def is_list_label(line: str) -> bool:
    """True for a label that introduces a list of links ("Read more:")."""
    return bool(_LIST_LABEL.fullmatch(line))


def teaser_target(line: str) -> str | None:
    """Return the teased headline of "Read next: <headline>", else None."""
    match = _TEASER.fullmatch(line)
    return match.group("target").strip() if match else None


def is_byline(line: str) -> bool:
    """True for "By Jane Doe and John Roe" (capitalised names, no sentence)."""
    match = _BYLINE.fullmatch(line)
    if not match or (line.endswith(".") and not re.search(r"\b[A-Z][a-z]?\.$", line)):
        return False
    tokens = [t for t in re.split(r"[\s,]+", match.group("names")) if t]
    return len(tokens) <= 12 and all(t[:1].isupper() or t in _NAME_LINKS for t in tokens)


def is_furniture_line(line: str, next_line: str = "") -> bool:
    """True for a line that is furniture wherever it stands on the page."""
    if (is_caption(line) or is_end_marker(line) or is_byline(line) or is_date_line(line)
            or _RELATIVE_TIME.fullmatch(line) or _FURNITURE_PHRASES.fullmatch(line)
            or _LIST_LABEL.fullmatch(line) or _TEASER.fullmatch(line)
            or line.endswith(("[…]", "[...]"))):
        return True
    if _TRUNCATED.search(line):  # a caption cut short, repeated in full just below
        prefix = line.rstrip(".… ").rstrip()
        return len(prefix) >= 15 and next_line.startswith(prefix)
    return False


# --- Dates -------------------------------------------------------------------------------------

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE = re.compile(
    r"(?:(?P<mon>" + _MONTH + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    r"|(?P<day2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon2>" + _MONTH + r"),?\s+(?P<year2>\d{4})"
    r"|(?P<year3>\d{4})-(?P<mon3>\d{2})-(?P<day3>\d{2}))"
    r"(?:(?:T|,?\s*(?:at\s+)?)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?(?:\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})\b)?)?", re.I)
_TIME_ONLY = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?")
_DATE_WORDS = re.compile(
    r"\b(?:first|last|published|publish|posted|updated|update|modified|date|on|at|am|pm|et|edt"
    r"|est|ct|cdt|pt|pdt|utc|gmt|bst|cet|cest|(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?"
    r"|sun)(?:day)?\.?)\b|[\s|:,·•\-–—/().]", re.I)
_LABEL = re.compile(r"\b(?:published|publish|posted|updated|modified)\b", re.I)


def is_date_line(line: str) -> bool:
    """True for a line made only of dates, times and labels ("Published: Sep 1, 2021 | ...")."""
    if len(line) > 120:
        return False
    dated = _DATE.search(line)
    rest = _DATE_WORDS.sub("", _TIME_ONLY.sub("", _DATE.sub("", line)))
    return not rest and bool(dated or _LABEL.search(line))


def find_published(lines: Sequence[str]) -> tuple[str | None, str | None]:
    """Return (front matter date, note) from the first date on the date lines given."""
    found: list[tuple[bool, re.Match[str]]] = []
    for line in lines:
        if is_date_line(line):
            for match in _DATE.finditer(line):
                updated = re.search(r"(?:updat|modif)\w*\W*$", line[:match.start()], re.I)
                found.append((bool(updated), match))
    for _, match in sorted(found, key=lambda item: item[0]):
        value, note = _date_value(match)
        if value is not None:
            return value, note
    return None, None


def _date_value(match: re.Match[str]) -> tuple[str | None, str | None]:
    """Turn one date match into YYYY-MM-DD (or ISO with zone when the text gives a zone)."""
    g = match.groupdict()
    month_name = g["mon"] or g["mon2"]
    year = int(g["year"] or g["year2"] or g["year3"])
    day = int(g["day"] or g["day2"] or g["day3"])
    month = _month_number(month_name) if month_name else int(g["mon3"])
    hour, minute = int(g["hour"] or 0), int(g["minute"] or 0)
    if g["ampm"]:
        hour = hour % 12 + (12 if g["ampm"][0] in "Pp" else 0)
    try:
        when = datetime(year, month, day, hour, minute, int(g["second"] or 0))
    except ValueError:
        return None, None
    if g["hour"] is None:
        return when.date().isoformat(), None
    if g["zone"] is None:
        note = (f"the text gives a time ({match.group().strip()}) but no time zone, so only the "
                "date was kept; add the time with its zone if you know it")
        return when.date().isoformat(), note
    zone = g["zone"].upper()
    offset = timedelta(0)
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        offset = -offset if zone[0] == "-" else offset
    return when.replace(tzinfo=timezone(offset)).isoformat(), None


def _month_number(name: str) -> int:
    """Return 1-12 for a month name or abbreviation."""
    months = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    return months.index(name[:3].lower()) + 1


# --- Authors, outlet, title --------------------------------------------------------------------


def find_authors(lines: Sequence[str]) -> tuple[str, ...]:
    """Return the names of the first byline among the lines, without agency or role words."""
    for line in lines:
        if is_byline(line):
            names = _BYLINE.fullmatch(line).group("names")  # type: ignore[union-attr]
            parts = re.split(r"\s*(?:,|&|\band\b|\|)\s*", names.split("|")[0])
            return tuple(p.strip() for p in parts if p.strip() and not _ORG_WORDS.search(p))
    return ()


def find_outlet(lines: Sequence[str]) -> str | None:
    """Return the outlet a copyright line names ("Copyright © The Associated Press. ...")."""
    for line in lines:
        if not is_copyright(line):
            continue
        rest = _COPYRIGHT_NAME.match(line).group(1)  # type: ignore[union-attr]
        name = _COPYRIGHT_CUT.split(rest, maxsplit=1)[0].strip(" .,")
        if name[:1].isupper() and len(name) <= 60 and len(name.split()) <= 8:
            return name
    return None


_ABBREVIATIONS = frozenset({
    "gen", "sen", "rep", "gov", "lt", "col", "sgt", "capt", "maj", "adm", "mr", "mrs", "ms", "dr",
    "st", "jr", "sr", "no", "vs", "inc", "corp", "co", "jan", "feb", "aug", "sept", "oct", "nov",
    "dec", "pres", "prof", "rev", "ft", "mt"})


def first_sentence(text: str) -> str:
    """Return the first sentence of a paragraph (abbreviations and initials do not end it)."""
    for match in re.finditer(r"[.!?…][\"'”’)]*(?=\s+[\"“‘'(]?[A-Z0-9])", text):
        word = re.search(r"(\S*)$", text[:match.start()]).group(1)  # type: ignore[union-attr]
        word = word.lower().lstrip("(\"“‘'")
        if match.group()[0] == "." and (word in _ABBREVIATIONS or len(word) <= 1 or "." in word):
            continue
        return text[:match.end()]
    return text
