#!/usr/bin/env bash
# Installs what tests/e2e needs: SimpleSAMLphp 1.19 and PHP from Debian's packages.
#
# It only installs: the e2e fixture (tests/e2e/conftest.py) writes SimpleSAMLphp's
# configuration into a temporary directory, starts `php -S 127.0.0.1:<port>` itself and
# stops it by its process ID. /etc/simplesamlphp is never used.
set -euo pipefail

bash "$(dirname "$0")/debian-packages.sh" simplesamlphp.sh \
    simplesamlphp php-cli php-xml php-mbstring

# Fail here, not in the tests, if the install did not give a working PHP with the
# extensions SimpleSAMLphp needs.
php -r 'exit(extension_loaded("dom") && extension_loaded("mbstring") ? 0 : 1);'
test -f /usr/share/simplesamlphp/www/saml2/idp/SSOService.php
