#!/usr/bin/env bash
# up.sh — a throw-away single-node Ceph cluster (1 mon, 1 OSD, no mgr) plus one radosgw (S3),
# loopback only, from Debian 12's Ceph 16.2 (Pacific) packages, for tests, the benchmark and
# trying upstream mode by hand.
#
# Usage:   scripts/ceph/up.sh [DIR]        (or CEPH_DIR=DIR; default: a new mktemp -d)
# Stop:    scripts/ceph/down.sh DIR        (kills exactly the PIDs recorded here)
#
# Everything (config, mon store, OSD data, logs, sockets, pid files) lives under DIR; nothing
# is written to /etc/ceph or /var/lib/ceph. If DIR already holds a cluster made by this script,
# the daemons that are not running are started again with the saved settings (so stopping only
# radosgw with `CEPH_ONLY=rgw down.sh` and running up.sh again restarts radosgw alone).
#
# It creates the RGW user Cellar's upstream mode needs: --system, caps
# users=*;buckets=*;metadata=*. Output: DIR/upstream.env (sourceable: CELLAR_UPSTREAM_URL,
# CELLAR_UPSTREAM_ACCESS_KEY, CELLAR_UPSTREAM_SECRET_KEY, CEPH_CONF, RGW_PID), DIR/run/pids
# ("name pid" per line), DIR/timings, DIR/log/*. The last line on stdout is the endpoint.
#
# Knobs (defaults in brackets):
#   CEPH_STORE   memstore | bluestore [memstore]  memstore keeps objects in the OSD's RAM and
#                starts faster; bluestore uses a sparse file DIR/osd/ceph-0/block.file (needs a
#                real filesystem, not tmpfs)
#   CEPH_OSD_GB  bluestore file size / memstore budget in GiB [4]
#   RGW_PORT, MON_PORT (msgr1 = +1), MS_PORT_MIN..MS_PORT_MAX (OSD sockets, 50 ports):
#                a free block of loopback ports is picked when RGW_PORT is unset
#   RGW_DNS_NAME [localhost]   RGW_WEBSITE_DNS_NAME [s3-website.localhost]
#   RGW_SYSTEM_UID [cellar-system]; RGW_SYSTEM_ACCESS_KEY / RGW_SYSTEM_SECRET_KEY [random]
#   CEPH_FRESH=1 wipe DIR's cluster and start over;  CEPH_INSTALL=0 never run apt-get
#   WAIT_S [120] how long to wait for each daemon
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-${1:-}}
[ -n "$CEPH_DIR" ] || CEPH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cellar-ceph.XXXXXX")
mkdir -p "$CEPH_DIR"
CEPH_DIR=$(cd "$CEPH_DIR" && pwd -P)

