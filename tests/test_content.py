"""Content model: parsing and validating content files, loading a corpus folder."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.content import body_text, load_corpus, parse_article
from site_src.frontmatter import make_slug
from site_src.model import Source
from site_src.text import plain_text

ROOT = Path(__file__).resolve().parents[1]
GOOD = "---\ntitle: A headline\nsource: Daily Planet\n---\n\nFirst paragraph.\n"


def doc(*fields: str, body: str = "The article text.") -> str:
    """Return a content file with these front matter lines."""
    return "---\n" + "".join(f + "\n" for f in fields) + "---\n\n" + body + "\n"


def errors(raw: str, path: str = "story.md") -> list[tuple[int, str]]:
    """Return (line, message) of each error when parsing raw."""
    _, problems = parse_article(raw, path)
    return [(p.line, p.message) for p in problems if p.severity == "error"]


def only_error(raw: str, path: str = "story.md") -> tuple[int, str]:
    """Parse raw, assert it fails with exactly one error and return it."""
    article, problems = parse_article(raw, path)
    assert article is None
    found = [(p.line, p.message) for p in problems if p.severity == "error"]
    assert len(found) == 1, found
    return found[0]


# --- A good file ---------------------------------------------------------------------------------

def test_good_file_gives_an_article_with_plain_text() -> None:
    raw = doc("title: 'Milley: coordination “possible”'", "source: The Associated Press",
              "published: 2021-09-01", "url: https://apnews.com/article/x",
              "authors: [Lolita C. Baldor, Robert Burns]", "story: milley-taliban",
              "language: en-US", "boilerplate: |", "  (AP Photo/Susan Walsh)",
              body="WASHINGTON (AP) — *Army* Gen. Mark Milley said.\n\nSecond.")
    article, problems = parse_article(raw, "wire/000-milley.md")
    assert problems == []
    assert article is not None
    assert article.id == "000-milley"
    assert article.path == "wire/000-milley.md"
    assert article.title == "Milley: coordination “possible”"
    assert article.source == "the-associated-press"
    assert article.published == datetime(2021, 9, 1, tzinfo=UTC)
    assert article.url == "https://apnews.com/article/x"
    assert article.authors == ("Lolita C. Baldor", "Robert Burns")
    assert article.story_key == "milley-taliban"
    assert article.language == "en-US"
    assert article.boilerplate == "(AP Photo/Susan Walsh)\n"
    assert article.text == "WASHINGTON (AP) — Army Gen. Mark Milley said.\n\nSecond."
    assert article.body.startswith("WASHINGTON")


def test_defaults_when_optional_fields_are_missing() -> None:
    article, problems = parse_article(GOOD, "a.md")
    assert problems == [] and article is not None
    assert (article.published, article.url, article.authors, article.story_key) == (
        None, None, (), None)
    assert (article.language, article.boilerplate) == ("en", "")


def test_single_author_string_becomes_a_tuple() -> None:
    article, _ = parse_article(doc("title: T", "source: S", "authors: Jane Doe"), "a.md")
    assert article is not None and article.authors == ("Jane Doe",)


def test_source_resolves_to_declared_key_by_key_name_or_slug() -> None:
    known = {"ap": Source("ap", "The Associated Press", "https://apnews.com", "wire")}
    for name in ("ap", "The Associated Press", "the associated press", "AP"):
        article, _ = parse_article(doc("title: T", f"source: {name}"), "a.md", sources=known)
        assert article is not None and article.source == "ap", name


def test_yaml_typed_scalars_are_read_as_written() -> None:
    raw = doc("title: 1984", "source: yes", "authors: [No, 12]")
    article, problems = parse_article(raw, "a.md")
    assert problems == [] and article is not None
    assert (article.title, article.source, article.authors) == ("1984", "yes", ("No", "12"))


def test_bom_and_crlf_are_accepted() -> None:
    raw = "\ufeff---\r\ntitle: T\r\nsource: S\r\n---\r\nLine one.\r\n\r\nLine two.\r\n"
    article, problems = parse_article(raw, "a.md")
    assert problems == [] and article is not None
    assert article.text == "Line one.\n\nLine two."
    assert "\r" not in article.body


def test_published_datetime_with_zone_is_kept_aware() -> None:
    article, _ = parse_article(doc("title: T", "source: S",
                                   "published: 2021-09-01T21:32:00-04:00"), "a.md")
    assert article is not None
    assert article.published == datetime(2021, 9, 1, 21, 32, tzinfo=timezone(-timedelta(hours=4)))
    article, _ = parse_article(doc("title: T", "source: S", "published: 2021-09-01 21:32Z"),
                               "a.md")
    assert article is not None and article.published == datetime(2021, 9, 1, 21, 32, tzinfo=UTC)


# --- File-level problems -------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "line", "words"), [
    ("", 1, "empty"),
    ("  \n\n", 1, "empty"),
    ("Just text, no front matter.\n", 1, "first line must be '---'"),
    ("\n\n---\ntitle: T\nsource: S\n---\nx\n", 1, "remove the blank lines"),
    ("---\ntitle: T\nsource: S\n\nbody text\n", 1, "never closed"),
    ("---", 1, "never closed"),
    ("---\ntitle: T\nsource: S\n---\n\n", 4, "no text after the front matter"),
    ("---\ntitle: T\nsource: S\n---\nab\x00c\n", 5, "NUL"),
])
def test_file_level_problems(raw: str, line: int, words: str) -> None:
    found_line, message = only_error(raw)
    assert found_line == line
    assert words in message


def test_malformed_yaml_reports_the_yaml_line() -> None:
    line, message = only_error("---\ntitle: T\nsource: Milley: yes\n---\nbody\n")
    assert line == 3
    assert "not valid YAML" in message and "quotes" in message


def test_unclosed_quote_reports_a_line_inside_the_front_matter() -> None:
    line, message = only_error('---\ntitle: "T\nsource: S\n---\nbody\n')
    assert 2 <= line <= 4 and "not valid YAML" in message


def test_front_matter_that_is_a_list_is_an_error() -> None:
    found = errors("---\n- title\n- source\n---\nbody\n")
    assert (2, "the front matter must be 'key: value' lines (title: ..., source: ...), not a "
               "list or a single value") in found


# --- Field problems: each points at its key's line -----------------------------------------------

@pytest.mark.parametrize(("field", "line", "words"), [
    ("title: ''", 2, "title is empty"),
    ("title: [a, b]", 2, "single piece of text, not a list"),
    ("title: {a: b}", 2, "not a set of key: value pairs"),
])
def test_bad_titles(field: str, line: int, words: str) -> None:
    found_line, message = only_error(doc(field, "source: S"))
    assert (found_line, words in message) == (line, True)


def test_missing_required_fields_point_at_line_one() -> None:
    found = errors(doc("published: 2021-09-01"))
    assert [line for line, _ in found] == [1, 1]
    assert any("no title" in m and "title: <the headline>" in m for _, m in found)
    assert any("no source" in m for _, m in found)


def test_empty_source_is_an_error() -> None:
    assert only_error(doc("title: T", "source:"))[0] == 3


@pytest.mark.parametrize(("value", "words"), [
    ("2021-09-01 21:32", "no time zone; add one, e.g. '2021-09-01 21:32+00:00'"),
    ("2021-09-01T21:32:00", "no time zone"),
    ("2021-02-30", "not a real date"),
    ("2021-13-01", "not a real date"),
    ("2021-09-01T25:00:00+00:00", "not a real date or time"),
    ("Sep 1, 2021", "YYYY-MM-DD"),
    ("yesterday", "not a date I can read"),
])
def test_bad_published(value: str, words: str) -> None:
    line, message = only_error(doc("title: T", "source: S", f"published: '{value}'"))
    assert line == 4
    assert words in message


def test_unquoted_yaml_date_and_impossible_yaml_date_are_handled() -> None:
    article, _ = parse_article(doc("title: T", "source: S", "published: 2021-09-01"), "a.md")
    assert article is not None and article.published == datetime(2021, 9, 1, tzinfo=UTC)
    line, message = only_error(doc("title: T", "source: S", "published: 2021-02-30"))
    assert line == 4 and "not a real date" in message


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>x</script>", "file:///etc/passwd", "/relative/path", "ftp://x.org/",
    "https://", "http://exa mple.com/", "https://[::1",
])
def test_bad_urls(url: str) -> None:
    line, message = only_error(doc("title: T", "source: S", f"url: '{url}'"))
    assert line == 4
    assert "url" in message and ("http" in message or "%20" in message)


@pytest.mark.parametrize(("field", "words"), [
    ("authors: [Jane, '']", "an author's name is empty"),
    ("authors: {a: b}", "authors must be"),
    ("story: ../etc", "story '../etc' must use only letters"),
    ("story: a/b", "no dots, slashes"),
    ("story: a.b", "no dots"),
    ("language: english", "not a language tag"),
    ("language: e", "not a language tag"),
    ("boilerplate: [a, b]", "boilerplate must be text"),
])
def test_bad_optional_fields(field: str, words: str) -> None:
    line, message = only_error(doc("title: T", "source: S", field))
    assert line == 4
    assert words in message


def test_repeated_field_is_an_error_naming_the_first_line() -> None:
    line, message = only_error(doc("title: T", "source: S", "title: U"))
    assert line == 4 and "given twice (first on line 2)" in message


def test_unknown_field_is_only_a_warning_with_a_suggestion() -> None:
    article, problems = parse_article(doc("title: T", "source: S", "autors: Jane"), "a.md")
    assert article is not None
    assert [(p.line, p.severity) for p in problems] == [(4, "warning")]
    assert "did you mean 'authors'?" in problems[0].message


def test_every_problem_formats_as_path_line_message() -> None:
    _, problems = parse_article(doc("title: T", "source: S", "url: javascript:x"), "dir/a.md")
    assert str(problems[0]).startswith("dir/a.md:4: url 'javascript:x' is not an http")


@pytest.mark.parametrize(("name", "words"), [
    ("has.dot.md", "cannot be an article id"),
    ("has space.md", "rename it, e.g. to has-space.md"),
    ("index.md", "reserved"),
    ("Feed.md", "reserved"),
    ("search.md", "reserved"),
    ("static.md", "reserved"),
])
def test_bad_file_names(name: str, words: str) -> None:
    line, message = only_error(GOOD, f"sub/{name}")
    assert line == 1 and words in message


def test_make_slug() -> None:
    assert make_slug("The Associated Press") == "the-associated-press"
    assert make_slug("  Café / Le Monde ") == "cafe-le-monde"
    assert make_slug("وكالة") == make_slug("وكالة") != ""


# --- Loading a folder ----------------------------------------------------------------------------

def write(root: Path, rel: str, text: str | bytes) -> Path:
    """Write a file below root."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_load_corpus_reports_bad_files_and_loads_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "b/one.md", GOOD)
    write(tmp_path, "a/two.md", doc("title: Two", "source: ap"))
    write(tmp_path, "c/one.md", doc("title: Dup", "source: S"))
    write(tmp_path, "bad.md", "no front matter\n")
    write(tmp_path, "latin1.md", "---\ntitle: caf\xe9\n".encode("latin-1"))
    write(tmp_path, ".hidden/x.md", GOOD)
    write(tmp_path, "notes.txt", "ignored")
    os.symlink(tmp_path / "missing.md", tmp_path / "broken.md")
    write(tmp_path, "sources.yml", "ap:\n  name: The Associated Press\n  kind: wire\n")
    corpus = load_corpus(tmp_path)
    assert [a.path for a in corpus.articles] == ["a/two.md", "b/one.md"]
    assert corpus.sources == (Source("ap", "The Associated Press", None, "wire"),
                              Source("daily-planet", "Daily Planet"))
    shown = {Path(p.path).name: (p.line, p.message) for p in corpus.problems}
    assert set(shown) == {"one.md", "bad.md", "latin1.md", "broken.md"}
    assert "already used by" in shown["one.md"][1] and "b/one.md" in shown["one.md"][1]
    assert shown["latin1.md"][0] == 2 and "not UTF-8" in shown["latin1.md"][1]
    assert "cannot read" in shown["broken.md"][1]
    assert all(p.path.startswith(tmp_path.as_posix()) for p in corpus.problems)


