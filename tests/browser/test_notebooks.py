"""Every chapter notebook opens in JupyterLab, runs top to bottom, and renders what it shows.

Parametrised over ``notebooks/*.ipynb`` as found when this file is collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(
    path.name for path in (Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb")
)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_cleanly_in_jupyterlab(lab, name: str) -> None:
    lab.open_notebook(name)
    lab.run_all()
    shot = lab.screenshot(Path(name).stem)

    problems = lab.report()
    assert problems == "", f"{name} (screenshot: {shot}):\n{problems}"
