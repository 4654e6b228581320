"""Incremental rendering and indexing: which pages and search documents changed, and redo those.

A page's key is a digest of everything it shows: an article page depends on the article, its
outlet and its story (members, their outlets, the story's analysis); a story page and its JSON
on the story. Pages whose key did not change keep the previous build's bytes. Listings, feeds,
outlet pages, the sitemap and data/index.json are always rendered: they are few. The outlet
pages' reuse profiles are sums of per-story tallies (site_src/tallies.py), cached by story.
`render_changed` hands the unchanged keys to `pages.render_site`, so an incremental build
renders with the same code as a clean one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import jinja2
import numpy as np
from jinja2 import meta

from site_src import cache, listings, passages, search, storyview, tallies
from site_src.cache import digest
from site_src.config import Config
from site_src.model import Site
from site_src.pages import make_plan, render_site
from site_src.render import make_environment, templates_pass
from site_src.stores import frozen_heap
from site_src.urls import (
    Urls,
    alignment_part_path,
    output_file,
    path_for,
    story_json_path,
)


def page_keys(site: Site, fingerprints: Mapping[str, str], analysis_keys: Mapping[str, str],
              cache_dir: Path | None = None) -> dict[str, str]:
    """Return output path -> key for every article page, story page (with the pages of its
    passage table's other parts: they change together) and story JSON file; with a cache
    folder, part counts are remembered by story key (counting reads the story's analysis)."""
    outlets = {s.key: repr(s) for s in site.sources}
    outlet_of = {a.id: outlets[a.source] for a in site.articles}
    story_keys: dict[str, str] = {}
    for story in site.stories:
        members = story.member_ids
        parts = (story.id, story.title, analysis_keys.get(story.id, ""))
        if len(members) == 1:  # its article's key covers the rest: no digest needed
            story_keys[story.id] = "\x00".join(parts)
            continue
        story_keys[story.id] = digest(
            *parts, members, [fingerprints[m] for m in members],
            sorted({outlet_of[m] for m in members}))
    keys: dict[str, str] = {}
    story_of = site.story_of
    for article in site.articles:
        story_key = story_keys.get(story_of.get(article.id, ""), "")
        keys[output_file(path_for(article))] = digest(
            "article", fingerprints[article.id], outlet_of[article.id], story_key)
    counts = count_parts(site, story_keys, cache_dir)
    for story in site.stories:
        if len(story.member_ids) > 1:
            count, key = counts[story.id], story_keys[story.id]
            keys[output_file(path_for(story))] = digest("story", key, count)
            for number in range(2, count + 1):
                keys[output_file(alignment_part_path(story, number))] = digest(
                    "part", number, count, key)
            keys[story_json_path(story)] = digest("json", key)
    return keys


def count_parts(site: Site, story_keys: Mapping[str, str], cache_dir: Path | None
                ) -> dict[str, int]:
    """Return story id -> parts of its passage table, for stories of several members."""
    by_key = {story_keys[s.id]: s for s in site.stories if len(s.member_ids) > 1}
    if cache_dir is None:
        return {s.id: passages.part_count(s, site) for s in by_key.values()}
    store = cache.PartStore(cache_dir)
    try:
        found = store.get_many(by_key)
        made = {key: passages.part_count(by_key[key], site) for key in by_key.keys() - found}
        store.put_many(made, keep=by_key)
    finally:
        store.close()
    return {by_key[key].id: count for key, count in {**found, **made}.items()}


# Templates of the keyed pages; anything they reach that reads the whole `site` global makes
# their keys unsafe, and the build then renders every page.
KEYED_TEMPLATES = ("article.html", "story.html")


def keys_are_safe(env: jinja2.Environment) -> bool:
    """Tell whether the keyed pages' templates (and what they extend or include) leave the
    `site` global alone, so that a page's key covers everything it shows."""
    bare = jinja2.Environment(loader=env.loader)  # no globals: meta would hide `site`
    bare.filters.update(env.filters)
    bare.tests.update(env.tests)
    return templates_pass(bare, KEYED_TEMPLATES,
                          lambda tree: "site" not in meta.find_undeclared_variables(tree))


def render_changed(site: Site, config: Config, urls: Urls, keys: Mapping[str, str],
                   old_keys: Mapping[str, str], prints: tuple[Mapping[str, str], ...],
                   sink: Callable[[str, bytes], None] | None = None
                   ) -> tuple[dict[str, bytes], set[str], dict[str, str]]:
    """Render the site, skipping keyed pages and listings whose key is unchanged.

    `prints` holds the articles' fingerprints and headline prints (listings.listing_keys).
    Returns the rendered files, the set of output paths to keep from the previous site and
    the listings' keys; with a sink, article and story pages go to it as they are rendered.
    """
    env = make_environment(config, urls, site)
    safe = keys_are_safe(env)
    kept = {rel for rel, key in keys.items() if safe and old_keys.get(rel) == key}
    storyview.use_story_tallies(site, story_tallies(site, config.cache_dir, keys))
    # The analysed site is millions of long-lived objects: keep the cyclic garbage collector
    # from walking them again and again while the few changed pages are rendered.
    with frozen_heap():
        if not listings.listings_are_safe(env):
            return render_site(site, config, urls, kept=kept, sink=sink), kept, {}
        plan = make_plan(site)
        listed = listings.listing_keys(site, config, urls, *prints, keys, plan)
        todo = {rel for rel, key in listed.items() if old_keys.get(rel) != key}
        files = render_site(site, config, urls, kept=kept, sink=sink, plan=plan, todo=todo,
                            page_paths=[*keys, *listed])
        return files, kept | (listed.keys() - todo), listed


def listing_keys(site: Site, config: Config, urls: Urls, prints: tuple[Mapping[str, str], ...],
                 keys: Mapping[str, str]) -> dict[str, str]:
    """After a full render, cache every story's outlet tally (for the next incremental build)
    and return the listings' keys (none when their templates read more of the site than the
    keys cover)."""
    story_tallies(site, config.cache_dir, keys)
    if not listings.listings_are_safe(make_environment(config, urls, site)):
        return {}
    return listings.listing_keys(site, config, urls, *prints, keys)


def story_tallies(site: Site, cache_dir: Path, keys: Mapping[str, str]
                  ) -> dict[str, tallies.StoryTally]:
    """Return story id -> outlet reuse tally of every analysed story, cached by the key of
    its JSON file (which covers its analysis and members: all that the tally counts)."""
    by_key = {keys[story_json_path(s)]: s for s in site.stories
              if s.analysis is not None and story_json_path(s) in keys}
    store = cache.TallyStore(cache_dir)
    try:
        found = store.get_many(by_key)
        with cache.paused_gc():  # reading many cached analyses makes many objects
            made = {key: tallies.story_tally(by_key[key], site)
                    for key in by_key.keys() - found.keys()}
        store.put_many(made, keep=by_key)
    finally:
        store.close()
    return {by_key[key].id: tally for key, tally in {**found, **made}.items()}


def row_digests(site: Site, urls: Urls, keys: Mapping[str, str] | None = None,
                old_keys: Mapping[str, str] = {}, old_rows: Mapping[str, str] = {}  # noqa: B006
                ) -> dict[str, str]:
    """Return search document key -> digest of the row the index holds for it.

    With page keys (page_keys) and the previous build's page keys and row digests (made with
    the same settings), a document whose page key is unchanged keeps its digest: the page key
    covers everything its row holds. Only the other rows are made again.
    """
    pages = {f"{search.ARTICLE}:{a.id}": output_file(path_for(a)) for a in site.articles}
    pages.update({f"{search.STORY}:{s.id}": output_file(path_for(s))
                  for s in site.stories if len(s.member_ids) > 1})
    digests = {} if keys is None else {
        row: old_rows[row] for row, page in pages.items()
        if row in old_rows and page in keys and keys[page] == old_keys.get(page)}
    if len(digests) == len(pages):
        return digests
    todo = pages.keys() - digests.keys()
    for row in search.document_rows(_part_of(site, todo), urls):
        if row["key"] in todo:
            digests[row["key"]] = digest(sorted(row.items()))
    return digests


def _part_of(site: Site, rows: set[str]) -> Site:
    """Return the part of a site that the search rows need: their articles and stories, with
    every member of those stories (a row shows its story's outlets and first date)."""
    if len(rows) * 4 > len(site.articles):
        return site
    kinds = [row.split(":", 1) for row in rows]
    story_ids = {i for kind, i in kinds if kind == search.STORY}
    story_ids |= {site.story_of[i] for kind, i in kinds
                  if kind == search.ARTICLE and i in site.story_of}
    stories = tuple(s for s in site.stories if s.id in story_ids)
    ids = {i for kind, i in kinds if kind == search.ARTICLE}
    ids.update(m for s in stories for m in s.member_ids)
    articles = tuple(a for a in site.articles if a.id in ids)
    return Site(articles=articles, sources=site.sources, stories=stories,
                story_of={i: site.story_of[i] for i in ids if i in site.story_of})


SEARCH_STATIC = "search/static/"
UPDATE_LIMIT = 200  # more changed documents than this: export afresh


def export_search(index_dir: Path, previous: Path | None, cache_dir: Path, site: Site,
                  urls: Urls, old_rows: Mapping[str, str], rows: Mapping[str, str]
                  ) -> tuple[dict[str, bytes], set[str]]:
    """Return the static search export's files (paths in the site) and the previous site's
    export files to keep as they are: updated in place from the previous site when
    documents only changed, else exported afresh from the index in index_dir."""
    from site_src import search_export

    store = cache.ExportStore(cache_dir)
    try:
        if previous is not None:
            with contextlib.suppress(OSError, ValueError, KeyError, IndexError, TypeError):
                done = _update_export(previous / SEARCH_STATIC, store, site, urls, old_rows, rows)
                if done is not None:
                    return done
        files, count = search_export.export_counted(index_dir)
        _remember_export(store, index_dir, files["meta.json"], count)
    finally:
        store.close()
    return {SEARCH_STATIC + rel: data for rel, data in files.items()}, set()


def _update_export(folder: Path, store: cache.ExportStore, site: Site, urls: Urls,
                   old_rows: Mapping[str, str], rows: Mapping[str, str]
                   ) -> tuple[dict[str, bytes], set[str]] | None:
    """Update the previous export in folder for the documents that changed, came or went
    (their entries from the store and the site), or return None."""
    from site_src import export_update

    meta = (folder / "meta.json").read_bytes()
    tag = store.get_many([""]).get("")
    if tag is None or tag[0] != digest(meta) or {k for _, k in tag[2]} != old_rows.keys():
        return None
    listed: list[tuple[str, str]] = tag[2]  # (order, key) of each document, in export order
    changed = {key for key, row in rows.items() if old_rows.get(key) != row}
    gone = old_rows.keys() - rows.keys()
    if len(changed) + len(gone) > UPDATE_LIMIT:
        return None
    before = store.get_many((changed & old_rows.keys()) | gone)
    after = {row["key"]: export_update.document_entry(row)
             for row in search.document_rows(_part_of(site, changed), urls)
             if row["key"] in changed}
    if before.keys() != (changed & old_rows.keys()) | gone or after.keys() != changed:
        return None
    order = sorted([item for item in listed if item[1] not in before]
                   + [(entry[0]["order"], key) for key, entry in after.items()])
    number = {key: at for at, (_, key) in enumerate(order)}
    moved = np.array([-1 if key in before else number[key] for _, key in listed], np.int64)
    made, dropped, count = ({}, set(), tag[1]) if not before and not after else (
        export_update.update_export(
            folder, json.loads(meta), tag[1], moved,
            {at: before[key] for at, (_, key) in enumerate(listed) if key in before},
            {number[key]: entry for key, entry in after.items()}) or (None,) * 3)
    if made is None:
        return None
    kept = _list_files(folder) - dropped - made.keys()
    if made:
        store.put_many({"": (digest(made["meta.json"]), count, order), **after},
                       keep=["", *rows] if gone else None)
    return ({SEARCH_STATIC + rel: data for rel, data in made.items()},
            {SEARCH_STATIC + rel for rel in kept})


def _list_files(folder: Path) -> set[str]:
    """Return the relative POSIX paths of the files under folder."""
    found = set()
    for root, _dirs, names in os.walk(folder):
        prefix = Path(root).relative_to(folder).as_posix()
        found.update(name if prefix == "." else f"{prefix}/{name}" for name in names)
    return found


def _remember_export(store: cache.ExportStore, index_dir: Path, meta: bytes, count: int) -> None:
    """Keep every document's export entry and position, for the next build's update."""
    from whoosh import index

    from site_src.search_index import read_analysed

    entries = read_analysed(index_dir, index.open_dir(str(index_dir)).latest_generation())
    if entries is None:
        store.put_many({}, keep=())
        return
    order = sorted((entry[0]["order"], key) for key, entry in entries.items())
    store.put_many({"": (digest(meta), count, order), **entries}, keep=["", *entries])


def search_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """Return (ids to re-index, ids to drop) for search.update_documents."""
    touched = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    ids_now = {key.split(":", 1)[1] for key in new}
    ids = {key.split(":", 1)[1] for key in touched}
    return ids & ids_now, ids - ids_now
