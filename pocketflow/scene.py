"""What every renderer draws: the graph with a run laid over it, as labels, looks and lines.

:func:`build_scene` turns a :class:`~pocketflow.graph.Graph` and an optional
:class:`~pocketflow.graph.Overlay` into a :class:`Scene`: each node's label and state, the
markers where flows start and end, and the lines between them (wired edges, start lines and
implicit ends) with how often the run took them. :mod:`pocketflow.dot`, :mod:`pocketflow.mermaid`
and :mod:`pocketflow.text` only write a scene out, so the three agree on what they show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, TypeAlias

from .graph import (
    KIND_NAMES,
    EdgeKey,
    Graph,
    GraphNode,
    NodeState,
    Overlay,
    Overview,
    build_graph,
    node_state,
    safe_dom_id,
)
from .nodes import BaseNode
from .palette import EDGE, KIND_LOOKS, MARKER, MORE, STATES, TAKEN, UNTAKEN, Look

__all__ = [
    "CloseCluster",
    "DrawNode",
    "Line",
    "Link",
    "Marker",
    "OpenCluster",
    "OutlineItem",
    "Scene",
    "build_scene",
    "clean",
    "line_count",
    "line_label",
    "line_look",
]

#: A marker: where a flow starts, where it ends, or the stand-in of a flow with no start node.
MarkerRole = Literal["start", "end", "empty"]
#: A line: a wired successor (or a declared end), the line from a flow's start marker, or the
#: implicit end after a node with no successors (drawn dashed).
LineRole = Literal["edge", "start", "exit"]


class Line(NamedTuple):
    """A line to draw: a wired edge, or the line of a start or end marker."""

    source: str
    target: str
    #: The action, or ``""`` for the default action and marker lines.
    label: str
    #: The flow the line belongs to.
    parent: str | None
    #: How many times the run took it (``None``: no overlay).
    taken: int | None
    #: What the line stands for.
    role: LineRole
    #: The ``id`` of its group in the SVG.
    dom_id: str


# -- the outline: what a renderer writes, in order --------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenCluster:
    """A flow's cluster begins: its nodes, markers and (maybe) lines follow, one level deeper."""

    depth: int
    node: GraphNode


@dataclass(frozen=True, slots=True)
class CloseCluster:
    """The cluster of ``node`` ends."""

    depth: int
    node: GraphNode


@dataclass(frozen=True, slots=True)
class DrawNode:
    """A node that is not a flow."""

    depth: int
    node: GraphNode


@dataclass(frozen=True, slots=True)
class Marker:
    """A marker of the flow it is drawn in. Its id holds ``__``, which node ids never do."""

    depth: int
    id: str
    role: MarkerRole


@dataclass(frozen=True, slots=True)
class Link:
    """A line; ``index`` is its place in :attr:`Scene.lines` (and in the order drawn)."""

    depth: int
    index: int
    line: Line


#: One item of :meth:`Scene.outline`.
OutlineItem: TypeAlias = OpenCluster | CloseCluster | DrawNode | Marker | Link


@dataclass
class Scene:
    """The graph with the overlay applied, for any renderer: labels, looks, markers, lines.

    Markers are the small circles where a flow starts and ends. Their ids contain ``__``,
    which node ids never do.
    """

    graph: Graph
    overlay: Overlay | None
    #: The graph when it is an overview (``None`` for a full graph).
    overview: Overview | None = None
    #: Node id -> drawn label (batch progress included).
    labels: dict[str, str] = field(default_factory=dict)
    #: Node id -> "plain" (no overlay), "unvisited", "visited", "current" or "failed".
    states: dict[str, NodeState] = field(default_factory=dict)
    #: Flow id -> its markers: (marker id, role), in drawing order.
    markers: dict[str | None, list[tuple[str, MarkerRole]]] = field(default_factory=dict)
    #: Marker id -> the flow it is drawn in.
    marker_parents: dict[str, str | None] = field(default_factory=dict)
    #: Start lines, then edges (declared ends included), then implicit ends.
    lines: list[Line] = field(default_factory=list)

    def add_marker(self, marker: str, role: MarkerRole, parent: str | None) -> None:
        if marker not in self.marker_parents:
            self.marker_parents[marker] = parent
            self.markers.setdefault(parent, []).append((marker, role))

    def name(self, node_id: str) -> str:
        """The label of a node on one line, or ``(start)``/``(end)`` for a marker."""
        if node_id in self.graph:
            return self.labels[node_id].replace("\n", " ")
        return "(start)" if node_id.endswith("__start") else "(end)"

    def cluster_label(self, node: GraphNode) -> str:
        return f"{self.labels[node.id]} ({KIND_NAMES[node.kind]})"

    def kind(self, node: GraphNode) -> str:
        """What ``node`` is drawn as: its kind; a plain node for a kind this module does not know
        (a graph from a file can claim any); in an overview, "collapsed" for a sub-flow drawn as
        one box and "more" for the node standing for the nodes left out.
        """
        if self.overview is not None:
            if node.id == self.overview.more:
                return "more"
            if node.id in self.overview.collapsed:
                return "collapsed"
        return node.kind if node.kind in KIND_NAMES else "node"

    def kind_name(self, node: GraphNode) -> str:
        """The kind as a reader sees it: the library class, and what a box of an overview holds."""
        if self.overview is not None and node.id in self.overview.collapsed:
            kind = self.overview.full[node.id].kind
            held = self.overview.collapsed[node.id]
            return f"{KIND_NAMES.get(kind, kind)}: {held:,} node{'s' * (held != 1)}"
        return KIND_NAMES.get(node.kind, node.kind)

    def look(self, node: GraphNode) -> Look:
        """How ``node`` is drawn: by its kind, or in a run by its state. A cluster keeps its
        kind's fill in any state, so that the nodes inside it stay readable.
        """
        kind = self.kind(node)
        if kind == "collapsed" and self.overview is not None:
            look = KIND_LOOKS.get(self.overview.full[node.id].kind, KIND_LOOKS["flow"])
        else:
            look = MORE if kind == "more" else KIND_LOOKS[kind]
        state = self.states[node.id]
        if state == "plain":
            return look
        drawn = STATES[state].look
        return drawn._replace(fill=look.fill) if node.is_flow else drawn

    def icon(self, node: GraphNode) -> str:
        """The mark of ``node``'s state, drawn before its name ("" for none)."""
        state = self.states[node.id]
        return "" if state == "plain" else STATES[state].icon

    def marked(self, node: GraphNode, label: str) -> str:
        """``label`` (of ``node``) after the mark of its state, if it has one."""
        icon = self.icon(node)
        return f"{icon} {label}" if icon else label

    def outline(self, *, links_inside: bool) -> Iterator[OutlineItem]:
        """The drawing in order: clusters opened and closed around their nodes and markers,
        and the lines, either all at the end or, with ``links_inside``, each at the end of the
        cluster it belongs to.
        """
        by_parent: dict[str | None, list[int]] = {}
        for index, line in enumerate(self.lines):
            by_parent.setdefault(line.parent if links_inside else None, []).append(index)

        def cluster(parent: str | None, depth: int) -> Iterator[OutlineItem]:
            markers = self.markers.get(parent, ())
            yield from (Marker(depth, m, role) for m, role in markers if role != "end")
            for node in self.graph.children(parent):
                if node.is_flow:
                    yield OpenCluster(depth, node)
                    yield from cluster(node.id, depth + 1)
                    yield CloseCluster(depth, node)
                else:
                    yield DrawNode(depth, node)
            yield from (Marker(depth, m, role) for m, role in markers if role == "end")
            if links_inside or parent is None:
                for index in by_parent.get(parent, ()):
                    yield Link(depth, index, self.lines[index])

        return cluster(None, 0)


