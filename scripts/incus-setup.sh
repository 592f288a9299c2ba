#!/usr/bin/env bash
# Bring up a real Incus 6.0.4 (Debian bookworm-backports' incus-base + incus-client, containers only) next
# to the LXD of scripts/lxd-setup.sh, with the same guestgate-ci image imported under the same alias.
# Idempotent and quick when everything is there. Refuses to install if apt would upgrade or remove anything.
#
#   scripts/incus-setup.sh              set up (or verify); last line: INCUS_READY image=<fingerprint>
#   scripts/incus-setup.sh --teardown   delete every Incus container whose name starts with gg (image kept)
#
# Environment:
#   GUESTGATE_CI_CACHE   cached image tarball (built by lxd-setup.sh) and .debs   (default /var/cache/guestgate-ci)
#   GUESTGATE_CI_STATE   incusd logs and pid file, the lock                      (default /var/lib/guestgate-ci)
#   INCUS_DIR            Incus's own state directory                              (default $GUESTGATE_CI_STATE/incus)
#   GUESTGATE_CI_DEBIAN  Debian mirror for bookworm-backports                     (default http://deb.debian.org/debian)
set -euo pipefail

readonly IMAGE_ALIAS=guestgate-ci
readonly INCUS_VERSION=6.0.4-2+deb13u7~bpo12+1
readonly PACKAGES=(incus-base incus-client)

CACHE_DIR=${GUESTGATE_CI_CACHE:-/var/cache/guestgate-ci}
STATE_DIR=${GUESTGATE_CI_STATE:-/var/lib/guestgate-ci}
export INCUS_DIR=${INCUS_DIR:-$STATE_DIR/incus}
DEBIAN=${GUESTGATE_CI_DEBIAN:-http://deb.debian.org/debian}
APT_DIR="$CACHE_DIR/incus-apt"

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
exec </dev/null

MODE=setup
for arg in "$@"; do
  case "$arg" in
    --teardown) MODE=teardown ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "incus-setup: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

CI_NAME=incus-setup
# shellcheck source=lib/ci-steps.sh
. "$(dirname "$0")/lib/ci-steps.sh"
POLICY_RC_ADDED=

on_exit() {
  local rc=$?
  [ -n "$POLICY_RC_ADDED" ] && rm -f /usr/sbin/policy-rc.d
  ci_report_failure "$rc" start-incus "$STATE_DIR/incusd.log"
  exit "$rc"
}
trap on_exit EXIT

mkdir -p "$STATE_DIR" "$CACHE_DIR" "$INCUS_DIR"
ci_lock "$STATE_DIR/incus.lock"

if [ "$MODE" = teardown ]; then
  ci_teardown incus 'gg*'
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step_begin packages
pkg_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }
missing=()
for p in "${PACKAGES[@]}"; do [ "$(pkg_version "$p")" = "$INCUS_VERSION" ] || missing+=("$p=$INCUS_VERSION"); done
if [ "${#missing[@]}" -eq 0 ]; then
  step_end "already installed"
else
  # A private sources list and lists dir: the system's apt state is neither read nor changed.
  # Downloaded .debs stay in the cache, so a rebuilt machine with the cache does not fetch them again.
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial"
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-backports main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$DEBIAN" "$DEBIAN" "$DEBIAN" >"$APT_DIR/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache::archives=$APT_DIR/archives" -o APT::Get::List-Cleanup=0)
  if ! apt-cache "${apt_opts[@]}" policy incus-base 2>/dev/null | grep -qF "$INCUS_VERSION"; then
    apt-get "${apt_opts[@]}" update -q >"$APT_DIR/update.log" 2>&1 || {
      tail -n 20 "$APT_DIR/update.log" >&2
      exit 1
    }
  fi
  sim=$(apt-get "${apt_opts[@]}" -s install --no-install-recommends "${missing[@]}")
  # "Inst pkg [old] (new ...)" is an upgrade; "Remv" a removal. Either one touches what the host runs.
  bad=$(printf '%s\n' "$sim" | grep -E '^(Remv |Inst [^ ]+ \[)' || true)
  if [ -n "$bad" ]; then
    echo "incus-setup: refusing: installing ${missing[*]} would upgrade or remove installed packages:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
  fi
  log "will install: $(printf '%s\n' "$sim" | awk '/^Inst /{ printf "%s ", $2 }')"
  # Its postinst would start a daemon through init scripts: there is no systemd here, we start it by hand.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    POLICY_RC_ADDED=1
  fi
  apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${missing[@]}" >"$APT_DIR/install.log" 2>&1 || {
    tail -n 30 "$APT_DIR/install.log" >&2
    exit 1
  }
  step_end "installed ${missing[*]}"
fi

# ---------------------------------------------------------------------------------------------
step_begin start-incus
ci_start_daemon incus "$STATE_DIR/incusd.pid" "$STATE_DIR/incusd.out" "/usr/libexec/incus/incusd waitready" -- \
  /usr/libexec/incus/incusd --group root --logfile "$STATE_DIR/incusd.log"

# ---------------------------------------------------------------------------------------------
ci_storage incus

# ---------------------------------------------------------------------------------------------
# The image is the one lxd-setup.sh builds and caches: the same tarball, so the same fingerprint on both.
tarball=$(ls -t "$CACHE_DIR/$IMAGE_ALIAS"-*.tar.gz 2>/dev/null | head -n 1 || true)
[ -n "$tarball" ] || die "no cached $IMAGE_ALIAS tarball in $CACHE_DIR: run scripts/lxd-setup.sh first"
ci_image_import incus "$tarball" "$IMAGE_ALIAS"

STEP=done
log "total $(secs_since "$SCRIPT_T0")"
echo "INCUS_READY image=$IMAGE_FP socket=$INCUS_DIR/unix.socket"
