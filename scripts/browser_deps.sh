#!/usr/bin/env bash
# The therapist page's browser test drives a real headless Chromium through
# chromedriver (Debian packages `chromium` and `chromium-driver`). Installs them
# when missing (as root, e.g. CI on a fresh Debian 12); returns at once when
# both are already there. Nothing else is downloaded: selenium is given the
# driver's path, so its own driver download (Selenium Manager) never runs.
set -euo pipefail

say() { printf '[browser-deps] %s\n' "$*"; }

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  say "chromium and chromium-driver are missing; install them as root:" \
      "apt-get install chromium chromium-driver (the therapist page's browser test needs them)"
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install chromium and chromedriver yourself"; exit 1; }
say "installing chromium and chromium-driver (apt)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
say "installed: $(chromedriver --version | head -n 1)"
