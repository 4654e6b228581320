"""The parse cache: every content file's parse, kept so that a build re-reads only changed files.

Unpickling tens of thousands of parsed articles costs seconds, most of it decoding their
texts, which an incremental build hardly reads (it renders few pages and re-analyses few
stories). So the cache keeps the small fields of each parse in one pickled index and the
long strings (body, text, boilerplate) as UTF-8 in data files mapped into memory: a loaded
article is a `LazyArticle`, which reads a long field only when it is first used.

Layout in `.cache/parsed/`: `index.pickle` holds, by relative path, (parse key, fingerprint,
headline print, problems, outlet name, article row); a row names the data file holding its
long texts (written once, never appended to, so two builds cannot mix their bytes).
`journal.pickle` holds the parses made since (texts inline) and the paths gone: a build that
parses a few files rewrites only the journal. When the journal grows large the index is
written whole, the journal's texts go to a new data file, and data files that are many or
mostly dead are merged. Both files are replaced atomically; the journal names the index it
follows. A missing, foreign or damaged cache reads as empty (every file is parsed again).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from site_src.cache import digest
from site_src.model import Article
from site_src.stores import paused_gc

PARSED_FOLDER = "parsed"
INDEX_FILE = "index.pickle"
JOURNAL_FILE = "journal.pickle"
JOURNAL_MAX = 400  # parses the journal holds before the index is rewritten whole
JOURNAL_MAX_CHARS = 8_000_000  # and characters of their texts
LEGACY_FILE = "parsed.sqlite"  # where earlier versions kept parses
FORMAT = 2
LONG_FIELDS = ("body", "text", "boilerplate")
INLINE_CHARS = 48  # shorter long-field values are kept in the index itself
MAX_DATA_FILES = 24  # more data files than this, or more dead bytes than live: compact
_FIELDS = tuple(f.name for f in fields(Article))
_SHORT = tuple(name for name in _FIELDS if name not in LONG_FIELDS)
SHARED = "="  # the body slot of an article whose body is its text (one string for both)

Entry = tuple[Any, str, str]  # (content.Parsed, fingerprint, headline_print)


class DataFile:
    """One data file of the cache, mapped read-only (stays valid after the file is removed)."""

    def __init__(self, path: Path) -> None:
        self.folder, self.name = path.parent, path.name
        with open(path, "rb") as handle:
            self.size = os.fstat(handle.fileno()).st_size
            self.data: Any = (mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                              if self.size else b"")

    def read(self, start: int, end: int) -> str:
        """Return the text stored at [start, end)."""
        if end > self.size:
            raise OSError("the parse cache's data file is shorter than its index says")
        return self.data[start:end].decode("utf-8")


class _LongField:
    """A long Article field read from its data file on first use (then held)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, article: Any, owner: type | None = None) -> Any:
        """Return the field's value, reading it once."""
        if article is None:
            return self
        held = article.__dict__
        data, slots, _row = held["_stored"]
        slot = slots[LONG_FIELDS.index(self.name)]
        if slot == SHARED:
            value = article.text
        elif isinstance(slot, str):
            value = slot
        else:
            value = data.read(*slot)
        held[self.name] = value
        return value


class LazyArticle(Article):
    """An Article whose body, text and boilerplate stay in the parse cache until read; it
    compares, hashes, prints and pickles as the plain Article it stands for."""

    body = _LongField("body")
    text = _LongField("text")
    boilerplate = _LongField("boilerplate")

    def values(self) -> tuple:
        """Return the field values, in field order."""
        return tuple(getattr(self, name) for name in _FIELDS)

    def plain(self) -> Article:
        """Return the plain Article."""
        return Article(*self.values())

    def __eq__(self, other: object) -> bool:
        """Compare as the plain Article."""
        if not isinstance(other, Article):
            return NotImplemented
        return self.values() == tuple(getattr(other, name) for name in _FIELDS)

    def __hash__(self) -> int:
        """Hash as the plain Article."""
        return hash(self.values())

    def __repr__(self) -> str:
        """Print as the plain Article."""
        return repr(self.plain())

    def __reduce__(self) -> tuple:
        """Pickle as the plain Article."""
        return (Article, self.values())


