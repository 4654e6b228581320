"""Front matter of a content file: split it off, compose its YAML and validate each field.

Problems that stop a file are raised as `Bad(line, message)`; line 0 means "the field's line".
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

import yaml

from site_src.model import Problem

# The C loader composes nodes (with line marks) much faster; the pure-Python one is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"

FIELDS = ("title", "source", "published", "url", "authors", "story", "language", "boilerplate")

SAFE_ID = re.compile(r"[A-Za-z0-9_-]+\Z")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")
_DELIMITER = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?P<zone>[ \t]*(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?\Z"
)
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_URL_JUNK = re.compile(r"[\s\x00-\x1f\x7f]")
_FORMAT_HINT = "write YYYY-MM-DD, or a date and time with a zone such as 2021-09-01T21:32:00+00:00"


class Bad(Exception):
    """A problem that stops the current file (carries its line and message)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def make_slug(value: str) -> str:
    """Return a lowercase ASCII slug ("The Associated Press" -> the-associated-press)."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_JUNK.sub("-", ascii_text.lower()).strip("-")
    if slug:
        return slug
    return "x-" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def parse_published(value: str) -> datetime:
    """Parse a front matter date or zoned datetime; raise ValueError saying how to fix it."""
    text = value.strip()
    if _PLAIN_DATE.match(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(
                f"published '{text}' is not a real date; check the month and day"
            ) from None
    match = _ISO_DATETIME.match(text)
    if not match:
        raise ValueError(f"published '{text}' is not a date I can read; {_FORMAT_HINT}")
    if not match.group("zone"):
        raise ValueError(
            f"published '{text}' has a time but no time zone; add one, e.g. '{text}+00:00' "
            "for UTC, or give the date alone"
        )
    iso = text[:10] + "T" + text[11:].replace(" ", "").replace("\t", "").replace(",", ".")
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"published '{text}' is not a real date or time; check each part"
        ) from None


def check_url(value: str, field: str = "url") -> str:
    """Return the URL if it is an absolute http(s) URL; raise ValueError saying how to fix it."""
    text = value.strip()
    if _URL_JUNK.search(text):
        raise ValueError(f"{field} contains spaces or control characters; write %20 for a space")
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https"):
        raise ValueError(
            f"{field} '{text[:60]}' is not an http:// or https:// address; only web links "
            "are allowed (javascript:, data:, file: and relative links are refused)"
        )
    if not host:
        raise ValueError(f"{field} '{text[:60]}' has no host name; write it as https://host/path")
    return text


def decode_utf8(data: bytes) -> str:
    """Decode UTF-8 (a BOM is accepted); raise Bad for other encodings."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise Bad(line, f"the file is not UTF-8 text (byte 0x{data[err.start]:02x} cannot be "
                        "decoded); re-save it with UTF-8 encoding") from None


def split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (front matter YAML, body, body's first line); raise Bad when it is missing."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise Bad(line, "the file contains a NUL byte, so it is not a text file; remove the "
                        "NUL characters or re-save the file as plain UTF-8 text")
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise Bad(1, "the file is empty; start it with front matter (a '---' line, 'title: ...', "
                     "'source: ...', a '---' line) followed by the article text")
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    if first.rstrip() != "---":
        hint = "start the file with a line '---', then 'title: ...' and 'source: ...', then '---'"
        if first.strip() == "" and text.lstrip().startswith("---"):
            hint = "remove the blank lines before the opening '---'"
        raise Bad(1, f"no front matter: the first line must be '---'; {hint}")
    if first_end < 0:
        raise Bad(1, "the front matter opened on line 1 is never closed; add a line '---' after "
                     "the last field")
    closing = _DELIMITER.search(text, first_end + 1)
    if closing is None:
        raise Bad(1, "the front matter opened on line 1 is never closed; add a line '---' after "
                     "the last field, before the article text")
    front = text[first_end + 1:closing.start()]
    body_start = text.find("\n", closing.end())
    body = "" if body_start < 0 else text[body_start + 1:].lstrip("\n")
    return front, body, text.count("\n", 0, closing.start()) + 2


def compose_yaml(front: str, first_line: int) -> yaml.Node | None:
    """Compose YAML into nodes (kept untyped, so we see raw text and line marks)."""
    try:
        return yaml.compose(front, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        what = err.problem or "syntax error"
        raise Bad(line, f"the front matter is not valid YAML ({what}); check the quoting on this "
                        "line: text containing ': ' or starting with a quote or '[' must be put "
                        "in quotes") from None
    except yaml.YAMLError as err:
        position = getattr(err, "position", 0) or 0
        line = first_line + front.count("\n", 0, position)
        raise Bad(line, f"the front matter is not valid YAML ({getattr(err, 'reason', err)}); "
                        "remove control characters from this line") from None


def collect_fields(
    node: yaml.Node | None, problems: list[Problem], path: str, first_line: int = 2
) -> dict[str, tuple[int, yaml.Node]]:
    """Map each known key to (line, value node); report unknown and repeated keys."""
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(path, first_line, "the front matter must be 'key: value' lines "
                                "(title: ..., source: ...), not a list or a single value"))
        return {}
    fields: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        line = first_line + key_node.start_mark.line
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key in FIELDS:
            if key in fields:
                problems.append(Problem(path, line, f"'{key}' is given twice (first on line "
                                        f"{fields[key][0]}); keep only one"))
            else:
                fields[key] = (line, value_node)
            continue
        shown = key if isinstance(key, str) else "?"
        close = difflib.get_close_matches(shown.lower(), FIELDS, n=1)
        fix = f"did you mean '{close[0]}'?" if close else "known fields: " + ", ".join(FIELDS)
        problems.append(Problem(path, line, f"unknown field '{shown}' is ignored; {fix}",
                                "warning"))
    return fields


