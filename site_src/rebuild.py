"""Incremental rendering and indexing: which pages and search documents changed, and redo those.

A page's key is a digest of everything it shows: an article page depends on the article, its
outlet and its story (members, their outlets, the story's analysis); a story page and its JSON
on the story. Pages whose key did not change keep the previous build's bytes. Listings, feeds,
outlet pages (site-wide reuse tallies), the sitemap and data/index.json are always rendered:
they are few. `render_changed` hands the unchanged keys to `pages.render_site`, so an
incremental build renders with the same code as a clean one.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
from jinja2 import meta

from site_src import search
from site_src.cache import digest
from site_src.config import Config
from site_src.model import Site
from site_src.pages import render_site
from site_src.render import make_environment
from site_src.urls import (
    Urls,
    output_file,
    path_for,
    story_json_path,
)


def page_keys(site: Site, fingerprints: Mapping[str, str],
              analysis_keys: Mapping[str, str]) -> dict[str, str]:
    """Return output path -> key for every article page, story page and story JSON file."""
    outlets = {s.key: repr(s) for s in site.sources}
    story_keys: dict[str, str] = {}
    for story in site.stories:
        members = story.member_ids
        story_keys[story.id] = digest(
            story.id, story.title, members, [fingerprints[m] for m in members],
            sorted({outlets[site.article(m).source] for m in members}),
            analysis_keys.get(story.id, ""),
        )
    keys: dict[str, str] = {}
    for article in site.articles:
        story_key = story_keys.get(site.story_of.get(article.id, ""), "")
        keys[output_file(path_for(article))] = digest(
            "article", fingerprints[article.id], outlets[article.source], story_key)
    for story in site.stories:
        if len(story.member_ids) > 1:
            keys[output_file(path_for(story))] = digest("story", story_keys[story.id])
            keys[story_json_path(story)] = digest("json", story_keys[story.id])
    return keys


# Templates of the keyed pages; anything they reach that reads the whole `site` global makes
# their keys unsafe, and the build then renders every page.
KEYED_TEMPLATES = ("article.html", "story.html")


def keys_are_safe(env: jinja2.Environment) -> bool:
    """Tell whether the keyed pages' templates (and what they extend or include) leave the
    `site` global alone, so that a page's key covers everything it shows."""
    bare = jinja2.Environment(loader=env.loader)  # no globals: meta would hide `site`
    bare.filters.update(env.filters)
    bare.tests.update(env.tests)
    todo, seen = list(KEYED_TEMPLATES), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            source = bare.loader.get_source(bare, name)[0]
            tree = bare.parse(source)
            if "site" in meta.find_undeclared_variables(tree):
                return False
        except jinja2.TemplateError:
            return False
        for child in meta.find_referenced_templates(tree):
            if child is None:  # a template name computed at render time
                return False
            todo.append(child)
    return True


def render_changed(site: Site, config: Config, urls: Urls, keys: Mapping[str, str],
                   old_keys: Mapping[str, str]) -> tuple[dict[str, bytes], set[str]]:
    """Render the site, skipping keyed pages whose key is unchanged.

    Returns the rendered files and the set of output paths to keep from the previous site.
    """
    safe = keys_are_safe(make_environment(config, urls, site))
    kept = {rel for rel, key in keys.items() if safe and old_keys.get(rel) == key}
    return render_site(site, config, urls, kept=kept), kept


def row_digests(site: Site, urls: Urls) -> dict[str, str]:
    """Return search document key -> digest of the row the index holds for it."""
    return {row["key"]: digest(sorted(row.items())) for row in search.document_rows(site, urls)}


def search_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """Return (ids to re-index, ids to drop) for search.update_documents."""
    touched = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    ids_now = {key.split(":", 1)[1] for key in new}
    ids = {key.split(":", 1)[1] for key in touched}
    return ids & ids_now, ids - ids_now
