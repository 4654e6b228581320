"""View models for the story page, the article page's reuse panel and the outlet page.

Everything here is a pure function of the analysed `Site`; the templates only lay it out.
Markup is built with `markupsafe` (see site_src/charts.py), never by joining raw text.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup, escape

from site_src import charts, passages, tallies
from site_src.model import (
    BOILERPLATE,
    EDITED,
    INDEPENDENT,
    NEW,
    ORIGIN,
    PARAPHRASED,
    QUOTE_MISSING,
    REUSE_CLASSES,
    SEGMENT_CLASSES,
    VERBATIM,
    Article,
    ArticleAnalysis,
    Site,
    Source,
    Story,
)
from site_src.render import format_date
from site_src.urls import Urls, story_json_path

SHOWN_CLASSES = (VERBATIM, EDITED, PARAPHRASED, NEW)
ADDED_EXCERPT_WORDS = 12  # the added-passages list shows this much and links to the full row
LABEL_TEXT = {
    "origin": "origin",
    "wholly_derived": "wholly derived",
    "partially_derived": "partially derived",
    "independent": "independent report",
}
CLASS_HELP = {
    VERBATIM: "copied word for word",
    EDITED: "copied with a few words changed",
    PARAPHRASED: "same content, reworded",
    NEW: "first appears here",
    BOILERPLATE: "page furniture, not counted",
}
QUOTE_STATUS_TEXT = {
    "exact": "exact",
    "altered": "altered",
    "shortened": "shortened",
    "missing": "missing",
    "only_here": "only here",
}


def member_key(index: int) -> str:
    """Return the letter key of the n-th member: A..Z, then AA, AB, ..."""
    key = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        key = chr(65 + rest) + key
    return key


def legend() -> list[dict[str, str]]:
    """Return the class legend: name, letter and meaning of each shown class."""
    return [{"cls": c, "label": charts.CLASS_LABELS[c], "letter": charts.letter_for(c),
             "help": CLASS_HELP[c]} for c in SEGMENT_CLASSES]


def date_range_text(dates: Sequence[datetime | None]) -> str:
    """Format the first and last of some dates as readers see them; empty when none."""
    known = sorted(d for d in dates if d is not None)
    if not known:
        return ""
    first, last = format_date(known[0]), format_date(known[-1])
    return first if first == last else f"{first} – {last}"


def story_summary(story: Story, site: Site) -> dict[str, object]:
    """Summarise a story for listings: outlet and member counts, date range."""
    articles = [site.article(a) for a in story.member_ids]
    outlets = sorted({a.source for a in articles})
    dates = [a.published for a in articles]
    known = sorted(d for d in dates if d is not None)
    return {
        "outlet_count": len(outlets),
        "member_count": len(articles),
        "outlets": [site.source(k).name for k in outlets],
        "first": known[0] if known else None,
        "last": known[-1] if known else None,
        "date_range": date_range_text(dates),
    }


@dataclass
class _Index:
    """Per-site lookups shared by every page of one build (the reuse sums made on first use)."""

    stories: dict[str, Story] = field(default_factory=dict)
    given: dict[str, tallies.StoryTally] = field(default_factory=dict)  # story id -> tally
    sums: tallies.Sums | None = None


_INDEXES: dict[int, tuple[weakref.ref[Site], _Index]] = {}


def _site_index(site: Site) -> _Index:
    """Return (made once per Site object) the story lookup and the reuse counts' holder."""
    cached = _INDEXES.get(id(site))
    if cached is not None and cached[0]() is site:
        return cached[1]
    index = _Index(stories={s.id: s for s in site.stories})
    _INDEXES.clear()  # one build at a time: keep only the latest site
    _INDEXES[id(site)] = (weakref.ref(site), index)
    return index


def use_story_tallies(site: Site, made: dict[str, tallies.StoryTally]) -> None:
    """Give the outlet pages of this site story tallies made ahead (story id -> story_tally),
    e.g. from a cache; stories left out are counted when needed."""
    index = _site_index(site)
    index.given.update(made)
    index.sums = None  # summed again, from these


def _site_sums(site: Site) -> tallies.Sums:
    """Return the per-outlet reuse counts of the site (summed once per Site object)."""
    index = _site_index(site)
    if index.sums is not None:
        return index.sums
    sums = tallies.Sums()
    for story in site.stories:
        if story.analysis is not None:
            sums.add(index.given.get(story.id) or tallies.story_tally(story, site))
    index.sums = sums
    return sums


