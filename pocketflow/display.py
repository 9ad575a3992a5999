"""What a notebook shows for a flow: its picture and its text, as a mime bundle, and a legend.

:func:`mimebundle` is what ``Flow._repr_mimebundle_`` returns: SVG when Graphviz's ``dot`` runs,
else Mermaid (JupyterLab 4.1+ draws it offline), and always a plain-text outline. :func:`legend`
shows what each run state looks like, drawn by the same renderers.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Final

from .dot import render_svg, to_dot
from .graph import Graph, GraphEdge, GraphNode, Overlay, build_graph, overlay_for, what_to_draw
from .mermaid import to_mermaid
from .nodes import BaseNode
from .palette import STATES
from .text import to_text

__all__ = ["MERMAID", "PLAIN", "SVG", "Legend", "legend", "mimebundle"]

SVG: Final = "image/svg+xml"
MERMAID: Final = "text/vnd.mermaid"
PLAIN: Final = "text/plain"

#: Whether a mime type is wanted.
_Wanted = Callable[[str], bool]


def mimebundle(
    flow_or_graph: BaseNode | Graph,
    overlay: Overlay | None = None,
    *,
    include: Container[str] | None = None,
    exclude: Container[str] | None = None,
) -> dict[str, str]:
    """What a notebook shows for a flow: SVG (when Graphviz's ``dot`` runs) or else Mermaid,
    and the plain-text outline.

    ``include`` and ``exclude`` are IPython's: the mime types wanted (``None``: all) and those
    not wanted. ``dot`` runs only when SVG is wanted. The picture is of
    :func:`~pocketflow.graph.what_to_draw` (an overview for a large graph); the text has it all.

    >>> from pocketflow import Flow, Node
    >>> mimebundle(Flow(start=Node(name="hello"), name="main"), include={"text/plain"})
    {'text/plain': 'main (Flow)\\n  hello (Node)\\n  (start) --> hello\\n  hello --> (end)\\n'}
    """
    graph = flow_or_graph if isinstance(flow_or_graph, Graph) else build_graph(flow_or_graph)
    wanted = _wanting(include, exclude)
    bundle = _picture(graph, overlay, wanted)
    if wanted(PLAIN):
        bundle[PLAIN] = to_text(graph, overlay)
    return bundle


def _wanting(include: Container[str] | None, exclude: Container[str] | None) -> _Wanted:
    def wanted(mime: str) -> bool:
        return (include is None or mime in include) and (exclude is None or mime not in exclude)

    return wanted


def _picture(graph: Graph, overlay: Overlay | None, wanted: _Wanted) -> dict[str, str]:
    """The picture of ``graph``: SVG if wanted and ``dot`` makes it, else Mermaid if wanted."""
    drawn = what_to_draw(graph)
    shown = overlay_for(drawn, overlay)
    if wanted(SVG):
        svg = render_svg(to_dot(drawn, shown))
        if svg is not None:
            return {SVG: svg}
    if wanted(MERMAID):
        return {MERMAID: to_mermaid(drawn, shown)}
    return {}


class Legend:
    """A small graph with a node in each run state and a line taken and not, drawn like any
    flow's graph, with a text that says what each look means.
    """

    def __init__(self) -> None:
        names = {state: style.word for state, style in STATES.items()}
        nodes = [
            GraphNode(state, name, name, "node", BaseNode(name=name), None, False, False)
            for state, name in names.items()
        ]
        edges = [
            GraphEdge("visited", "current", "taken", None, "edge__legend__taken"),
            GraphEdge("current", "failed", "taken", None, "edge__legend__failed"),
            GraphEdge("failed", "unvisited", "not taken", None, "edge__legend__not_taken"),
        ]
        #: The graph drawn: one node per state, in the order of :data:`~pocketflow.palette.STATES`.
        self.graph = Graph(nodes, edges)
        #: The run laid over it, putting each node in its state.
        self.overlay = Overlay(
            visits={"visited": 2, "current": 1, "failed": 1},
            edges={("visited", "taken", "current"): 2, ("current", "taken", "failed"): 1},
            current="current",
            failed="failed",
        )

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        wanted = _wanting(include, exclude)
        bundle = _picture(self.graph, self.overlay, wanted)
        if wanted(PLAIN):
            bundle[PLAIN] = repr(self)
        return bundle

    def __repr__(self) -> str:
        lines = [
            f"{style.icon or ' '} {style.word:<8} {_outline(style.width, style.dash)}: "
            f"{style.meaning}"
            for style in STATES.values()
        ]
        lines.append("  ×N       under an edge's action: how many times the run took it")
        return "\n".join(lines)


def _outline(width: float, dash: str) -> str:
    return "two outlines" if dash == "double" else f"{dash} outline, {width:g}px"


def legend() -> Legend:
    """What the looks of a drawn run mean: evaluate it in a cell for a picture, print it for text.

    >>> print(legend())
    ▶ current  solid outline, 3px: running now, or where the run is paused
      visited  solid outline, 2px: ran at least once
    ✗ failed   two outlines: an exception escaped it
      not run  dotted outline, 1px: did not run (yet)
      ×N       under an edge's action: how many times the run took it
    """
    return Legend()