def test_duplicate_ids_differing_only_in_case_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, "x/Story.md", GOOD)
    write(tmp_path, "y/story.md", GOOD)
    corpus = load_corpus(tmp_path)
    assert len(corpus.articles) == 1
    assert "already used by" in corpus.problems[0].message


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "a/one.md", GOOD)
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    os.symlink(tmp_path, tmp_path / "a" / "up")
    corpus = load_corpus(tmp_path)
    assert [a.id for a in corpus.articles] == ["one"]
    assert corpus.problems == ()


@pytest.mark.parametrize(("text", "line", "words"), [
    ("ap: [x]\n", 1, "must have indented"),
    ("ap:\n  kind: wire\n", 1, "has no name"),
    ("ap:\n  name: AP\n  kind: tabloid\n", 3, "kind 'tabloid' is not one of wire"),
    ("ap:\n  name: AP\n  homepage: javascript:x\n", 3, "homepage"),
    ("AP News:\n  name: AP\n", 1, "must be lowercase letters"),
    ("ap: {name: AP\n", 2, "not valid YAML"),
    ("- ap\n", 1, "must map outlet keys"),
])
def test_sources_file_problems(tmp_path: Path, text: str, line: int, words: str) -> None:
    write(tmp_path, "sources.yml", text)
    write(tmp_path, "a.md", GOOD)
    corpus = load_corpus(tmp_path)
    assert len(corpus.articles) == 1
    problem = corpus.problems[0]
    assert problem.path.endswith("sources.yml")
    assert (problem.line, words in problem.message) == (line, True), problem


