#!/usr/bin/env bash
# The whole test suite: unit (beside the code), integration (real server in-process, SDK
# client) and end-to-end (real server process, real CLIs). One summary line at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
# Ceph (mon, osd, radosgw) for the upstream-mode suites: scripts/ceph/up.sh starts one cluster per file.
bash scripts/install-test-deps.sh chromium pebble openssl rclone python3-boto3 ceph-mon ceph-osd radosgw ceph-common uuid-runtime || exit 1
npm run --silent build || exit 1
node scripts/check-imports.mjs || exit 1

pass=0; fail=0; status=0
run_layer() {
  local name=$1; shift
  local log; log=$(mktemp)
  echo "=== $name tests"
  node --test --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$log" "$@"
  local rc=$?
  local p f
  p=$(grep -E '^# pass ' "$log" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail ' "$log" | tail -1 | awk '{print $3}')
  echo "--- $name: ${p:-0} passed, ${f:-0} failed"
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  [ $rc -eq 0 ] || status=1
  rm -f "$log"
}
run_layer unit dist/src
run_layer integration dist/test
run_layer e2e dist/e2e
echo "total: $pass passed, $fail failed"
exit $status
