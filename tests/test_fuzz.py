"""Fuzzing (hypothesis): no exception escapes the parsers and analysers, and invariants hold.

- content.parse_article: any bytes/text gives an Article or problems with lines, never a crash;
- importer.import_text + render_content_file: any text imports (or says why not) into a file
  that parses back to the same title, text and boilerplate;
- text.split_segments: segments cover the text exactly once;
- align.analyse_story: segments cover every member exactly once, diffs rebuild both texts,
  quotation renderings and figure mentions point at their own text;
- quotes.extract_quotes and figures.extract_figures: spans lie inside the text they came from.

Example counts are bounded so the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_src.align import analyse_story
from site_src.content import parse_article
from site_src.figures import extract_figures
from site_src.frontmatter import Bad, decode_utf8
from site_src.importer import import_text, render_content_file
from site_src.model import DERIVATION_LABELS, SEGMENT_CLASSES, Article
from site_src.quotes import extract_quotes
from site_src.text import plain_text, split_segments

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Any text a UTF-8 file can hold (no lone surrogates), control characters included.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
# Pieces that stress sentence, quotation, Markdown and YAML handling.
TRICKY = st.sampled_from([
    "a", "The", " ", "  ", ".", "?", "!", "...", "\u2026", ",", ":", ": ", "-", "--", "---",
    "\n", "\n\n", "\r\n", "\r", "\t", '"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "U.S.",
    "Gen.", "Mr. ", "Dr.", " said", " told reporters", "(AP)", "WASHINGTON (AP) \u2014 ", "#",
    "> ", "* ", "1. ", "`", "[x](javascript:alert(1))", "<script>", "&amp;", "\\", "|", "{", "}",
    "150", "more than 150", "$3.5 million", "12%", "hundreds of", "people", "Afghans",
    "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627", "e\u0301", "\U0001f600",
    "\u202e", "\u200b", "\ufeff", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\x00",
])
TRICKY_TEXT = st.lists(TRICKY, max_size=40).map("".join)
MIXED_TEXT = st.one_of(ANY_TEXT, TRICKY_TEXT)

FIELD_NAMES = st.sampled_from(["title", "source", "published", "url", "authors", "story",
                               "language", "boilerplate", "Title", "tittle", "x", "? a", "-"])
FIELD_VALUES = st.one_of(
    st.sampled_from(["", "~", "null", "[]", "{}", "[a, b]", "{a: 1}", "'quoted'", '"dq\\u00e9"',
                     "2021-09-01", "2021-02-30", "2021-09-01T21:32:00+00:00", "2021-09-01 21:32",
                     "12", "1e9", "yes", "no", ".nan", "https://example.org/a", "javascript:x",
                     "data:text/html,x", "../../etc", "a/b", "index", "en", "pt-BR", "|\n  x\n",
                     "&anchor v", "*anchor", "!!binary aGk=", "!!python/object:os.system x",
                     "'unclosed", "[unclosed", "a: b: c", "\t", "- a\n- b"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
)
FRONT_MATTER = st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=8).map(
    lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs))


def check_parse_result(raw: str, article: Article | None, problems: list) -> None:
    """Invariants of parse_article's answer."""
    lines = raw.count("\n") + raw.count("\r") + 2
    for problem in problems:
        assert problem.path == "fuzz.md"
        assert 1 <= problem.line <= lines, problem
        assert problem.message and problem.severity in ("error", "warning")
    has_errors = any(p.severity == "error" for p in problems)
    assert (article is None) == has_errors
    if article is not None:
        assert article.id == "fuzz" and article.title.strip() and article.source
        assert article.text == plain_text(article.body)
        assert article.published is None or article.published.tzinfo is not None
        assert article.url is None or article.url.startswith(("http://", "https://"))


@FAST
@given(st.binary(max_size=300))
def test_parse_article_survives_any_bytes(data: bytes) -> None:
    try:
        raw = decode_utf8(data)
    except Bad as bad:
        assert bad.line >= 1 and "UTF-8" in bad.message
        return
    article, problems = parse_article(raw, "fuzz.md")
    check_parse_result(raw, article, problems)


@FAST
@given(st.sampled_from(["---\n", "\ufeff---\n", "---\r\n", "--- \n", "\n---\n", ""]),
       FRONT_MATTER, st.sampled_from(["---\n", "...\n", "---", "--- x\n", ""]), MIXED_TEXT)
def test_parse_article_survives_any_front_matter(opening: str, front: str, closing: str,
                                                 body: str) -> None:
    raw = opening + front + closing + body
    article, problems = parse_article(raw, "fuzz.md")
    check_parse_result(raw, article, problems)


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
       MIXED_TEXT)
