"""Build-time markup for the story and outlet pages: inline SVG charts, word-diff fragments,
the side-by-side pair rows (the passage table is in site_src/passages.py).

Every function returns escaped `Markup`: text from the corpus only ever reaches the page
through `markupsafe` formatting. Charts carry a <title>, a role and presentation attributes
only (no style="" attributes, which the Content-Security-Policy forbids).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

from site_src.model import (
    BOILERPLATE,
    EDITED,
    NEW,
    PARAPHRASED,
    REUSE_CLASSES,
    VERBATIM,
    Article,
    ArticleAnalysis,
    DiffOp,
    Segment,
    Site,
    Story,
)
from site_src.render import format_date

# Class -> (colour, one-letter key, pattern kind); colours from a colour-blind safe palette,
# and every class also differs by letter and pattern so colour is never the only cue.
CLASS_STYLE = {
    VERBATIM: ("#c2410c", "V", "solid"),
    EDITED: ("#e69f00", "E", "stripes"),
    PARAPHRASED: ("#9d4edd", "P", "dots"),
    NEW: ("#0f8a6a", "N", "cross"),
    BOILERPLATE: ("#8a8f98", "B", "solid"),
}
CLASS_LABELS = {
    VERBATIM: "verbatim",
    EDITED: "edited",
    PARAPHRASED: "paraphrased",
    NEW: "new",
    BOILERPLATE: "boilerplate",
}
_WIDTH = 640


def letter_for(cls: str) -> str:
    """Return the one-letter key of a segment class."""
    return CLASS_STYLE.get(cls, ("#888", "?", "solid"))[1]


def format_pct(share: float) -> str:
    """Format a share in [0, 1] as a whole percentage, e.g. `62%`."""
    return f"{round(share * 100)}%"


def pattern_defs() -> Markup:
    """Return an SVG <defs> with one fill pattern per class (ids `pat-<class>`)."""
    parts = [Markup("<defs>")]
    for cls, (colour, _letter, kind) in CLASS_STYLE.items():
        parts.append(Markup('<pattern id="pat-{}" width="8" height="8" '
                            'patternUnits="userSpaceOnUse">').format(cls))
        parts.append(Markup('<rect width="8" height="8" fill="{}"/>').format(colour))
        if kind == "stripes":
            parts.append(Markup('<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" '
                                'stroke="#fff" stroke-opacity="0.55" stroke-width="2"/>'))
        elif kind == "dots":
            parts.append(Markup('<circle cx="4" cy="4" r="1.6" fill="#fff" fill-opacity="0.6"/>'))
        elif kind == "cross":
            parts.append(Markup('<path d="M0,4 h8 M4,0 v8" stroke="#fff" stroke-opacity="0.35" '
                                'stroke-width="1"/>'))
        parts.append(Markup("</pattern>"))
    parts.append(Markup("</defs>"))
    return Markup("").join(parts)


def _svg_open(height: float, label_id: str, extra_class: str = "") -> Markup:
    """Open a responsive SVG element labelled by an element id."""
    return Markup(
        '<svg class="chart {}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-labelledby="{}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="12">'
    ).format(extra_class, _WIDTH, _num(height), _WIDTH, _num(height), label_id)


def _num(value: float) -> str:
    """Format a coordinate compactly and deterministically."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clip(text: str, limit: int) -> str:
    """Shorten a label to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def composition_svg(rows: Sequence[tuple[str, Sequence[tuple[str, float]]]],
                    label_id: str, with_defs: bool = True) -> Markup:
    """Draw one stacked horizontal bar per row: (label, [(class, share), ...])."""
    left, bar_w, row_h = 170, _WIDTH - 180, 30
    height = row_h * len(rows) + 8
    parts = [_svg_open(height, label_id, "chart-composition")]
    if with_defs:
        parts.append(pattern_defs())
    for i, (label, shares) in enumerate(rows):
        y = 6 + i * row_h
        parts.append(Markup('<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>')
                     .format(left - 8, _num(y + 15), _clip(label, 22)))
        x = float(left)
        total = sum(s for _c, s in shares) or 1.0
        for cls, share in shares:
            if share <= 0:
                continue
            w = bar_w * share / max(total, 1.0)
            parts.append(Markup('<rect x="{}" y="{}" width="{}" height="20" fill="url(#pat-{})">'
                                '<title>{}: {} {}</title></rect>')
                         .format(_num(x), y + 2, _num(w), cls, label, format_pct(share),
                                 CLASS_LABELS.get(cls, cls)))
            if w >= 34:
                parts.append(Markup('<text x="{}" y="{}" text-anchor="middle" fill="#fff" '
                                    'class="chart-inbar" aria-hidden="true">{} {}</text>')
                             .format(_num(x + w / 2), _num(y + 16), letter_for(cls),
                                     format_pct(share)))
            x += w
        if x == left:
            parts.append(Markup('<text x="{}" y="{}" class="chart-note">no analysed text</text>')
                         .format(left, _num(y + 15)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def similarity_svg(keys: Sequence[str], matrix: Sequence[Sequence[float]],
                   label_id: str) -> Markup:
    """Draw a square heat map of pairwise similarity, each cell labelled with its percentage."""
    n = len(keys)
    cell = max(28.0, min(56.0, (_WIDTH - 40) / max(n, 1)))
    size = 30 + cell * n
    parts = [Markup(
        '<svg class="chart chart-matrix" viewBox="0 0 {s} {s}" width="{s}" height="{s}" '
        'role="img" aria-labelledby="{}" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="12">').format(label_id, s=_num(size))]
    for j, key in enumerate(keys):
        parts.append(Markup('<text x="{}" y="20" text-anchor="middle" class="chart-label">{}'
                            '</text>').format(_num(30 + cell * (j + 0.5)), key))
        parts.append(Markup('<text x="15" y="{}" text-anchor="middle" class="chart-label">{}'
                            '</text>').format(_num(30 + cell * (j + 0.5) + 4), key))
    cells, light, dark = [], [], []
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            x, y = 30 + cell * j, 30 + cell * i
            opacity = 0.08 + 0.92 * max(0.0, min(1.0, value))
            cells.append(Markup('<rect x="{}" y="{}" width="{w}" height="{w}" fill-opacity="{}"/>')
                         .format(_num(x), _num(y), f"{opacity:.2f}", w=_num(cell)))
            (light if value >= 0.5 else dark).append(
                Markup('<text x="{}" y="{}">{}</text>')
                .format(_num(x + cell / 2), _num(y + cell / 2 + 4), round(value * 100)))
    parts.append(Markup('<g fill="#1d4e89" stroke="#fff">{}</g>').format(Markup("").join(cells)))
    parts.append(Markup('<g text-anchor="middle" aria-hidden="true" fill="#fff">{}</g>')
                 .format(Markup("").join(light)))
    parts.append(Markup('<g text-anchor="middle" aria-hidden="true" fill="#1c1d21">{}</g>')
                 .format(Markup("").join(dark)))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def timeline_svg(lanes: Sequence[tuple[str, Sequence[tuple[datetime | None, str]]]],
                 label_id: str) -> Markup:
    """Draw one lane per outlet, a dot per dated article: (label, [(when or None, key), ...])."""
    stamps = [when.timestamp() for _l, pts in lanes for when, _k in pts if when is not None]
    left, right, lane_h = 170, _WIDTH - 30, 30
    height = lane_h * len(lanes) + 40
    parts = [_svg_open(height, label_id, "chart-timeline")]
    low, high = (min(stamps), max(stamps)) if stamps else (0.0, 0.0)
    span = high - low

    def place(stamp: float) -> float:
        """Map a timestamp to an x coordinate."""
        return (left + right) / 2 if span == 0 else left + (right - left) * (stamp - low) / span

    axis_y = lane_h * len(lanes) + 10
    parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                        'stroke-opacity="0.4"/>').format(left, axis_y, right, axis_y))
    ticks = [] if not stamps else [low] if span == 0 else [low, low + span / 2, high]
    for stamp in ticks:
        x = place(stamp)
        parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                            'stroke-opacity="0.4"/>').format(_num(x), axis_y, _num(x), axis_y + 5))
        anchor = "start" if stamp == low and span else ("end" if stamp == high and span
                                                          else "middle")
        parts.append(Markup('<text x="{}" y="{}" text-anchor="{}" class="chart-tick">{}</text>')
                     .format(_num(x), axis_y + 18, anchor, _tick_label(stamp, span)))
    for i, (label, points) in enumerate(lanes):
        y = 6 + i * lane_h + 12
        parts.append(Markup('<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>')
                     .format(left - 8, _num(y + 4), _clip(label, 22)))
        parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                            'stroke-opacity="0.15"/>').format(left, y, right, y))
        undated = [key for when, key in points if when is None]
        if undated:
            parts.append(Markup('<text x="{}" y="{}" class="chart-note"{}>undated: {}</text>')
                         .format(right if len(undated) < len(points) else left + 4, _num(y + 4),
                                 Markup(' text-anchor="end"') if len(undated) < len(points)
                                 else "", ", ".join(undated)))
        for when, key in points:
            if when is None:
                continue
            x = place(when.timestamp())
            parts.append(Markup('<circle cx="{}" cy="{}" r="6" fill="#1d4e89" stroke="#fff">'
                                '<title>{}: {} ({})</title></circle>')
                         .format(_num(x), y, label, key, _tick_label(when.timestamp(), 0)))
            parts.append(Markup('<text x="{}" y="{}" text-anchor="middle" class="chart-key" '
                                'aria-hidden="true">{}</text>').format(_num(x), y - 9, key))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _tick_label(stamp: float, span: float) -> str:
    """Label a time: with hours for short spans, as a date for long ones (UTC)."""
    when = datetime.fromtimestamp(stamp, tz=UTC)
    if span > 3 * 86400:
        return format_date(when)
    return f"{when.day} {when.strftime('%b %H:%M')} UTC"


def diff_inline(ops: Sequence[DiffOp]) -> Markup:
    """Render a word diff in one flow: removed words in <del>, added words in <ins>."""
    parts: list[Markup] = []
    for op in ops:
        if op.tag == "equal":
            parts.append(escape(op.b))
            continue
        if op.a:
            parts.append(Markup("<del>{}</del>").format(op.a))
        if op.b:
            parts.append(Markup("<ins>{}</ins>").format(op.b))
    return Markup("").join(parts)


def diff_side(ops: Sequence[DiffOp], side: str) -> Markup:
    """Render one side of a word diff: side "a" marks removals, side "b" marks additions."""
    parts: list[Markup] = []
    for op in ops:
        text = op.a if side == "a" else op.b
        if not text:
            continue
        if op.tag == "equal":
            parts.append(escape(text))
        elif side == "a":
            parts.append(Markup("<del>{}</del>").format(text))
        else:
            parts.append(Markup("<ins>{}</ins>").format(text))
    return Markup("").join(parts)


def has_changes(ops: Sequence[DiffOp]) -> bool:
    """Tell whether a diff has any step other than `equal`."""
    return any(op.tag != "equal" for op in ops)


class Segments:
    """The non-boilerplate segments of every member, searchable by offset."""

    def __init__(self, analyses: Sequence[ArticleAnalysis], order: Sequence[str] = ()) -> None:
        """Sort each member's segments by start offset; `order` ranks members (story order)."""
        self.order = {aid: i for i, aid in enumerate(order)}
        self.by_article: dict[str, list[Segment]] = {}
        self.starts: dict[str, list[int]] = {}
        for item in analyses:
            segs = sorted((s for s in item.segments if s.kind != BOILERPLATE),
                          key=lambda s: (s.start, s.end))
            self.by_article[item.article_id] = segs
            self.starts[item.article_id] = [s.start for s in segs]

    def find(self, article_id: str, start: int, end: int) -> int | None:
        """Return the index of the segment overlapping [start, end) the most."""
        segs = self.by_article.get(article_id)
        if not segs:
            return None
        best, best_overlap = None, 0
        i = max(0, bisect_right(self.starts[article_id], start) - 1)
        while i < len(segs) and segs[i].start < max(end, start + 1):
            overlap = min(end, segs[i].end) - max(start, segs[i].start)
            if overlap > best_overlap or (best is None and segs[i].end > start):
                best, best_overlap = i, max(overlap, 0)
            i += 1
        return best

    def root(self, article_id: str, index: int) -> tuple[str, int]:
        """Follow counterparts back to the passage where the text first appears."""
        path = [(article_id, index)]
        while True:
            seg = self.by_article[path[-1][0]][path[-1][1]]
            cp = seg.counterpart
            if cp is None or seg.kind == NEW:
                return path[-1]
            found = self.find(cp.article_id, cp.start, cp.end)
            if found is None:
                return path[-1]
            step = (cp.article_id, found)
            if step in path:  # a cycle (undated or same-time members): earliest member wins
                cycle = path[path.index(step):]
                return min(cycle, key=lambda n: (self.order.get(n[0], len(self.order)), n[1]))
            path.append(step)


