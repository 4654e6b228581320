"""Search benchmark: our Whoosh index + static export against Pagefind on the same pages.

    python bench/search_bench.py [--docs 10000] [--queries 30] [--no-analysis]

Renders N AllSides articles with our build (../shared/bench/allsides; benchmark use only),
then measures, side by side with Pagefind (`pip install 'pagefind[bin]'`, bench only) indexing
the same article and story pages: index build time, total index bytes, bytes fetched for the
first query and per later query (median; counted in Chromium, raw and gzip as a host serves
them), cold first-query time in Chromium, and p50/p95 of the Whoosh API (answer_api).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpora import ALLSIDES_FILE, load_allsides  # noqa: E402
from site_src import pipeline, search, search_export  # noqa: E402
from site_src.config import load_config  # noqa: E402
from site_src.model import Site  # noqa: E402
from site_src.pages import render_site  # noqa: E402
from site_src.urls import Urls  # noqa: E402

OUT = ROOT / "bench" / "out" / "search"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOWN = 10  # results whose titles/excerpts a results page loads

BENCH_PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script src="/static/search.js"></script><p>bench</p>"""

OURS_JS = """async (q) => {
  if (!window.ourIndex) window.ourIndex = new SiteSearch.Index(p =>
    fetch('/search/static/' + p).then(r => r.json()));
  const t = performance.now();
  const res = await SiteSearch.searchStatic(window.ourIndex, q, {});
  await Promise.all(res.hits.slice(0, SHOWN).map(h => window.ourIndex.document(h.doc)));
  return [res.total, performance.now() - t];
}""".replace("SHOWN", str(SHOWN))

PAGEFIND_JS = """async (q) => {
  const t = performance.now();
  if (!window.pf) { window.pf = await import('/pagefind/pagefind.js'); await window.pf.init(); }
  const res = await window.pf.search(q);
  await Promise.all(res.results.slice(0, SHOWN).map(r => r.data()));
  return [res.results.length, performance.now() - t];
}""".replace("SHOWN", str(SHOWN))


class _Quiet(SimpleHTTPRequestHandler):
    """A plain static server that does not log."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet."""


def make_queries(site: Site, count: int) -> list[str]:
    """Pick two-word queries from article titles (capitalised words, as readers type them)."""
    rng = random.Random(7)
    queries: list[str] = []
    while len(queries) < count:
        words = [w.lower() for w in re.findall(r"[A-Za-z]{4,}", rng.choice(site.articles).title)]
        if len(words) >= 2:
            queries.append(" ".join(rng.sample(words, 2)))
    return queries


def folder_bytes(folder: Path) -> tuple[int, int]:
    """Return the raw and gzip-compressed bytes of every file in a folder."""
    raw = packed = 0
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            raw += len(data)
            packed += len(gzip.compress(data, 6))
    return raw, packed


def render(articles: list, analyse: bool, site_dir: Path) -> Site:
    """Analyse (or not) and render the articles into site_dir with our build's templates."""
    config = load_config(ROOT, out_dir=site_dir, base_url="/", progress=False)
    started = time.perf_counter()
    if analyse:
        site = pipeline.analyse_corpus(articles, (), config.jobs)
    else:
        site = Site(articles=tuple(sorted(articles, key=lambda a: a.id)), sources=(), stories=())
        site = Site(site.articles, pipeline._complete_sources(site.articles, ()), (), {})
    files = render_site(site, config, Urls("/"), progress=False)
    for rel, data in files.items():
        target = site_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    shutil.copytree(ROOT / "templates" / "static", site_dir / "static", dirs_exist_ok=True)
    (site_dir / "bench.html").write_text(BENCH_PAGE, encoding="utf-8")
    print(f"rendered {len(files)} pages in {time.perf_counter() - started:.1f} s", flush=True)
    return site


