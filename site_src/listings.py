"""The listing pages of an incremental build, each keyed by what it shows.

The home page, the story and outlet lists, every outlet page and feed, the site feed, the
sitemap and data/index.json read the whole corpus, yet one edited article rarely changes
more than a few of them. Each gets a key: a digest of exactly the values its template is
given (teasers, story summaries, an outlet's reuse panel, the fingerprints of a feed's
entries...) and of every outlet (templates look outlets up by key). An incremental build
renders only the listings whose key changed and keeps the others' previous bytes.

`pages.render_site` then renders the listings to redo (its `todo`) and the article and story
pages not kept. Keys are trusted only while the
listing templates use the `site` global for nothing but its outlets (`site.sources`,
`site.source(key)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jinja2
from jinja2 import nodes

from site_src import pages, storyview
from site_src.cache import digest
from site_src.config import Config
from site_src.model import Article, Site, Story
from site_src.render import templates_pass
from site_src.urls import Urls, output_file, path_for, source_feed_path

LISTING_TEMPLATES = ("index.html", "stories.html", "sources.html", "source.html", "feed.xml",
                     "sitemap.xml", "search.html", "404.html")


def listing_keys(site: Site, config: Config, urls: Urls, fingerprints: Mapping[str, str],
                 headlines: Mapping[str, str], page_paths: Iterable[str],
                 plan: pages.Plan | None = None) -> dict[str, str]:
    """Return output path -> key of every listing page, feed, the sitemap and index.json.

    `fingerprints` and `headlines` map article ids to cache.article_fingerprint and
    parse_cache.headline_print: a teaser shows only what the headline print covers.
    """
    plan = plan or pages.make_plan(site)
    outlets = repr(site.sources)
    # What a story list shows of each story, written out once (a story is in several lists).
    shown = {s.id: repr((s.id, s.title, summary)) for s, summary in plan.story_items}

    def teasers(articles: Iterable[Article]) -> str:
        """Return what an article list shows of each article (headline prints are hex)."""
        return " ".join([headlines[a.id] for a in articles])

    def stories(items: Iterable[tuple[Story, dict]]) -> str:
        """Return what a story list shows of each story (reprs, one per line)."""
        return "\n".join([shown[s.id] for s, _summary in items])

    def feed(title: str, self_path: str, alternate: str, articles: list[Article]) -> str:
        """Return a feed's key: its entries' fingerprints cover all they show."""
        entries = [fingerprints[a.id] for a in articles[:pages.FEED_SIZE]]
        return digest("feed", outlets, title, self_path, alternate, entries)

    keys = {
        output_file(""): digest("home", outlets, stories(plan.story_items[:pages.STORIES_ON_HOME]),
                                teasers(plan.listed[:pages.LATEST_ON_HOME])),
        output_file("stories/"): digest("stories", outlets, stories(plan.story_items)),
        output_file("search/"): digest("search", outlets),
        output_file("404.html"): digest("404", outlets),
        output_file("sources/"): digest("sources", outlets, pages.count_sources(site)),
        output_file("feed.xml"): feed(config.title, "feed.xml", "", plan.listed),
    }
    for source in site.sources:
        own, items = plan.by_source.get(source.key, ([], []))
        keys[output_file(path_for(source))] = digest(
            "source", outlets, source, teasers(own), stories(items),
            storyview.source_reuse_context(source, site, urls))
        keys[output_file(source_feed_path(source))] = feed(
            f"{source.name} · {config.title}", source_feed_path(source), path_for(source), own)
    story_of = site.story_of  # the articles are in id order, as data/index.json lists them
    keys[pages.INDEX_JSON] = digest(
        "index", outlets, teasers(site.articles),
        "\n".join([repr(story_of.get(a.id)) for a in site.articles]),
        repr(sorted([(s.id, s.title, s.member_ids) for s in site.stories])))
    keys[pages.SITEMAP] = digest("sitemap", "\n".join(sorted({*page_paths, *keys})))
    return keys


def listings_are_safe(env: jinja2.Environment) -> bool:
    """Tell whether the listing templates (and what they extend or include) use the `site`
    global only for its outlets, which every listing key covers."""
    return templates_pass(env, LISTING_TEMPLATES,
                          lambda tree: _site_only_looks_up(tree, None, None))


def _site_only_looks_up(node: nodes.Node, parent: nodes.Node | None,
                        grand: nodes.Node | None) -> bool:
    """Tell whether every read of `site` under node is `site.sources` or the callee of
    `site.source(...)` (the outlets, which every listing key covers)."""
    if isinstance(node, nodes.Name) and node.name == "site" and node.ctx == "load":
        return isinstance(parent, nodes.Getattr) and (parent.attr == "sources" or (
            parent.attr == "source" and isinstance(grand, nodes.Call) and grand.node is parent))
    return all(_site_only_looks_up(child, node, parent) for child in node.iter_child_nodes())
