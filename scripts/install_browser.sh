#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/ui/), from Debian's own package. Playwright drives
# it through executable_path; it never downloads a browser build of its own (`playwright install`
# is not used). Does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get > /dev/null; then
  echo "install_browser.sh: /usr/bin/chromium is missing and apt-get is not available;" \
    "install Chromium with your package manager (the browser tests are skipped without it)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing Debian's chromium package for the browser tests..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
