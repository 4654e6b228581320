"""Writing the site: a staging folder filled beside the output, then swapped in whole.

A build never leaves a half-written site: everything goes to a sibling staging folder, and
only a complete staging folder replaces the output. Files whose bytes did not change are
hard-linked from the previous site, so they keep their modification time (and hosts and
browsers keep their caches).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

MARKER = ".newsdiff-site"
PAUSE_ENV = "NEWSDIFF_PAUSE_AFTER_FILES"


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
def staged_output(out_dir: Path, defer_removal: bool = False) -> Iterator[Path]:
    """Yield a fresh staging folder; on success swap it in as out_dir, on failure drop it.

    With defer_removal, the replaced site is renamed aside and deleted by a detached
    process, so a large site's old copy does not hold up the build.
    """
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    recover_output(out_dir)
    stage = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        (stage / MARKER).write_bytes(b"")
        _swap(stage, out_dir)
        if defer_removal and stage.exists():
            trash = out_dir.with_name(f".{out_dir.name}.trash-{os.getpid()}-{time.time_ns()}")
            stage.rename(trash)
            _remove_later(out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


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


def _swap(stage: Path, out_dir: Path) -> None:
    """Replace out_dir by stage: one atomic exchange, else two renames; drop the old site."""
    if out_dir.exists() and _exchange(stage, out_dir):
        return  # stage now holds the old site, which staged_output removes
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    stage.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


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
    (MissingPrevious when one is not there).
    """
    changed = 0
    made_dirs: set[Path] = set()
    for rel in sorted(keep):
        target = stage / rel
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        try:
            os.link(previous / rel, target)
        except OSError as error:
            raise MissingPrevious(f"{previous / rel}: {error.strerror}") from error
    for rel in sorted(files):
        data = files[rel]
        target = stage / rel
        parent = target.parent
        if parent not in made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(parent)
        if _link_unchanged(previous / rel, target, data):
            continue
        target.write_bytes(data)
        changed += 1
        _pause_for_tests(changed)
    return changed


def _link_unchanged(old: Path, target: Path, data: bytes) -> bool:
    """Hard-link old to target when it holds exactly data; return whether it did."""
    try:
        if old.stat().st_size != len(data) or old.read_bytes() != data:
            return False
        os.link(old, target)
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
