"""The build cache's SQLite stores: story analyses, outlet tallies and the static search
export's entries, each a table of pickled values by key (parsed files: parse_cache.py).

Unreadable entries count as missing, and a corrupt database is replaced by an empty one, so a
damaged cache only costs a clean build. Story analyses stay pickled until read
(`LazyAnalysis`): an incremental build renders few stories but keeps the others in its site.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from site_src.model import StoryAnalysis

ANALYSES_FILE = "analyses.sqlite"
EXPORT_FILE = "export.sqlite"
TALLIES_FILE = "tallies.sqlite"
PARTS_FILE = "parts.sqlite"
_MISSING = object()  # what load_value returns for an unreadable entry


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (unpickling many objects triggers it needlessly)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the cyclic garbage collector off every object that exists now (gc.freeze): it
    then neither walks them again and again nor, in a forked child, copies their memory pages.
    Nests: only the outermost use unfreezes."""
    outer = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        yield
    finally:
        if not outer:
            gc.unfreeze()


def return_free_memory() -> None:
    """Give the memory a large stage freed back to the system (glibc's malloc otherwise keeps
    it for this process, hundreds of MB after clustering a large corpus)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


class SqliteStore:
    """Pickled values in SQLite, by key; unreadable entries count as missing."""

    TABLE = "analyses"

    def __init__(self, cache_dir: Path, name: str = ANALYSES_FILE) -> None:
        self.path = cache_dir / name
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        """Open (or make) the database; a corrupt file is replaced by an empty one."""
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(OSError):
                        Path(f"{self.path}{suffix}").unlink()
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        """Connect and check the table."""
        db = sqlite3.connect(self.path, timeout=30)
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.TABLE} (key TEXT PRIMARY KEY, data BLOB)")
        db.execute(f"SELECT count(*) FROM {self.TABLE}").fetchone()
        return db

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached values among keys."""
        wanted = sorted(set(keys))
        found: dict[str, Any] = {}
        try:
            db = self._connect()
            with paused_gc():
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    for key, data in db.execute(
                            f"SELECT key, data FROM {self.TABLE} WHERE key IN ({marks})", chunk):
                        value = self.load_value(data)
                        if value is not _MISSING:
                            found[key] = value
        except sqlite3.DatabaseError:
            return found
        return found

    def load_value(self, data: Any) -> Any:
        """Return a stored value from its bytes; _MISSING when they cannot be read."""
        try:
            return pickle.loads(data)
        except Exception:  # noqa: BLE001 - an unreadable entry counts as missing
            return _MISSING

    def get_all(self) -> dict[str, Any]:
        """Return every cached value, by key."""
        found: dict[str, Any] = {}
        try:
            db = self._connect()
            with paused_gc():
                for key, data in db.execute(f"SELECT key, data FROM {self.TABLE}"):
                    value = self.load_value(data)
                    if value is not _MISSING:
                        found[key] = value
        except sqlite3.DatabaseError:
            return {}
        return found

    def put_many(self, items: Mapping[str, Any], keep: Iterable[str] | None = None) -> None:
        """Store new values and drop every entry not in keep (None: drop nothing), at once."""
        rows = [(k, pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)) for k, v in items.items()]
        with contextlib.suppress(sqlite3.DatabaseError):
            db = self._connect()
            with db:
                db.executemany(f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?, ?)", rows)
                if keep is None:
                    return
                db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM keep")
                db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
                db.execute(f"DELETE FROM {self.TABLE} WHERE key NOT IN (SELECT key FROM keep)")

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None


class AnalysisStore(SqliteStore):
    """Story analyses by analysis_key, each unpickled only when first read (LazyAnalysis):
    an incremental build reads few of them."""

    def load_value(self, data: Any) -> Any:
        """Return the analysis still pickled (complete pickles only; else _MISSING)."""
        if isinstance(data, bytes) and data[:1] == b"\x80" and data[-1:] == b".":
            return LazyAnalysis(data)
        return _MISSING


_ANALYSIS_FIELDS = frozenset(f.name for f in fields(StoryAnalysis))


class LazyAnalysis(StoryAnalysis):
    """A StoryAnalysis kept pickled until a field is read; it compares, hashes, prints and
    pickles as the analysis it holds."""

    def __init__(self, blob: bytes) -> None:  # noqa: D107 - the fields come from the blob
        object.__setattr__(self, "_blob", blob)

    def __getattribute__(self, name: str) -> Any:
        """Read fields from the unpickled analysis."""
        if name in _ANALYSIS_FIELDS:
            return getattr(object.__getattribute__(self, "real")(), name)
        return object.__getattribute__(self, name)

    def real(self) -> StoryAnalysis:
        """Return the analysis itself (unpickled on first use)."""
        held = self.__dict__.get("_real")
        if held is None:
            with paused_gc():
                held = pickle.loads(self.__dict__["_blob"])
            object.__setattr__(self, "_real", held)
        return held

    def __eq__(self, other: object) -> bool:
        """Compare as the analysis held."""
        return self.real() == (other.real() if isinstance(other, LazyAnalysis) else other)

    def __hash__(self) -> int:
        """Hash as the analysis held."""
        return hash(self.real())

    def __repr__(self) -> str:
        """Print as the analysis held."""
        return repr(self.real())

    def __reduce__(self) -> tuple:
        """Pickle as a plain StoryAnalysis (without unpickling it here)."""
        return (pickle.loads, (self.__dict__["_blob"],))


class ExportStore(SqliteStore):
    """What the static search export needs to update itself: each document's entry by key,
    and under "" the digest of the meta.json it describes, its term count and the (order,
    key) of every document in export order."""

    TABLE = "docs"

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir, EXPORT_FILE)


class TallyStore(SqliteStore):
    """Per-story outlet reuse tallies (tallies.story_tally) by the story's page key."""

    TABLE = "tallies"

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir, TALLIES_FILE)


class PartStore(SqliteStore):
    """How many parts each story's passage table has (passages.part_count), by story key."""

    TABLE = "parts"

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir, PARTS_FILE)
