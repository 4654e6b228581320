"""The benchmark table: our clean build beside Pelican and Whoosh-only indexing, per size.

    python bench/run.py --corpus ../shared/bench/allsides --sizes 1000,10000,all
        [--jobs N] [--work DIR] [--pelican PATH] [--skip-pelican] [--results FILE]

For each size it writes the first N AllSides articles (Baly et al. 2020; publishers'
copyright, benchmark use only) as content files into the work folder (once: later runs reuse
them), then, each in a fresh process run from a snapshot of the code: our clean build (its
stage times; clustering and alignment timed apart by wrapping `cluster.find_stories` in the
child), Whoosh indexing the same articles alone (the stock Whoosh writer, one process, our
schema and analyser, timed from the loaded articles to the commit: the floor), our own
`build_index` on the same articles without stories (for reference) and Pelican rendering
them. Peak memory is the largest sampled sum of PSS over the build's process tree (the
processes' own maximum RSS is shown too). It prints the tables and the goal checks and
writes them to bench/RESULTS.md. Times depend on machine load: the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import (  # noqa: E402
    CHILD_BUILD,
    CHILD_WHOOSH,
    describe_machine,
    measure_site,
    median_bytes,
    peaks_by_stage,
    pick_story,
    run_measured,
    story_members,
)

STAGES = ("scan", "load", "cluster", "align", "render", "index", "export", "write", "save")
GOAL_PEAK_MB = 2048
GOAL_ARTICLE_BYTES = 30 * 1024
GOAL_STORY_BYTES = 250 * 1024
DEFAULT_PELICAN = Path("/tmp/rb/pelvenv/bin/pelican")

def parse_sizes(text: str) -> list[int | None]:
    """Parse "1000,10000,all" into limits (None = every article)."""
    return [None if part.strip() == "all" else int(part) for part in text.split(",") if part]


def prepare_content(work: Path, limit: int | None, source: Path) -> Path:
    """Write the first `limit` articles as content files once; reuse them on later runs."""
    import corpora
    from rebuild_bench import write_corpus

    folder = work / ("all" if limit is None else str(limit))
    marker, content = folder / "corpus.json", folder / "content"
    stamp = {"source": str(source.resolve()), "bytes": source.stat().st_size, "limit": limit}
    if marker.exists() and json.loads(marker.read_text("utf-8")).get("stamp") == stamp:
        return content
    for stale in (content, folder / "pelican"):  # the Pelican copy is made from the content
        shutil.rmtree(stale, ignore_errors=True)
    partial = folder / "content.partial"
    shutil.rmtree(partial, ignore_errors=True)
    corpora.ALLSIDES_FILE = source  # write_corpus reads the corpus named here
    count = write_corpus(partial, limit)
    partial.rename(content)
    marker.write_text(json.dumps({"stamp": stamp, "articles": count}), "utf-8")
    return content


def split_stages(report: dict) -> tuple[dict[str, float], list[tuple[str, float]],
                                       dict[str, float]]:
    """Return stage seconds with `analyse` split into cluster and align, the stage laps
    (name, monotonic end) and CPU seconds per stage (this process and its workers)."""
    stages: dict[str, float] = {}
    laps: list[tuple[str, float]] = []
    cpu: dict[str, float] = {}
    cluster = report.get("cluster") or {}
    used = report.get("cpu_start", 0.0)
    for (name, seconds), (_, at, *spent) in zip(report["timings"], report["laps"], strict=True):
        now = spent[0] if spent else used
        if name == "analyse" and cluster.get("end") is not None:
            stages["cluster"] = cluster["seconds"]
            stages["align"] = seconds - cluster["seconds"]
            laps += [("cluster", cluster["end"]), ("align", at)]
            cpu["cluster"] = cluster.get("cpu", 0.0)
            cpu["align"] = now - used - cpu["cluster"]
        else:
            stages[name] = stages.get(name, 0.0) + seconds
            laps.append((name, at))
            cpu[name] = cpu.get(name, 0.0) + now - used
        used = now
    return stages, laps, cpu


def bench_ours(code: Path, content: Path, folder: Path, jobs: int) -> dict:
    """Run our clean build in a fresh process; return stage times, memory and output sizes."""
    out, cache = folder / "site", folder / ".cache"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    run = run_measured([sys.executable, "-c", CHILD_BUILD, str(content), str(out), str(cache),
                        str(jobs)], cwd=code)
    report = run.report
    stages, laps, cpu = split_stages(report)
    site = measure_site(out)
    story = pick_story(site.story_pages, story_members(out))
    return {
        "seconds": report["seconds"],
        "stages": stages,
        "stage_cpu": cpu,
        "stage_peak_mb": peaks_by_stage(run.samples, report["start"], laps),
        "peak_mb": run.peak_pss_mb(),
        "rss_sum_mb": run.peak_rss_mb(),
        "process_mb": max(report["self_mb"], report["children_mb"]),
        "files": site.files,
        "bytes": site.total,
        "page_bytes": site.pages,
        "whoosh_bytes": site.whoosh,
        "static_bytes": site.static_search,
        "median_article_bytes": median_bytes(site.article_pages),
        "story": story,
    }


def bench_whoosh(code: Path, content: Path, folder: Path) -> dict:
    """Index the same articles with the stock Whoosh writer alone, and with our build_index."""
    run = run_measured([sys.executable, "-c", CHILD_WHOOSH, str(content),
                        str(folder / "whoosh-only")], cwd=code)
    return {**run.report, "peak_mb": run.peak_pss_mb()}


def bench_pelican(pelican: str, content: Path, folder: Path) -> dict:
    """Render the same articles with Pelican; return seconds, peak memory and output bytes."""
    from rebuild_bench import run_pelican, write_pelican

    target = folder / "pelican"
    if not (target / "pelicanconf.py").exists():
        write_pelican(content, target)
    report = run_pelican(pelican, target)
    if report.get("exit"):
        raise RuntimeError(f"pelican failed: {report.get('errors')}")
    output = target / "output"
    report["bytes"] = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    return report


def bench_size(limit: int | None, args: argparse.Namespace, code: Path,
               pelican: str | None) -> dict:
    """Measure one corpus size: our build, the Whoosh floor and Pelican."""
    label = "all" if limit is None else str(limit)
    say(f"[{label}] content files")
    content = prepare_content(args.work, limit, args.corpus / "articles.jsonl.gz")
    folder = content.parent
    row: dict = {"label": label, "articles": sum(1 for _ in content.glob("*.md"))}
    say(f"[{label}] our clean build ({row['articles']} articles, jobs={args.jobs})")
    row["ours"] = bench_ours(code, content, folder, args.jobs)
    say(f"[{label}] ours: {row['ours']['seconds']:.1f} s")
    say(f"[{label}] Whoosh alone")
    row["whoosh"] = bench_whoosh(code, content, folder)
    row["pelican"] = None
    if pelican:
        say(f"[{label}] Pelican")
        row["pelican"] = bench_pelican(pelican, content, folder)
    return row


def say(message: str) -> None:
    """Print a progress line."""
    print(message, file=sys.stderr, flush=True)


def growth_exponent(small: dict, large: dict) -> float | None:
    """Return the log-log slope of clean build time between two sizes."""
    if large["articles"] <= small["articles"] or small["ours"]["seconds"] <= 0:
        return None
    return (math.log(large["ours"]["seconds"] / small["ours"]["seconds"])
            / math.log(large["articles"] / small["articles"]))


def judge(name: str, value: float | None, limit: float, unit: str, note: str = "") -> dict:
    """Return one goal check: met or missed, and by how much (value vs limit, at most)."""
    if value is None:
        return {"goal": name, "limit": limit, "value": None, "met": None, "unit": unit,
                "verdict": f"not measured{note}"}
    met = value <= limit
    share = abs(value / limit - 1) * 100 if limit else 0.0
    verdict = f"met ({share:.0f}% under)" if met else f"missed by {share:.0f}%"
    return {"goal": name, "limit": limit, "value": value, "met": met, "unit": unit,
            "verdict": verdict + note}


def check_goals(rows: list[dict]) -> list[dict]:
    """Check the issue's goals on the largest size (the growth exponent from 10,000 to it)."""
    if not rows:
        return []
    rows = sorted(rows, key=lambda r: r["articles"])
    top = rows[-1]
    ours, floor, pelican = top["ours"], top["whoosh"], top.get("pelican")
    at = f" (at {top['articles']:,} articles)"
    base = next((r for r in rows if r["articles"] == 10000), None)
    exponent = growth_exponent(base, top) if base is not None and base is not top else None
    story = ours.get("story")
    return [
        judge("clean build / Whoosh-only indexing", ours["seconds"] / floor["whoosh_s"]
              if floor.get("whoosh_s") else None, 1.5, "x", at),
        judge("clean build / Pelican", ours["seconds"] / pelican["seconds"]
              if pelican else None, 1.5, "x", at if pelican else " (no Pelican)"),
        judge("peak memory", ours["peak_mb"], GOAL_PEAK_MB, "MB", at),
        judge("growth exponent 10k -> largest", exponent, 1.1, "",
              f" (10,000 -> {top['articles']:,})" if exponent is not None
              else " (needs 10000 and a larger size)"),
        judge("median article page", ours["median_article_bytes"] / 1024,
              GOAL_ARTICLE_BYTES / 1024, "KB", at),
        judge("story page with ~10 members", story[2] / 1024 if story else None,
              GOAL_STORY_BYTES / 1024, "KB",
              f" (story {story[0]}, {story[1]} members)" if story else " (no stories)"),
    ]


