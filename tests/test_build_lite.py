"""The pieces of ``scripts/build_lite.py`` that decide what goes into the JupyterLite site.

The build itself (downloads, ``jupyter lite build``) is exercised by ``make lite`` and the browser
tests in ``tests/browser/test_lite.py``; here, on data: the Lite edition of a notebook, what a
wheel declares, and the check that the site meets every requirement of every wheel.
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from scripts import build_lite

ENVIRONMENT = build_lite.pyodide_environment({"python": "3.14.2"})


def lock_package(name: str, version: str, depends: list[str]) -> dict[str, Any]:
    """An entry of Pyodide's lock file for a pure-Python package."""
    return {
        "name": name,
        "version": version,
        "file_name": f"{name}-{version}-py3-none-any.whl",
        "package_type": "package",
        "depends": depends,
    }


LOCK = {
    "info": {"python": "3.14.2"},
    "packages": {
        "micropip": lock_package("micropip", "0.11.1", []),
        "jedi": lock_package("jedi", "0.19.2", ["parso"]),
        "parso": lock_package("parso", "0.8.6", []),
        "ipython": lock_package("ipython", "9.12.0", ["traitlets"]),
        "traitlets": lock_package("traitlets", "5.14.3", []),
        "typing-extensions": lock_package("typing-extensions", "4.15.0", []),
        "numpy": lock_package("numpy", "2.2.0", []),
    },
}


def make_wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A wheel with a package ``<name>``, a module ``<name>_extra.py`` and ``requires``."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {requirement}\n" for requirement in requires
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}_extra.py", "")
        archive.writestr(f"{info}/METADATA", metadata)
        archive.writestr(f"{info}/RECORD", "")
    return path


def test_the_lite_edition_clears_outputs_and_shows_full_kernel_cells_as_code() -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {},
                "source": ["print(1)"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
                "execution_count": 1,
            },
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {"tags": ["solution", "full-kernel"]},
                "source": ["pool = ThreadPoolExecutor()\n", "pool.submit(print)"],
                "outputs": [],
                "execution_count": 2,
            },
            {"cell_type": "markdown", "id": "c", "metadata": {}, "source": ["# Title"]},
        ]
    }
    original = copy.deepcopy(notebook)
    first, second, third = build_lite.lite_notebook(notebook)["cells"]

    assert notebook == original
    assert (first["outputs"], first["execution_count"]) == ([], None)
    assert second["cell_type"] == "markdown"
    assert second["source"] == (
        f"{build_lite.FULL_KERNEL_NOTE}\n\n```python\n"
        "pool = ThreadPoolExecutor()\npool.submit(print)\n```"
    )
    assert (second["id"], second["metadata"]) == ("b", {"tags": ["solution", "full-kernel"]})
    assert "outputs" not in second
    assert third == original["cells"][2]


def test_no_chapter_cell_tagged_full_kernel_runs_in_the_lite_edition() -> None:
    tagged = 0
    for chapter in sorted(build_lite.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(chapter.read_text(encoding="utf-8"))
        for cell in build_lite.lite_notebook(notebook)["cells"]:
            if build_lite.FULL_KERNEL_TAG in cell["metadata"].get("tags", []):
                tagged += 1
                assert cell["cell_type"] == "markdown", f"{chapter.name}: {cell['id']}"
    assert tagged > 0  # chapter 10's pools and cluster at least


def test_a_wheel_says_its_name_version_requirements_and_imports(tmp_path: Path) -> None:
    wheel = build_lite.Wheel.read(
        make_wheel(
            tmp_path, "Some_Tool", "1.2", ["traitlets>=5", 'pexpect; sys_platform != "emscripten"']
        )
    )
    assert (wheel.name, str(wheel.version)) == ("some-tool", "1.2")
    assert wheel.imports == ("Some_Tool", "Some_Tool_extra")
    # Requirements as they apply in Pyodide: pexpect is not for the browser.
    assert [str(requirement) for requirement in wheel.needs(ENVIRONMENT)] == ["traitlets>=5"]


def test_the_lock_packages_needed_are_the_kernels_and_the_wheels_with_dependencies(
    tmp_path: Path,
) -> None:
    tool = build_lite.Wheel.read(
        make_wheel(
            tmp_path,
            "tool",
            "1.0",
            ["traitlets>=5", "helper", 'pexpect; sys_platform != "emscripten"'],
        )
    )
    helper = build_lite.Wheel.read(make_wheel(tmp_path, "helper", "2.0", ["typing-extensions"]))
    needed = build_lite.needed_lock_packages([tool, helper], LOCK, ENVIRONMENT)
    # The kernel's own (micropip, IPython, jedi, and theirs) and the wheels' (not numpy).
    assert needed == {"micropip", "jedi", "parso", "ipython", "traitlets", "typing-extensions"}


@pytest.mark.parametrize(
    ("requirement", "says"),
    [
        ("pexpect", "tool-1.0-py3-none-any.whl needs pexpect: not in the site"),
        ("traitlets>=6", "tool-1.0-py3-none-any.whl needs traitlets>=6: the site has 5.14.3"),
    ],
)
def test_a_requirement_the_site_does_not_meet_stops_the_build(
    tmp_path: Path, requirement: str, says: str
) -> None:
    tool = build_lite.Wheel.read(make_wheel(tmp_path, "tool", "1.0", [requirement]))
    with pytest.raises(SystemExit, match="requirements the site would not meet") as stopped:
        build_lite.needed_lock_packages([tool], LOCK, ENVIRONMENT)
    assert says in str(stopped.value)


def test_a_wheel_in_the_lock_loads_on_import_with_what_it_needs_from_the_site(
    tmp_path: Path,
) -> None:
    path = make_wheel(tmp_path, "tool", "1.0", ["traitlets", "widgetsnbextension~=4.0"])
    entry = build_lite.lock_entry(
        build_lite.Wheel.read(path), "../../pypi/tool.whl", {"traitlets", "tool"}, ENVIRONMENT
    )
    assert entry["file_name"] == "../../pypi/tool.whl"
    assert entry["imports"] == ["tool", "tool_extra"]
    assert entry["depends"] == ["traitlets"]  # the kernel's data-only stand-in is left out
    assert entry["sha256"] == build_lite.sha256(path)