def build_scene(flow_or_graph: BaseNode | Graph, overlay: Overlay | None) -> Scene:
    graph = flow_or_graph if isinstance(flow_or_graph, Graph) else build_graph(flow_or_graph)
    scene = Scene(graph, overlay, graph if isinstance(graph, Overview) else None)
    taken: Counter[EdgeKey] = Counter(overlay.edges if overlay else {})
    exits: Counter[str] = Counter()  # node id -> times a flow ended after it
    entered: Counter[str] = Counter()  # node id -> times reached by an edge
    for (source, _action, target), n in taken.items():
        if target is None:
            exits[source] += n
        else:
            entered[target] += n

    def count(n: int) -> int | None:
        return n if overlay is not None else None

    for node in graph.nodes:
        scene.labels[node.id] = _node_label(node, overlay)
        if scene.kind(node) == "collapsed":
            scene.labels[node.id] += f" ({scene.kind_name(node)})"
        scene.states[node.id] = node_state(node.id, overlay)
        if node.is_flow and node.start is None:
            scene.add_marker(f"{node.id}__empty", "empty", node.id)
        elif node.is_flow and node.start is not None:
            marker = f"{node.id}__start"
            scene.add_marker(marker, "start", node.id)
            # the start node's visits that no edge explains: a batch flow starts it per item
            visits = overlay.visits.get(node.start, 0) if overlay else 0
            started = max(0, visits - entered[node.start])
            dom_id = safe_dom_id(f"edge__{marker}__{node.start}")
            link = Line(marker, node.start, "", node.id, count(started), "start", dom_id)
            scene.lines.append(link)
    for edge in graph.edges:
        action = "" if edge.action == "default" else edge.action
        times = count(taken[edge.source, edge.action, edge.target])
        target = edge.target
        if target is None:
            target = f"{edge.source}__end"
            scene.add_marker(target, "end", edge.parent)
        dom_id = safe_dom_id(edge.dom_id or f"edge__{edge.source}__{target}__{len(scene.lines)}")
        link = Line(edge.source, target, action, edge.parent, times, "edge", dom_id)
        scene.lines.append(link)
    for node in graph.nodes:
        if node.ends_flow:
            marker = f"{node.id}__end"
            scene.add_marker(marker, "end", node.parent)
            times = count(exits[node.id])
            dom_id = safe_dom_id(f"edge__{node.id}__{marker}")
            link = Line(node.id, marker, "", node.parent, times, "exit", dom_id)
            scene.lines.append(link)
    return scene


def _node_label(node: GraphNode, overlay: Overlay | None) -> str:
    label = clean(node.label)
    progress = overlay.items.get(node.id) if overlay else None
    if progress is None:
        return label
    done, total = progress
    return f"{label} [{done}/{'?' if total is None else total}]"


def line_count(line: Line) -> str:
    """How often the run took ``line`` (``×3``), or "" when it did not or no run is laid over."""
    return f"×{line.taken}" if line.taken else ""


def line_label(line: Line) -> str:
    """The action of ``line`` and, on a line of its own, :func:`line_count`: a count written
    under the action, not after it, changes the label's width little and never runs into it.
    """
    return "\n".join(part for part in (clean(line.label), line_count(line)) if part)


def line_look(line: Line) -> Look:
    """How ``line`` is drawn: taken, not taken, or (no run laid over) a start line or edge."""
    if line.taken:
        return TAKEN
    if line.taken is not None:
        return UNTAKEN
    return MARKER if line.role == "start" else EDGE


def clean(text: str) -> str:
    """``text`` with line breaks as ``\\n``, other control characters as spaces and unpaired
    surrogates (which no file or pipe can encode) as U+FFFD.
    """
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        " " if c < " " and c != "\n" else "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text
    )
