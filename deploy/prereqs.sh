#!/usr/bin/env bash
# Install what tinykube needs from the distro, only when it is missing.
#
#   - etcd (Debian/Ubuntu package etcd-server) when no `etcd` is on PATH;
#   - docker.io (dockerd) when no dockerd is installed, docker-compose when neither
#     `docker compose` nor `docker-compose` works;
#   - debootstrap, which makes the images' Debian base when no registry answers;
#   - busybox-static when /bin/busybox is missing or not the static build;
#   - python3 venv support when `python3 -m venv` does not work;
#   - docker-registry (the lab cluster registry) when missing, its own service off;
#   - chromium and chromium-driver (headless, for the dashboard's browser tests)
#     when no chromium or chromedriver is on PATH.
#
# Fails with a clear message on a system it does not support instead of
# half-installing. Safe to run again: it installs nothing that is present.
set -euo pipefail

say() { printf 'tinykube prereqs: %s\n' "$*"; }
die() { printf 'tinykube prereqs: error: %s\n' "$*" >&2; exit 1; }

if [ -r /etc/os-release ]; then
    . /etc/os-release
else
    die "cannot read /etc/os-release; only Debian and Ubuntu are supported"
fi
case " ${ID:-} ${ID_LIKE:-} " in
    *" debian "*|*" ubuntu "*) ;;
    *) die "unsupported system '${PRETTY_NAME:-unknown}': only Debian and Ubuntu are supported" ;;
esac

python3 - <<'PY' || die "tinykube needs Python >= 3.11 (found $(python3 --version 2>&1))"
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install the packages below by hand"
    SUDO="sudo"
fi

missing=()
if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
    missing+=(etcd-server)
fi
# The Docker engine (dockerd, containerd, runc) for the kubelet's Docker runtime.
if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ] && [ ! -x /usr/bin/dockerd ]; then
    missing+=(docker.io)
fi
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
    missing+=(docker-compose)
fi
if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
    missing+=(debootstrap)
fi
# A static busybox: the sample images (tinykube/pause, busybox, echo) are built
# FROM scratch out of it, offline (tinykube/cluster/images.py).
if [ ! -x /bin/busybox ] || [ "$(dpkg-query -W -f '${db:Status-Status}' busybox-static 2>/dev/null)" != installed ]; then
    missing+=(busybox-static)
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
# The cluster registry `tinykube init` runs on a lab control-plane host (Debian's
# distribution registry). Its own service stays off: init runs it with its config.
registry_installed=0
if ! command -v docker-registry >/dev/null 2>&1; then
    missing+=(docker-registry)
    registry_installed=1
fi
# The distro's Chromium and its driver: the dashboard's browser tests drive them
# headless; nothing downloads a browser at run time.
if ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
if ! command -v chromedriver >/dev/null 2>&1; then
    missing+=(chromium-driver)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    say "all prerequisites present"
    exit 0
fi

say "installing ${missing[*]} from the distro"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ "$registry_installed" = 1 ] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || :
fi
# The etcd-server package may start a system etcd on 2379; tinykube runs its own
# etcd on other ports and never talks to that one.
command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || die "etcd still missing after install"
[ -x /bin/busybox ] || die "busybox still missing after install"
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 \
    || die "docker-compose still missing after install"
say "done"
