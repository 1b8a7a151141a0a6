#!/usr/bin/env bash
# Build a Debian 12 + Python 3.11 base image without pulling anything from a registry
# (`make base`): for machines where no container registry answers. Where one does, the
# Dockerfiles' default base (the upstream python:3.11 slim image, pinned by digest) needs none of
# this.
#
#   images/offline_base.sh [NAME:TAG]      default: kfp-tabular/base:bookworm-py3.11
#
# An existing image of that name is kept (REBUILD=1 makes it again).
# debootstrap fetches the packages from the Debian mirror this machine's apt is already
# configured with (read from apt, never written here), into a folder that `docker import` turns
# into an image. The image holds what both Dockerfiles need and what the upstream slim image
# has: python3.11 with venv, ca-certificates, libgomp1 (xgboost and LightGBM link it), the tools
# useradd needs, and `python`/`python3` links, so the Dockerfiles work unchanged on either base.
# Docs, man pages, locales and apt's lists are removed. Needs root, debootstrap and a Docker
# engine; about 1.5 minutes.
set -euo pipefail

NAME=${1:-${OFFLINE_BASE:-kfp-tabular/base:bookworm-py3.11}}
SUITE=bookworm
DOCKER=${DOCKER:-docker}

mirror() {
    # The first configured mirror that serves the suite itself (not -updates or -security).
    apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 2>/dev/null \
        | awk -v suite="$SUITE" '$2 == suite { print $1; exit }'
}

if [[ -z "${REBUILD:-}" ]] && "$DOCKER" image inspect "$NAME" >/dev/null 2>&1; then
    echo "offline_base: $NAME exists ($("$DOCKER" image inspect -f '{{.Id}}' "$NAME")); REBUILD=1 makes it again"
    exit 0
fi
MIRROR=${DEBIAN_MIRROR:-$(mirror)}
if [[ -z "$MIRROR" ]]; then
    echo "offline_base: no apt source for '$SUITE' configured on this machine; set DEBIAN_MIRROR" >&2
    exit 2
fi
command -v debootstrap >/dev/null || {
    echo "offline_base: debootstrap is missing (apt-get install debootstrap)" >&2
    exit 2
}

ROOTFS=$(mktemp -d /tmp/kfp-tabular-base.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
start=$(date +%s)
echo "offline_base: debootstrap $SUITE from the configured mirror into $ROOTFS"
# python3-venv (not python3.11-venv alone, which fails to configure here) brings ensurepip.
debootstrap --variant=minbase \
    --include=python3.11,python3-venv,ca-certificates,libgomp1 \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
    tail -20 "$ROOTFS.log" >&2
    exit 1
}
rm -f "$ROOTFS.log"

# `python` as in the upstream image (Debian names it python3 only).
ln -sf python3 "$ROOTFS/usr/bin/python"
# What an image does not need: package caches and lists, docs, man pages, locales but C.
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/root/.cache
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} +
find "$ROOTFS/usr/lib/python3.11" -name '__pycache__' -prune -exec rm -rf {} +
# apt in the image keeps the sources debootstrap wrote: the mirror it was built from.
# A fresh machine-id per container, as in the Docker Hub Debian images.
: >"$ROOTFS/etc/machine-id"

tar --numeric-owner -C "$ROOTFS" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "debootstrap --variant=minbase $SUITE + python3.11, python3-venv, ca-certificates, libgomp1" \
    - "$NAME" >/dev/null
"$DOCKER" run --rm --network none "$NAME" python -c 'import sys, venv, ssl; print("offline_base: python", sys.version.split()[0])'
echo "offline_base: $NAME $("$DOCKER" image inspect -f '{{.Id}} {{.Size}}' "$NAME") bytes, built in $(($(date +%s) - start)) s"
