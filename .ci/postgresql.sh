#!/usr/bin/env bash
# Installs what the PostgreSQL store tests need: Debian's postgresql (initdb, pg_ctl, postgres).
#
# Idempotent: does nothing (not even apt-get update) when initdb and postgres are found, on
# PATH or where Debian keeps them (/usr/lib/postgresql/<version>/bin, off PATH).
# It only installs: the fixture (tests/postgres.py) runs initdb into a temporary directory and
# starts `postgres` itself on 127.0.0.1 at a free port, stops it by its process ID and removes
# the directory. The system service is never started: while apt-get runs, a policy-rc.d that
# forbids every service action (exit 101; /usr/share/doc/init-system-helpers/README.policy-rc.d.gz)
# keeps the postinst from starting the cluster it creates. An existing policy-rc.d is put back.
set -euo pipefail
cd "$(dirname "$0")"

find_bindir() {
    local candidate
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    # The newest version first.
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
        if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" && -x "$candidate/postgres" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if bindir=$(find_bindir); then
    echo "postgresql.sh: already installed: $("$bindir/postgres" --version) in $bindir"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "postgresql.sh: run as root (or with sudo) to install: postgresql" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
if [[ -e "$policy" ]]; then
    "${sudo[@]}" mv "$policy" "$policy.postgresql-sh-saved"
    restore() { "${sudo[@]}" mv -f "$policy.postgresql-sh-saved" "$policy"; }
else
    restore() { "${sudo[@]}" rm -f "$policy"; }
fi
trap restore EXIT
printf '#!/bin/sh\n# Written by samljit .ci/postgresql.sh while it installs postgresql.\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
"${sudo[@]}" chmod 755 "$policy"

echo "postgresql.sh: installing postgresql (the system service is not started)"
bash ./debian-packages.sh postgresql.sh postgresql

# Fail here, not in the tests, if the install did not give binaries that run.
if ! bindir=$(find_bindir); then
    echo "postgresql.sh: postgresql is installed but initdb/pg_ctl/postgres were not found" >&2
    exit 1
fi
"$bindir/postgres" --version
echo "postgresql.sh: installed $(dpkg-query -W -f='${Package} ${Version}' postgresql) in $bindir"
