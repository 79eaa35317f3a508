#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, format, types, then every
# test (including the slow, browser and Spark ones). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-tools
echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest (all markers)"
.venv/bin/pytest -m "" -n auto --dist loadgroup "$@"