def text_of(node: yaml.Node | None, field: str) -> str | None:
    """Return a scalar node's text, None for a missing/null value; raise Bad for lists/maps."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
        return None
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a set of key: value pairs"
        raise Bad(0, f"{field} must be a single piece of text, not {kind}; write "
                     f"'{field}: ...' on one line")
    return node.value


def _check_title(node: yaml.Node | None) -> str:
    """Validate the required title."""
    text = text_of(node, "title")
    if text is None and node is None:
        raise Bad(1, "the front matter has no title; add a line 'title: <the headline>'")
    title = " ".join((text or "").split())
    if not title:
        raise Bad(0, "title is empty; write the headline after 'title:'")
    return title


def _check_source(node: yaml.Node | None) -> str:
    """Validate the required outlet (a key from sources.yml or an outlet name)."""
    text = text_of(node, "source")
    if text is None and node is None:
        raise Bad(1, "the front matter has no source; add 'source: <outlet key from "
                     "sources.yml, or the outlet's name>'")
    source = " ".join((text or "").split())
    if not source:
        raise Bad(0, "source is empty; write the outlet's key from sources.yml or its name")
    return source


def _check_published(node: yaml.Node | None) -> datetime | None:
    """Validate the optional publication date (date, or datetime with a zone)."""
    text = text_of(node, "published")
    if text is None or not text.strip():
        return None
    try:
        return parse_published(text)
    except ValueError as err:
        raise Bad(0, str(err)) from None


def _check_url(node: yaml.Node | None) -> str | None:
    """Validate the optional http(s) URL."""
    text = text_of(node, "url")
    if text is None or not text.strip():
        return None
    try:
        return check_url(text)
    except ValueError as err:
        raise Bad(0, str(err)) from None


def _check_authors(node: yaml.Node | None) -> tuple[str, ...]:
    """Validate authors: one name or a list of names."""
    if isinstance(node, yaml.SequenceNode):
        names = []
        for item in node.value:
            name = text_of(item, "each author")
            if name is None or not name.strip():
                raise Bad(2 + item.start_mark.line, "an author's name is empty; remove the "
                                                    "empty '-' entry or fill it in")
            names.append(" ".join(name.split()))
        return tuple(names)
    if isinstance(node, yaml.MappingNode):
        raise Bad(0, "authors must be a name or a list of names, e.g. 'authors: [Jane Doe]'")
    text = text_of(node, "authors")
    return (" ".join(text.split()),) if text and text.strip() else ()


def _check_story(node: yaml.Node | None) -> str | None:
    """Validate the optional manual story key (a slug)."""
    text = text_of(node, "story")
    if text is None or not text.strip():
        return None
    key = text.strip()
    if not SAFE_ID.match(key):
        raise Bad(0, f"story '{key}' must use only letters, digits, '-' and '_' (no dots, "
                     f"slashes or spaces); write e.g. 'story: {make_slug(key)}'")
    return key


def _check_language(node: yaml.Node | None) -> str:
    """Validate the language tag (BCP 47 style, default 'en')."""
    text = text_of(node, "language")
    if text is None or not text.strip():
        return "en"
    tag = text.strip()
    if not _LANGUAGE.match(tag):
        raise Bad(0, f"language '{tag}' is not a language tag; write a code such as en, fr, "
                     "pt-BR or zh-Hant")
    return tag


def _check_boilerplate(node: yaml.Node | None) -> str:
    """Validate the optional boilerplate text (kept, never rendered)."""
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        raise Bad(0, "boilerplate must be text; write 'boilerplate: |' and the lines below it, "
                     "indented by two spaces")
    return text_of(node, "boilerplate") or ""


_CHECKS = {
    "title": _check_title, "source": _check_source, "published": _check_published,
    "url": _check_url, "authors": _check_authors, "story": _check_story,
    "language": _check_language, "boilerplate": _check_boilerplate,
}


def check_fields(
    fields: dict[str, tuple[int, yaml.Node]], path: str, problems: list[Problem]
) -> dict[str, object]:
    """Validate every known field; return the values and append a problem for each bad one."""
    values: dict[str, object] = {}
    for name, check in _CHECKS.items():
        key_line, value = fields.get(name, (1, None))
        try:
            values[name] = check(value)
        except Bad as bad:
            problems.append(Problem(path, key_line if bad.line == 0 else bad.line, bad.message))
    return values
