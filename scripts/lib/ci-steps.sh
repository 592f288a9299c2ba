# Shared steps of the CI daemon scripts (lxd-setup.sh, incus-setup.sh): timed step logging, starting a
# daemon by hand (no systemd here), the default storage pool, importing the cached image under an alias,
# and deleting test containers. Sourced, never run. The caller sets CI_NAME (log prefix) first.
#
# Each daemon is driven through its own client: the functions take the client command (`lxc`, `incus`)
# as their first argument, so the two scripts differ only in what really differs.

SCRIPT_T0=$(date +%s%N)
STEP=init
STEP_T0=0

log() { echo "$CI_NAME: $*"; }
die() { echo "$CI_NAME: $*" >&2; exit 1; }
secs_since() { # ns start -> "12.3s"
  local d=$(($(date +%s%N) - $1))
  printf '%d.%01ds' $((d / 1000000000)) $(((d / 100000000) % 10))
}
step_begin() { STEP=$1; STEP_T0=$(date +%s%N); log "[$STEP] ..."; }
step_end() { log "[$STEP] ${1:-done} ($(secs_since "$STEP_T0"))"; }

# Report the failed step (and the daemon log's tail when the daemon failed to start) on a non-zero exit.
# $1: the step whose failure should show $2 (a log file).
ci_report_failure() {
  local rc=$1 daemon_step=$2 daemon_log=$3
  [ "$rc" -eq 0 ] && return 0
  echo "$CI_NAME: FAILED at step '$STEP' (exit $rc) after $(secs_since "$SCRIPT_T0")" >&2
  if [ "$STEP" = "$daemon_step" ] && [ -f "$daemon_log" ]; then
    echo "$CI_NAME: last lines of $daemon_log:" >&2
    tail -n 20 "$daemon_log" >&2 || true
  fi
}

unmount_under() { # unmount everything mounted at or below $1, deepest first
  local root=$1 m
  [ -n "$root" ] || return 0
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}

# Take the one-run-at-a-time lock on fd 9 (CI and a developer may overlap). Daemons started later must
# not inherit it (9>&- below).
ci_lock() {
  exec 9>"$1"
  flock -w 1800 9 || die "could not take $1"
}

# ci_teardown CLIENT GLOB: delete every container whose name matches GLOB (images and caches kept).
ci_teardown() {
  local client=$1 glob=$2 n=0 name
  step_begin teardown
  if ! command -v "$client" >/dev/null 2>&1 || ! "$client" info >/dev/null 2>&1; then
    step_end "daemon not running: nothing to delete"
    return 0
  fi
  while read -r name; do
    # shellcheck disable=SC2254 # GLOB is a pattern on purpose
    case "$name" in $glob) "$client" delete --force "$name" && n=$((n + 1)) ;; esac
  done < <("$client" list --format csv -c n)
  step_end "deleted $n container(s)"
}

# ci_start_daemon CLIENT PIDFILE OUTFILE WAITREADY -- COMMAND...: step start-<CLIENT's daemon>: start the
# daemon in its own session unless it answers (or is already starting), wait until it answers (120 s),
# then run WAITREADY.
ci_start_daemon() {
  local client=$1 pidfile=$2 outfile=$3 waitready=$4 pid= deadline
  shift 5
  if "$client" info >/dev/null 2>&1; then
    step_end "already running"
    return 0
  fi
  [ -f "$pidfile" ] && pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "$(basename "$1")" "/proc/$pid/comm" 2>/dev/null; then
    log "$(basename "$1") (pid $pid) is already starting"
  else
    # From /: a daemon keeps the folder it started in as its cwd, and LXD's rsync (lxc copy) fails with
    # "getcwd(): No such file or directory" once that checkout is removed.
    (cd / && exec setsid "$@" </dev/null >"$outfile" 2>&1 9>&-) &
    pid=$!
    echo "$pid" >"$pidfile"
    log "started $(basename "$1") (pid $pid)"
  fi
  deadline=$(($(date +%s) + 120))
  until "$client" info >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$CI_NAME: $(basename "$1") (pid $pid) exited; $outfile:" >&2
      tail -n 20 "$outfile" >&2 || true
      exit 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || die "$(basename "$1") did not answer within 120s"
    sleep 0.5
  done
  $waitready --timeout 120
  step_end "ready"
}

# ci_storage CLIENT: step storage: a `default` dir pool and the default profile's root disk on it.
ci_storage() {
  local client=$1 did=
  step_begin storage
  if ! "$client" storage show default >/dev/null 2>&1; then
    "$client" storage create default dir
    did="pool default (dir) created"
  fi
  if ! "$client" profile device get default root pool >/dev/null 2>&1; then
    "$client" profile device add default root disk path=/ pool=default
    did="${did:+$did, }root disk added to the default profile"
  fi
  step_end "${did:-already configured}"
}

# ci_image_import CLIENT TARBALL ALIAS: step image-import: ALIAS points at TARBALL's image (a unified
# image's fingerprint is the sha256 of its tarball). Prints nothing on stdout; sets IMAGE_FP.
ci_image_import() {
  local client=$1 tarball=$2 alias=$3 want have=
  step_begin image-import
  want=$(sha256sum "$tarball" | cut -d' ' -f1)
  "$client" image info "$alias" >/dev/null 2>&1 && have=$(ci_image_fingerprint "$client" "$alias")
  if [ "$have" = "$want" ]; then
    step_end "already imported"
  else
    if [ -n "$have" ]; then
      log "alias $alias points at ${have:0:12}, the cached tarball is ${want:0:12}: re-pointing"
      "$client" image alias delete "$alias"
    fi
    if "$client" image info "$want" >/dev/null 2>&1; then
      "$client" image alias create "$alias" "$want"
    else
      "$client" image import "$tarball" --alias "$alias"
    fi
    step_end "imported ${want:0:12}"
  fi
  IMAGE_FP=$(ci_image_fingerprint "$client" "$alias")
  [ "$IMAGE_FP" = "$want" ] || die "alias $alias -> '$IMAGE_FP', expected $want"
}
ci_image_fingerprint() { "$1" image info "$2" | awk '/^Fingerprint:/ { print $2; exit }'; }
