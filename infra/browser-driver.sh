#!/usr/bin/env bash
# Installs puppeteer-core from npm when missing, in ~/.cache/clio/browser-driver, and prints
# that directory. It drives the Chromium infra/chromium.sh installs (it downloads no browser
# of its own); the console test clicks through /console/ with it. Pinned; no lockfile.
source "$(dirname "$0")/lib.sh"

dir="${CLIO_BROWSER_DRIVER:-$HOME/.cache/clio/browser-driver}"
npm_tools "$dir" .installed-puppeteer-core-24.9.0 "puppeteer-core" puppeteer-core@24.9.0
echo "$dir"
