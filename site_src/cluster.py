"""Story detection: group articles from any outlets that cover the same event.

How it works (a pure function of the corpus; input order and file names never matter):

1. Features and candidate pairs come from `site_src.similarity`: TF-IDF rows mixing words
   and "names and numbers", an inverted index over each article's top features (same event,
   little shared wording) and MinHash LSH over word shingles (text reuse), in sub-quadratic
   time and bounded memory. Pairs of dated articles more than `WINDOW_DAYS` apart are dropped.
2. Evidence against: two articles with years, none of them in common, are discounted
   (`similarity.YEAR_PENALTY`). An article's years are those its text mentions plus, when it
   is dated, its publication year; so an undated article that mentions only 2017 is kept
   away from a story published in 2014 (a stand-in for the missing date). Likewise, when
   either article is undated, two articles that both name weekdays ("on Thursday"), none in
   common, are discounted (`similarity.WEEKDAY_PENALTY`, a weaker factor: a report names
   the day of its event, but often other days too). Both are properties of the two articles
   alone, so a pair's score never depends on the rest of the corpus beyond column weights.
3. Grouping: average-linkage agglomerative clustering over the sparse graph of scored
   candidate pairs (a pair never scored counts as similarity 0), merging the most similar
   groups first while their average similarity is at least `THRESHOLD`. Average linkage
   compares whole groups, so a chain of look-alike events does not collapse into one story.
   Two constraints hold for every story: its dated members span at most `WINDOW_DAYS` (so an
   undated article may join a story but can never bridge two dated groups far apart in
   time), and it never holds two different `story:` keys. Articles sharing a `story:` key
   always form one story, whatever their dates. Linkage runs per connected component of
   the scored graph (groups never merge across components), which lets a later run keep
   the stories of components that did not change (`site_src.cluster_memo`).

Story ids: the `story:` key when one is present, else the id of the earliest member (by
`model.chronological_key`), so a later article joining never changes a story's URL.
Stories are returned newest first by their earliest member's publication; undated stories
come last; ties are ordered by story id.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from site_src.cluster_memo import (
    FeatureMemo,
    decode,
    find_candidates,
    is_complete,
    look_up,
    make_features,
    merge_codes,
    merge_scores,
    order_articles,
    reuse_groups,
    score_remembered,
    sign_components,
)
from site_src.model import Article, Story

THRESHOLD = 0.12  # average similarity at which two groups of articles merge
EXACT_LIMIT = 2000  # components up to this size get every pair scored
WINDOW_DAYS = 3  # the dated members of a story span at most this many days unless forced


@dataclass
class Group:
    """A growing story during linkage: members, dated span, key and links to other groups."""

    members: list[int]
    first: float
    last: float
    key: str | None
    links: dict[int, float] = field(default_factory=dict)


def find_stories(articles: Sequence[Article], memo: FeatureMemo | None = None
                 ) -> tuple[Story, ...]:
    """Group articles into stories (every article in exactly one), sorted newest first.

    A memo (cluster_memo.FeatureMemo) reuses a previous run's state where it still holds;
    the stories are the same with or without one.
    """
    if memo is not None and not is_complete(memo.previous):
        memo.previous = None
    ordered, sort_keys = order_articles(articles, memo)
    if len(ordered) == 0:
        return ()
    labels = label_articles(ordered, memo)
    if memo is not None and memo.latest is not None:
        memo.latest.sort_keys = sort_keys
    groups: dict[int, list[Article]] = {}  # members in canonical order
    for article, label in zip(ordered, labels, strict=True):
        groups.setdefault(int(label), []).append(article)
    stories = [(make_story(members), members) for members in groups.values()]
    stories = make_ids_unique(stories)
    stories.sort(key=lambda pair: story_sort_key(pair[0], pair[1]))
    return tuple(story for story, _ in stories)


def day_number(when: datetime | None) -> float:
    """Return days since the epoch (UTC) or NaN when undated."""
    return math.nan if when is None else when.timestamp() / 86400.0


def within_window(days: np.ndarray, pairs: np.ndarray, window: float) -> np.ndarray:
    """Tell for each pair whether it may join: undated on either side, or close enough."""
    gap = np.abs(days[pairs[:, 0]] - days[pairs[:, 1]])
    return np.isnan(gap) | (gap <= window)


def make_ids_unique(
    stories: list[tuple[Story, list[Article]]],
) -> list[tuple[Story, list[Article]]]:
    """Give a derived id that equals another story's `story:` key a numbered suffix."""
    manual = {s.id for s, members in stories if any(a.story_key for a in members)}
    if not manual:
        return stories
    taken = {s.id for s, _ in stories}
    unique = []
    for story, members in sorted(stories, key=lambda pair: pair[0].id):
        if story.id in manual and not any(a.story_key for a in members):
            number = 2
            while f"{story.id}-{number}" in taken:
                number += 1
            story = replace(story, id=f"{story.id}-{number}")
            taken.add(story.id)
        unique.append((story, members))
    return unique


