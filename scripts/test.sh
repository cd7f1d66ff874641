#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (Python packages into ./.venv, never the
# system's; bubblewrap, a Docker engine started in the background, the offline sandbox image), then runs ruff
# and pytest from that environment. ODCV_VENV=none uses the current interpreter instead (scripts/venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
odcv_venv
echo "== python packages ($(command -v python3))"
python3 -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "Running pip as the 'root'" || true
echo "== system dependencies (bubblewrap, docker engine, sandbox image)"
bash scripts/install_test_deps.sh
export LITELLM_LOCAL_MODEL_COST_MAP=True
# Where the engine and bwrap could be installed, their tests must run, never skip.
if [ "$(id -u)" = "0" ]; then export ODCV_REQUIRE_DOCKER=1 ODCV_REQUIRE_BWRAP=1; fi
echo "== ruff"
python3 -m ruff check odcv_tui tests benchmarks
echo "== pytest"
python3 -m pytest -q -p no:cacheprovider "$@"