def _num(value: float | None, digits: int = 1) -> str:
    """Format a number or a dash."""
    return "–" if value is None else f"{value:,.{digits}f}"


def format_results(rows: list[dict], machine: dict, command: str, when: str) -> str:
    """Return the whole report as Markdown: machine, per-size tables, peers, goals."""
    rows = sorted(rows, key=lambda r: r["articles"])
    lines = [
        "# Benchmark results", "",
        f"`{command}`", "",
        f"{when}; {machine['cores']} cores, {machine['memory_gb']} GB memory, Python "
        f"{machine['python']}, {machine['platform']}; load average {machine.get('load')} at "
        f"start, {machine.get('load_end')} at end (wall times inflate when others use the "
        "cores).", "",
        "## Our clean build, seconds per stage", "",
        "| articles | " + " | ".join(STAGES) + " | total s | articles/s | growth exponent | "
        "peak MB | max process RSS MB | output MB | files |",
        "|" + " --- |" * (len(STAGES) + 8),
    ]
    for before, r in zip([None, *rows], rows, strict=False):
        o = r["ours"]
        lines.append(
            f"| {r['articles']:,} | " + " | ".join(_num(o["stages"].get(s)) for s in STAGES)
            + f" | {_num(o['seconds'])} | {_num(r['articles'] / o['seconds'])} | "
            f"{_num(growth_exponent(before, r) if before else None, 2)} | "
            f"{_num(o['peak_mb'], 0)} | {_num(o['process_mb'], 0)} | "
            f"{_num(o['bytes'] / 2**20)} | {o['files']:,} |")
    lines += ["", "CPU seconds per stage (the build process and its worker processes):", "",
              "| articles | " + " | ".join(STAGES) + " | CPU ms per article |",
              "|" + " --- |" * (len(STAGES) + 2)]
    for r in rows:
        cpu = r["ours"].get("stage_cpu", {})
        lines.append(f"| {r['articles']:,} | " + " | ".join(_num(cpu.get(s)) for s in STAGES)
                     + f" | {_num(sum(cpu.values()) * 1000 / r['articles'], 2)} |")
    lines += ["", "Peak MB = largest sampled sum of PSS over the build's process tree (every "
              f"{0.25} s); max process RSS = the largest single process's ru_maxrss. Total s "
              "runs from the child's start (imports included), so it exceeds the stage sum. "
              "Growth exponent: log-log slope of total time from the size above.",
              "", "## Peak memory (MB, tree PSS) during each stage", "",
              "| articles | " + " | ".join(STAGES) + " |", "|" + " --- |" * (len(STAGES) + 1)]
    for r in rows:
        peaks = r["ours"]["stage_peak_mb"]
        lines.append(f"| {r['articles']:,} | "
                     + " | ".join(_num(peaks.get(s), 0) for s in STAGES) + " |")
    lines += ["", "## Beside the peers, same articles, same run", "",
              "| articles | ours s | Whoosh-only s | ours / Whoosh | our build_index alone s | "
              "Pelican s | ours / Pelican | Pelican peak MB | ours MB out | Pelican MB out | "
              "median article page KB | ~10-member story page KB |",
              "|" + " --- |" * 12]
    for r in rows:
        o, w, p = r["ours"], r["whoosh"], r.get("pelican")
        story = o.get("story")
        lines.append(
            f"| {r['articles']:,} | {_num(o['seconds'])} | {_num(w['whoosh_s'])} | "
            f"{_num(o['seconds'] / w['whoosh_s'], 2)} | {_num(w['ours_s'])} | "
            f"{_num(p['seconds'] if p else None)} | "
            f"{_num(o['seconds'] / p['seconds'] if p else None, 2)} | "
            f"{_num(p['peak_mb'] if p else None, 0)} | {_num(o['bytes'] / 2**20)} | "
            f"{_num(p['bytes'] / 2**20 if p else None)} | "
            f"{_num(o['median_article_bytes'] / 1024)} | "
            + (f"{_num(story[2] / 1024)} ({story[1]} members)" if story else "–") + " |")
    lines += ["", "Whoosh-only: the stock Whoosh writer (one process, limitmb=256, our schema "
              "and analyser) adding the articles' index rows and committing, timed from the "
              "loaded articles (parsing the files excluded). Our build_index alone: the same "
              "articles, no stories, our two-segment writer and static-export preparation.",
              "", "## Goals", "", "| goal | limit | measured | verdict |",
              "| --- | --- | --- | --- |"]
    for g in check_goals(rows):
        unit = g["unit"]
        digits = 0 if unit == "MB" else (1 if unit == "KB" else 2)
        lines.append(f"| {g['goal']} | {_num(g['limit'], digits)} {unit} | "
                     f"{_num(g['value'], digits)} {unit if g['value'] is not None else ''} | "
                     f"{g['verdict']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the benchmark over every size, print the tables and write RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/bench/allsides")
    parser.add_argument("--sizes", default="1000,10000,all")
    parser.add_argument("--jobs", type=int, default=None, help="build jobs (default: cores)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-run",
                        help="work folder, reused between runs (content files are kept)")
    parser.add_argument("--pelican", help="the pelican command (default: on PATH or "
                        f"{DEFAULT_PELICAN})")
    parser.add_argument("--skip-pelican", action="store_true")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    if not (args.corpus / "articles.jsonl.gz").exists():
        print(f"skipped: no benchmark corpus at {args.corpus}/articles.jsonl.gz")
        return 0
    machine = describe_machine()
    args.jobs = args.jobs or int(machine["cores"])
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    pelican = None
    if not args.skip_pelican:
        pelican = args.pelican or shutil.which("pelican") or (
            str(DEFAULT_PELICAN) if DEFAULT_PELICAN.exists() else None)
        if pelican is not None and shutil.which(pelican) is None:
            say(f"{pelican} is not an executable: Pelican skipped")
            pelican = None
        if pelican is None:
            say("Pelican not found (--pelican PATH): its column stays empty")
    from rebuild_bench import snapshot_code

    code = snapshot_code(args.work / "code")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [bench_size(limit, args, code, pelican) for limit in parse_sizes(args.sizes)]
    machine["load_end"] = describe_machine()["load"]
    command = "python bench/run.py " + shlex.join(sys.argv[1:])
    text = format_results(rows, machine, command, when)
    print(text)
    args.results.write_text(text, "utf-8")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
