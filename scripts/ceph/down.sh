#!/usr/bin/env bash
# down.sh — stop exactly the daemons scripts/ceph/up.sh started (PIDs from DIR/run/pids).
# Usage: scripts/ceph/down.sh DIR   (or CEPH_DIR=DIR)
#   CEPH_ONLY=rgw   stop radosgw alone (up.sh on the same DIR starts it again)
#   CEPH_WIPE=1     also delete DIR afterwards
#   STOP_TIMEOUT_S  seconds between SIGTERM and SIGKILL [30] (a memstore OSD saves itself meanwhile)
set -uo pipefail
CEPH_DIR=${CEPH_DIR:-${1:-}}
[ -n "$CEPH_DIR" ] || { echo "usage: $0 DIR (or CEPH_DIR=DIR)" >&2; exit 2; }
CEPH_DIR=$(cd "$CEPH_DIR" 2>/dev/null && pwd -P) || { echo "[ceph/down.sh] no such dir" >&2; exit 0; }
PIDS=$CEPH_DIR/run/pids

exe_of() {  # the binary each recorded name must be, so a recycled PID is never signalled
  case $1 in mon.*) echo ceph-mon ;; osd.*) echo ceph-osd ;; client.rgw*) echo radosgw ;; *) echo "" ;; esac
}
ours() {  # ours NAME PID: PID is still the daemon we started, with this DIR's ceph.conf
  local want cmd; want=$(exe_of "$1")
  [ -n "$want" ] && [ -r "/proc/$2/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$2/cmdline")
  [[ $cmd == *"$want"* && $cmd == *"$CEPH_DIR/ceph.conf"* ]] && [ "$(awk '{print $3}' "/proc/$2/stat" 2>/dev/null)" != Z ]
}

if [ -f "$PIDS" ]; then
  mapfile -t lines < <(tac "$PIDS")   # reverse start order: rgw, osd, mon
  keep=()
  for line in "${lines[@]}"; do
    read -r name pid <<< "$line"
    if [ "${CEPH_ONLY:-}" = rgw ] && [ "$name" != client.rgw ]; then keep+=("$line"); continue; fi
    if ours "$name" "$pid"; then
      echo "[ceph/down.sh] stopping $name (pid $pid)" >&2
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 $(( ${STOP_TIMEOUT_S:-30} * 10 ))); do ours "$name" "$pid" || break; sleep 0.1; done
      if ours "$name" "$pid"; then
        echo "[ceph/down.sh] $name (pid $pid) still running after SIGTERM: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
      fi
    fi
  done
  if [ ${#keep[@]} -gt 0 ]; then printf '%s\n' "${keep[@]}" | tac > "$PIDS"; else rm -f "$PIDS"; fi
fi
if [ "${CEPH_WIPE:-0}" = 1 ] && [ -z "${CEPH_ONLY:-}" ]; then
  # Only what up.sh creates: DIR may be a directory the caller also uses for other things.
  rm -rf "$CEPH_DIR"/{ceph.conf,run,mon,osd,rgw,log,crash,monmap,keyring,params,upstream.env,timings,apt-install.log}
  rmdir "$CEPH_DIR" 2>/dev/null
  echo "[ceph/down.sh] wiped the cluster in $CEPH_DIR" >&2
fi
