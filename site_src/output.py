"""Writing the site: a staging folder filled beside the output, then swapped in whole.

A build never leaves a half-written site: everything goes to a sibling staging folder, and
only a complete staging folder replaces the output. Files whose bytes did not change are
hard-linked from the previous site, so they keep their modification time (and hosts and
browsers keep their caches).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

MARKER = ".newsdiff-site"


class OutputError(RuntimeError):
    """The output folder cannot be written safely; the message says why."""


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
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success swap it in as out_dir, on failure drop it."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        (stage / MARKER).write_bytes(b"")
        _swap(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _swap(stage: Path, out_dir: Path) -> None:
    """Replace out_dir by stage with two renames; the old site is removed afterwards."""
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    stage.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_files(stage: Path, files: Mapping[str, bytes], previous: Path) -> int:
    """Write files under stage, linking unchanged ones from previous; return how many changed."""
    changed = 0
    made_dirs: set[Path] = set()
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
