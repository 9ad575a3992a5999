"""The graph as an indented plain-text outline, for terminals and ``text/plain``."""

from __future__ import annotations

from .graph import Graph, GraphNode, Overlay
from .nodes import BaseNode
from .scene import DrawNode, Link, Marker, OpenCluster, Scene, build_scene, line_label

__all__ = ["to_text"]


def to_text(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> str:
    """The graph as an indented outline for terminals: each flow's nodes, then its edges.

    With ``overlay``, each node shows how often it ran and each taken edge its count.
    """
    scene = build_scene(flow_or_graph, overlay)
    lines = []
    for item in scene.outline(links_inside=True):
        indent = "  " * item.depth
        match item:
            case OpenCluster(node=node) | DrawNode(node=node):
                lines.append(indent + _text_node(scene, node))
            case Marker(role="empty"):
                lines.append(indent + "(no start node)")
            case Link(line=line):
                label = line_label(line).replace("\n", " ")
                arrow = f"--{label}-->" if label else "-->"
                lines.append(f"{indent}{scene.name(line.source)} {arrow} {scene.name(line.target)}")
    return "\n".join(lines) + "\n"


def _text_node(scene: Scene, node: GraphNode) -> str:
    kind = scene.kind(node)
    text = scene.name(node.id)
    if kind not in ("collapsed", "more"):  # their labels say what they are
        text += f" ({scene.kind_name(node)})"
    if scene.overlay is None:
        return text
    visits = scene.overlay.visits.get(node.id, 0)
    notes = [f"ran ×{visits}" if visits else "not run"]
    state = scene.states[node.id]
    if state in ("current", "failed"):
        notes.append(state)
    return f"{text}  [{', '.join(notes)}]"
