#!/usr/bin/env bash
# A 2-member LXD 5.0.2 or Incus 6.0.4 cluster on this one machine, beside the host's own daemons (which are
# not touched), for the cluster interop suites and bench/cluster. Both members run in ONE network namespace
# on loopback addresses (LXD 127.0.1.1/.2, Incus 127.0.2.1/.2, one namespace per flavour), each with its own
# LXD_DIR / INCUS_DIR; containers get cgroups as usual (nsenter --net only, never `ip netns exec`).
# Idempotent: a healthy cluster is reused as is (~1 s); anything else is torn down and rebuilt (~15 s). The
# image is the `guestgate-ci` tarball that scripts/lxd-setup.sh builds and caches (Incus: incus-setup.sh
# installs incus-base 6.0.4 first).
#
#   scripts/cluster-setup.sh lxd|incus                  set up (or verify); last line: CLUSTER_READY dir=<dir>
#   scripts/cluster-setup.sh lxd|incus --teardown       delete everything (instances, daemons, netns, dir, cgroups)
#   scripts/cluster-setup.sh lxd|incus --stop-member N  SIGTERM member N's daemon (its containers keep running)
#   scripts/cluster-setup.sh lxd|incus --start-member N start member N's daemon again and wait until it answers
#
# Members are <p>-m1 (database leader) and <p>-m2 (stand-by), <p> = ggcl (LXD) or ggci (Incus): stopping m1
# makes the cluster unavailable; m2 can be stopped and started freely. State dir of member N: <dir>/mN.
# Environment:
#   GUESTGATE_CLUSTER_DIR  where the members live   (default /var/lib/guestgate-ci/<p>)
#   GUESTGATE_CI_CACHE     where lxd-setup.sh keeps the image tarball (default /var/cache/guestgate-ci)
set -euo pipefail
exec </dev/null
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

readonly FLAVOUR=${1:-}
shift || true
case "$FLAVOUR" in
  lxd) P=ggcl NET=127.0.1 CLI=lxc DIR_VAR=LXD_DIR DAEMON=(lxd) INIT=(lxd init) WAITREADY=(lxd waitready)
    SHUTDOWN=(lxd shutdown) SETUP=lxd-setup.sh ;;
  incus) P=ggci NET=127.0.2 CLI=incus DIR_VAR=INCUS_DIR DAEMON=(/usr/libexec/incus/incusd) INIT=(incus admin init)
    WAITREADY=(incus admin waitready) SHUTDOWN=(incus admin shutdown) SETUP=incus-setup.sh ;;
  -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "cluster-setup: first argument: lxd or incus (got '${FLAVOUR}')" >&2; exit 2 ;;
esac
readonly P NET CLI DIR_VAR SETUP
readonly D=${GUESTGATE_CLUSTER_DIR:-/var/lib/guestgate-ci/$P}
readonly NS=$P
readonly IMAGE_ALIAS=guestgate-ci
readonly TARBALL=${GUESTGATE_CI_CACHE:-/var/cache/guestgate-ci}/guestgate-ci-bookworm-v1.tar.gz
readonly HERE=$(cd "$(dirname "$0")" && pwd)

log() { echo "cluster-setup($FLAVOUR): $*"; }
die() { echo "cluster-setup($FLAVOUR): $*" >&2; exit 1; }
# `on N cmd...`: cmd with member N's state dir in the flavour's variable (LXD_DIR or INCUS_DIR).
on() { local n=$1; shift; env "$DIR_VAR=$D/m$n" "$@"; }
member_cli() { local n=$1; shift; nsenter --net=/run/netns/$NS env "$DIR_VAR=$D/m$n" $CLI "$@"; }
daemon_pid() { on "$1" timeout 5 $CLI query /1.0 2>/dev/null | sed -n 's/.*"server_pid": *\([0-9]*\).*/\1/p'; }
answers() { [ -S "$D/m$1/unix.socket" ] && on "$1" timeout 5 $CLI query /1.0 >/dev/null 2>&1; }

start_daemon() {
  local n=$1
  answers "$n" && return 0
  mkdir -p -m 711 "$D/m$n"
  ( cd / || exit; nsenter --net=/run/netns/$NS env "$DIR_VAR=$D/m$n" setsid "${DAEMON[@]}" --group root \
      --logfile "$D/m$n.log" </dev/null >>"$D/m$n.out" 2>&1 & )
  on "$n" timeout 60 "${WAITREADY[@]}" || die "member m$n did not start (see $D/m$n.log)"
  daemon_pid "$n" >"$D/m$n.pid"
}

