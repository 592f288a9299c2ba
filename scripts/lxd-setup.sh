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

STEP=init
STEP_T0=0
SCRIPT_T0=$(date +%s%N)
BUILD_DIR=

log() { echo "lxd-setup: $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() { # ns start -> "12.3s"
  local d=$(( $(date +%s%N) - $1 ))
  printf '%d.%01ds' $(( d / 1000000000 )) $(( (d / 100000000) % 10 ))
}
step_begin() { STEP=$1; STEP_T0=$(date +%s%N); log "[$STEP] ..."; }
step_end() { log "[$STEP] ${1:-done} ($(secs_since "$STEP_T0"))"; }

unmount_under() { # unmount everything mounted at or below $1, deepest first
  local root=$1 m
  [ -n "$root" ] || return 0
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

on_exit() {
  local rc=$?
  if [ -n "$BUILD_DIR" ] && [ -d "$BUILD_DIR" ]; then
    unmount_under "$BUILD_DIR"
    rm -rf --one-file-system "$BUILD_DIR" || true
  fi
  if [ "$rc" -ne 0 ]; then
    echo "lxd-setup: FAILED at step '$STEP' (exit $rc) after $(secs_since "$SCRIPT_T0")" >&2
    if [ "$STEP" = start-lxd ] && [ -f "$STATE_DIR/lxd.log" ]; then
      echo "lxd-setup: last lines of $STATE_DIR/lxd.log:" >&2
      tail -n 20 "$STATE_DIR/lxd.log" >&2 || true
    fi
  fi
  exit "$rc"
}
trap on_exit EXIT

mkdir -p "$STATE_DIR" "$CACHE_DIR"
# One run at a time on this machine (CI and a developer may overlap).
exec 9>"$STATE_DIR/lock"
if ! flock -w 1800 9; then echo "lxd-setup: could not take $STATE_DIR/lock" >&2; exit 1; fi

lxd_answers() { lxc info >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
if [ "$MODE" = teardown ]; then
  step_begin teardown
  if ! command -v lxc >/dev/null 2>&1 || ! lxd_answers; then
    step_end "LXD not running: nothing to delete"
    exit 0
  fi
  n=0
  while read -r name; do
    case "$name" in
      gg-*) lxc delete --force "$name" && n=$((n + 1)) ;;
    esac
  done < <(lxc list --format csv -c n)
  step_end "deleted $n container(s)"
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
if lxd_answers; then
  step_end "already running"
else
  pid=
  [ -f "$STATE_DIR/lxd.pid" ] && pid=$(cat "$STATE_DIR/lxd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q lxd "/proc/$pid/comm" 2>/dev/null; then
    log "lxd (pid $pid) is already starting"
  else
    # No systemd here: start the daemon by hand in its own session so it outlives this script and
    # holds none of our file descriptors (CI waits for those).
    # (fd 9 is our lock: lxd must not inherit it.)
    setsid lxd --group root --logfile "$STATE_DIR/lxd.log" </dev/null >"$STATE_DIR/lxd.out" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$STATE_DIR/lxd.pid"
    log "started lxd (pid $pid), log $STATE_DIR/lxd.log"
  fi
  deadline=$(( $(date +%s) + 120 ))
  until lxd_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "lxd-setup: lxd (pid $pid) exited; $STATE_DIR/lxd.out:" >&2
      tail -n 20 "$STATE_DIR/lxd.out" >&2 || true
      exit 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "lxd-setup: lxd did not answer within 120s" >&2; exit 1; fi
    sleep 0.5
  done
  lxd waitready --timeout 120
  step_end "ready"
fi

# ---------------------------------------------------------------------------------------------
step_begin storage
did=
if ! lxc storage show default >/dev/null 2>&1; then
  lxc storage create default dir
  did="pool default (dir) created"
fi
if ! lxc profile device get default root pool >/dev/null 2>&1; then
  lxc profile device add default root disk path=/ pool=default
  did="${did:+$did, }root disk added to the default profile"
fi
step_end "${did:-already configured}"

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
step_begin image-import
image_fingerprint() { lxc image info "$1" | awk '/^Fingerprint:/ { print $2; exit }'; }
# A unified image's fingerprint is the sha256 of its tarball.
want=$(sha256sum "$TARBALL" | cut -d' ' -f1)
have=
if lxc image info "$IMAGE_ALIAS" >/dev/null 2>&1; then
  have=$(image_fingerprint "$IMAGE_ALIAS")
fi
if [ "$have" = "$want" ]; then
  step_end "already imported"
else
  if [ -n "$have" ]; then
    log "alias $IMAGE_ALIAS points at ${have:0:12}, the cached tarball is ${want:0:12}: re-pointing"
    lxc image alias delete "$IMAGE_ALIAS"
  fi
  if lxc image info "$want" >/dev/null 2>&1; then
    lxc image alias create "$IMAGE_ALIAS" "$want"
  else
    lxc image import "$TARBALL" --alias "$IMAGE_ALIAS"
  fi
  step_end "imported ${want:0:12}"
fi
fp=$(image_fingerprint "$IMAGE_ALIAS")
[ "$fp" = "$want" ] || { echo "lxd-setup: alias $IMAGE_ALIAS -> '$fp', expected $want" >&2; exit 1; }

STEP=done
log "total $(secs_since "$SCRIPT_T0")"
echo "LXD_READY image=$fp"
