#!/usr/bin/env bash
# Make sure a Chromium for the browser tests is installed.
# Installs Debian's `chromium` package when it is missing and we can (root with apt-get).
# Elsewhere it says what to do; the browser tests then skip, unless
# ALEXNET_REQUIRE_BROWSER=1 (set by .ci/run), which makes a missing browser an error.
set -u
for candidate in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
    echo "browser: $(command -v "$candidate") ($("$candidate" --version 2>/dev/null | head -n 1))"
    exit 0
  fi
done
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
  command -v chromium && exit 0
fi
msg="No Chromium found: install one (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM to its path."
if [ "${ALEXNET_REQUIRE_BROWSER:-0}" = 1 ]; then
  echo "error: $msg" >&2
  exit 1
fi
echo "warning: $msg The browser tests will be skipped."
exit 0
