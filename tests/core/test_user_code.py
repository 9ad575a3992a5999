"""The library meets user code where it is: node classes with ``__slots__``, a copy of the
library vendored under another package name, and warnings that point at the user's own line and
show each time, on every supported Python.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pocketflow
from pocketflow import AsyncFlow, AsyncNode, Flow, Node

ROOT = Path(__file__).resolve().parents[2]


# -- __slots__ ---------------------------------------------------------------------------------


def _slotted(lib: Any) -> Any:
    class Counter(lib.Node):
        __slots__ = ("__secret", "step")

        def __init__(self) -> None:
            super().__init__()
            self.step = 10
            self.__secret = "kept"

        def exec(self, prep_res: Any) -> Any:
            return (self.step, self.__secret)

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["seen"] = exec_res

    return Counter


@pytest.mark.parametrize("lib_name", ["reference", "pocketflow"])
def test_a_node_class_with_slots_runs_in_a_flow(lib_name: str, reference: ModuleType) -> None:
    lib = reference if lib_name == "reference" else pocketflow
    shared: dict[str, Any] = {}
    lib.Flow(start=_slotted(lib)()).run(shared)
    assert shared["seen"] == (10, "kept")


def test_an_unset_slot_stays_unset_on_the_copy() -> None:
    class Lazy(Node):
        __slots__ = "cache"

        def exec(self, prep_res: Any) -> Any:
            return hasattr(self, "cache")

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["had cache"] = exec_res

    shared: dict[str, Any] = {}
    Flow(start=Lazy()).run(shared)
    assert shared == {"had cache": False}


# -- warnings at the user's line, every time ----------------------------------------------------


def _warnings_of(action: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # what Python and IPython do for UserWarning
        action()
    return [w for w in caught if issubclass(w.category, UserWarning)]


def _line_of(start: str) -> int:
    """The number of the line of this file that starts (after indentation) with ``start``."""
    source = Path(__file__).read_text().splitlines()
    return next(number for number, line in enumerate(source, 1) if line.strip().startswith(start))


def _overwrite_twice() -> None:
    for _ in range(2):
        a, b = Node(), Node()
        a >> b
        a >> b  # the line the warning names


def _flow_ends_twice() -> None:
    branch = Node()
    branch - "yes" >> Node()
    flow = Flow(start=Flow(start=branch, name="inner"), name="outer")
    for _ in range(2):
        flow.run({})  # the line that runs the flow


def _node_runs_alone_twice() -> None:
    node = Node()
    node >> Node()
    for _ in range(2):
        node.run({})  # the line that runs the node


def _async_flow_ends_twice() -> None:
    async def main() -> None:
        branch = AsyncNode()
        branch - "yes" >> Node()
        flow = AsyncFlow(start=AsyncFlow(start=branch, name="inner"), name="outer")
        for _ in range(2):
            await flow.run_async({})  # the line that awaits the flow

    asyncio.run(main())


@pytest.mark.parametrize(
    ("action", "message", "line"),
    [
        (_overwrite_twice, "Overwriting successor for action 'default'", "a >> b  # the line"),
        (_flow_ends_twice, "Flow ends: 'None' not found in ['yes']", "flow.run({})  # the line"),
        (_node_runs_alone_twice, "Node won't run successors. Use Flow.", "node.run({})  # the"),
        (
            _async_flow_ends_twice,
            "Flow ends: 'None' not found in ['yes']",
            "await flow.run_async({})  # the line",
        ),
    ],
    ids=["overwrite", "flow ends", "won't run successors", "async flow ends"],
)
def test_a_warning_names_the_users_line_and_shows_each_time(
    action: Any, message: str, line: str
) -> None:
    caught = _warnings_of(action)
    assert [str(w.message) for w in caught] == [message, message]
    assert {(w.filename, w.lineno) for w in caught} == {(__file__, _line_of(line))}


def test_a_warning_can_still_be_silenced_by_the_filters() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        _overwrite_twice()
    assert caught == []


# -- vendored under another name ---------------------------------------------------------------


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """A copy of the library imported as ``myproject_vendor.flowlib``."""
    root = tmp_path_factory.mktemp("vendored")
    package = root / "myproject_vendor"
    shutil.copytree(ROOT / "pocketflow", package / "flowlib")
    (package / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module("myproject_vendor.flowlib")
    finally:
        sys.path.remove(str(root))
    assert module.__file__ is not None and module.__file__.startswith(str(root))
    return module


def test_errors_that_name_a_node_kind_work_when_vendored(vendored: ModuleType) -> None:
    with pytest.raises(ValueError, match="Node 'fetch': max_retries must be an integer"):
        vendored.Node(max_retries=-1, name="fetch")

    class Mine(vendored.BatchNode):  # type: ignore[name-defined, misc]
        def prep(self, shared: Any) -> Any:
            return "not a list"

    with pytest.raises(TypeError, match="BatchNode 'Mine': prep must return an iterable"):
        vendored.Flow(start=Mine()).run({})


def test_warnings_name_the_users_line_when_vendored(vendored: ModuleType) -> None:
    def twice() -> None:
        for _ in range(2):
            a = vendored.Node()
            a >> vendored.Node()
            a >> vendored.Node()  # vendored: the line the warning names

    caught = _warnings_of(twice)
    assert len(caught) == 2
    assert {(w.filename, w.lineno) for w in caught} == {
        (__file__, _line_of("a >> vendored.Node()  # vendored: the line the warning names"))
    }
