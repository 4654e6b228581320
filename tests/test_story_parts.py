"""A long story's passage table is split into part pages: every passage in exactly one part,
navigation both ways, every row link leading to the page that holds the row, pages that stay
small, and incremental builds that add and remove part pages as a clean build would."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, ROOT, make_config
from test_storyview import T0, _diff, _text, make_site

from site_src import pages, passages, storyview
from site_src.config import load_config
from site_src.model import (
    Article,
    ArticleAnalysis,
    Counterpart,
    Segment,
    Site,
    Source,
    Story,
    StoryAnalysis,
)
from site_src.urls import Urls, alignment_part_path, output_file, path_for

BUDGET = 1_500  # a small part budget, so that a hand-made story has several parts


def long_story(members: int = 6, sentences: int = 40) -> tuple[Site, Story]:
    """Make a story whose members each copy and edit the one before, with some new passages."""
    articles, analyses = [], []
    for m in range(members):
        lines = [f"Sentence {i} of the report as outlet {m} tells it, word {i * m}."
                 for i in range(sentences)]
        text, spans = _text(lines)
        _prev_text, prev_spans = _text([f"Sentence {i} of the report as outlet {m - 1} tells "
                                        f"it, word {i * (m - 1)}." for i in range(sentences)])
        articles.append(Article(f"m{m}", f"Title {m}", f"o{m}", text, text, f"m{m}.md",
                                T0 + timedelta(hours=m)))
        segs = []
        for i, (s, e) in enumerate(spans):
            if m == 0 or i % 7 == 3:
                segs.append(Segment(s, e, "new"))
            else:
                ps, pe = prev_spans[i]
                segs.append(Segment(s, e, "edited", Counterpart(f"m{m - 1}", ps, pe, 0.8),
                                    _diff(_prev_text[ps:pe], text[s:e])))
        analyses.append(ArticleAnalysis(f"m{m}", tuple(segs), (("edited", 0.8), ("new", 0.2)),
                                        "origin" if m == 0 else "wholly_derived",
                                        f"m{m - 1}" if m else None, 0.8))
    matrix = tuple(tuple(1.0 if i == j else 0.5 for j in range(members)) for i in range(members))
    story = Story("m0", "Long story", tuple(f"m{m}" for m in range(members)),
                  StoryAnalysis(tuple(analyses), matrix))
    return Site(tuple(articles), tuple(Source(f"o{m}", f"Outlet {m}") for m in range(members)),
                (story,), {f"m{m}": "m0" for m in range(members)}), story


def render_all(site: Site, story: Story, urls: Urls) -> dict[str, str]:
    """Render a story's page and its part pages as the build does: output path -> HTML."""
    job = pages.RenderJob(site, load_config(ROOT, progress=False, jobs=1), urls)
    return {path: data.decode("utf-8")
            for path, data in pages.render_pages(job, ("story", story.id, True, False))}


def row_ids(html: str) -> list[int]:
    """Return the row numbers a page holds (id="pN")."""
    return [int(n) for n in re.findall(r'id="p(\d+)"', html)]


def test_every_passage_is_in_exactly_one_part() -> None:
    site, story = long_story()
    members = storyview.story_context(story, site, Urls())["members"]
    table = passages.alignment_table(story, site, members, budget=BUDGET)
    parts = table["parts"]
    assert len(parts) >= 3 and passages.part_count(story, site, BUDGET) == len(parts)
    numbers = [row["n"] for part in parts for group in part["groups"] for row in group["rows"]]
    assert numbers == list(range(1, table["row_count"] + 1))
    for part in parts:
        inside = [row["n"] for group in part["groups"] for row in group["rows"]]
        assert inside == list(range(part["first"], part["last"] + 1))
    # Every passage of every member has a row, and that row is in one part.
    for item in story.analysis.articles:
        for seg in item.segments:
            assert table["part_of"][table["row_of"][(item.article_id, seg.start)]] >= 1


def test_parts_stay_near_the_budget_and_even() -> None:
    site, story = long_story(members=8, sentences=60)
    members = storyview.story_context(story, site, Urls())["members"]
    table = passages.alignment_table(story, site, members, budget=BUDGET)
    weights = []
    for part in table["parts"]:
        rows = [row for group in part["groups"] for row in group["rows"]]
        weights.append(sum(len(re.sub(r"<[^>]+>", "", str(c["html"])))
                           for row in rows for c in row["cells"] if c))
    assert len(weights) >= 3 and max(weights) < 3 * min(weights)


