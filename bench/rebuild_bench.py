"""Rebuild benchmark: clean build, no-change rebuild, one-article edit, edit-to-reload in serve.

Run: `python bench/rebuild_bench.py --sizes 10000 37554 [--pelican PATH/TO/pelican]`

For each size it writes the first N AllSides articles (../shared/bench/allsides) as content
.md files into a work folder, snapshots the code (so edits to the checkout during a long run
cannot change the code version), then times, each in a fresh process as the CLI would run:
a clean build, a rebuild with nothing changed, a rebuild after one article's text changed,
and, inside a running preview server with a page's event stream connected, the time from
writing a file to that page receiving the server-sent `reload` event (three edits; the
first reload is the quick preview, the time to the exact rebuild's reload is reported too).
Peak memory: each build child's maximum RSS and the preview server's (VmHWM). Pelican
(installed separately, e.g. in a venv: `pip install pelican markdown`; found on PATH or in
/tmp/rb/pelvenv) renders the same articles in the same run; it rewrites everything on every
build, so its clean time is also its one-edit time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

PREVIEW_MODULES = ("serve.py", "watch.py")
PELICAN_VENV = Path("/tmp/rb/pelvenv/bin/pelican")  # where bench/run.py looks too
READY_TIMEOUT = 3600.0  # seconds the preview may take to build and warm up
EDIT_SENTENCE = "An editor added this sentence for the rebuild benchmark."
CHILD_BUILD = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from site_src.config import load_config
from site_src.pipeline import build
content, out, cache = map(Path, sys.argv[1:4])
config = load_config(Path.cwd(), content_dir=content, out_dir=out, cache_dir=cache,
                     progress=False)
result = build(config)
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": time.perf_counter() - started, "mode": result.mode,
                  "files": result.files, "changed": result.changed, "peak_mb": peak / 1024,
                  "stages": [[k, round(v, 2)] for k, v in result.timings]}))
"""
CHILD_SERVE = """
import sys
from pathlib import Path
from site_src.config import load_config
from site_src.watch import serve_and_watch
content, out, cache = map(Path, sys.argv[1:4])
overrides = dict(content_dir=content, out_dir=out, cache_dir=cache, progress=False)
config = load_config(Path.cwd(), **overrides)
serve_and_watch(config, overrides, "127.0.0.1", int(sys.argv[4]),
                say=lambda m: print(m, flush=True))
"""


def write_corpus(folder: Path, limit: int) -> int:
    """Write the first `limit` AllSides articles as content files; return how many."""
    import yaml
    from corpora import iter_allsides

    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for article in iter_allsides(limit):
        front = {"title": article.title, "source": article.source}
        if article.published:
            front["published"] = article.published.isoformat()
        if article.url:
            front["url"] = article.url
        head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10**6)
        (folder / f"{article.id}.md").write_text(f"---\n{head}---\n{article.text}\n", "utf-8")
        count += 1
    return count


def write_pelican(content: Path, folder: Path) -> None:
    """Write the same articles as Pelican Markdown files and a minimal settings file."""
    import yaml

    posts = folder / "content"
    posts.mkdir(parents=True, exist_ok=True)
    for path in sorted(content.glob("*.md")):
        _, front, body = path.read_text("utf-8").split("---\n", 2)
        meta = yaml.safe_load(front)
        lines = [f"Title: {meta['title']}", f"Slug: {path.stem}", f"Category: {meta['source']}"]
        if meta.get("published"):
            lines.append(f"Date: {str(meta['published'])[:19].replace('T', ' ')}")
        (posts / path.name).write_text("\n".join(lines) + "\n\n" + body, "utf-8")
    (folder / "pelicanconf.py").write_text(
        "SITENAME = 'bench'\nDEFAULT_DATE = (2020, 1, 1)\nTIMEZONE = 'UTC'\n"
        "FEED_ALL_ATOM = None\nCATEGORY_FEED_ATOM = None\nDEFAULT_PAGINATION = 50\n", "utf-8")


def run_child(code: Path, script: str, *args: str) -> dict:
    """Run a Python snippet in a fresh process in the code snapshot; return its JSON line."""
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=code, capture_output=True,
                          text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def pick_article(content: Path, out: Path) -> Path:
    """Return the content file of a member of a typical story (three members where possible)."""
    data = json.loads((out / "data" / "index.json").read_text("utf-8"))
    stories = [s for s in data.get("stories", []) if len(s.get("members", [])) > 1]
    stories.sort(key=lambda s: (abs(len(s["members"]) - 3), s["id"]))
    for story in stories:
        for member in story.get("members", []):
            name = member if isinstance(member, str) else member.get("id", "")
            if (content / f"{name}.md").exists():
                return content / f"{name}.md"
    return sorted(content.glob("*.md"))[0]


