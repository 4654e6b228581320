"""Shared benchmark helpers: run a child process while sampling its process tree's memory,
measure a built site on disk, and describe the machine.

Memory of a process tree is sampled from /proc (Linux; stdlib only): the sum over the child
and all its descendants of RSS (counts pages shared after fork once per process, so it
overstates) and of PSS (shared pages split between their sharers: the memory the tree
really holds). The child's own `ru_maxrss` (and its children's) is exact but per process.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
SAMPLE_SECONDS = 0.25
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# Run by bench/run.py in a fresh interpreter in a snapshot of the code: a clean build with
# stage laps (monotonic time, CPU seconds) and clustering timed apart from alignment.
CHILD_BUILD = """
import json, resource, sys, time
started = time.monotonic()
from pathlib import Path
from site_src import cluster, pipeline
from site_src.config import load_config
laps, found = [], {"seconds": 0.0, "end": None, "cpu": 0.0}
plain_lap, plain_find = pipeline._Clock.lap, cluster.find_stories
def cpu():
    own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                       resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
def lap(self, stage):
    plain_lap(self, stage)
    laps.append([stage, time.monotonic(), cpu()])
def find_stories(*args, **kwargs):
    begin, used = time.perf_counter(), cpu()
    try:
        return plain_find(*args, **kwargs)
    finally:
        found["seconds"] += time.perf_counter() - begin
        found["cpu"] += cpu() - used
        found["end"] = time.monotonic()
pipeline._Clock.lap, cluster.find_stories = lap, find_stories
cpu_start = cpu()
content, out, cache = map(Path, sys.argv[1:4])
config = load_config(Path.cwd(), content_dir=content, out_dir=out, cache_dir=cache,
                     progress=False, jobs=int(sys.argv[4]))
result = pipeline.build(config)
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": time.monotonic() - started, "start": started, "mode": result.mode,
                  "files": result.files, "timings": result.timings, "laps": laps,
                  "cluster": found, "cpu_start": cpu_start, "self_mb": own / 1024,
                  "children_mb": kids / 1024}))
"""

# Whoosh alone on the same articles: the stock writer, then our build_index (no stories).
CHILD_WHOOSH = """
import json, shutil, sys, time
from pathlib import Path
from whoosh import index
from site_src import content
from site_src.model import Site
from site_src.search_index import build_index, document_rows, make_schema
from site_src.urls import Urls
corpus = content.load_corpus(Path(sys.argv[1]))
work = Path(sys.argv[2])
site = Site(articles=tuple(sorted(corpus.articles, key=lambda a: a.id)),
            sources=corpus.sources, stories=())
