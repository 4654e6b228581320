"""Unit tests of sentence splitting, tokens, furniture flags and word diffs on inline strings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from site_src.boilerplate import find_boilerplate
from site_src.text import plain_text, split_segments, word_diff, words


def sentences(text: str) -> list[str]:
    """Return the stripped sentences of text."""
    return [text[s:e].strip() for s, e in split_segments(text)]


def test_plain_text_joins_blocks() -> None:
    assert plain_text("# Title\n\nOne *two*\nthree.\n\n- item") == "Title\n\nOne two three.\n\nitem"


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Army Gen. Mark Milley spoke on Sept. 1 in the U.S. capital. Dr. Jane Roe agreed. "
        "The U.S. military left on Aug. 31. Mr. Smith was not there."
    )
    assert sentences(text) == [
        "Army Gen. Mark Milley spoke on Sept. 1 in the U.S. capital.",
        "Dr. Jane Roe agreed.",
        "The U.S. military left on Aug. 31.",
        "Mr. Smith was not there.",
    ]


def test_initialism_ends_sentence_before_a_usual_opener() -> None:
    assert sentences("Troops left the U.S. The war is over.") == [
        "Troops left the U.S.",
        "The war is over.",
    ]


def test_dateline_stays_with_its_sentence() -> None:
    text = "CHARLESTON, W.Va. (AP) \u2014 Six people died. WASHINGTON (AP) \u2014 More news."
    assert sentences(text) == [
        "CHARLESTON, W.Va. (AP) \u2014 Six people died.",
        "WASHINGTON (AP) \u2014 More news.",
    ]


def test_quotation_spanning_sentences_is_one_segment() -> None:
    text = (
        "\u201cWar is hard. It\u2019s vicious. It\u2019s brutal,\u201d Milley said. "
        '"Yes. We all have pain," he added. He left.'
    )
    assert sentences(text) == [
        "\u201cWar is hard. It\u2019s vicious. It\u2019s brutal,\u201d Milley said.",
        '"Yes. We all have pain," he added.',
        "He left.",
    ]


def test_question_in_quote_followed_by_attribution() -> None:
    text = "\u201cWhat is the vital interest?\u201d Biden said. Nobody answered."
    assert sentences(text) == [
        "\u201cWhat is the vital interest?\u201d Biden said.",
        "Nobody answered.",
    ]


def test_sentence_ending_inside_quotes_and_ellipsis() -> None:
    text = "He said \u201cwe are done.\u201d The room fell silent\u2026 Then it went on."
    assert sentences(text) == [
        "He said \u201cwe are done.\u201d",
        "The room fell silent\u2026",
        "Then it went on.",
    ]


def test_segments_never_cross_a_paragraph_break() -> None:
    text = "A heading without stop\n\nBody starts here. And ends here.\n\nLast"
    spans = split_segments(text)
    assert all("\n\n" not in text[s:e].rstrip() for s, e in spans)
    assert sentences(text) == [
        "A heading without stop",
        "Body starts here.",
        "And ends here.",
        "Last",
    ]


_PIECES = st.sampled_from(
    ["a", "b", " ", ".", "?", "\n", '"', "\u201c", "\u201d", "U.S.", "Gen.", "Mr. ", " The "]
)


@given(st.lists(_PIECES).map("".join))
def test_segments_partition_any_text(text: str) -> None:
    spans = split_segments(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(s < e for s, e in spans)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_words_are_lowercased_with_folded_apostrophes() -> None:
    assert words("It\u2019s 124,000 U.S. troops") == ["it's", "124", "000", "u", "s", "troops"]


def test_furniture_is_flagged() -> None:
    text = (
        "Published: Updated:\n\nMilley spoke on Wednesday about the war.\n\n"
        "Milley speaks at a briefing. (AP Photo/Susan Walsh)\n\n"
        "For the latest headlines, follow our Google News channel online.\n\n"
        "He said more later in the day to reporters.\n\nBe the first to comment"
    )
    spans = split_segments(text)
    flagged = [
        text[s:e].strip()
        for (s, e), f in zip(spans, find_boilerplate(text, spans), strict=False)
        if f
    ]
    assert flagged == [
        "Published: Updated:",
        "Milley speaks at a briefing.",
        "(AP Photo/Susan Walsh)",
        "For the latest headlines, follow our Google News channel online.",
        "Be the first to comment",
    ]


def test_word_diff_marks_changed_words() -> None:
    ops = word_diff("War is hard. It\u2019s vicious.", "War is difficult. It's vicious.")
    assert [(op.tag, op.a.strip(), op.b.strip()) for op in ops] == [
        ("equal", "War is", "War is"),
        ("replace", "hard", "difficult"),
        ("equal", ". It\u2019s vicious.", ". It's vicious."),
    ]


@given(st.text(), st.text())
def test_word_diff_rebuilds_both_texts(old: str, new: str) -> None:
    ops = word_diff(old, new)
    assert "".join(op.a for op in ops) == old
    assert "".join(op.b for op in ops) == new
