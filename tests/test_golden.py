"""The fixture corpus builds to exactly the reviewed golden files.

Regenerate after an intended change, then review the diff before committing:

    UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import ROOT

from site_src.output import MARKER, iter_tree

GOLDEN = ROOT / "tests" / "golden"
# The search index and its export are binary or hashed; the search tests cover them.
SKIPPED = ("search/whoosh/", "search/static/", "static/", "favicon.svg", MARKER)


def _pages(site: Path) -> dict[str, bytes]:
    """The files of a site that the golden copy holds."""
    return {rel: data for rel, data in iter_tree(site) if not rel.startswith(SKIPPED)}


def test_fixture_site_matches_golden_files(fixture_site: Path) -> None:
    built = _pages(fixture_site)
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, data in built.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    golden = dict(iter_tree(GOLDEN))
    assert sorted(built) == sorted(golden), "pages added or removed: regenerate and review"
    changed = [rel for rel in built if built[rel] != golden[rel]]
    assert changed == [], f"pages differ from the golden copy: {changed}"
