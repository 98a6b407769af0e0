#!/usr/bin/env bash
# `make image`: the Rasa-server, action-server and infra (nginx, PostgreSQL, Redis) images of docker/Dockerfile.
# `image.sh daemon` only makes sure a Docker daemon answers (make image-smoke).
#
# BASE_IMAGE: the image the Dockerfile starts from. It needs Python 3.10 (Rasa 3.6 runs on 3.8-3.10); Debian
# bookworm's own Python is 3.11. Elsewhere use the official python:3.10-slim-bookworm. Unset (the default),
# a local base is made here, because no image registry is reachable from this machine: `debootstrap` of
# Debian bookworm (minbase) from the mirror apt uses, with this machine's Python 3.10 copied into /usr/local,
# then `docker import` (docs/production.md, "Container images").
#
# Extra CA certificates (a TLS-inspecting proxy between the build and PyPI): every file in EXTRA_CA_DIR
# (default /usr/local/share/ca-certificates) goes to the build as the BuildKit secret `extra_ca`, used by
# pip during the build only; it is not stored in any image layer.
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
TAG=${IMAGE_TAG:-latest}
PREFIX=${IMAGE_PREFIX:-tanya-artikel}
LOCAL_BASE="$PREFIX/base:bookworm-python3.10"
BASE_IMAGE=${BASE_IMAGE:-}
EXTRA_CA_DIR=${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}
WORK=var/image
mkdir -p "$WORK"

say() { echo "image: $*"; }

# --- the Docker daemon --------------------------------------------------------------------------------------
if ! "$DOCKER" info >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v dockerd >/dev/null; then
    echo "error: no Docker daemon answers; start it (e.g. sudo systemctl start docker) and run make image again" >&2
    exit 1
  fi
  say "starting dockerd (no service manager here; log in $WORK/dockerd.log)"
  setsid dockerd >"$WORK/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "error: dockerd did not start; see $WORK/dockerd.log" >&2; exit 1; }
fi

[ "${1:-}" = daemon ] && exit 0

# BuildKit (for the CA secret) comes with Docker 20.10's own client; newer clients need the buildx plugin.
if ! "$DOCKER" buildx version >/dev/null 2>&1; then
  major=$("$DOCKER" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
  if [ "${major:-0}" -ge 23 ] && [ -x /usr/bin/docker ] && [ "$(command -v "$DOCKER")" != /usr/bin/docker ]; then
    say "this docker client ($major.x) needs buildx for BuildKit; using Debian's /usr/bin/docker"
    DOCKER=/usr/bin/docker
  fi
fi

# --- the base image -----------------------------------------------------------------------------------------
mirror() {  # the Debian mirror apt uses here
  { grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
    grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -m1 -E '/debian/?$'
}

if [ -z "$BASE_IMAGE" ]; then
  BASE_IMAGE=$LOCAL_BASE
  if ! "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    python=$(command -v "${PYTHON310:-python3.10}" || true)
    prefix=$("${python:-false}" -c 'import sys; print(sys.base_prefix)' 2>/dev/null) || {
      echo "error: Python 3.10 not found for the local base image; set PYTHON310 or BASE_IMAGE" >&2; exit 1; }
    rootfs="$WORK/rootfs"
    rm -rf "$rootfs"
    say "debootstrap bookworm (minbase) from $(mirror) into $rootfs ..."
    debootstrap --variant=minbase \
      --include=ca-certificates,make,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libreadline8,libuuid1 \
      bookworm "$rootfs" "$(mirror)" >"$WORK/debootstrap.log" 2>&1 || {
        echo "error: debootstrap failed; see $WORK/debootstrap.log" >&2; exit 1; }
    say "adding Python 3.10 from $prefix to /usr/local ..."
    mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib"
    cp -a "$prefix"/bin/python3.10 "$rootfs/usr/local/bin/"
    cp -a "$prefix"/lib/libpython3.10.so* "$rootfs/usr/local/lib/"
    tar -C "$prefix/lib" --exclude='python3.10/site-packages/*' --exclude='__pycache__' \
      --exclude='python3.10/test' -cf - python3.10 | tar -C "$rootfs/usr/local/lib" -xf -
    ln -sf python3.10 "$rootfs/usr/local/bin/python3"
    ln -sf python3 "$rootfs/usr/local/bin/python"
    chroot "$rootfs" ldconfig
    chroot "$rootfs" /usr/local/bin/python3.10 -c 'import ssl, ctypes, sqlite3, venv, ensurepip; print("python ok")'
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    say "docker import -> $BASE_IMAGE"
    tar -C "$rootfs" -c . | "$DOCKER" import \
      --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
  fi
fi

# --- extra CA certificates, as a build secret ---------------------------------------------------------------
secret=()
ca="$WORK/extra-ca.pem"
trap 'rm -f "$ca"' EXIT
: > "$ca"
if [ -d "$EXTRA_CA_DIR" ]; then
  find "$EXTRA_CA_DIR" -maxdepth 1 -type f \( -name '*.crt' -o -name '*.pem' \) -exec cat {} + >> "$ca"
fi
[ -s "$ca" ] && secret=(--secret "id=extra_ca,src=$ca")

# --- the images ---------------------------------------------------------------------------------------------
for target in rasa actions infra; do
  say "building $PREFIX/$target:$TAG (from $BASE_IMAGE) ..."
  DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain -f docker/Dockerfile --target "$target" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" "${secret[@]}" -t "$PREFIX/$target:$TAG" . >"$WORK/build-$target.log" 2>&1 || {
      tail -30 "$WORK/build-$target.log" >&2; echo "error: the $target image did not build; see $WORK/build-$target.log" >&2; exit 1; }
done
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep "^$PREFIX/"
