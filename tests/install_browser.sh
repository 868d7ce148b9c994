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
# Another apt process (unattended upgrades, a second make) may hold apt's locks: wait for them
# for up to 10 minutes instead of failing at once. DPkg::Lock::Timeout makes `install` wait for
# the dpkg lock; `update` takes the package-list lock, which it does not wait for, so retry it.
lock_wait="-o DPkg::Lock::Timeout=600"
for attempt in $(seq 60); do
  if $sudo apt-get $lock_wait update -qq; then break; fi
  if [ "$attempt" -eq 60 ]; then echo "apt-get update kept failing for 10 minutes" >&2; exit 1; fi
  echo "apt-get update failed (another apt process holding its lock?); retrying in 10 s" >&2
  sleep 10
done
DEBIAN_FRONTEND=noninteractive $sudo apt-get $lock_wait install -y -qq chromium chromium-driver >/dev/null
