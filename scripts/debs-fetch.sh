#!/usr/bin/env bash
# Debian packages the interop suite installs INSIDE containers (which have no network), fetched once into
# the CI cache and reused: cloud-init 25.1.4 (Debian trixie) and its one dependency bookworm lacks,
# LXD's Go client (bookworm's lxd-client 5.0.2, for `lxc image export` inside a container),
# netcat-openbsd (bookworm). A private apt sources list and lists dir: the host's apt state is untouched,
# nothing is installed on the host. Idempotent; quick when cached.
#
#   scripts/debs-fetch.sh     last line: DEBS_READY dir=<cache>/debs
#
# Environment: GUESTGATE_CI_CACHE (default /var/cache/guestgate-ci), GUESTGATE_CI_DEBIAN (mirror).
set -euo pipefail
CACHE_DIR=${GUESTGATE_CI_CACHE:-/var/cache/guestgate-ci}
DEBIAN=${GUESTGATE_CI_DEBIAN:-http://deb.debian.org/debian}
OUT="$CACHE_DIR/debs"
APT_DIR="$CACHE_DIR/debs-apt"
# name=version wanted; the file name apt gives is <name>_<version with : as %3a>_<arch>.deb
readonly WANT=(cloud-init=25.1.4-1+deb13u1 netcat-openbsd=1.219-1 lxd-client=5.0.2-5+deb12u6)
# A nested LXD 5.0.2 daemon: lxd and what the CI image (bookworm minbase) lacks of its dependencies
# (apt --print-uris against the image's dpkg status), into debs/nested-lxd/.
readonly NESTED=(attr libapparmor1 libdqlite0 libfuse3-3 liblxc-common liblxc1 liblzo2-2 libraft2 libsubid4 libuv1
  lxcfs lxd rsync squashfs-tools uidmap xz-utils)
export LC_ALL=C.UTF-8
exec </dev/null

mkdir -p "$OUT" "$APT_DIR/lists/partial"
missing=()
for nv in "${WANT[@]}"; do
  n=${nv%%=*} v=${nv#*=}
  ls "$OUT/${n}_${v}_"*.deb >/dev/null 2>&1 || missing+=("$nv")
done
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'deb %s bookworm main\ndeb %s trixie main\n' "$DEBIAN" "$DEBIAN" >"$APT_DIR/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$APT_DIR/lists"
    -o APT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update -q >"$APT_DIR/update.log" 2>&1 || { tail -n 20 "$APT_DIR/update.log" >&2; exit 1; }
  (cd "$OUT" && apt-get "${opts[@]}" download "${missing[@]}") >"$APT_DIR/download.log" 2>&1 || {
    tail -n 20 "$APT_DIR/download.log" >&2
    exit 1
  }
  echo "debs-fetch: fetched ${missing[*]}"
fi
mkdir -p "$OUT/nested-lxd"
if [ "$(ls "$OUT/nested-lxd" | grep -c '\.deb$')" -lt "${#NESTED[@]}" ]; then
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
    "$DEBIAN" "$DEBIAN" >"$APT_DIR/sources-bookworm.list"
  opts=(-o "Dir::Etc::sourcelist=$APT_DIR/sources-bookworm.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$APT_DIR/lists"
    -o APT::Get::List-Cleanup=0)
  ls "$APT_DIR/lists" | grep -q bookworm-security_main || apt-get "${opts[@]}" update -q >"$APT_DIR/update.log" 2>&1
  (cd "$OUT/nested-lxd" && apt-get "${opts[@]}" download "${NESTED[@]}") >"$APT_DIR/download.log" 2>&1 || {
    tail -n 20 "$APT_DIR/download.log" >&2
    exit 1
  }
  echo "debs-fetch: fetched the nested LXD packages"
fi
echo "DEBS_READY dir=$OUT"
