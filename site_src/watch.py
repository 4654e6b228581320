"""`build.py serve`: build, serve, watch the sources, rebuild incrementally, reload the browser.

Content, template and config changes rebuild in this process (the incremental state stays
warm). A change under site_src/ means the code changed: from then on every rebuild runs in a
fresh child process (`python -m site_src.watch <settings>`), so new code always builds with
new code. A failed rebuild keeps the last good site served and shows its errors in the page.

Quick preview: when only existing articles' files were modified, the preview first takes the
last analysed site, swaps in the re-parsed articles, re-analyses their stories (membership
kept as it was) and renders those articles' pages and story pages into the server's memory,
served at once; the exact incremental build follows and replaces them. Anything else (a new,
deleted or broken file, templates, settings, code) goes straight to the exact build. (This
module and serve.py do not shape the built site, so they are not part of the cache's code
version.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from pathlib import Path

import jinja2
import jinja2.bccache

from site_src import align, content, pages, serve, storyview
from site_src.config import CONFIG_FILE, Config, load_config
from site_src.model import Article, Site
from site_src.render import make_environment, render_page
from site_src.stores import paused_gc
from site_src.urls import Urls, output_file, path_for

PACKAGE = Path(__file__).resolve().parent
FAILED = "Build failed: still showing the last good site"
PROBLEMS = "Problems in the corpus (these files were skipped)"


def describe_error(error: BaseException) -> list[str]:
    """Turn a build failure into `file:line: message` lines."""
    from site_src.pipeline import BuildError

    if isinstance(error, BuildError):
        lines = [str(p) for p in error.problems if p.severity == "error"]
        return lines or [str(error)]
    filename, line = getattr(error, "filename", None), getattr(error, "lineno", None)
    if filename and line:  # Jinja and Python syntax errors say where they are
        message = getattr(error, "message", None) or getattr(error, "msg", None) or str(error)
        return [f"{filename}:{line}: {type(error).__name__}: {message}"]
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        return [f"{last.filename}:{last.lineno}: {type(error).__name__}: {error}"]
    return [f"{type(error).__name__}: {error}"]


def build_once(config: Config, keep: list | None = None) -> dict:
    """Build once; return {"ok", "changed", "messages", "title"} (never raises).

    The BuildResult is appended to keep when given.
    """
    from site_src.pipeline import build

    try:
        result = build(config)
    except Exception as error:  # noqa: BLE001 - any failure is shown in the page
        return {"ok": False, "changed": 0, "title": FAILED, "messages": describe_error(error)}
    if keep is not None:
        keep.append(result)
    errors = [str(p) for p in result.problems if p.severity == "error"]
    return {"ok": True, "changed": result.changed, "mode": result.mode,
            "title": PROBLEMS if errors else "", "messages": errors,
            "stages": " ".join(f"{stage} {seconds:.2f}s" for stage, seconds in result.timings)}


def settings_of(config: Config) -> dict[str, object]:
    """Return the config as JSON-safe overrides for load_config."""
    return {f.name: (str(v) if isinstance(v := getattr(config, f.name), Path) else v)
            for f in fields(config) if f.name != "root"}


def build_in_child(config: Config) -> dict:
    """Build in a fresh Python process (new code); return what build_once returned there."""
    done = subprocess.run(
        [sys.executable, "-m", "site_src.watch", str(config.root), json.dumps(settings_of(config))],
        cwd=PACKAGE.parent, capture_output=True, text=True, check=False,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return {"ok": False, "changed": 0, "title": FAILED,
            "messages": lines[-12:] or [f"the build process exited with {done.returncode}"]}


class Preview:
    """The preview: a server, its live status, and the rebuild loop."""

    def __init__(self, config: Config, overrides: dict[str, object], host: str, port: int,
                 say: Callable[[str], None] = print) -> None:
        self.config = config
        self.overrides = overrides
        self.say = say
        self.live = serve.LiveReload(token=f"{time.time_ns():x}")
        self.code_changed = False
        self.server = serve.start_server(config.out_dir, config.base_url, host, port, self.live)
        self.stop = threading.Event()
        self.result = None  # the last in-process BuildResult: its site feeds quick previews
        self.quick_site = None  # the site as the quick preview last changed it

    def warm_up(self) -> None:
        """Compute the last build's site in the background (for quick previews)."""
        result = self.result
        if result is not None:
            def work() -> None:
                """Touch the lazily computed site; say when quick previews are ready."""
                try:
                    _ = result.site
                except Exception as error:  # noqa: BLE001 - exact rebuilds still work
                    self.say(f"no quick previews: {'; '.join(describe_error(error))}")
                    return
                self.say("ready for quick previews")

            threading.Thread(target=work, daemon=True).start()

    def site(self):  # noqa: ANN201 - model.Site or None
        """Return the analysed site when it is ready, else None."""
        if self.quick_site is not None:
            return self.quick_site
        result = self.result
        if result is None or self.code_changed or "site" not in result.__dict__:
            return None
        return result.site

    def quick(self, paths: list[Path]) -> bool:
        """Show edited articles at once from the last site (the exact rebuild follows)."""
        site = self.site()
        if site is None:
            return False
        started = time.perf_counter()
        with paused_gc():  # a collection walking the whole site would delay the reload
            try:
                new_site, files = quick_pages(site, self.config, paths)
            except Exception:  # noqa: BLE001 - the exact rebuild will report any error
                return False
            if not files:
                return False
            self.quick_site = new_site
            self.live.set_overlay({**self.live.overlay, **files})
            status = self.live.status()
            self.live.publish(serve.Status(token=f"q{time.time_ns():x}", title=status.title,
                                           messages=status.messages))  # q: a quick preview
        self.say(f"quick preview of {len(files)} page(s) in {time.perf_counter() - started:.2f}s")
        return True

    @property
    def url(self) -> str:
        """The address the site is served at."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.config.base_url}"

    def rebuild(self, code: bool = False) -> dict:
        """Rebuild (in a child once code changed) and publish the outcome to the pages."""
        self.code_changed = self.code_changed or code
        started = time.perf_counter()
        try:
            self.config = load_config(self.config.root, **self.overrides)
        except Exception as error:  # noqa: BLE001 - a broken site.yml is shown in the page
            outcome = {"ok": False, "changed": 0, "title": FAILED,
                       "messages": describe_error(error)}
        else:
            kept: list = []
            if self.code_changed:
                outcome = build_in_child(self.config)
            else:
                outcome = build_once(self.config, kept)
            self.result = kept[0] if kept else None
        self.quick_site = None
        status = self.live.status()
        token = status.token
        if self.live.overlay or (
                outcome["ok"] and (outcome["changed"] or outcome.get("mode") != "unchanged")):
            token = f"{time.time_ns():x}"
            _forget_search(self.config.out_dir / "search" / "whoosh")
        self.live.set_overlay({})
        self.live.publish(serve.Status(token=token, title=outcome["title"],
                                       messages=tuple(outcome["messages"])))
        seconds = time.perf_counter() - started
        if outcome["ok"]:
            self.say(f"rebuilt in {seconds:.2f}s ({outcome['changed']} files changed; "
                     f"{outcome.get('stages', '')})")
        for message in outcome["messages"]:
            self.say(message)
        return outcome

    def watched(self) -> list[Path]:
        """Return the folders and files to watch."""
        paths = [self.config.content_dir, self.config.templates_dir, PACKAGE,
                 self.config.root / CONFIG_FILE]
        return [p for p in dict.fromkeys(paths) if p.exists()]

    def watch(self) -> None:
        """Rebuild after every settled batch of changes until stop is set."""
        import watchfiles

        ignored = (self.config.out_dir.resolve(), self.config.cache_dir.resolve())
        default = watchfiles.DefaultFilter()

        def wanted(change: watchfiles.Change, path: str) -> bool:
            """Skip the output, the cache and editor droppings."""
            resolved = Path(path).resolve()
            return default(change, path) and not any(resolved.is_relative_to(i) for i in ignored)

        for changes in watchfiles.watch(*self.watched(), watch_filter=wanted, debounce=1000,
                                        step=60, stop_event=self.stop, rust_timeout=500,
                                        raise_interrupt=False):
            code = any(_is_code(path) for _change, path in changes)
            if not code and all(change != watchfiles.Change.deleted for change, _ in changes):
                self.quick(sorted({Path(path) for _change, path in changes}))
            self.rebuild(code=code)
            self.warm_up()

    def close(self) -> None:
        """Stop watching and serving."""
        self.stop.set()
        self.live.close()
        self.server.shutdown()
        self.server.server_close()


def reparse(site: Site, config: Config, paths: list[Path]) -> dict[str, Article] | None:
    """Parse modified content files; None unless each is a valid, already known article."""
    known = {a.id: a for a in site.articles}
    declared, _problems = content.load_sources(config.content_dir)
    root = config.content_dir.resolve()
    found: dict[str, Article] = {}
    for path in paths:
        resolved = path.resolve()
        if path.suffix != ".md" or not resolved.is_relative_to(root):
            return None
        rel = resolved.relative_to(root).as_posix()
        try:
            raw = resolved.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None
        article, _problems = content.parse_article(raw, rel, sources=declared)
        if article is None or article.id not in known or known[article.id].path != article.path:
            return None
        found[article.id] = article
    return found


def quick_pages(site: Site, config: Config, paths: list[Path]) -> tuple[Site, dict[str, bytes]]:
    """Return the site with the edits and the re-rendered pages (empty when not possible)."""
    edited = reparse(site, config, paths)
    if not edited:
        return site, {}
    articles = tuple(edited.get(a.id, a) for a in site.articles)
    by_id = {a.id: a for a in articles}
    touched = {site.story_of[i] for i in edited if i in site.story_of}
    stories = tuple(
        replace(s, analysis=align.analyse_story([by_id[m] for m in s.member_ids]))
        if s.id in touched and len(s.member_ids) > 1 else s
        for s in site.stories
    )
    new_site = Site(articles=articles, sources=site.sources, stories=stories,
                    story_of=dict(site.story_of))
    urls = Urls(base_url=config.base_url, site_url=config.site_url)
    env = make_environment(config, urls, new_site)
    env.bytecode_cache = COMPILED  # the templates compiled by earlier previews
    shown = set(edited)
    for story_id in touched:
        shown.update(new_site.story(story_id).member_ids)
    files: dict[str, bytes] = {}
    for article_id in sorted(shown):
        article = by_id[article_id]
        files[output_file(path_for(article))] = pages._render_article(
            env, new_site, urls, article).encode("utf-8")
    for story_id in sorted(touched):
        story = new_site.story(story_id)
        if len(story.member_ids) > 1:
            files[output_file(path_for(story))] = render_page(
                env, "story.html", story=story,
                **storyview.story_context(story, new_site, urls)).encode("utf-8")
    return new_site, files


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory from one quick preview to the next (a template whose
    source changed is compiled again): compiling them is most of a small preview's time."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket when its template was compiled from the same source."""
        held = self.codes.get(bucket.key)
        if held is not None and held[0] == bucket.checksum:
            bucket.code = held[1]  # type: ignore[assignment]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep a freshly compiled template."""
        self.codes[bucket.key] = (bucket.checksum, bucket.code)


