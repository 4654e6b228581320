"""Load the corpus: each content/**/*.md (YAML front matter + Markdown) -> a validated Article.

Every problem is a `Problem(path, line, message)` whose message says what is wrong and how to fix
it. Bad files are reported and skipped; the rest loads. Loading never writes anything.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from site_src.model import Article, Corpus, Problem, Source
from site_src.text import plain_text

# The C loader composes nodes (with line marks) much faster; the pure-Python one is the fallback.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"

FIELDS = ("title", "source", "published", "url", "authors", "story", "language", "boilerplate")
SOURCE_FIELDS = ("name", "homepage", "kind")
SOURCE_KINDS = ("wire", "newspaper", "magazine", "broadcaster", "blog", "agency", "other")
RESERVED_IDS = frozenset(
    {"index", "static", "search", "feed", "sitemap", "robots", "404", "sources", "stories",
     "articles", "data", "favicon", "assets", "api"}
)
SOURCES_FILE = "sources.yml"

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+\Z")
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


class _Bad(Exception):
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


_MARKUP = re.compile(r"[\\`*_\[\]<&\t\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029"
                     r"\u202f\u205f\u3000]|^ *(?:[#>+=~|0-9-]| {4})", re.MULTILINE)


def body_text(body: str) -> str:
    """Return site_src.text.plain_text(body), quickly when the body holds no Markdown syntax."""
    if _MARKUP.search(body):
        return plain_text(body)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in body.split("\n"):
        stripped = line.strip(" ")
        if stripped:
            current.append(stripped)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def parse_article(
    raw: str, path: str, *, sources: Mapping[str, Source] | None = None
) -> tuple[Article | None, list[Problem]]:
    """Parse one content file's text into an Article (None when it has errors) and its problems."""
    article, problems, _ = _parse_article(raw, path, sources or {})
    return article, problems


def load_corpus(content_dir: Path) -> Corpus:
    """Read and validate every content/**/*.md and content/sources.yml; never writes anything."""
    content_dir = Path(content_dir)
    problems: list[Problem] = []
    if not content_dir.is_dir():
        message = "the content folder does not exist; create it or point the build at another one"
        return Corpus((), (), (Problem(content_dir.as_posix(), 1, message),))
    declared, found = load_sources(content_dir)
    problems.extend(found)
    articles: list[Article] = []
    first_path: dict[str, str] = {}
    free_names: dict[str, str] = {}
    for rel, path in _find_markdown(content_dir, problems):
        shown = (content_dir / rel).as_posix()
        try:
            data = path.read_bytes()
        except OSError as err:
            reason = err.strerror or type(err).__name__
            problems.append(Problem(shown, 1, f"cannot read the file ({reason}); check that it "
                                    "exists and is readable, or remove it"))
            continue
        try:
            raw = _decode(data)
        except _Bad as bad:
            problems.append(Problem(shown, bad.line, bad.message))
            continue
        article, found, name = _parse_article(raw, rel, declared)
        problems.extend(Problem(shown, p.line, p.message, p.severity) for p in found)
        if article is None:
            continue
        folded = article.id.casefold()
        if folded in first_path:
            problems.append(Problem(shown, 1, (
                f"article id '{article.id}' is already used by {first_path[folded]} (ids are file "
                "names without .md and must be unique, ignoring case); rename one of the files")))
            continue
        first_path[folded] = (content_dir / rel).as_posix()
        articles.append(article)
        if name is not None:
            free_names.setdefault(article.source, name)
    used = {a.source for a in articles}
    sources = [declared[k] for k in sorted(used) if k in declared]
    sources += [Source(k, free_names[k]) for k in sorted(used) if k not in declared]
    sources.sort(key=lambda s: s.key)
    return Corpus(tuple(articles), tuple(sources), tuple(problems))


