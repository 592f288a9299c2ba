#!/usr/bin/env bash
# What the test suite needs beyond npm packages, installed only when missing (idempotent, quick when
# everything is there). The suite itself runs real processes in pid/network namespaces, the real
# cloud-init 22.4.2 and a real LXD 5.0.2; tests whose needs are missing FAIL and say what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "test-prereqs: not root: skipping package installs and LXD setup." >&2
  echo "test-prereqs: tests that need root (namespaces, cgroups), cloud-init or LXD will fail and name what they need." >&2
  exit 0
fi

need=()
command -v curl >/dev/null || need+=(curl)
command -v unshare >/dev/null || need+=(util-linux)
command -v ip >/dev/null || need+=(iproute2)
[ -x /usr/bin/python3 ] || need+=(python3)
[ -f /usr/lib/python3/dist-packages/cloudinit/sources/DataSourceLXD.py ] || need+=(cloud-init)
command -v genisoimage >/dev/null || command -v xorriso >/dev/null || need+=(genisoimage)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-prereqs: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

# Real LXD 5.0.2 and the cached guestgate-ci image for the interop suite (test/interop).
if [ "${GUESTGATE_SKIP_LXD:-}" != 1 ]; then
  bash scripts/lxd-setup.sh </dev/null | tail -n 1 || echo "test-prereqs: LXD setup failed; the interop tests will fail and say why" >&2
fi

# Real Incus 6.0.4 (bookworm-backports) next to it, importing the same cached image (test/interop/*incus*).
if [ "${GUESTGATE_SKIP_INCUS:-}" != 1 ]; then
  bash scripts/incus-setup.sh </dev/null | tail -n 1 || echo "test-prereqs: Incus setup failed; the Incus interop tests will fail and say why" >&2
fi

# Packages installed inside containers (no network there): cloud-init 25.1.4 (trixie) + netcat-openbsd, cached.
bash scripts/debs-fetch.sh </dev/null | tail -n 1 || echo "test-prereqs: fetching the cloud-init 25.1.4 .debs failed; those tests will fail and say why" >&2
