"""Importer: raw article text -> content file, page furniture moved to boilerplate, losslessly."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.content import load_corpus, parse_article
from site_src.furniture import (
    find_authors,
    find_outlet,
    find_published,
    is_caption,
    is_date_line,
    is_furniture_line,
)
from site_src.importer import (
    ContentExistsError,
    ImportedArticle,
    ImportFailed,
    escape_markdown,
    import_files,
    import_text,
    make_stem,
    render_content_file,
)
from site_src.text import plain_text

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
CONTENT = ROOT / "content"

PARA = ("Army Gen. Mark Milley said on Wednesday it was possible that the United States would "
        "coordinate with the Taliban on counterterrorism strikes.")
PARA2 = "Milley did not elaborate, and his comment did not suggest immediate plans to do so."
PARA3 = "“War is hard. It’s vicious. It’s brutal. It’s unforgiving,” Milley said at the briefing."


def page(*lines: str) -> str:
    """Join lines into a raw page, blank lines between them."""
    return "\n\n".join(lines) + "\n"


def body_lines(imported: ImportedArticle) -> list[str]:
    """Return the body's paragraphs as a reader sees them."""
    text = plain_text(imported.body)
    return text.split("\n\n") if text else []


def furniture(imported: ImportedArticle) -> list[str]:
    """Return the boilerplate's non-empty lines."""
    return [line for line in imported.boilerplate.split("\n") if line]


# --- Single-line rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "Gen. Mark Milley speaks at the Pentagon, Sept. 1, 2021. (AP Photo/Susan Walsh)",
    "(AP Photo/Susan Walsh)",
    "President Biden vowed further retaliation against ISIS-K. (File photo)",
    "The last U.S. soldier leaving Afghanistan. Yet, the U.S. left. (U.S. Army)",
    "Afghan evacuees disembark a plane after landing in Macedonia. Photo / AP",
    "Photo: Reuters",
    "Smoke rises over the city. (Getty Images)",
])
def test_captions_and_credits(line: str) -> None:
    assert is_caption(line)
    assert is_furniture_line(line)


@pytest.mark.parametrize("line", [
    PARA,
    "The plan was approved (after a long debate) by the council.",
    "He said it was over. (The vote was 5-4.)",
    "He thanked the troops (and their families).",
])
def test_prose_is_not_a_caption(line: str) -> None:
    assert not is_caption(line)
    assert not is_furniture_line(line)


@pytest.mark.parametrize("line", [
    "Be the first to comment", "Leave a Reply", "Your email address will not be published.",
    "Give Your Comments", "12 Comments", "Top Content Trending", "Sponsored Articles",
    "Advertisement", "Read more:", "Read Next: Milley Privately Blamed the State Department",
    "For the latest headlines, follow our Google News channel online or via the app.",
    "Sign up for our daily newsletter", "Follow us on Twitter",
    "Copyright © The Associated Press. All rights reserved.", "© 2021 Reuters",
    "20 hours ago", "3 min ago", "Sep 1, 2021, 9:32 PM | Updated: 9:44 pm",
    "Publish : 2021-09-02 11:36:00", "Published: Updated:", "By Lolita C. Baldor and Robert Burns",
    "A federal jury awarded $21 million to the family of a pregnant teen who was shot […]",
])
def test_furniture_phrases(line: str) -> None:
    assert is_furniture_line(line)


@pytest.mark.parametrize("line", [
    "By the end of the day, the airport was closed.",
    "Copyright law was not part of the discussion, officials said.",
    "Comments from the general drew criticism.",
    "Pain and Anger",
    "Updates on the evacuation were given on Tuesday by the Pentagon.",
])
def test_lookalike_prose_is_not_furniture(line: str) -> None:
    assert not is_furniture_line(line)


def test_truncated_caption_is_furniture_only_when_the_next_line_repeats_it() -> None:
    short = "Joint Chiefs of Staff Gen. Mark Milley speaks during a briefing with Lloyd Aus..."
    full = short[:-6] + "Austin at the Pentagon. (AP Photo/Susan Walsh)"
    assert is_furniture_line(short, full)
    assert not is_furniture_line("He paused and said nothing more...", PARA)