def _member_views(story: Story, site: Site, urls: Urls) -> list[dict[str, object]]:
    """Describe each member: letter key, article, outlet, label, likely source, composition."""
    views: list[dict[str, object]] = []
    keys = {aid: member_key(i) for i, aid in enumerate(story.member_ids)}
    for aid in story.member_ids:
        article = site.article(aid)
        source = site.source(article.source)
        item = story.analysis.for_article(aid) if story.analysis else None
        likely = item.likely_source if item else None
        composition = dict(item.composition) if item else {}
        views.append({
            "id": aid,
            "key": keys[aid],
            "article": article,
            "source": source,
            "name": f"{keys[aid]} · {source.name}",
            "url": urls.url_for(article),
            "source_url": urls.url_for(source),
            "label": item.label if item else "",
            "label_text": LABEL_TEXT.get(item.label, item.label) if item else "",
            "likely_source": likely,
            "likely_key": keys.get(likely or "", ""),
            "likely_name": site.source(site.article(likely).source).name if likely else "",
            "source_share": charts.format_pct(item.source_share) if item else "",
            "composition": [(c, composition.get(c, 0.0), charts.format_pct(composition.get(c, 0.0)))
                             for c in SHOWN_CLASSES],
        })
    return views


def _timeline(members: list[dict[str, object]]) -> Markup:
    """Make the who-published-when chart: one lane per outlet, in order of first publication."""
    lanes: dict[str, list[tuple[datetime | None, str]]] = {}
    for m in members:
        article: Article = m["article"]  # type: ignore[assignment]
        lanes.setdefault(m["source"].name, []).append(  # type: ignore[attr-defined]
            (article.published, str(m["key"])))
    return charts.timeline_svg(list(lanes.items()), "timeline-caption")


def _composition(members: list[dict[str, object]]) -> Markup:
    """Make the per-member composition bars."""
    rows = [(str(m["name"]), [(c, s) for c, s, _p in m["composition"]])  # type: ignore[attr-defined]
            for m in members]
    return charts.composition_svg(rows, "composition-caption")


def _similarity(story: Story, members: list[dict[str, object]]) -> dict[str, object] | None:
    """Make the similarity matrix and its table rows, when the analysis has one."""
    matrix = story.analysis.similarity if story.analysis else ()
    if len(matrix) != len(members):
        return None
    keys = [str(m["key"]) for m in members]
    rows = [(m, [charts.format_pct(v) for v in row])
            for m, row in zip(members, matrix, strict=True)]
    return {"svg": charts.similarity_svg(keys, matrix, "similarity-caption"), "rows": rows}


def _pairs(story: Story, site: Site, urls: Urls,
           members: list[dict[str, object]]) -> dict[str, object] | None:
    """List the member/likely-source pairs and render the default one."""
    candidates = [m for m in members if m["likely_source"]]
    if not candidates:
        return None
    shares = {m["id"]: (story.analysis.for_article(str(m["id"])).source_share  # type: ignore
                        if story.analysis else 0.0) for m in candidates}
    default = max(candidates, key=lambda m: (m["label"] == "wholly_derived", shares[m["id"]],
                                             -members.index(m)))
    options = [{"value": m["id"], "selected": m is default,
                "label": f"{m['name']} against {m['likely_key']} · {m['likely_name']}"}
               for m in candidates]
    by_id = {m["id"]: m for m in members}
    return {
        "options": options,
        "member": default,
        "source": by_id[default["likely_source"]],
        "rows": charts.pair_rows(story, site, str(default["id"]), str(default["likely_source"])),
        "json_url": urls.link(story_json_path(story)),
    }


def _quotations(story: Story, members: list[dict[str, object]]) -> list[dict[str, object]]:
    """Describe each quotation and how every member renders it."""
    assert story.analysis is not None
    by_id = {m["id"]: m for m in members}
    out = []
    for quote in story.analysis.quotations:
        given = {r.article_id: r for r in quote.renderings}
        rows = []
        for m in members:
            r = given.get(str(m["id"]))
            status = r.status if r is not None else QUOTE_MISSING
            if r is not None and r.diff and charts.has_changes(r.diff):
                html = charts.diff_inline(r.diff)
            else:
                html = escape(r.text) if r is not None else Markup("")
            rows.append({"member": m, "status": status,
                         "status_text": QUOTE_STATUS_TEXT.get(status, status), "html": html})
        changed = sum(1 for row in rows if row["status"] in ("altered", "shortened"))
        out.append({"text": quote.text, "speaker": quote.speaker or "",
                    "first": by_id.get(quote.article_id), "changed": changed,
                    "rows": _merge_runs(rows, lambda r: r["status"] == QUOTE_MISSING)})
    return out


