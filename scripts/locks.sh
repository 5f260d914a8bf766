#!/usr/bin/env bash
# The project's locks: each ranges file resolved by uv into a lock with exact versions and hashes.
#   scripts/locks.sh write     re-resolve every lock from its ranges, keeping the pins that still fit
#   scripts/locks.sh upgrade   re-resolve, taking the newest versions the ranges allow
#   scripts/locks.sh check     fail, naming the lock, when a lock's versions no longer follow from its ranges
# `check` compares versions only: a wheel uploaded later for a locked version changes nothing we ship.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-.venv/bin/uv}"

# The venvs and the image run any CPython from the project's floor up (pyproject's requires-python);
# the layer runs on Lambda's Linux x86_64 with the template's Python, the wheels its Makefile fetches.
universal=(--universal --python-version 3.11)
lambda_python="$(sed -n 's/^LAMBDA_PYTHON ?= //p' layers/core/Makefile)"
lambda=(--python-platform x86_64-manylinux2014 --python-version "$lambda_python" --only-binary :all:)

# ranges, lock, resolver options. The image set comes first: the layer and the tools are resolved
# within it, so the layer ships the very versions the venvs (and so the tests) run.
locks=(
    "local/requirements.txt|local/requirements.lock|${universal[*]}"
    "layers/core/requirements.txt|layers/core/requirements.lock|${lambda[*]} -c local/requirements.lock"
    "requirements-dev.txt|requirements-dev.lock|${universal[*]} -c local/requirements.lock"
    "requirements-sam.txt|requirements-sam.lock|${universal[*]}"
    "requirements-uv.txt|requirements-uv.lock|${universal[*]}"
)

compile() {  # ranges output options...
    local ranges="$1" output="$2"
    shift 2
    # A custom header: uv's default one names the output file, which differs between write and check.
    "$UV" pip compile --quiet --generate-hashes --custom-compile-command "make lock" "$@" "$ranges" -o "$output"
}

pins() {  # the "name==version ; marker" lines of a lock, without hashes and comments
    grep -E '^[A-Za-z0-9]' "$1" | sed -E 's/[[:space:]]*\\$//' | sort
}

mode="${1:?usage: scripts/locks.sh write|upgrade|check}"
stale=0
for entry in "${locks[@]}"; do
    IFS='|' read -r ranges lock options <<<"$entry"
    read -ra options <<<"$options"
    case "$mode" in
    write) compile "$ranges" "$lock" "${options[@]}" ;;
    upgrade) compile "$ranges" "$lock" "${options[@]}" --upgrade ;;
    check)
        fresh="$(mktemp)"
        cp "$lock" "$fresh"  # uv keeps the pins of the file it writes to while they fit the ranges
        compile "$ranges" "$fresh" "${options[@]}"
        if ! diff -u --label "$lock (committed)" --label "$lock (resolved from $ranges)" \
            <(pins "$lock") <(pins "$fresh"); then
            stale=1
        fi
        rm -f "$fresh"
        ;;
    *) echo "unknown mode: $mode" >&2 && exit 2 ;;
    esac
done
if [[ "$stale" -ne 0 ]]; then
    echo "locks are stale against their ranges: run 'make lock' and commit the locks" >&2
    exit 1
fi
[[ "$mode" == check ]] && echo "locks: every lock follows from its ranges"
exit 0
