"""The README's first command, ``make lab``, serves the chapter notebooks to a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.timeout(300)  # the first run after a pyproject.toml change re-installs the project
def test_make_lab_serves_the_notebooks_folder(make_lab, page, screenshot) -> None:
    log = make_lab.log_path.read_text(encoding="utf-8", errors="replace")
    assert f"Serving notebooks from local directory: {NOTEBOOKS_DIR}" in log

    listed = {entry["name"] for entry in make_lab.api("/api/contents")["content"]}
    chapters = {path.name for path in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert chapters <= listed

    page.goto(make_lab.url("/lab"))
    # A fresh workspace opens the Launcher once the shell has started and laid itself out.
    page.locator("#jp-main-dock-panel .jp-Launcher").wait_for(state="visible")
    page.locator(".jp-FileBrowser .jp-BreadCrumbs").wait_for(state="visible")
    shown = page.wait_for_function(
        """(expected) => {
          const items = document.querySelectorAll('.jp-FileBrowser .jp-DirListing-item');
          const names = [...items]
            .filter((item) => item.getBoundingClientRect().height > 0)
            .map((item) => item.querySelector('.jp-DirListing-itemText').textContent.trim())
            .sort();
          return JSON.stringify(names) === JSON.stringify(expected) ? names : null;
        }""",
        arg=sorted(listed),
        polling=100,
        timeout=30_000,
    ).json_value()
    assert set(shown) == listed
    screenshot(page, "make-lab")

    make_lab.stop()
    assert make_lab.process.poll() is not None
