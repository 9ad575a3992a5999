"""Node kinds come from the classes: each library class declares its ``kind``, graphs draw by it
and error messages name the class that declares it, with no table of classes anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pocketflow
from pocketflow import BaseNode, BatchFlow, BatchNode, Flow, Node
from pocketflow.errors import label
from pocketflow.graph import FLOW_KINDS, KIND_NAMES, build_graph, kind_of
from pocketflow.kinds import library_class

ROOT = Path(__file__).resolve().parents[2]

LIBRARY_CLASSES = [getattr(pocketflow, name) for name in KIND_NAMES.values()]


@pytest.mark.parametrize("cls", LIBRARY_CLASSES, ids=lambda cls: cls.__name__)
def test_each_library_class_declares_its_own_kind(cls: type[BaseNode]) -> None:
    kind = vars(cls)["kind"]
    assert KIND_NAMES[kind] == cls.__name__
    assert kind_of(cls()) == kind
    assert library_class(cls) is cls
    assert (kind in FLOW_KINDS) == issubclass(cls, Flow)


def test_a_subclass_takes_the_kind_of_the_library_class_it_extends() -> None:
    class Load(BatchNode):
        pass

    class PerFile(BatchFlow):
        pass

    assert (kind_of(Load()), kind_of(PerFile())) == ("batch", "batch_flow")
    assert label(Load(name="load")) == "BatchNode 'load'"
    assert label(BaseNode(name="bare")) == "BaseNode 'bare'"


def test_a_users_own_kind_attribute_is_not_taken_for_a_node_kind() -> None:
    class Classify(Node):
        kind = "sentiment"

    inner = Classify(name="classify")
    assert kind_of(inner) == "node"
    assert label(inner) == "Node 'classify'"
    flow = Flow(start=inner, name="main")
    assert [node.kind for node in build_graph(flow).nodes] == ["flow", "node"]


def test_a_class_outside_the_library_has_no_library_class() -> None:
    class Plain:
        pass

    assert library_class(Plain) is None


def _imports(path: Path) -> list[tuple[str | None, int, bool]]:
    """(module, level, inside a function) of each ``from ... import`` in ``path``."""
    tree = ast.parse(path.read_text())
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    return [
        (node.module, node.level, id(node) in nested)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    ]


def test_the_model_does_not_import_the_flow_classes_and_flows_import_the_display() -> None:
    model = _imports(ROOT / "pocketflow" / "graph.py")
    assert ("flows", 1, False) not in model and ("flows", 1, True) not in model
    flows = _imports(ROOT / "pocketflow" / "flows.py")
    assert ("display", 1, False) in flows
    assert not any(inside for _, _, inside in flows)  # no import dodging a cycle
