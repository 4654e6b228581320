"""Machine-readable data: `data/index.json` and `stories/<id>/story.json`.

## Data for researchers

Every build writes two kinds of JSON file next to the pages (UTF-8, compact, keys sorted:
the same corpus always gives the same bytes). Links are absolute when `site_url` is set,
otherwise relative to the site root. Dates are RFC 3339 in UTC (`2021-09-01T21:32:00Z`) or `null`.

**`data/index.json`** lists the whole corpus:

- `articles`: one object per article, ordered by id: `id`, `path` (its content file, relative
  to `content/`), `story` (story id), `source` (outlet key), `published`, `title`, `url` (the
  original article on the web, or `null`) and `page` (its page on this site).
- `stories`: one object per story, ordered by id: `id`, `title`, `members` (article ids,
  earliest first), `url` (the story page) and `data` (its `story.json`).
- `sources`: one object per outlet: `key`, `name`, `homepage`, `url` (its page here).

**`stories/<id>/story.json`** describes one story in detail:

- `id`, `title`, `url`, and `members`, earliest first. Each member has `id`, `title`,
  `source`, `source_name`, `published`, `page`, `label` (derivation: `origin`,
  `wholly_derived`, `partially_derived` or `independent`), `likely_source` (article id or
  `null`), `source_share` (share of its words taken from that source), `composition` (share
  of its words per class, page furniture excluded) and `segments`.
- `segments` cover the article's plain text in order. Each has `class` (`verbatim`,
  `edited`, `paraphrased`, `new` or `boilerplate`), `start` and `end` (character offsets into
  the article's plain text, i.e. the Markdown body with markup removed and blocks joined by a
  blank line; `text` is exactly that slice), `counterpart` (`null`, or `article`, `start`,
  `end` and `score` of the matching passage in an earlier member) and `diff`: the word-level
  diff as `[op, counterpart words, these words]` steps, `op` being `equal`, `insert`,
  `delete` or `replace` (empty when the passage is unchanged or has no counterpart).
- `similarity`: `order` (member ids) and `matrix` (pairwise similarity, 0 to 1).
- `quotations`: `text`, `speaker` (or `null`), `article`, `start`, `end` of its first
  occurrence, and `renderings`: per member `article`, `status` (`exact`, `altered`,
  `shortened`, `missing` or `only_here`), `text`, `start`, `end` and `diff`.
- `figures`: groups of numbers that count the same thing: `subject`, `disagree` and
  `mentions` (`article`, `phrase`, `value` or `null`, `start`, `end`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from site_src.model import (
    ArticleAnalysis,
    DiffOp,
    FigureGroup,
    Quotation,
    Segment,
    Site,
    Story,
)
from site_src.render import format_iso
from site_src.urls import Urls, path_for, story_json_path

FORMAT_VERSION = 1
_COMPOSITION_CLASSES = ("verbatim", "edited", "paraphrased", "new")


def dump_json(data: object) -> str:
    """Serialise deterministically: sorted keys, UTF-8 text, compact, final newline."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def _share(value: float) -> float:
    """Round a share or score so the bytes do not depend on float noise."""
    return round(float(value), 4)


def _iso(value: object) -> str | None:
    """Format a date as RFC 3339 UTC, or None."""
    return format_iso(value) or None  # type: ignore[arg-type]


def _diff(ops: Sequence[DiffOp]) -> list[list[str]]:
    """Encode a word diff as [op, a, b] triples; empty when nothing changed."""
    if all(op.tag == "equal" for op in ops):
        return []
    return [[op.tag, op.a, op.b] for op in ops]


def _segment(text: str, seg: Segment) -> dict[str, object]:
    """Encode one segment with its text and counterpart."""
    cp = seg.counterpart
    return {
        "class": seg.kind,
        "start": seg.start,
        "end": seg.end,
        "text": text[seg.start:seg.end],
        "counterpart": None if cp is None else {
            "article": cp.article_id, "start": cp.start, "end": cp.end, "score": _share(cp.score),
        },
        "diff": _diff(seg.diff),
    }


def _member(story: Story, site: Site, urls: Urls, article_id: str) -> dict[str, object]:
    """Encode one member of a story with its analysis."""
    article = site.article(article_id)
    item: ArticleAnalysis | None = None
    if story.analysis is not None:
        item = story.analysis.for_article(article_id)
    segments = sorted(item.segments, key=lambda s: (s.start, s.end)) if item else []
    composition = dict(item.composition) if item else {}
    return {
        "id": article.id,
        "title": article.title,
        "source": article.source,
        "source_name": site.source(article.source).name,
        "published": _iso(article.published),
        "page": urls.absolute(path_for(article)),
        "label": item.label if item else None,
        "likely_source": item.likely_source if item else None,
        "source_share": _share(item.source_share) if item else 0.0,
        "composition": {c: _share(composition.get(c, 0.0)) for c in _COMPOSITION_CLASSES},
        "segments": [_segment(article.text, s) for s in segments],
    }


def _quotation(quote: Quotation) -> dict[str, object]:
    """Encode a quotation and its renderings."""
    return {
        "text": quote.text,
        "speaker": quote.speaker,
        "article": quote.article_id,
        "start": quote.start,
        "end": quote.end,
        "renderings": [{"article": r.article_id, "status": r.status, "text": r.text,
                        "start": r.start, "end": r.end, "diff": _diff(r.diff)}
                       for r in quote.renderings],
    }


def _figure(group: FigureGroup) -> dict[str, object]:
    """Encode a group of figures."""
    return {
        "subject": group.subject,
        "disagree": group.disagree,
        "mentions": [{"article": f.article_id, "phrase": f.phrase,
                      "value": None if f.value is None else float(f.value),
                      "start": f.start, "end": f.end} for f in group.mentions],
    }


def story_data(story: Story, site: Site, urls: Urls) -> dict[str, object]:
    """Return the story export as plain data."""
    analysis = story.analysis
    return {
        "version": FORMAT_VERSION,
        "id": story.id,
        "title": story.title,
        "url": urls.absolute(path_for(story)),
        "members": [_member(story, site, urls, aid) for aid in story.member_ids],
        "similarity": {
            "order": list(story.member_ids),
            "matrix": [[_share(v) for v in row] for row in analysis.similarity] if analysis else [],
        },
        "quotations": [_quotation(q) for q in analysis.quotations] if analysis else [],
        "figures": [_figure(g) for g in analysis.figures] if analysis else [],
    }


def story_json(story: Story, site: Site, urls: Urls) -> str:
    """Return the text of stories/<id>/story.json."""
    return dump_json(story_data(story, site, urls))


def index_json(site: Site, urls: Urls) -> str:
    """Return the text of data/index.json: every article, story and outlet."""
    articles = [{
        "id": a.id,
        "path": a.path,
        "story": site.story_of.get(a.id),
        "source": a.source,
        "published": _iso(a.published),
        "title": a.title,
        "url": a.url,
        "page": urls.absolute(path_for(a)),
    } for a in sorted(site.articles, key=lambda a: a.id)]
    stories = [{
        "id": s.id,
        "title": s.title,
        "members": list(s.member_ids),
        "url": urls.absolute(path_for(s)),
        "data": urls.absolute(story_json_path(s)),
    } for s in sorted(site.stories, key=lambda s: s.id)]
    sources = [{
        "key": s.key,
        "name": s.name,
        "homepage": s.homepage,
        "url": urls.absolute(path_for(s)),
    } for s in sorted(site.sources, key=lambda s: s.key)]
    return dump_json({"version": FORMAT_VERSION, "articles": articles, "stories": stories,
                      "sources": sources})
