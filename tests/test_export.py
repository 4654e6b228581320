"""Machine-readable exports: story.json and data/index.json (hand-built analyses, no disk)."""

from __future__ import annotations

import json

from test_storyview import SPIN, make_site

from site_src import export
from site_src.model import Site
from site_src.urls import Urls


def test_story_json_describes_members_segments_quotes_and_figures():
    site, story = make_site()
    text = export.story_json(story, site, Urls("/base/", "https://example.org"))
    assert text.endswith("\n") and "\n" not in text[:-1]
    data = json.loads(text)
    assert data["id"] == "a0" and data["url"] == "https://example.org/base/stories/a0/"
    assert [m["id"] for m in data["members"]] == ["a0", "b1", "c2"]
    spun = data["members"][1]
    assert spun["label"] == "wholly_derived" and spun["likely_source"] == "a0"
    assert spun["source_share"] == 0.8 and spun["composition"]["edited"] == 0.5
    assert spun["published"] == "2021-09-01T23:32:00Z"
    assert [s["text"] for s in spun["segments"]] == SPIN
    assert [s["class"] for s in spun["segments"]] == ["verbatim", "edited", "edited", "new"]
    article = site.article("b1")
    for seg in spun["segments"]:
        assert article.text[seg["start"]:seg["end"]] == seg["text"]
        cp = seg["counterpart"]
        if cp is not None:
            source = site.article(cp["article"])
            assert "".join(op[1] for op in seg["diff"]) in ("", source.text[cp["start"]:cp["end"]])
            assert "".join(op[2] for op in seg["diff"]) in ("", seg["text"])
    assert spun["segments"][0]["diff"] == []  # verbatim: nothing to show
    assert spun["segments"][3]["counterpart"] is None
    quote = data["quotations"][0]
    assert quote["speaker"] == "Milley"
    assert [r["status"] for r in quote["renderings"]] == ["exact", "altered", "missing"]
    figure = data["figures"][0]
    assert figure["disagree"] is True
    assert [m["phrase"] for m in figure["mentions"]] == ["more than 150", "hundreds", "Scores"]
    assert data["similarity"]["order"] == ["a0", "b1", "c2"]
    assert data["similarity"]["matrix"][0] == [1.0, 0.7, 0.3]


def test_story_json_keeps_unicode_and_is_deterministic():
    site, story = make_site()
    first = export.story_json(story, site, Urls())
    again = export.story_json(story, *make_site()[:1], Urls())
    assert first == again
    assert "\u201c" in first and "\\u201c" not in first
    keys = list(json.loads(first).keys())
    assert keys == sorted(keys)


def test_story_without_analysis_exports_members_only():
    site, _story = make_site()
    data = json.loads(export.story_json(site.stories[1], site, Urls()))
    assert data["members"][0]["label"] is None and data["members"][0]["segments"] == []
    assert data["quotations"] == [] and data["figures"] == []


def test_index_json_lists_articles_stories_and_sources():
    site, _story = make_site()
    data = json.loads(export.index_json(site, Urls("/x/")))
    assert [a["id"] for a in data["articles"]] == ["a0", "b1", "c2", "z9"]
    first = data["articles"][0]
    assert first == {"id": "a0", "path": "a0.md", "story": "a0", "source": "wire",
                     "published": "2021-09-01T21:32:00Z", "title": "Headline of a0 & co",
                     "url": "https://example.org/a0", "page": "/x/articles/a0/"}
    stories = {s["id"]: s for s in data["stories"]}
    assert stories["a0"]["members"] == ["a0", "b1", "c2"]
    assert stories["a0"]["url"] == "/x/stories/a0/"
    assert stories["a0"]["data"] == "/x/stories/a0/story.json"
    assert stories["z9"]["members"] == ["z9"]
    assert [s["key"] for s in data["sources"]] == ["digest", "spin", "wire"]


def test_index_json_does_not_depend_on_input_order():
    site, _story = make_site()
    shuffled = Site(tuple(reversed(site.articles)), tuple(reversed(site.sources)),
                    tuple(reversed(site.stories)), dict(reversed(list(site.story_of.items()))))
    assert export.index_json(site, Urls()) == export.index_json(shuffled, Urls())
