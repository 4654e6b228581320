"""The story page's passage-by-passage table: rows of passages in story order, one column per
member, identical runs folded, split into parts of bounded size.

A long story's table is split into parts so that no page grows without bound: part 1 stays on
the story page, part n >= 2 is its own page (urls.alignment_part_path). A part holds whole
rows (and whole folded runs) adding up to at most PART_BUDGET characters of passage text,
counted as the members' own words: every non-page-furniture segment of every member lies in
exactly one row, so a story whose segments add up to no more than the budget has one part,
which `part_count` tells without laying out the table. The split is a pure function of the
analysis and the article texts (no dependence on dict or file order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from site_src.charts import Segments, diff_inline, has_changes, letter_for
from site_src.model import BOILERPLATE, SEGMENT_CLASSES, VERBATIM, Article, Segment, Site, Story
from site_src.urls import Urls, alignment_part_path

PART_BUDGET = 16_000  # characters of passage text per part of the table

Root = tuple[str, int]  # (article id, segment index) of the passage a row starts from


@dataclass(frozen=True)
class _Row:
    """One passage row before markup: its reference passage and each member's segments."""

    root: Root
    cells: dict[str, list[Segment]]  # member id -> its segments in this row
    kinds: dict[str, str]  # member id -> the class shown for it
    identical: bool  # at least two members, every one but the reference verbatim
    weight: int  # characters of the members' own text in this row


def _rows(story: Story, site: Site) -> tuple[Segments, list[_Row]]:
    """Lay out the passages of a story in story order, each with its members' segments."""
    assert story.analysis is not None
    index = Segments(story.analysis.articles, story.member_ids)
    order: list[Root] = []
    cells: dict[Root, dict[str, list[Segment]]] = {}
    for aid in story.member_ids:
        last = -1
        for i, seg in enumerate(index.by_article.get(aid, [])):
            root = index.root(aid, i)
            if root not in cells:
                cells[root] = {}
                order.insert(last + 1, root)
                last += 1
            else:
                last = max(last, order.index(root))
            cells[root].setdefault(aid, []).append(seg)
    rows = []
    for root in order:
        got = cells[root]
        kinds = {aid: segs[0].kind if len(segs) == 1 else _dominant(site.article(aid), segs)
                 for aid, segs in got.items()}
        identical = len(got) >= 2 and all(
            kind == VERBATIM for aid, kind in kinds.items() if aid != root[0])
        weight = sum(s.end - s.start for segs in got.values() for s in segs)
        rows.append(_Row(root, got, kinds, identical, weight))
    return index, rows


def _dominant(article: Article, segs: list[Segment]) -> str:
    """Return the class covering most words among several segments."""
    weight: dict[str, int] = {}
    for seg in segs:
        weight[seg.kind] = weight.get(seg.kind, 0) + len(article.text[seg.start:seg.end].split())
    return max(SEGMENT_CLASSES, key=lambda c: (weight.get(c, -1), -SEGMENT_CLASSES.index(c)))


def _runs_of(rows: Sequence[_Row]) -> list[tuple[int, int, bool]]:
    """Group rows into runs (first, end, folded): consecutive identical rows with the same
    members fold into one run of two or more; every other row is a run of its own."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(rows) + 1):
        prev = rows[i - 1]
        if (i < len(rows) and prev.identical and rows[i].identical
                and prev.cells.keys() == rows[i].cells.keys()):
            continue
        if i - start >= 2:
            runs.append((start, i, True))
        else:
            runs.extend((j, j + 1, False) for j in range(start, i))
        start = i
    return runs


def _split(sizes: Sequence[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    """Split runs, given as (first row, weight), into parts of whole runs, each within the
    budget unless one run alone exceeds it: return (first row, end row) per part."""
    bounds: list[tuple[int, int]] = []
    start, weight = 0, 0
    for first, size in sizes:
        if weight and weight + size > budget:
            bounds.append((start, first))
            start, weight = first, 0
        weight += size
    return bounds + [(start, -1)] if sizes else bounds


def _balanced(runs: Sequence[tuple[int, int, bool]], rows: Sequence[_Row],
              budget: int) -> list[tuple[int, int]]:
    """Split runs into as few parts as the budget allows, as even in size as possible (the
    smallest budget that still gives that many parts, found by bisection): (first, end) rows."""
    sizes = [(first, sum(rows[i].weight for i in range(first, end))) for first, end, _f in runs]
    count = len(_split(sizes, budget))
    low, high = 1, budget
    while low < high:
        middle = (low + high) // 2
        if len(_split(sizes, middle)) <= count:
            high = middle
        else:
            low = middle + 1
    return [(first, len(rows) if end < 0 else end) for first, end in _split(sizes, high)]


def _text_weight(story: Story) -> int:
    """Return the characters of the members' passages (page furniture left out)."""
    assert story.analysis is not None
    members = set(story.member_ids)
    return sum(s.end - s.start for item in story.analysis.articles
               if item.article_id in members for s in item.segments if s.kind != BOILERPLATE)


def part_count(story: Story, site: Site, budget: int | None = None) -> int:
    """Return how many parts the story's passage table has (1 for most stories)."""
    budget = PART_BUDGET if budget is None else budget
    if story.analysis is None or len(story.member_ids) < 2 or _text_weight(story) <= budget:
        return 1
    _index, rows = _rows(story, site)
    return max(1, len(_balanced(_runs_of(rows), rows, budget)))