def _make_lazy(stub: tuple, files: Mapping[str | None, DataFile | None]) -> LazyArticle:
    """Return the LazyArticle an index stub describes."""
    article = object.__new__(LazyArticle)
    held = article.__dict__
    held.update(zip(_SHORT, stub[1:1 + len(_SHORT)], strict=True))
    held["_stored"] = (files[stub[0]], stub[-len(LONG_FIELDS):], stub)
    return article


def load_parses(cache_dir: Path) -> dict[str, Entry]:
    """Return relative path -> (content.Parsed, fingerprint, headline print) as kept."""
    folder = (cache_dir / PARSED_FOLDER).resolve()
    try:
        stamp = _stamp(folder / INDEX_FILE)
        with open(folder / INDEX_FILE, "rb") as handle, paused_gc():
            index = pickle.load(handle)
        if index.get("format") != FORMAT:
            return {}
        files: dict[str | None, DataFile | None] = {None: None}
        for name, size in index["sizes"].items():
            files[name] = DataFile(folder / name)
            if files[name].size != size:  # type: ignore[union-attr]
                return {}  # a data file was cut short or replaced
        stubs = index["entries"]
        journal = _read_journal(folder, stamp)
        if journal is not None:
            stubs = {**stubs, **journal["entries"]}
            for rel in journal["removed"]:
                stubs.pop(rel, None)
        found: dict[str, Entry] = {}
        with paused_gc():
            for rel, (key, fingerprint, headline, problems, name, stub) in stubs.items():
                article = None if stub is None else _make_lazy(stub, files)
                found[rel] = ((key, article, problems, name), fingerprint, headline)
    except Exception:  # noqa: BLE001 - an unreadable cache: every file is parsed again
        return {}
    return found


def headline_print(article: Article) -> str:
    """Return a digest of an article's short fields (all but body, text and boilerplate)."""
    return digest(*(getattr(article, name) for name in _SHORT))


def save_parses(cache_dir: Path, entries: Mapping[str, Entry], made: Collection[str],
                removed: Collection[str]) -> None:
    """Keep the parses in entries: those in made are new, those in removed are gone.

    A few changes go to the journal (their texts inline); many, or a journal grown large,
    rewrite the index whole (texts to a data file)."""
    folder = (cache_dir / PARSED_FOLDER).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(folder / INDEX_FILE)
    journal = _read_journal(folder, stamp) if stamp is not None else None
    if journal is not None and len(made) <= JOURNAL_MAX:
        added = {**journal["entries"], **{rel: _stub_of(entries[rel], None) for rel in made}}
        gone = (journal["removed"] | set(removed)) - added.keys()
        for rel in removed:
            added.pop(rel, None)
        size = sum(len(slot) for *_, stub in added.values() if stub is not None
                   for slot in stub[-len(LONG_FIELDS):] if isinstance(slot, str))
        if len(added) + len(gone) <= JOURNAL_MAX and size <= JOURNAL_MAX_CHARS:
            _write_pickle(folder / JOURNAL_FILE, {"base": stamp, "entries": added,
                                                  "removed": gone})
            return
    _rewrite(folder, entries, made)
    (cache_dir / LEGACY_FILE).unlink(missing_ok=True)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Return what identifies one written index file (inode, size, time), or None."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _read_journal(folder: Path, stamp: tuple | None) -> dict | None:
    """Return the journal of changes made since the index with this stamp was written."""
    try:
        with open(folder / JOURNAL_FILE, "rb") as handle:
            journal = pickle.load(handle)
    except Exception:  # noqa: BLE001 - no usable journal: an empty one
        return {"base": stamp, "entries": {}, "removed": set()}
    return journal if journal.get("base") == stamp else None


