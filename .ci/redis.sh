#!/usr/bin/env bash
# Installs what tests/redis needs: Debian's redis-server.
#
# Idempotent: does nothing (not even apt-get update) when the package is installed.
# It only installs: the Redis fixture (tests/redis/conftest.py) starts `redis-server` itself on
# 127.0.0.1 at a free port with a temporary directory, and stops it by its process ID. The
# system service is never started (debian-packages.sh --no-start).
set -euo pipefail
cd "$(dirname "$0")"

bash ./debian-packages.sh --no-start redis.sh redis-server

# Fail here, not in the tests, if the install did not give a server that runs.
/usr/bin/redis-server --version
echo "redis.sh: installed $(dpkg-query -W -f='${Package} ${Version}' redis-server)"
