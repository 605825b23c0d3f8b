#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's Chromium and its ChromeDriver.
#
# Selenium is given both paths (/usr/bin/chromium, /usr/bin/chromedriver), so Selenium
# Manager never downloads a browser or a driver. The browser fixture
# (tests/browser/conftest.py) starts one headless Chromium per test session and quits it.
set -euo pipefail

bash "$(dirname "$0")/debian-packages.sh" browser.sh chromium chromium-driver

# Fail here, not in the tests, if the install did not give a browser and a driver that run.
test -x /usr/bin/chromium
/usr/bin/chromedriver --version >/dev/null
