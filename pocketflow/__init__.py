"""PocketFlow: a minimal graph of nodes over one shared dict, observable step by step.

A :class:`Node` does ``prep -> exec -> post``; ``post`` returns an action; a :class:`Flow`
follows ``node - "action" >> next`` edges. Batch, async and parallel variants change how ``exec``
runs. Every run can be watched (:func:`observe`) or stepped (``node.steps``, ``node.asteps``).
"""

from .errors import StepLimitError
from .events import KINDS, Event, Observer, observe
from .flows import AsyncBatchFlow, AsyncFlow, AsyncParallelBatchFlow, BatchFlow, Flow
from .nodes import (
    AsyncBatchNode,
    AsyncNode,
    AsyncParallelBatchNode,
    BaseNode,
    BatchNode,
    Node,
)

__all__ = [
    "KINDS",
    "AsyncBatchFlow",
    "AsyncBatchNode",
    "AsyncFlow",
    "AsyncNode",
    "AsyncParallelBatchFlow",
    "AsyncParallelBatchNode",
    "BaseNode",
    "BatchFlow",
    "BatchNode",
    "Event",
    "Flow",
    "Node",
    "Observer",
    "StepLimitError",
    "observe",
]
