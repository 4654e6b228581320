"""Import raw article text (e.g. a copied web page) into a content Markdown file.

Every non-empty line of the raw text ends up, unchanged apart from surrounding whitespace, in
exactly one place: the title, the body, or the `boilerplate` field (page furniture: photo
captions and credits, teasers, ads, comment prompts, date and byline lines). Nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from site_src.content import check_url, load_sources, make_slug, parse_published
from site_src.model import Source

TITLE, BODY, FURNITURE = "title", "body", "furniture"
_MAX_TITLE = 100
_STEM_WORDS = 8
_STOP_WORDS = frozenset({"a", "an", "the", "of", "on", "to", "in", "for", "and", "at", "by"})
_WEAK_ENDINGS = _STOP_WORDS | {"that", "or", "with", "from", "as", "is", "was", "will"}


@dataclass(frozen=True)
class ImportedArticle:
    """An imported article: front matter values, Markdown body and the furniture kept aside."""

    title: str
    source: str | None  # outlet key or name; None when neither the text nor a flag names it
    body: str  # Markdown: one escaped paragraph per kept line
    boilerplate: str
    published: str | None = None  # YYYY-MM-DD, or ISO datetime with zone
    url: str | None = None
    authors: tuple[str, ...] = ()
    title_from_text: bool = True  # False when no headline was found and the title was derived
    notes: tuple[str, ...] = ()  # what the importer guessed or could not find


class ImportFailed(Exception):
    """An import could not be done: the message names the file and the fix."""


class ContentExistsError(ImportFailed, FileExistsError):
    """An import would overwrite an existing content file and force was not given."""




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


# --- Classification ----------------------------------------------------------------------------


def classify_lines(lines: Sequence[str]) -> list[str]:
    """Give each non-empty stripped line a role: title, body or furniture."""
    roles = [BODY] * len(lines)
    for i, line in enumerate(lines):
        after = lines[i + 1] if i + 1 < len(lines) else ""
        if is_furniture_line(line, after):
            roles[i] = FURNITURE
    body_start = _find_body_start(lines, roles)
    title = next((i for i in range(body_start) if roles[i] == BODY and is_headline(lines[i])), None)
    for i in range(body_start):
        roles[i] = FURNITURE
    if title is not None:
        roles[title] = TITLE
        for i in range(body_start, len(lines)):
            if lines[i].casefold() == lines[title].casefold():
                roles[i] = FURNITURE
    _mark_end(lines, roles, body_start)
    _mark_link_lists(lines, roles, body_start)
    return roles


def _find_body_start(lines: Sequence[str], roles: list[str]) -> int:
    """Return the index of the first prose line that is not furniture (the article's start)."""
    candidates = [i for i in range(len(lines)) if roles[i] == BODY]
    first_prose = next((i for i in candidates if is_prose(lines[i])), None)
    if first_prose is not None:
        return first_prose
    return candidates[1] if len(candidates) > 1 and is_headline(lines[candidates[0]]) else (
        candidates[0] if candidates else len(lines))


def _mark_end(lines: Sequence[str], roles: list[str], body_start: int) -> None:
    """Mark everything from an end marker on, and the short lines trailing the last prose line."""
    end = next((i for i in range(body_start + 1, len(lines)) if is_end_marker(lines[i])),
               len(lines))
    for i in range(end, len(lines)):
        roles[i] = FURNITURE
    i = end - 1
    while i > body_start and (roles[i] == FURNITURE or not is_prose(lines[i])):
        roles[i] = FURNITURE
        i -= 1


def _mark_link_lists(lines: Sequence[str], roles: list[str], body_start: int) -> None:
    """Mark the items under a "Read more:" label, and a teaser repeated by "Read next: <it>"."""
    for i in range(body_start, len(lines)):
        if is_list_label(lines[i]):
            j = i + 1
            while j < len(lines) and not is_prose(lines[j]):
                roles[j] = FURNITURE
                j += 1
        teased = teaser_target(lines[i])
        if teased and i > body_start and lines[i - 1].casefold() == teased.casefold():
            roles[i - 1] = FURNITURE


# --- Import ------------------------------------------------------------------------------------


def import_text(
    raw: str, *, source: str | None = None, published: str | None = None, url: str | None = None
) -> ImportedArticle:
    """Split raw article text into title, body and boilerplate; flags override what is found."""
    if "\x00" in raw:
        raise ValueError("the text contains NUL bytes; is it a binary file?")
    if published is not None:
        parse_published(published)
    if url is not None:
        url = check_url(url)
    lines = [s for s in (line.strip() for line in raw.removeprefix("\ufeff").splitlines()) if s]
    roles = classify_lines(lines)
    if BODY not in roles:  # everything looked like furniture: keep it as the body, to be edited
        roles = [BODY if role == FURNITURE else role for role in roles]
    if BODY not in roles:
        raise ValueError("found no article text: the text is empty or holds only a headline")
    furniture = [lines[i] for i, role in enumerate(roles) if role == FURNITURE]
    body_lines = [line for line, role in zip(lines, roles, strict=True) if role == BODY]
    notes: list[str] = []
    if TITLE in roles:
        title = lines[roles.index(TITLE)]
    else:
        title = derive_title(body_lines)
        notes.append("no headline found: the title was made from the first sentence; edit it")
    found_date, date_note = find_published(furniture)
    outlet = find_outlet(furniture)
    if source is None and outlet is None:
        notes.append("the text does not name its outlet; give --source if you know it")
    if published is None:
        notes += [date_note] if date_note else []
        if found_date is None:
            notes.append("no publication date found in the text; give --published if you know it")
    return ImportedArticle(
        title=title,
        source=source if source is not None else outlet,
        body="\n\n".join(escape_markdown(line) for line in body_lines),
        boilerplate=_join_runs(lines, [i for i, role in enumerate(roles) if role == FURNITURE]),
        published=published if published is not None else found_date,
        url=url,
        authors=find_authors(furniture),
        title_from_text=TITLE in roles,
        notes=tuple(notes),
    )


def derive_title(body_lines: Sequence[str]) -> str:
    """Make a title from the first sentence of the body, shortened at a word boundary."""
    sentence = first_sentence(body_lines[0]) if body_lines else "Untitled"
    if len(sentence) <= _MAX_TITLE:
        return sentence
    words = sentence[:_MAX_TITLE].rsplit(" ", 1)[0].split()
    while len(words) > 3 and words[-1].lower() in _WEAK_ENDINGS:
        words.pop()
    return " ".join(words).rstrip(",;:—–-") + "…"


_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<~])")
_ENTITY_START = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]*;)")
_ORDERED_MARKER = re.compile(r"^([0-9]{1,9})([.)])(?=[ \t]|$)")


