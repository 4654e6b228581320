"""The build: load -> analyse -> render -> index -> write. Analysis ends before rendering."""

from __future__ import annotations

import contextlib
import functools
import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from site_src import cache, executor
from site_src.config import Config
from site_src.model import Article, Corpus, Problem, Site, Source, StoryAnalysis
from site_src.output import (
    MissingPrevious,
    check_output_dir,
    link_tree,
    staged_output,
    write_files,
)
from site_src.spool import SpooledFiles
from site_src.stores import frozen_heap, return_free_memory
from site_src.urls import Urls

# The analysis, rendering and search modules are imported where they are used, so that a
# build with nothing to do does not pay for importing scikit-learn, Whoosh and the rest.

# Below this many multi-member stories, process start-up costs more than it saves.
PARALLEL_MIN_STORIES = 16
DEFER_REMOVAL_PAGES = 2000


class BuildError(RuntimeError):
    """The build stopped; `problems` lists every problem found in the corpus."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the corpus problems, files written, stage timings and the site.

    `site` is computed on first use when the build found nothing to do (the cache answered).
    """

    problems: tuple[Problem, ...]
    files: int
    changed: int
    out_dir: Path
    timings: tuple[tuple[str, float], ...]
    mode: str = "clean"  # clean | render (all pages, cached analyses) | incremental | unchanged
    make_site: Callable[[], Site] = field(default=lambda: Site((), (), ()), repr=False,
                                          compare=False)

    @functools.cached_property
    def site(self) -> Site:
        """The analysed site."""
        return self.make_site()


def load(config: Config, scan: Mapping[str, cache.FileStat] | None = None,
         fingerprints: dict[str, str] | None = None,
         headlines: dict[str, str] | None = None) -> Corpus:
    """Load and validate the corpus; in strict mode any error stops the build.

    With a scan (cache.scan_content), files it lists unchanged come parsed from the cache
    and the cache learns the others. `fingerprints` and `headlines`, when given, receive
    article id -> cache.article_fingerprint and parse_cache.headline_print (both remembered
    with the parse).
    """
    from site_src import content, parse_cache

    remembered = parse_cache.load_parses(config.cache_dir) if scan is not None else {}
    parsed = {rel: entry[0] for rel, entry in remembered.items()}
    digests = {rel: stat[2] for rel, stat in scan.items()} if scan is not None else None
    corpus = content.load_corpus(config.content_dir, parsed, digests)
    made = {rel for rel, entry in parsed.items()
            if rel not in remembered or entry is not remembered[rel][0]}
    prints = {rel: (cache.article_fingerprint(parsed[rel][1]),
                    parse_cache.headline_print(parsed[rel][1])) if parsed[rel][1] else ("", "")
              for rel in made}
    for article in corpus.articles if fingerprints is not None or headlines is not None else ():
        known = prints.get(article.path) or remembered[article.path][1:]
        if fingerprints is not None:
            fingerprints[article.id] = known[0]
        if headlines is not None:
            headlines[article.id] = known[1]
    if scan is not None:
        live = parsed.keys() & scan.keys()
        if made or remembered.keys() - live:
            parse_cache.save_parses(
                config.cache_dir,
                {rel: (parsed[rel], *(prints.get(rel) or remembered[rel][1:]))
                 for rel in sorted(live)},
                made & live, remembered.keys() - live)
    errors = [p for p in corpus.problems if p.severity == "error"]
    if config.strict and errors:
        raise BuildError(
            f"{len(errors)} file problem(s) in {config.content_dir} (strict mode)", corpus.problems
        )
    return corpus


def analyse_corpus(
    articles: Sequence[Article], sources: Sequence[Source] = (), jobs: int = 1
) -> Site:
    """Cluster articles into stories and align every multi-member story (pure)."""
    return analyse_with(articles, sources, jobs, lambda keys: {}, lambda key, members: key)[0]


def analyse_with(
    articles: Sequence[Article],
    sources: Sequence[Source],
    jobs: int,
    lookup: Callable[[Iterable[str]], Mapping[str, StoryAnalysis]],
    key_of: Callable[[str, list[Article]], str],
    memo: object = None,
) -> tuple[Site, dict[str, str], dict[str, StoryAnalysis]]:
    """Analyse, taking story analyses that lookup finds under key_of(story id, members).

    Returns the site, story id -> analysis key, and the analyses made (key -> analysis).
    `memo` (cluster_memo.FeatureMemo) lets clustering reuse unchanged articles' features.
    """
    from site_src import align, cluster

    articles = tuple(sorted(articles, key=lambda a: a.id))
    by_id = {a.id: a for a in articles}
    stories = cluster.find_stories(articles, memo)  # type: ignore[arg-type]
    return_free_memory()  # clustering's scratch, before the alignment workers fork
    groups = {s.id: [by_id[i] for i in s.member_ids] for s in stories if len(s.member_ids) > 1}
    keys = {story_id: key_of(story_id, members) for story_id, members in groups.items()}
    found = dict(lookup(keys.values()))
    missing = [story_id for story_id in groups if keys[story_id] not in found]
    made = dict(zip((keys[i] for i in missing),
                    _map(align.analyse_story, [groups[i] for i in missing], jobs), strict=True))
    found.update(made)
    analysed = tuple(
        replace(s, analysis=found[keys[s.id]]) if s.id in keys else s for s in stories
    )
    story_of = {member: s.id for s in analysed for member in s.member_ids}
    site = Site(
        articles=articles,
        sources=_complete_sources(articles, sources),
        stories=analysed,
        story_of=story_of,
    )
    return site, keys, made


