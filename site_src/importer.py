"""Import raw article text (e.g. a copied web page) into a content Markdown file.

Every non-empty line of the raw text ends up, unchanged apart from surrounding whitespace, in
exactly one place: the title, the body, or the `boilerplate` field (page furniture: photo
captions and credits, teasers, ads, comment prompts, date and byline lines). Nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from site_src.frontmatter import check_url, make_slug, parse_published
from site_src.furniture import (
    find_authors,
    find_outlet,
    find_published,
    first_sentence,
    is_end_marker,
    is_furniture_line,
    is_headline,
    is_list_label,
    is_prose,
    teaser_target,
)
from site_src.model import Source
from site_src.sources import load_sources

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
