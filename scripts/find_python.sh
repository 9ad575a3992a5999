#!/usr/bin/env bash
# Print the absolute path of the first Python >= 3.10 found, or explain and exit 1.
#
# Tries $PYTHON if set, else python3, then python3.13 down to python3.10. Each candidate is run,
# not just looked up: a version-manager shim can sit on PATH without a working interpreter.
set -euo pipefail

if [[ -n "${PYTHON:-}" ]]; then
    candidates=("$PYTHON")
else
    candidates=(python3 python3.13 python3.12 python3.11 python3.10)
fi

for candidate in "${candidates[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    if path=$("$candidate" -c \
        'import sys; assert sys.version_info >= (3, 10); print(sys.executable)' 2>/dev/null); then
        echo "$path"
        exit 0
    fi
done

{
    echo "error: no Python >= 3.10 found (tried: ${candidates[*]})."
    echo "Install one (e.g. 'sudo apt-get install python3' on Debian 12 or newer),"
    echo "or name an interpreter explicitly: make PYTHON=/path/to/python3.12 ..."
} >&2
exit 1