def test_date_lines_and_published_values() -> None:
    assert is_date_line("Sep 1, 2021, 9:32 PM | Updated: 9:44 pm")
    assert is_date_line("Wednesday, September 1, 2021")
    assert not is_date_line("On Sep 1, 2021 the general spoke to reporters.")
    assert find_published(["Sep 1, 2021, 9:32 PM | Updated: 9:44 pm"])[0] == "2021-09-01"
    assert "no time zone" in (find_published(["Sep 1, 2021, 9:32 PM"])[1] or "")
    assert find_published(["Published: 1 September 2021 21:32 UTC"]) == (
        "2021-09-01T21:32:00+00:00", None)
    assert find_published(["Posted 2021-09-02T11:36:00+04:30"])[0] == "2021-09-02T11:36:00+04:30"
    assert find_published(["Updated: Sep 3, 2021 | Published: Sep 2, 2021"])[0] == "2021-09-02"
    assert find_published(["Published: Feb 30, 2021"]) == (None, None)
    assert find_published(["Published: Updated:"]) == (None, None)


def test_bylines_give_authors_without_agency_words() -> None:
    assert find_authors(["By Lolita C. Baldor and Robert Burns"]) == (
        "Lolita C. Baldor", "Robert Burns")
    assert find_authors(["By Jane Doe, Associated Press"]) == ("Jane Doe",)
    assert find_authors(["By the end of the day"]) == ()


def test_outlet_comes_only_from_a_copyright_line() -> None:
    line = "Copyright © The Associated Press. All rights reserved. This material may not be..."
    assert find_outlet([line]) == "The Associated Press"
    assert find_outlet(["© 2021 Reuters. All rights reserved."]) == "Reuters"
    assert find_outlet(["BreaknLinks", "Photo / AP", "Arab News reports"]) is None


# --- Whole-page rules ----------------------------------------------------------------------------

def test_headline_lead_in_furniture_and_body() -> None:
    raw = page("Milley: US coordination with Taliban ‘possible’", "SiteName", "World",
               "By Jane Doe", "Sep 1, 2021", PARA, PARA2)
    imported = import_text(raw)
    assert imported.title == "Milley: US coordination with Taliban ‘possible’"
    assert body_lines(imported) == [PARA, PARA2]
    assert furniture(imported) == ["SiteName", "World", "By Jane Doe", "Sep 1, 2021"]
    assert imported.authors == ("Jane Doe",)
    assert imported.published == "2021-09-01"
    assert imported.source is None and any("--source" in n for n in imported.notes)


def test_everything_after_a_copyright_line_is_furniture() -> None:
    raw = page("A headline for the story", PARA, PARA2,
               "Copyright © The Associated Press. All rights reserved.",
               "Another story’s headline", PARA3, "20 hours ago")
    imported = import_text(raw)
    assert body_lines(imported) == [PARA, PARA2]
    assert furniture(imported)[-3:] == ["Another story’s headline", PARA3, "20 hours ago"]
    assert imported.source == "The Associated Press"


def test_sponsored_block_and_comment_prompts_end_the_article() -> None:
    raw = page("A headline for the story", PARA, "Sponsored Articles", PARA2,
               "Leave a Reply", PARA3)
    assert body_lines(import_text(raw)) == [PARA]
    raw = page("A headline for the story", PARA, "Be the first to comment", PARA2)
    assert body_lines(import_text(raw)) == [PARA]


def test_read_more_list_and_trailing_short_lines() -> None:
    raw = page("A headline for the story", PARA, "Read more:", "Taliban admit heavy casualties",
               "Taliban confirm a new leader", PARA2, "Top Content Trending", "Share")
    imported = import_text(raw)
    assert body_lines(imported) == [PARA, PARA2]
    assert furniture(imported) == ["Read more:", "Taliban admit heavy casualties",
                                   "Taliban confirm a new leader", "Top Content Trending",
                                   "Share"]


def test_teaser_repeated_by_read_next_and_inline_caption_leave_subheads_alone() -> None:
    raw = page(PARA, "Is the Enemy of My Enemy Always My Friend?", PARA2,
               "Milley Privately Blamed the State Department",
               "Read Next: Milley Privately Blamed the State Department", "Pain and Anger",
               "The last soldier left Afghanistan. (U.S. Army)", PARA3)
    imported = import_text(raw)
    assert body_lines(imported) == [PARA, "Is the Enemy of My Enemy Always My Friend?", PARA2,
                                    "Pain and Anger", PARA3]
    assert len(furniture(imported)) == 3


def test_a_repeat_of_the_headline_is_furniture() -> None:
    raw = page("A headline for the story", PARA, PARA2, "A headline for the story")
    imported = import_text(raw)
    assert furniture(imported) == ["A headline for the story"]