def test_story_and_part_pages_link_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passages, "PART_BUDGET", BUDGET)
    site, story = long_story()
    urls = Urls("/base/")
    rendered = render_all(site, story, urls)
    count = passages.part_count(story, site)
    paths = [output_file(alignment_part_path(story, n)) for n in range(1, count + 1)]
    assert sorted(rendered) == sorted(paths) and count >= 3
    assert passages.part_paths(story, site) == [
        alignment_part_path(story, n) for n in range(2, count + 1)]
    links = {n: urls.link(alignment_part_path(story, n)) for n in range(1, count + 1)}
    for n, path in enumerate(paths, start=1):
        html = rendered[path]
        assert html.count('class="parts-nav"') == 2  # above and below the table
        assert f"part {n} of {count}" in html
        if n > 1:
            assert f'href="{links[n - 1]}{"#alignment" if n == 2 else ""}" rel="prev"' in html
            assert f'href="{links[1]}"' in html  # back to the whole story
            assert 'id="diff"' not in html and 'story.js"' not in html
        if n < count:
            assert f'href="{links[n + 1]}" rel="next"' in html
        # Same columns on every page.
        head = r'<thead><tr><th scope="col" class="num">.*?</thead>'
        assert re.search(head, html).group(0) == re.search(head, rendered[paths[0]]).group(0)
    # Every row is on exactly one page.
    everywhere = [n for html in rendered.values() for n in row_ids(html)]
    assert sorted(everywhere) == list(range(1, len(everywhere) + 1))


def test_every_row_link_reaches_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passages, "PART_BUDGET", BUDGET)
    site, story = long_story()
    urls = Urls("/base/")
    rendered = render_all(site, story, urls)
    by_link = {"/base/" + path[: -len("index.html")]: html for path, html in rendered.items()}
    story_page = rendered[output_file(path_for(story))]
    added = re.search(r'<section id="added".*?</section>', story_page, re.S).group(0)
    hrefs = re.findall(r'href="([^"]*)#p(\d+)"', added)
    assert len({page for page, _n in hrefs}) >= 2  # rows on the story page and on part pages
    for page, number in hrefs:
        target = story_page if page == "" else by_link[page]
        assert int(number) in row_ids(target), (page, number)


def test_small_story_has_one_part_and_no_navigation() -> None:
    site, story = make_site()
    assert passages.part_count(story, site) == 1
    assert passages.part_paths(story, site) == []
    rendered = render_all(site, story, Urls("/"))
    assert list(rendered) == [output_file(path_for(story))]
    assert "parts-nav" not in rendered[output_file(path_for(story))]


def test_ten_member_story_pages_stay_under_the_budget() -> None:
    site, story = long_story(members=10, sentences=120)
    rendered = render_all(site, story, Urls("/"))
    assert len(rendered) >= 3
    assert sum(len(a.text) for a in site.articles) > 60_000
    assert all(len(html.encode("utf-8")) <= 250_000 for html in rendered.values())


def _write_story(folder: Path, sentences: int) -> None:
    """Add a two-outlet story of many sentences to a content folder."""
    lines = [f"The council met on day {i} and voted on motion number {i * 7} of the year."
             for i in range(sentences)]
    for name, outlet, day, extra in (("long-a", "Coastal Wire", 4, ""),
                                     ("long-b", "Portmouth Daily", 5, " Critics objected.")):
        body = "\n\n".join(line + extra for line in lines)
        (folder / f"{name}.md").write_text(
            f"---\ntitle: Council votes {name}\nsource: {outlet}\npublished: 2024-03-0{day}\n"
            f"story: council-votes\n---\n{body}\n", encoding="utf-8")


def test_incremental_builds_add_and_remove_part_pages(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from test_incremental import assert_same_site, clean_build

    from site_src.pipeline import build

    monkeypatch.setattr(passages, "PART_BUDGET", 2_000)
    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, content)
    out = tmp_path / "build" / "site"
    build(make_config(content, out))
    _write_story(content, 40)
    assert build(make_config(content, out)).mode == "incremental"
    parts = sorted(p.relative_to(out).as_posix()
                   for p in (out / "stories" / "council-votes").rglob("alignment/*/index.html"))
    assert len(parts) >= 2
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    assert all(f"/{p[: -len('index.html')]}<" in sitemap for p in parts)
    assert_same_site(out, clean_build(content, tmp_path / "clean"))
    _write_story(content, 6)  # the story shrinks to one part: its part pages go
    build(make_config(content, out))
    assert not (out / "stories" / "council-votes" / "alignment").exists()
    assert_same_site(out, clean_build(content, tmp_path / "clean"))