def _merge_runs(rows: list[dict[str, object]],
                absent: Callable[[dict[str, object]], bool]) -> list[dict[str, object]]:
    """Give each row a column `span`, merging neighbouring rows that say nothing (absent) into
    one cell that spans their columns, so wide tables of mostly empty cells stay small."""
    out: list[dict[str, object]] = []
    for row in rows:
        if absent(row) and out and absent(out[-1]):
            out[-1]["span"] += 1  # type: ignore[operator]
        else:
            out.append({**row, "span": 1})
    return out


def _figures(story: Story, members: list[dict[str, object]]) -> list[dict[str, object]]:
    """Describe each figure group: what it counts and each member's phrases."""
    assert story.analysis is not None
    out = []
    for group in story.analysis.figures:
        rows = []
        for m in members:
            phrases = [f.phrase for f in group.mentions if f.article_id == m["id"]]
            rows.append({"member": m, "phrases": phrases})
        rows = _merge_runs(rows, lambda r: not r["phrases"])
        distinct = sorted({f.phrase.casefold() for f in group.mentions})
        out.append({"subject": group.subject, "disagree": group.disagree, "rows": rows,
                    "distinct": len(distinct)})
    return out


def _added(story: Story, members: list[dict[str, object]], table: dict[str, object],
           urls: Urls) -> list[dict[str, object]]:
    """List the new passages of every non-origin member: an excerpt and a link to its row
    (on the story page, or on the page of the table's part that holds it)."""
    row_of: Mapping[tuple[str, int], int] = table["row_of"]  # type: ignore[assignment]
    assert story.analysis is not None
    out = []
    for m in members:
        item = story.analysis.for_article(str(m["id"]))
        if item is None or item.label == ORIGIN:
            continue
        article: Article = m["article"]  # type: ignore[assignment]
        # An independent report is new almost throughout: its column of the table shows it.
        rows = [] if item.label == INDEPENDENT else [
            (article.text[s.start:s.end], row_of.get((item.article_id, s.start)))
            for s in item.segments if s.kind == NEW]
        listed = [{"excerpt": _excerpt(text), "row": row,
                   "href": passages.row_link(story, table, urls, row) if row else ""}
                  for text, row in rows]
        share = dict(item.composition).get(NEW, 0.0)
        out.append({"member": m, "passages": listed, "share": charts.format_pct(share),
                    "count": sum(1 for s in item.segments if s.kind == NEW),
                    "independent": item.label == INDEPENDENT,
                    "open": item.label != INDEPENDENT and len(listed) <= 12})
    return out


def _excerpt(text: str, words: int = ADDED_EXCERPT_WORDS) -> str:
    """Return the first `words` words of a passage, with an ellipsis when cut."""
    parts = text.split()
    return " ".join(parts) if len(parts) <= words else " ".join(parts[:words]) + " …"


def story_context(story: Story, site: Site, urls: Urls) -> dict[str, object]:
    """Return what templates/story.html needs besides `story` (which the caller passes)."""
    members = _member_views(story, site, urls)
    summary = story_summary(story, site)
    context: dict[str, object] = {  # the caller adds `story` itself
        "summary": summary,
        "members": members,
        "legend": legend(),
        "timeline": _timeline(members),
        "json_url": urls.link(story_json_path(story)),
        "analysed": story.analysis is not None,
        "part_page": False,  # True on the pages of the passage table's parts 2 and on
    }
    if story.analysis is None:
        context.update(composition_svg=None, similarity=None, alignment=None, pairs=None,
                       quotations=[], figures=[], added=[], part=None, part_pages=[])
        return context
    alignment = passages.alignment_table(story, site, members)
    parts = passages.navigation(story, alignment, urls)
    context.update(
        composition_svg=_composition(members),
        similarity=_similarity(story, members),
        alignment=alignment,
        part=parts[0],
        part_pages=parts[1:],
        pairs=_pairs(story, site, urls, members),
        quotations=_quotations(story, members),
        figures=_figures(story, members),
        added=_added(story, members, alignment, urls),
    )
    return context


