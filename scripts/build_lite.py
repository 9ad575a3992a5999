"""Build the offline JupyterLite edition of the chapters in ``build/lite/``.

The site runs the chapter notebooks in the browser on Pyodide, with nothing installed and no
network: everything it loads is served from its own folder. It is put together from the package
registries alone (PyPI and npm), and what is downloaded is kept under ``.cache/lite/``, so a
second build downloads nothing:

1. Pyodide itself, the npm package ``pyodide`` at exactly the version the installed
   ``jupyterlite-pyodide-kernel`` expects, unpacked as the site's ``static/pyodide/``.
2. The packages of Pyodide's lock file (``pyodide-lock.json``) that the kernel and the chapters
   need (IPython and what it depends on, micropip, ...). The npm package has none of them; the
   pure-Python ones are the same releases on PyPI, downloaded from there with their sha256
   written into the lock. The lock keeps only the packages the site holds, so an import of any
   other fails as "no module" instead of fetching a file that is not there.
3. piplite wheels, installed in the browser by the kernel: ipywidgets, jupyterlab_widgets, comm,
   anywidget (and psygnal), graphviz, and this project's own wheel (``pocketflow`` and
   ``pocketflow_widgets``). Their front ends are the labextensions installed next to this
   script's interpreter (``make lite`` installs the ``lite`` extra into ``.venv-lite``), so
   front end and Python side are the same release. Every requirement of every wheel is checked
   against what the site holds before anything is built.
4. The chapters, as a Lite edition: outputs cleared (a reader runs them), and each cell tagged
   ``full-kernel`` shown as code that does not run, with a sentence saying why.
5. ``jupyter lite build`` with PyPI turned off for the kernel (``disablePyPIFallback``).

Usage (``make lite`` runs it in ``.venv-lite``)::

    python scripts/build_lite.py [--output build/lite]

It prints what it does and the site's size, and fails if the site is larger than
:data:`MAX_SITE_MB`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO: Final = Path(__file__).resolve().parents[1]
NOTEBOOKS: Final = REPO / "notebooks"
CACHE: Final = REPO / ".cache" / "lite"
DEFAULT_OUTPUT: Final = REPO / "build" / "lite"

#: The largest site this build accepts, in MB (10**6 bytes).
MAX_SITE_MB: Final = 150

#: The labextension of the Pyodide kernel and where it keeps the wheels the kernel starts with.
KERNEL_EXTENSION: Final = "@jupyterlite/pyodide-kernel-extension"
KERNEL_PLUGIN: Final = f"{KERNEL_EXTENSION}:kernel"

#: Distributions installed as piplite wheels, at the version installed next to this script.
#: Each one whose front end is a labextension must match it, so none is pinned here twice.
PIPLITE_DISTRIBUTIONS: Final = (
    "ipywidgets",
    "jupyterlab_widgets",
    "comm",
    "anywidget",
    "psygnal",
    "graphviz",
)

#: Where ``jupyter lite build`` puts the piplite wheels (``pypi/``), seen from Pyodide's folder
#: (``static/pyodide/``).
PIPLITE_FROM_PYODIDE: Final = "../../pypi"

#: Packages of Pyodide's lock that the kernel loads as it starts, whatever the wheels need.
KERNEL_LOCK_PACKAGES: Final = ("micropip", "ipython", "jedi")

#: The cell tag of a chapter cell that needs a full kernel, and what the Lite edition says.
FULL_KERNEL_TAG: Final = "full-kernel"
FULL_KERNEL_NOTE: Final = (
    "*This cell does not run in the browser edition.* It needs a full Python kernel: Pyodide, "
    "the Python in this page, cannot start threads or processes and cannot block until an "
    "event loop finishes. Run the chapter with `make lab` to see it work; here is its code."
)

#: Files of ``notebooks/`` that are not part of a chapter: the build of the chapters.
NOT_FOR_READERS: Final = frozenset({"build.py"})

#: Settings every user of the site starts with: every cell kept in the page (the browser test
#: reads them all), no news and no update check (nothing to fetch from outside).
SETTINGS_OVERRIDES: Final = {
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def say(message: str) -> None:
    """Print one line of progress."""
    print(f"[lite] {message}", flush=True)


def run(command: list[str], cwd: Path | None = None) -> None:
    """Run ``command``, its output shown only when it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"failed ({result.returncode}): {' '.join(command)}\n{result.stdout}{result.stderr}"
        )


