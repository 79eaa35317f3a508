#!/usr/bin/env bash
# Set up a development environment in .venv: Python dependencies, and with
# --with-test-tools also the Debian packages the tests need (Chromium for the
# browser tests, Java 17 for the Spark tests, PostgreSQL for the app-database
# test). Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test_tools=0
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) with_test_tools=1 ;;
    *) echo "usage: scripts/setup.sh [--with-test-tools]" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Python >= 3.11
PY=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY=$(command -v "$cand"); break
  fi
done
if [ -z "$PY" ]; then
  echo "setup: regulars needs Python 3.11 or newer (apt-get install python3)" >&2; exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install "python${ver}-venv" || apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi

extras="spark"
[ "$with_test_tools" = 1 ] && extras="dev,spark"
.venv/bin/python -m pip install -q --disable-pip-version-check "uv>=0.4"
# requirements.lock pins every transitive dependency to a set known to work.
# --compile-bytecode, as pip does by default: without it every new Python process
# compiles NumPy, pandas, Ibis and the rest again where PYTHONDONTWRITEBYTECODE is set
# (about 2.4 CPU s a process here, and the tests start many).
VIRTUAL_ENV="$PWD/.venv" .venv/bin/uv pip install -q --compile-bytecode \
  -c requirements.lock -e ".[${extras}]"
# regulars' own modules too (the install above is editable); stale files are ignored.
.venv/bin/python -m compileall -q src >/dev/null

if [ "$with_test_tools" = 1 ]; then
  if ! command -v chromium >/dev/null; then apt_install chromium; fi
  if ! command -v java >/dev/null; then apt_install openjdk-17-jre-headless; fi
  # PostgreSQL server binaries for tests/web/test_postgres.py (about 50 MB; ~15 s).
  if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    apt_install postgresql
  fi
fi
echo "setup: ready (.venv, extras: ${extras})"