COMPILED = CompiledTemplates()


def _is_code(path: str) -> bool:
    """Tell whether a changed path is part of the package's code."""
    return Path(path).resolve().is_relative_to(PACKAGE)


def _forget_search(index_dir: Path) -> None:
    """Drop the search module's cached index handles (the folder was swapped)."""
    import importlib

    key = str(index_dir)
    for name in ("site_src.search", "site_src.search_index"):
        module = importlib.import_module(name)
        getattr(module, "_OPEN", {}).pop(key, None)
        cached = getattr(module, "_SEARCHERS", {}).pop(key, None)
        if cached is not None:
            cached[1].close()


def serve_and_watch(config: Config, overrides: dict[str, object], host: str, port: int,
                    watch: bool = True, say: Callable[[str], None] = print) -> int:
    """Serve config.out_dir, build, then rebuild on changes until interrupted; exit code."""
    from site_src.output import OutputError, check_output_dir

    try:  # never serve a folder this tool did not make (or the corpus itself)
        check_output_dir(config.out_dir, config.content_dir)
    except OutputError as error:
        say(f"error: {error}")
        return 1
    preview = Preview(config, overrides, host, port, say)
    say(f"Serving {config.out_dir} at {preview.url}")
    try:
        preview.rebuild()
        preview.warm_up()
        if watch:
            say("Watching " + ", ".join(str(p) for p in preview.watched()))
            preview.watch()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        say("Stopped.")
    finally:
        preview.close()
    return 0


def main(argv: Iterable[str]) -> int:
    """Child build: `python -m site_src.watch ROOT SETTINGS_JSON`; prints one JSON line."""
    root, settings = list(argv)
    config = load_config(Path(root), **json.loads(settings))
    print(json.dumps(build_once(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
