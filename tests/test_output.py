"""Writing is atomic: a failed build leaves the previous site; unchanged files keep their inode."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_src.output import (
    MARKER,
    OutputError,
    check_output_dir,
    staged_output,
    write_files,
)


def test_swap_replaces_the_site_and_links_unchanged_files(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with staged_output(out) as stage:
        write_files(stage, {"a.html": b"one", "b/c.html": b"two"}, previous=out)
    first_inode = (out / "a.html").stat().st_ino
    with staged_output(out) as stage:
        changed = write_files(stage, {"a.html": b"one", "b/c.html": b"TWO"}, previous=out)
    assert changed == 1
    assert (out / "a.html").stat().st_ino == first_inode
    assert (out / "b/c.html").read_bytes() == b"TWO"
    assert (out / MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_failed_build_leaves_previous_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with staged_output(out) as stage:
        write_files(stage, {"index.html": b"good"}, previous=out)
    with pytest.raises(RuntimeError), staged_output(out) as stage:
        write_files(stage, {"index.html": b"half"}, previous=out)
        raise RuntimeError("render failed")
    assert (out / "index.html").read_bytes() == b"good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_output_inside_corpus_is_refused(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    with pytest.raises(OutputError, match="overlaps"):
        check_output_dir(content / "_site", content)
    with pytest.raises(OutputError, match="overlaps"):
        check_output_dir(tmp_path, content)


def test_foreign_folder_is_not_replaced(tmp_path: Path) -> None:
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(OutputError, match="not made by this tool"):
        check_output_dir(foreign, tmp_path / "content")