def test_text_without_headline_gets_a_title_from_its_first_sentence() -> None:
    long = ("U.S. Army Gen. Mark Milley, chairman of the Joint Chiefs of Staff, said it’s "
            "“possible” that the United States will seek to coordinate with the Taliban. Next.")
    imported = import_text(page(long, PARA2))
    assert not imported.title_from_text
    assert imported.title == ("U.S. Army Gen. Mark Milley, chairman of the Joint Chiefs of Staff, "
                              "said it’s “possible”…")
    assert body_lines(imported)[0] == long
    short = "The general spoke for an hour. He took no questions afterwards."
    assert import_text(page(short, PARA)).title == "The general spoke for an hour."


def test_flags_fill_in_and_override_and_are_validated() -> None:
    imported = import_text(page("A headline here", PARA), source="Daily Planet",
                           published="2021-09-01", url="https://example.org/a")
    assert (imported.source, imported.published, imported.url) == (
        "Daily Planet", "2021-09-01", "https://example.org/a")
    with pytest.raises(ValueError, match="no time zone"):
        import_text(PARA, published="2021-09-01 10:00")
    with pytest.raises(ValueError, match="http"):
        import_text(PARA, url="javascript:alert(1)")
    with pytest.raises(ValueError, match="NUL"):
        import_text("a\x00b")
    with pytest.raises(ValueError, match="no article text"):
        import_text("  \n\n")


def test_only_furniture_is_kept_as_body_to_edit() -> None:
    imported = import_text("Leave a Reply\n")
    assert body_lines(imported) == ["Leave a Reply"]


# --- Markdown escaping ---------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "1. Not a list", "2021) neither", "# not a heading", "- not a bullet", "+ nor this",
    "* nor this", "> not a quote", "---", "***", "___", "=====", "```code```", "~~~",
    "a *b* _c_ `d` [e](f) ![g](h) <b>i</b> <http://x.org> \\j &amp; &#169; ~~k~~",
    "    indented", "line ending in backslash \\", "[ref]: http://example.org",
])
def test_escaped_lines_render_as_the_same_text(line: str) -> None:
    assert plain_text(escape_markdown(line.strip())) == line.strip()


LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=60,
)


