"""Story clustering: what a reader of the site sees as one story, on inline texts only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from site_src.cluster import find_stories
from site_src.model import Article

QUAKE_A = (
    "A magnitude 6.1 earthquake struck Qeshm island off southern Iran on Sunday, killing ten "
    "people in the villages of Zirang and Tonban in November 2005, the Iranian Red Crescent "
    "said. Rescuers from Bandar Abbas pulled survivors from mud-brick homes as aftershocks "
    "rattled the Persian Gulf island."
)
QUAKE_B = (
    "Ten villagers died when a 6.1 tremor flattened houses on Qeshm, the Iranian island in the "
    "Persian Gulf, on Sunday (November 2005). Zirang and Tonban were worst hit; Red Crescent "
    "teams sent from Bandar Abbas searched the rubble through the night."
)
QUAKE_OTHER = (
    "Five people were hurt when a quake of magnitude 5.6 hit Lar in Fars province in March "
    "2008. Governor Ali Moradi said walls cracked in Khonj and tents went to mountain hamlets."
)
FIGHT_A = (
    "Wladimir Klitschko stopped Tony Thompson in the sixth round in Bern on Saturday to keep his "
    "heavyweight belts, flooring the American Thompson with a right hand at Stade de Suisse."
)
FIGHT_B = (
    "Heavyweight champion Wladimir Klitschko beat challenger Tony Thompson at Stade de Suisse in "
    "Bern, the referee ending the bout in round six after Thompson went down."
)
OTHER_NEWS = (
    "The city council of Leeds approved a new cycling lane budget on Tuesday after a long "
    "debate about parking spaces and bus routes along Kirkstall Road."
)
DAY = datetime(2021, 9, 1, 12, 0, tzinfo=UTC)


def make(article_id: str, text: str, day: int | None = None, key: str | None = None,
         source: str = "outlet") -> Article:
    """Build an in-memory article dated `day` days after DAY (undated when None)."""
    published = None if day is None else DAY + timedelta(days=day)
    return Article(id=article_id, title=text.split(",")[0][:60], source=source, body=text,
                   text=text, path=f"{article_id}.md", published=published, story_key=key)


def grouping(stories) -> set[frozenset[str]]:
    """Return the stories as a set of member-id sets."""
    return {frozenset(s.member_ids) for s in stories}


def corpus() -> list[Article]:
    """Return a small mixed corpus: two quake events, one fight, one unrelated item."""
    return [
        make("quake-ten", QUAKE_A, 0, source="wire"),
        make("quake-ten-rewrite", QUAKE_B, 1, source="daily"),
        make("quake-five", QUAKE_OTHER, None, source="wire"),
        make("fight-a", FIGHT_A, 3, source="sports"),
        make("fight-b", FIGHT_B, 4, source="daily"),
        make("council", OTHER_NEWS, 2, source="local"),
    ]


def test_same_event_with_little_shared_wording_is_one_story():
    stories = find_stories(corpus())
    assert frozenset({"quake-ten", "quake-ten-rewrite"}) in grouping(stories)
    assert frozenset({"fight-a", "fight-b"}) in grouping(stories)


def test_look_alike_event_with_other_figures_and_places_stays_apart():
    stories = find_stories(corpus())
    quake_story = next(s for s in stories if "quake-ten" in s.member_ids)
    assert "quake-five" not in quake_story.member_ids
    assert ("council",) in [s.member_ids for s in stories]


def test_every_article_is_in_exactly_one_story():
    articles = corpus()
    members = [m for s in find_stories(articles) for m in s.member_ids]
    assert sorted(members) == sorted(a.id for a in articles)


def test_story_takes_id_and_title_of_its_earliest_member():
    story = next(s for s in find_stories(corpus()) if "quake-ten" in s.member_ids)
    assert story.id == "quake-ten"
    assert story.member_ids == ("quake-ten", "quake-ten-rewrite")
    assert story.title == make("x", QUAKE_A).title
    assert story.analysis is None


def test_story_id_is_stable_when_a_later_article_joins():
    before = find_stories(corpus())
    late = make("quake-ten-late", QUAKE_B.replace("through the night", "until dawn"), 2)
    after = find_stories([*corpus(), late])
    story = next(s for s in after if "quake-ten-late" in s.member_ids)
    assert story.id == "quake-ten"
    assert {s.id for s in before} <= {s.id for s in after}


def test_story_key_forces_membership_and_names_the_story():
    articles = corpus()
    articles[5] = make("council", OTHER_NEWS, 2, key="mixed-bag")
    articles[3] = make("fight-a", FIGHT_A, 3, key="mixed-bag")
    stories = find_stories(articles)
    forced = next(s for s in stories if s.id == "mixed-bag")
    assert {"council", "fight-a"} <= set(forced.member_ids)


def test_different_story_keys_never_merge():
    articles = [make("q1", QUAKE_A, 0, key="one"), make("q2", QUAKE_B, 0, key="two")]
    assert grouping(find_stories(articles)) == {frozenset({"q1"}), frozenset({"q2"})}


def test_articles_far_apart_in_time_never_join_unless_forced():
    far = [make("q1", QUAKE_A, 0), make("q2", QUAKE_B, 30)]
    assert len(find_stories(far)) == 2
    forced = [make("q1", QUAKE_A, 0, key="quake"), make("q2", QUAKE_B, 30, key="quake")]
    assert [s.member_ids for s in find_stories(forced)] == [("q1", "q2")]


def test_undated_articles_can_join_dated_ones():
    articles = [make("q1", QUAKE_A, 0), make("q2", QUAKE_B, None)]
    assert len(find_stories(articles)) == 1


def test_undated_article_cannot_bridge_dated_reports_far_apart_in_time():
    bridge = QUAKE_A + " " + QUAKE_B
    articles = [make("q1", QUAKE_A, 0), make("q2", QUAKE_B, 30), make("both", bridge, None)]
    stories = grouping(find_stories(articles))
    assert not any({"q1", "q2"} <= story for story in stories)
    assert len(stories) == 2


def test_undated_reports_naming_other_weekdays_score_lower():
    import numpy as np

    from site_src.cluster_memo import make_features
    from site_src.similarity import WEEKDAY_PENALTY, score_pairs

    tuesday = QUAKE_B.replace("on Sunday", "on Tuesday")
    articles = [make("q1", QUAKE_A, None), make("q2", tuesday, None), make("q3", QUAKE_B, None),
                make("q4", QUAKE_A, 0), make("q5", tuesday, 1), make("q6", tuesday, None)]
    features = make_features(articles, 3)
    pairs = np.array([[0, 1], [0, 2], [3, 4], [3, 5]])
    plain = score_pairs(features.vectors, pairs, features.years,
                        np.zeros(len(articles), dtype=np.uint8))
    scored = score_pairs(features.vectors, pairs, features.years, features.weekdays)
    assert scored[0] == np.float32(plain[0] * np.float32(WEEKDAY_PENALTY))  # undated, apart
    assert scored[1] == plain[1]  # both name Sunday
    assert scored[2] == plain[2]  # both dated: their dates are the evidence
    assert scored[3] == np.float32(plain[3] * np.float32(WEEKDAY_PENALTY))  # one undated


def test_stories_are_sorted_newest_first_with_undated_last():
    stories = find_stories(corpus())
    assert [s.id for s in stories] == ["fight-a", "council", "quake-ten", "quake-five"]


def test_empty_corpus_has_no_stories():
    assert find_stories([]) == ()


@settings(max_examples=25, deadline=None)
@given(st.permutations(corpus()))
def test_result_does_not_depend_on_input_order(shuffled):
    assert find_stories(shuffled) == find_stories(corpus())


@settings(max_examples=10, deadline=None)
@given(st.lists(st.sampled_from("abcdefgh"), min_size=6, max_size=6, unique=True))
def test_result_does_not_depend_on_file_names(names):
    renamed = [
        Article(id=a.id, title=a.title, source=a.source, body=a.body, text=a.text,
                path=f"{name}/{a.id}.md", published=a.published)
        for a, name in zip(corpus(), names, strict=True)
    ]
    assert find_stories(renamed) == find_stories(corpus())


def test_features_counted_in_worker_processes_equal_one_process(monkeypatch):
    from site_src import executor, similarity

    texts = [QUAKE_A, QUAKE_B, QUAKE_OTHER, FIGHT_A, FIGHT_B, OTHER_NEWS] * 3
    articles = [Article(f"a{i:02d}", t.split(",")[0], f"o{i % 4}", t, t, f"a{i:02d}.md",
                        DAY + timedelta(hours=i)) for i, t in enumerate(texts)]
    alone = similarity.make_counts(articles, frozenset(), 3.0)
    monkeypatch.setattr(similarity, "FEATURE_CHUNK", 4)  # five chunks of at most four
    with executor.session(2):
        assert executor.current().workers == 2
        split = similarity.count_in_parallel(articles, frozenset(), 3.0)
        stories = find_stories(articles)
    for one, other in zip(alone, split, strict=True):
        if hasattr(one, "toarray"):
            one, other = one.toarray(), other.toarray()
        assert one.shape == other.shape and (one == other).all()
    assert stories == find_stories(articles)
