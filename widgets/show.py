"""``show``: a flow's graph inline, optionally with a recorded run laid over it."""

from __future__ import annotations

from typing import Any

from pocketflow import BaseNode
from pocketflow.display import mimebundle
from pocketflow.graph import Graph, Overlay, build_graph
from pocketflow.text import to_text
from pocketflow.trace import Trace

__all__ = ["GraphPicture", "show"]


class GraphPicture:
    """A graph (and an overlay) that displays itself: SVG with Graphviz, else Mermaid."""

    def __init__(self, graph: Graph, overlay: Overlay | None = None) -> None:
        self.graph = graph
        self.overlay = overlay

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return mimebundle(self.graph, self.overlay, include=include, exclude=exclude)

    def __repr__(self) -> str:
        # the text form alone: no layout by Graphviz for a repr
        return to_text(self.graph, self.overlay).rstrip("\n")


def show(flow: BaseNode | None = None, trace: Trace | None = None) -> GraphPicture:
    """The graph of ``flow``, with ``trace`` laid over it (visits, edges taken, failure).

    With only a trace (say, loaded from a file), its own graph is drawn. Evaluate the result
    in a cell, or pass it to ``IPython.display.display``.

    >>> from pocketflow import Flow, Node
    >>> show(Flow(start=Node(name="hello"), name="main"))
    main (Flow)
      hello (Node)
      (start) --> hello
      hello --> (end)
    """
    if flow is None and trace is None:
        raise TypeError("show() needs a flow, a trace, or both")
    graph = build_graph(flow) if flow is not None else trace.graph  # type: ignore[union-attr]
    if trace is not None and flow is not None:
        trace.check_graph(graph)
    return GraphPicture(graph, trace.overlay() if trace is not None else None)