def pair_rows(story: Story, site: Site, member_id: str, source_id: str) -> list[dict[str, object]]:
    """Lay out a member beside its likely source; source passages it dropped are interleaved."""
    assert story.analysis is not None
    index = Segments(story.analysis.articles, story.member_ids)
    member, source = site.article(member_id), site.article(source_id)
    src_segs = index.by_article.get(source_id, [])
    own = index.by_article.get(member_id, [])
    linked = [s.counterpart is not None and s.counterpart.article_id == source_id
              and s.kind != NEW for s in own]
    covered = {i for seg, ok in zip(own, linked, strict=True) if ok
               for i, src in enumerate(src_segs)
               if src.start < seg.counterpart.end and src.end > seg.counterpart.start}  # type: ignore
    rows: list[dict[str, object]] = []
    pending = 0
    for seg, ok in zip(own, linked, strict=True):
        cp = seg.counterpart
        if ok and cp is not None:
            while pending < len(src_segs) and src_segs[pending].start < cp.start:
                if pending not in covered:
                    rows.append(_dropped_row(source, src_segs[pending]))
                pending += 1
            if seg.diff and has_changes(seg.diff):
                left, right = diff_side(seg.diff, "a"), diff_side(seg.diff, "b")
            else:
                left = escape(source.text[cp.start:cp.end])
                right = escape(member.text[seg.start:seg.end])
            rows.append({"kind": seg.kind, "letter": letter_for(seg.kind),
                         "left": left, "right": right, "elsewhere": ""})
        else:
            rows.append({"kind": seg.kind, "letter": letter_for(seg.kind), "left": None,
                         "right": escape(member.text[seg.start:seg.end]),
                         "elsewhere": donor_name(site, seg)})
    rows.extend(_dropped_row(source, src_segs[i]) for i in range(pending, len(src_segs))
                if i not in covered)
    return rows


def donor_name(site: Site, seg: Segment) -> str:
    """Name the outlet a reused segment came from (empty for new text)."""
    if seg.kind not in REUSE_CLASSES or seg.counterpart is None:
        return ""
    return site.source(site.article(seg.counterpart.article_id).source).name


def _dropped_row(source: Article, seg: Segment) -> dict[str, object]:
    """Describe a source passage the member left out."""
    return {"kind": "dropped", "letter": "−", "right": None, "elsewhere": "",
            "left": Markup("<del>{}</del>").format(source.text[seg.start:seg.end])}
