"""bench/run.py: the goal checks and the tables it writes, on small synthetic measurements."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

if not (SHARED / "bench" / "allsides").is_dir():
    pytest.skip("../shared/bench/allsides is absent", allow_module_level=True)


def load_run():
    """Import bench/run.py as a module."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = load_run()


def make_row(articles: int, seconds: float, whoosh: float, pelican: float | None,
             peak: float = 900.0, median: float = 12_000.0,
             story: tuple[str, int, int] | None = ("s1", 9, 200_000)) -> dict:
    """Return one size's measurements in the shape bench_size returns."""
    stages = dict.fromkeys(run.STAGES, seconds / 10)
    return {
        "label": str(articles), "articles": articles,
        "ours": {"seconds": seconds, "stages": stages, "stage_cpu": stages,
                 "stage_peak_mb": {"index": peak},
                 "peak_mb": peak, "rss_sum_mb": peak * 1.3, "process_mb": peak * 0.8,
                 "files": articles * 2, "bytes": articles * 40_000,
                 "page_bytes": articles * 20_000, "whoosh_bytes": articles * 15_000,
                 "static_bytes": articles * 5_000, "median_article_bytes": median,
                 "story": story},
        "whoosh": {"articles": articles, "whoosh_s": whoosh, "whoosh_bytes": 1, "ours_s": whoosh,
                   "ours_bytes": 1},
        "pelican": None if pelican is None else {"seconds": pelican, "peak_mb": 200.0,
                                                 "bytes": articles * 10_000},
    }


def test_goals_are_judged_on_the_largest_size_with_margins() -> None:
    rows = [make_row(37554, 300.0, 150.0, 250.0, peak=2300.0), make_row(10000, 75.0, 40.0, 70.0)]
    goals = {g["goal"]: g for g in run.check_goals(rows)}
    whoosh = goals["clean build / Whoosh-only indexing"]
    assert whoosh["value"] == pytest.approx(2.0) and whoosh["met"] is False
    assert whoosh["verdict"].startswith("missed by 33%")
    pelican = goals["clean build / Pelican"]
    assert pelican["value"] == pytest.approx(1.2) and pelican["met"] is True
    assert pelican["verdict"].startswith("met (20% under)")
    assert goals["peak memory"]["met"] is False
    assert goals["peak memory"]["verdict"].startswith("missed by 12%")
    exponent = goals["growth exponent 10k -> largest"]
    assert exponent["value"] == pytest.approx(1.0477, abs=1e-3) and exponent["met"] is True
    assert goals["median article page"]["met"] is True
    story = goals["story page with ~10 members"]
    assert story["met"] is True and "9 members" in story["verdict"]


def test_goals_without_peers_or_a_second_size_say_not_measured() -> None:
    goals = {g["goal"]: g for g in run.check_goals([make_row(1000, 20.0, 10.0, None,
                                                             story=None)])}
    assert goals["clean build / Pelican"]["met"] is None
    assert "no Pelican" in goals["clean build / Pelican"]["verdict"]
    assert goals["growth exponent 10k -> largest"]["met"] is None
    assert goals["story page with ~10 members"]["verdict"].startswith("not measured")


def test_results_markdown_has_every_stage_size_and_goal() -> None:
    rows = [make_row(1000, 20.0, 10.0, 15.0), make_row(10000, 90.0, 60.0, 80.0)]
    machine = {"cores": 2, "memory_gb": 8.0, "python": "3.11.7", "platform": "Linux",
               "load": 0.1, "load_end": 0.3}
    text = run.format_results(rows, machine, "python bench/run.py --sizes 1000,10000",
                              "2025-01-01 00:00 UTC")
    assert "2 cores, 8.0 GB memory" in text and "python bench/run.py --sizes" in text
    for stage in ("load", "cluster", "align", "render", "index", "export", "write"):
        assert f" {stage} |" in text
    assert "| 1,000 |" in text and "| 10,000 |" in text
    assert "| 10,000 | 9.0 |" in text  # stage seconds of the larger size
    assert "| 0.65 |" in text  # the growth exponent from 1,000 to 10,000 in its row
    assert "| growth exponent 10k -> largest | 1.10  | –  | not measured" in text
    assert "| clean build / Pelican | 1.50 x | 1.12 x | met (25% under)" in text


def test_analyse_is_split_into_cluster_and_align() -> None:
    report = {"timings": [["load", 1.0], ["analyse", 5.0], ["render", 2.0]],
              "laps": [["load", 11.0], ["analyse", 16.0], ["render", 18.0]],
              "cluster": {"seconds": 2.0, "end": 13.0}}
    report["laps"] = [[*lap, cpu] for lap, cpu in zip(report["laps"], (2.0, 9.0, 12.0),
                                                              strict=True)]
    report.update(cpu_start=1.0)
    report["cluster"]["cpu"] = 3.0
    stages, laps, cpu = run.split_stages(report)
    assert stages == {"load": 1.0, "cluster": 2.0, "align": 3.0, "render": 2.0}
    assert [name for name, _ in laps] == ["load", "cluster", "align", "render"]
    assert cpu == {"load": 1.0, "cluster": 3.0, "align": 4.0, "render": 3.0}


def test_site_measurement_picks_the_story_closest_to_ten_members(tmp_path: Path) -> None:
    from common import measure_site, median_bytes, pick_story, story_members

    for name, size in (("a", 100), ("b", 300), ("c", 200)):
        (tmp_path / "articles" / name).mkdir(parents=True)
        (tmp_path / "articles" / name / "index.html").write_bytes(b"x" * size)
    for name, size in (("s3", 5000), ("s9", 900), ("s11", 1100)):
        (tmp_path / "stories" / name).mkdir(parents=True)
        (tmp_path / "stories" / name / "index.html").write_bytes(b"x" * size)
    (tmp_path / "search" / "whoosh").mkdir(parents=True)
    (tmp_path / "search" / "whoosh" / "seg").write_bytes(b"x" * 50)
    (tmp_path / "data").mkdir()
    index = {"stories": [{"id": "s3", "members": ["1"] * 3}, {"id": "s9", "members": ["1"] * 9},
                         {"id": "s11", "members": ["1"] * 11}]}
    (tmp_path / "data" / "index.json").write_text(json.dumps(index))
    site = measure_site(tmp_path)
    assert median_bytes(site.article_pages) == 200
    assert site.whoosh == 50 and site.total == site.pages + 50
    assert pick_story(site.story_pages, story_members(tmp_path)) == ("s11", 11, 1100)


def test_sizes_parse_with_all() -> None:
    assert run.parse_sizes("1000,10000,all") == [1000, 10000, None]