def sha256(path: Path) -> str:
    """The hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_size(folder: Path) -> int:
    """Bytes in all files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# --------------------------------------------------------------------------------------------
# Downloads, cached under .cache/lite/
# --------------------------------------------------------------------------------------------


def npm_package(name: str, version: str) -> Path:
    """The tarball of the npm package ``name@version``, from the cache or ``npm pack``."""
    folder = CACHE / "npm"
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"{name}-{version}.tgz"
    if tarball.exists():
        say(f"npm {name}@{version}: cached")
        return tarball
    say(f"npm {name}@{version}: downloading")
    run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(folder), "--silent"])
    if not tarball.exists():
        raise SystemExit(f"npm pack {name}@{version} did not write {tarball}")
    return tarball


def wheel_name_version(path: Path) -> tuple[str, str]:
    """The canonical project name and the version in a wheel's file name."""
    name, version = path.name.split("-")[:2]
    return canonicalize_name(name), version


def pure_wheel(name: str, version: str, python: str) -> Path:
    """The pure-Python wheel of ``name==version`` for Python ``python`` (as ``"3.14"``) from
    PyPI, from the cache or ``pip download``.

    Only a ``py3-none-any`` style wheel will do: Pyodide cannot load a wheel built for this
    machine's platform.
    """
    folder = CACHE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = (canonicalize_name(name), Version(version))
    for path in folder.glob("*.whl"):
        cached_name, cached_version = wheel_name_version(path)
        if (cached_name, Version(cached_version)) == wanted:
            return path
    say(f"pypi {name}=={version}: downloading")
    # The target tags describe no real interpreter: only a wheel with the tags py3-none-any
    # (or py2.py3-none-any) matches them.
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--platform=any",
            "--abi=none",
            "--implementation=py",
            f"--python-version={python}",
            f"--dest={folder}",
            f"{name}=={version}",
        ]
    )
    for path in folder.glob("*.whl"):
        cached_name, cached_version = wheel_name_version(path)
        if (cached_name, Version(cached_version)) == wanted:
            return path
    raise SystemExit(f"no pure-Python wheel of {name}=={version} on PyPI")


#: What building this project's wheel reads.
PROJECT_FILES: Final = ("pyproject.toml", "README.md", "pocketflow", "widgets")


