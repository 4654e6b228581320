"""Writing the site: a staging folder filled beside the output, then swapped in whole.

A build never leaves a half-written site: everything goes to a sibling staging folder, and
only a complete staging folder replaces the output. Files whose bytes did not change are
hard-linked from the previous site, so they keep their modification time (and hosts and
browsers keep their caches).

Making tens of thousands of folders costs seconds on a large site, so with a `spare` folder
(in the build cache) the site a swap replaces is kept there, with the list of its files, and
the next build turns it into its staging folder: only the files that differ are replaced and
the ones the new site lacks deleted. Files are never rewritten in place (a file of the spare
may be a hard link of the live site's): a new file replaces the old name. The list also says
which files each build wrote afresh: every other file of the spare is a link of the live
site's own, so a file to keep needs no comparison unless the last build rewrote it.
When a swap replaces no site that can be kept (a clean build), the new site's files are
linked into a fresh spare tree, so the first build after it does not make every folder again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

MARKER = ".newsdiff-site"
PAUSE_ENV = "NEWSDIFF_PAUSE_AFTER_FILES"
SPARE_TREE = "tree"
SPARE_LIST = "files.pickle"
SPARE_FORMAT = 2
# Staging folders being filled: the files a reused spare holds, what write_files left there,
# which of them it wrote afresh, and which spare files are known to be the live site's own.
_REUSED: dict[Path, frozenset[str]] = {}
_WRITTEN: dict[Path, frozenset[str]] = {}
_FRESH: dict[Path, frozenset[str]] = {}
_SHARED: dict[Path, frozenset[str]] = {}


class OutputError(RuntimeError):
    """The output folder cannot be written safely; the message says why."""


class MissingPrevious(OutputError):
    """A file to keep from the previous site is not there (the site was changed by hand)."""


def check_output_dir(out_dir: Path, content_dir: Path) -> None:
    """Refuse output folders that would overwrite the corpus or a folder we did not make."""
    out = out_dir.resolve()
    content = content_dir.resolve()
    if out == content or content.is_relative_to(out) or out.is_relative_to(content):
        raise OutputError(
            f"{out_dir}: the output folder overlaps the corpus folder {content_dir}; "
            "choose another --out, e.g. _site"
        )
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise OutputError(
            f"{out_dir}: exists, is not empty and was not made by this tool; "
            "choose another --out or remove the folder yourself"
        )


@contextlib.contextmanager
def staged_output(out_dir: Path, defer_removal: bool = False, spare: Path | None = None,
                  own: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a staging folder; on success swap it in as out_dir, on failure drop it.

    With defer_removal, a replaced site that is not kept is renamed aside and deleted by a
    detached process, so a large site's old copy does not hold up the build. With a spare
    folder, the replaced site is kept there and the next build stages in it (see the module
    docstring); `own` lists the folders (relative paths) the caller fills itself rather than
    through write_files: a reused staging folder starts without them.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_output(out_dir)
    stage = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    trees = _read_list(spare) if spare is not None else {}
    previous = _identity(out_dir)
    live = trees.get(previous)  # (files, files its build wrote, the tree the rest link to)
    spared = _identity(spare / SPARE_TREE) if spare is not None else None
    reused = _take_spare(spare, stage, trees, own, defer_removal) if spare is not None else None
    if reused is None:
        stage.mkdir()
    else:
        _REUSED[stage] = reused
        if live is not None and spared is not None and live[2] == spared:
            _SHARED[stage] = reused - live[1]  # the rest are links of the live site's files
    try:
        yield stage
        marker = stage / MARKER
        marker.unlink(missing_ok=True)  # a fresh marker: its inode and time identify the site
        marker.write_bytes(b"")
        written = _WRITTEN.get(stage)
        record = None if written is None else (
            written | {MARKER}, _FRESH.get(stage, frozenset()) | {MARKER}, previous)
        old = _swap(stage, out_dir)
        parked = (old is not None and spare is not None and written is not None
                  and _park(old, spare, trees))
        if old is not None and not parked:
            _discard(old, out_dir, defer_removal)
        if spare is not None and record is not None and not parked:
            record = _link_spare(out_dir, spare, trees, record)
        if spare is not None:
            _write_list(spare, trees, out_dir, record)
    finally:
        for registry in (_REUSED, _WRITTEN, _FRESH, _SHARED):
            registry.pop(stage, None)
        shutil.rmtree(stage, ignore_errors=True)


def _identity(folder: Path) -> tuple[int, int, int, int] | None:
    """Return what identifies one written tree: its folder's and marker's inode, the marker's
    time and device; None when it is not one."""
    try:
        top, marker = folder.stat(), (folder / MARKER).stat()
    except OSError:
        return None
    return (top.st_dev, top.st_ino, marker.st_ino, marker.st_mtime_ns)


def _read_list(spare: Path) -> dict:
    """Return tree identity -> its record (_write_list), as the last build wrote them."""
    try:
        with open(spare / SPARE_LIST, "rb") as handle:
            version, trees = pickle.load(handle)
    except Exception:  # noqa: BLE001 - no usable list: nothing is reused
        return {}
    return trees if version == SPARE_FORMAT and isinstance(trees, dict) else {}


def _write_list(spare: Path, trees: dict, out_dir: Path, written: tuple | None) -> None:
    """Record the files of the new site and of the spare tree (written atomically); a record
    is (files, the files its build wrote afresh, identity of the tree its other files are
    links of: the site live before it, or its own linked copy made by _link_spare)."""
    kept = {}
    tree = _identity(spare / SPARE_TREE)
    if tree is not None and tree in trees:
        kept[tree] = trees[tree]
    site = _identity(out_dir)
    if written is not None and site is not None:
        kept[site] = written
    spare.mkdir(parents=True, exist_ok=True)
    temporary = spare / f".{SPARE_LIST}.{os.getpid()}"
    with open(temporary, "wb") as handle:
        pickle.dump((SPARE_FORMAT, kept), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, spare / SPARE_LIST)


def _take_spare(spare: Path, stage: Path, trees: dict, own: Iterable[str],
                defer_removal: bool) -> frozenset[str] | None:
    """Move the spare tree to stage and return the files it holds (without the caller's own
    folders and the marker, which are removed); None when there is no usable spare."""
    tree = spare / SPARE_TREE
    if not tree.exists():
        return None
    record = trees.pop(_identity(tree), None)
    try:
        if record is None:
            raise OSError("no list of the spare's files")
        files = record[0]
        tree.rename(stage)
    except OSError:
        _discard(tree, tree, defer_removal)
        return None
    (stage / MARKER).unlink(missing_ok=True)
    prefixes = tuple(folder.strip("/") + "/" for folder in own)
    for folder in prefixes:
        shutil.rmtree(stage / folder, ignore_errors=True)
    return frozenset(f for f in files if f != MARKER and not f.startswith(prefixes))


def _park(old: Path, spare: Path, trees: dict) -> bool:
    """Keep a replaced site as the spare tree when its files are known; tell whether it was."""
    identity = _identity(old)
    if identity not in trees:
        return False
    try:
        spare.mkdir(parents=True, exist_ok=True)
        old.rename(spare / SPARE_TREE)
    except OSError:
        return False
    return True


def _link_spare(out_dir: Path, spare: Path, trees: dict, record: tuple) -> tuple:
    """Make the spare tree a copy of the new site's files as hard links (when no replaced site
    could be kept, e.g. after a clean build), so the next build need not make every folder;
    return the site's record, now saying that every file of the spare is a link of its own."""
    tree = spare / SPARE_TREE
    if tree.exists():
        return record
    files = record[0]
    root, source = f"{tree}{os.sep}", f"{out_dir}{os.sep}"
    try:
        spare.mkdir(parents=True, exist_ok=True)
        tree.mkdir()
        for folder in sorted({rel.rpartition("/")[0] for rel in files} - {""}):
            os.makedirs(root + folder, exist_ok=True)
        for rel in sorted(files):
            if rel != MARKER:
                os.link(source + rel, root + rel)
        (tree / MARKER).write_bytes(b"")  # last: a tree cut short has no identity
    except OSError:  # e.g. the cache on another file system: no spare
        shutil.rmtree(tree, ignore_errors=True)
        return record
    identity = _identity(tree)
    trees[identity] = (files, frozenset({MARKER}), None)
    return (files, frozenset({MARKER}), identity)


