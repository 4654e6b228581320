"""Bad input: every case gives correct output or one clear error, and the rest still builds.

Each test builds a small corpus (two good fixture articles plus the case) with the real
pipeline. A bad file gives one error naming its path and line and saying what to do; the good
pages are still written; `--strict` fails with a BuildError that lists every problem.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, ROOT, build_into

from site_src.model import Problem
from site_src.pipeline import BuildError, BuildResult

GOOD = ("library-reopens.md", "ferry-timetable.md")
FRONT = "---\ntitle: {title}\nsource: Test Outlet\npublished: 2024-03-01\n{extra}---\n"


def make_corpus(tmp_path: Path, files: dict[str, bytes | str]) -> Path:
    """Write the two good fixture articles plus the given files into tmp_path/content."""
    content = tmp_path / "content"
    content.mkdir(parents=True, exist_ok=True)
    for name in GOOD:
        (content / name).write_bytes((FIXTURE_CORPUS / name).read_bytes())
    for rel, data in files.items():
        target = content / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return content


def article(body: str, title: str = "A test article", extra: str = "") -> str:
    """Return a valid content file with this body."""
    return FRONT.format(title=title, extra=extra) + body


def build_ok(content: Path, out: Path) -> BuildResult:
    """Build; check the good articles' pages exist; return the result."""
    result = build_into(content, out)
    for name in GOOD:
        assert (out / "articles" / name.removesuffix(".md") / "index.html").is_file(), name
    assert (out / "index.html").is_file()
    return result


def errors(result: BuildResult) -> list[Problem]:
    """Return the build's error problems."""
    return [p for p in result.problems if p.severity == "error"]


def check_one_error(tmp_path: Path, name: str, data: bytes | str, line: int,
                    words: str) -> Problem:
    """Build a corpus with one bad file: one clear error, good pages built, strict fails."""
    content = make_corpus(tmp_path, {name: data})
    result = build_ok(content, tmp_path / "site")
    found = errors(result)
    assert len(found) == 1, found
    problem = found[0]
    assert problem.path == (content / name).as_posix()
    assert problem.line == line, problem
    assert words in problem.message, problem
    assert ";" in problem.message or ":" in problem.message  # what is wrong; what to do
    stem = Path(name).stem
    assert not (tmp_path / "site" / "articles" / stem).exists()
    assert str(problem).startswith(f"{content / name}:{line}: ")
    with pytest.raises(BuildError) as raised:
        build_into(content, tmp_path / "strict-site", strict=True)
    assert problem in raised.value.problems
    assert not (tmp_path / "strict-site").exists()
    return problem


def page_of(out: Path, article_id: str) -> str:
    """Return an article page's HTML."""
    return (out / "articles" / article_id / "index.html").read_text("utf-8")


# --- file-level problems ------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    check_one_error(tmp_path, "empty.md", b"", 1, "the file is empty")


def test_no_front_matter(tmp_path: Path) -> None:
    check_one_error(tmp_path, "plain.md", "Just some text.\n\nMore text.\n", 1,
                    "no front matter")


def test_malformed_yaml(tmp_path: Path) -> None:
    data = "---\nsource: Test Outlet\ntitle: Breaking: news: today\n---\nBody text here.\n"
    problem = check_one_error(tmp_path, "yaml.md", data, 3, "not valid YAML")
    assert "quotes" in problem.message


def test_wrong_field_types(tmp_path: Path) -> None:
    data = ("---\ntitle: [one, two]\nsource: {name: x}\npublished: 12\nauthors: {a: b}\n"
            "---\nBody text here.\n")
    content = make_corpus(tmp_path, {"types.md": data})
    result = build_ok(content, tmp_path / "site")
    found = errors(result)
    assert [p.line for p in found] == [2, 3, 4, 5]
    assert all(p.path.endswith("types.md") for p in found)
    assert "title must be a single piece of text, not a list" in found[0].message
    assert "source must be a single piece of text" in found[1].message
    assert "not a date I can read" in found[2].message
    assert "authors must be a name or a list of names" in found[3].message
    with pytest.raises(BuildError) as raised:
        build_into(content, tmp_path / "strict-site", strict=True)
    assert set(found) <= set(raised.value.problems)


@pytest.mark.parametrize("value", ["2021-02-30", "2021-13-01", "2021-09-01T25:61:00Z",
                                   "0000-00-00", "yesterday"])
def test_impossible_dates(tmp_path: Path, value: str) -> None:
    data = f"---\ntitle: T\nsource: Test Outlet\npublished: {value}\n---\nBody text here.\n"
    problem = check_one_error(tmp_path, "date.md", data, 4, "published")
    assert "date" in problem.message


