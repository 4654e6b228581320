"""Figures on inline texts: what counts as a figure, what it counts, and disagreements."""

from __future__ import annotations

from datetime import UTC, datetime

from site_src.align import analyse_story
from site_src.figures import extract_figures
from site_src.model import Article


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


def figures_of(text: str) -> list[tuple[str, str]]:
    """Return (subject, phrase) of each figure in text."""
    return [(subject, text[s:e]) for subject, _, _, s, e in extract_figures(text)]


def test_counts_and_their_subjects() -> None:
    text = (
        "The blast on Sept. 1, 2021 at 9:32 PM killed scores of Afghans and 13 American service "
        "members. More than 124,000 people left in the 20-year war's last three weeks; "
        "two IS planners died and over a 100 Afghans were hurt, as were 13 US servicemen."
    )
    assert figures_of(text) == [
        ("Afghans", "scores of Afghans"),
        ("troops", "13 American service members"),
        ("people", "More than 124,000 people"),
        ("weeks", "three weeks"),
        ("planners", "two IS planners"),
        ("Afghans", "over a 100 Afghans"),
        ("troops", "13 US servicemen"),
    ]


def test_values() -> None:
    values = [
        v
        for _, _, v, _, _ in extract_figures(
            "hundreds of Afghans, 1.5 million people, a dozen eggs, $21 million in damages"
        )
    ]
    assert values == [200.0, 1.5e6, 12.0, 21e6]


def test_disagreeing_figures_are_grouped() -> None:
    a = make("a", "The bombing killed scores of Afghans and 13 American troops on Thursday.", 1)
    b = make(
        "b", "The attack killed more than 150 Afghans and 13 US servicemen, officials said.", 2
    )
    c = make("c", "Officials counted 13 service members among the dead in the airport attack.", 3)
    result = analyse_story([c, b, a])
    groups = {g.subject: g for g in result.figures}
    afghans = groups["Afghans"]
    assert afghans.disagree
    assert [(m.article_id, m.phrase) for m in afghans.mentions] == [
        ("a", "scores of Afghans"),
        ("b", "more than 150 Afghans"),
    ]
    troops = groups["troops"]
    assert not troops.disagree and {m.article_id for m in troops.mentions} == {"a", "b", "c"}
    assert result.figures[0] is afghans  # disagreements come first
