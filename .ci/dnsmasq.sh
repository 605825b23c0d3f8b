#!/usr/bin/env bash
# Installs what tests/dns needs: Debian's dnsmasq-base (the dnsmasq binary alone).
#
# Idempotent: does nothing (not even apt-get update) when the package is installed.
# dnsmasq-base ships no system service (the `dnsmasq` package adds one), so nothing is started
# by the install: the fixture in tests/dns/conftest.py starts `dnsmasq` itself on 127.0.0.1 at
# a free port, serving only the TXT records a test writes, and stops it by its process ID.
set -euo pipefail
cd "$(dirname "$0")"
bash ./debian-packages.sh dnsmasq.sh dnsmasq-base
# Fail here, not in the tests, if the install did not give a binary that runs.
/usr/sbin/dnsmasq --version | head -1
