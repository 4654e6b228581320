#!/usr/bin/env python3
"""The command line: build, serve, check, import and search a news corpus site."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def make_parser() -> argparse.ArgumentParser:
    """Describe every sub-command and its flags."""
    parser = argparse.ArgumentParser(
        prog="build.py", description="Publish a multi-source news corpus as a static site."
    )
    sub = parser.add_subparsers(dest="command")

    def site_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", help="output folder (default _site)")
        p.add_argument("--base-url", help="path the site is served under, e.g. /my-repo/")
        p.add_argument("--site-url", help="absolute origin for feeds, e.g. https://me.github.io")
        p.add_argument("--content", help="corpus folder (default content)")
        p.add_argument("--strict", action="store_true", default=None,
                       help="fail when any content file is bad (after listing every problem)")
        p.add_argument("--jobs", type=int,
                       help="local worker processes for alignment and rendering (default: cores)")
        p.add_argument("--dask", metavar="ADDRESS",
                       help="run those stages on a running Dask cluster, e.g. tcp://host:8786")
        p.add_argument("--dask-local", type=int, metavar="N",
                       help="run them on a Dask LocalCluster of N processes started for the build")
        p.add_argument("--quiet", action="store_true", help="no progress output")

    site_flags(sub.add_parser("build", help="build the site into _site/ (the default)"))
    serve = sub.add_parser("serve", help="build, then serve the site on 127.0.0.1")
    site_flags(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any)")
    serve.add_argument("--no-watch", action="store_true",
                       help="serve without watching the sources for changes")
    check = sub.add_parser("check", help="validate the corpus and list every problem")
    check.add_argument("--content", help="corpus folder (default content)")
    imp = sub.add_parser("import", help="turn raw text files into content Markdown files")
    imp.add_argument("files", nargs="+", type=Path, help="raw .txt files")
    imp.add_argument("--source", help="outlet name, where the text does not say")
    imp.add_argument("--published", help="publication date, e.g. 2021-09-01 or ISO datetime")
    imp.add_argument("--url", help="original http(s) URL")
    imp.add_argument("--force", action="store_true", help="overwrite existing content files")
    imp.add_argument("--content", help="corpus folder (default content)")
    find = sub.add_parser("search", help="query the built site's Whoosh index")
    find.add_argument("query", help='Whoosh query, e.g. \'taliban AND "drone strike"\'')
    find.add_argument("--source", help="only this outlet (key)")
    find.add_argument("--story", help="only this story (id)")
    find.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    find.add_argument("--out", help="built site folder (default _site)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = make_parser().parse_args(argv)
    command = args.command or "build"
    from site_src.config import ConfigError

    try:
        if command in ("build", "serve"):
            return run_build(args, serve=command == "serve")
        if command == "check":
            return run_check(args)
        if command == "import":
            return run_import(args)
        return run_search(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _config(args: argparse.Namespace):  # noqa: ANN202 - Config, imported lazily
    """Load the settings with the command line's overrides."""
    from site_src.config import load_config

    return load_config(ROOT, **_overrides(args))


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    """Return the settings the command line overrides."""
    dask, dask_local = getattr(args, "dask", None), getattr(args, "dask_local", None)
    if dask and dask_local is None:  # one Dask choice on the command line replaces site.yml's
        dask_local = 0
    if dask_local and dask is None:
        dask = ""
    return dict(
        out_dir=getattr(args, "out", None),
        base_url=getattr(args, "base_url", None),
        site_url=getattr(args, "site_url", None),
        content_dir=getattr(args, "content", None),
        strict=getattr(args, "strict", None),
        jobs=getattr(args, "jobs", None),
        dask=dask,
        dask_local=dask_local,
        progress=False if getattr(args, "quiet", False) else None,
    )


def run_build(args: argparse.Namespace, serve: bool) -> int:
    """Build the site; with serve, then serve it until interrupted."""
    from site_src.output import OutputError
    from site_src.pipeline import BuildError, build

    config = _config(args)
    if serve:
        from site_src.watch import serve_and_watch

        return serve_and_watch(config, _overrides(args), args.host, args.port,
                               watch=not args.no_watch)
    say = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        result = build(config, report=say)
    except BuildError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"error: {error}; nothing was written", file=sys.stderr)
        return 1
    except OutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for problem in result.problems:
        print(f"{problem} (skipped)" if problem.severity == "error" else problem, file=sys.stderr)
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Validate the corpus; exit 1 when any file has an error."""
    from site_src.content import load_corpus

    config = _config(args)
    corpus = load_corpus(config.content_dir)
    for problem in corpus.problems:
        print(problem)
    errors = sum(1 for p in corpus.problems if p.severity == "error")
    print(f"{len(corpus.articles)} articles OK, {errors} error(s), "
          f"{len(corpus.problems) - errors} warning(s)")
    return 1 if errors else 0


def run_import(args: argparse.Namespace) -> int:
    """Import raw text files into the corpus folder."""
    from site_src.importer import ImportFailed, import_files

    config = _config(args)
    try:
        written = import_files(args.files, config.content_dir, force=args.force,
                               source=args.source, published=args.published, url=args.url)
    except ImportFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    """Query the built Whoosh index and print ranked results."""
    from site_src import search

    config = _config(args)
    index_dir = config.out_dir / "search" / "whoosh"
    if not index_dir.is_dir():
        print(f"error: no search index in {index_dir}; run `python build.py build` first",
              file=sys.stderr)
        return 1
    try:
        results = search.search(index_dir, args.query, source=args.source, story=args.story,
                                page_size=args.limit)
    except search.QueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(search.format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