stop_daemon() {
  local n=$1 pid
  pid=$(cat "$D/m$n.pid" 2>/dev/null || true)
  if answers "$n"; then
    [ -n "$pid" ] || pid=$(daemon_pid "$n")
    on "$n" timeout 30 "${SHUTDOWN[@]}" --timeout 20 >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -qaE "^(lxd|/usr/libexec/incus/incusd)" "/proc/$pid/cmdline" 2>/dev/null; then
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

# After a member's daemon restarts, `waitready` returns before the cluster takes changes for its instances
# again (Incus 6.0.4 answered "Server isn't ready yet" to a config change forwarded to it): wait (60 s at
# most) until both members are ONLINE and each lists the instances through the cluster.
cluster_ready() {
  local i
  for i in $(seq 300); do
    [ "$(on 1 timeout 10 $CLI cluster list --format csv 2>/dev/null | grep -c ',ONLINE,')" = 2 ] &&
      on 1 timeout 10 $CLI query '/1.0/instances?recursion=1' >/dev/null 2>&1 &&
      on 2 timeout 10 $CLI query '/1.0/instances?recursion=1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "the cluster did not take requests within 60 s of a member's start: $(on 1 $CLI cluster list 2>&1)"
}

healthy() {
  [ -e /run/netns/$NS ] && answers 1 && answers 2 || return 1
  local list
  list=$(on 1 timeout 10 $CLI cluster list --format csv 2>/dev/null) || return 1
  [ "$(grep -c ',ONLINE,' <<<"$list")" = 2 ] || return 1
  on 1 timeout 10 $CLI image info "$IMAGE_ALIAS" >/dev/null 2>&1
}

teardown() {
  log "teardown of $D"
  local n name
  for n in 2 1; do
    if answers "$n"; then
      # Ten names per call, four calls at a time: a bench's hundreds of containers go in minutes, not tens.
      on "$n" timeout 120 $CLI list --format csv --columns n,L 2>/dev/null |
        awk -F, -v m="$P-m$n" '$2 == m { print $1 }' |
        on "$n" xargs -r -n 10 -P 4 timeout 300 $CLI delete --force >/dev/null 2>&1 || true
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
  for g in /sys/fs/cgroup/*/lxc.payload.$P-* /sys/fs/cgroup/*/lxc.monitor.$P-* \
      /sys/fs/cgroup/lxc.payload.$P-* /sys/fs/cgroup/lxc.monitor.$P-*; do
    [ -d "$g" ] && find "$g" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  log "teardown done"
}

setup() {
  if healthy; then log "cluster healthy, reused"; echo "CLUSTER_READY dir=$D"; return 0; fi
  [ -e "$D" ] || [ -e /run/netns/$NS ] && teardown
  [ -s "$TARBALL" ] || "$HERE/lxd-setup.sh" >/dev/null || die "cannot build the image (scripts/lxd-setup.sh)"
  [ "$FLAVOUR" = lxd ] || "$HERE/$SETUP" >/dev/null || die "cannot install $FLAVOUR (scripts/$SETUP)"
  [ -s "$TARBALL" ] || die "image tarball missing: $TARBALL"
  local t0=$SECONDS
  mkdir -p -m 711 "$D"
  ip netns add $NS
  ip -n $NS link set lo up
  start_daemon 1
  start_daemon 2
  nsenter --net=/run/netns/$NS env "$DIR_VAR=$D/m1" "${INIT[@]}" --preseed <<END
config: {core.https_address: "$NET.1:8443", images.auto_update_interval: "0"}
storage_pools: [{name: default, driver: dir}]
profiles: [{name: default, devices: {root: {path: /, pool: default, type: disk}}}]
cluster: {server_name: $P-m1, enabled: true}
END
  local token
  token=$(member_cli 1 cluster add $P-m2 --quiet)
  nsenter --net=/run/netns/$NS env "$DIR_VAR=$D/m2" "${INIT[@]}" --preseed <<END
config: {}
cluster:
  enabled: true
  server_name: $P-m2
  server_address: "$NET.2:8443"
  cluster_token: $token
  member_config: [{entity: storage-pool, name: default, key: source, value: ""}]
END
  member_cli 1 profile set default raw.lxc 'lxc.init.cmd = /bin/sleep infinity'
  member_cli 1 image import "$TARBALL" --alias "$IMAGE_ALIAS" >/dev/null
  healthy || die "cluster built but not healthy: $(on 1 $CLI cluster list 2>&1)"
  log "cluster built in $((SECONDS - t0)) s"
  echo "CLUSTER_READY dir=$D"
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, LXD daemons)"
case "${1:-}" in
  "") setup ;;
  --teardown) teardown ;;
  --stop-member) [[ "${2:-}" =~ ^[12]$ ]] || die "--stop-member 1|2"; kill_daemon "$2"; log "m$2 stopped" ;;
  --start-member) [[ "${2:-}" =~ ^[12]$ ]] || die "--start-member 1|2"; start_daemon "$2"; cluster_ready
    log "m$2 answers" ;;
  *) die "unknown argument: $1" ;;
esac