urls = Urls()
def size(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
stock, ours = work / "stock", work / "ours"
shutil.rmtree(work, ignore_errors=True)
stock.mkdir(parents=True)
begin = time.perf_counter()
ix = index.create_in(str(stock), make_schema())
writer = ix.writer(limitmb=256)
for row in document_rows(site, urls):
    writer.add_document(**{k: v for k, v in row.items() if v is not None})
writer.commit()
stock_s = time.perf_counter() - begin
begin = time.perf_counter()
build_index(site, ours, urls)
ours_s = time.perf_counter() - begin
print(json.dumps({"articles": len(site.articles), "whoosh_s": stock_s, "whoosh_bytes": size(stock),
                  "ours_s": ours_s, "ours_bytes": size(ours)}))
shutil.rmtree(work, ignore_errors=True)
"""


@dataclass
class TreeSample:
    """One look at a process tree: when (monotonic seconds), processes, RSS and PSS bytes."""

    at: float
    processes: int
    rss: int
    pss: int


@dataclass
class ChildRun:
    """What a measured child process printed (its last JSON line) and the memory samples."""

    report: dict
    seconds: float
    samples: list[TreeSample] = field(default_factory=list)

    def peak_pss_mb(self) -> float:
        """Return the largest sampled PSS sum of the tree, in MiB."""
        return max((s.pss for s in self.samples), default=0) / 2**20

    def peak_rss_mb(self) -> float:
        """Return the largest sampled RSS sum of the tree, in MiB."""
        return max((s.rss for s in self.samples), default=0) / 2**20


def list_descendants(root: int) -> list[int]:
    """Return root and every live descendant process id (from /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return sorted(found)


def read_memory(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) bytes of one process; (0, 0) when it is gone."""
    try:
        rss = int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0, 0
    pss = 0
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError):
        pss = rss
    return rss, pss


def sample_tree(root: int) -> TreeSample:
    """Sum the memory of a process and its descendants now."""
    pids = list_descendants(root)
    pairs = [read_memory(pid) for pid in pids]
    return TreeSample(time.monotonic(), len(pids), sum(r for r, _ in pairs),
                      sum(p for _, p in pairs))


def run_measured(args: list[str], cwd: Path, env: dict | None = None,
                 interval: float = SAMPLE_SECONDS) -> ChildRun:
    """Run a command, sampling its process tree's memory; return its last JSON line."""
    can_sample = (PROC / "self" / "statm").exists()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        child = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, text=True,
                                 env={**os.environ, **(env or {})})
        samples: list[TreeSample] = []
        while child.poll() is None:
            if can_sample:
                samples.append(sample_tree(child.pid))
            time.sleep(interval)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        if child.returncode or not lines:
            raise RuntimeError(f"{args[:3]} failed ({child.returncode}): {err.read()[-3000:]}")
    return ChildRun(json.loads(lines[-1]), seconds, samples)


def peaks_by_stage(samples: list[TreeSample], start: float,
                   laps: list[tuple[str, float]]) -> dict[str, float | None]:
    """Return the peak sampled PSS (MiB) of the tree during each stage.

    `laps` are (stage, monotonic time the stage ended), in order; a stage runs from the
    previous lap (or start) to its own. None when no sample fell inside (a short stage).
    """
    peaks: dict[str, float | None] = {}
    begin = start
    for stage, end in laps:
        inside = [s.pss for s in samples if begin <= s.at <= end]
        peaks[stage] = max(inside) / 2**20 if inside else None
        begin = end
    return peaks


@dataclass(frozen=True)
class SiteSize:
    """Bytes of a built site on disk, in total and by kind of file."""

    files: int
    total: int
    pages: int
    whoosh: int
    static_search: int
    article_pages: tuple[int, ...]
    story_pages: dict[str, int]


def measure_site(out: Path) -> SiteSize:
    """Walk a built site and add up its file sizes (hard-linked files counted once)."""
    seen: set[tuple[int, int]] = set()
    total = files = whoosh = static = 0
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        info = path.stat()
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        files += 1
        total += info.st_size
        rel = path.relative_to(out).as_posix()
        if rel.startswith("search/whoosh/"):
            whoosh += info.st_size
        elif rel.startswith("search/static/"):
            static += info.st_size
    articles = tuple(sorted(p.stat().st_size for p in out.glob("articles/*/index.html")))
    stories = {p.parent.name: p.stat().st_size for p in out.glob("stories/*/index.html")}
    return SiteSize(files, total, total - whoosh - static, whoosh, static, articles, stories)


def pick_story(sizes: dict[str, int], members: dict[str, int],
               target: int = 10) -> tuple[str, int, int] | None:
    """Return (story id, members, page bytes) of the largest page among the stories whose
    member count is closest to target; None when there is no multi-member story."""
    known = [(abs(members[s] - target), -b, s) for s, b in sizes.items() if members.get(s, 0) > 1]
    if not known:
        return None
    _, minus_bytes, story = min(known)
    return story, members[story], -minus_bytes


def story_members(out: Path) -> dict[str, int]:
    """Return story id -> member count from the site's data/index.json."""
    data = json.loads((out / "data" / "index.json").read_text("utf-8"))
    return {s["id"]: len(s.get("members", ())) for s in data.get("stories", ())}


def median_bytes(sizes: tuple[int, ...]) -> float:
    """Return the median of file sizes (0 when none)."""
    return float(statistics.median(sizes)) if sizes else 0.0


def describe_machine() -> dict[str, object]:
    """Return the core count, total memory, load average, Python version and platform."""
    total = 0
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count() or 1,
        "memory_gb": round(total / 2**30, 1),
        "load": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
