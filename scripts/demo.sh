#!/usr/bin/env bash
# Installs odcv-tui into ./.venv (never into the system's Python; see scripts/venv.sh) and opens it on the
# embedded default: the local bubblewrap sandbox, the built-in oracle agents (no API key needed) and a
# populated runs.db. Afterwards `. .venv/bin/activate` (or `.venv/bin/odcv`) gives you the `odcv` command.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
odcv_venv
python3 -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "Running pip as the 'root'" || true
# The local sandbox: bubblewrap, overlay + cgroups (root), and the debootstrap tree it runs (built once, cached
# in ~/.cache/odcv/rootfs; the same tree the docker backend imports).
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo -n"
need=()
for pair in bwrap:bubblewrap debootstrap:debootstrap mkfs.ext4:e2fsprogs; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (the local sandbox)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
if ! python3 -c 'import sys; from odcv_tui.sandbox import rootfs; sys.exit(not rootfs.is_built(rootfs.tree_dir()))'; then
  echo "building the sandbox's root filesystem (debootstrap, a minute or two the first time)"
  $SUDO env "PATH=$PATH" python3 -m odcv_tui.cli.main sandbox build --offline
fi
export LITELLM_LOCAL_MODEL_COST_MAP=True
exec odcv demo "$@"
