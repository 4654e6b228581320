"""Load the corpus: each content/**/*.md (YAML front matter + Markdown) -> a validated Article.

Every problem is a `Problem(path, line, message)` whose message says what is wrong and how to fix
it. Bad files are reported and skipped; the rest loads. Loading never writes anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat as stat_mode
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from site_src import executor
from site_src.frontmatter import (
    SAFE_ID,
    Bad,
    check_fields,
    collect_fields,
    compose_yaml,
    decode_utf8,
    make_slug,
    split_front_matter,
)
from site_src.model import Article, Corpus, Problem, Source
from site_src.sources import load_sources, resolve_source
from site_src.text import plain_text, words

# A news article is far smaller; a bigger file is a dump or a mistake and would slow every build.
MAX_FILE_BYTES = 2_000_000
PARALLEL_MIN_FILES = 2000  # files to parse before the build's worker processes pay

RESERVED_IDS = frozenset(
    {"index", "static", "search", "feed", "sitemap", "robots", "404", "sources", "stories",
     "articles", "data", "favicon", "assets", "api"}
)

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


# What parsing one file gave: (key, article or None, problems (relative paths), outlet name).
Parsed = tuple[str, Article | None, tuple[Problem, ...], str | None]


def parse_key(data_sha256: str, sources: Mapping[str, Source]) -> str:
    """Return the key a parse is remembered under: the file's bytes and the declared outlets."""
    return f"{data_sha256}:{hashlib.sha256(repr(sorted(sources.items())).encode()).hexdigest()}"


def load_corpus(content_dir: Path, parsed: MutableMapping[str, Parsed] | None = None,
                digests: Mapping[str, str] | None = None) -> Corpus:
    """Read and validate every content/**/*.md and content/sources.yml; never writes anything.

    `parsed` (relative path -> Parsed) remembers parses between calls: a file whose SHA-256
    in `digests` (relative path -> hex digest, e.g. from a scan) matches its remembered key
    is not read again. New parses are stored into `parsed`; the corpus is the same either way.
    """
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
    suffix = parse_key("", declared)
    files = _find_markdown(content_dir, problems)
    remembered = parsed if parsed is not None and digests is not None else {}
    todo = [(rel, path) for rel, path in files
            if rel not in remembered or digests is None
            or remembered[rel][0] != digests.get(rel, "") + suffix]
    fresh = dict(zip((rel for rel, _ in todo), executor.map_ordered(
        _parse_or_fail, todo, shared=declared, min_items=PARALLEL_MIN_FILES), strict=True))
    shown_in = _shown_prefix(content_dir)
    for rel, _path in files:
        shown = shown_in + rel
        known = fresh.get(rel) or remembered[rel]
        if isinstance(known[0], int):  # (line, message): the file could not be read
            problems.append(Problem(shown, known[0], known[1]))
            continue
        if parsed is not None and rel in fresh:
            parsed[rel] = known
        _key, article, found, name = known
        if found:
            problems.extend(Problem(shown, p.line, p.message, p.severity) for p in found)
        if article is None:
            continue
        folded = article.id.casefold()
        if folded in first_path:
            problems.append(Problem(shown, 1, (
                f"article id '{article.id}' is already used by {first_path[folded]} (ids are file "
                "names without .md and must be unique, ignoring case); rename one of the files")))
            continue
        first_path[folded] = shown
        articles.append(article)
        if name is not None:
            free_names.setdefault(article.source, name)
    used = {a.source for a in articles}
    sources = [declared[k] for k in sorted(used) if k in declared]
    sources += [Source(k, free_names[k]) for k in sorted(used) if k not in declared]
    sources.sort(key=lambda s: s.key)
    return Corpus(tuple(articles), tuple(sources), tuple(problems))


def _shown_prefix(content_dir: Path) -> str:
    """Return what goes before a relative path to show a file as (content_dir / rel)."""
    base = content_dir.as_posix()
    return "" if base == "." else base if base.endswith("/") else base + "/"


def _parse_or_fail(declared: Mapping[str, Source], item: tuple[str, str]
                   ) -> Parsed | tuple[int, str]:
    """Parse one content file (a task of the build's executor); (line, message) when it
    cannot be read as UTF-8 text."""
    try:
        return _parse_file(*item, declared)
    except Bad as bad:
        return bad.line, bad.message


