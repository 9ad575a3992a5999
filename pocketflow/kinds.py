"""What kind of node a class is: each library class says so in its ``kind`` class attribute.

Graphs draw a node by its kind and error messages name it by the library class it extends, so
neither needs a table of classes to test against, nor imports the flow classes to find out.

>>> from pocketflow import BatchNode
>>> class Load(BatchNode):
...     kind = "files"  # a user's own attribute that happens to share the name: not a kind
>>> kind_of(Load()), library_class(Load).__name__
('batch', 'BatchNode')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .nodes import BaseNode

__all__ = ["FLOW_KINDS", "KIND_NAMES", "kind_of", "library_class"]

#: Each kind -> its name in drawings: the library class it stands for.
KIND_NAMES: Final[dict[str, str]] = {
    "node": "Node",
    "batch": "BatchNode",
    "async": "AsyncNode",
    "async_batch": "AsyncBatchNode",
    "parallel": "AsyncParallelBatchNode",
    "flow": "Flow",
    "batch_flow": "BatchFlow",
    "async_flow": "AsyncFlow",
    "async_batch_flow": "AsyncBatchFlow",
    "parallel_flow": "AsyncParallelBatchFlow",
}

#: The kinds that are flows, drawn as clusters.
FLOW_KINDS: Final = frozenset(kind for kind in KIND_NAMES if kind.endswith("flow"))


def library_class(cls: type) -> type | None:
    """The library class ``cls`` extends: the first class in its MRO that declares a kind of
    :data:`KIND_NAMES` as its own ``kind`` (a subclass's unrelated ``kind`` is passed over).
    ``None`` for a class that extends none.
    """
    return next((base for base in cls.__mro__ if vars(base).get("kind") in KIND_NAMES), None)


def kind_of(node: BaseNode) -> str:
    """The kind of ``node`` (a key of :data:`KIND_NAMES`), from the library class it extends."""
    found = library_class(type(node))
    return "node" if found is None else str(vars(found)["kind"])
