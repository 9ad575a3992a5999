"""The project's set-up: what each install brings, and the markers that select tests.

The library and the toolkit install without JupyterLab (a front end such as JupyterLite brings
its own); ``make lab`` adds it through the ``lab`` extra, and ``make test`` through ``test``.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself depends on tomli before Python 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
NAME = canonicalize_name(PROJECT["name"])
#: What only a front end needs: never a dependency of the library or the toolkit themselves.
FRONT_END = {"jupyterlab", "notebook", "jupyter-server", "ipykernel"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def _extras_pulled_in(extra: str) -> set[str]:
    """The project's own extras that ``extra`` installs, itself included, followed to the end."""
    found, todo = set(), [extra]
    while todo:
        current = todo.pop()
        found.add(current)
        for text in PROJECT["optional-dependencies"][current]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == NAME:
                todo.extend(requirement.extras - found)
    return found


def _installed_by(extra: str) -> set[str]:
    """The distributions that ``pip install '.[extra]'`` asks for by name, base ones included."""
    names = _names(PROJECT["dependencies"])
    for each in _extras_pulled_in(extra):
        names |= _names(PROJECT["optional-dependencies"][each])
    return names - {NAME}


def test_the_base_install_needs_no_front_end() -> None:
    base = _names(PROJECT["dependencies"])
    assert not base & FRONT_END
    assert "nest-asyncio2" not in base, "imported only inside a running loop: the jupyter extra"
    assert {"ipywidgets", "ipython", "graphviz", "anywidget"} <= base


def test_the_lab_extra_brings_jupyterlab_and_a_kernel() -> None:
    assert {"jupyterlab", "ipykernel", "nest-asyncio2"} <= _installed_by("lab")


def test_the_test_extra_brings_everything_the_tests_and_the_build_use() -> None:
    assert _installed_by("lab") <= _installed_by("test")
    assert {"pytest", "nbval", "playwright", "jupytext", "nbclient", "nbconvert"} <= _installed_by(
        "test"
    )


def test_the_markers_are_declared_and_enforced() -> None:
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in options["addopts"]
    declared = {line.partition(":")[0] for line in options["markers"]}
    assert declared == {"browser", "notebooks", "slow"}


def test_each_slow_entry_names_a_test(slow_tests: tuple[str, ...]) -> None:
    """A renamed test would otherwise drop out of the ``slow`` selection without a word."""
    for entry in slow_tests:
        relative, _, function = entry.partition("::")
        path = ROOT / "tests" / relative
        assert path.exists(), f"{entry}: no such file or folder in tests/"
        if function:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert function in defined, f"{entry}: no test function {function} in {relative}"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_library_and_the_toolkit_import_from_a_base_install(tmp_path: Path) -> None:
    """``pip install .`` alone, in a fresh venv: both packages import, and JupyterLab is absent.

    The project is copied first (only what a wheel is built from), so that building it leaves
    nothing in the repository. Needs PyPI or pip's cache for the base dependencies.
    """
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    for folder in ("pocketflow", "widgets"):
        shutil.copytree(
            ROOT / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def run(*arguments: str) -> str:
        done = subprocess.run(
            [python, *arguments], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{arguments}:\n{done.stdout}{done.stderr}"
        return done.stdout

    run("-m", "pip", "install", "--quiet", "--no-deps", str(project))
    run("-m", "pip", "install", "--quiet", *PROJECT["dependencies"])
    found = run(
        "-c",
        "import importlib.util, pocketflow, pocketflow_widgets\n"
        "print(pocketflow.__file__)\n"
        "print([m for m in ('jupyterlab', 'ipykernel') if importlib.util.find_spec(m)])",
    ).splitlines()
    assert found[0].startswith(str(environment)), found
    assert found[1] == "[]", f"a base install brought {found[1]}"
