#!/usr/bin/env bash
# A 2-member LXD 5.0.2 cluster on this one machine, beside the host's own LXD (which is not touched), for
# the cluster interop suite and bench/cluster. Both members run in ONE network namespace on loopback
# addresses (127.0.1.1/127.0.1.2), each with its own LXD_DIR; containers get cgroups as usual (nsenter
# --net only, never `ip netns exec`). Idempotent: a healthy cluster is reused as is (~1 s); anything else
# is torn down and rebuilt (~15 s). The image is the `guestgate-ci` tarball that scripts/lxd-setup.sh
# builds and caches.
#
#   scripts/lxd-cluster-setup.sh                  set up (or verify); last line: CLUSTER_READY dir=<dir>
#   scripts/lxd-cluster-setup.sh --teardown       delete everything (instances, daemons, netns, dir, cgroups)
#   scripts/lxd-cluster-setup.sh --stop-member N  SIGTERM member N's daemon (its containers keep running)
#   scripts/lxd-cluster-setup.sh --start-member N start member N's daemon again and wait until it answers
#
# Members are ggcl-m1 (database leader) and ggcl-m2 (stand-by): stopping ggcl-m1 makes the cluster
# unavailable; ggcl-m2 can be stopped and started freely. LXD_DIR of member N: <dir>/mN.
# Environment:
#   GUESTGATE_CLUSTER_DIR  where the members live   (default /var/lib/guestgate-ci/ggcl)
#   GUESTGATE_CI_CACHE     where lxd-setup.sh keeps the image tarball (default /var/cache/guestgate-ci)
set -euo pipefail
exec </dev/null
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

readonly D=${GUESTGATE_CLUSTER_DIR:-/var/lib/guestgate-ci/ggcl}
readonly NS=ggcl
readonly IMAGE_ALIAS=guestgate-ci
readonly TARBALL=${GUESTGATE_CI_CACHE:-/var/cache/guestgate-ci}/guestgate-ci-bookworm-v1.tar.gz
readonly HERE=$(cd "$(dirname "$0")" && pwd)

log() { echo "lxd-cluster-setup: $*"; }
die() { echo "lxd-cluster-setup: $*" >&2; exit 1; }
member_lxc() { local n=$1; shift; nsenter --net=/run/netns/$NS env LXD_DIR="$D/m$n" lxc "$@"; }
daemon_pid() { LXD_DIR="$D/m$1" timeout 5 lxc query /1.0 2>/dev/null | sed -n 's/.*"server_pid": *\([0-9]*\).*/\1/p'; }
answers() { [ -S "$D/m$1/unix.socket" ] && LXD_DIR="$D/m$1" timeout 5 lxc query /1.0 >/dev/null 2>&1; }

start_daemon() {
  local n=$1
  answers "$n" && return 0
  mkdir -p -m 711 "$D/m$n"
  ( cd / || exit; nsenter --net=/run/netns/$NS env LXD_DIR="$D/m$n" setsid lxd --group root --logfile "$D/m$n.log" \
      </dev/null >>"$D/m$n.out" 2>&1 & )
  LXD_DIR="$D/m$n" timeout 60 lxd waitready || die "member m$n did not start (see $D/m$n.log)"
  daemon_pid "$n" >"$D/m$n.pid"
}

stop_daemon() {
  local n=$1 pid
  pid=$(cat "$D/m$n.pid" 2>/dev/null || true)
  if answers "$n"; then
    [ -n "$pid" ] || pid=$(daemon_pid "$n")
    LXD_DIR="$D/m$n" timeout 30 lxd shutdown --timeout 20 >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -qa "^lxd" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$D/m$n.pid"
}

# SIGTERM only (not `lxd shutdown`, which also stops every instance): the daemon exits, its containers
# keep running, as when a member's daemon crashes or is restarted.
kill_daemon() {
  local n=$1 pid
  pid=$(cat "$D/m$n.pid" 2>/dev/null || true)
  [ -n "$pid" ] || pid=$(daemon_pid "$n")
  [ -n "$pid" ] || die "member m$n: no daemon pid"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ -d "/proc/$pid" ] && die "member m$n (pid $pid) did not exit within 30 s of SIGTERM"
  rm -f "$D/m$n.pid"
}

