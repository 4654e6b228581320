"""Story page, article reuse panel and outlet panel, from hand-built analyses (no disk input)."""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from markupsafe import Markup

from site_src import charts, passages, storyview
from site_src.config import Config
from site_src.model import (
    Article,
    ArticleAnalysis,
    Counterpart,
    DiffOp,
    FigureGroup,
    FigureMention,
    Quotation,
    QuoteRendering,
    Segment,
    Site,
    Source,
    Story,
    StoryAnalysis,
)
from site_src.render import make_environment, render_page
from site_src.urls import Urls

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2021, 9, 1, 21, 32, tzinfo=UTC)

WIRE = ["Gen. Mark Milley said coordination is possible.",
        "He said: \u201cWar is hard.\u201d",
        "The bombing killed more than 150 Afghans.",
        "Officials declined to comment."]
SPIN = ["Gen. Mark Milley said coordination is possible.",
        "He said: \u201cIt is difficult to fight in a war.\u201d",
        "The bombing killed hundreds of Afghans <script>alert(1)</script>.",
        "This is a disgrace, our columnist writes."]
SUMMARY = ["Coordination with the Taliban is possible, Milley said.",
           "Scores of Afghans died."]


def _text(sentences: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join sentences into paragraphs of two and return the text and each sentence's offsets."""
    text, spans = "", []
    for i, sentence in enumerate(sentences):
        if i:
            text += "\n\n" if i % 2 == 0 else " "
        spans.append((len(text), len(text) + len(sentence)))
        text += sentence
    return text, spans


def _article(aid: str, source: str, sentences: list[str], hours: int) -> Article:
    """Make an article of some sentences."""
    text, _ = _text(sentences)
    return Article(id=aid, title=f"Headline of {aid} & co", source=source, body=text, text=text,
                   path=f"{aid}.md", published=T0 + timedelta(hours=hours),
                   url=f"https://example.org/{aid}")


def _diff(a: str, b: str) -> tuple[DiffOp, ...]:
    """Make a word diff whose sides join back to exactly `a` and `b`."""
    wa, wb = re.findall(r"\S+\s*", a), re.findall(r"\S+\s*", b)
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, wa, wb).get_opcodes():
        ops.append(DiffOp(tag, "".join(wa[i1:i2]), "".join(wb[j1:j2])))
    return tuple(ops)


def _seg(spans, i, kind, src=None, src_spans=None, j=None, a="", b=""):
    """Make a segment of sentence i, optionally pointing at sentence j of another article."""
    start, end = spans[i]
    if src is None:
        return Segment(start, end, kind)
    cs, ce = src_spans[j]
    return Segment(start, end, kind, Counterpart(src, cs, ce, 0.9), _diff(a, b))


