#!/usr/bin/env bash
# Set everything up and run the main job: build a simulated business workspace,
# fit the models, compute this week's actions and write the HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/regulars demo "${1:-demo-workspace}"
