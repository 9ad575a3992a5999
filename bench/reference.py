"""Load the reference release (``pocketflow==0.0.3`` from PyPI) beside our ``pocketflow``.

The release is one module. Its wheel is downloaded once into ``bench/.cache/`` with pip, the
module is extracted from it, and loaded under the name ``pocketflow_reference`` so that it never
shadows this project's package of the same name:

    >>> from bench.reference import load_reference  # doctest: +SKIP
    >>> reference = load_reference()  # doctest: +SKIP
    >>> reference.Flow.__module__  # doctest: +SKIP
    'pocketflow_reference'

Importing this module does nothing but define names; the first :func:`load_reference` call may
use the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Final

__all__ = ["CACHE_DIR", "MODULE_NAME", "VERSION", "load_reference", "reference_source"]

VERSION: Final = "0.0.3"
"""The reference release every comparison is made against."""

MODULE_NAME: Final = "pocketflow_reference"
"""The name the reference module is registered under in ``sys.modules``."""

CACHE_DIR: Final = Path(__file__).resolve().parent / ".cache"
"""Where the downloaded wheel and the extracted module are kept."""

WHEEL_NAME: Final = f"pocketflow-{VERSION}-py3-none-any.whl"
WHEEL_SHA256: Final = "028795ae5db00f421c97036f7cd5e89fe0654bef2a03032c84fcf6f61a292962"
_MODULE_IN_WHEEL: Final = "pocketflow/__init__.py"


def load_reference(cache_dir: Path = CACHE_DIR) -> ModuleType:
    """Return the reference ``pocketflow`` module, registered as ``pocketflow_reference``.

    Downloads and extracts the release into ``cache_dir`` on first use. Later calls in the same
    process return the module already loaded.
    """
    loaded = sys.modules.get(MODULE_NAME)
    if loaded is not None:
        return loaded
    source = reference_source(cache_dir)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source} as module {MODULE_NAME!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[MODULE_NAME]
        raise
    return module


def reference_source(cache_dir: Path = CACHE_DIR) -> Path:
    """Return the path of the reference's extracted ``__init__.py``, fetching it if needed."""
    target = cache_dir / f"pocketflow-{VERSION}" / "pocketflow_reference.py"
    if not target.exists():
        wheel = _wheel(cache_dir)
        with zipfile.ZipFile(wheel) as archive:
            _write_atomically(target, archive.read(_MODULE_IN_WHEEL))
    return target


def _wheel(cache_dir: Path) -> Path:
    """Return the verified wheel in ``cache_dir``, downloading it with pip if it is missing."""
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        _download(cache_dir)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise RuntimeError(
            f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}; delete it to download again"
        )
    return wheel


def _download(cache_dir: Path) -> None:
    """Fetch the wheel with pip into a private folder, then move it into place in one step."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--quiet", f"pocketflow=={VERSION}", "-d", scratch,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        fetched = Path(scratch) / WHEEL_NAME
        if done.returncode != 0 or not fetched.exists():
            raise RuntimeError(
                f"could not download pocketflow=={VERSION} (ran: {' '.join(command)}):\n"
                f"{done.stderr.strip()}"
            )
        os.replace(fetched, cache_dir / WHEEL_NAME)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a concurrent reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
