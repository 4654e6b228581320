# Two commands for a fresh machine: `make serve` and `make test`. Both set themselves up.
.PHONY: serve test build lint setup

setup:
	@bash scripts/setup.sh

serve: setup
	.venv/bin/python build.py serve

build: setup
	.venv/bin/python build.py build

test:
	bash .ci/run

lint: setup
	.venv/bin/python -m ruff check .