def make_site(extra_alone: bool = True) -> tuple[Site, Story]:
    """Build a three-member story (wire origin, spun copy, summary) and a lone article."""
    wire, spin, summ = (_article("a0", "wire", WIRE, 0), _article("b1", "spin", SPIN, 2),
                        _article("c2", "digest", SUMMARY, 5))
    _, ws = _text(WIRE)
    _, ss = _text(SPIN)
    _, cs = _text(SUMMARY)
    a_an = ArticleAnalysis("a0", tuple(_seg(ws, i, "new") for i in range(4)),
                           (("new", 1.0),), "origin")
    b_an = ArticleAnalysis("b1", (
        _seg(ss, 0, "verbatim", "a0", ws, 0, WIRE[0], SPIN[0]),
        _seg(ss, 1, "edited", "a0", ws, 1, WIRE[1], SPIN[1]),
        _seg(ss, 2, "edited", "a0", ws, 2, WIRE[2], SPIN[2]),
        _seg(ss, 3, "new"),
    ), (("verbatim", 0.3), ("edited", 0.5), ("new", 0.2)), "wholly_derived", "a0", 0.8)
    c_an = ArticleAnalysis("c2", (
        _seg(cs, 0, "paraphrased", "a0", ws, 0, WIRE[0], SUMMARY[0]),
        _seg(cs, 1, "new"),
    ), (("paraphrased", 0.6), ("new", 0.4)), "partially_derived", "a0", 0.6)
    q_start = WIRE[1].index("\u201c") + ws[1][0]
    quote = Quotation("War is hard.", "Milley", "a0", q_start + 1, q_start + 13, (
        QuoteRendering("a0", "exact", "War is hard."),
        QuoteRendering("b1", "altered", "It is difficult to fight in a war.",
                       diff=_diff("War is hard.", "It is difficult to fight in a war.")),
        QuoteRendering("c2", "missing"),
    ))
    figures = (FigureGroup("Afghans killed", (
        FigureMention("a0", "more than 150", 150.0, 0, 1),
        FigureMention("b1", "hundreds", None, 0, 1),
        FigureMention("c2", "Scores", None, 0, 1)), True),)
    analysis = StoryAnalysis((a_an, b_an, c_an), ((1.0, 0.7, 0.3), (0.7, 1.0, 0.2),
                                                  (0.3, 0.2, 1.0)), (quote,), figures)
    story = Story("a0", "Milley: coordination <b>possible</b>", ("a0", "b1", "c2"), analysis)
    articles = [wire, spin, summ]
    stories = [story]
    story_of = {"a0": "a0", "b1": "a0", "c2": "a0"}
    if extra_alone:
        alone = _article("z9", "wire", ["A lone report."], 30)
        articles.append(alone)
        stories.append(Story("z9", "A lone report", ("z9",)))
        story_of["z9"] = "z9"
    sources = (Source("digest", "Digest"), Source("spin", "Spin <Daily>"), Source("wire", "Wire"))
    return Site(tuple(articles), sources, tuple(stories), story_of), story


def make_env(site: Site, urls: Urls):
    """Make the real Jinja environment over the project's templates."""
    config = Config(root=ROOT, content_dir=ROOT / "content", templates_dir=ROOT / "templates",
                    out_dir=ROOT / "_site", cache_dir=ROOT / ".cache")
    return make_environment(config, urls, site)


def render_story(site: Site, story: Story, urls: Urls | None = None) -> str:
    """Render a story page."""
    urls = urls or Urls("/base/")
    env = make_env(site, urls)
    return render_page(env, "story.html", story=story,
                       **storyview.story_context(story, site, urls))


def _strip(html: str) -> str:
    """Drop tags and unescape the basic entities."""
    text = re.sub(r"<[^>]+>", "", html)
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"')
            .replace("&#39;", "'").replace("&amp;", "&"))


