#!/usr/bin/env bash
# The Debian packages the tests need and a fresh machine lacks: PostgreSQL's server binaries (the tests start
# their own cluster as the unprivileged postgres user), ClamAV and its test files (the engine is measured
# against clamscan), clamd (the tests start their own, as the clamav user, for the formats only libclamav
# opens), libarchive, 7-Zip (the engine reads ARJ and zip implode through it; the tests build 7z archives with
# it), the archivers the format tests build their corpus with (ncompress, genisoimage), and Chromium (the
# console is tested in it). Called by `make test` when run as
# root and by .ci/run; it installs only what is missing, so a second run costs a few `dpkg -s` calls.
set -euo pipefail

need=()
{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1; } || need+=(postgresql)
command -v clamscan >/dev/null 2>&1 || need+=(clamav)
{ command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; } || need+=(clamav-daemon)
[ -d /usr/share/clamav-testfiles ] || need+=(clamav-testfiles)
dpkg -s libarchive13 >/dev/null 2>&1 || dpkg -s libarchive13t64 >/dev/null 2>&1 || need+=(libarchive13)
command -v 7z >/dev/null 2>&1 || need+=(p7zip-full)
command -v compress >/dev/null 2>&1 || need+=(ncompress)
command -v genisoimage >/dev/null 2>&1 || need+=(genisoimage)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (run as root, or: sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