CEPH_STORE=${CEPH_STORE:-memstore}
CEPH_OSD_GB=${CEPH_OSD_GB:-4}
RGW_DNS_NAME=${RGW_DNS_NAME:-localhost}
RGW_WEBSITE_DNS_NAME=${RGW_WEBSITE_DNS_NAME:-s3-website.localhost}
RGW_SYSTEM_UID=${RGW_SYSTEM_UID:-cellar-system}
CEPH_INSTALL=${CEPH_INSTALL:-1}
WAIT_S=${WAIT_S:-120}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
log() { echo "[ceph/up.sh $(date +%T)] $*" >&2; }
running() {  # alive and not a zombie
  local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
random_token() { head -c 4096 /dev/urandom | tr -dc "$1" | head -c "$2"; }
STARTED=()   # pids started by this run, stopped again if the run fails
die() {
  log "ERROR: $*"
  local i pid
  for (( i=${#STARTED[@]}-1; i>=0; i-- )); do
    pid=${STARTED[$i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 60); do running "$pid" || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    log "stopped pid $pid"
  done
  exit 1
}

T_START=$(now)

# ---------------------------------------------------------------- packages ---
need_pkgs=()
command -v ceph-mon >/dev/null || need_pkgs+=(ceph-mon)
command -v ceph-osd >/dev/null || need_pkgs+=(ceph-osd)
command -v radosgw  >/dev/null || need_pkgs+=(radosgw)
command -v ceph     >/dev/null || need_pkgs+=(ceph-common)
command -v uuidgen  >/dev/null || need_pkgs+=(uuid-runtime)
command -v curl     >/dev/null || need_pkgs+=(curl)
T_INSTALL=0
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ "$CEPH_INSTALL" = 1 ] || die "missing packages: ${need_pkgs[*]} (CEPH_INSTALL=0)"
  [ "$(id -u)" = 0 ] || die "missing packages: ${need_pkgs[*]} (install them, or run as root)"
  log "installing: ${need_pkgs[*]}"
  t=$(now)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show ceph-mon >/dev/null 2>&1; then apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null; fi
  # The postinst scripts only create systemd links; without systemd nothing starts by itself.
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need_pkgs[@]}" \
    > "$CEPH_DIR/apt-install.log" 2>&1 || { tail -20 "$CEPH_DIR/apt-install.log" >&2; die "apt-get install failed"; }
  T_INSTALL=$(elapsed "$t")
  log "packages installed in ${T_INSTALL}s"
fi

# ------------------------------------------------------------------ layout ---
CONF=$CEPH_DIR/ceph.conf
RUN=$CEPH_DIR/run
PIDS=$RUN/pids
export CEPH_CONF=$CONF

if [ "${CEPH_FRESH:-0}" = 1 ]; then
  if [ -f "$PIDS" ]; then
    while read -r name pid; do running "$pid" && die "$name (pid $pid) is still running; run down.sh first"; done < "$PIDS"
  fi
  rm -rf "$CONF" "$RUN" "$CEPH_DIR"/{mon,osd,rgw,log,crash,monmap,keyring,params,upstream.env,timings}
fi
FRESH=1
[ -f "$CEPH_DIR/params" ] && FRESH=0
mkdir -p "$RUN" "$CEPH_DIR"/{mon,osd,rgw,log,crash}
touch "$PIDS"

if [ $FRESH = 0 ]; then
  # restarting an existing cluster: its ports, names, keys and store win over the environment
  # shellcheck disable=SC1091
  . "$CEPH_DIR/params"
else
  if [ -z "${RGW_PORT:-}" ]; then
    # A block of 72 ports (rgw, mon v2+v1, 50 for the OSD) where nothing listens yet, below the
    # kernel's ephemeral range: a port in that range can be taken as the source port of any
    # outgoing connection between this check and the daemon's bind (a mon that cannot bind never
    # reaches quorum).
    eph_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "${eph_low:-0}" -gt 12000 ] 2>/dev/null || eph_low=32768
    for _ in $(seq 1 50); do
      base=$(( 10000 + (RANDOM * 32768 + RANDOM) % (eph_low - 10000 - 72) ))
      free=1
      for p in $base $((base+10)) $((base+11)); do listening "$p" && { free=0; break; }; done
      [ $free = 1 ] && break
    done
    [ $free = 1 ] || die "no free port block found"
    RGW_PORT=$base MON_PORT=$((base+10)) MS_PORT_MIN=$((base+20)) MS_PORT_MAX=$((base+69))
  fi
  MON_PORT=${MON_PORT:-$((RGW_PORT+10))}
  MS_PORT_MIN=${MS_PORT_MIN:-$((RGW_PORT+20))}
  MS_PORT_MAX=${MS_PORT_MAX:-$((RGW_PORT+69))}
  RGW_SYSTEM_ACCESS_KEY=${RGW_SYSTEM_ACCESS_KEY:-$(random_token 'A-Z0-9' 20)}
  RGW_SYSTEM_SECRET_KEY=${RGW_SYSTEM_SECRET_KEY:-$(random_token 'A-Za-z0-9' 40)}
  cat > "$CEPH_DIR/params" <<PARAMS
CEPH_STORE=$CEPH_STORE
RGW_PORT=$RGW_PORT
MON_PORT=$MON_PORT
MS_PORT_MIN=$MS_PORT_MIN
MS_PORT_MAX=$MS_PORT_MAX
RGW_DNS_NAME=$RGW_DNS_NAME
RGW_WEBSITE_DNS_NAME=$RGW_WEBSITE_DNS_NAME
RGW_SYSTEM_UID=$RGW_SYSTEM_UID
RGW_SYSTEM_ACCESS_KEY=$RGW_SYSTEM_ACCESS_KEY
RGW_SYSTEM_SECRET_KEY=$RGW_SYSTEM_SECRET_KEY
PARAMS
  FSID=$(uuidgen)
  cat > "$CONF" <<CONFIG
# generated by scripts/ceph/up.sh — single node, loopback only, no cephx, one replica
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT+1))]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $MS_PORT_MIN
ms bind port max = $MS_PORT_MAX
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
# Without cephx there is no session key, so msgr2 "secure" mode is impossible, and daemons of
# type client (radosgw) default to secure-only towards the mon: allow crc.
ms cluster mode = crc secure
ms service mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms mon service mode = crc secure
ms mon client mode = crc secure
keyring = $CEPH_DIR/keyring
run dir = $RUN
admin socket = $RUN/\$name.asok
pid file = $RUN/\$name.pid
log file = $CEPH_DIR/log/\$name.log
crash dir = $CEPH_DIR/crash
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $CEPH_DIR/mon/\$cluster-\$id
# One mon, no peers: commit map changes at once (RGW creates its pools one round at a time).
paxos propose interval = 0.1
paxos min wait = 0.01

