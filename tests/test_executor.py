"""The build's executor: order kept, worker errors re-raised, and a Dask cluster's output
byte-identical to a single-process build."""

from __future__ import annotations

import faulthandler
import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FIXTURE_CORPUS, ROOT, build_into, make_config

from site_src import executor, pages, pipeline
from site_src.config import ConfigError, load_config
from site_src.output import iter_tree

SPEC = importlib.util.spec_from_file_location("build_cli", ROOT / "build.py")
cli = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(cli)
# A Dask test that hangs (a worker that never starts) fails after this many seconds.
DASK_TEST_LIMIT = 300


def square_with_pid(item: int) -> tuple[int, int]:
    """Square an item; say which process did it."""
    return item * item, os.getpid()


def add_shared(shared: dict[str, int], item: int) -> int:
    """Add the shared offset to an item."""
    return shared["offset"] + item


def fail_on_seven(item: int) -> int:
    """Fail on item 7 with a message naming it."""
    if item == 7:
        raise ValueError(f"item {item} is bad")
    return item


class StubbornError(Exception):
    """An exception that cannot be unpickled (its constructor wants two arguments)."""

    def __init__(self, what: str, where: int) -> None:
        super().__init__(f"{what} at {where}")


def fail_stubbornly(item: int) -> int:
    """Fail on item 3 with an exception that cannot travel back as itself."""
    if item == 3:
        raise StubbornError("broken page", item)
    return item


def test_local_processes_keep_the_order_of_items() -> None:
    with executor.session(jobs=2):
        results = executor.map_ordered(square_with_pid, range(103))
    assert [value for value, _pid in results] == [i * i for i in range(103)]
    pids = {pid for _value, pid in results}
    # This process is one of the two jobs: it runs a share of the batches beside one worker.
    assert os.getpid() in pids and len(pids) == 2


def test_shared_object_reaches_every_call() -> None:
    with executor.session(jobs=2):
        results = executor.map_ordered(add_shared, range(40), shared={"offset": 1000})
    assert results == list(range(1000, 1040))


def test_progress_counts_every_item_once() -> None:
    for jobs in (1, 2):
        done: list[int] = []
        with executor.session(jobs=jobs):
            executor.map_ordered(square_with_pid, range(57), on_done=done.append)
        assert sum(done) == 57


def test_without_a_session_or_with_few_items_the_map_runs_here() -> None:
    assert {pid for _v, pid in executor.map_ordered(square_with_pid, range(5))} == {os.getpid()}
    with executor.session(jobs=2):
        few = executor.map_ordered(square_with_pid, range(5), min_items=10)
    assert {pid for _v, pid in few} == {os.getpid()}


def test_worker_errors_re_raise_with_their_message() -> None:
    with executor.session(jobs=2), pytest.raises(ValueError, match="item 7 is bad"):
        executor.map_ordered(fail_on_seven, range(30))


def test_errors_that_cannot_travel_keep_their_message() -> None:
    with executor.session(jobs=2), pytest.raises(
            executor.WorkerError, match="StubbornError: broken page at 3"):
        executor.map_ordered(fail_stubbornly, range(30))


def test_batches_cover_every_item_once_in_order() -> None:
    for size in (0, 1, 7, 64, 65):
        for count in (1, 3, 8, 100):
            batches = executor.split_batches(list(range(size)), count)
            assert [i for batch in batches for i in batch] == list(range(size))
            assert len(batches) <= count


def test_weighted_batches_cover_every_item_once_with_near_equal_weight() -> None:
    items = [("light", n) for n in range(90)] + [("heavy", n) for n in range(10)]
    weight = {"light": 1.0, "heavy": 9.0}
    batches = executor.split_batches(items, 4, lambda item: weight[item[0]])
    assert [i for batch in batches for i in batch] == items
    sums = [sum(weight[kind] for kind, _n in batch) for batch in batches]
    assert len(batches) == 4 and max(sums) - min(sums) <= 9.0


def test_a_stream_yields_in_order_and_can_stop_early() -> None:
    with executor.session(jobs=2):
        stream = executor.stream_ordered(square_with_pid, range(60))
        with closing(stream):
            first = [next(stream) for _ in range(5)]
        assert [v for v, _pid in first] == [n * n for n in range(5)]
        assert [v for v, _pid in executor.stream_ordered(square_with_pid, range(60))] == [
            n * n for n in range(60)]