healthy() {
  [ -e /run/netns/$NS ] && answers 1 && answers 2 || return 1
  local list
  list=$(LXD_DIR="$D/m1" timeout 10 lxc cluster list --format csv 2>/dev/null) || return 1
  [ "$(grep -c ',ONLINE,' <<<"$list")" = 2 ] || return 1
  LXD_DIR="$D/m1" timeout 10 lxc image info "$IMAGE_ALIAS" >/dev/null 2>&1
}

teardown() {
  log "teardown of $D"
  local n name
  for n in 2 1; do
    if answers "$n"; then
      for name in $(LXD_DIR="$D/m$n" timeout 30 lxc list --format csv --columns n,L 2>/dev/null |
          awk -F, -v m="ggcl-m$n" '$2 == m { print $1 }'); do
        LXD_DIR="$D/m$n" timeout 60 lxc delete --force "$name" >/dev/null 2>&1 || true
      done
    fi
  done
  stop_daemon 2
  stop_daemon 1
  # Instances outlive a dead daemon: kill the monitors of THIS cluster's containers (by pid; that kills their init).
  local pid
  for pid in $(ps -eo pid=,args= | awk -v d="$D/" '$2 == "[lxc" && $3 == "monitor]" && index($4, d) == 1 { print $1 }'); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  awk -v r="$D" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  [ -e /run/netns/$NS ] && ip netns del $NS
  rm -rf "$D" "/run/lxc/lock$D"
  # cgroups liblxc could not remove because the daemon was gone (depth-first).
  local g
  for g in /sys/fs/cgroup/*/lxc.payload.ggcl-* /sys/fs/cgroup/*/lxc.monitor.ggcl-* \
      /sys/fs/cgroup/lxc.payload.ggcl-* /sys/fs/cgroup/lxc.monitor.ggcl-*; do
    [ -d "$g" ] && find "$g" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  log "teardown done"
}

setup() {
  if healthy; then log "cluster healthy, reused"; echo "CLUSTER_READY dir=$D"; return 0; fi
  [ -e "$D" ] || [ -e /run/netns/$NS ] && teardown
  [ -s "$TARBALL" ] || "$HERE/lxd-setup.sh" >/dev/null || die "cannot build the image (scripts/lxd-setup.sh)"
  [ -s "$TARBALL" ] || die "image tarball missing: $TARBALL"
  local t0=$SECONDS
  mkdir -p -m 711 "$D"
  ip netns add $NS
  ip -n $NS link set lo up
  start_daemon 1
  start_daemon 2
  nsenter --net=/run/netns/$NS env LXD_DIR="$D/m1" lxd init --preseed <<END
config: {core.https_address: "127.0.1.1:8443", images.auto_update_interval: "0"}
storage_pools: [{name: default, driver: dir}]
profiles: [{name: default, devices: {root: {path: /, pool: default, type: disk}}}]
cluster: {server_name: ggcl-m1, enabled: true}
END
  local token
  token=$(member_lxc 1 cluster add ggcl-m2 --quiet)
  nsenter --net=/run/netns/$NS env LXD_DIR="$D/m2" lxd init --preseed <<END
config: {}
cluster:
  enabled: true
  server_name: ggcl-m2
  server_address: "127.0.1.2:8443"
  cluster_token: $token
  member_config: [{entity: storage-pool, name: default, key: source, value: ""}]
END
  member_lxc 1 profile set default raw.lxc 'lxc.init.cmd = /bin/sleep infinity'
  member_lxc 1 image import "$TARBALL" --alias "$IMAGE_ALIAS" >/dev/null
  healthy || die "cluster built but not healthy: $(LXD_DIR="$D/m1" lxc cluster list 2>&1)"
  log "cluster built in $((SECONDS - t0)) s"
  echo "CLUSTER_READY dir=$D"
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, LXD daemons)"
case "${1:-}" in
  "") setup ;;
  --teardown) teardown ;;
  --stop-member) [[ "${2:-}" =~ ^[12]$ ]] || die "--stop-member 1|2"; kill_daemon "$2"; log "m$2 stopped" ;;
  --start-member) [[ "${2:-}" =~ ^[12]$ ]] || die "--start-member 1|2"; start_daemon "$2"; log "m$2 answers" ;;
  -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown argument: $1" ;;
esac