def _parse_file(rel: str, path: str, declared: Mapping[str, Source]) -> Parsed:
    """Read and parse one content file; raise Bad when it cannot be read as UTF-8 text."""
    data = read_content_file(path)
    article, found, name = _parse_article(decode_utf8(data), rel, declared)
    return (parse_key(hashlib.sha256(data).hexdigest(), declared), article, tuple(found), name)


def read_content_file(path: str | Path) -> bytes:
    """Read one content file's bytes; raise Bad when it is unreadable, special or too big."""
    try:
        info = os.stat(path)
        if not stat_mode.S_ISREG(info.st_mode):
            raise Bad(1, "this is not a regular file (a pipe, socket or device named .md); "
                         "remove it or replace it with a text file")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise Bad(1, f"cannot read the file ({reason}); check that it exists (a symbolic link "
                     "may point nowhere) and is readable, or remove it") from None
    if len(data) > MAX_FILE_BYTES:
        size = max(info.st_size, len(data)) / 1_000_000
        raise Bad(1, f"the file is {size:.1f} MB; an article may be at most "
                     f"{MAX_FILE_BYTES // 1_000_000} MB (about 300,000 words): remove what is not "
                     "the article, or split it into several articles")
    return data


def _find_markdown(root: Path, problems: list[Problem]) -> list[tuple[str, str]]:
    """List (relative POSIX path, path) of every visible .md file, sorted; skip symlink loops."""
    found: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()

    def report(err: OSError) -> None:
        """Turn an unreadable folder into a problem."""
        where = Path(err.filename or root).as_posix()
        problems.append(Problem(where, 1, f"cannot read this folder ({err.strerror}); check its "
                                "permissions or remove it"))

    top = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(top, onerror=report, followlinks=True):
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
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        folder = dirpath if dirpath.endswith(os.sep) else dirpath + os.sep
        found.extend((prefix + name, folder + name) for name in filenames
                     if name.endswith(".md") and not name.startswith("."))
    found.sort(key=lambda item: item[0])
    return found


def _parse_article(
    raw: str, path: str, sources: Mapping[str, Source]
) -> tuple[Article | None, list[Problem], str | None]:
    """Parse a file; return the article, its problems and the free outlet name (if not declared)."""
    problems: list[Problem] = []
    try:
        front, body, body_line = split_front_matter(raw)
        node = compose_yaml(front, 2)
    except Bad as bad:
        return None, [Problem(path, bad.line, bad.message)], None
    fields = collect_fields(node, problems, path)
    values = check_fields(fields, path, problems)
    stem = path.rsplit("/", 1)[-1].removesuffix(".md")
    _check_id(stem, path, problems)
    text = body_text(body) if body.strip() else ""
    if not body.strip():
        problems.append(Problem(path, body_line - 1, "the article has no text after the front "
                                "matter; put the article's paragraphs below the closing ---"))
    elif not words(text):
        problems.append(Problem(path, body_line, "the article text has no words (only markup, "
                                "punctuation or symbols); put the article's paragraphs below "
                                "the closing ---", "warning"))
    problems.sort(key=lambda p: p.line)
    if any(p.severity == "error" for p in problems):
        return None, problems, None
    if len(body) > len(text) and body.rstrip("\n") == text:
        body = text  # a plain body: one string for both (its final newlines mean nothing)
    key, name = resolve_source(str(values["source"]), sources)
    article = Article(
        id=stem, title=str(values["title"]), source=key, body=body, text=text,
        path=path, published=values["published"], url=values["url"],  # type: ignore[arg-type]
        authors=values["authors"], story_key=values["story"],  # type: ignore[arg-type]
        language=str(values["language"]), boilerplate=str(values["boilerplate"]),
    )
    return article, problems, name


def _check_id(stem: str, path: str, problems: list[Problem]) -> None:
    """Report a file name that cannot be an article id (used in URLs)."""
    if not SAFE_ID.match(stem):
        problems.append(Problem(path, 1, f"the file name '{stem}' cannot be an article id: use "
                                "only letters, digits, '-' and '_' (no dots or spaces); rename "
                                f"it, e.g. to {make_slug(stem)}.md"))
    elif stem.lower() in RESERVED_IDS:
        problems.append(Problem(path, 1, f"the file name '{stem}' is reserved for a site page; "
                                f"rename it, e.g. to {stem.lower()}-article.md"))
