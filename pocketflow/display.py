"""What a notebook shows for a flow: its picture and its text, as a mime bundle."""

from __future__ import annotations

from .dot import render_svg, to_dot
from .graph import Graph, Overlay, build_graph, overlay_for, what_to_draw
from .mermaid import to_mermaid
from .nodes import BaseNode
from .text import to_text

__all__ = ["mimebundle"]


def mimebundle(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> dict[str, str]:
    """What a notebook shows for a flow: SVG (when Graphviz's ``dot`` runs) or else Mermaid,
    and always the plain-text outline. ``Flow._repr_mimebundle_`` returns this.

    The picture is of :func:`what_to_draw` (an overview for a large graph); the text has it all.
    """
    graph = flow_or_graph if isinstance(flow_or_graph, Graph) else build_graph(flow_or_graph)
    drawn = what_to_draw(graph)
    shown = overlay_for(drawn, overlay)
    bundle: dict[str, str] = {}
    svg = render_svg(to_dot(drawn, shown))
    if svg is not None:
        bundle["image/svg+xml"] = svg
    else:
        bundle["text/vnd.mermaid"] = to_mermaid(drawn, shown)
    bundle["text/plain"] = to_text(graph, overlay)
    return bundle
