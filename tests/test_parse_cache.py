"""The parse cache: articles read back from it equal, hash, print and pickle as parsed ones."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from site_src import parse_cache
from site_src.model import Article, Problem


def make_article(name: str, text: str, body: str | None = None, boilerplate: str = "") -> Article:
    """Return an article; its body is its text (one string) unless given."""
    return Article(id=name, title=f"Title of {name}", source="wire",
                   body=text if body is None else body, text=text, path=f"{name}.md",
                   published=datetime(2024, 3, 1, 9, 30, tzinfo=UTC), url="https://x.test/a",
                   authors=("A. Writer",), boilerplate=boilerplate)


LONG = "The harbour bridge was closed on Monday after engineers found a crack. " * 5
ARTICLES = {
    "plain.md": make_article("plain", LONG),
    "marked.md": make_article("marked", LONG, body=f"**Bold** {LONG}",
                              boilerplate="Sign up for our newsletter. " * 4),
    "short.md": make_article("short", "Tiny text, é."),
    "accents.md": make_article("accents", "Café crème — “quoted” ünïcode. " * 6),
}


def entries_of(articles: dict[str, Article | None]) -> dict:
    """Return parse-cache entries for articles (None: a file with errors)."""
    return {rel: ((f"key-{rel}", article, (Problem(rel, 2, "a warning", "warning"),), None),
                  f"print-{rel}", f"headline-{rel}") for rel, article in articles.items()}


def check_found(found: dict, expected: dict[str, Article | None]) -> None:
    """Assert the loaded parses are the expected ones, articles read back in full."""
    assert sorted(found) == sorted(expected)
    for rel, original in expected.items():
        (key, article, problems, name), fingerprint, headline = found[rel]
        assert (key, fingerprint, headline, name) == (
            f"key-{rel}", f"print-{rel}", f"headline-{rel}", None)
        assert problems == (Problem(rel, 2, "a warning", "warning"),)
        if original is None:
            assert article is None
            continue
        assert isinstance(article, parse_cache.LazyArticle)
        assert article == original and original == article and hash(article) == hash(original)
        assert repr(article) == repr(original)
        again = pickle.loads(pickle.dumps(article))
        assert type(again) is Article and again == original
        assert (article.body is article.text) == (original.body is original.text)


@pytest.mark.parametrize("many", [False, True])
def test_saved_parses_come_back_equal(tmp_path: Path, many: bool) -> None:
    """Through the journal (a few new parses) or the rewritten index (many)."""
    expected = {**ARTICLES, "broken.md": None}
    parse_cache.save_parses(tmp_path, {}, set(), set())  # an empty index, then the parses
    if many:
        expected.update({f"more-{i}.md": make_article(f"more-{i}", f"Text {i}. {LONG}")
                         for i in range(parse_cache.JOURNAL_MAX)})
    parse_cache.save_parses(tmp_path, entries_of(expected), set(expected), set())
    journal = tmp_path / parse_cache.PARSED_FOLDER / parse_cache.JOURNAL_FILE
    assert journal.exists() != many
    check_found(parse_cache.load_parses(tmp_path), expected)


def test_later_builds_keep_add_and_drop_parses(tmp_path: Path) -> None:
    """Edits, additions and deletions over many builds, the index rewritten now and then."""
    current: dict[str, Article | None] = dict(ARTICLES)
    parse_cache.save_parses(tmp_path, entries_of(current), set(current), set())
    for step in range(40):
        found = parse_cache.load_parses(tmp_path)
        new = {f"new-{step}-{i}.md": make_article(f"new-{step}-{i}", f"Number {step} {i}. {LONG}")
               for i in range(1 + step * 7 % 60)}
        new[f"new-{step // 2}-0.md"] = make_article("edited", f"Edited at {step}. {LONG}")
        gone = {rel for rel in found if rel.startswith(f"new-{step - 3}-")} - new.keys()
        current.update(new)
        for rel in gone:
            current.pop(rel)
        kept = {rel: entry for rel, entry in found.items() if rel in current}
        parse_cache.save_parses(tmp_path, {**kept, **entries_of(new)}, set(new), gone)
        check_found(parse_cache.load_parses(tmp_path), current)
    data = list((tmp_path / parse_cache.PARSED_FOLDER).glob("*.data"))
    assert 1 <= len(data) <= parse_cache.MAX_DATA_FILES


def test_a_damaged_parse_cache_reads_as_empty(tmp_path: Path) -> None:
    many = {f"more-{i}.md": make_article(f"more-{i}", f"Text {i}. {LONG}")
            for i in range(parse_cache.JOURNAL_MAX + 1)}
    parse_cache.save_parses(tmp_path, entries_of(many), set(many), set())
    folder = tmp_path / parse_cache.PARSED_FOLDER
    for path in folder.glob("*.data"):
        path.write_bytes(b"")  # the texts are gone: the articles cannot be read
    assert parse_cache.load_parses(tmp_path) == {}
    (folder / parse_cache.INDEX_FILE).write_bytes(b"not a pickle")
    assert parse_cache.load_parses(tmp_path) == {}


def test_a_journal_left_by_another_index_is_ignored(tmp_path: Path) -> None:
    parse_cache.save_parses(tmp_path, entries_of(ARTICLES), set(ARTICLES), set())
    folder = tmp_path / parse_cache.PARSED_FOLDER
    later = {"late.md": make_article("late", LONG)}
    parse_cache.save_parses(tmp_path, {**parse_cache.load_parses(tmp_path), **entries_of(later)},
                            set(later), set())
    journal = (folder / parse_cache.JOURNAL_FILE).read_bytes()
    many = {f"more-{i}.md": make_article(f"more-{i}", LONG)
            for i in range(parse_cache.JOURNAL_MAX + 1)}
    parse_cache.save_parses(tmp_path, entries_of(many), set(many), set(ARTICLES) | set(later))
    (folder / parse_cache.JOURNAL_FILE).write_bytes(journal)  # e.g. restored from elsewhere
    check_found(parse_cache.load_parses(tmp_path), many)