def _discard(path: Path, out_dir: Path, defer_removal: bool) -> None:
    """Delete a tree: now, or (deferred) renamed aside and deleted by a detached process."""
    if not defer_removal:
        shutil.rmtree(path, ignore_errors=True)
        return
    trash = out_dir.with_name(f".{out_dir.name}.trash-{os.getpid()}-{time.time_ns()}")
    try:
        path.rename(trash)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return
    _remove_later(out_dir)


def _remove_later(out_dir: Path) -> None:
    """Delete every replaced copy of out_dir in a detached process."""
    pattern = f".{out_dir.name}.trash-*"
    code = ("import shutil, sys; from pathlib import Path\n"
            "for p in sorted(Path(sys.argv[1]).glob(sys.argv[2])):\n"
            "    shutil.rmtree(p, ignore_errors=True)\n")
    try:
        subprocess.Popen([sys.executable, "-c", code, str(out_dir.parent), pattern],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        for path in out_dir.parent.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def recover_output(out_dir: Path) -> None:
    """Clean up after a build that was killed: restore a site caught mid-swap, drop leftovers."""
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.*-*"))
    olds = [p for p in leftovers if ".old-" in p.name and (p / MARKER).exists()]
    if not out_dir.exists() and olds:
        olds[-1].rename(out_dir)
    for path in leftovers:
        if path.exists() and (".old-" in path.name or ".staging-" in path.name):
            shutil.rmtree(path, ignore_errors=True)


def _exchange(left: Path, right: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(left), at_fdcwd, os.fsencode(right), rename_exchange)
    return done == 0


def _swap(stage: Path, out_dir: Path) -> Path | None:
    """Replace out_dir by stage (one atomic exchange, else two renames); return where the
    replaced site now is (None when there was none)."""
    if out_dir.exists() and _exchange(stage, out_dir):
        return stage  # stage now holds the old site
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    stage.rename(out_dir)
    return old if old.exists() else None


def _pause_for_tests(written: int) -> None:
    """Sleep after some files when NEWSDIFF_PAUSE_AFTER_FILES says so (the kill test)."""
    after = os.environ.get(PAUSE_ENV)
    if after and written == int(after):
        print(f"paused after {written} files", file=sys.stderr, flush=True)
        time.sleep(600)


def write_files(
    stage: Path, files: Mapping[str, bytes], previous: Path, keep: Iterable[str] = ()
) -> int:
    """Write files under stage, linking unchanged ones from previous; return how many changed.

    Paths in keep are known unchanged: they are linked from previous without being compared
    (MissingPrevious when one is not there). Files a reused staging folder holds that are
    neither in files nor in keep are deleted; the others are replaced only where they differ.
    """
    keep = set(keep)
    wanted = keep.union(files)
    held = set(_REUSED.get(stage, ()))
    root = f"{stage}{os.sep}"
    _remove_extra(root, held - wanted)
    held &= wanted
    folders = {rel.rpartition("/")[0] for rel in held}
    changed, before = 0, f"{previous}{os.sep}"
    shared, fresh = _SHARED.get(stage, frozenset()), set(_FRESH.get(stage, ()))
    try:
        for rel in sorted(keep):
            target, old = root + rel, before + rel
            if rel in held and (rel in shared or _same_file(old, target)):
                continue
            _make_parent(root, rel, folders)
            try:
                _place_link(old, target)
            except OSError as error:
                raise MissingPrevious(f"{old}: {error.strerror}") from error
            held.add(rel)
        for rel in sorted(files):
            data, target, old = files[rel], root + rel, before + rel
            _make_parent(root, rel, folders)
            if _link_unchanged(old, target, data, rel in held):
                held.add(rel)
                continue
            _clear(target)
            with open(target, "xb") as handle:
                handle.write(data)
            held.add(rel)
            fresh.add(rel)
            changed += 1
            _pause_for_tests(changed)
    finally:
        _REUSED[stage] = frozenset(held)
        _WRITTEN[stage] = _REUSED[stage]
        _FRESH[stage] = frozenset(fresh & held)
    return changed


def _make_parent(root: str, rel: str, folders: set[str]) -> None:
    """Make the folder of a file under root unless it is known to exist."""
    parent = rel.rpartition("/")[0]
    if parent not in folders:
        os.makedirs(root + parent, exist_ok=True)
        folders.add(parent)


def _remove_extra(root: str, extra: Iterable[str]) -> None:
    """Delete files under root, then the folders that this leaves empty."""
    parents = set()
    for rel in extra:
        _clear(root + rel)
        parents.add(rel.rpartition("/")[0])
    for parent in sorted(parents, key=lambda p: (-p.count("/"), p)):
        while parent:
            try:
                os.rmdir(root + parent)
            except OSError:
                break
            parent = parent.rpartition("/")[0]


def _clear(path: str) -> None:
    """Remove whatever a path names (a file, or a folder in the way); nothing when absent."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except (IsADirectoryError, PermissionError):
        shutil.rmtree(path)


def _same_file(left: str, right: str) -> bool:
    """Tell whether two paths name the same file (MissingPrevious when left is missing)."""
    try:
        first = os.stat(left)
    except OSError as error:
        raise MissingPrevious(f"{left}: {error.strerror}") from error
    try:
        second = os.stat(right)
    except OSError:
        return False
    return (first.st_ino, first.st_dev) == (second.st_ino, second.st_dev)


def _place_link(source: str, target: str) -> None:
    """Hard-link source as target, replacing what target named."""
    try:
        os.link(source, target)
    except FileExistsError:
        _clear(target)
        os.link(source, target)


def _link_unchanged(old: str, target: str, data: bytes, held: bool = False) -> bool:
    """Hard-link old to target when it holds exactly data; return whether target now is it.

    `held`: target may already exist (then it is left alone when it already is old)."""
    try:
        with open(old, "rb") as handle:
            if os.fstat(handle.fileno()).st_size != len(data) or handle.read() != data:
                return False
        if held and _same_file(old, target):
            return True
        _place_link(old, target)
        return True
    except OSError:
        return False


def iter_tree(folder: Path) -> Iterator[tuple[str, bytes]]:
    """Yield (relative POSIX path, bytes) for every file under folder, sorted."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        yield path.relative_to(folder).as_posix(), path.read_bytes()


def link_tree(source: Path, target: Path) -> None:
    """Recreate a folder of files as hard links (copies across file systems).

    Only for files never rewritten in place (site pages, Whoosh segments and tables of contents).
    """
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(os.scandir(source), key=lambda e: e.name):
        there = target / entry.name
        if entry.is_dir(follow_symlinks=False):
            link_tree(Path(entry.path), there)
            continue
        try:
            os.link(entry.path, there)
        except OSError:
            shutil.copy2(entry.path, there)
