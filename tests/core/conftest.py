"""Fixtures of the core tests: the reference release, loaded beside this library."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_programs() -> ModuleType:
    # Test folders are not packages (pytest's importlib mode): load the helper by its path.
    name = "pocketflow_test_programs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("programs.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


#: The random-program helper, loaded once here for the test modules of this folder, which
#: read it as ``sys.modules["pocketflow_test_programs"]``.
_load_programs()


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """The reference release ``pocketflow==0.0.3``, loaded as ``pocketflow_reference``."""
    return _load_programs().load_reference_or_skip()  # type: ignore[no-any-return]
