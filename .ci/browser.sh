#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's Chromium and its ChromeDriver.
#
# Idempotent: does nothing (not even apt-get update) when both packages are installed.
# Selenium is given both paths (/usr/bin/chromium, /usr/bin/chromedriver), so Selenium
# Manager never downloads a browser or a driver. The browser fixture
# (tests/browser/conftest.py) starts one headless Chromium per test session and quits it.
set -euo pipefail

packages=(chromium chromium-driver)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "browser.sh: already installed: ${packages[*]}"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "browser.sh: run as root (or with sudo) to install: ${missing[*]}" >&2
    exit 1
fi

echo "browser.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"

# Fail here, not in the tests, if the install did not give a browser and a driver that run.
test -x /usr/bin/chromium
/usr/bin/chromedriver --version
echo "browser.sh: installed $(dpkg-query -W -f='${Package} ${Version}' chromium)"