def test_both_dask_settings_at_once_are_refused(tmp_path: Path) -> None:
    (tmp_path / "site.yml").write_text("dask_local: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not both"):
        load_config(tmp_path, dask="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="dask_local must be"):
        load_config(tmp_path, dask_local=-1)
    assert load_config(tmp_path).dask_local == 2


def test_command_line_dask_choice_replaces_the_site_yml_one() -> None:
    args = cli.make_parser().parse_args(["build", "--dask", "tcp://10.0.0.1:8786"])
    assert cli._overrides(args)["dask_local"] == 0
    args = cli.make_parser().parse_args(["build", "--dask-local", "3"])
    assert cli._overrides(args)["dask"] == ""


@pytest.fixture
def mixed_corpus(tmp_path: Path) -> Path:
    """The fixture corpus and the five seeds in one content folder (several stories)."""
    content = tmp_path / "content"
    content.mkdir()
    for folder in (FIXTURE_CORPUS, ROOT / "content"):
        for path in sorted(folder.glob("*.md")):
            shutil.copy(path, content / path.name)
    sources = [(folder / "sources.yml").read_text(encoding="utf-8")
               for folder in (FIXTURE_CORPUS, ROOT / "content")]
    (content / "sources.yml").write_text("\n".join(sources), encoding="utf-8")
    return content


@pytest.fixture
def everything_distributed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Send every story and page to the workers, however small the corpus; bound the time."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_STORIES", 1)
    monkeypatch.setattr(pages, "PARALLEL_MIN_PAGES", 1)
    faulthandler.dump_traceback_later(DASK_TEST_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def build_with(content: Path, out: Path, **changes: object) -> None:
    """Build content into out with the test settings changed (e.g. jobs=2)."""
    pipeline.build(replace(make_config(content, out), **changes))


def read_tree(folder: Path) -> dict[str, bytes]:
    """Return every file under folder: relative path -> bytes."""
    return dict(iter_tree(folder))


def assert_same_tree(expected: dict[str, bytes], folder: Path) -> None:
    """Check a built folder holds exactly the expected files, byte for byte."""
    found = read_tree(folder)
    assert sorted(found) == sorted(expected)
    assert [rel for rel in sorted(expected) if found[rel] != expected[rel]] == []


def test_local_processes_build_the_same_bytes(
        mixed_corpus: Path, tmp_path: Path, everything_distributed: None) -> None:
    build_into(mixed_corpus, tmp_path / "one" / "site")
    build_with(mixed_corpus, tmp_path / "two" / "site", jobs=2)
    assert_same_tree(read_tree(tmp_path / "one" / "site"), tmp_path / "two" / "site")


def test_dask_cluster_builds_the_same_bytes_as_one_process(
        mixed_corpus: Path, tmp_path: Path, everything_distributed: None) -> None:
    distributed = pytest.importorskip("distributed")
    build_into(mixed_corpus, tmp_path / "one" / "site")
    expected = read_tree(tmp_path / "one" / "site")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        with distributed.Client(cluster, set_as_default=False, timeout=60) as client:
            build_with(mixed_corpus, tmp_path / "dask" / "site", dask=cluster.scheduler_address)
            ran = client.run_on_scheduler(lambda dask_scheduler: sorted(
                dask_scheduler.task_prefixes))
    finally:
        cluster.close()
    assert "run_batch" in ran  # the stories and pages really went to the cluster
    assert_same_tree(expected, tmp_path / "dask" / "site")


def test_dask_local_from_the_command_line(
        mixed_corpus: Path, tmp_path: Path, everything_distributed: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(cli, "ROOT", tmp_path)  # settings and .cache/ under tmp_path
    build_into(mixed_corpus, tmp_path / "one" / "site")
    out = tmp_path / "cli" / "site"
    code = cli.main(["build", "--content", str(mixed_corpus), "--out", str(out), "--quiet",
                     "--dask-local", "2"])
    assert code == 0
    assert_same_tree(read_tree(tmp_path / "one" / "site"), out)


def test_a_dask_worker_error_stops_the_build_with_its_message(everything_distributed: None):
    pytest.importorskip("distributed")
    with executor.session(jobs=1, dask_local=1), pytest.raises(ValueError, match="bad"):
        executor.map_ordered(int, ["1", "2", "bad"])