def project_wheel(folder: Path) -> Path:
    """This repository built as a wheel into ``folder`` (emptied first).

    Built from a copy of :data:`PROJECT_FILES` in ``folder``: setuptools keeps what it built in
    the source tree (``build/lib``), where a module deleted since would stay and be packaged.
    """
    if folder.exists():
        shutil.rmtree(folder)
    source = folder / "source"
    for name in PROJECT_FILES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    say("building this project's wheel (pocketflow and pocketflow_widgets)")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            f"--wheel-dir={folder}",
            str(source),
        ]
    )
    wheels = sorted(folder.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel of this project in {folder}, found {wheels}")
    return wheels[0]


# --------------------------------------------------------------------------------------------
# What the wheels need, checked against what the site holds
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    """A wheel the site holds: its name, version, requirements and top-level import names."""

    path: Path
    name: str
    version: Version
    requires: tuple[Requirement, ...]
    imports: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> Wheel:
        """Read the ``METADATA`` and ``RECORD`` of the wheel at ``path``."""
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            info = next(
                name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA")
            )
            headers = HeaderParser().parsestr(archive.read(f"{info}/METADATA").decode("utf-8"))
        data = info.removesuffix(".dist-info") + ".data"
        tops = {name.split("/")[0] for name in names} - {info, data}
        imports = sorted(
            top.removesuffix(".py")
            for top in tops
            if top.endswith(".py") or any(name.startswith(f"{top}/") for name in names)
        )
        return cls(
            path=path,
            name=canonicalize_name(headers["Name"]),
            version=Version(headers["Version"]),
            requires=tuple(Requirement(line) for line in headers.get_all("Requires-Dist") or []),
            imports=tuple(imports),
        )

    def needs(self, environment: dict[str, str]) -> list[Requirement]:
        """The requirements that apply in ``environment`` (no extras)."""
        return [
            requirement
            for requirement in self.requires
            if not requirement.marker or Marker.evaluate(requirement.marker, environment)
        ]


def pyodide_environment(lock_info: Mapping[str, str]) -> dict[str, str]:
    """The marker environment of the Python that Pyodide runs, from the lock's ``info``."""
    full = lock_info["python"]
    return {
        "implementation_name": "cpython",
        "os_name": "posix",
        "platform_machine": "wasm32",
        "platform_python_implementation": "CPython",
        "platform_system": "Emscripten",
        "python_full_version": full,
        "python_version": ".".join(full.split(".")[:2]),
        "sys_platform": "emscripten",
        "extra": "",
    }


def needed_lock_packages(
    wheels: Iterable[Wheel], lock: Mapping[str, Any], environment: dict[str, str]
) -> set[str]:
    """The lock's packages that the kernel and ``wheels`` need, their dependencies included.

    Raises ``SystemExit`` naming every requirement that neither a wheel nor the lock meets.
    """
    packages = {canonicalize_name(key): entry for key, entry in lock["packages"].items()}
    available = {wheel.name: wheel.version for wheel in wheels}
    seeds = set(KERNEL_LOCK_PACKAGES)
    unmet: list[str] = []
    for wheel in wheels:
        for requirement in wheel.needs(environment):
            name = canonicalize_name(requirement.name)
            if name in available:
                version = available[name]
            elif name in packages:
                version = Version(packages[name]["version"])
                seeds.add(name)
            else:
                unmet.append(f"{wheel.path.name} needs {requirement}: not in the site")
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                unmet.append(f"{wheel.path.name} needs {requirement}: the site has {version}")
    if unmet:
        raise SystemExit("requirements the site would not meet:\n  " + "\n  ".join(unmet))
    needed: set[str] = set()
    pending = sorted(seeds)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in needed:
            continue
        if name not in packages:
            raise SystemExit(f"Pyodide's lock names {name!r} as a dependency but has no entry")
        needed.add(name)
        pending.extend(packages[name]["depends"])
    return needed


def lock_entry(
    wheel: Wheel, url: str, known: set[str], environment: dict[str, str]
) -> dict[str, Any]:
    """The lock entry of a piplite ``wheel`` served at ``url`` (relative to Pyodide's folder).

    With it, Pyodide loads the wheel on its own when a cell imports one of its modules, as it
    does IPython: ``import pocketflow`` works without a ``%pip install`` first. Its dependencies
    are those of its requirements that are in the lock (``known``); the rest (the kernel's
    ``widgetsnbextension`` stand-in) hold no module anything imports.
    """
    depends = sorted(
        {canonicalize_name(requirement.name) for requirement in wheel.needs(environment)} & known
    )
    return {
        "name": wheel.name,
        "version": str(wheel.version),
        "file_name": url,
        "install_dir": "site",
        "sha256": sha256(wheel.path),
        "package_type": "package",
        "imports": list(wheel.imports),
        "depends": depends,
        "unvendored_tests": False,
    }


# --------------------------------------------------------------------------------------------
# The pieces of the site
# --------------------------------------------------------------------------------------------


def kernel_pyodide_version() -> str:
    """The version of Pyodide that the installed ``jupyterlite-pyodide-kernel`` expects.

    Imported here rather than at the top, so that the rest of this module can be imported
    (and tested) where the Lite tooling is not installed.
    """
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    version: str = PYODIDE_VERSION
    return version


def unpack_pyodide(target: Path, version: str) -> dict[str, Any]:
    """Unpack the npm package of Pyodide ``version`` into ``target``; return its lock file's
    contents.

    Only what the browser loads is kept: no source maps, type declarations or sample pages.
    """
    tarball = npm_package("pyodide", version)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    skip = re.compile(r".*\.(map|d\.ts|html|md)$")
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or "/" in name or skip.fullmatch(name):
                continue
            stream = archive.extractfile(member)
            if stream is None:
                continue
            (target / name).write_bytes(stream.read())
    lock: dict[str, Any] = json.loads((target / "pyodide-lock.json").read_text())
    return lock


def fill_lock(
    target: Path,
    lock: dict[str, Any],
    needed: Iterable[str],
    python: str,
    site_wheels: Iterable[Wheel],
    environment: dict[str, str],
) -> int:
    """Put the ``needed`` packages of ``lock`` into ``target``, from PyPI, and rewrite the lock.

    The lock then lists exactly these packages, each with the file name and sha256 of the wheel
    PyPI serves (Pyodide's own builds of the same releases differ in their bytes), and the
    piplite wheels ``site_wheels`` (see :func:`lock_entry`). Returns the number of packages.
    """
    by_name: dict[str, tuple[str, Any]] = {
        canonicalize_name(key): (key, entry) for key, entry in lock["packages"].items()
    }
    packages: dict[str, Any] = {}
    for name in sorted(needed):
        key, entry = by_name[name]
        if entry.get("package_type") != "package" or not entry["file_name"].endswith(
            "-none-any.whl"
        ):
            raise SystemExit(
                f"Pyodide's {key} {entry['version']} ({entry['file_name']}) is not pure Python; "
                "only pure-Python packages can come from PyPI"
            )
        download = pure_wheel(entry["name"], entry["version"], python)
        shutil.copy2(download, target / download.name)
        packages[key] = {**entry, "file_name": download.name, "sha256": sha256(download)}
    site_wheels = list(site_wheels)
    known = set(needed) | {wheel.name for wheel in site_wheels}
    for wheel in site_wheels:
        url = f"{PIPLITE_FROM_PYODIDE}/{wheel.path.name}"
        packages[wheel.name] = lock_entry(wheel, url, known, environment)
    rewritten = {**lock, "packages": packages}
    (target / "pyodide-lock.json").write_text(json.dumps(rewritten, indent=1) + "\n")
    return len(packages)


def kernel_wheels() -> list[Path]:
    """The wheels the Pyodide kernel's labextension carries (piplite, the kernel, shims)."""
    share = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / KERNEL_EXTENSION
    wheels = sorted((share / "static" / "pypi").glob("*.whl"))
    if not wheels:
        raise SystemExit(f"no wheels under {share}: is jupyterlite-pyodide-kernel installed?")
    return wheels


def piplite_wheels(folder: Path, python: str) -> list[Path]:
    """The piplite wheels for Python ``python``: :data:`PIPLITE_DISTRIBUTIONS` at their
    installed versions, and this project's own wheel (built into ``folder``)."""
    wheels = []
    for distribution in PIPLITE_DISTRIBUTIONS:
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"{distribution} is not installed next to {sys.executable}: "
                "run this script with `make lite`, which installs the `lite` extra"
            ) from None
        wheels.append(pure_wheel(distribution, version, python))
    wheels.append(project_wheel(folder))
    return wheels


