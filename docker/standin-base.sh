#!/bin/sh
# Builds a local stand-in for python:3.11-slim-bookworm when Docker Hub cannot be reached: Debian
# bookworm (debootstrap, minbase) with Debian's Python 3.11, laid out where the official image keeps
# it (/usr/local/bin/python, python3, python3.11, pip). Not the official image: its size and Python
# patch level differ, so use it to test the Dockerfile, never to ship.
#   sudo docker/standin-base.sh [IMAGE]     (needs root, debootstrap and a Debian mirror)
set -eu

IMAGE=${1:-python:3.11-slim-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT=$(mktemp -d /tmp/clinic-standin.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

# The official slim image's packages: ca-certificates, netbase, tzdata; then Python and venv.
debootstrap --variant=minbase \
    --include=ca-certificates,netbase,tzdata,python3.11,python3.11-venv,python3-pip \
    bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.log"

# The same apt sources as the official image (updates and security too), so `apt-get install` in
# the Dockerfile sees the same archive.
cat >"$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
# The official Debian images' apt and dpkg settings: downloaded packages and caches are deleted
# after each install, and the slim variant installs no docs, man pages or translations. Without
# them an `apt-get install` layer keeps its .deb files (88 MB more for postgresql-client).
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
find "$ROOT/usr/share/doc" -type f ! -name copyright -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian/*
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
for name in python python3 python3.11; do ln -sf /usr/bin/python3.11 "$ROOT/usr/local/bin/$name"; done
for name in pip pip3 pip3.11; do ln -sf /usr/bin/pip3 "$ROOT/usr/local/bin/$name"; done
# Debian's pip refuses to touch the system interpreter (PEP 668); the official image has no such marker.
rm -f "$ROOT"/usr/lib/python3.11/EXTERNALLY-MANAGED
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb

tar -C "$ROOT" -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --message "stand-in for $IMAGE: debootstrap bookworm + Debian python3.11" \
    - "$IMAGE" >/dev/null
echo "stand-in base $IMAGE: $(docker run --rm "$IMAGE" python --version 2>&1)"
