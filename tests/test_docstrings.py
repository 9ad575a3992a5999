"""The examples in the docstrings of both packages run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import pocketflow
import pocketflow_widgets

MODULES = [
    f"{package.__name__}.{info.name}"
    for package in (pocketflow, pocketflow_widgets)
    for info in pkgutil.iter_modules(package.__path__)
]


def test_modules_are_found() -> None:
    assert "pocketflow.nodes" in MODULES and "pocketflow_widgets.stepper" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_toolkit_name_shows_an_example() -> None:
    missing = [
        name
        for name in pocketflow_widgets.__all__
        if ">>>" not in (getattr(pocketflow_widgets, name).__doc__ or "")
    ]
    assert missing == ["GraphPicture"]  # a value returned by show(), whose example covers it