def test_duplicate_ids(tmp_path: Path) -> None:
    first = article("The first copy of the text about the harbour.\n", "First")
    second = article("The second file with the same name.\n", "Second")
    content = make_corpus(tmp_path, {"a/same-name.md": first, "b/Same-Name.md": second})
    result = build_ok(content, tmp_path / "site")
    [problem] = errors(result)
    assert problem.path == (content / "b/Same-Name.md").as_posix() and problem.line == 1
    assert "already used by" in problem.message and "a/same-name.md" in problem.message
    assert "rename" in problem.message
    assert "First" in page_of(tmp_path / "site", "same-name")
    with pytest.raises(BuildError) as raised:
        build_into(content, tmp_path / "strict-site", strict=True)
    assert problem in raised.value.problems


def test_non_utf8_bytes(tmp_path: Path) -> None:
    data = article("Line one.\n\nCaf\xe9 in Latin-1.\n").encode("latin-1")
    problem = check_one_error(tmp_path, "latin.md", data, 8, "not UTF-8")
    assert "0xe9" in problem.message and "re-save" in problem.message


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbf" + article("Text after a byte order mark.\n", "BOM title").encode()
    content = make_corpus(tmp_path, {"bom.md": data})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    page = page_of(tmp_path / "site", "bom")
    assert "<h1>BOM title</h1>" in page and "\ufeff" not in page


def test_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    text = article("First paragraph.\n\nSecond paragraph.\n", "CRLF title")
    content = make_corpus(tmp_path, {"crlf.md": text.replace("\n", "\r\n").encode()})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    page = page_of(tmp_path / "site", "crlf")
    assert "<h1>CRLF title</h1>" in page
    assert "<p>First paragraph.</p>" in page and "<p>Second paragraph.</p>" in page
    assert "\r" not in page


def test_nul_bytes(tmp_path: Path) -> None:
    data = article("Fine line.\n\nBroken\x00line.\n").encode()
    problem = check_one_error(tmp_path, "nul.md", data, 8, "NUL byte")
    assert "re-save" in problem.message


# --- size and shape -----------------------------------------------------------------------------


