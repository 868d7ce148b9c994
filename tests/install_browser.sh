#!/usr/bin/env bash
# Installs Debian's headless Chromium and ChromeDriver for tests/test_site.py, once.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "tests need Debian's chromium and chromium-driver: install them (apt-get install chromium chromium-driver) and re-run" >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
