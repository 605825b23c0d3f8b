#!/usr/bin/env bash
# Installs what tests/redis needs: Debian's redis-server.
#
# Idempotent: does nothing (not even apt-get update) when the package is installed.
# It only installs: the Redis fixture (tests/redis/conftest.py) starts `redis-server` itself on
# 127.0.0.1 at a free port with a temporary directory, and stops it by its process ID. The
# system service is never started: while apt-get runs, a policy-rc.d that forbids every
# service action (exit 101; /usr/share/doc/init-system-helpers/README.policy-rc.d.gz)
# keeps the package's postinst from starting it, under systemd or sysvinit alike. An
# existing policy-rc.d is put back afterwards.
set -euo pipefail

packages=(redis-server)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "redis.sh: already installed: ${packages[*]}"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "redis.sh: run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
if [[ -e "$policy" ]]; then
    "${sudo[@]}" mv "$policy" "$policy.redis-sh-saved"
    restore() { "${sudo[@]}" mv -f "$policy.redis-sh-saved" "$policy"; }
else
    restore() { "${sudo[@]}" rm -f "$policy"; }
fi
trap restore EXIT
printf '#!/bin/sh\n# Written by samljit .ci/redis.sh while it installs redis-server.\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
"${sudo[@]}" chmod 755 "$policy"

echo "redis.sh: installing ${missing[*]} (the system service is not started)"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# Fail here, not in the tests, if the install did not give a server that runs.
/usr/bin/redis-server --version
echo "redis.sh: installed $(dpkg-query -W -f='${Package} ${Version}' redis-server)"
