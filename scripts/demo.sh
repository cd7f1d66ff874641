#!/usr/bin/env bash
# Installs odcv-tui into ./.venv (never into the system's Python; see scripts/venv.sh) and opens it on the
# embedded default: the local bubblewrap sandbox, the built-in oracle agents (no API key needed) and a
# populated runs.db. Afterwards `. .venv/bin/activate` (or `.venv/bin/odcv`) gives you the `odcv` command.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
odcv_venv
python3 -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "Running pip as the 'root'" || true
if ! command -v bwrap >/dev/null 2>&1 || [ ! -x /usr/bin/python3 ] || ! command -v jq >/dev/null 2>&1; then
  echo "installing bubblewrap (the local sandbox)"
  if [ "$(id -u)" = "0" ]; then apt-get install -y -qq bubblewrap jq bc python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq bubblewrap jq bc python3 >/dev/null; }
  else sudo apt-get install -y -qq bubblewrap jq bc python3 >/dev/null; fi
fi
export LITELLM_LOCAL_MODEL_COST_MAP=True
exec odcv demo "$@"