def _map(function: Callable, items: list, jobs: int) -> list:
    """Map on the build's executor (else `jobs` local processes) when it pays; order is kept."""
    with executor.ensure_session(jobs):
        return executor.map_ordered(function, items, min_items=PARALLEL_MIN_STORIES)


def _complete_sources(articles: Sequence[Article], sources: Sequence[Source]) -> tuple[Source, ...]:
    """Return the outlets that have articles, sorted by key; unknown keys get a plain entry."""
    known = {s.key: s for s in sources}
    keys = sorted({a.source for a in articles})
    return tuple(known.get(k, Source(key=k, name=k)) for k in keys)


class _Clock:
    """Stage timings of one build."""

    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        """Record the time since the previous lap under stage."""
        now = time.perf_counter()
        self.timings.append((stage, now - self.last))
        self.last = now


@executor.wrap_in_session
def build(config: Config, report: Callable[[str], None] = lambda _: None) -> BuildResult:
    """Build the site incrementally (state in config.cache_dir) and swap it into out_dir.

    The output is byte for byte what a clean build of the same corpus writes (the Whoosh
    index excepted: it holds the same documents, updated in place).
    """
    # The corpus, its parses and the clustering state are millions of long-lived objects that
    # the cyclic collector would walk again and again (over a second of a 37,554-article edit);
    # the build makes little cyclic garbage outside rendering, which runs with it (_collecting).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(config, report, collecting)
    finally:
        if collecting:
            gc.enable()


@contextlib.contextmanager
def _collecting(enabled: bool) -> Iterator[None]:
    """Render with the cyclic collector as the caller had it (templates make cyclic garbage,
    and forked render workers inherit the setting), kept off the analysed site's objects."""
    with frozen_heap():
        if enabled:
            gc.enable()
        try:
            yield
        finally:
            gc.disable()


def _build(config: Config, report: Callable[[str], None], collecting: bool) -> BuildResult:
    """Build the site (see build); `collecting` tells whether full renders may collect."""
    check_output_dir(config.out_dir, config.content_dir)
    clock = _Clock()
    code = cache.code_version()
    state = cache.load_state(config.cache_dir, code)
    scan = cache.scan_content(config.content_dir, state.content if state else {})
    templates, settings = cache.templates_version(config), cache.settings_version(config)
    out = config.out_dir.resolve()
    site_ok = (state is not None and state.out_dir == str(out) and state.site_id is not None
               and cache.site_identity(out) == state.site_id)
    same_look = state is not None and (state.templates, state.settings) == (templates, settings)
    clock.lap("scan")
    if site_ok and same_look and cache.same_content(scan, state.content):
        return _unchanged(config, state, scan, clock, report)
    from site_src import rebuild
    from site_src.pages import render_site

    fingerprints: dict[str, str] = {}
    headlines: dict[str, str] = {}
    corpus = load(config, scan, fingerprints, headlines)
    clock.lap("load")
    site, analysis_keys, features_saved = _analyse_cached(corpus, config, code, fingerprints)
    clock.lap("analyse")
    urls = Urls(base_url=config.base_url, site_url=config.site_url)
    keys = rebuild.page_keys(site, fingerprints, analysis_keys, config.cache_dir)
    rows = rebuild.row_digests(site, urls, keys, *((state.pages, state.rows)
                                                   if state is not None and same_look else ()))
    partial = site_ok and same_look
    # A full render's pages are spooled to disk as they come; an incremental build renders few.
    files: MutableMapping[str, bytes] = {} if partial else SpooledFiles(config.cache_dir)
    if partial:
        with _collecting(collecting):
            rendered, kept, listed = rebuild.render_changed(
                site, config, urls, keys, state.pages, (fingerprints, headlines),
                files.__setitem__)
        files.update(rendered)
    else:
        features_saved()  # no thread running while a full render forks its workers
        gc.collect()  # the analysis stages' cyclic garbage (the collector was paused) ...
        return_free_memory()  # ... and what they freed, before the pages pile up
        with _collecting(collecting):
            files.update(render_site(site, config, urls, progress=config.progress,
                                     sink=files.__setitem__))
        kept = set()
        listed = rebuild.listing_keys(site, config, urls, (fingerprints, headlines), keys)
    keys.update(listed)  # remembered with the page keys, for the next build
    clock.lap("render")
    # The replaced site is kept in the cache: the next build stages in it (output.py).
    with staged_output(out, defer_removal=len(keys) > DEFER_REMOVAL_PAGES,
                       spare=config.cache_dir / cache.SPARE_FOLDER,
                       own=("search/whoosh",)) as stage:
        _index(site, urls, stage / "search" / "whoosh", _previous_index(config, state, site_ok),
               rows)
        clock.lap("index")
        exported, kept_search = rebuild.export_search(
            stage / "search" / "whoosh", out if site_ok else None, config.cache_dir, site, urls,
            state.rows if state is not None else {}, rows)
        files.update(exported)
        clock.lap("export")
        try:
            changed = write_files(stage, files, previous=out, keep=kept | kept_search)
        except MissingPrevious:  # the old site was edited by hand: render every page
            with _collecting(collecting):
                files.update(render_site(site, config, urls, progress=config.progress,
                                         sink=files.__setitem__))
            files.update(rebuild.export_search(stage / "search" / "whoosh", None,
                                               config.cache_dir, site, urls, {}, rows)[0])
            changed, kept, partial = write_files(stage, files, previous=out), set(), False
            kept_search = set()
        total = len(files) + len(kept) + len(kept_search)
        if isinstance(files, SpooledFiles):
            files.close()
        clock.lap("write")
    mode = "incremental" if partial else ("render" if state else "clean")
    features_saved()
    cache.save_index(config.cache_dir, out / "search" / "whoosh", rows)
    cache.save_state(config.cache_dir, cache.State(
        code=code, content=scan, templates=templates, settings=settings, pages=keys, rows=rows,
        site_id=cache.site_identity(out), out_dir=str(out), problems=corpus.problems, files=total))
    clock.lap("save")
    report(f"built {total} files ({changed} changed, {mode}) in {config.out_dir}")
    return BuildResult(problems=corpus.problems, files=total, changed=changed,
                       out_dir=config.out_dir, timings=tuple(clock.timings), mode=mode,
                       make_site=lambda: site)


