"""Alignment on inline stories: classes, labels, and properties that must always hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.align import analyse_story
from site_src.model import (
    EDITED,
    NEW,
    ORIGIN,
    PARAPHRASED,
    VERBATIM,
    WHOLLY_DERIVED,
    Article,
    chronological_key,
)

POOL = [
    "The army said on Monday that 40 soldiers crossed the river near the old bridge.",
    "Officials in the capital declined to comment on the movement of troops.",
    "\u201cWe will defend every inch of our land,\u201d the defence minister told reporters.",
    "Local farmers reported hearing artillery fire throughout the night.",
    "The United Nations called for restraint from both sides of the conflict.",
    "Prices of bread and fuel have doubled since the fighting began in March.",
    "Aid groups warned that thousands of families could lose access to clean water.",
    "The talks are expected to resume in Geneva next week, diplomats said.",
]


def make(ident: str, text: str, day: int | None = None) -> Article:
    """Build an article with plain text (and an optional publication day)."""
    published = datetime(2021, 9, day, tzinfo=UTC) if day else None
    return Article(
        id=ident,
        title=ident,
        source=ident,
        body=text,
        text=text,
        path=f"{ident}.md",
        published=published,
    )


def kinds(analysis, ident: str) -> list[str]:  # noqa: ANN001
    """Return the segment classes of one member."""
    return [s.kind for s in analysis.for_article(ident).segments]


def test_single_article_is_origin_with_new_segments() -> None:
    result = analyse_story([make("a", " ".join(POOL[:3]))])
    item = result.articles[0]
    assert item.label == ORIGIN and kinds(result, "a") == [NEW, NEW, NEW]
    assert result.similarity == ((1.0,),)
    assert dict(item.composition) == {VERBATIM: 0.0, EDITED: 0.0, PARAPHRASED: 0.0, NEW: 1.0}


def test_dated_copy_is_wholly_derived_and_reordering_still_aligns() -> None:
    source = make("src", "\n\n".join(POOL), day=1)
    copy_text = "\n\n".join(reversed(POOL[:6])) + "\n\nA brand new closing remark about cats."
    copy = make("copy", copy_text, day=2)
    result = analyse_story([copy, source])
    assert [a.article_id for a in result.articles] == ["src", "copy"]
    assert kinds(result, "copy") == [VERBATIM] * 6 + [NEW]
    assert kinds(result, "src") == [NEW] * len(POOL)  # nothing was published before it
    item = result.for_article("copy")
    assert item.label == WHOLLY_DERIVED and item.likely_source == "src"
    assert result.for_article("src").label == ORIGIN
    cp = result.for_article("copy").segments[0].counterpart
    assert source.text[cp.start : cp.end].strip() == POOL[5]


def test_edits_are_classed_edited_with_a_diff() -> None:
    a = make("a", POOL[0] + " " + POOL[1], day=1)
    b = make("b", POOL[0].replace("Monday", "Tuesday") + " " + POOL[1], day=2)
    result = analyse_story([a, b])
    segs = result.for_article("b").segments
    assert segs[0].kind == EDITED and segs[1].kind == VERBATIM
    changed = [(op.a.strip(), op.b.strip()) for op in segs[0].diff if op.tag != "equal"]
    assert changed == [("Monday", "Tuesday")]


def test_furniture_is_excluded_from_composition() -> None:
    text = POOL[0] + "\n\n(AP Photo/Jane Doe)\n\nBe the first to comment"
    item = analyse_story([make("a", text)]).articles[0]
    assert [s.kind for s in item.segments] == [NEW, "boilerplate", "boilerplate"]
    assert dict(item.composition)[NEW] == 1.0


def _edit(sentence: str, how: int) -> str:
    """Rewrite a sentence a little (or not) so the story holds all kinds of pairs."""
    if how == 1:
        return sentence.replace("the", "a", 1)
    if how == 2:
        return " ".join(reversed(sentence.split()))
    return sentence


member_st = st.lists(
    st.tuples(st.integers(0, len(POOL) - 1), st.integers(0, 2), st.sampled_from([" ", "\n\n"])),
    min_size=0,
    max_size=6,
)
story_st = st.lists(
    st.tuples(member_st, st.one_of(st.none(), st.integers(1, 3))), min_size=1, max_size=4
)


def build_story(spec) -> list[Article]:  # noqa: ANN001
    """Turn a generated spec into articles."""
    arts = []
    for n, (parts, day) in enumerate(spec):
        text = "".join(_edit(POOL[p], how) + sep for p, how, sep in parts)
        arts.append(make(f"m{n}", text, day))
    return arts


@settings(max_examples=40, deadline=None)
@given(story_st, st.randoms(use_true_random=False))
def test_properties_of_any_story(spec, rnd) -> None:  # noqa: ANN001
    arts = build_story(spec)
    result = analyse_story(arts)
    ordered = sorted(arts, key=lambda a: (chronological_key(a), a.id))
    assert [a.article_id for a in result.articles] == [a.id for a in ordered]
    assert len(result.similarity) == len(arts)
    texts = {a.id: a.text for a in arts}
    for item in result.articles:
        text = texts[item.article_id]
        spans = [(s.start, s.end) for s in item.segments]
        assert "".join(text[s:e] for s, e in spans) == text
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        for seg in item.segments:
            if seg.counterpart is None:
                assert seg.kind in (NEW, "boilerplate") and not seg.diff
                continue
            other = texts[seg.counterpart.article_id]
            assert (
                "".join(op.a for op in seg.diff)
                == other[seg.counterpart.start : seg.counterpart.end]
            )
            assert "".join(op.b for op in seg.diff) == text[seg.start : seg.end]
    for quote in result.quotations:
        for r in quote.renderings:
            assert "".join(op.b for op in r.diff) == (r.text if r.diff else "")
    # shuffling the members changes nothing
    shuffled = list(arts)
    rnd.shuffle(shuffled)
    assert analyse_story(shuffled) == result
    # renaming the members changes no class or label
    renamed = analyse_story([replace(a, id="x" + a.id[::-1], path="z.md") for a in shuffled])
    assert [[s.kind for s in a.segments] for a in renamed.articles] == [
        [s.kind for s in a.segments] for a in result.articles
    ]
    assert [a.label for a in renamed.articles] == [a.label for a in result.articles]
    assert renamed.similarity == result.similarity
