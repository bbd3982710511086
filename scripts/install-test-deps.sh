#!/usr/bin/env bash
# Installs the Debian packages the end-to-end suite drives (real clients), when running as root
# and they are missing. Idempotent; prints nothing when all is there.
set -euo pipefail
missing=()
command -v s3cmd >/dev/null 2>&1 || missing+=(s3cmd)
[ -x /usr/bin/aws ] || missing+=(awscli)
command -v curl >/dev/null 2>&1 || missing+=(curl)
for extra in "$@"; do
  dpkg -s "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "missing test dependencies: ${missing[*]} (install them, or run as root)" >&2
  exit 1
fi
echo "installing test dependencies: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
