"""The graph as a widget that a run can recolour many times a second.

Graphviz lays the graph out once (an overview of it when it is large: the same picture as the
flow's own display). Each update then only restyles that SVG: a ``<style>`` block with one rule
per visited, current or failed node and per edge taken, and edge labels with their counts.
Without ``dot``, the view falls back on Mermaid, redrawn by JupyterLab on each update. Every id in
the CSS is a :func:`~pocketflow.graph.safe_dom_id`, so no graph, however made, can break out of it.
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

import ipywidgets as widgets

from pocketflow.graph import (
    Graph,
    Overlay,
    overlay_for,
    render_svg,
    safe_dom_id,
    to_dot,
    to_mermaid,
    what_to_draw,
)

__all__ = ["GraphView"]

_views = itertools.count(1)

# Graphviz writes each node and edge as <g id="..." class="node|edge"><title>NAME</title>...;
# the renderer gives every node and edge an id of its own (see pocketflow.graph.to_dot).
_GROUP = re.compile(r'<g id="(?P<id>[^"]+)" class="(?P<cls>node|edge)">')
_EDGE_LABEL = re.compile(r"(<text[^>]*>)([^<]*)(</text>)")

STATE_CSS = {
    "visited": "fill: #cfe8ff; stroke: #1f6fb2;",
    "current": "fill: #ffd966; stroke: #b7791f; stroke-width: 3px;",
    "failed": "fill: #f8b4b4; stroke: #c53030; stroke-width: 3px;",
    "unvisited": "opacity: 0.55;",
    "edge": "stroke: #1f6fb2; stroke-width: 2.5px;",
}
FRAME_CSS = {
    "visited": "stroke: #1f6fb2; stroke-width: 2px;",
    "current": "stroke: #b7791f; stroke-width: 3px;",
    "failed": "stroke: #c53030; stroke-width: 3px;",
}


class GraphView:
    """A flow's graph in a widget (:attr:`widget`); :meth:`update` lays an overlay over it.

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.graph import Overlay, build_graph
    >>> view = GraphView(build_graph(Flow(start=Node(name="hello"))))
    >>> view.update(Overlay(visits={"hello": 1}, current="hello"))
    >>> "#node__hello" in view.render_html(Overlay(current="hello"))
    True
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        #: What is drawn: the graph, or an overview of it when it is large (the same picture as
        #: the flow's own display, see :func:`pocketflow.graph.what_to_draw`).
        self.drawn = what_to_draw(graph)
        self.scope = f"pf-view-{next(_views)}"
        svg = render_svg(to_dot(self.drawn))
        self.widget: widgets.Widget
        if svg is not None:
            self._parts = _split_svg(svg[svg.find("<svg") :])
            self.widget = widgets.HTML()
        else:
            self._parts = []
            self.widget = widgets.Output()
        self.update(Overlay())

    @property
    def uses_svg(self) -> bool:
        """Whether the view is an SVG laid out by Graphviz (else: Mermaid)."""
        return isinstance(self.widget, widgets.HTML)

    def update(self, overlay: Overlay) -> None:
        """Show ``overlay`` (visits, edges taken, current and failed node, batch progress)."""
        if isinstance(self.widget, widgets.HTML):
            self.widget.value = self.render_html(overlay)
        else:
            # Set as state, not printed inside the widget: the same with or without a kernel.
            data = {"text/vnd.mermaid": to_mermaid(self.drawn, overlay_for(self.drawn, overlay))}
            self.widget.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def render_html(self, overlay: Overlay) -> str:
        """The SVG with ``overlay`` (a run over :attr:`graph`) as CSS rules and counted edge
        labels."""
        overlay = overlay_for(self.drawn, overlay)
        rules = []
        visited = overlay.visits
        for node in self.drawn.nodes:
            dom_id = node.dom_id
            if node.id == overlay.failed:
                state = "failed"
            elif node.id == overlay.current:
                state = "current"
            elif node.id in visited:
                state = "visited"
            elif visited:
                state = "unvisited"
            else:
                continue
            scoped = f"#{self.scope} #{dom_id}"
            if state == "unvisited":
                rules.append(f"{scoped} {{ {STATE_CSS[state]} }}")
            elif node.is_flow:  # a cluster: only its frame, so its nodes stay readable
                rules.append(f"{scoped} > polygon {{ {FRAME_CSS[state]} }}")
            else:
                rules.append(f"{scoped} :is(polygon, ellipse, path) {{ {STATE_CSS[state]} }}")
        counts = _edge_counts(self.drawn, overlay)
        for dom_id in counts:
            rules.append(f"#{self.scope} #{dom_id} path {{ {STATE_CSS['edge']} }}")
        pieces = []
        for part in self._parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                dom_id, label = part
                count = counts.get(dom_id)
                pieces.append(html.escape(f"{label} ×{count}" if count else label))
        style = "\n".join(rules)
        body = "".join(pieces)
        return f"<div id='{self.scope}' class='pf-graph'><style>{style}</style>{body}</div>"


def _edge_counts(graph: Graph, overlay: Overlay) -> dict[str, int]:
    counts: dict[str, int] = {}
    for edge in graph.edges:
        taken = overlay.edges.get((edge.source, edge.action, edge.target))
        if taken:
            counts[safe_dom_id(edge.dom_id)] = taken
    return counts


def _split_svg(svg: str) -> list[Any]:
    """The SVG cut around edge label texts, so labels can be rewritten without parsing again."""
    parts: list[Any] = []
    position = 0
    for group in _GROUP.finditer(svg):
        if group["cls"] != "edge":
            continue
        end = svg.find("</g>", group.end())
        label = _EDGE_LABEL.search(svg, group.end(), end)
        if label is None:
            continue
        parts.append(svg[position : label.start(2)])
        parts.append((group["id"], html.unescape(label[2])))
        position = label.end(2)
    parts.append(svg[position:])
    return parts