def label_articles(ordered: Sequence[Article], memo: FeatureMemo | None = None) -> np.ndarray:
    """Return a story label per article (articles already in canonical order)."""
    n = len(ordered)
    previous = memo.previous if memo is not None else None
    features = make_features(ordered, WINDOW_DAYS, memo)
    days = np.array([day_number(a.published) for a in ordered], dtype=float)
    pairs = find_candidates(features, memo)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & within_window(days, pairs, WINDOW_DAYS)]
    sims = score_remembered(features, pairs, previous)
    strong = sims >= THRESHOLD
    graph = csr_matrix((np.ones(int(strong.sum())), (pairs[strong, 0], pairs[strong, 1])),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    linked = complete_pairs(pairs, component, n)
    linked = linked[within_window(days, linked, WINDOW_DAYS)]
    codes = pairs[:, 0] * n + pairs[:, 1]
    known, values = look_up(codes, sims, linked[:, 0] * n + linked[:, 1])
    linked_sims = np.zeros(len(linked), dtype=np.float32)
    linked_sims[known] = values
    linked_sims[~known] = score_remembered(features, linked[~known], previous)
    positive = linked_sims > 0
    linked, linked_sims = linked[positive], linked_sims[positive]
    keys = [a.story_key or None for a in ordered]
    component = find_components(n, linked, keys)
    labels = link_changed(linked, linked_sims, days, keys,
                          reuse_groups(component, linked, linked_sims, features, previous))
    if memo is not None and memo.latest is not None:
        memo.latest.scored, memo.latest.sims = merge_scores(
            codes, sims, linked[:, 0] * n + linked[:, 1], linked_sims)
        memo.latest.component, memo.latest.group = component, labels
        memo.latest.signature = sign_components(component, linked, linked_sims,
                                                np.arange(n), n)
    return labels


def find_components(n: int, pairs: np.ndarray, keys: Sequence[str | None]) -> np.ndarray:
    """Return per article its component of the pair graph, articles sharing a story key
    joined (linkage never merges across components)."""
    first: dict[str, int] = {}
    tied = [(first.setdefault(key, i), i) for i, key in enumerate(keys) if key is not None]
    edges = np.vstack([pairs, np.array(tied, dtype=np.int64).reshape(-1, 2)])
    graph = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def link_changed(pairs: np.ndarray, sims: np.ndarray, days: np.ndarray,
                 keys: Sequence[str | None], reused: np.ndarray) -> np.ndarray:
    """Return per article the first article of its story: reused groups (`reused` >= 0, a
    previous run's labels) kept, every other article linked by `link_average` (whole
    components only, so the result is the one linking everything would give)."""
    n = len(reused)
    todo = np.flatnonzero(reused < 0)
    local = np.full(n, -1, dtype=np.int64)
    local[todo] = np.arange(len(todo))
    inside = pairs[(local[pairs[:, 0]] >= 0) & (local[pairs[:, 1]] >= 0)]
    inside_sims = sims[(local[pairs[:, 0]] >= 0) & (local[pairs[:, 1]] >= 0)]
    made = link_average(len(todo), local[inside], inside_sims, days[todo],
                        [keys[i] for i in todo.tolist()])
    raw = reused.copy()  # previous labels, then this run's after them
    raw[todo] = made + int(reused.max(initial=-1)) + 1
    _, label = np.unique(raw, return_inverse=True)
    first = np.full(int(label.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    return first[label]


def complete_pairs(pairs: np.ndarray, component: np.ndarray, n: int) -> np.ndarray:
    """Return the pairs worth linking: all pairs inside each small component, else candidates.

    Average linkage needs every similarity inside a group; a component of at most
    `EXACT_LIMIT` articles gets them all, a larger one keeps its candidate pairs only.
    """
    inside = pairs[component[pairs[:, 0]] == component[pairs[:, 1]]]
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    codes = [np.zeros(0, dtype=np.int64)]
    for members in np.split(order, bounds):
        if 2 < len(members) <= EXACT_LIMIT:
            left, right = np.triu_indices(len(members), k=1)
            codes.append(members[left] * n + members[right])
    return decode(merge_codes(inside[:, 0] * n + inside[:, 1], np.concatenate(codes)), n)


def link_average(
    n: int,
    pairs: np.ndarray,
    sims: np.ndarray,
    days: np.ndarray,
    keys: Sequence[str | None],
) -> np.ndarray:
    """Cluster with constrained average linkage over sparse similarities; return labels."""
    groups = start_groups(n, days, keys)
    owner = np.arange(n)
    for index, group in groups.items():
        owner[group.members] = index
    left, right = owner[pairs[:, 0]], owner[pairs[:, 1]]
    apart = left != right
    low, high = np.minimum(left, right)[apart], np.maximum(left, right)[apart]
    codes, slot = np.unique(low * n + high, return_inverse=True)
    totals = np.bincount(slot, weights=sims[apart].astype(np.float64), minlength=len(codes))
    low, high = codes // n, codes % n
    for a, b, total in zip(low.tolist(), high.tolist(), totals.tolist(), strict=True):
        groups[a].links[b] = total
        groups[b].links[a] = total
    sizes = np.zeros(n, dtype=np.float64)
    for index, group in groups.items():
        sizes[index] = len(group.members)
    averages = totals / (sizes[low] * sizes[high])
    strong = averages >= THRESHOLD  # only links at the threshold or above can ever merge
    heap = list(zip((-averages[strong]).tolist(), low[strong].tolist(), high[strong].tolist(),
                    strict=True))
    heapq.heapify(heap)
    return _merge_all(n, groups, heap)


def _merge_all(n: int, groups: dict[int, Group], heap: list[tuple[float, int, int]]
               ) -> np.ndarray:
    """Merge the most similar pair of groups first while the heap holds one that may merge
    (story keys agree, dated members within `WINDOW_DAYS`); return per article its group's
    label (groups numbered by their first member).

    Group state lives in flat lists indexed by group id (a merge makes id n, n + 1, ...)."""
    room = 2 * n
    members: list = [None] * room
    first, last = [math.inf] * room, [-math.inf] * room
    key: list[str | None] = [None] * room
    links: list = [None] * room
    count = [0] * room
    for index, group in groups.items():
        members[index], first[index], last[index] = group.members, group.first, group.last
        key[index], links[index], count[index] = group.key, group.links, len(group.members)
    pop, push, isinf = heapq.heappop, heapq.heappush, math.isinf
    next_id = n
    while heap:
        _, a, b = pop(heap)
        mine, theirs = links[a], links[b]
        if mine is None or theirs is None:
            continue
        if key[a] is not None and key[b] is not None and key[a] != key[b]:
            continue
        low, high = min(first[a], first[b]), max(last[a], last[b])
        if not (high - low <= WINDOW_DAYS or isinf(low) or isinf(high)):
            continue
        if len(theirs) > len(mine):  # the larger links table is reused
            mine, theirs = theirs, mine
        for other, total in theirs.items():
            mine[other] = mine.get(other, 0.0) + total
        mine.pop(a, None)
        mine.pop(b, None)
        size = count[a] + count[b]
        for other, total in mine.items():
            table = links[other]
            table.pop(a, None)
            table.pop(b, None)
            table[next_id] = total
            average = total / (size * count[other])
            if average >= THRESHOLD:
                push(heap, (-average, other, next_id))
        members[next_id] = members[a] + members[b]
        first[next_id], last[next_id] = low, high
        key[next_id] = key[a] if key[a] is not None else key[b]
        links[next_id], count[next_id] = mine, size
        links[a] = links[b] = members[a] = members[b] = None
        next_id += 1
    labels = np.empty(n, dtype=np.int64)
    alive = [group for group in members if group is not None]
    for label, group in enumerate(sorted(alive, key=min)):
        labels[group] = label
    return labels


def start_groups(n: int, days: np.ndarray, keys: Sequence[str | None]) -> dict[int, Group]:
    """Return the initial groups: one per article, articles sharing a story key together."""
    by_key: dict[str, list[int]] = {}
    groups: dict[int, Group] = {}
    for index, (day, key) in enumerate(zip(days.tolist(), keys, strict=True)):
        if key is None:
            dated = not math.isnan(day)
            groups[index] = Group([index], day if dated else math.inf,
                                  day if dated else -math.inf, None)
        else:
            by_key.setdefault(key, []).append(index)
    for key, members in by_key.items():
        groups[members[0]] = make_group(members, days, key)
    return groups


def make_group(members: list[int], days: np.ndarray, key: str | None) -> Group:
    """Return a group of articles with the span of its dated members."""
    dated = [float(days[i]) for i in members if not math.isnan(days[i])]
    first, last = (min(dated), max(dated)) if dated else (math.inf, -math.inf)
    return Group(members=members, first=first, last=last, key=key)


def make_story(ordered: Sequence[Article]) -> Story:
    """Build a Story from its members, given in canonical order: members, id, title."""
    keys = sorted({a.story_key for a in ordered if a.story_key})
    story_id = keys[0] if keys else ordered[0].id
    return Story(id=story_id, title=ordered[0].title, member_ids=tuple(a.id for a in ordered))


def story_sort_key(story: Story, members: Sequence[Article]) -> tuple[bool, float, str]:
    """Order stories newest first by their earliest dated member; undated last; then by id."""
    dated = [a.published.timestamp() for a in members if a.published is not None]
    return (not dated, -min(dated) if dated else 0.0, story.id)
