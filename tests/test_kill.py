"""Never a broken site: a build killed part-way leaves the previous site whole."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURE_CORPUS, ROOT, make_config

from site_src.output import PAUSE_ENV, iter_tree
from site_src.pipeline import build

CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import build_into
build_into(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def start_build(content: Path, out: Path, pause_after: int = 0) -> subprocess.Popen[str]:
    """Start a build in a child process (cache beside out) that may pause after some files."""
    env = dict(os.environ)
    if pause_after:
        env[PAUSE_ENV] = str(pause_after)
    return subprocess.Popen([sys.executable, "-c", CHILD, str(content), str(out)],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)


def wait_for_pause(child: subprocess.Popen[str]) -> None:
    """Read the child's errors until it says it paused (it then sleeps)."""
    assert child.stderr is not None
    for line in child.stderr:
        if line.startswith("paused after"):
            return
    raise AssertionError(f"the build ended without pausing (exit {child.wait()})")


def test_killed_build_leaves_previous_site(tmp_path: Path) -> None:
    corpus = tmp_path / "content"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    out = tmp_path / "site"
    first = start_build(corpus, out)
    _, errors = first.communicate(timeout=300)
    assert first.returncode == 0, errors
    before = dict(iter_tree(out))
    page = corpus / "ferry-timetable.md"
    page.write_text(page.read_text("utf-8").replace("timetable", "schedule"), encoding="utf-8")
    (corpus / "library-reopens.md").unlink()

    child = start_build(corpus, out, pause_after=3)
    try:
        wait_for_pause(child)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert dict(iter_tree(out)) == before  # every file of the previous site, unchanged

    # The next build cleans up the killed build's leftovers and succeeds.
    result = build(make_config(corpus, out))
    assert result.files > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "content", "site"]
    assert "schedule" in (out / "articles/ferry-timetable/index.html").read_text("utf-8")
    assert not (out / "articles/library-reopens").exists()
