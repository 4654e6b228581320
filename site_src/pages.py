"""Every page, feed and data file of the site, rendered to bytes keyed by output path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

import jinja2
from tqdm import tqdm

from site_src import executor, export, storyview
from site_src.config import Config
from site_src.model import Article, Site, Source, Story
from site_src.render import (
    article_sort_key,
    bundled_templates,
    format_iso,
    make_environment,
    render_page,
)
from site_src.urls import (
    Urls,
    alignment_part_path,
    output_file,
    path_for,
    source_feed_path,
    static_path,
    story_json_path,
)

FEED_SIZE = 50
LATEST_ON_HOME = 30
STORIES_ON_HOME = 20
# Show a progress bar only for builds long enough to need one.
PROGRESS_MIN_PAGES = 2000
# Render article and story pages on the build's executor from this many pages on.
PARALLEL_MIN_PAGES = 2000
# A story page costs about this many article pages per member (plus a square term).
STORY_WEIGHT = 2
INDEX_JSON = "data/index.json"
SITEMAP = "sitemap.xml"

Files = dict[str, bytes]


@dataclass
class Plan:
    """What the listings are made of (shared by their keys and their rendering)."""

    listed: list[Article]  # newest first
    multi: list[Story]  # stories of several members, largest first
    story_items: list[tuple[Story, dict]]
    by_source: dict[str, tuple[list[Article], list]]


def make_plan(site: Site) -> Plan:
    """Order the articles and stories as the listings show them."""
    listed = sorted(site.articles, key=article_sort_key)
    multi = sorted((s for s in site.stories if len(s.member_ids) > 1),
                   key=lambda s: (-len(s.member_ids), s.id))
    items = [(s, storyview.story_summary(s, site)) for s in multi]
    return Plan(listed, multi, items, _group_by_source(listed, items, site))


def render_site(
    site: Site, config: Config, urls: Urls, progress: bool = False,
    kept: Collection[str] = frozenset(), sink: Callable[[str, bytes], None] | None = None,
    plan: Plan | None = None, todo: Collection[str] | None = None,
    page_paths: Iterable[str] = (),
) -> Files:
    """Render every file of the site (search index files excepted).

    Article and story pages whose output path is in `kept` are not rendered: an incremental
    build keeps them from the previous site. A story's passage-table part pages
    (urls.alignment_part_path) are rendered with its page and kept with it: their keys
    (rebuild.page_keys) change together. Listings (pages, feeds, the sitemap and
    data/index.json) are all rendered, or with `todo` only those whose output path it holds
    (site_src/listings.py); `page_paths` then names the kept listings for the sitemap.
    With a sink, article and story pages (and story JSON) go to sink(path, bytes) as they
    arrive from the workers (executor.stream_ordered) instead of into the returned files, so
    that they are never all held at once.
    """
    env = make_environment(config, urls, site)
    plan = make_plan(site) if plan is None else plan
    files: Files = {}

    def put(site_path: str, make: Callable[[], str]) -> None:
        """Render one listing unless it is to be kept."""
        rel = output_file(site_path)
        if todo is None or rel in todo:
            files[rel] = make().encode("utf-8")

    items, listed = plan.story_items, plan.listed
    put("", lambda: render_page(env, "index.html", story_items=items[:STORIES_ON_HOME],
                                articles=listed[:LATEST_ON_HOME]))
    put("stories/", lambda: render_page(env, "stories.html", story_items=items))
    put("search/", lambda: render_page(env, "search.html"))
    put("404.html", lambda: render_page(env, "404.html"))
    put("sources/", lambda: render_page(env, "sources.html", source_items=count_sources(site)))
    for source in site.sources:
        own, stories = plan.by_source.get(source.key, ([], []))
        put(path_for(source), lambda s=source, o=own, t=stories: _render_source(
            env, site, urls, s, o, t))
        put(source_feed_path(source), lambda s=source, o=own: _render_feed(
            env, urls, f"{s.name} · {config.title}", source_feed_path(s), path_for(s), o))
    put("feed.xml", lambda: _render_feed(env, urls, config.title, "feed.xml", "", listed))
    items_to_render = _page_items(listed, plan.multi, kept)
    streamed: list[str] = []
    with tqdm(total=len(items_to_render), desc="render pages", unit="page", leave=False,
              disable=not (progress and len(items_to_render) >= PROGRESS_MIN_PAGES)) as bar, \
            closing(executor.stream_ordered(
                render_pages, items_to_render, shared=RenderJob(site, config, urls, env),
                min_items=PARALLEL_MIN_PAGES, on_done=bar.update,
                weight=_page_weight(site))) as rendered_pages:
        # Each result is handed on as it arrives: the pages are never all held at once.
        for rendered in rendered_pages:
            if sink is None:
                files.update(rendered)
                continue
            for rel, data in rendered:
                sink(rel, data)
                streamed.append(rel)
    put(INDEX_JSON, lambda: export.index_json(site, urls))
    located = {*page_paths, *files, *kept, *streamed}
    put(SITEMAP, lambda: render_page(env, "sitemap.xml", locations=_sitemap(located, urls)))
    files["robots.txt"] = f"User-agent: *\nAllow: /\nSitemap: {urls.absolute(SITEMAP)}\n".encode()
    files[".nojekyll"] = b""
    files.update(_static_files(config))
    files["favicon.svg"] = files[static_path("favicon.svg")]
    return files


class RenderJob:
    """What every article and story page needs. It travels to each worker once (the Jinja
    environment stays behind; the worker makes its own, from the template sources)."""

    def __init__(self, site: Site, config: Config, urls: Urls,
                 env: jinja2.Environment | None = None) -> None:
        self.site, self.config, self.urls = site, config, urls
        self._env = env
        self._templates: dict[str, str] | None = None

    def environment(self) -> jinja2.Environment:
        """Return the Jinja environment, made once per process."""
        if self._env is None:
            self._env = make_environment(self.config, self.urls, self.site)
            if self._templates is not None:  # a worker may not see the template folders
                self._env.loader = jinja2.DictLoader(self._templates)
        return self._env

    def __getstate__(self) -> dict[str, object]:
        """Pickle the site and settings with the template sources, not the environment."""
        return {"site": self.site, "config": self.config, "urls": self.urls, "_env": None,
                "_templates": self._templates or _template_sources(self.environment())}


def render_pages(job: RenderJob, item: tuple) -> list[tuple[str, bytes]]:
    """Render one article page, or a story's page (with its passage table's part pages) and
    JSON: (output path, bytes) pairs."""
    env, site, urls = job.environment(), job.site, job.urls
    if item[0] == "article":
        article = site.article(item[1])
        return [(output_file(path_for(article)),
                 _render_article(env, site, urls, article).encode("utf-8"))]
    _kind, story_id, page, data = item
    story = site.story(story_id)
    rendered = []
    if page:  # the story page, and the pages of its passage table's other parts (if any)
        context = storyview.story_context(story, site, urls)
        rendered.append((output_file(path_for(story)), render_page(
            env, "story.html", story=story, **context).encode("utf-8")))
        for part in context["part_pages"]:  # type: ignore[attr-defined]
            rendered.append((output_file(alignment_part_path(story, part["number"])), render_page(
                env, "story.html", story=story,
                **{**context, "part": part, "part_page": True}).encode("utf-8")))
    if data:
        rendered.append((story_json_path(story),
                         export.story_json(story, site, urls).encode("utf-8")))
    return rendered


def _page_weight(site: Site) -> Callable[[tuple], float]:
    """Return the relative rendering cost of a _page_items item (an article page is 1): a
    story page grows with its members (its tables have a column or a row for each)."""

    def weight(item: tuple) -> float:
        """Weigh one item."""
        if item[0] == "article":
            return 1.0
        members = len(site.story(item[1]).member_ids)
        return STORY_WEIGHT * members + members * members / 8 if item[2] else 1.0

    return weight


def _page_items(listed: list[Article], multi: list[Story], kept: Collection[str]) -> list[tuple]:
    """List the article and story pages to render (those not kept), in output order."""
    items: list[tuple] = [("article", a.id) for a in listed
                          if output_file(path_for(a)) not in kept]
    for story in multi:
        page = output_file(path_for(story)) not in kept
        data = story_json_path(story) not in kept
        if page or data:
            items.append(("story", story.id, page, data))
    return items


def _template_sources(env: jinja2.Environment) -> dict[str, str]:
    """Return every template's source as the environment's loader finds it (static/ aside)."""
    loader = env.loader
    assert loader is not None
    sources = {}
    for name in loader.list_templates():
        if not name.startswith("static/"):
            try:
                sources[name] = loader.get_source(env, name)[0]
            except (UnicodeDecodeError, jinja2.TemplateNotFound):
                continue
    return sources


def _render_article(env: jinja2.Environment, site: Site, urls: Urls, article: Article) -> str:
    """Render one article page with its story context."""
    story = _story_of(site, article.id)
    outlets = len({site.article(m).source for m in story.member_ids}) if story else 1
    return render_page(
        env, "article.html", article=article, source=site.source(article.source),
        story=story, story_outlets=outlets,
        **storyview.article_reuse_context(article, site, urls),
    )


def _group_by_source(
    listed: list[Article], story_items: list, site: Site,
) -> dict[str, tuple[list[Article], list]]:
    """Map each outlet key to its articles and its story items, both in listing order."""
    groups: dict[str, tuple[list[Article], list]] = {}
    for article in listed:
        groups.setdefault(article.source, ([], []))[0].append(article)
    for item in story_items:
        for key in sorted({site.article(member).source for member in item[0].member_ids}):
            groups.setdefault(key, ([], []))[1].append(item)
    return groups


def _render_source(
    env: jinja2.Environment, site: Site, urls: Urls, source: Source,
    own: list[Article], stories: list,
) -> str:
    """Render one outlet page: its reuse profile, stories and articles."""
    return render_page(
        env, "source.html", source=source, articles=own, story_items=stories,
        feed_path=source_feed_path(source),
        **storyview.source_reuse_context(source, site, urls),
    )


def _render_feed(
    env: jinja2.Environment, urls: Urls, title: str, self_path: str, alternate: str,
    articles: list[Article],
) -> str:
    """Render an Atom feed of the newest articles."""
    entries = articles[:FEED_SIZE]
    dates = [a.published for a in entries if a.published]
    updated = format_iso(max(dates) if dates else datetime(2000, 1, 1, tzinfo=UTC))
    return render_page(
        env, "feed.xml", feed_title=title, feed_id=f"urn:newsdiff:feed:{self_path}",
        self_url=urls.absolute(self_path), alternate_url=urls.absolute(alternate),
        updated=updated, articles=entries, absolute=_absolute_link(urls),
    )


def _absolute_link(urls: Urls) -> Callable[[str], str]:
    """Turn a base-relative link into an absolute URL where the site URL is known."""
    return lambda link: urls.site_url.rstrip("/") + link


def count_sources(site: Site) -> list[tuple[Source, int]]:
    """Return outlets with their article counts, most articles first."""
    counts = Counter(a.source for a in site.articles)
    return sorted(((s, counts[s.key]) for s in site.sources), key=lambda x: (-x[1], x[0].name))


def _story_of(site: Site, article_id: str) -> Story | None:
    """Return the story an article belongs to."""
    return site.story(site.story_of[article_id]) if article_id in site.story_of else None


def _sitemap(files: Iterable[str], urls: Urls) -> list[str]:
    """List the absolute URLs of every HTML page except the 404 page."""
    pages = []
    for rel in sorted(files):
        if rel.endswith("index.html"):
            pages.append(urls.absolute(rel[: -len("index.html")]))
    return pages


def _static_files(config: Config) -> Files:
    """Collect templates/static/ (user templates override bundled ones) as static/<name>."""
    files: Files = {}
    for folder in (bundled_templates() / "static", config.templates_dir / "static"):
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                files[static_path(path.relative_to(folder).as_posix())] = path.read_bytes()
    return files
