"""Fixtures shared by every test folder: the system programs some tests drive.

``dot_path`` and ``chromium_path`` return the path of Graphviz's ``dot`` and of Chromium. When a
program is missing, a test that needs it is skipped with the command that installs it, or fails
when the environment variable ``CI`` is set, where a skip would hide a broken set-up.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_DEFAULT = Path("/usr/bin/chromium")


def _require(path: str | None, missing: str) -> str:
    """Return ``path``, or skip (fail under CI) with ``missing`` as the reason."""
    if path is not None:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{missing} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(missing)


@pytest.fixture(scope="session")
def dot_path() -> str:
    """Path of Graphviz's ``dot`` binary, found on PATH."""
    return _require(
        shutil.which("dot"),
        "Graphviz 'dot' not found; install it with: sudo apt-get install graphviz",
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium binary: ``/usr/bin/chromium``, else ``chromium`` on PATH."""
    found = str(CHROMIUM_DEFAULT) if os.access(CHROMIUM_DEFAULT, os.X_OK) else None
    return _require(
        found or shutil.which("chromium"),
        "Chromium not found at /usr/bin/chromium; install it with: sudo apt-get install chromium",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    Playwright's synchronous API keeps an asyncio loop marked as running in the main thread for
    as long as its session fixture lives, so any later test calling ``asyncio.run`` would fail.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
