#!/usr/bin/env bash
# Installs what tests/e2e needs: SimpleSAMLphp 1.19 and PHP from Debian's packages.
#
# Idempotent: does nothing (not even apt-get update) when every package is installed.
# It only installs: the e2e fixture (tests/e2e/conftest.py) writes SimpleSAMLphp's
# configuration into a temporary directory, starts `php -S 127.0.0.1:<port>` itself and
# stops it by its process ID. /etc/simplesamlphp is never used.
set -euo pipefail

packages=(simplesamlphp php-cli php-xml php-mbstring)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "simplesamlphp.sh: already installed: ${packages[*]}"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "simplesamlphp.sh: run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
fi

echo "simplesamlphp.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# Fail here, not in the tests, if the install did not give a working PHP with the
# extensions SimpleSAMLphp needs.
php -r 'exit(extension_loaded("dom") && extension_loaded("mbstring") ? 0 : 1);'
test -f /usr/share/simplesamlphp/www/saml2/idp/SSOService.php
echo "simplesamlphp.sh: installed $(dpkg-query -W -f='${Package} ${Version}' simplesamlphp)"