def _unchanged(config: Config, state: cache.State, scan: dict, clock: _Clock,
               report: Callable[[str], None]) -> BuildResult:
    """Answer a build whose inputs and output are what the cache recorded: nothing to do."""
    errors = [p for p in state.problems if p.severity == "error"]
    if config.strict and errors:
        raise BuildError(
            f"{len(errors)} file problem(s) in {config.content_dir} (strict mode)", state.problems)
    if scan != state.content:  # touched but identical files: remember their new times
        cache.save_state(config.cache_dir, replace(state, content=scan))
    clock.lap("check")
    report(f"nothing changed: {state.files} files in {config.out_dir}")

    def make_site() -> Site:
        """Analyse again (from the cache) when a caller asks for the site."""
        fingerprints: dict[str, str] = {}
        corpus = load(replace(config, strict=False), scan, fingerprints)
        site, _keys, saved = _analyse_cached(corpus, config, state.code, fingerprints)
        saved()
        return site

    return BuildResult(problems=state.problems, files=state.files, changed=0,
                       out_dir=config.out_dir, timings=tuple(clock.timings), mode="unchanged",
                       make_site=make_site)


def _analyse_cached(corpus: Corpus, config: Config, code: str, fingerprints: Mapping[str, str]
                    ) -> tuple[Site, dict[str, str], Callable[[], None]]:
    """Analyse the corpus, reusing and then storing story analyses in the cache.

    Returns the site, the analysis keys and a function that waits until this run's
    clustering state is saved (it is written by a thread meanwhile: a few hundred MB for a
    large corpus).
    """
    from site_src.cluster_memo import FeatureMemo

    store = cache.AnalysisStore(config.cache_dir)
    memo = FeatureMemo(key_of=lambda article: fingerprints[article.id],
                       previous=cache.load_features(config.cache_dir, code))
    try:
        site, keys, made = analyse_with(
            corpus.articles, corpus.sources, config.jobs, store.get_many,
            lambda _id, members: cache.analysis_key(code, [fingerprints[a.id] for a in members]),
            memo)
        store.put_many(made, keep=keys.values())
    finally:
        store.close()
    latest = memo.latest
    if latest is None:
        return site, keys, lambda: None
    return site, keys, cache.in_background(
        lambda: cache.save_features(config.cache_dir, code, latest))


def _previous_index(config: Config, state: cache.State | None,
                    site_ok: bool) -> tuple[Path, Mapping[str, str]] | None:
    """Return the index to update and what it holds: the previous site's, else the cache's."""
    if site_ok and state is not None:
        return config.out_dir.resolve() / "search" / "whoosh", state.rows
    if state is not None:  # same code, but no previous site (e.g. a fresh CI runner)
        return cache.load_index(config.cache_dir)
    return None


def _index(site: Site, urls: Urls, index_dir: Path,
           previous: tuple[Path, Mapping[str, str]] | None, rows: Mapping[str, str]) -> None:
    """Update the previous Whoosh index in place (linked into the stage), or build one."""
    from site_src import rebuild, search

    if previous is not None and previous[0].is_dir():
        folder, old_rows = previous
        try:
            link_tree(folder, index_dir)
            changed, deleted = rebuild.search_changes(old_rows, rows)
            if changed or deleted:
                search.update_documents(index_dir, site, urls, changed, deleted)
            return
        except Exception:  # noqa: BLE001 - a damaged previous index: build a fresh one
            pass
    search.build_index(site, index_dir, urls)