def escape_markdown(line: str) -> str:
    """Escape one line so that Markdown renders it as one paragraph of exactly this text."""
    out = _INLINE_SPECIAL.sub(r"\\\1", line)
    out = _ENTITY_START.sub(r"\\&", out)
    out = _ORDERED_MARKER.sub(r"\1\\\2", out)
    return "\\" + out if out[:1] in "#>+-=" else out


def render_content_file(imported: ImportedArticle) -> str:
    """Return the text of the content .md file: YAML front matter, then the Markdown body."""
    fields: dict[str, object] = {"title": imported.title,
                                 "source": imported.source or "Unnamed outlet"}
    if imported.url:
        fields["url"] = imported.url
    if imported.authors:
        fields["authors"] = list(imported.authors)
    if imported.boilerplate:
        fields["boilerplate"] = _Block(imported.boilerplate)
    lines = ["---"] + [f"# import note: {note}" for note in imported.notes]
    for key, value in fields.items():
        lines.append(yaml.dump({key: value}, Dumper=_Dumper, allow_unicode=True, width=10**6,
                               sort_keys=False).rstrip("\n"))
        if key == "source" and imported.published:
            lines.append(f"published: {imported.published}")
    return "\n".join([*lines, "---", "", imported.body]).rstrip("\n") + "\n"


def import_files(
    paths: Sequence[Path],
    content_dir: Path,
    *,
    force: bool = False,
    source: str | None = None,
    published: str | None = None,
    url: str | None = None,
) -> list[Path]:
    """Import raw text files into content_dir; never overwrite unless force. Return new paths."""
    content_dir = Path(content_dir)
    declared, _ = load_sources(content_dir)
    planned: list[tuple[Path, str]] = []
    taken: set[str] = set()
    for path in map(Path, paths):
        try:
            imported = import_text(path.read_bytes().decode("utf-8-sig"), source=source,
                                   published=published, url=url)
        except UnicodeDecodeError:
            raise ImportFailed(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
        except OSError as err:
            raise ImportFailed(f"{path}: cannot read it ({err.strerror})") from None
        except ValueError as err:
            raise ImportFailed(f"{path}: {err}") from None
        outlet = imported.source or f"Unnamed outlet ({path.stem})"
        imported = replace(imported, source=_known_key(outlet, declared) or outlet)
        stem = _unique_stem(make_stem(imported.title, path.stem), taken)
        taken.add(stem)
        planned.append((content_dir / f"{stem}.md", render_content_file(imported)))
    existing = [str(target) for target, _ in planned if target.exists()]
    if existing and not force:
        raise ContentExistsError(f"{', '.join(existing)} already exists; nothing was written. "
                                 "Give --force to overwrite, or move the old file away")
    content_dir.mkdir(parents=True, exist_ok=True)
    for target, text in planned:
        target.write_text(text, encoding="utf-8", newline="\n")
    return [target for target, _ in planned]


def make_stem(title: str, input_stem: str = "") -> str:
    """Return a readable file stem: the input's leading number, then a slug of the title."""
    words = [w for w in make_slug(re.sub(r"[.'’]", "", title)).split("-") if w not in _STOP_WORDS]
    slug = "-".join(words[:_STEM_WORDS])[:60].strip("-") or "article"
    number = re.match(r"\d+", input_stem)
    return f"{number.group()}-{slug}" if number else slug


def _unique_stem(stem: str, taken: set[str]) -> str:
    """Append -2, -3 ... until the stem is not taken in this import."""
    n, candidate = 2, stem
    while candidate in taken:
        candidate, n = f"{stem}-{n}", n + 1
    return candidate


def _known_key(name: str, declared: Mapping[str, Source]) -> str | None:
    """Return the sources.yml key of an outlet name (or key), or None."""
    if name in declared:
        return name
    return next((k for k in sorted(declared) if declared[k].name.casefold() == name.casefold()),
                None)


def _join_runs(lines: Sequence[str], indexes: Sequence[int]) -> str:
    """Join furniture lines: adjacent ones by a newline, separate runs by a blank line."""
    out: list[str] = []
    for n, i in enumerate(indexes):
        if n and i != indexes[n - 1] + 1:
            out.append("")
        out.append(lines[i])
    return "\n".join(out)


class _Block(str):
    """A string that YAML writes as a literal block (|) when it can."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes _Block strings as literal blocks."""


_Dumper.add_representer(
    _Block, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|")
)
