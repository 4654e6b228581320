"""A corpus becomes a complete, deterministic site; bad files are reported, never half-built."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, ROOT, build_into

from site_src.output import iter_tree
from site_src.pipeline import BuildError

EXPECTED_FILES = [
    "index.html",
    "404.html",
    ".nojekyll",
    "robots.txt",
    "sitemap.xml",
    "feed.xml",
    "favicon.svg",
    "stories/index.html",
    "sources/index.html",
    "search/index.html",
    "data/index.json",
    "articles/harbour-bridge-wire/index.html",
    "articles/harbour-bridge-daily/index.html",
    "articles/library-reopens/index.html",
    "articles/ferry-timetable/index.html",
    "sources/coastal-wire/index.html",
    "sources/coastal-wire/feed.xml",
    "sources/portmouth-daily/index.html",
    "static/site.css",
]


def test_build_writes_every_page(fixture_site: Path) -> None:
    for rel in EXPECTED_FILES:
        assert (fixture_site / rel).is_file(), rel
    home = (fixture_site / "index.html").read_text(encoding="utf-8")
    assert "Harbour bridge closes after crack found in main span" in home
    assert 'href="/some-repo/articles/library-reopens/"' in home
    assert (fixture_site / "search" / "whoosh").is_dir()


def test_article_page_shows_metadata_and_provenance(fixture_site: Path) -> None:
    page = (fixture_site / "articles/harbour-bridge-daily/index.html").read_text("utf-8")
    assert "<h1>Bridge shut as engineers find crack</h1>" in page
    assert "By Lee Carver" in page
    assert '<time datetime="2024-03-04T11:40:00Z">4 Mar 2024</time>' in page
    assert 'href="https://daily.example.com/news/bridge-shut"' in page
    assert "Commuters told the Daily they were furious." in page


def test_same_event_articles_share_a_story(fixture_site: Path) -> None:
    stories = (fixture_site / "stories/index.html").read_text("utf-8")
    assert "2 outlets" in stories
    assert "harbour-bridge-wire" in stories


def test_feeds_and_sitemap_are_well_formed(fixture_site: Path) -> None:
    import xml.etree.ElementTree as ET

    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.parse(fixture_site / "feed.xml").getroot()
    titles = [e.findtext(f"{atom}title") for e in feed.iter(f"{atom}entry")]
    assert titles[0] == "Bridge shut as engineers find crack"  # newest first
    assert len(titles) == 4
    outlet = ET.parse(fixture_site / "sources/coastal-wire/feed.xml").getroot()
    assert len(list(outlet.iter(f"{atom}entry"))) == 1
    sitemap = (fixture_site / "sitemap.xml").read_text("utf-8")
    assert "/some-repo/articles/ferry-timetable/" in sitemap
    assert "Sitemap:" in (fixture_site / "robots.txt").read_text("utf-8")


def test_same_corpus_gives_byte_identical_site(tmp_path: Path, fixture_site: Path) -> None:
    build_into(FIXTURE_CORPUS, tmp_path / "again", "/some-repo/")
    first = dict(iter_tree(fixture_site))
    second = dict(iter_tree(tmp_path / "again"))
    assert sorted(first) == sorted(second)
    different = [rel for rel in first if first[rel] != second[rel]]
    assert different == []


def test_rebuild_rewrites_only_changed_files(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    corpus.mkdir()
    for path in FIXTURE_CORPUS.iterdir():
        (corpus / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "site"
    build_into(corpus, out)
    again = build_into(corpus, out)
    assert again.changed == 0


def _write_bad_corpus(folder: Path) -> None:
    """A corpus with two good files and one with broken front matter."""
    folder.mkdir()
    for name in ("library-reopens.md", "ferry-timetable.md"):
        (folder / name).write_bytes((FIXTURE_CORPUS / name).read_bytes())
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")


def test_bad_file_is_reported_and_skipped(tmp_path: Path) -> None:
    _write_bad_corpus(tmp_path / "content")
    result = build_into(tmp_path / "content", tmp_path / "site")
    assert [Path(p.path).name for p in result.problems if p.severity == "error"] == ["broken.md"]
    assert (tmp_path / "site/articles/library-reopens/index.html").is_file()
    assert not (tmp_path / "site/articles/broken").exists()


def test_strict_build_fails_and_keeps_previous_site(tmp_path: Path) -> None:
    _write_bad_corpus(tmp_path / "content")
    build_into(tmp_path / "content", tmp_path / "site")
    before = dict(iter_tree(tmp_path / "site"))
    with pytest.raises(BuildError) as raised:
        build_into(tmp_path / "content", tmp_path / "site", strict=True)
    assert any("broken.md" in str(p) for p in raised.value.problems)
    assert dict(iter_tree(tmp_path / "site")) == before


def test_build_never_writes_inside_the_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    _write_bad_corpus(corpus)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in corpus.rglob("*")}
    build_into(corpus, tmp_path / "site")
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in corpus.rglob("*")}
    assert before == after


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run build.py as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_check_lists_problems_with_file_and_line(tmp_path: Path) -> None:
    _write_bad_corpus(tmp_path / "content")
    done = run_cli("check", "--content", str(tmp_path / "content"))
    assert done.returncode == 1
    assert re.search(r"broken\.md:[23]: .*YAML", done.stdout)
    assert "2 articles OK, 1 error(s)" in done.stdout


def test_cli_strict_build_exits_non_zero(tmp_path: Path) -> None:
    _write_bad_corpus(tmp_path / "content")
    done = run_cli("build", "--content", str(tmp_path / "content"), "--out",
                   str(tmp_path / "site"), "--strict", "--quiet")
    assert done.returncode == 1
    assert "broken.md" in done.stderr
    assert not (tmp_path / "site").exists()


def test_cli_build_with_base_url(tmp_path: Path) -> None:
    done = run_cli("build", "--content", str(FIXTURE_CORPUS), "--out", str(tmp_path / "site"),
                   "--base-url", "/my-repo/", "--quiet")
    assert done.returncode == 0, done.stderr
    home = (tmp_path / "site/index.html").read_text("utf-8")
    assert 'href="/my-repo/static/site.css"' in home