def test_story_page_shows_every_panel_and_escapes_corpus_text():
    site, story = make_site()
    html = render_story(site, story)
    for anchor in ("members", "composition", "similarity", "alignment", "diff", "quotations",
                   "figures", "added"):
        assert f'id="{anchor}"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;possible&lt;/b&gt;" in html and "Spin &lt;Daily&gt;" in html
    assert "<ins>" in html and "<del>" in html
    assert 'style="' not in html and not re.search(r"\son[a-z]+=", html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert html.count("<svg") == 3 and "/base/static/story.js" in html
    assert 'href="/base/stories/a0/story.json"' in html


def test_story_page_lists_outlets_labels_quotes_and_figures():
    site, story = make_site()
    html = render_story(site, story)
    members = html.split('id="members"')[1].split("</section>")[0]
    assert all(name in members for name in ("Wire", "Spin &lt;Daily&gt;", "Digest"))
    assert "wholly derived" in members and "origin" in members
    quotes = html.split('id="quotations"')[1].split("</section>")[0]
    assert "changed in 1" in quotes and "q-altered" in quotes
    assert "q-missing" in quotes and "Milley" in quotes
    figures = html.split('id="figures"')[1].split("</section>")[0]
    assert "fig-disagree" in figures and "more than 150" in figures and "hundreds" in figures
    added = html.split('id="added"')[1].split("</section>")[0]
    assert "This is a disgrace" in added and "Officials declined" not in added
    links = re.findall(r'href="#(p\d+)"', added)
    assert links and all(f'id="{target}"' in html for target in links)
    row = html.split(f'id="{links[0]}"')[1].split("</tr>")[0]
    assert "This is a disgrace" in _strip(row)  # the link leads to the whole passage


def test_alignment_rows_follow_story_order_with_one_column_per_member():
    site, story = make_site()
    members = storyview.story_context(story, site, Urls())["members"]
    table = passages.alignment_table(story, site, members)
    rows = [r for g in table["groups"] for r in g["rows"]]
    assert [r["n"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["text"] == WIRE[0]
    assert [c["kind"] if c else None for c in rows[0]["cells"]] == ["new", "verbatim",
                                                                   "paraphrased"]
    # B's own commentary comes after the passage it follows in B, before A's last sentence.
    texts = [r["text"] for r in rows]
    assert texts.index(SPIN[3]) == texts.index(WIRE[2]) + 1
    assert texts.index(WIRE[3]) > texts.index(SPIN[3])
    assert all(len(r["cells"]) == 3 for r in rows)


def test_identical_runs_are_folded():
    texts = ["One sentence here.", "Two sentence here.", "Three differs here."]
    a = Article("a", "A", "s1", "", " ".join(texts), "a.md", T0)
    b_texts = texts[:2] + ["Three is changed."]
    b = Article("b", "B", "s2", "", " ".join(b_texts), "b.md", T0 + timedelta(hours=1))
    _, spans = _text(texts)
    spans = [(0, 18), (19, 37), (38, 57)]
    bspans = [(0, 18), (19, 37), (38, 55)]
    a_an = ArticleAnalysis("a", tuple(Segment(s, e, "new") for s, e in spans), (), "origin")
    b_an = ArticleAnalysis("b", tuple(
        Segment(s, e, "verbatim" if i < 2 else "edited", Counterpart("a", *spans[i], 1.0))
        for i, (s, e) in enumerate(bspans)), (), "wholly_derived", "a", 1.0)
    story = Story("a", "A", ("a", "b"), StoryAnalysis((a_an, b_an)))
    site = Site((a, b), (Source("s1", "S1"), Source("s2", "S2")), (story,),
                {"a": "a", "b": "a"})
    html = render_story(site, story)
    assert "2 passages identical in A, B" in html
    groups = passages.alignment_table(story, site,
                                    storyview.story_context(story, site, Urls())["members"])
    assert [g["folded"] for g in groups["groups"]] == [True, False]


def test_default_pair_shows_member_against_likely_source_and_dropped_text():
    site, story = make_site()
    context = storyview.story_context(story, site, Urls())
    pairs = context["pairs"]
    assert pairs["member"]["id"] == "b1" and pairs["source"]["id"] == "a0"
    assert [o["value"] for o in pairs["options"]] == ["b1", "c2"]
    rows = pairs["rows"]
    assert [r["kind"] for r in rows] == ["verbatim", "edited", "edited", "new", "dropped"]
    right = [_strip(str(r["right"])) for r in rows if r["right"] is not None]
    left = [_strip(str(r["left"])) for r in rows if r["left"] is not None]
    assert right == SPIN and left == WIRE


def test_diff_fragments_reproduce_both_texts():
    ops = _diff("War is hard & <cruel>.", "War is vicious & <cruel>.")
    assert _strip(str(charts.diff_side(ops, "a"))) == "War is hard & <cruel>."
    assert _strip(str(charts.diff_side(ops, "b"))) == "War is vicious & <cruel>."
    inline = charts.diff_inline(ops)
    assert isinstance(inline, Markup) and "<del>" in inline and "&lt;cruel&gt;" in inline


def test_article_reuse_panel_names_source_and_other_coverage():
    site, _story = make_site()
    urls = Urls("/")
    reuse = storyview.article_reuse_context(site.article("b1"), site, urls)["reuse"]
    assert reuse["active"] and reuse["source"]["share"] == "80%"
    assert reuse["source"]["name"] == "Wire" and reuse["source"]["url"] == "/articles/a0/"
    assert [o["article"].id for o in reuse["others"]] == ["a0", "c2"]
    env = make_env(site, urls)
    html = env.get_template("_article_reuse.html").render(**{"reuse": reuse})
    assert "80% from Wire" in html and 'href="/articles/a0/"' in html
    assert 'class="m m-verbatim"' in html and 'class="m m-edited"' in html
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_article_alone_renders_nothing():
    site, _story = make_site()
    urls = Urls("/")
    context = storyview.article_reuse_context(site.article("z9"), site, urls)
    assert context == {"reuse": {"active": False}}
    html = make_env(site, urls).get_template("_article_reuse.html").render(**context)
    assert html.strip() == ""


def test_source_reuse_counts_words_and_donors():
    site, _story = make_site()
    urls = Urls("/")
    panel = storyview.source_reuse_context(site.source("spin"), site, urls)["source_reuse"]
    assert panel["active"] and panel["articles"] == 1
    assert [r["name"] for r in panel["taken_from"]] == ["Wire"]
    wire = storyview.source_reuse_context(site.source("wire"), site, urls)["source_reuse"]
    assert [r["name"] for r in wire["given_to"]] == ["Spin <Daily>", "Digest"]
    html = make_env(site, urls).get_template("_source_reuse.html").render(source_reuse=panel)
    assert "Taken from" in html and 'href="/sources/wire/"' in html and "<svg" in html
    empty = storyview.source_reuse_context(Source("none", "None"), site, urls)
    assert make_env(site, urls).get_template("_source_reuse.html").render(**empty).strip() == ""


def test_story_summary_for_listings():
    site, story = make_site()
    summary = storyview.story_summary(story, site)
    assert summary["outlet_count"] == 3 and summary["member_count"] == 3
    assert summary["date_range"] == "1 Sep 2021 – 2 Sep 2021"
    alone = storyview.story_summary(site.stories[1], site)
    assert alone["outlet_count"] == 1 and alone["date_range"] == "3 Sep 2021"


def test_story_without_analysis_renders():
    site, _story = make_site()
    html = render_story(site, site.stories[1])
    assert "nothing to compare" in html and 'id="alignment"' not in html


def test_ten_member_story_page_stays_small():
    words = re.findall(r"\w+", "the minister said on tuesday that the new rules would apply "
                                "to every district and that officials expected")
    articles, analyses = [], []
    for m in range(10):
        sentences = [" ".join(words[(i + m) % 7:] + [f"s{i}m{m}."]) for i in range(60)]
        text, spans = _text(sentences)
        articles.append(Article(f"m{m}", f"Title {m}", f"o{m}", text, text, f"m{m}.md",
                                T0 + timedelta(hours=m)))
        segs = []
        for i, (s, e) in enumerate(spans):
            if m == 0 or i % 9 == 0:
                segs.append(Segment(s, e, "new"))
            else:
                prev_text, prev_spans = _text([" ".join(words[(k + m - 1) % 7:] + [f"s{k}m{m-1}."])
                                               for k in range(60)])
                ps, pe = prev_spans[i]
                segs.append(Segment(s, e, "edited", Counterpart(f"m{m-1}", ps, pe, 0.8),
                                    _diff(prev_text[ps:pe], text[s:e])))
        analyses.append(ArticleAnalysis(f"m{m}", tuple(segs), (("edited", 0.8), ("new", 0.2)),
                                        "origin" if m == 0 else "wholly_derived",
                                        f"m{m-1}" if m else None, 0.8))
    matrix = tuple(tuple(1.0 if i == j else 0.5 for j in range(10)) for i in range(10))
    story = Story("m0", "Big story", tuple(f"m{m}" for m in range(10)),
                  StoryAnalysis(tuple(analyses), matrix))
    site = Site(tuple(articles), tuple(Source(f"o{m}", f"Outlet {m}") for m in range(10)),
                (story,), {f"m{m}": "m0" for m in range(10)})
    html = render_story(site, story)
    assert sum(len(a.text.split()) for a in articles) > 8000
    assert len(html.encode("utf-8")) <= 250_000
