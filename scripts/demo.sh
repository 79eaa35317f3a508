#!/usr/bin/env bash
# Set everything up and run the main job: build a simulated business workspace,
# fit the models, compute this week's actions, write the HTML report, then serve
# the web app on it (printing the address and a one-time login).
# REGULARS_DEMO_NO_SERVE=1 stops after the report (for CI and scripts);
# REGULARS_PORT picks the port (default 8000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ws="${1:-demo-workspace}"
.venv/bin/regulars demo "$ws"
if [ "${REGULARS_DEMO_NO_SERVE:-0}" = 1 ]; then
  echo "Not serving the web app (REGULARS_DEMO_NO_SERVE=1). Serve it with: .venv/bin/regulars serve -w $ws"
  exit 0
fi
if .venv/bin/regulars user list -w "$ws" | grep -q " owner "; then
  # Served before: give the owner a fresh one-time password.
  .venv/bin/regulars user set-password owner -w "$ws"
fi
exec .venv/bin/regulars serve -w "$ws" --port "${REGULARS_PORT:-8000}"