def cpu_seconds() -> float:
    """Return the CPU seconds (user + system) of this process and its waited-for children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def build_ours(site: Site, site_dir: Path) -> float:
    """Build the Whoosh index and its static export; return seconds."""
    started = time.perf_counter()
    index_dir = site_dir / "search" / "whoosh"
    search.build_index(site, index_dir, Urls("/"))
    for rel, data in search_export.export_static(index_dir).items():
        target = site_dir / "search" / "static" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return time.perf_counter() - started


def build_pagefind(site_dir: Path) -> float:
    """Index the same article and story pages with Pagefind; return seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pagefind", "--site", str(site_dir),
                    "--glob", "{articles,stories}/**/*.html", "--output-subdir", "pagefind"],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def measure_browser(site_dir: Path, queries: list[str]) -> dict[str, dict]:
    """Run the query set in Chromium for both engines; count bytes fetched per query."""
    from playwright.sync_api import sync_playwright

    handler = functools.partial(_Quiet, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/bench.html"
    out: dict[str, dict] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, script in (("ours", OURS_JS), ("pagefind", PAGEFIND_JS)):
                context = browser.new_context()
                page = context.new_page()
                page.goto(url)
                fetched: list[str] = []
                page.on("requestfinished", lambda r, sink=fetched: sink.append(r.url))
                per_query, times = [], []
                for query in queries:
                    fetched.clear()
                    _, ms = page.evaluate(script, query)
                    page.wait_for_timeout(20)
                    files = [site_dir / u.split("/", 3)[3].split("?")[0] for u in fetched]
                    raw = sum(f.stat().st_size for f in files if f.is_file())
                    packed = sum(_served_size(f) for f in files if f.is_file())
                    per_query.append((raw, packed))
                    times.append(ms)
                out[name] = {"bytes": per_query, "ms": times}
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return out


@functools.cache
def _served_size(path: Path) -> int:
    """Bytes on the wire from a host that gzips text (Pagefind's files are pre-compressed)."""
    data = path.read_bytes()
    if path.suffix in (".json", ".js", ".html", ".css"):
        return len(gzip.compress(data, 6))
    return len(data)


def measure_api(index_dir: Path, queries: list[str]) -> dict[str, tuple[float, float]]:
    """Return p50/p95 ms of answer_api: uncached (cached answers, filter masks and decoded
    postings emptied before each query; searcher open), its CPU time (the thread's: what
    the load of a shared machine does not inflate) and repeated (the same queries again,
    answered from the cache)."""
    for query in queries:  # warm-up: open the searcher, load the facet columns
        search.answer_api(index_dir, {"q": query})
    cold, warm, cpu = [], [], []
    for _ in range(3):
        for query in queries:
            search.forget_answers()
            started, thread = time.perf_counter(), time.thread_time()
            search.answer_api(index_dir, {"q": query})
            cold.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - thread) * 1000)
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            search.answer_api(index_dir, {"q": query})
            warm.append((time.perf_counter() - started) * 1000)
    return {name: _percentiles(times)
            for name, times in (("cold", cold), ("warm", warm), ("cold_cpu", cpu))}


def _percentiles(times: list[float]) -> tuple[float, float]:
    """Return the median and 95th percentile of a list of times."""
    times = sorted(times)
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--no-analysis", action="store_true", help="skip story clustering")
    args = parser.parse_args()
    if not ALLSIDES_FILE.exists():
        sys.exit(f"benchmark data absent: {ALLSIDES_FILE}")
    site_dir = OUT / "site"
    shutil.rmtree(site_dir, ignore_errors=True)
    articles = load_allsides(args.docs)
    site = render(articles, not args.no_analysis, site_dir)
    queries = make_queries(site, args.queries)
    before = cpu_seconds()
    ours_build = build_ours(site, site_dir)
    middle = cpu_seconds()
    pf_build = build_pagefind(site_dir)
    ours_cpu, pf_cpu = middle - before, cpu_seconds() - middle
    ours_bytes = folder_bytes(site_dir / "search" / "static")
    whoosh_bytes = folder_bytes(site_dir / "search" / "whoosh")
    pf_bytes = folder_bytes(site_dir / "pagefind")
    browser = measure_browser(site_dir, queries)
    api = measure_api(site_dir / "search" / "whoosh", queries)
    p50, p95 = api["cold"]

    def later(name: str, which: int) -> float:
        return statistics.median(b[which] for b in browser[name]["bytes"][1:]) / 1024

    rows = [
        ("index build time (s)", f"{ours_build:.1f}", f"{pf_build:.1f}"),
        ("index build CPU time, user + sys (s)", f"{ours_cpu:.1f}", f"{pf_cpu:.1f}"),
        ("index bytes, raw (MB)", f"{ours_bytes[0] / 2**20:.1f} (+ whoosh "
         f"{whoosh_bytes[0] / 2**20:.1f})", f"{pf_bytes[0] / 2**20:.1f}"),
        ("index bytes, gzip (MB)", f"{ours_bytes[1] / 2**20:.1f}", f"{pf_bytes[1] / 2**20:.1f}"),
        ("first query, KB raw / served", *(
            f"{browser[n]['bytes'][0][0] / 1024:.0f} / {browser[n]['bytes'][0][1] / 1024:.0f}"
            for n in ("ours", "pagefind"))),
        ("later query median, KB raw / served", *(
            f"{later(n, 0):.0f} / {later(n, 1):.0f}" for n in ("ours", "pagefind"))),
        ("cold first query in Chromium (ms)", *(
            f"{browser[n]['ms'][0]:.0f}" for n in ("ours", "pagefind"))),
        ("later query median in Chromium (ms)", *(
            f"{statistics.median(browser[n]['ms'][1:]):.0f}" for n in ("ours", "pagefind"))),
        ("Whoosh API p50 / p95, uncached (ms)", f"{p50:.1f} / {p95:.1f}", "-"),
        ("Whoosh API p50 / p95, repeated (ms)", "{:.1f} / {:.1f}".format(*api["warm"]), "-"),
        ("Whoosh API CPU p50 / p95, uncached (ms)", "{:.1f} / {:.1f}".format(*api["cold_cpu"]),
         "-"),
    ]
    print(f"\n{len(site.articles)} articles, {len(site.stories)} stories, "
          f"{len(queries)} queries (e.g. {queries[:3]})")
    print(f"{'measure':40} {'ours (Whoosh export)':>28} {'Pagefind':>14}")
    for label, ours, theirs in rows:
        print(f"{label:40} {ours:>28} {theirs:>14}")
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    print(json.dumps({"build_s": [ours_build, pf_build], "build_cpu_s": [ours_cpu, pf_cpu],
                      "api_ms": api}))


if __name__ == "__main__":
    main()