def _marked_paragraphs(article: Article, item: ArticleAnalysis,
                       site: Site) -> list[list[dict[str, object]]]:
    """Split an article's text into paragraphs of pieces, each reused piece with its class."""
    pieces: list[tuple[str | None, str, str]] = []
    pos = 0
    for seg in sorted(item.segments, key=lambda s: (s.start, s.end)):
        if seg.start < pos:
            continue
        if seg.start > pos:
            pieces.append((None, article.text[pos:seg.start], ""))
        kind = seg.kind if seg.kind in REUSE_CLASSES + (BOILERPLATE,) else None
        donor = charts.donor_name(site, seg)
        note = f"{charts.CLASS_LABELS[seg.kind]} from {donor}" if donor and kind else ""
        pieces.append((kind, article.text[seg.start:seg.end], note))
        pos = seg.end
    if pos < len(article.text):
        pieces.append((None, article.text[pos:], ""))
    paragraphs: list[list[dict[str, object]]] = [[]]
    for kind, text, note in pieces:
        for n, part in enumerate(text.split("\n\n")):
            if n:
                paragraphs.append([])
            if part.strip():
                paragraphs[-1].append({"kind": kind, "text": part, "note": note,
                                       "letter": charts.letter_for(kind) if kind else ""})
    return [p for p in paragraphs if p]


def article_reuse_context(article: Article, site: Site, urls: Urls) -> dict[str, object]:
    """Return the `reuse` panel of an article page (inactive for an article alone)."""
    index = _site_index(site)
    story = index.stories.get(site.story_of.get(article.id, ""))
    item = story.analysis.for_article(article.id) if story and story.analysis else None
    if story is None or len(story.member_ids) < 2:
        return {"reuse": {"active": False}}
    others = []
    for aid in story.member_ids:
        if aid == article.id:
            continue
        other = site.article(aid)
        other_item = story.analysis.for_article(aid) if story.analysis else None
        others.append({"article": other, "url": urls.url_for(other),
                       "source": site.source(other.source).name,
                       "label_text": LABEL_TEXT.get(other_item.label, "") if other_item else ""})
    reuse: dict[str, object] = {
        "active": True, "story": story, "story_url": urls.url_for(story), "others": others,
        "marked": item is not None, "legend": legend()[:3], "source": None,
    }
    if item is not None:
        composition = dict(item.composition)
        reuse.update(
            label=item.label,
            label_text=LABEL_TEXT.get(item.label, item.label),
            composition=[(c, charts.format_pct(composition.get(c, 0.0))) for c in SHOWN_CLASSES],
            reused=charts.format_pct(sum(composition.get(c, 0.0) for c in REUSE_CLASSES)),
            paragraphs=_marked_paragraphs(article, item, site),
        )
        if item.likely_source:
            donor = site.article(item.likely_source)
            reuse["source"] = {"share": charts.format_pct(item.source_share), "article": donor,
                               "url": urls.url_for(donor), "name": site.source(donor.source).name}
    return {"reuse": reuse}


def source_reuse_context(source: Source, site: Site, urls: Urls) -> dict[str, object]:
    """Return the `source_reuse` panel of an outlet page: its composition and its donors."""
    index = _site_sums(site)
    words = index.source_words.get(source.key, {})
    counted = sum(words.get(c, 0) for c in SHOWN_CLASSES)
    if not counted:
        return {"source_reuse": {"active": False}}
    shares = [(c, words.get(c, 0) / counted) for c in SHOWN_CLASSES]

    def rows(table: dict[str, int], total: int) -> list[dict[str, object]]:
        """Turn outlet -> words into sorted table rows."""
        ordered = sorted(table.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"name": site.source(k).name, "url": urls.url_for(site.source(k)), "words": w,
                 "share": charts.format_pct(w / total) if total else "0%",
                 "same": k == source.key} for k, w in ordered]

    return {"source_reuse": {
        "active": True,
        "articles": index.analysed.get(source.key, 0),
        "words": counted,
        "shares": [(c, s, charts.format_pct(s)) for c, s in shares],
        "svg": charts.composition_svg([(source.name, shares)], "source-reuse-caption"),
        "taken_from": rows(index.taken_from.get(source.key, {}), counted),
        "given_to": rows(index.given_to.get(source.key, {}), counted),
    }}
