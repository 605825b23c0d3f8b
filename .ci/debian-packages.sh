#!/usr/bin/env bash
# Usage: debian-packages.sh WHO PACKAGE...  Installs the Debian packages that are missing.
#
# Idempotent: does nothing (not even apt-get update) when every package is installed. As
# root, or as a user who may sudo. WHO names the calling script in what it prints.
set -euo pipefail

who=$1
shift
missing=()
for package in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "$who: already installed: $*"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "$who: run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
fi

echo "$who: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
