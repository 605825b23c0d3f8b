#!/usr/bin/env bash
# Installs what the PostgreSQL store tests need: Debian's postgresql (initdb, pg_ctl, postgres).
#
# Idempotent: does nothing (not even apt-get update) when initdb and postgres are found, on
# PATH or where Debian keeps them (/usr/lib/postgresql/<version>/bin, off PATH).
# It only installs: the fixture (tests/postgres.py) runs initdb into a temporary directory and
# starts `postgres` itself on 127.0.0.1 at a free port, stops it by its process ID and removes
# the directory. The system service, and the cluster the postinst creates, are never started
# (debian-packages.sh --no-start).
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

bash ./debian-packages.sh --no-start postgresql.sh postgresql

# Fail here, not in the tests, if the install did not give binaries that run.
if ! bindir=$(find_bindir); then
    echo "postgresql.sh: postgresql is installed but initdb/pg_ctl/postgres were not found" >&2
    exit 1
fi
"$bindir/postgres" --version
echo "postgresql.sh: installed $(dpkg-query -W -f='${Package} ${Version}' postgresql) in $bindir"
