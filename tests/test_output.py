"""Writing is atomic: a failed build leaves the previous site; unchanged files keep their inode."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.output import (
    MARKER,
    OutputError,
    check_output_dir,
    iter_tree,
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


PATHS = ("index.html", "feed.xml", "articles/a/index.html", "articles/b/index.html",
         "stories/s/index.html", "stories/s/story.json", "search/static/t-1.json",
         "search/static/t-2.json", "sources/x/y/index.html")


def write_site(out: Path, spare: Path, files: dict[str, bytes], before: dict[str, bytes],
               own: dict[str, bytes] | None = None) -> int:
    """Write one site as a build does: unchanged files kept, the others compared."""
    keep = {rel for rel, data in files.items() if before.get(rel) == data}
    with staged_output(out, spare=spare, own=("search/whoosh",)) as stage:
        for rel, data in (own or {}).items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            (stage / rel).write_bytes(data)
        return write_files(stage, {r: d for r, d in files.items() if r not in keep},
                           previous=out, keep=keep)


def folders_of(out: Path) -> set[str]:
    """List the folders under out."""
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_dir()}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.dictionaries(st.sampled_from(PATHS), st.sampled_from([b"1", b"2", b"3"])),
                min_size=1, max_size=6))
def test_a_reused_spare_gives_the_site_a_fresh_folder_would(tmp_path_factory, sites) -> None:
    tmp = tmp_path_factory.mktemp("spare")
    out, spare, fresh = tmp / "site", tmp / ".cache" / "spare", tmp / "fresh"
    before: dict[str, bytes] = {}
    for number, files in enumerate(sites):
        inodes = {rel: (out / rel).stat().st_ino for rel in before}
        changed = write_site(out, spare, files, before, {"search/whoosh/seg": b"%d" % number})
        with staged_output(fresh) as stage:
            write_files(stage, files, previous=tmp / "nothing")
        expected = {**files, MARKER: b"", "search/whoosh/seg": b"%d" % number}
        assert dict(iter_tree(out)) == expected
        assert folders_of(out) - {"search", "search/whoosh"} == folders_of(fresh) - {"search"}
        assert changed == sum(1 for rel, data in files.items() if before.get(rel) != data)
        for rel, data in files.items():
            if before.get(rel) == data:
                assert (out / rel).stat().st_ino == inodes[rel]
        before = files
    assert sorted(p.name for p in tmp.iterdir()) == [".cache", "fresh", "site"]


def test_the_spare_is_reused_and_a_failed_build_keeps_the_site(tmp_path: Path) -> None:
    out, spare = tmp_path / "site", tmp_path / ".cache" / "spare"
    first = {"index.html": b"one", "articles/a/index.html": b"a"}
    write_site(out, spare, first, {})
    second = {"index.html": b"two", "articles/a/index.html": b"a"}
    write_site(out, spare, second, first)
    spare_tree = (spare / "tree").stat().st_ino
    assert (spare / "tree" / "index.html").read_bytes() == b"one"
    with pytest.raises(RuntimeError), staged_output(out, spare=spare) as stage:
        assert stage.stat().st_ino == spare_tree  # the spare became the staging folder
        write_files(stage, {"index.html": b"three"}, previous=out)
        raise RuntimeError("render failed")
    assert dict(iter_tree(out)) == {**second, MARKER: b""}
    write_site(out, spare, {"index.html": b"four"}, second)
    assert dict(iter_tree(out)) == {"index.html": b"four", MARKER: b""}
    assert not (out / "articles").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "site"]


def test_the_build_after_a_first_one_stages_in_a_spare_and_leaves_the_site_alone(
        tmp_path: Path) -> None:
    out, spare = tmp_path / "site", tmp_path / ".cache" / "spare"
    first = {"index.html": b"one", "articles/a/index.html": b"a", "articles/b/index.html": b"b"}
    write_site(out, spare, first, {}, {"search/whoosh/seg": b"1"})
    spare_tree = (spare / "tree").stat().st_ino  # made although no site was replaced
    kept = (out / "articles/a/index.html").stat().st_ino
    with staged_output(out, spare=spare, own=("search/whoosh",)) as stage:
        assert stage.stat().st_ino == spare_tree
        assert not (stage / "search" / "whoosh").exists()  # the caller's own folder is not kept
        write_files(stage, {"index.html": b"two"}, previous=out, keep={"articles/a/index.html"})
        assert dict(iter_tree(out)) == {**first, MARKER: b"", "search/whoosh/seg": b"1"}
    assert dict(iter_tree(out)) == {"index.html": b"two", "articles/a/index.html": b"a",
                                    MARKER: b""}
    assert (out / "articles/a/index.html").stat().st_ino == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "site"]