def _write_pickle(path: Path, value: object) -> None:
    """Write a pickle atomically (temporary file, then rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    with open(temporary, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


class _Writer:
    """Long texts queued for one new data file."""

    def __init__(self) -> None:
        self.name = f"{time.time_ns():016x}-{os.getpid()}-{threading.get_ident()}.data"
        self.chunks: list[bytes] = []
        self.size = 0

    def put(self, data: bytes) -> tuple[int, int]:
        """Queue bytes; return where they will lie in the file."""
        self.chunks.append(data)
        self.size += len(data)
        return (self.size - len(data), self.size)

    def write(self, folder: Path) -> None:
        """Write the file (nothing when no text was queued)."""
        if self.chunks:
            with open(folder / self.name, "wb") as handle:
                handle.writelines(self.chunks)


def _stub_of(entry: Entry, writer: _Writer | None) -> tuple:
    """Return the index row of one parse: its long fields inline (no writer), or those
    longer than INLINE_CHARS queued in the writer's data file."""
    (key, article, problems, name), fingerprint, headline = entry
    stub = None
    if article is not None:
        slots: list[object] = []
        for field_name in LONG_FIELDS:
            value = getattr(article, field_name)
            if field_name == "body" and value is article.text:
                slots.append(SHARED)
            elif writer is None or len(value) <= INLINE_CHARS:
                slots.append(value)
            else:
                slots.append(writer.put(value.encode("utf-8")))
        where = None if writer is None else writer.name
        stub = (where, *(getattr(article, n) for n in _SHORT), *slots)
    return (key, fingerprint, headline, problems, name, stub)


def _rewrite(folder: Path, entries: Mapping[str, Entry], made: Collection[str]) -> None:
    """Write the index whole: texts of new parses (and of the journal's) to a new data file,
    the others' rows as they were; then merge data files that are many or mostly dead."""
    writer = _Writer()
    stubs = {}
    for rel, entry in entries.items():
        (key, article, problems, name), fingerprint, headline = entry
        stored = article.__dict__.get("_stored") if article is not None else None
        if (rel not in made and stored is not None and stored[0] is not None
                and stored[0].folder == folder):
            stubs[rel] = (key, fingerprint, headline, problems, name, stored[2])
        else:
            stubs[rel] = _stub_of(entry, writer)
    writer.write(folder)
    merged = _to_compact(folder, stubs)
    if merged:
        stubs = _compact(folder, stubs, merged)
    names = sorted(_names(stubs))
    _write_pickle(folder / INDEX_FILE, {"format": FORMAT, "entries": stubs, "sizes": {
        name: (folder / name).stat().st_size for name in names}})
    (folder / JOURNAL_FILE).unlink(missing_ok=True)
    for path in folder.glob("*.data"):  # not a data file that a build running now just made
        if path.name not in names and path.name < writer.name:
            with contextlib.suppress(OSError):
                path.unlink()


def _names(stubs: Mapping[str, tuple]) -> set[str]:
    """Return the data files the rows use."""
    return {row[-1][0] for row in stubs.values() if row[-1] is not None} - {None}


def _to_compact(folder: Path, stubs: Mapping[str, tuple]) -> set[str]:
    """Return the data files whose live texts should be copied into one: all when most bytes
    are dead, else all but the largest when the files are too many."""
    sizes = {name: (folder / name).stat().st_size for name in _names(stubs)}
    live = sum(slot[1] - slot[0] for *_, stub in stubs.values() if stub is not None
               for slot in stub[-len(LONG_FIELDS):] if isinstance(slot, tuple))
    if sum(sizes.values()) > 2 * live + (1 << 20):
        return set(sizes)
    if len(sizes) > MAX_DATA_FILES:
        return set(sizes) - {max(sizes, key=lambda name: (sizes[name], name))}
    return set()


def _compact(folder: Path, stubs: Mapping[str, tuple], merged: set[str]) -> dict[str, tuple]:
    """Copy the live texts of the merged data files into one new file; return the rows."""
    sources = {name: DataFile(folder / name) for name in merged}
    writer = _Writer()
    rows = {}
    for rel, row in stubs.items():
        stub = row[-1]
        if stub is not None and stub[0] in merged:
            data = sources[stub[0]].data
            slots = [writer.put(data[slot[0]:slot[1]]) if isinstance(slot, tuple) else slot
                     for slot in stub[-len(LONG_FIELDS):]]
            row = (*row[:-1], (writer.name, *stub[1:-len(LONG_FIELDS)], *slots))
        rows[rel] = row
    writer.write(folder)
    return rows
