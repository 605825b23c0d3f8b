#!/usr/bin/env bash
# Usage: debian-packages.sh [--no-start] WHO PACKAGE...  Installs the Debian packages that are
# missing.
#
# Idempotent: does nothing (not even apt-get update) when every package is installed. As
# root, or as a user who may sudo. WHO names the calling script in what it prints.
# --no-start: the packages' system services are never started (the tests start their own
# servers): while apt-get runs, a policy-rc.d that forbids every service action (exit 101;
# /usr/share/doc/init-system-helpers/README.policy-rc.d.gz) keeps the postinst scripts from
# starting them, under systemd or sysvinit alike. An existing policy-rc.d is put back.
set -euo pipefail

no_start=false
if [[ "${1:-}" == "--no-start" ]]; then
    no_start=true
    shift
fi
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

if $no_start; then
    policy=/usr/sbin/policy-rc.d
    if [[ -e "$policy" ]]; then
        "${sudo[@]}" mv "$policy" "$policy.samljit-saved"
        restore() { "${sudo[@]}" mv -f "$policy.samljit-saved" "$policy"; }
    else
        restore() { "${sudo[@]}" rm -f "$policy"; }
    fi
    trap restore EXIT
    printf '#!/bin/sh\n# Written by samljit .ci/%s while it installs packages.\nexit 101\n' "$who" |
        "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    echo "$who: installing ${missing[*]} (their system services are not started)"
else
    echo "$who: installing ${missing[*]}"
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
