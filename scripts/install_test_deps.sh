#!/usr/bin/env bash
# System pieces the tests exercise for real: bubblewrap (local sandbox), a Docker engine started in the
# background (docker sandbox), and the offline sandbox image (debootstrap -> docker import).
# Idempotent: every step checks first, so a second run costs seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo -n"
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v jq >/dev/null || need+=(jq)
command -v bc >/dev/null || need+=(bc)
command -v tmux >/dev/null || need+=(tmux)
command -v zstd >/dev/null || need+=(zstd)
# `odcv serve` is tested in a real headless browser (tests/test_serve_browser.py).
command -v chromium >/dev/null || need+=(chromium)
# The local sandbox's per-run writable layer is a sparse ext4 image (size-capped like a container's disk).
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
# Scenario validators run with the system's python3 inside the local sandbox (pyenv's is not bound in).
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  echo "apt: installing ${need[*]}"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || echo "warning: apt could not install ${need[*]}"
fi

docker_up() { docker info >/dev/null 2>&1; }
if ! docker_up && command -v dockerd >/dev/null; then
  echo "docker: starting dockerd in the background (log: /tmp/odcv-dockerd.log)"
  # vfs works inside containers where overlayfs cannot be mounted; fall back to it if the default fails.
  $SUDO dockerd >/tmp/odcv-dockerd.log 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 30); do docker_up && break; sleep 1; done
  if ! docker_up; then
    # Stop only the dockerd this script started, by its pid: never another engine (or anything else) by name.
    $SUDO kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; sleep 1
    $SUDO dockerd --storage-driver=vfs --iptables=false >/tmp/odcv-dockerd.log 2>&1 &
    for _ in $(seq 1 30); do docker_up && break; sleep 1; done
  fi
fi
# One debootstrap tree serves both backends: the local sandbox mounts it (~/.cache/odcv/rootfs/...), docker
# runs an import of it. The build reuses a cached tree, so a missing image alone costs only the import.
tree_ok() { python3 -c 'import sys; from odcv_tui.sandbox import rootfs; sys.exit(not rootfs.is_built(rootfs.tree_dir()))'; }
tree_id() { python3 -c 'from odcv_tui.sandbox import rootfs; print(rootfs.tree_id(rootfs.tree_dir()))' 2>/dev/null; }
# The image must be an import of this very tree (its label says which), else it is rebuilt.
image_ok() { ! docker_up || [ "$(docker image inspect -f '{{index .Config.Labels "odcv.rootfs"}}' odcv-sandbox:latest 2>/dev/null)" = "$(tree_id)" ]; }
docker_up || echo "warning: no Docker engine (see /tmp/odcv-dockerd.log); building the local sandbox's tree only"
if ! tree_ok || ! image_ok; then
  echo "sandbox: building the offline root filesystem and image (debootstrap, a few minutes the first time)"
  python3 -m odcv_tui.cli.main sandbox build --offline || echo "warning: sandbox build failed"
fi
exit 0
