"""Analysis speed on AllSides: story clustering plus per-story alignment at growing sizes.

Data: ../shared/bench/allsides/articles.jsonl.gz (Baly et al. 2020; publishers' copyright,
benchmark use only). The first N articles of the file (ids are random, so a random sample).
Each size runs in a fresh subprocess; printed per size: clustering and alignment seconds,
the child's peak memory (ru_maxrss), stories found, and the growth exponent (log-log slope of
the analysis time between consecutive sizes). Goal for all 37,554 articles on 2 cores:
analysis <= 5 min, peak memory <= 3 GB, growth exponent <= 1.15.

Run: python bench/analysis_speed.py [--sizes 1000,10000,all]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpora  # noqa: E402


def measure_once(size: int | None) -> dict[str, object]:
    """Load, cluster and align `size` articles in this process; return the measurements."""
    from site_src.cluster import find_stories

    articles = corpora.load_allsides(size)
    by_id = {a.id: a for a in articles}
    start = time.perf_counter()
    stories = find_stories(articles)
    cluster_seconds = time.perf_counter() - start
    multi = [s for s in stories if len(s.member_ids) > 1]
    align_seconds: float | None = None
    align_note = ""
    try:
        from site_src.align import analyse_story
    except ImportError as error:
        align_note = f"align not available ({error}); clustering timed alone"
    else:
        start = time.perf_counter()
        try:
            for story in multi:
                analyse_story([by_id[m] for m in story.member_ids])
        except Exception as error:  # align is developed in parallel: report, do not crash
            align_note = f"align failed ({type(error).__name__}: {error}); clustering timed alone"
        else:
            align_seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "articles": len(articles),
        "stories": len(stories),
        "multi": len(multi),
        "largest": max((len(s.member_ids) for s in stories), default=0),
        "cluster_s": cluster_seconds,
        "align_s": align_seconds,
        "peak_mb": peak_kib / 1024.0,
        "note": align_note,
    }


def run_child(size: int | None) -> dict[str, object]:
    """Run one size in a fresh interpreter and return its measurements."""
    arg = "all" if size is None else str(size)
    done = subprocess.run(
        [sys.executable, __file__, "--child", arg], capture_output=True, text=True, cwd=ROOT
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
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not corpora.have_shared(corpora.ALLSIDES_FILE):
        print("skipped: ../shared/bench/allsides is absent")
        return 0
    if args.child:
        size = None if args.child == "all" else int(args.child)
        print(json.dumps(measure_once(size)))
        return 0
    print(f"{'articles':>9} {'cluster s':>10} {'align s':>9} {'total s':>8} {'peak MB':>8} "
          f"{'stories':>8} {'2+':>6} {'largest':>7} {'exponent':>8}")
    previous: tuple[int, float] | None = None
    notes = set()
    for size in parse_sizes(args.sizes):
        row = run_child(size)
        total = row["cluster_s"] + (row["align_s"] or 0.0)
        exponent = ""
        if previous is not None and row["articles"] > previous[0]:
            slope = math.log(total / previous[1]) / math.log(row["articles"] / previous[0])
            exponent = f"{slope:.2f}"
        align = "n/a" if row["align_s"] is None else f"{row['align_s']:.1f}"
        print(f"{row['articles']:>9} {row['cluster_s']:>10.1f} {align:>9} {total:>8.1f} "
              f"{row['peak_mb']:>8.0f} {row['stories']:>8} {row['multi']:>6} "
              f"{row['largest']:>7} {exponent:>8}", flush=True)
        previous = (int(row["articles"]), total)
        if row["note"]:
            notes.add(str(row["note"]))
    for note in sorted(notes):
        print("note:", note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
