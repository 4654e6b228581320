"""Quotations on inline texts: spans, speakers, and how members render them."""

from __future__ import annotations

from datetime import UTC, datetime

from site_src.align import analyse_story
from site_src.model import (
    QUOTE_ALTERED,
    QUOTE_EXACT,
    QUOTE_MISSING,
    QUOTE_ONLY_HERE,
    QUOTE_SHORTENED,
    Article,
)
from site_src.quotes import extract_quotes


def make(ident: str, text: str, day: int) -> Article:
    """Build a dated article with plain text."""
    return Article(
        id=ident,
        title=ident,
        source=ident,
        body=text,
        text=text,
        path=f"{ident}.md",
        published=datetime(2021, 9, day, tzinfo=UTC),
    )


def found(text: str) -> list[tuple[str, str | None]]:
    """Return (quote, speaker) pairs of a text."""
    return [(q.text, q.speaker) for q in extract_quotes(text)]


def test_speakers_from_common_patterns() -> None:
    text = (
        "\u201cWe are ready,\u201d Gen. Mark Milley said. "
        "\u201cI would not make any leaps,\u201d said Austin.\n\n"
        "Defense Secretary Lloyd Austin said: \u201cWe are working on it.\u201d\n\n"
        "\u201cIt is hard,\u201d he added.\n\n"
        'The relationship was "very pragmatic," according to Gen. Frank McKenzie.\n\n'
        "Nobody knows \u201cwhat comes next\u201d in the region."
    )
    assert found(text) == [
        ("We are ready,", "Milley"),
        ("I would not make any leaps,", "Austin"),
        ("We are working on it.", "Austin"),
        ("It is hard,", "Austin"),
        ("very pragmatic,", "McKenzie"),
        ("what comes next", None),
    ]


def test_quote_offsets_point_into_the_text() -> None:
    text = "Biden said, \u201cTo ISIS-K: We are not done with you yet.\u201d Then he left."
    (quote,) = extract_quotes(text)
    assert text[quote.start : quote.end] == quote.text == "To ISIS-K: We are not done with you yet."
    assert quote.speaker == "Biden"


def test_continued_quote_keeps_its_speaker() -> None:
    text = "\u201cWar is hard,\u201d Milley said. \u201cYes, we all have pain.\u201d"
    assert found(text) == [("War is hard,", "Milley"), ("Yes, we all have pain.", "Milley")]


def test_renderings_across_members() -> None:
    first = make(
        "a",
        "Milley spoke at the Pentagon on Wednesday about the long war in the region. "
        "\u201cWar is hard. It\u2019s vicious. It\u2019s brutal,\u201d Milley said. "
        "\u201cIn war you do what you must in order to reduce risk,\u201d Milley said. "
        "\u201cWe will stay in touch with partners,\u201d Austin said.",
        1,
    )
    second = make(
        "b",
        "Milley spoke at the Pentagon on Wednesday about the long war in the region. "
        "\u201cIt is difficult to fight in a war. It\u2019s a nasty beast. "
        "It\u2019s a bloodbath,\u201d Milley remarked. "
        "\u201cIn war you do what you must,\u201d Milley said. "
        "\u201cThe pullout was a disgrace,\u201d a veteran said.",
        2,
    )
    result = analyse_story([second, first])
    by_text = {q.text: {r.article_id: r.status for r in q.renderings} for q in result.quotations}
    assert by_text["War is hard. It\u2019s vicious. It\u2019s brutal,"] == {
        "a": QUOTE_EXACT,
        "b": QUOTE_ALTERED,
    }
    assert by_text["In war you do what you must in order to reduce risk,"] == {
        "a": QUOTE_EXACT,
        "b": QUOTE_SHORTENED,
    }
    assert by_text["We will stay in touch with partners,"] == {
        "a": QUOTE_ONLY_HERE,
        "b": QUOTE_MISSING,
    }
    assert by_text["The pullout was a disgrace,"] == {"a": QUOTE_MISSING, "b": QUOTE_ONLY_HERE}
    altered = next(q for q in result.quotations if q.text.startswith("War is hard"))
    rendering = next(r for r in altered.renderings if r.article_id == "b")
    assert "".join(op.a for op in rendering.diff) == altered.text
    assert "".join(op.b for op in rendering.diff) == rendering.text
    assert altered.speaker == "Milley"
