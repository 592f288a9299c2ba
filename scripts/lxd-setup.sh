#!/usr/bin/env bash
# Bring up a real LXD (Debian bookworm's lxd 5.0.2) on this machine with a small Debian container
# image aliased `guestgate-ci`, for the interop suite. Idempotent: every step checks before it acts,
# and the built image tarball is cached between runs (GUESTGATE_CI_CACHE).
#
#   scripts/lxd-setup.sh              set up (or verify) everything; last line: LXD_READY image=<fingerprint>
#   scripts/lxd-setup.sh --teardown   delete every container whose name starts with gg- (image/cache kept)
#
# Environment:
#   GUESTGATE_CI_CACHE   where the built image tarball is kept      (default /var/cache/guestgate-ci)
#   GUESTGATE_CI_STATE   lxd daemon logs, pid file and the lock     (default /var/lib/guestgate-ci)
#   GUESTGATE_CI_MIRROR  Debian mirror for debootstrap              (default: debootstrap's own default)
#   GUESTGATE_CI_REBUILD=1  rebuild the image tarball even if cached (and re-import it)
set -euo pipefail

readonly IMAGE_ALIAS=guestgate-ci
# Bump when the image recipe below changes: a new name means a new build, old tarballs are removed.
readonly IMAGE_RECIPE=v1
readonly SUITE=bookworm
readonly PACKAGES=python3,cloud-init,curl,ca-certificates,iproute2

CACHE_DIR=${GUESTGATE_CI_CACHE:-/var/cache/guestgate-ci}
STATE_DIR=${GUESTGATE_CI_STATE:-/var/lib/guestgate-ci}
MIRROR=${GUESTGATE_CI_MIRROR:-}
TARBALL="$CACHE_DIR/$IMAGE_ALIAS-$SUITE-$IMAGE_RECIPE.tar.gz"

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

# lxc init/storage create/... read YAML from a non-terminal stdin: never let them wait on ours.
exec </dev/null

MODE=setup
for arg in "$@"; do
  case "$arg" in
    --teardown) MODE=teardown ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lxd-setup: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

CI_NAME=lxd-setup
BUILD_DIR=
# shellcheck source=lib/ci-steps.sh
. "$(dirname "$0")/lib/ci-steps.sh"

on_exit() {
  local rc=$?
  if [ -n "$BUILD_DIR" ] && [ -d "$BUILD_DIR" ]; then
    unmount_under "$BUILD_DIR"
    rm -rf --one-file-system "$BUILD_DIR" || true
  fi
  ci_report_failure "$rc" start-lxd "$STATE_DIR/lxd.log"
  exit "$rc"
}
trap on_exit EXIT

mkdir -p "$STATE_DIR" "$CACHE_DIR"
ci_lock "$STATE_DIR/lock"

if [ "$MODE" = teardown ]; then
  ci_teardown lxc 'gg-*'
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step_begin packages
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in lxd lxc debootstrap; do pkg_installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -eq 0 ]; then
  step_end "already installed"
else
  log "installing: ${missing[*]}"
  if ! apt-cache policy lxd 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -q
    updated=1
  else
    updated=0
  fi
  if ! apt-get install -y -q "${missing[@]}"; then
    [ "$updated" = 1 ] && exit 1
    log "install failed with the current package lists: apt-get update and retry"
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  fi
  step_end "installed ${missing[*]}"
fi

# ---------------------------------------------------------------------------------------------
step_begin start-lxd
# (the daemon runs in its own session, so it outlives this script and holds none of our descriptors)
ci_start_daemon lxc "$STATE_DIR/lxd.pid" "$STATE_DIR/lxd.out" "lxd waitready" -- \
  lxd --group root --logfile "$STATE_DIR/lxd.log"

# ---------------------------------------------------------------------------------------------
ci_storage lxc

