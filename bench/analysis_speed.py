"""Analysis speed on AllSides: story clustering plus per-story alignment at growing sizes.

Data: ../shared/bench/allsides/articles.jsonl.gz (Baly et al. 2020; publishers' copyright,
benchmark use only). The first N articles of the file (ids are random, so a random sample).
Each size runs in a fresh subprocess; clustering runs in it, alignment of every multi-member
story in `--jobs` worker processes (default 2, as `build.py` does with jobs=2). Printed per
size: wall and CPU seconds of clustering and alignment, peak memory (ru_maxrss) of the
process and of the largest worker, stories found, and the growth exponent (log-log slope of
the analysis wall time between consecutive sizes). The machine's load average is printed,
since wall time on a shared machine inflates with others' work. Goal for all 37,554
articles on 2 cores: analysis <= 5 min, peak memory <= 3 GB, growth exponent <= 1.15.

Run: python bench/analysis_speed.py [--sizes 1000,10000,all] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpora  # noqa: E402


def measure_once(size: int | None, jobs: int) -> dict[str, object]:
    """Load, cluster and align `size` articles in this process; return the measurements."""
    from site_src.cluster import find_stories

    articles = corpora.load_allsides(size)
    by_id = {a.id: a for a in articles}
    start, cpu = time.perf_counter(), time.process_time()
    stories = find_stories(articles)
    cluster_seconds, cluster_cpu = time.perf_counter() - start, time.process_time() - cpu
    cluster_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    multi = [s for s in stories if len(s.member_ids) > 1]
    align_seconds: float | None = None
    align_cpu = 0.0
    align_note = ""
    try:
        from site_src.align import analyse_story
    except ImportError as error:
        align_note = f"align not available ({error}); clustering timed alone"
    else:
        groups = [[by_id[m] for m in story.member_ids] for story in multi]
        start, cpu = time.perf_counter(), time.process_time()
        try:
            align_all(analyse_story, groups, jobs)
        except Exception as error:  # align is developed in parallel: report, do not crash
            align_note = f"align failed ({type(error).__name__}: {error}); clustering timed alone"
        else:
            align_seconds = time.perf_counter() - start
            workers = resource.getrusage(resource.RUSAGE_CHILDREN)
            align_cpu = time.process_time() - cpu + workers.ru_utime + workers.ru_stime
    return {
        "articles": len(articles),
        "stories": len(stories),
        "multi": len(multi),
        "largest": max((len(s.member_ids) for s in stories), default=0),
        "cluster_s": cluster_seconds,
        "cluster_cpu": cluster_cpu,
        "align_s": align_seconds,
        "align_cpu": align_cpu,
        "cluster_peak_mb": cluster_peak / 1024.0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
        "note": align_note,
    }


def align_all(analyse, groups: list, jobs: int) -> None:
    """Align every multi-member story, in `jobs` worker processes like the build does."""
    if jobs <= 1:
        for members in groups:
            analyse(members)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for _ in pool.map(analyse, groups, chunksize=max(1, len(groups) // (jobs * 8))):
            pass


def run_child(size: int | None, jobs: int) -> dict[str, object]:
    """Run one size in a fresh interpreter and return its measurements."""
    arg = "all" if size is None else str(size)
    done = subprocess.run(
        [sys.executable, __file__, "--child", arg, "--jobs", str(jobs)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"size {arg} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_sizes(text: str) -> list[int | None]:
    """Parse "1000,10000,all" into sizes (None = all)."""
    return [None if part.strip() == "all" else int(part) for part in text.split(",")]


def main() -> int:
    """Run every size in a child process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,all")
    parser.add_argument("--jobs", type=int, default=2,
                        help="worker processes for alignment (the build's --jobs; default 2)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not corpora.have_shared(corpora.ALLSIDES_FILE):
        print("skipped: ../shared/bench/allsides is absent")
        return 0
    if args.child:
        size = None if args.child == "all" else int(args.child)
        print(json.dumps(measure_once(size, args.jobs)))
        return 0
    print(f"clustering in one process; alignment in {args.jobs} worker process(es) as the build "
          f"does with jobs={args.jobs}; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start (wall seconds inflate when others use the cores)")
    print(f"{'articles':>9} {'cluster s':>10} {'(cpu)':>7} {'align s':>8} {'(cpu)':>7} "
          f"{'total s':>8} {'peak MB':>8} {'(clus.)':>8} {'(worker)':>8} {'stories':>8} "
          f"{'2+':>6} {'largest':>7} {'exponent':>8}")
    previous: tuple[int, float] | None = None
    notes = set()
    for size in parse_sizes(args.sizes):
        row = run_child(size, args.jobs)
        total = row["cluster_s"] + (row["align_s"] or 0.0)
        exponent = ""
        if previous is not None and row["articles"] > previous[0]:
            slope = math.log(total / previous[1]) / math.log(row["articles"] / previous[0])
            exponent = f"{slope:.2f}"
        align = "n/a" if row["align_s"] is None else f"{row['align_s']:.1f}"
        print(f"{row['articles']:>9} {row['cluster_s']:>10.1f} {row['cluster_cpu']:>7.1f} "
              f"{align:>8} {row['align_cpu']:>7.1f} {total:>8.1f} {row['peak_mb']:>8.0f} "
              f"{row['cluster_peak_mb']:>8.0f} {row['worker_peak_mb']:>8.0f} "
              f"{row['stories']:>8} {row['multi']:>6} {row['largest']:>7} {exponent:>8}",
              flush=True)
        previous = (int(row["articles"]), total)
        if row["note"]:
            notes.add(str(row["note"]))
    print(f"load average {os.getloadavg()[0]:.1f} at end; peak MB = this process (clustering and "
          "the parent of the workers), (clus.) = at the end of clustering, (worker) = largest "
          "alignment worker; exponent = log-log slope of total wall time between sizes")
    for note in sorted(notes):
        print("note:", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