def append_sentence(path: Path, sentence: str) -> None:
    """Append a paragraph to a content file."""
    path.write_text(path.read_text("utf-8").rstrip("\n") + f"\n\n{sentence}\n", "utf-8")


def current_token(port: int) -> str:
    """Return the build token the home page carries."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("GET", "/")
    page = connection.getresponse().read().decode()
    connection.close()
    return re.search(r"__reload\.js\?v=(q?[0-9a-f]+)", page).group(1)


class EventStream:
    """A client connected to the preview's server-sent events, as an open page is."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=7200)
        self.connection.request("GET", f"/__events?v={token}")
        self.stream = self.connection.getresponse()
        self.stream.fp.readline()  # "retry: ..." : the server holds the stream open

    def wait_reload(self) -> tuple[str, float]:
        """Wait for the `reload` event; return its token and the time it came."""
        event = ""
        while True:
            line = self.stream.fp.readline().decode()
            if not line:
                raise RuntimeError("the event stream ended")
            if line.startswith("event: "):
                event = line[7:].strip()
            elif event == "reload" and line.startswith("data: "):
                at = time.perf_counter()
                self.connection.close()
                return line[6:].strip(), at


def wait_reload(port: int, token: str) -> tuple[str, float]:
    """Connect to the event stream with token; return the next reload's token and time."""
    return EventStream(port, token).wait_reload()


def fetch(port: int, path: str) -> str:
    """Return a page's text."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path)
    text = connection.getresponse().read().decode()
    connection.close()
    return text


def peak_rss_mb(pid: int) -> float:
    """Return a live process's peak resident memory (VmHWM) in MB, NaN when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text("utf-8")
    except OSError:
        return float("nan")
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else float("nan")


def measure_reload(code: Path, content: Path, out: Path, cache: Path, article: Path,
                   attempts: int = 3) -> dict:
    """Start the preview server; with a page's event stream connected, time a file write to
    the first `reload` event the page receives (the quick preview, checked to show the new
    text) and to the exact incremental rebuild's."""
    port = 18000 + os.getpid() % 1000
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-c", CHILD_SERVE, str(content), str(out),
                               str(cache), str(port)], cwd=code, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    report: dict = {"edit_to_reload_s": [], "edit_to_exact_rebuild_s": [], "shows_edit": [],
                    "log": []}
    stuck = threading.Timer(READY_TIMEOUT, server.kill)  # never wait for ever
    stuck.start()
    try:
        assert server.stdout is not None
        watching = warmed = False
        for line in server.stdout:  # the watcher and the quick-preview site must both be up
            report["log"].append(line.strip())
            watching = watching or line.startswith("Watching")
            warmed = warmed or line.startswith(("ready for quick", "no quick"))
            if watching and warmed:
                break
        stuck.cancel()
        if not (watching and warmed):
            raise RuntimeError("the preview never got ready: " + " | ".join(report["log"]))
        report["ready_s"] = time.perf_counter() - started
        time.sleep(2.0)
        for attempt in range(attempts):
            sentence = f"{EDIT_SENTENCE} (serve {attempt})"
            page = EventStream(port, current_token(port))
            written = time.perf_counter()
            append_sentence(article, sentence)
            token, at = page.wait_reload()
            report["edit_to_reload_s"].append(at - written)
            report["shows_edit"].append(sentence in fetch(port, f"/articles/{article.stem}/"))
            if token.startswith("q"):  # a quick preview: the exact rebuild follows
                token, at = wait_reload(port, token)
            report["edit_to_exact_rebuild_s"].append(at - written)
            time.sleep(2.0)
        report["peak_mb"] = peak_rss_mb(server.pid)
    finally:
        stuck.cancel()
        server.terminate()
        try:
            remaining, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            remaining = ""
        report["log"] += [line for line in (remaining or "").splitlines() if line.strip()]
    return report


MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - started, "exit": done.returncode,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "errors": done.stderr[-500:]}))
"""


def run_pelican(pelican: str, folder: Path) -> dict:
    """Build the Pelican copy from scratch; return seconds and its own peak memory."""
    shutil.rmtree(folder / "output", ignore_errors=True)
    return run_child(folder, MEASURE, pelican, str(folder / "content"), "-o",
                     str(folder / "output"), "-s", str(folder / "pelicanconf.py"), "-q")


def snapshot_code(target: Path) -> Path:
    """Copy build.py, site_src/ and templates/ so the run's code cannot change under it."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(ROOT / "build.py", target / "build.py")
    for name in ("site_src", "templates"):
        shutil.copytree(ROOT / name, target / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def preview_code(code: Path, target: Path) -> Path:
    """Return the snapshot with the checkout's preview modules (they do not key the cache)."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(code, target)
    for name in PREVIEW_MODULES:
        shutil.copy2(ROOT / "site_src" / name, target / "site_src" / name)
    return target


def bench_size(size: int, work: Path, pelican: str | None, code: Path) -> dict:
    """Run every measurement on one corpus size."""
    folder = work / str(size)
    content, out, cache = folder / "content", folder / "site", folder / ".cache"
    if not content.is_dir():
        print(f"[{size}] writing corpus", flush=True)
        write_corpus(content, size)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    report: dict = {"articles": len(list(content.glob("*.md")))}
    for step in ("clean", "no_change"):
        print(f"[{size}] {step} build", flush=True)
        report[step] = run_child(code, CHILD_BUILD, str(content), str(out), str(cache))
        print(f"[{size}] {step}: {report[step]}", flush=True)
    article = pick_article(content, out)
    append_sentence(article, EDIT_SENTENCE)
    print(f"[{size}] one-article edit ({article.name})", flush=True)
    report["one_edit"] = run_child(code, CHILD_BUILD, str(content), str(out), str(cache))
    report["one_edit"]["article"] = article.name
    print(f"[{size}] one_edit: {report['one_edit']}", flush=True)
    print(f"[{size}] edit-to-reload in serve", flush=True)
    report["serve"] = measure_reload(preview_code(code, work / "code-serve"), content, out, cache,
                                     article)
    print(f"[{size}] serve: {report['serve']}", flush=True)
    if pelican:
        write_pelican(content, folder / "pelican")
        print(f"[{size}] pelican", flush=True)
        report["pelican"] = run_pelican(pelican, folder / "pelican")
        print(f"[{size}] pelican: {report['pelican']}", flush=True)
    return report


def print_table(results: dict[int, dict]) -> None:
    """Print the results side by side (seconds; peak memory in MB)."""
    print(f"\n{'articles':>9} {'clean s':>8} {'no-change s':>11} {'one-edit s':>10} "
          f"{'edit->reload s':>18} {'edit->exact s':>16} {'peak MB clean':>13} "
          f"{'one-edit':>8} {'serve':>6} {'pelican s':>9} {'pelican MB':>10}")
    nan = float("nan")
    for _size, r in sorted(results.items()):
        pel = r.get("pelican", {})
        reload = ", ".join(f"{t:.2f}" for t in r["serve"]["edit_to_reload_s"])
        exact = ", ".join(f"{t:.1f}" for t in r["serve"]["edit_to_exact_rebuild_s"])
        print(f"{r['articles']:>9} {r['clean']['seconds']:>8.1f} "
              f"{r['no_change']['seconds']:>11.2f} {r['one_edit']['seconds']:>10.2f} "
              f"{reload:>18} {exact:>16} {r['clean']['peak_mb']:>13.0f} "
              f"{r['one_edit']['peak_mb']:>8.0f} {r['serve'].get('peak_mb', nan):>6.0f} "
              f"{pel.get('seconds', nan):>9.1f} {pel.get('peak_mb', nan):>10.0f}")
        print(f"{'':>9} one-edit stages: {r['one_edit']['stages']}")
        if pel:
            print(f"{'':>9} ratios: clean/pelican {r['clean']['seconds'] / pel['seconds']:.2f}, "
                  f"one-edit/pelican {r['one_edit']['seconds'] / pel['seconds']:.3f}, "
                  f"edit->reload/pelican "
                  f"{min(r['serve']['edit_to_reload_s']) / pel['seconds']:.4f}")
    print("Goals at 37,554: edit->reload <= 1 s, no-change <= 3 s, one-edit <= 5 s "
          "(Pelican rewrites everything, so its clean time is also its one-edit time).")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 37554])
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary folder)")
    parser.add_argument("--pelican", help="path to the pelican command (skipped when absent)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    from corpora import ALLSIDES_FILE

    if not ALLSIDES_FILE.exists():
        sys.exit(f"no benchmark data at {ALLSIDES_FILE}")
    work = args.work or Path(tempfile.mkdtemp(prefix="rebuild-bench-"))
    code = snapshot_code(work / "code")
    pelican = args.pelican or shutil.which("pelican") or (
        str(PELICAN_VENV) if PELICAN_VENV.exists() else None)
    results = {size: bench_size(size, work, pelican, code) for size in args.sizes}
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
