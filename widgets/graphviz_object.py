"""A flow's graph as a ``graphviz.Source``: render it to PNG, SVG or PDF, or pipe it anywhere.

The DOT text is the core's :func:`~pocketflow.dot.to_dot`, so the file looks like the notebook
picture, run and all. The toolkit's own pictures keep the core's ``dot`` run with a time budget
(:func:`~pocketflow.dot.render_svg`): the ``graphviz`` package's ``pipe`` and ``render`` have no
timeout, which is fine for a file a user asks for and not for every cell display.
"""

from __future__ import annotations

import graphviz  # type: ignore[import-untyped]  # it ships no py.typed

from pocketflow import BaseNode
from pocketflow.dot import to_dot
from pocketflow.graph import Graph, Overlay, build_graph

__all__ = ["to_graphviz"]


def to_graphviz(flow: BaseNode | Graph, overlay: Overlay | None = None) -> graphviz.Source:
    """The whole graph of ``flow`` (never an overview), with ``overlay`` laid over it, as a
    ``graphviz.Source`` named after the flow.

    Save a picture with ``.render(format="png")`` (or "svg", "pdf"...), which writes
    ``<name>.gv`` and ``<name>.gv.png``; get the bytes with ``.pipe(format="svg")``.

    >>> from pocketflow import Flow, Node
    >>> source = to_graphviz(Flow(start=Node(name="hello"), name="main"))
    >>> source.filename, source.source.splitlines()[0]
    ('main.gv', 'digraph "main" {')
    """
    graph = flow if isinstance(flow, Graph) else build_graph(flow)
    return graphviz.Source(to_dot(graph, overlay), filename=f"{graph.root.id}.gv")
