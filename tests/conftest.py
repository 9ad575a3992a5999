"""Fixtures shared by every test folder, and the markers that select groups of tests.

``dot_path`` and ``chromium_path`` return the path of Graphviz's ``dot`` and of Chromium. When a
program is missing, a test that needs it is skipped with the command that installs it, or fails
when the environment variable ``CI`` is set, where a skip would hide a broken set-up.

The markers ``browser``, ``notebooks`` and ``slow`` (declared in pyproject.toml) are given here,
by folder and by name, so that ``-m "not slow"`` and the like select from the whole suite
without each file having to remember its marker.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_DEFAULT = Path("/usr/bin/chromium")
TESTS = Path(__file__).resolve().parent

#: Every test in one of these folders of tests/ gets the marker of the same name.
MARKED_FOLDERS = ("browser", "notebooks")

#: The tests marked ``slow``, as a folder, a file or ``file::function``, relative to tests/. Each
#: took 3 s or more on the 2-core development machine (``pytest --durations``); every browser
#: test drives JupyterLab in Chromium, and the chapters' nbval run executes all nine notebooks.
SLOW_TESTS = (
    "browser",
    "dask",  # each module starts a Dask cluster of worker processes
    "core/test_differential.py::test_sync_programs_behave_as_in_the_reference",
    "core/test_differential.py::test_async_programs_behave_as_in_the_reference",
    "core/test_differential.py::test_parallel_programs_behave_as_in_the_reference",
    "widgets/test_kernel_interrupt.py",
    "notebooks/test_notebooks.py::test_chapter_runs_and_reproduces_its_outputs",
    "notebooks/test_chapter_checkpoints.py",  # a kernel per chapter, each run resumed
    "core/test_checkpoints.py::test_a_parallel_run_resumed_at_any_boundary_skips_the_finished_runs",
)


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


@pytest.fixture(scope="session")
def slow_tests() -> tuple[str, ...]:
    """The entries of ``SLOW_TESTS``, for the test that checks each still names a test."""
    return SLOW_TESTS


def _is_slow(relative: str, function: str) -> bool:
    """Whether the test ``function`` of the file ``relative`` (to tests/) is in ``SLOW_TESTS``."""
    return any(
        relative == entry or relative.startswith(f"{entry}/") or f"{relative}::{function}" == entry
        for entry in SLOW_TESTS
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests by folder and name, then run the browser tests last.

    Playwright's synchronous API keeps an asyncio loop marked as running in the main thread for
    as long as its session fixture lives, so any later test calling ``asyncio.run`` would fail.
    """
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        relative = item.path.relative_to(TESTS).as_posix()
        folder = relative.partition("/")[0]
        if folder in MARKED_FOLDERS:
            item.add_marker(folder)
        if _is_slow(relative, getattr(item, "originalname", item.name)):
            item.add_marker("slow")
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