def test_ten_megabyte_article_is_refused_quickly(tmp_path: Path) -> None:
    paragraph = "The council met again today to discuss the harbour bridge repairs. " * 40
    body = "\n\n".join([paragraph] * (10_000_000 // len(paragraph) + 1))
    problem = check_one_error(tmp_path, "huge.md", article(body), 1, "MB")
    assert "at most 2 MB" in problem.message and "split" in problem.message


def _long_text(n_words: int) -> str:
    """Return n_words of varied sentences in paragraphs (deterministic, Zipf-like vocabulary)."""
    rng = random.Random(7)
    syllables = ("har", "bri", "cou", "fer", "lib", "tim", "sto", "cra", "mon", "del", "vak",
                 "pel", "ros", "tun", "gim", "sal")
    vocab = sorted({rng.choice(syllables) + rng.choice(syllables) + rng.choice(syllables)
                    for _ in range(4000)})
    weights = [1 / (rank + 100) for rank in range(len(vocab))]
    sentences, count = [], 0
    while count < n_words:
        size = rng.randint(6, 24)
        count += size
        chosen = rng.choices(vocab, weights, k=size)
        sentences.append(" ".join(chosen).capitalize() + ".")
    return "\n\n".join(" ".join(sentences[i:i + 6]) for i in range(0, len(sentences), 6))


def test_hundred_thousand_word_article_builds_in_its_story(tmp_path: Path) -> None:
    body = _long_text(100_000)
    copy = body[: len(body) // 3] + "\n\nAn ending of our own.\n"
    content = make_corpus(tmp_path, {
        "long.md": article(body + "\n\nThe very last sentence.\n", "Long", "story: long-one\n"),
        "long-copy.md": article(copy, "Long copy", "story: long-one\n"),
    })
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    assert "The very last sentence." in page_of(tmp_path / "site", "long")
    assert (tmp_path / "site/stories/long-one/index.html").is_file()


def test_body_of_zero_words(tmp_path: Path) -> None:
    check_one_error(tmp_path, "blank.md", article("\n\n\n"), 5, "no text after the front matter")


@pytest.mark.parametrize("body", ["...\n", "***\n\n___\n", "![](photo.jpg)\n", "😀 🎉\n"])
def test_body_with_no_words_only_markup_builds_with_a_warning(tmp_path: Path, body: str) -> None:
    content = make_corpus(tmp_path, {"markup.md": article(body)})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    [warning] = result.problems
    assert warning.path.endswith("markup.md") and warning.line == 6
    assert "has no words" in warning.message and warning.severity == "warning"
    assert "<h1>A test article</h1>" in page_of(tmp_path / "site", "markup")


def test_article_that_is_one_long_quotation(tmp_path: Path) -> None:
    speech = " ".join(f"We will rebuild bridge number {i} before the winter." for i in range(400))
    quoted = f'“{speech}” the mayor said.\n'
    unclosed = f'"{speech}\n'
    content = make_corpus(tmp_path, {
        "quote.md": article(quoted, "Quote", "story: speech\n"),
        "quote-again.md": article(unclosed, "Quote again", "story: speech\n"),
    })
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    assert "bridge number 399" in page_of(tmp_path / "site", "quote")
    assert (tmp_path / "site/stories/speech/index.html").is_file()


# --- hostile text -------------------------------------------------------------------------------


def test_html_script_and_event_handlers_are_shown_as_text(tmp_path: Path) -> None:
    title = '"<script>alert(1)</script><img src=x onerror=alert(2)>'
    body = ('<script>alert(3)</script>\n\n<p onclick="alert(4)">para</p>\n\n'
            '<svg onload=alert(5)></svg> and </textarea><b onmouseover=alert(6)>x</b>\n')
    content = make_corpus(tmp_path, {"html.md": article(body, title.replace('"', '\\"')
                                                          .join('""'))})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    page = page_of(tmp_path / "site", "html")
    assert "<h1>&#34;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</h1>" \
        in page or "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    for raw in ("<script>alert", "<img src=x", '<p onclick', "<svg onload", "<b onmouseover"):
        assert raw not in page


def test_javascript_and_data_urls(tmp_path: Path) -> None:
    body = ("[run](javascript:alert(1)) [also](JaVaScRiPt:alert(2)) [enc](java&#x73;cript:x)\n\n"
            "[page](data:text/html;base64,PHNjcmlwdD4=) ![img](data:image/svg+xml,<svg>)\n\n"
            "<javascript:alert(3)> [ok](https://example.org/fine)\n")
    content = make_corpus(tmp_path, {"links.md": article(body)})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    page = page_of(tmp_path / "site", "links").lower()
    assert 'href="javascript:' not in page and 'src="javascript:' not in page
    assert 'href="data:' not in page and 'src="data:' not in page
    assert 'href="https://example.org/fine"' in page
    for scheme in ("javascript:alert(1)", "data:text/html;base64,PHNjcmlwdD4="):
        bad = make_corpus(tmp_path / scheme[:4], {"url.md": article("Text.\n", extra=f"url: "
                                                                   f"'{scheme}'\n")})
        found = errors(build_ok(bad, tmp_path / scheme[:4] / "site"))
        assert len(found) == 1 and found[0].line == 5 and "http" in found[0].message


@pytest.mark.parametrize(("name", "extra", "line", "words"), [
    ("dots..md", "", 1, "cannot be an article id"),
    ("index.md", "", 1, "reserved"),
    ("Search.md", "", 1, "reserved"),
    ("with space.md", "", 1, "cannot be an article id"),
    ("story-up.md", "story: ../../etc\n", 5, "no dots, slashes"),
    ("story-slash.md", "story: a/b\n", 5, "no dots, slashes"),
    ("story-dot.md", "story: '..'\n", 5, "no dots, slashes"),
    ("story-back.md", "story: 'a\\b'\n", 5, "no dots, slashes"),
])
def test_unsafe_ids_and_story_keys(tmp_path: Path, name: str, extra: str, line: int,
                                   words: str) -> None:
    check_one_error(tmp_path, name, article("Some text here.\n", extra=extra), line, words)


def test_traversal_in_source_and_reserved_story_key_stay_inside_their_folder(
    tmp_path: Path,
) -> None:
    data = ("---\ntitle: T\nsource: ../../../etc/passwd\npublished: 2024-03-01\nstory: index\n"
            "---\nText of the article.\n")
    other = article("Another text of the same story.\n", extra="story: index\n")
    content = make_corpus(tmp_path, {"sneaky.md": data, "sneaky-too.md": other})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert all(p.startswith(("content", "site", ".cache")) for p in written), written
    assert (tmp_path / "site/sources/etc-passwd/index.html").is_file()
    assert (tmp_path / "site/stories/index/index.html").is_file()
    assert (tmp_path / "site/stories/index.html").is_file()  # the list page is still there


def test_a_story_key_equal_to_another_storys_article_id_keeps_both_stories() -> None:
    from datetime import UTC, datetime

    from site_src.model import Article
    from site_src.pipeline import analyse_corpus

    bridge = ("The harbour bridge closed on Monday after engineers found a crack in the main "
              "span. Officials said repairs would take three weeks.")
    library = ("The library reopened with a rooftop garden after two years. Visitors queued "
               "from early morning to see the new reading room.")

    def make(name: str, text: str, day: int, key: str | None = None) -> Article:
        return Article(id=name, title=name, source=f"s-{name}", body=text, text=text,
                       path=f"{name}.md", published=datetime(2024, 3, day, tzinfo=UTC),
                       story_key=key)

    site = analyse_corpus([make("foo", bridge, 1), make("foo-b", bridge, 2),
                           make("x", library, 3, "foo"), make("y", library, 4, "foo")])
    ids = [s.id for s in site.stories]
    assert len(ids) == len(set(ids)), ids


def test_right_to_left_emoji_and_combining_marks(tmp_path: Path) -> None:
    title = "שלום עולם \u202eevil\u202c 🇺🇦 e\u0301te\u0301"
    body = ("مرحبا بالعالم. هذه جملة ثانية.\n\nEmoji 👩‍👩‍👧 and flags 🇫🇷 in a sentence.\n\n"
            "Zalgo t\u0334\u0351e\u0335x\u0336t and \u200bzero width.\n")
    content = make_corpus(tmp_path, {"unicode.md": article(body, f'"{title}"')})
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    page = page_of(tmp_path / "site", "unicode")
    assert title in page and "مرحبا بالعالم." in page and "👩‍👩‍👧" in page


# --- the file system ----------------------------------------------------------------------------


def test_symlink_loop_in_content(tmp_path: Path) -> None:
    content = make_corpus(tmp_path, {"sub/inner.md": article("Inside a folder.\n", "Inner")})
    (content / "sub" / "loop").symlink_to("..", target_is_directory=True)
    result = build_ok(content, tmp_path / "site")
    assert errors(result) == []
    assert "Inner" in page_of(tmp_path / "site", "inner")


def test_unreadable_file(tmp_path: Path) -> None:
    """chmod 000 stops reads except for root; as root a dangling symlink is unreadable too."""
    if os.geteuid() != 0:
        content = make_corpus(tmp_path, {"locked.md": article("Secret.\n")})
        (content / "locked.md").chmod(0)
        name, words = "locked.md", "Permission denied"
    else:
        content = make_corpus(tmp_path, {})
        (content / "dangling.md").symlink_to(tmp_path / "nowhere.md")
        name, words = "dangling.md", "No such file"
    result = build_ok(content, tmp_path / "site")
    [problem] = errors(result)
    assert problem.path == (content / name).as_posix() and problem.line == 1
    assert "cannot read the file" in problem.message and words in problem.message
    with pytest.raises(BuildError) as raised:
        build_into(content, tmp_path / "strict-site", strict=True)
    assert problem in raised.value.problems


CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import build_into
result = build_into(Path(sys.argv[1]), Path(sys.argv[2]))
for problem in result.problems:
    print(problem)
"""


def _build_in_child(content: Path, out: Path, seconds: float) -> str | None:
    """Build in a child process; return its output, or None (child killed) after seconds."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(content), str(out)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = child.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return None
    assert child.returncode == 0, output
    return output


def test_fifo_named_md_does_not_hang_the_build(tmp_path: Path) -> None:
    content = make_corpus(tmp_path, {})
    os.mkfifo(content / "pipe.md")
    output = _build_in_child(content, tmp_path / "site", 20)
    assert output is not None, "the build hung on a FIFO"
    assert "pipe.md:1: this is not a regular file" in output
    assert (tmp_path / "site/articles/library-reopens/index.html").is_file()


def test_fifo_named_md_is_one_clear_error_when_loading(tmp_path: Path) -> None:
    from site_src.content import load_corpus

    content = make_corpus(tmp_path, {})
    os.mkfifo(content / "pipe.md")
    corpus = load_corpus(content)
    assert len(corpus.articles) == 2
    [problem] = corpus.problems
    assert problem.path.endswith("pipe.md") and "not a regular file" in problem.message


def test_two_symlink_loops_do_not_hang_the_build(tmp_path: Path) -> None:
    content = make_corpus(tmp_path, {})
    (content / "a").symlink_to(".", target_is_directory=True)
    (content / "b").symlink_to(".", target_is_directory=True)
    output = _build_in_child(content, tmp_path / "site", 20)
    assert output is not None, "the build did not finish"
    assert (tmp_path / "site/articles/library-reopens/index.html").is_file()


# --- strict mode --------------------------------------------------------------------------------


def test_strict_lists_every_problem_and_fails(tmp_path: Path) -> None:
    bad = {
        "empty.md": b"",
        "plain.md": "No front matter.\n",
        "yaml.md": "---\ntitle: a: b\nsource: S\n---\nText.\n",
        "date.md": "---\ntitle: T\nsource: S\npublished: 2021-02-30\n---\nText.\n",
        "latin.md": article("Caf\xe9.\n").encode("latin-1"),
        "nul.md": article("A\x00B.\n"),
        "index.md": article("Reserved name.\n"),
        "story.md": article("Text.\n", extra="story: ../x\n"),
    }
    content = make_corpus(tmp_path, bad)
    (content / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    result = build_ok(content, tmp_path / "site")
    named = sorted({Path(p.path).name for p in errors(result)})
    assert named == sorted([*bad, "dangling.md"])
    with pytest.raises(BuildError) as raised:
        build_into(content, tmp_path / "strict-site", strict=True)
    listed = sorted({Path(p.path).name for p in raised.value.problems if p.severity == "error"})
    assert listed == named
    assert "9 file problem(s)" in str(raised.value)
    assert not (tmp_path / "strict-site").exists()


# --- nothing lost (killed build: tests/test_kill.py::test_killed_build_leaves_previous_site) ---

RAW = """Harbour bridge closes after crack found

By Jane Doe

PORTMOUTH — The harbour bridge closed on Monday after engineers found a crack in the main span.

Officials said repairs would take at least three weeks.

Read more: Ferry timetable changes

Copyright © 2024 Coastal Wire. All rights reserved.
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run build.py as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def test_cli_import_never_overwrites_without_force_and_keeps_boilerplate(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(RAW, encoding="utf-8")
    content = tmp_path / "content"
    first = run_cli("import", str(raw), "--content", str(content), "--published", "2024-03-04")
    assert first.returncode == 0, first.stderr
    [written] = sorted(content.glob("*.md"))
    assert f"wrote {written}" in first.stdout
    text = written.read_text("utf-8")
    assert "Read more: Ferry timetable changes" in text.split("\n---\n")[0]  # kept, aside
    assert "Copyright © 2024 Coastal Wire" in text.split("\n---\n")[0]
    edited = text.replace("at least three weeks", "at least four weeks (edited by hand)")
    written.write_text(edited, encoding="utf-8")
    again = run_cli("import", str(raw), "--content", str(content))
    assert again.returncode == 1
    assert "already exists; nothing was written" in again.stderr and "--force" in again.stderr
    assert written.read_text("utf-8") == edited
    forced = run_cli("import", str(raw), "--content", str(content), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "four weeks" not in written.read_text("utf-8")
    assert "Read more: Ferry timetable changes" in written.read_text("utf-8")
    check = run_cli("check", "--content", str(content))
    assert check.returncode == 0 and "1 articles OK, 0 error(s)" in check.stdout


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02binary", b"\xff\xfe\x00h\x00i", b" \n\n"])
def test_cli_import_of_bad_input_writes_nothing(tmp_path: Path, data: bytes) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_bytes(data)
    done = run_cli("import", str(raw), "--content", str(tmp_path / "content"))
    assert done.returncode == 1 and done.stderr.startswith(f"error: {raw}")
    assert not (tmp_path / "content").exists() or not any((tmp_path / "content").iterdir())


def test_build_of_a_bad_corpus_never_writes_inside_content(tmp_path: Path) -> None:
    content = make_corpus(tmp_path, {"empty.md": b"", "nul.md": article("A\x00B.\n"),
                                     "sub/ok.md": article("Fine text here.\n", "Ok")})
    (content / "notes.txt").write_text("Not an article.\n", "utf-8")  # not .md: skipped
    before = {p: (p.lstat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
              for p in content.rglob("*")}
    build_ok(content, tmp_path / "site")
    with pytest.raises(BuildError):
        build_into(content, tmp_path / "site", strict=True)
    after = {p: (p.lstat().st_mtime_ns, p.read_bytes() if p.is_file() else b"")
             for p in content.rglob("*")}
    assert before == after
    refused = run_cli("build", "--content", str(content), "--out", str(content / "_site"))
    assert refused.returncode == 1 and "overlaps the corpus folder" in refused.stderr
    assert not (content / "_site").exists()