def lite_notebook(notebook: dict[str, Any]) -> dict[str, Any]:
    """The Lite edition of a chapter notebook (as JSON): no outputs, and each cell tagged
    :data:`FULL_KERNEL_TAG` turned into Markdown that says why it does not run here and shows
    its code."""
    edition = copy.deepcopy(notebook)
    cells = []
    for cell in edition["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            if FULL_KERNEL_TAG in cell.get("metadata", {}).get("tags", []):
                cell = {
                    "cell_type": "markdown",
                    "id": cell["id"],
                    "metadata": cell["metadata"],
                    "source": f"{FULL_KERNEL_NOTE}\n\n```python\n{source}\n```",
                }
            else:
                cell["outputs"] = []
                cell["execution_count"] = None
        cells.append(cell)
    edition["cells"] = cells
    return edition


def write_chapters(target: Path) -> list[str]:
    """The Lite edition of every chapter, with the modules they import, into ``target``."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    chapters = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for chapter in chapters:
        notebook = json.loads(chapter.read_text(encoding="utf-8"))
        text = json.dumps(lite_notebook(notebook), indent=1, ensure_ascii=False) + "\n"
        (target / chapter.name).write_text(text, encoding="utf-8")
    for helper in sorted(NOTEBOOKS.glob("*.py")):
        if helper.name not in NOT_FOR_READERS:
            shutil.copy2(helper, target / helper.name)
    shutil.copy2(NOTEBOOKS / "README.md", target / "README.md")
    return [chapter.name for chapter in chapters]


def write_config(lite_dir: Path) -> None:
    """``jupyter-lite.json`` (no PyPI for the kernel; the app reachable by the tests) and
    ``overrides.json`` (settings) in ``lite_dir``."""
    config = {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "PocketFlow Notebooks",
            # window.jupyterapp, through which the browser test reads the notebook model.
            "exposeAppInBrowser": "true",
            "litePluginSettings": {KERNEL_PLUGIN: {"disablePyPIFallback": True}},
        },
    }
    (lite_dir / "jupyter-lite.json").write_text(json.dumps(config, indent=2) + "\n")
    (lite_dir / "overrides.json").write_text(json.dumps(SETTINGS_OVERRIDES, indent=2) + "\n")


def jupyter_lite_build(lite_dir: Path, contents: Path, output: Path, wheels: list[Path]) -> None:
    """Run ``jupyter lite build`` from this interpreter's environment."""
    jupyter = Path(sys.executable).with_name("jupyter")
    if output.exists():
        shutil.rmtree(output)
    command = [
        str(jupyter),
        "lite",
        "build",
        f"--lite-dir={lite_dir}",
        f"--contents={contents}",
        f"--output-dir={output}",
        "--apps=lab",
        "--no-sourcemaps",
        "--no-unused-shared-packages",
        *(f"--piplite-wheels={wheel}" for wheel in wheels),
    ]
    run(command, cwd=lite_dir)


def check_site(output: Path) -> None:
    """Fail if the built site points the kernel anywhere but itself."""
    config = json.loads((output / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = config["litePluginSettings"][KERNEL_PLUGIN]
    problems = []
    if settings.get("disablePyPIFallback") is not True:
        problems.append("disablePyPIFallback is not set")
    if settings.get("pyodideUrl") != "./static/pyodide/pyodide.mjs":
        problems.append(f"the kernel loads Pyodide from {settings.get('pyodideUrl')!r}")
    if any(not url.startswith("./") for url in settings.get("pipliteUrls", [])):
        problems.append(f"a piplite index is not in the site: {settings['pipliteUrls']}")
    if problems:
        raise SystemExit("the built site is not self-contained: " + "; ".join(problems))


def build(output: Path) -> int:
    """Build the site into ``output``; return its size in bytes."""
    started = time.monotonic()
    stage = output.with_name(output.name + "-src")
    lite_dir = stage / "lite"
    pyodide_dir = lite_dir / "static" / "pyodide"
    if stage.exists():
        shutil.rmtree(stage)
    lite_dir.mkdir(parents=True)

    version = kernel_pyodide_version()
    say(f"Pyodide {version}, the version jupyterlite-pyodide-kernel expects")
    lock = unpack_pyodide(pyodide_dir, version)
    environment = pyodide_environment(lock["info"])
    python = environment["python_version"]
    wheels = piplite_wheels(stage / "project-wheel", python)
    site_wheels = [Wheel.read(path) for path in wheels]
    all_wheels = [*(Wheel.read(path) for path in kernel_wheels()), *site_wheels]
    needed = needed_lock_packages(all_wheels, lock, environment)
    count = fill_lock(pyodide_dir, lock, needed, python, site_wheels, environment)
    say(
        f"Pyodide's lock: {len(needed)} pure-Python packages from PyPI (sha256 rewritten) and "
        f"{count - len(needed)} piplite wheels, loaded when a cell imports them"
    )
    say("piplite wheels: " + ", ".join(path.name for path in wheels))

    chapters = write_chapters(stage / "chapters")
    say(f"chapters (Lite edition): {', '.join(chapters)}")
    write_config(lite_dir)
    say("jupyter lite build (PyPI turned off for the kernel)")
    jupyter_lite_build(lite_dir, stage / "chapters", output, wheels)
    check_site(output)
    size = folder_size(output)
    say(f"built {output} in {time.monotonic() - started:.0f} s: {size / 1e6:.1f} MB")
    return size


def main(argv: list[str]) -> None:
    """Build the site where ``--output`` says; fail if it is over :data:`MAX_SITE_MB`."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the site's folder")
    arguments = parser.parse_args(argv)
    size = build(arguments.output.resolve())
    if size > MAX_SITE_MB * 1e6:
        raise SystemExit(f"the site is {size / 1e6:.1f} MB, over the {MAX_SITE_MB} MB allowed")
    print(f"serve it with: python -m http.server --directory {arguments.output} 8000")


if __name__ == "__main__":
    main(sys.argv[1:])