@given(st.lists(LINE_TEXT.filter(lambda s: s.strip() != ""), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_escaping_is_exact_for_any_line(lines: list[str]) -> None:
    clean = [line.strip() for line in lines if len(line.strip().splitlines()) == 1]
    body = "\n\n".join(escape_markdown(line) for line in clean)
    assert plain_text(body) == "\n\n".join(clean)


FURNITURE_LIKE = st.sampled_from([
    "Be the first to comment", "Leave a Reply", "Read more:", "Top Content Trending",
    "(AP Photo/X Y)", "20 hours ago", "Sponsored Articles", "Pain and Anger",
    "Copyright © Someone. All rights reserved.", "Sep 1, 2021, 9:32 PM", "By Jane Doe",
    "Read Next: Pain and Anger", PARA, PARA2, PARA3, "# 1. - *",
])


@given(st.lists(st.one_of(FURNITURE_LIKE, LINE_TEXT), min_size=1, max_size=14),
       st.sampled_from(["\n", "\n\n", "\r\n", "\n \n"]))
@settings(max_examples=300, deadline=None)
def test_import_is_lossless_and_renders_a_valid_file(parts: list[str], sep: str) -> None:
    raw = sep.join(parts)
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    try:
        imported = import_text(raw)
    except ValueError:
        assert len(lines) <= 1 or not lines
        return
    kept = body_lines(imported) + furniture(imported)
    if imported.title_from_text:
        kept.append(imported.title)
    assert Counter(kept) == Counter(lines)
    article, problems = parse_article(render_content_file(imported), "x.md")
    assert [p for p in problems if p.severity == "error"] == []
    assert article is not None
    assert article.text == plain_text(imported.body)
    assert article.title == " ".join(imported.title.split())
    assert article.boilerplate == imported.boilerplate


# --- Files ---------------------------------------------------------------------------------------

def test_import_files_writes_and_never_overwrites_without_force(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "007_x.txt").write_text(page("Milley says coordination is possible", PARA))
    (raw / "other.txt").write_text(page("Milley says coordination is possible", PARA2))
    content = tmp_path / "content"
    content.mkdir()
    (content / "sources.yml").write_text("dp:\n  name: Daily Planet\n")
    written = import_files(sorted(raw.iterdir()), content, source="Daily Planet")
    assert [p.name for p in written] == ["007-milley-says-coordination-is-possible.md",
                                         "milley-says-coordination-is-possible.md"]
    corpus = load_corpus(content)
    assert corpus.problems == () and {a.source for a in corpus.articles} == {"dp"}
    first = written[0].read_bytes()
    (raw / "007_x.txt").write_text(page("Milley says coordination is possible", PARA3))
    with pytest.raises(ContentExistsError, match="--force") as err:
        import_files([raw / "007_x.txt"], content)
    assert "007-milley-says-coordination-is-possible.md" in str(err.value)
    assert written[0].read_bytes() == first
    import_files([raw / "007_x.txt"], content, force=True)
    assert "unforgiving" in written[0].read_text()


def test_import_files_names_unknown_outlets_honestly_and_avoids_clashes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(page("Same headline for both", PARA))
    (tmp_path / "b.txt").write_text(page("Same headline for both", PARA2))
    written = import_files([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "out")
    assert [p.name for p in written] == ["same-headline-both.md", "same-headline-both-2.md"]
    assert "source: Unnamed outlet (a)" in written[0].read_text()


def test_import_files_reports_bad_input_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes("caf\xe9 headline here\n".encode("latin-1"))
    (tmp_path / "ok.txt").write_text(page("A headline here", PARA))
    with pytest.raises(ImportFailed, match="latin.txt: not UTF-8"):
        import_files([tmp_path / "latin.txt"], tmp_path / "out")
    with pytest.raises(ImportFailed, match="ok.txt: .*no time zone"):
        import_files([tmp_path / "ok.txt"], tmp_path / "out", published="2021-09-01 10:00")
    with pytest.raises(ImportFailed, match="missing.txt: cannot read"):
        import_files([tmp_path / "missing.txt"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_make_stem() -> None:
    assert make_stem("Milley: US coordination with Taliban on strikes ‘possible’", "000_9f") == (
        "000-milley-us-coordination-with-taliban-strikes-possible")
    assert re.fullmatch(r"[a-z0-9-]+", make_stem("وكالة الأنباء", ""))
    assert make_stem("وكالة الأنباء") != make_stem("وكالة")


# --- The seeds -----------------------------------------------------------------------------------

def seed(number: str) -> str:
    """Return the raw text of a seed, skipping the test when ../shared is absent."""
    found = sorted(SEEDS.glob(f"{number}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"seed {number} not found in {SEEDS}")
    return found[0].read_text(encoding="utf-8")


def test_seed_000_is_the_article_alone() -> None:
    imported = import_text(seed("000"))
    assert imported.title == "Milley: US coordination with Taliban on strikes ‘possible’"
    assert imported.source == "The Associated Press"
    assert imported.published == "2021-09-01"
    paragraphs = body_lines(imported)
    assert paragraphs[0].startswith("WASHINGTON (AP) — Army Gen. Mark Milley")
    assert paragraphs[-2].startswith("“To those asking for a third decade of war")
    assert paragraphs[-1] == ("Associated Press writers Aamer Madhani and Kevin Freking "
                              "contributed to this report.")
    for sidebar in ("WHO panel says Monkeypox", "Dueling narratives of Arizona protests",
                    "Sponsored Articles", "Best retirement savings rates", "20 hours ago",
                    "(AP Photo/Susan Walsh)", "Sep 1, 2021, 9:32 PM", "Copyright ©"):
        assert sidebar in imported.boilerplate
        assert sidebar not in imported.body


@pytest.mark.parametrize(("number", "first", "furniture_lines"), [
    ("001", "U.S. Army General Mark Milley", ["(File photo)", "Read Next:", "(U.S. Army)"]),
    ("002", "The chairman of the Joint Chiefs", ["BreaknLinks", "Photo / AP", "Give Your"]),
    ("003", "It is “possible”", ["Google News", "Read more:", "Top Content Trending"]),
    ("004", "There is a possibility", ["Be the first", "Leave a Reply", "email address"]),
])
def test_rewrite_seeds(number: str, first: str, furniture_lines: list[str]) -> None:
    imported = import_text(seed(number))
    assert imported.source is None
    assert body_lines(imported)[0].startswith(first)
    for words in furniture_lines:
        assert words in imported.boilerplate and words not in imported.body


def test_shipped_content_is_the_importers_output() -> None:
    seed("000")
    corpus = load_corpus(CONTENT)
    for article in corpus.articles:
        imported = import_text(seed(article.id[:3]))
        assert article.text == plain_text(imported.body)
        assert article.boilerplate == imported.boilerplate
        assert article.title == imported.title