def test_sources_file_short_form_and_unknown_field(tmp_path: Path) -> None:
    write(tmp_path, "sources.yml", "ap: The Associated Press\nrt:\n  name: R\n  colour: red\n")
    write(tmp_path, "a.md", doc("title: T", "source: ap"))
    corpus = load_corpus(tmp_path)
    assert corpus.sources == (Source("ap", "The Associated Press"),)
    assert [p.severity for p in corpus.problems] == ["warning"]


def test_missing_content_folder_is_a_problem(tmp_path: Path) -> None:
    corpus = load_corpus(tmp_path / "nope")
    assert corpus.articles == () and "does not exist" in corpus.problems[0].message


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Return every file below root with its bytes and modification time."""
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_loading_never_writes_inside_content(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", "broken")
    write(tmp_path, "sources.yml", "ap: AP\n")
    before = snapshot(tmp_path)
    names_before = sorted(os.listdir(tmp_path))
    load_corpus(tmp_path)
    load_corpus(tmp_path)
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == names_before


# --- The shipped corpus --------------------------------------------------------------------------

def test_shipped_content_loads_five_articles_without_errors() -> None:
    content = ROOT / "content"
    before = snapshot(content)
    corpus = load_corpus(content)
    assert snapshot(content) == before
    assert [p for p in corpus.problems if p.severity == "error"] == []
    assert corpus.problems == ()
    assert len(corpus.articles) == 5
    ap = next(s for s in corpus.sources if s.key == "ap")
    assert (ap.name, ap.homepage, ap.kind) == ("The Associated Press", "https://apnews.com", "wire")
    by_id = {a.id[:3]: a for a in corpus.articles}
    assert by_id["000"].source == "ap"
    assert by_id["000"].text.startswith("WASHINGTON (AP) —")
    assert by_id["000"].published == datetime(2021, 9, 1, tzinfo=UTC)
    others = {by_id[n].source for n in ("001", "002", "003", "004")}
    assert len(others) == 4 and all(key.startswith("unnamed-outlet") for key in others)


# --- Fast plain text ---------------------------------------------------------------------------

BODY_PIECES = st.sampled_from(
    list("ab .!?,:;()'\"—0123456789#>+-=~|*_`<[]&\\\t\u00a0\u2003\r")
    + ["\n", "\n\n", "    ", "  \n", "1. ", "- ", "Milley said. "]
)


@given(st.one_of(st.lists(BODY_PIECES, max_size=40).map("".join),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                blacklist_characters="\x00"), max_size=120)))
@settings(max_examples=400, deadline=None)
def test_body_text_equals_plain_text(body: str) -> None:
    assert body_text(body) == plain_text(body)


def test_parsing_in_worker_processes_gives_the_same_corpus_and_problems(tmp_path, monkeypatch):
    from site_src import content, executor

    for i in range(7):
        (tmp_path / f"good-{i}.md").write_text(
            f"---\ntitle: Story {i}\nsource: Wire {i % 2}\npublished: 2021-09-0{i + 1}\n---\n"
            f"Body number {i}.\n", encoding="utf-8")
    (tmp_path / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    (tmp_path / "no-title.md").write_text("---\nsource: Wire\n---\nText.\n", encoding="utf-8")
    alone = load_corpus(tmp_path)
    monkeypatch.setattr(content, "PARALLEL_MIN_FILES", 2)
    remembered: dict = {}
    with executor.session(2):
        split = load_corpus(tmp_path, remembered, {})
    assert split == alone and len(split.articles) == 7
    assert {Path(p.path).name for p in split.problems} >= {"latin1.md", "no-title.md"}
    assert "latin1.md" not in remembered and "good-3.md" in remembered
