#!/usr/bin/env bash
# Install what the browser check (tests/e2e/test_docs_browser.py) needs, from the project's own setup:
#   Debian's `chromium` package (/usr/bin/chromium), via apt-get, only when it is missing.
# The Python `playwright` package comes from the dev lock (requirements-dev.lock), like every other.
# Playwright's own browser download does not work here and is never run: the test drives Debian's
# chromium with executable_path. Idempotent and fail-soft: when something cannot be installed it says
# why and exits 0, so `make test` goes on and the browser test skips with a reason.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

note() { printf 'install-browser: %s\n' "$*" >&2; }

install_chromium() {
    if [[ -x "$CHROMIUM" ]]; then
        return 0
    fi
    local -a sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo -n)  # never prompt: fail (and skip) instead of hanging `make test`
        else
            note "$CHROMIUM is missing and installing it needs root (no sudo here);"
            note "run 'apt-get install chromium' as root. The browser test will skip."
            return 0
        fi
    fi
    note "installing Debian's chromium (apt-get)..."
    local log
    if ! log="$(mktemp)"; then
        note "mktemp failed; chromium not installed, the browser test will skip."
        return 0
    fi
    if "${sudo[@]}" apt-get update -qq >"$log" 2>&1 &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1; then
        note "chromium installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    else
        tail -n 20 "$log" >&2 || true
        note "apt-get could not install chromium; the browser test will skip."
    fi
    rm -f "$log"
}

install_chromium
exit 0