[osd]
osd data = $CEPH_DIR/osd/\$cluster-\$id
osd objectstore = $CEPH_STORE
# memstore writes its contents to disk only on a clean umount, which fast shutdown skips.
osd fast shutdown = false
memstore device bytes = $((CEPH_OSD_GB*1024*1024*1024))
bluestore block path = $CEPH_DIR/osd/\$cluster-\$id/block.file
bluestore block create = true
bluestore block size = $((CEPH_OSD_GB*1024*1024*1024))
bluestore fsck on mount = false
osd memory target = 1073741824
osd class load list = *
osd class default list = *

[client.rgw]
rgw data = $CEPH_DIR/rgw
# tcp_nodelay: without it small GETs stall ~40 ms (Nagle + delayed ACK).
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = $RGW_DNS_NAME
rgw dns s3website name = $RGW_WEBSITE_DNS_NAME
rgw enable static website = true
rgw thread pool size = 128
# Deleted objects' data is reclaimed after this many seconds (default 2 h): memstore gives RAM back.
rgw gc obj min wait = 60
rgw gc processor period = 60
CONFIG
fi

# ----------------------------------------------------------------- helpers ---
alive() {  # alive NAME: the recorded daemon NAME still runs
  local pid; pid=$(awk -v n="$1" '$1==n{print $2}' "$PIDS" | tail -1)
  [ -n "$pid" ] && running "$pid"
}
start() {  # start NAME BINARY ARGS...: foreground mode, in the background, pid recorded
  local name=$1; shift
  nohup "$@" -f > "$CEPH_DIR/log/$name.stdout" 2>&1 < /dev/null &
  local pid=$!
  awk -v n="$name" '$1!=n' "$PIDS" > "$PIDS.new"; echo "$name $pid" >> "$PIDS.new"; mv "$PIDS.new" "$PIDS"
  STARTED+=("$pid")
  log "started $name pid $pid"
}
wait_for() {  # wait_for DESC CMD...: poll until CMD succeeds or WAIT_S passes
  local desc=$1; shift
  local deadline=$(( $(date +%s) + WAIT_S ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "timed out waiting for $desc (see $CEPH_DIR/log)"
    sleep 0.2
  done
}
C() { timeout 30 ceph -c "$CONF" "$@"; }

T_CLUSTER=$(now)
# --------------------------------------------------------------------- mon ---
if [ $FRESH = 1 ]; then
  ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$CEPH_DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
  FSID=$(awk '$1=="fsid"{print $3}' "$CONF")
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT+1))]" "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring"
fi
alive mon.a || start mon.a ceph-mon -c "$CONF" -i a
wait_for "mon quorum" C mon stat