def _cell_html(article: Article, seg: Segment) -> Markup:
    """Render one segment in the table: its text with the word diff inline."""
    if seg.diff and has_changes(seg.diff):
        return diff_inline(seg.diff)
    return escape(article.text[seg.start:seg.end])


def _runs(cells: list[dict[str, object] | None]) -> list[dict[str, object]]:
    """Merge neighbouring empty cells into one run (`span` columns) so big tables stay small."""
    runs: list[dict[str, object]] = []
    for cell in cells:
        if cell is not None:
            runs.append(cell)
        elif runs and "span" in runs[-1]:
            runs[-1]["span"] += 1  # type: ignore[operator]
        else:
            runs.append({"span": 1})
    return runs


def _row_view(row: _Row, number: int, index: Segments, site: Site,
              members: Sequence[dict[str, object]]) -> dict[str, object]:
    """Describe one row for the template: number, cells with markup, reference text."""
    row_cells: list[dict[str, object] | None] = []
    for m in members:
        aid = str(m["id"])
        segs = row.cells.get(aid)
        if not segs:
            row_cells.append(None)
            continue
        article: Article = m["article"]  # type: ignore[assignment]
        if aid == row.root[0]:  # the row's reference passage: plain text
            html = Markup(" ").join(escape(article.text[s.start:s.end]) for s in segs)
        else:
            html = Markup(" ").join(_cell_html(article, s) for s in segs)
        kind = row.kinds[aid]
        row_cells.append({"kind": kind, "letter": letter_for(kind), "html": html})
    first = index.by_article[row.root[0]][row.root[1]]
    return {"n": number, "cells": row_cells, "runs": _runs(row_cells),
            "identical": row.identical,
            "text": site.article(row.root[0]).text[first.start:first.end],
            "members": tuple(j for j, c in enumerate(row_cells) if c is not None)}


def _groups(views: Sequence[dict[str, object]], runs: Sequence[tuple[int, int, bool]],
            members: Sequence[dict[str, object]], offset: int) -> list[dict[str, object]]:
    """Group row views into table bodies: each folded run alone, other rows together."""
    out: list[dict[str, object]] = []
    for first, end, folded in runs:
        grows = list(views[first - offset:end - offset])
        if folded:
            keys = [str(members[j]["key"]) for j in grows[0]["members"]]  # type: ignore[attr-defined]
            out.append({"folded": True, "rows": grows, "member_keys": ", ".join(keys)})
        elif out and not out[-1]["folded"]:  # consecutive unfolded rows share one tbody
            out[-1]["rows"].extend(grows)  # type: ignore[attr-defined]
        else:
            out.append({"folded": False, "rows": grows})
    return out


def alignment_table(story: Story, site: Site, members: list[dict[str, object]],
                    budget: int | None = None) -> dict[str, object]:
    """Build the passage table: rows in story order, one column per member, split in parts.

    Returns `parts` (each: `number`, `first` and `last` row numbers, `groups` of rows),
    `groups` (every part's groups, in order), `row_count`, `row_of` ((article id, segment
    start) -> row number) and `part_of` (row number -> part number).
    """
    budget = PART_BUDGET if budget is None else budget
    index, rows = _rows(story, site)
    runs = _runs_of(rows)
    views = [_row_view(row, n, index, site, members) for n, row in enumerate(rows, start=1)]
    row_of = {(aid, s.start): n for n, row in enumerate(rows, start=1)
              for aid, segs in row.cells.items() for s in segs}
    parts, part_of = [], {}
    bounds = _balanced(runs, rows, budget) if _text_weight(story) > budget else [(0, len(rows))]
    for number, (first, end) in enumerate(bounds, start=1):
        inside = [r for r in runs if first <= r[0] < end]
        parts.append({"number": number, "first": first + 1, "last": end,
                      "groups": _groups(views[first:end], inside, members, first)})
        part_of.update((n, number) for n in range(first + 1, end + 1))
    return {"parts": parts, "groups": [g for p in parts for g in p["groups"]],
            "row_count": len(rows), "row_of": row_of, "part_of": part_of}


def part_paths(story: Story, site: Site) -> list[str]:
    """Return the site paths of the pages holding parts 2 and on of a story's passage table."""
    return [alignment_part_path(story, n) for n in range(2, part_count(story, site) + 1)]


def navigation(story: Story, table: dict[str, object], urls: Urls) -> list[dict[str, object]]:
    """Describe each part for its page: its rows, links to every part, previous and next."""
    parts: list[dict[str, object]] = table["parts"]  # type: ignore[assignment]
    links = [{"number": p["number"], "first": p["first"], "last": p["last"],
              "url": urls.link(alignment_part_path(story, p["number"]))  # type: ignore[arg-type]
              + ("#alignment" if p["number"] == 1 else "")} for p in parts]
    out = []
    for i, part in enumerate(parts):
        out.append({**part, "count": len(parts), "total": table["row_count"], "links": links,
                    "prev": links[i - 1] if i else None,
                    "next": links[i + 1] if i + 1 < len(links) else None})
    return out


def row_link(story: Story, table: dict[str, object], urls: Urls, number: int) -> str:
    """Return the link to a row of the table from the story page: on it, or on its part's page."""
    part = table["part_of"].get(number, 1)  # type: ignore[attr-defined]
    page = "" if part == 1 else urls.link(alignment_part_path(story, part))
    return f"{page}#p{number}"
