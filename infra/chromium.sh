#!/usr/bin/env bash
# Installs Debian's Chromium when missing (the documentation test opens /docs/ in it headless)
# and prints its path.
source "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null; then
  apt_install chromium
fi
command -v chromium
