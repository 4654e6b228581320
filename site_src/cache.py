"""Incremental build state in `.cache/`: input digests, page keys and cached story analyses.

Everything is keyed by content: a content file by the SHA-256 of its bytes (its size and
modification time only spare re-reading a file that was not touched), a story analysis by its
members' article fingerprints and the code version, a page by the fingerprints of what it
shows. The code version covers every module of `site_src/` and the versions of the libraries
that shape the output, so a code change starts a clean build. A missing, partial, foreign or
corrupt cache is simply ignored (the build is then a clean one).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import pickle
import shutil
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from importlib import metadata
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

from site_src.config import Config
from site_src.model import Article, Problem
from site_src.render import bundled_templates
from site_src.stores import (  # noqa: F401 - re-exported: the build's caches
    ANALYSES_FILE,
    EXPORT_FILE,
    PARTS_FILE,
    TALLIES_FILE,
    AnalysisStore,
    ExportStore,
    LazyAnalysis,
    PartStore,
    SqliteStore,
    TallyStore,
    paused_gc,
)

STATE_FILE = "state.pickle"
T = TypeVar("T")
SEARCH_FOLDER = "search"
FEATURES_FILE = "features.pickle"
_FEATURES_MAGIC = b"newsdiff-features-1\n"  # then sizes, the pickle and its arrays
SPARE_FOLDER = "spare"  # the previous site, staged in by the next build (output.py)
FORMAT = 1
# Libraries whose version can change the bytes of the site.
LIBRARIES = ("jinja2", "markdown-it-py", "Whoosh-Reloaded", "PyYAML", "rapidfuzz", "scipy",
             "scikit-learn", "numpy", "MarkupSafe")
# Modules that never shape the output (the preview and the import command).
NEUTRAL_MODULES = frozenset({"serve.py", "watch.py", "importer.py"})
# Settings that never change the output's bytes.
NEUTRAL_SETTINGS = frozenset({"root", "out_dir", "cache_dir", "jobs", "progress", "strict", "dask",
                              "dask_local"})

FileStat = tuple[int, int, str]  # size, mtime_ns, sha256 hex


@dataclass
class State:
    """What the previous build consumed and produced (pickled into .cache/state.pickle)."""

    code: str
    content: dict[str, FileStat] = field(default_factory=dict)
    templates: str = ""
    settings: str = ""
    pages: dict[str, str] = field(default_factory=dict)  # output path -> page key
    rows: dict[str, str] = field(default_factory=dict)  # search document key -> row digest
    site_id: tuple[int, int, int] | None = None  # identity of the output folder it wrote
    out_dir: str = ""
    problems: tuple[Problem, ...] = ()
    files: int = 0
    format: int = FORMAT


def digest(*parts: object) -> str:
    """Return a SHA-256 hex digest of the reprs of parts (stable across runs)."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8") if isinstance(part, str) else repr(part).encode())
        hasher.update(b"\x00")
    return hasher.hexdigest()


def code_version() -> str:
    """Return a digest of the package's source files, Python and the output-shaping libraries."""
    package = Path(__file__).resolve().parent
    hasher = hashlib.sha256(sys.version.encode())
    for path in sorted(p for p in package.glob("*.py") if p.name not in NEUTRAL_MODULES):
        hasher.update(path.name.encode() + b"\x00" + path.read_bytes())
    for name in LIBRARIES:
        try:
            hasher.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            hasher.update(f"{name}=none".encode())
    return hasher.hexdigest()


def templates_version(config: Config) -> str:
    """Return a digest of every template and static file the build may read."""
    hasher = hashlib.sha256()
    folders = dict.fromkeys((config.templates_dir.resolve(), bundled_templates()))
    for place, folder in enumerate(folders):  # user templates first, then the bundled ones
        hasher.update(f"{place}".encode() + b"\x00")
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = path.relative_to(folder).as_posix()
                hasher.update(rel.encode() + b"\x00" + path.read_bytes() + b"\x00")
    return hasher.hexdigest()


def settings_version(config: Config) -> str:
    """Return a digest of the settings that shape the output (not where it goes)."""
    shown = {f.name: str(getattr(config, f.name)) for f in fields(config)
             if f.name not in NEUTRAL_SETTINGS}
    return digest(sorted(shown.items()))


def scan_content(content_dir: Path, known: Mapping[str, FileStat]) -> dict[str, FileStat]:
    """Return (size, mtime, sha256) of every file under content_dir, re-hashing touched ones."""
    found: dict[str, FileStat] = {}
    seen: set[tuple[int, int]] = set()

    def walk(folder: str, prefix: str) -> None:
        """Scan one folder (symlinked folders followed once)."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            rel = prefix + entry.name
            try:
                stat = entry.stat()
            except OSError:
                continue
            if entry.is_dir():
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    walk(entry.path, rel + "/")
                continue
            if not S_ISREG(stat.st_mode):  # FIFOs, sockets, devices: never opened
                continue
            old = known.get(rel)
            if old is not None and old[0] == stat.st_size and old[1] == stat.st_mtime_ns:
                found[rel] = old
                continue
            try:
                with open(entry.path, "rb") as handle:
                    sha = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                continue
            found[rel] = (stat.st_size, stat.st_mtime_ns, sha)

    if content_dir.is_dir():
        walk(str(content_dir), "")
    return found


def same_content(left: Mapping[str, FileStat], right: Mapping[str, FileStat]) -> bool:
    """Tell whether two scans list the same files with the same bytes."""
    return left.keys() == right.keys() and all(left[k][2] == right[k][2] for k in left)


def site_identity(out_dir: Path) -> tuple[int, int, int] | None:
    """Return what identifies one written site: its folder's and marker's inode and mtime."""
    from site_src.output import MARKER

    try:
        folder = out_dir.stat()
        marker = (out_dir / MARKER).stat()
    except OSError:
        return None
    return (folder.st_ino, marker.st_ino, marker.st_mtime_ns)


def load_state(cache_dir: Path, code: str) -> State | None:
    """Return the previous build's state, or None when missing, corrupt or from other code."""
    try:
        with open(cache_dir / STATE_FILE, "rb") as handle:
            state = pickle.load(handle)
    except Exception:  # noqa: BLE001 - any unreadable cache means a clean build
        return None
    if not isinstance(state, State) or state.format != FORMAT or state.code != code:
        return None
    return state