# ---------------------------------------------------------------------------------------------
build_image() {
  BUILD_DIR=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
  local rootfs="$BUILD_DIR/rootfs" t0
  t0=$(date +%s%N)
  # debootstrap exits non-zero on bookworm minbase + cloud-init: python3-cryptography stays
  # unconfigured (its dependency on python3-cffi-backend is virtual). Fixed in the chroot below.
  local rc=0
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" ${MIRROR:+"$MIRROR"} \
    >"$BUILD_DIR/debootstrap.log" 2>&1 || rc=$?
  if [ ! -x "$rootfs/usr/bin/python3" ] || [ ! -x "$rootfs/usr/bin/dpkg" ]; then
    echo "lxd-setup: debootstrap failed (exit $rc); last lines of its log:" >&2
    tail -n 30 "$BUILD_DIR/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    return 1
  fi
  unmount_under "$rootfs"
  log "[$STEP] debootstrap done (exit $rc) in $(secs_since "$t0")"

  t0=$(date +%s%N)
  mount --bind /proc "$rootfs/proc"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  chroot "$rootfs" /bin/sh -c '
    set -e
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3-cffi-backend
    dpkg --configure -a
    apt-get clean
    test -z "$(dpkg --audit)"
    python3 -c "import cryptography, yaml, jinja2"
    cloud-init --version
    curl --version | head -n 1
  ' >"$BUILD_DIR/chroot.log" 2>&1 || {
    echo "lxd-setup: chroot fix-up failed; last lines of its log:" >&2
    tail -n 30 "$BUILD_DIR/chroot.log" >&2
    return 1
  }
  grep -E '^(/usr/bin/cloud-init|curl) ' "$BUILD_DIR/chroot.log" | sed 's/^/lxd-setup:   /' || true
  umount "$rootfs/proc" || umount -l "$rootfs/proc"
  log "[$STEP] chroot fix-up done in $(secs_since "$t0")"

  # Slim down: nothing here needs docs, man pages, translations or package lists.
  rm -f "$rootfs/usr/sbin/policy-rc.d"
  : >"$rootfs/etc/resolv.conf"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/lintian/* "$rootfs"/usr/share/linda/* "$rootfs"/var/cache/man/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/debootstrap
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
  find "$rootfs" -xdev -name '__pycache__' -type d -prune -exec rm -rf {} +
  # Keep docs and man pages out if anything is installed in the container later.
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/01-guestgate-ci-nodoc"
  echo "$IMAGE_ALIAS" >"$rootfs/etc/hostname"

  t0=$(date +%s%N)
  printf 'architecture: %s\ncreation_date: %s\nproperties:\n  description: guestgate CI Debian %s minbase (%s)\n  os: debian\n  release: %s\n  variant: minbase\n' \
    "$(uname -m)" "$(date +%s)" "$SUITE" "$IMAGE_RECIPE" "$SUITE" >"$BUILD_DIR/metadata.yaml"
  tar --numeric-owner -C "$BUILD_DIR" -czf "$BUILD_DIR/image.tar.gz" metadata.yaml rootfs
  log "[$STEP] tarball packed in $(secs_since "$t0"): $(du -h "$BUILD_DIR/image.tar.gz" | cut -f1)"
  mv -f "$BUILD_DIR/image.tar.gz" "$TARBALL"
  # Older recipes' tarballs are of no further use.
  find "$CACHE_DIR" -maxdepth 1 -name "$IMAGE_ALIAS-*.tar.gz" ! -path "$TARBALL" -delete
  rm -rf --one-file-system "$BUILD_DIR"
  BUILD_DIR=
}

step_begin image-build
if [ "${GUESTGATE_CI_REBUILD:-0}" != 1 ] && [ -s "$TARBALL" ]; then
  step_end "cached: $TARBALL"
else
  # Leftovers of an interrupted build (unmount first: a bind-mounted /proc must never be rm -rf'd).
  for d in "$CACHE_DIR"/build.*; do
    [ -d "$d" ] || continue
    unmount_under "$d"
    rm -rf --one-file-system "$d"
  done
  build_image
  step_end "built $TARBALL"
fi

# ---------------------------------------------------------------------------------------------
ci_image_import lxc "$TARBALL" "$IMAGE_ALIAS"

STEP=done
log "total $(secs_since "$SCRIPT_T0")"
echo "LXD_READY image=$IMAGE_FP"
