"""The system programs the graph and browser tests rely on are present and really run.

These run in every session so that a missing program shows up as a skip (or, under CI, a
failure) with its install command, rather than only as skips scattered across other folders.
"""

from __future__ import annotations

import re
import subprocess


def _run(*command: str) -> str:
    """Run ``command`` and return its stdout and stderr together; fail on a non-zero exit."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout + result.stderr


def test_dot_reports_its_version(dot_path: str) -> None:
    # `dot -V` writes e.g. "dot - graphviz version 2.43.0 (0)" to stderr.
    output = _run(dot_path, "-V")
    assert re.search(r"graphviz version \d+\.\d+", output), output


def test_dot_renders_svg(dot_path: str) -> None:
    result = subprocess.run(
        [dot_path, "-Tsvg"],
        input="digraph { a -> b }",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "<svg" in result.stdout
    assert result.stdout.count('class="node"') == 2


def test_chromium_reports_its_version(chromium_path: str) -> None:
    # Debian's build prints e.g. "Chromium 131.0.6778.85 built on Debian 12.8".
    output = _run(chromium_path, "--version")
    assert re.search(r"Chromium \d+\.\d+\.\d+", output), output
