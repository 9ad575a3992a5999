#!/usr/bin/env bash
# Install the system programs the tests use: Graphviz's `dot` and Chromium at /usr/bin/chromium.
#
# Missing ones are installed with apt-get when it is usable (as root, or through passwordless
# sudo). Otherwise the exact install command is printed and the script still succeeds, so that
# `make test` runs and the tests that need a program skip, naming it. When CI is set, a program
# that is still missing at the end is an error.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system packages: dot and chromium are present"
    exit 0
fi

echo "system packages missing: ${missing[*]}"

apt=()
if command -v apt-get >/dev/null 2>&1; then
    if [[ $(id -u) -eq 0 ]]; then
        apt=(apt-get)
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        apt=(sudo -n apt-get)
    fi
fi

# Wait for another apt/dpkg process instead of failing on its lock.
apt_options=(-y -q -o DPkg::Lock::Timeout=600)

has_candidate() {
    # True when the package lists know a candidate version of every package given.
    local package
    for package in "$@"; do
        apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [^(]' || return 1
    done
}

install_missing() {
    local updated=0
    if ! has_candidate "${missing[@]}"; then
        "${apt[@]}" "${apt_options[@]}" update
        updated=1
    fi
    if ! "${apt[@]}" "${apt_options[@]}" install --no-install-recommends "${missing[@]}"; then
        # Stale package lists point at files the mirror no longer has: refresh them once.
        [[ $updated -eq 1 ]] && return 1
        "${apt[@]}" "${apt_options[@]}" update
        "${apt[@]}" "${apt_options[@]}" install --no-install-recommends "${missing[@]}"
    fi
}

if [[ ${#apt[@]} -gt 0 ]]; then
    install_missing || echo "apt-get could not install: ${missing[*]}" >&2
else
    echo "apt-get is not usable here (needs root or passwordless sudo)." >&2
fi

still_missing=()
command -v dot >/dev/null 2>&1 || still_missing+=(graphviz)
[[ -x /usr/bin/chromium ]] || still_missing+=(chromium)

if [[ ${#still_missing[@]} -eq 0 ]]; then
    echo "system packages: installed ${missing[*]}"
    exit 0
fi

echo "Install them with: sudo apt-get install ${still_missing[*]}" >&2
if [[ -n "${CI:-}" ]]; then
    echo "error: CI is set and system packages are missing: ${still_missing[*]}" >&2
    exit 1
fi
echo "The tests that need them will be skipped." >&2
