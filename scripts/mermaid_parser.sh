#!/usr/bin/env bash
# Install Mermaid's own parser (the npm packages mermaid and jsdom) into .cache/mermaid, once,
# so the graph tests can check the Mermaid text against the real flowchart grammar.
#
# Needs Node.js and npm; without them it says so and succeeds: the tests then skip that check
# (the structural checks of the Mermaid text still run).
set -euo pipefail

target=.cache/mermaid
if [[ -d $target/node_modules/mermaid && -d $target/node_modules/jsdom ]]; then
    echo "mermaid parser: present in $target"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "mermaid parser: Node.js/npm not found; the real-parser check of Mermaid output will skip"
    exit 0
fi
mkdir -p "$target"
echo '{"private": true}' >"$target/package.json"
if npm install --prefix "$target" --no-audit --no-fund --loglevel=error mermaid@12 jsdom; then
    echo "mermaid parser: installed in $target"
else
    echo "mermaid parser: npm install failed; the real-parser check of Mermaid output will skip" >&2
fi