def _find_markdown(root: Path, problems: list[Problem]) -> list[tuple[str, Path]]:
    """List (relative POSIX path, path) of every visible .md file, sorted; skip symlink loops."""
    found: list[tuple[str, Path]] = []
    seen: set[tuple[int, int]] = set()

    def report(err: OSError) -> None:
        """Turn an unreadable folder into a problem."""
        where = Path(err.filename or root).as_posix()
        problems.append(Problem(where, 1, f"cannot read this folder ({err.strerror}); check its "
                                "permissions or remove it"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=report, followlinks=True):
        try:
            stat = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (stat.st_dev, stat.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        for name in filenames:
            if name.endswith(".md") and not name.startswith("."):
                path = base / name
                found.append((path.relative_to(root).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return found


def _decode(data: bytes) -> str:
    """Decode UTF-8 (a BOM is accepted); raise _Bad for other encodings."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _Bad(line, f"the file is not UTF-8 text (byte 0x{data[err.start]:02x} cannot be "
                         "decoded); re-save it with UTF-8 encoding") from None


def _parse_article(
    raw: str, path: str, sources: Mapping[str, Source]
) -> tuple[Article | None, list[Problem], str | None]:
    """Parse a file; return the article, its problems and the free outlet name (if not declared)."""
    problems: list[Problem] = []
    try:
        front, body, body_line = _split_front_matter(raw)
        node = _compose(front, 2)
    except _Bad as bad:
        return None, [Problem(path, bad.line, bad.message)], None
    fields = _collect_fields(node, problems, path)
    values: dict[str, object] = {}
    for name, check in _CHECKS.items():
        key_line, value = fields.get(name, (1, None))
        try:
            values[name] = check(value)
        except _Bad as bad:
            problems.append(Problem(path, key_line if bad.line == 0 else bad.line, bad.message))
    stem = path.rsplit("/", 1)[-1].removesuffix(".md")
    _check_id(stem, path, problems)
    if not body.strip():
        problems.append(Problem(path, body_line - 1, "the article has no text after the front "
                                "matter; put the article's paragraphs below the closing ---"))
    problems.sort(key=lambda p: p.line)
    if any(p.severity == "error" for p in problems):
        return None, problems, None
    key, name = _resolve_source(str(values["source"]), sources)
    article = Article(
        id=stem, title=str(values["title"]), source=key, body=body, text=body_text(body),
        path=path, published=values["published"], url=values["url"],  # type: ignore[arg-type]
        authors=values["authors"], story_key=values["story"],  # type: ignore[arg-type]
        language=str(values["language"]), boilerplate=str(values["boilerplate"]),
    )
    return article, problems, name


def _split_front_matter(text: str) -> tuple[str, str, int]:
    """Return (front matter YAML, body, body's first line); raise _Bad when it is missing."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _Bad(line, "the file contains a NUL byte, so it is not a text file; remove the "
                         "NUL characters or re-save the file as plain UTF-8 text")
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _Bad(1, "the file is empty; start it with front matter (a '---' line, 'title: ...', "
                      "'source: ...', a '---' line) followed by the article text")
    first_end = text.find("\n")
    first = text if first_end < 0 else text[:first_end]
    if first.rstrip() != "---":
        hint = "start the file with a line '---', then 'title: ...' and 'source: ...', then '---'"
        if first.strip() == "" and text.lstrip().startswith("---"):
            hint = "remove the blank lines before the opening '---'"
        raise _Bad(1, f"no front matter: the first line must be '---'; {hint}")
    if first_end < 0:
        raise _Bad(1, "the front matter opened on line 1 is never closed; add a line '---' after "
                      "the last field")
    closing = _DELIMITER.search(text, first_end + 1)
    if closing is None:
        raise _Bad(1, "the front matter opened on line 1 is never closed; add a line '---' after "
                      "the last field, before the article text")
    front = text[first_end + 1:closing.start()]
    body_start = text.find("\n", closing.end())
    body = "" if body_start < 0 else text[body_start + 1:].lstrip("\n")
    return front, body, text.count("\n", 0, closing.start()) + 2


def _compose(front: str, first_line: int) -> yaml.Node | None:
    """Compose YAML into nodes (kept untyped, so we see raw text and line marks)."""
    try:
        return yaml.compose(front, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        what = err.problem or "syntax error"
        raise _Bad(line, f"the front matter is not valid YAML ({what}); check the quoting on this "
                         "line: text containing ': ' or starting with a quote or '[' must be put "
                         "in quotes") from None
    except yaml.YAMLError as err:
        position = getattr(err, "position", 0) or 0
        line = first_line + front.count("\n", 0, position)
        raise _Bad(line, f"the front matter is not valid YAML ({getattr(err, 'reason', err)}); "
                         "remove control characters from this line") from None


def _collect_fields(
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


def _text_of(node: yaml.Node | None, field: str) -> str | None:
    """Return a scalar node's text, None for a missing/null value; raise _Bad for lists/maps."""
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
        return None
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a set of key: value pairs"
        raise _Bad(0, f"{field} must be a single piece of text, not {kind}; write "
                      f"'{field}: ...' on one line")
    return node.value


def _check_title(node: yaml.Node | None) -> str:
    """Validate the required title."""
    text = _text_of(node, "title")
    if text is None and node is None:
        raise _Bad(1, "the front matter has no title; add a line 'title: <the headline>'")
    title = " ".join((text or "").split())
    if not title:
        raise _Bad(0, "title is empty; write the headline after 'title:'")
    return title


def _check_source(node: yaml.Node | None) -> str:
    """Validate the required outlet (a key from sources.yml or an outlet name)."""
    text = _text_of(node, "source")
    if text is None and node is None:
        raise _Bad(1, "the front matter has no source; add 'source: <outlet key from "
                      "sources.yml, or the outlet's name>'")
    source = " ".join((text or "").split())
    if not source:
        raise _Bad(0, "source is empty; write the outlet's key from sources.yml or its name")
    return source


def _check_published(node: yaml.Node | None) -> datetime | None:
    """Validate the optional publication date (date, or datetime with a zone)."""
    text = _text_of(node, "published")
    if text is None or not text.strip():
        return None
    try:
        return parse_published(text)
    except ValueError as err:
        raise _Bad(0, str(err)) from None


def _check_url(node: yaml.Node | None) -> str | None:
    """Validate the optional http(s) URL."""
    text = _text_of(node, "url")
    if text is None or not text.strip():
        return None
    try:
        return check_url(text)
    except ValueError as err:
        raise _Bad(0, str(err)) from None


def _check_authors(node: yaml.Node | None) -> tuple[str, ...]:
    """Validate authors: one name or a list of names."""
    if isinstance(node, yaml.SequenceNode):
        names = []
        for item in node.value:
            name = _text_of(item, "each author")
            if name is None or not name.strip():
                raise _Bad(2 + item.start_mark.line, "an author's name is empty; remove the "
                                                     "empty '-' entry or fill it in")
            names.append(" ".join(name.split()))
        return tuple(names)
    if isinstance(node, yaml.MappingNode):
        raise _Bad(0, "authors must be a name or a list of names, e.g. 'authors: [Jane Doe]'")
    text = _text_of(node, "authors")
    return (" ".join(text.split()),) if text and text.strip() else ()


def _check_story(node: yaml.Node | None) -> str | None:
    """Validate the optional manual story key (a slug)."""
    text = _text_of(node, "story")
    if text is None or not text.strip():
        return None
    key = text.strip()
    if not _SAFE_ID.match(key):
        raise _Bad(0, f"story '{key}' must use only letters, digits, '-' and '_' (no dots, "
                      f"slashes or spaces); write e.g. 'story: {make_slug(key)}'")
    return key


def _check_language(node: yaml.Node | None) -> str:
    """Validate the language tag (BCP 47 style, default 'en')."""
    text = _text_of(node, "language")
    if text is None or not text.strip():
        return "en"
    tag = text.strip()
    if not _LANGUAGE.match(tag):
        raise _Bad(0, f"language '{tag}' is not a language tag; write a code such as en, fr, "
                      "pt-BR or zh-Hant")
    return tag


def _check_boilerplate(node: yaml.Node | None) -> str:
    """Validate the optional boilerplate text (kept, never rendered)."""
    if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        raise _Bad(0, "boilerplate must be text; write 'boilerplate: |' and the lines below it, "
                      "indented by two spaces")
    return _text_of(node, "boilerplate") or ""


_CHECKS = {
    "title": _check_title, "source": _check_source, "published": _check_published,
    "url": _check_url, "authors": _check_authors, "story": _check_story,
    "language": _check_language, "boilerplate": _check_boilerplate,
}


def _check_id(stem: str, path: str, problems: list[Problem]) -> None:
    """Report a file name that cannot be an article id (used in URLs)."""
    if not _SAFE_ID.match(stem):
        problems.append(Problem(path, 1, f"the file name '{stem}' cannot be an article id: use "
                                "only letters, digits, '-' and '_' (no dots or spaces); rename "
                                f"it, e.g. to {make_slug(stem)}.md"))
    elif stem.lower() in RESERVED_IDS:
        problems.append(Problem(path, 1, f"the file name '{stem}' is reserved for a site page; "
                                f"rename it, e.g. to {stem.lower()}-article.md"))


def _resolve_source(value: str, sources: Mapping[str, Source]) -> tuple[str, str | None]:
    """Return (outlet key, free name or None when the outlet is declared in sources.yml)."""
    if value in sources:
        return value, None
    folded = value.casefold()
    for key in sorted(sources):
        if sources[key].name.casefold() == folded:
            return key, None
    slug = make_slug(value)
    if slug in sources:
        return slug, None
    return slug, value


def load_sources(content_dir: Path) -> tuple[dict[str, Source], list[Problem]]:
    """Read content/sources.yml (outlet key -> name, homepage, kind); return outlets, problems."""
    problems: list[Problem] = []
    return _read_sources(Path(content_dir), problems), problems


def _read_sources(content_dir: Path, problems: list[Problem]) -> dict[str, Source]:
    """Parse sources.yml into outlets by key, appending problems."""
    path = content_dir / SOURCES_FILE
    shown = path.as_posix()
    if not path.exists():
        return {}
    try:
        node = _compose(_decode(path.read_bytes()).replace("\r\n", "\n"), 1)
    except OSError as err:
        problems.append(Problem(shown, 1, f"cannot read the file ({err.strerror}); fix its "
                                "permissions or remove it"))
        return {}
    except _Bad as bad:
        problems.append(Problem(shown, bad.line, bad.message))
        return {}
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(Problem(shown, 1, "sources.yml must map outlet keys to their details, e.g."
                                " 'ap:' then indented 'name: ...', 'homepage: ...', 'kind: ...'"))
        return {}
    sources: dict[str, Source] = {}
    for key_node, value_node in node.value:
        line = 1 + key_node.start_mark.line
        try:
            source = _parse_source(key_node, value_node)
        except _Bad as bad:
            problems.append(Problem(shown, bad.line or line, bad.message))
            continue
        if source.key in sources:
            problems.append(Problem(shown, line, f"outlet '{source.key}' is defined twice; keep "
                                    "one entry"))
            continue
        sources[source.key] = source
        extra = value_node.value if isinstance(value_node, yaml.MappingNode) else []
        for name in (k.value for k, _ in extra if k.value not in SOURCE_FIELDS):
            problems.append(Problem(shown, line, f"unknown field '{name}' in outlet '{source.key}'"
                                    " is ignored; known fields: name, homepage, kind", "warning"))
    return sources


def _parse_source(key_node: yaml.Node, value_node: yaml.Node) -> Source:
    """Validate one sources.yml entry."""
    key = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
    if not _SAFE_ID.match(key) or key != key.lower():
        raise _Bad(0, f"outlet key '{key}' must be lowercase letters, digits, '-' and '_'; "
                      f"write e.g. '{make_slug(str(key))}:'")
    if isinstance(value_node, yaml.ScalarNode):
        name = _text_of(value_node, "the outlet name")
        return Source(key, " ".join((name or key).split()))
    if not isinstance(value_node, yaml.MappingNode):
        raise _Bad(0, f"outlet '{key}' must have indented 'name:', 'homepage:' and 'kind:' lines")
    found = {k.value: v for k, v in value_node.value if isinstance(k, yaml.ScalarNode)}
    lines = {k.value: 1 + k.start_mark.line for k, _ in value_node.value}
    name = _text_of(found.get("name"), "name")
    if not name or not name.strip():
        raise _Bad(lines.get("name", 0), f"outlet '{key}' has no name; add 'name: <the outlet's "
                                         "name as it writes it>'")
    homepage = _text_of(found.get("homepage"), "homepage")
    if homepage:
        try:
            homepage = check_url(homepage, "homepage")
        except ValueError as err:
            raise _Bad(lines["homepage"], str(err)) from None
    kind = _text_of(found.get("kind"), "kind")
    if kind is not None and kind not in SOURCE_KINDS:
        raise _Bad(lines["kind"], f"kind '{kind}' is not one of {', '.join(SOURCE_KINDS)}; "
                                  "pick the closest")
    return Source(key, " ".join(name.split()), homepage or None, kind)
