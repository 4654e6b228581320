"""Outlet reuse profiles: what each analysed story adds to its outlets' word counts.

An outlet page shows, over the whole site, the share of its words per class and the outlets
it took words from and gave words to. Those are sums of per-story tallies; a tally depends
only on the story's analysis and members, so an incremental build can keep it (cached by
the story's page key) instead of walking every story's segments again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from site_src.model import REUSE_CLASSES, Article, Segment, Site, Story

# "words": outlet -> class -> words, "taken": outlet -> donor outlet -> words,
# "analysed": outlet -> analysed articles.
StoryTally = dict[str, dict]


def segment_words(article: Article, segment: Segment) -> int:
    """Count the words of a segment."""
    return len(article.text[segment.start:segment.end].split())


def story_tally(story: Story, site: Site) -> StoryTally:
    """Count what one analysed story adds to its outlets' reuse profiles."""
    words: dict[str, dict[str, int]] = {}
    taken: dict[str, dict[str, int]] = {}
    analysed: dict[str, int] = {}
    for item in story.analysis.articles if story.analysis is not None else ():
        article = site.article(item.article_id)
        own = words.setdefault(article.source, {})
        analysed[article.source] = analysed.get(article.source, 0) + 1
        for seg in item.segments:
            count = segment_words(article, seg)
            own[seg.kind] = own.get(seg.kind, 0) + count
            if seg.kind in REUSE_CLASSES and seg.counterpart is not None:
                donor = site.article(seg.counterpart.article_id).source
                row = taken.setdefault(article.source, {})
                row[donor] = row.get(donor, 0) + count
    return {"words": words, "taken": taken, "analysed": analysed}


@dataclass
class Sums:
    """Per-outlet reuse counts over the whole site (sums of story tallies, in any order)."""

    source_words: dict[str, dict[str, int]] = field(default_factory=dict)
    taken_from: dict[str, dict[str, int]] = field(default_factory=dict)
    given_to: dict[str, dict[str, int]] = field(default_factory=dict)
    analysed: dict[str, int] = field(default_factory=dict)

    def add(self, tally: StoryTally) -> None:
        """Add one story's tally."""
        for source, counts in tally["words"].items():
            own = self.source_words.setdefault(source, {})
            for kind, count in counts.items():
                own[kind] = own.get(kind, 0) + count
        for source, count in tally["analysed"].items():
            self.analysed[source] = self.analysed.get(source, 0) + count
        for source, donors in tally["taken"].items():
            taken = self.taken_from.setdefault(source, {})
            for donor, count in donors.items():
                taken[donor] = taken.get(donor, 0) + count
                given = self.given_to.setdefault(donor, {})
                given[source] = given.get(source, 0) + count
