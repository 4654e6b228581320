"""The build: load -> analyse -> render -> index -> write. Analysis ends before rendering."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from site_src import align, cluster, content, search, search_export
from site_src.config import Config
from site_src.model import Article, Corpus, Problem, Site, Source
from site_src.output import check_output_dir, staged_output, write_files
from site_src.pages import render_site
from site_src.urls import Urls

# Below this many multi-member stories, process start-up costs more than it saves.
PARALLEL_MIN_STORIES = 16


class BuildError(RuntimeError):
    """The build stopped; `problems` lists every problem found in the corpus."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the site, the corpus problems, files written and stage timings."""

    site: Site
    problems: tuple[Problem, ...]
    files: int
    changed: int
    out_dir: Path
    timings: tuple[tuple[str, float], ...]


def load(config: Config) -> Corpus:
    """Load and validate the corpus; in strict mode any error stops the build."""
    corpus = content.load_corpus(config.content_dir)
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
    articles = tuple(sorted(articles, key=lambda a: a.id))
    by_id = {a.id: a for a in articles}
    stories = cluster.find_stories(articles)
    groups = [[by_id[i] for i in s.member_ids] for s in stories if len(s.member_ids) > 1]
    analyses = iter(_map(align.analyse_story, groups, jobs))
    analysed = tuple(
        replace(s, analysis=next(analyses)) if len(s.member_ids) > 1 else s for s in stories
    )
    story_of = {member: s.id for s in analysed for member in s.member_ids}
    return Site(
        articles=articles,
        sources=_complete_sources(articles, sources),
        stories=analysed,
        story_of=story_of,
    )


def _map(function: Callable, items: list, jobs: int) -> Iterable:
    """Map in worker processes when it pays, else in this process; order is kept."""
    if jobs <= 1 or len(items) < PARALLEL_MIN_STORIES:
        return map(function, items)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(function, items, chunksize=max(1, len(items) // (jobs * 8))))


def _complete_sources(articles: Sequence[Article], sources: Sequence[Source]) -> tuple[Source, ...]:
    """Return the outlets that have articles, sorted by key; unknown keys get a plain entry."""
    known = {s.key: s for s in sources}
    keys = sorted({a.source for a in articles})
    return tuple(known.get(k, Source(key=k, name=k)) for k in keys)


def build(config: Config, report: Callable[[str], None] = lambda _: None) -> BuildResult:
    """Run the whole build and swap the finished site into config.out_dir."""
    check_output_dir(config.out_dir, config.content_dir)
    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings.append((stage, now - clock))
        clock = now

    corpus = load(config)
    lap("load")
    site = analyse_corpus(corpus.articles, corpus.sources, config.jobs)
    lap("analyse")
    urls = Urls(base_url=config.base_url, site_url=config.site_url)
    files = render_site(site, config, urls, progress=config.progress)
    lap("render")
    with staged_output(config.out_dir) as stage:
        index_dir = stage / "search" / "whoosh"
        search.build_index(site, index_dir, urls)
        lap("index")
        exported = search_export.export_static(index_dir)
        files.update({f"search/static/{rel}": data for rel, data in exported.items()})
        lap("export")
        changed = write_files(stage, files, previous=config.out_dir)
        lap("write")
    report(f"built {len(files)} files ({changed} changed) in {config.out_dir}")
    return BuildResult(
        site=site,
        problems=corpus.problems,
        files=len(files),
        changed=changed,
        out_dir=config.out_dir,
        timings=tuple(timings),
    )

