"""The five seeds as one story: the AP origin, a spun copy, added commentary, altered quotes
and the disagreeing casualty figures. Runs on the shipped content/ (through the loader) and
on the raw seed texts from ../shared/seeds (undated, so direction comes from the text)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from site_src.align import analyse_story
from site_src.model import (
    EDITED,
    NEW,
    ORIGIN,
    PARAPHRASED,
    QUOTE_ALTERED,
    WHOLLY_DERIVED,
    Article,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def load_content() -> list[Article]:
    """Load the shipped corpus through the content loader (skip when it is not there)."""
    content = pytest.importorskip("site_src.content")
    corpus = content.load_corpus(ROOT / "content")
    if len(corpus.articles) < 5:
        pytest.skip("content/ does not hold the five seeds yet")
    return list(corpus.articles)


def load_raw() -> list[Article]:
    """Build undated articles from the raw seed texts (skip without ../shared)."""
    files = sorted(SEEDS.glob("*.txt"))
    if len(files) < 5:
        pytest.skip("the raw seeds are not available in ../shared/seeds")
    return [
        Article(
            id=f.stem[:3],
            title=f.stem,
            source=f.stem,
            body=f.read_text("utf-8"),
            text=f.read_text("utf-8"),
            path=f.name,
        )
        for f in files
    ]


@pytest.fixture(scope="module", params=["content", "raw"])
def story(request):  # noqa: ANN001, ANN201
    """The seed articles (by three-digit prefix) and their analysis."""
    arts = load_content() if request.param == "content" else load_raw()
    by_prefix = {a.id[:3]: a for a in arts}
    return by_prefix, analyse_story(arts)


def test_the_ap_story_is_the_origin(story) -> None:  # noqa: ANN001
    arts, result = story
    assert result.for_article(arts["000"].id).label == ORIGIN
    for key in ("001", "002", "004"):
        assert result.for_article(arts[key].id).likely_source == arts["000"].id


def test_the_spun_copy_is_wholly_derived_mostly_paraphrased_or_edited(story) -> None:  # noqa: ANN001
    arts, result = story
    item = result.for_article(arts["002"].id)
    assert item.label == WHOLLY_DERIVED
    counts = Counter(s.kind for s in item.segments if s.kind != "boilerplate")
    assert counts[PARAPHRASED] + counts[EDITED] >= 0.8 * sum(counts.values())
    assert dict(item.composition)[NEW] < 0.05


def test_added_commentary_is_new(story) -> None:  # noqa: ANN001
    arts, result = story
    art = arts["001"]
    item = result.for_article(art.id)
    commentary = "The optics of that statement, so soon after the evacuation of the U.S. from Kabul"
    (seg,) = [s for s in item.segments if art.text[s.start : s.end].startswith(commentary)]
    assert seg.kind == NEW and seg.counterpart is None
    opinion = "is something that veterans, regardless of branch, will not forget or forgive"
    (seg,) = [s for s in item.segments if opinion in art.text[s.start : s.end]]
    assert seg.kind == NEW


def test_the_reworded_milley_quotation_is_altered(story) -> None:  # noqa: ANN001
    arts, result = story
    quote = next(q for q in result.quotations if q.text.startswith("War is hard."))
    assert quote.speaker == "Milley" and quote.article_id == arts["000"].id
    status = {r.article_id: r for r in quote.renderings}
    spun = status[arts["002"].id]
    assert spun.status == QUOTE_ALTERED
    assert spun.text.startswith("It is difficult to fight in a war.")
    assert "".join(op.a for op in spun.diff) == quote.text
    assert "".join(op.b for op in spun.diff) == spun.text


def test_the_afghan_casualty_figures_disagree_in_one_group(story) -> None:  # noqa: ANN001
    arts, result = story
    (group,) = [g for g in result.figures if g.subject == "Afghans"]
    assert group.disagree
    phrases = {m.article_id: m.phrase for m in group.mentions}
    assert phrases == {
        arts["000"].id: "scores of Afghans",
        arts["001"].id: "more than 150 Afghans",
        arts["002"].id: "hundreds of Afghans",
        arts["003"].id: "over a 100 Afghans",
        arts["004"].id: "scores of Afghans",
    }
    troops = [g for g in result.figures if g.subject == "troops" and len(g.mentions) == 5]
    assert troops and not troops[0].disagree