def save_state(cache_dir: Path, state: State) -> None:
    """Write the state atomically (temporary file, then rename)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cache_dir / f".{STATE_FILE}.{os.getpid()}"
    with open(temporary, "wb") as handle:
        pickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, cache_dir / STATE_FILE)


def article_fingerprint(article: Article) -> str:
    """Return a digest of everything an article carries."""
    return digest(article)


def analysis_key(code: str, fingerprints: Iterable[str]) -> str:
    """Return the cache key of a story analysis: the code and its members, in order."""
    return digest(code, tuple(fingerprints))


def load_features(cache_dir: Path, code: str) -> Any:
    """Return the last build's per-article clustering features (cluster_memo.ArticleRows), or
    None when missing, corrupt or made by other code. Its arrays are read-only views of the
    memory-mapped file (`save_features`): nothing is copied until a build reads it."""
    try:
        with open(cache_dir / FEATURES_FILE, "rb") as handle:
            data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
        at = len(_FEATURES_MAGIC)
        if data[:at] != _FEATURES_MAGIC:
            return None
        head, count = struct.unpack_from("<QQ", data, at)
        sizes = struct.unpack_from(f"<{count}Q", data, at + 16)
        start = at + 16 + 8 * count
        buffers, offset = [], _aligned(start + head)
        for size in sizes:
            if offset + size > len(data):  # cut short
                return None
            buffers.append(data[offset:offset + size])
            offset = _aligned(offset + size)
        with paused_gc():
            made_by, rows = pickle.loads(data[start:start + head], buffers=buffers)
    except Exception:  # noqa: BLE001 - no usable features: cluster from scratch
        return None
    return rows if made_by == code else None


_ALIGN = 64  # arrays start on this boundary in the features file


def _aligned(offset: int) -> int:
    """Return offset rounded up to the next array boundary."""
    return -(-offset // _ALIGN) * _ALIGN


def in_background(work: Callable[[], T]) -> Callable[[], T]:
    """Start work in a thread (file reads and writes let the build go on meanwhile); return a
    function that waits for it and gives its result or raises its error."""
    outcome: list = []

    def run() -> None:
        """Do the work, keeping its result or error."""
        try:
            outcome.append((True, work()))
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits
            outcome.append((False, error))

    thread = threading.Thread(target=run, name="cache-io")
    thread.start()

    def wait() -> T:
        """Wait for the work; return its result or raise its error."""
        thread.join()
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    return wait


def save_features(cache_dir: Path, code: str, rows: object) -> None:
    """Keep this build's per-article clustering features (written atomically): a pickle whose
    large arrays follow it out of band, aligned, so the next build maps them (load_features)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    arrays: list[pickle.PickleBuffer] = []
    head = pickle.dumps((code, rows), protocol=5, buffer_callback=arrays.append)
    views = [array.raw() for array in arrays]
    temporary = cache_dir / f".{FEATURES_FILE}.{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(_FEATURES_MAGIC)
        handle.write(struct.pack(f"<QQ{len(views)}Q", len(head), len(views),
                                 *(view.nbytes for view in views)))
        handle.write(head)
        for view in views:
            handle.write(bytes(_aligned(handle.tell()) - handle.tell()))
            handle.write(view)
    os.replace(temporary, cache_dir / FEATURES_FILE)


def save_index(cache_dir: Path, index_dir: Path, rows: Mapping[str, str]) -> None:
    """Keep the site's Whoosh index and its row digests in the cache (for a runner that
    restores .cache/ but not the previous site); replaced whole, never half-written."""
    from site_src.output import link_tree

    target = cache_dir / SEARCH_FOLDER
    fresh = cache_dir / f".{SEARCH_FOLDER}.new-{os.getpid()}"
    old = cache_dir / f".{SEARCH_FOLDER}.old-{os.getpid()}"
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    link_tree(index_dir, fresh / "whoosh")
    with open(fresh / "rows.pickle", "wb") as handle:
        pickle.dump(dict(rows), handle, protocol=pickle.HIGHEST_PROTOCOL)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def load_index(cache_dir: Path) -> tuple[Path, dict[str, str]] | None:
    """Return the cached Whoosh index folder and its row digests, or None."""
    folder = cache_dir / SEARCH_FOLDER
    try:
        with open(folder / "rows.pickle", "rb") as handle:
            rows = pickle.load(handle)
    except Exception:  # noqa: BLE001 - no usable cached index
        return None
    if not isinstance(rows, dict) or not (folder / "whoosh").is_dir():
        return None
    return folder / "whoosh", rows