# --------------------------------------------------------------------- osd ---
if [ $FRESH = 1 ]; then
  OSD_UUID=$(uuidgen)
  OSD_ID=$(C osd new "$OSD_UUID")
  mkdir -p "$CEPH_DIR/osd/ceph-$OSD_ID"
  ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" > "$CEPH_DIR/log/osd-mkfs.log" 2>&1 \
    || { tail -20 "$CEPH_DIR/log/osd-mkfs.log" >&2; die "ceph-osd --mkfs failed"; }
  echo "$OSD_ID" > "$CEPH_DIR/osd/id"
fi
OSD_ID=$(cat "$CEPH_DIR/osd/id")
alive "osd.$OSD_ID" || start "osd.$OSD_ID" ceph-osd -c "$CONF" -i "$OSD_ID"
osd_up() { C osd dump | grep -q "^osd.$OSD_ID up "; }
wait_for "osd.$OSD_ID up" osd_up

# --------------------------------------------------------------------- rgw ---
alive client.rgw || start client.rgw radosgw -c "$CONF" -n client.rgw
wait_for "radosgw on 127.0.0.1:$RGW_PORT" curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
T_RGW=$(elapsed "$T_CLUSTER")
log "radosgw answering on http://127.0.0.1:$RGW_PORT ${T_RGW}s after cluster start"

# ------------------------------------------------------------- system user ---
if [ $FRESH = 1 ]; then
  radosgw-admin -c "$CONF" user create --uid="$RGW_SYSTEM_UID" --display-name="Cellar gateways" --system \
    --access-key="$RGW_SYSTEM_ACCESS_KEY" --secret-key="$RGW_SYSTEM_SECRET_KEY" >/dev/null
  radosgw-admin -c "$CONF" caps add --uid="$RGW_SYSTEM_UID" --caps="users=*;buckets=*;metadata=*" >/dev/null
  # The first bucket and object make RGW create its index and data pools: do it now, so the
  # first real request is not an outlier.
  S3C=(curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_SYSTEM_ACCESS_KEY:$RGW_SYSTEM_SECRET_KEY"
       -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
  W="http://127.0.0.1:$RGW_PORT/up-sh-warmup-$$"
  { "${S3C[@]}" -X PUT "$W" && "${S3C[@]}" -X PUT --data-binary warm "$W/o" \
    && "${S3C[@]}" -X DELETE "$W/o" && "${S3C[@]}" -X DELETE "$W"; } >/dev/null || die "S3 warm-up request failed"
fi

RGW_PID=$(awk '$1=="client.rgw"{print $2}' "$PIDS")
cat > "$CEPH_DIR/upstream.env" <<ENV
export CEPH_CONF=$CONF
export CEPH_DIR=$CEPH_DIR
export RGW_PID=$RGW_PID
export CELLAR_UPSTREAM_URL=http://127.0.0.1:$RGW_PORT
export CELLAR_UPSTREAM_ACCESS_KEY=$RGW_SYSTEM_ACCESS_KEY
export CELLAR_UPSTREAM_SECRET_KEY=$RGW_SYSTEM_SECRET_KEY
ENV
T_TOTAL=$(elapsed "$T_START")
printf 'install_s=%s\ncluster_to_rgw_s=%s\ntotal_s=%s\nstore=%s fresh=%s\n' "$T_INSTALL" "$T_RGW" "$T_TOTAL" "$CEPH_STORE" "$FRESH" > "$CEPH_DIR/timings"
log "ready: install ${T_INSTALL}s, cluster+rgw ${T_RGW}s, total ${T_TOTAL}s; settings in $CEPH_DIR/upstream.env"
echo "http://127.0.0.1:$RGW_PORT"