def test_a_valid_file_with_any_title_and_body_parses(title: str, body: str) -> None:
    quoted = title.replace("\\", "\\\\").replace('"', '\\"')
    raw = f'---\ntitle: "{quoted}"\nsource: Outlet\n---\n{body}'
    article, problems = parse_article(raw, "fuzz.md")
    check_parse_result(raw, article, problems)


@FAST
@given(st.lists(MIXED_TEXT, min_size=1, max_size=8).map("\n".join))
def test_import_round_trips_any_text(raw: str) -> None:
    try:
        imported = import_text(raw)
    except ValueError as err:
        assert str(err)
        return
    text = render_content_file(imported)
    article, problems = parse_article(text, "fuzz.md")
    assert [p for p in problems if p.severity == "error"] == [], (text, problems)
    assert article is not None
    assert article.title == " ".join(imported.title.split())
    assert article.text == plain_text(imported.body)
    assert article.boilerplate == imported.boilerplate


@FAST
@given(MIXED_TEXT)
def test_segments_cover_any_text_exactly_once(text: str) -> None:
    spans = split_segments(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(s < e for s, e in spans)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert (spans[0][0], spans[-1][1]) == (0, len(text)) if text else spans == []


@FAST
@given(MIXED_TEXT)
def test_quotes_and_figures_point_into_their_text(text: str) -> None:
    for quote in extract_quotes(text):
        assert 0 <= quote.start <= quote.end <= len(text)
        assert text[quote.start:quote.end] == quote.text
    for subject, _key, value, start, end in extract_figures(text):
        assert subject and 0 <= start < end <= len(text)
        assert value is None or math.isfinite(value)


SENTENCES = st.sampled_from([
    "The Taliban said more than 150 people died in the attack on Thursday.",
    "\u201cWar is hard. It's vicious,\u201d Gen. Mark Milley told reporters in Washington.",
    "Officials said scores of Afghans were killed near the airport gate.",
    "Hundreds of people waited outside the gate for a flight out.",
    "It is difficult to fight in a war, the general said.",
    "Read more: the latest news from the region.",
    "WASHINGTON (AP) \u2014 A drone strike hit a vehicle on Sunday.",
    "The U.S. military said it had killed 2 planners of the group.",
    "$3.5 million in aid was pledged, about 12% more than last year.",
])
MEMBER = st.lists(st.one_of(SENTENCES, TRICKY_TEXT, ANY_TEXT), max_size=6).map(" ".join)
STORY = st.lists(st.tuples(MEMBER, st.one_of(st.none(), st.integers(1, 3)),
                           st.sampled_from([" ", "\n\n", "\n"])), min_size=1, max_size=4)


def make_member(n: int, text: str, day: int | None) -> Article:
    """Return a story member with this plain text."""
    published = datetime(2021, 9, day, tzinfo=UTC) if day else None
    return Article(id=f"m{n}", title=f"M{n}", source=f"s{n}", body=text, text=text,
                   path=f"m{n}.md", published=published)


@SLOW
@given(STORY)
def test_analyse_story_invariants_on_random_stories(spec: list) -> None:
    arts = [make_member(n, sep.join(text.split(" ")), day)
            for n, (text, day, sep) in enumerate(spec)]
    result = analyse_story(arts)
    texts = {a.id: a.text for a in arts}
    assert sorted(a.article_id for a in result.articles) == sorted(texts)
    for item in result.articles:
        text = texts[item.article_id]
        spans = [(s.start, s.end) for s in item.segments]
        assert "".join(text[s:e] for s, e in spans) == text
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert item.label in DERIVATION_LABELS
        assert all(kind in SEGMENT_CLASSES and 0.0 <= share <= 1.0
                   for kind, share in item.composition)
        for seg in item.segments:
            if seg.counterpart is None:
                assert not seg.diff
                continue
            other = texts[seg.counterpart.article_id]
            cp = seg.counterpart
            assert "".join(op.a for op in seg.diff) == other[cp.start:cp.end]
            assert "".join(op.b for op in seg.diff) == text[seg.start:seg.end]
    for row in result.similarity:
        assert all(0.0 <= value <= 1.0 for value in row)
    for quote in result.quotations:
        for r in quote.renderings:
            if r.start >= 0:
                assert texts[r.article_id][r.start:r.end] == r.text
            if r.diff:
                assert "".join(op.b for op in r.diff) == r.text
    for group in result.figures:
        for mention in group.mentions:
            assert texts[mention.article_id][mention.start:mention.end] == mention.phrase
