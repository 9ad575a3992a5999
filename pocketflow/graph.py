"""The graph of a flow: a small data model built from its wiring, and text renderings of it.

:func:`build_graph` walks a flow once: every node reachable from the start of each flow, nested
flows as clusters inside clusters, every edge with its action, the start of each flow and the
places where a flow ends. Three renderers draw that model as text, with no dependencies:
:func:`to_dot` (Graphviz), :func:`to_mermaid` and :func:`to_text` (a terminal outline).
An :class:`Overlay` lays a run over the drawing: the nodes visited, how often each edge was
taken, the current node, the node that failed and the progress of batches. A notebook draws
:func:`what_to_draw`: the graph, or an :class:`Overview` of one too large to draw readably.
Every id the renderers write is made safe first, so a graph from a file cannot inject markup.

>>> from pocketflow import Flow, Node
>>> decide, search, answer = Node(name="decide"), Node(name="search"), Node(name="answer")
>>> decide - "search" >> search >> decide
<Node 'decide'>
>>> decide - "answer" >> answer
<Node 'answer'>
>>> print(to_text(Flow(start=decide, name="agent")), end="")
agent (Flow)
  decide (Node)
  search (Node)
  answer (Node)
  (start) --> decide
  decide --search--> search
  decide --answer--> answer
  search --> decide
  answer --> (end)

Output is deterministic: ids come from names and the order of the walk, never from memory
addresses, so the same wiring gives the same text in any process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import threading
import unicodedata
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Final, NamedTuple, overload

from .events import Event
from .flows import AsyncBatchFlow, AsyncFlow, AsyncParallelBatchFlow, BatchFlow, Flow
from .nodes import AsyncBatchNode, AsyncNode, AsyncParallelBatchNode, BaseNode, BatchNode

__all__ = [
    "DOT_TIMEOUT",
    "FLOW_KINDS",
    "KIND_NAMES",
    "MAX_DRAWN_NODES",
    "MAX_EXTRA_EDGES",
    "OUTLINE_NODES",
    "EdgeKey",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "Overlay",
    "Overview",
    "build_graph",
    "kind_of",
    "mimebundle",
    "overlay_for",
    "render_svg",
    "safe_dom_id",
    "to_dot",
    "to_mermaid",
    "to_text",
    "what_to_draw",
]

#: The library class that each kind stands for, most specific class first.
_KIND_CLASSES: Final[tuple[tuple[type[BaseNode], str], ...]] = (
    (AsyncParallelBatchFlow, "parallel_flow"),
    (AsyncBatchFlow, "async_batch_flow"),
    (AsyncFlow, "async_flow"),
    (BatchFlow, "batch_flow"),
    (Flow, "flow"),
    (AsyncParallelBatchNode, "parallel"),
    (AsyncBatchNode, "async_batch"),
    (AsyncNode, "async"),
    (BatchNode, "batch"),
)

#: Each kind's name in drawings: the library class it stands for.
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

#: Words Mermaid cannot take as a node id; a name that slugs to one gets its kind appended.
_RESERVED_IDS: Final = frozenset(
    {"call", "class", "click", "default", "end", "flowchart", "graph", "href", "interpolate"}
    | {"style", "subgraph"}
)


def kind_of(node: BaseNode) -> str:
    """The kind of ``node`` (a key of :data:`KIND_NAMES`), from the library class it extends."""
    return next((kind for cls, kind in _KIND_CLASSES if isinstance(node, cls)), "node")


# -- the model -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GraphNode:
    """One node of the graph; a flow is a node too, drawn as a cluster around its nodes."""

    #: Stable id, unique in the graph: a slug of the name (``summarize``, ``summarize_2``).
    id: str
    #: The node's ``name``.
    name: str
    #: The name as drawn: duplicates get a suffix in walk order (``summarize (2)``).
    label: str
    #: One of the keys of :data:`KIND_NAMES`.
    kind: str
    #: The wired node object.
    obj: BaseNode
    #: The id of the flow this node belongs to (``None`` for the root).
    parent: str | None
    #: Whether this node is the start node of its parent flow.
    is_start: bool
    #: Whether the parent flow ends after this node (it has no successors: a dangling exit).
    ends_flow: bool
    #: For a flow: the id of its start node (``None`` when it has none, or for other nodes).
    start: str | None = None

    @property
    def is_flow(self) -> bool:
        """Whether this node is a flow (a cluster)."""
        return self.kind in FLOW_KINDS

    @property
    def dom_id(self) -> str:
        """The ``id`` of its group in the SVG of :func:`to_dot` (a cluster's, for a flow)."""
        return safe_dom_id(f"cluster__{self.id}" if self.is_flow else f"node__{self.id}")


@dataclass(frozen=True)
class GraphEdge:
    """A wired successor: ``source - action >> target``, in the flow ``parent``."""

    source: str
    #: The id of the successor; ``None`` is a declared end (``node - "done" >> None``).
    target: str | None
    action: str
    parent: str | None
    #: The ``id`` of this edge's group in the SVG of :func:`to_dot` (set by :func:`build_graph`;
    #: when empty, the renderer derives one from the ends). Drawn as :func:`safe_dom_id` of it.
    dom_id: str = ""


class Graph:
    """The nodes and edges of a flow, in walk order, with lookups by id and by node object."""

    def __init__(self, nodes: Iterable[GraphNode], edges: Iterable[GraphEdge]) -> None:
        self.nodes: tuple[GraphNode, ...] = tuple(nodes)
        self.edges: tuple[GraphEdge, ...] = tuple(edges)
        if not self.nodes:
            raise ValueError("a graph has at least its root node")
        self._by_id = {node.id: node for node in self.nodes}
        # Keyed by id(obj): safe, since the graph keeps every object alive; never in output.
        self._by_obj = {id(node.obj): node.id for node in self.nodes}
        self._children: dict[str | None, list[GraphNode]] = {}
        for node in self.nodes:
            self._children.setdefault(node.parent, []).append(node)

    @property
    def root(self) -> GraphNode:
        """The node the graph was built from."""
        return self.nodes[0]

    def __getitem__(self, node_id: str) -> GraphNode:
        return self._by_id[node_id]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._by_id

    def __repr__(self) -> str:
        return f"<Graph {self.root.name!r}: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def find(self, obj: BaseNode) -> str | None:
        """The id of the wired node ``obj``, or ``None`` when it is not in the graph."""
        return self._by_obj.get(id(obj))

    def id_of(self, obj: BaseNode) -> str:
        """The id of the wired node ``obj``; ``KeyError`` when it is not in the graph."""
        found = self._by_obj.get(id(obj))
        if found is None:
            raise KeyError(
                f"{obj!r} is not in the graph of {self.root.name!r}: only the nodes reachable "
                "from its start are"
            )
        return found

    def children(self, parent: str | None) -> tuple[GraphNode, ...]:
        """The nodes whose parent is the flow ``parent`` (``None``: the root), in walk order."""
        return tuple(self._children.get(parent, ()))


def build_graph(root: BaseNode) -> Graph:
    """The graph of ``root``: a flow's nodes and nested flows, or a single node.

    Each node appears once however it is reached, in the cluster of the first flow that reaches
    it. Successors wired on ``root`` itself are not part of its run and are left out.
    """
    return _Walk(root).graph()


class _Walk:
    """One breadth-first walk of the wiring; a nested flow is walked when it is reached."""

    def __init__(self, root: BaseNode) -> None:
        self.order: list[tuple[BaseNode, str, str | None]] = []  # (node, kind, parent id)
        self.ids: dict[int, str] = {}
        self.taken: set[str] = set()
        self.edges: list[GraphEdge] = []
        self.dom_ids: set[str] = set()
        self.add(root, None)
        if isinstance(root, Flow):
            self.walk_flow(root, self.ids[id(root)])

    def add(self, node: BaseNode, parent: str | None) -> bool:
        """Give ``node`` an id; ``False`` when it already has one."""
        if id(node) in self.ids:
            return False
        kind = kind_of(node)
        base = _slug(node.name) or kind
        if base in _RESERVED_IDS:
            base = f"{base}_{kind}"
        node_id = _unique(base, self.taken, "_")
        self.ids[id(node)] = node_id
        self.order.append((node, kind, parent))
        return True

    def walk_flow(self, flow: Flow, flow_id: str) -> None:
        start = flow.start_node
        if start is None:
            return
        queue: deque[BaseNode] = deque()
        if self.add(start, flow_id):
            queue.append(start)
        while queue:
            node = queue.popleft()
            node_id = self.ids[id(node)]
            if isinstance(node, Flow):
                self.walk_flow(node, node_id)
            for action, target in node.successors.items():
                if target is not None and self.add(target, flow_id):
                    queue.append(target)
                target_id = None if target is None else self.ids[id(target)]
                dom_id = self.edge_dom_id(node_id, target_id or f"{node_id}__end")
                self.edges.append(GraphEdge(node_id, target_id, action, flow_id, dom_id))

    def edge_dom_id(self, source: str, target: str) -> str:
        """``edge__<source>__<target>``, with a suffix for a second edge between the two."""
        return _unique(f"edge__{source}__{target}", self.dom_ids, "__")

    def graph(self) -> Graph:
        objects = {self.ids[id(node)]: node for node, _, _ in self.order}
        seen: Counter[str] = Counter()
        nodes = []
        for node, kind, parent in self.order:
            seen[node.name] += 1
            count = seen[node.name]
            start = node.start_node if isinstance(node, Flow) else None
            parent_start = None if parent is None else getattr(objects[parent], "start_node", None)
            nodes.append(
                GraphNode(
                    id=self.ids[id(node)],
                    name=node.name,
                    label=node.name if count == 1 else f"{node.name} ({count})",
                    kind=kind,
                    obj=node,
                    parent=parent,
                    is_start=parent_start is node,
                    ends_flow=parent is not None and not node.successors,
                    start=None if start is None else self.ids[id(start)],
                )
            )
        return Graph(nodes, self.edges)


def _unique(base: str, taken: set[str], sep: str) -> str:
    """``base``, or ``base`` with the first free suffix ``2``, ``3``...; recorded in ``taken``."""
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}{sep}{suffix}"
    taken.add(name)
    return name


_SAFE_DOM_ID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def safe_dom_id(text: str) -> str:
    """``text`` as an id that is safe as is in HTML, SVG and CSS selectors: ``text`` itself when
    it is made of ASCII letters, digits, ``_`` and ``-`` (from a letter), else a slug of it with
    a hash of the whole, so that ids from a file can never close a tag or a CSS rule.

    >>> safe_dom_id("node__search"), safe_dom_id("node__</style>")
    ('node__search', 'node_style_327f4c7e')
    """
    if _SAFE_DOM_ID.fullmatch(text):
        return text
    return f"{_slug(text) or 'id'}_{_digest(text)}"


def _digest(text: str) -> str:
    """Eight hex digits that tell ``text`` from any other text (any string, even unpaired
    surrogates, which ``utf-8`` alone cannot encode).
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


@functools.lru_cache(maxsize=4096)
def _slug(name: str) -> str:
    """``name`` as an id: ASCII letters, digits and single underscores, lower case."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)  # LoadData -> Load_Data
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)  # HTTPFetch -> HTTP_Fetch
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return f"n_{text}" if text[:1].isdigit() else text


# -- the overlay ---------------------------------------------------------------------------

#: An edge as an overlay counts it: (source id, action, target id or ``None`` for an end).
EdgeKey = tuple[str, str, "str | None"]


@dataclass
class Overlay:
    """A run laid over a graph: what was visited, which edges were taken, where it stands."""

    #: Node id -> how many times the node started.
    visits: dict[str, int] = field(default_factory=dict)
    #: (source id, action, target id or ``None`` for an end) -> how many times it was taken.
    edges: dict[EdgeKey, int] = field(default_factory=dict)
    #: The node that started last (the one running, or the last one run).
    current: str | None = None
    #: The node where an exception escaped.
    failed: str | None = None
    #: Node id -> (batch items done, total items or ``None`` when unknown), for its last run.
    items: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    @classmethod
    def from_events(cls, graph: Graph, events: Iterable[Event]) -> Overlay:
        """The overlay of a run's events (events of nodes outside ``graph`` are ignored)."""
        overlay = cls()
        for event in events:
            overlay.add(graph, event)
        return overlay

    def add(self, graph: Graph, event: Event) -> None:
        """Count one event of a run over ``graph``."""
        node = graph.find(event.node)
        if node is None:  # e.g. a run started inside a node's exec
            return
        target = None if event.target is None else graph.find(event.target)
        if event.target is not None and target is None:
            return
        self.record(event.kind, node, value=event.value, target=target, total=event.total)

    def record(
        self,
        kind: str,
        node: str,
        *,
        value: object = None,
        target: str | None = None,
        total: int | None = None,
    ) -> None:
        """Count one event given by ids (what :meth:`add` does once it has found them)."""
        if kind == "start":
            self.visits[node] = self.visits.get(node, 0) + 1
            self.current = node
            self.items.pop(node, None)
        elif kind == "transition":
            action = "default" if value is None or value == "" else str(value)
            key = (node, action, target)
            self.edges[key] = self.edges.get(key, 0) + 1
        elif kind == "item":
            done = self.items.get(node, (0, None))[0]
            self.items[node] = (done + 1, total)
        elif kind == "error":
            self.failed = self.current = node


# -- what a notebook draws -------------------------------------------------------------------

#: The most nodes a notebook draws in full; a larger graph is drawn as an :class:`Overview`.
MAX_DRAWN_NODES: Final = 100
#: The most edges beyond a spanning tree (``edges - nodes + 1``: loops and cross links) drawn in
#: full. They, more than nodes, make ``dot`` slow and a drawing a tangle: a flow of 100 nodes
#: with 50 random loops lays out in a fraction of a second, with 200 in seconds or minutes.
MAX_EXTRA_EDGES: Final = 50
#: How many nodes an outline shows, the one standing for the rest included.
OUTLINE_NODES: Final = 30
#: Sub-flows collapsed into fewer boxes and nodes than this say too little: an outline instead.
_FEW_NODES: Final = 10


class Overview(Graph):
    """A graph too large to draw readably, made small: sub-flows collapsed into one box each, or
    an outline of the first nodes with one node standing for the others.

    :func:`what_to_draw` makes it; renderers draw it with a note that says it is an overview and
    how to see all of it. Lay a run of the full graph over it with :meth:`overlay`.
    """

    def __init__(
        self,
        full: Graph,
        nodes: Iterable[GraphNode],
        edges: Iterable[GraphEdge],
        *,
        stands_for: dict[str, str],
        collapsed: dict[str, int],
        more: str | None,
        note: str,
    ) -> None:
        super().__init__(nodes, edges)
        #: The graph this overview stands for.
        self.full = full
        #: The id of each sub-flow drawn as one box -> how many nodes it holds, at any depth.
        self.collapsed = collapsed
        #: The id of the node standing for the nodes left out (``None``: none are).
        self.more = more
        #: What the drawing says about itself: that it is an overview, and how to see more.
        self.note = note
        self._stands_for = stands_for  # id in the full graph -> the id drawn for it
        self._keys = {(edge.source, edge.action, edge.target) for edge in self.edges}

    def __repr__(self) -> str:
        return f"<Overview of {self.full!r}: {len(self.nodes)} nodes drawn>"

    def drawn_id(self, node_id: str) -> str | None:
        """The id drawn for the node ``node_id`` of the full graph: its own, the collapsed
        sub-flow holding it, or :attr:`more` (``None`` for an id the full graph lacks).
        """
        return self._stands_for.get(node_id)

    def drawn_edge(self, source: str, action: str, target: str | None) -> EdgeKey | None:
        """The edge drawn for an edge of the full graph, or ``None`` when it is not drawn (inside
        a collapsed sub-flow, or out of the nodes left out). Edges into the nodes left out are
        drawn as one edge to :attr:`more` per source.
        """
        return _drawn_edge(self._stands_for, self.more, source, action, target)

    def overlay(self, overlay: Overlay) -> Overlay:
        """``overlay``, a run over the full graph, as this overview shows it: a box takes the
        state of the nodes it stands for, edges drawn once add up what they stand for.
        """
        shown = Overlay()
        for node_id, visits in overlay.visits.items():
            drawn = self._stands_for.get(node_id)
            if drawn is not None:
                shown.visits[drawn] = max(shown.visits.get(drawn, 0), visits)
        for (source, action, target), times in overlay.edges.items():
            key = self.drawn_edge(source, action, target)
            if key is not None and (key in self._keys or key[2] is None):
                shown.edges[key] = shown.edges.get(key, 0) + times
        shown.current = None if overlay.current is None else self.drawn_id(overlay.current)
        shown.failed = None if overlay.failed is None else self.drawn_id(overlay.failed)
        shown.items = {
            node_id: progress
            for node_id, progress in overlay.items.items()
            if self._stands_for.get(node_id) == node_id
        }
        return shown


def what_to_draw(flow_or_graph: BaseNode | Graph) -> Graph:
    """What a notebook draws for a flow: its graph, or an :class:`Overview` when the graph has
    more than :data:`MAX_DRAWN_NODES` nodes or :data:`MAX_EXTRA_EDGES` edges beyond a tree.

    Decided from those counts alone, so a stored notebook shows the same picture whatever the
    machine and its load, and without laying anything out. The overview collapses the deepest
    sub-flows that leave a graph within the limits; when that leaves fewer than ten nodes, or no
    depth does, it is an outline of the first :data:`OUTLINE_NODES` nodes instead.
    """
    graph = flow_or_graph if isinstance(flow_or_graph, Graph) else build_graph(flow_or_graph)
    if isinstance(graph, Overview) or _fits(graph):
        return graph
    chains = {node.id: _ancestors(graph, node) for node in graph.nodes}
    depths = sorted({len(chains[node.id]) for node in graph.nodes if node.is_flow}, reverse=True)
    for depth in (depth for depth in depths if depth > 0):
        shown = {node_id for node_id, chain in chains.items() if len(chain) <= depth}
        collapsed = {
            node.id for node in graph.nodes if node.is_flow and len(chains[node.id]) == depth
        }
        where = "sub-flows" if depth == 1 else f"sub-flows at depth {depth}"
        note = (
            f"{_overview_of(graph)}: {where} are drawn as one box each, with the number of "
            f"nodes they hold. {_SEE_ALL}"
        )
        overview = _cut(graph, chains, shown, collapsed, note)
        if _fits(overview) and len(overview.nodes) >= _FEW_NODES:
            return overview
    return _outline(graph, chains)


_SEE_ALL: Final = "All of it: print(to_text(flow)), or to_dot(flow) for Graphviz."


def _overview_of(graph: Graph) -> str:
    return f"Overview of {len(graph.nodes):,} nodes and {len(graph.edges):,} edges"


def _fits(graph: Graph, most_nodes: int = MAX_DRAWN_NODES) -> bool:
    """Whether ``graph`` is small and sparse enough to lay out readably (and fast)."""
    nodes = len(graph.nodes)
    return nodes <= most_nodes and len(graph.edges) - nodes + 1 <= MAX_EXTRA_EDGES


def _ancestors(graph: Graph, node: GraphNode) -> list[str]:
    """The flows holding ``node``, innermost first (a parent missing or met twice ends it)."""
    chain: list[str] = []
    parent = node.parent
    while parent is not None and parent in graph and parent not in chain and parent != node.id:
        chain.append(parent)
        parent = graph[parent].parent
    return chain


def _outline(graph: Graph, chains: dict[str, list[str]]) -> Overview:
    """The first nodes in walk order, as many as fit, and one node for the others.

    A flow whose start node is not among them is drawn as one box (see :func:`_cut`). The count
    is found by bisection: each try cuts the whole graph once.
    """

    def first(count: int) -> Overview:
        shown = {node.id for node in graph.nodes[:count]}
        collapsed = {
            node.id
            for node in graph.nodes[:count]
            if node.is_flow and node.start is not None and node.start not in shown
        }
        note = (
            f"Overview: the first {count} of {len(graph.nodes):,} nodes "
            f"({len(graph.edges):,} edges), too many to draw readably. {_SEE_ALL}"
        )
        return _cut(graph, chains, shown, collapsed, note)

    fitting, low, high = first(1), 2, min(len(graph.nodes), OUTLINE_NODES) - 1
    while low <= high:
        middle = (low + high) // 2
        outline = first(middle)
        if _fits(outline, OUTLINE_NODES):
            fitting, low = outline, middle + 1
        else:
            high = middle - 1
    return fitting


def _cut(
    graph: Graph,
    chains: dict[str, list[str]],
    shown: set[str],
    collapsed: set[str],
    note: str,
) -> Overview:
    """The overview drawing the nodes ``shown``, with the flows ``collapsed`` as one box each
    (standing for every node inside them) and one node for all the others.
    """
    more = _unique("more__nodes", {node.id for node in graph.nodes}, "_")
    stands_for: dict[str, str] = {}
    for node in graph.nodes:
        holder = next((flow for flow in reversed(chains[node.id]) if flow in collapsed), None)
        if holder is None:
            holder = node.id if node.id in shown else more
        stands_for[node.id] = holder
    held = Counter(stands_for.values())
    nodes: dict[str, GraphNode] = {}
    for node in graph.nodes:
        if stands_for[node.id] != node.id:
            continue
        if node.id in collapsed:  # a box: drawn as a node, its kind kept by the full graph
            nodes[node.id] = replace(node, kind="node", start=None)
        elif node.start is not None:
            nodes[node.id] = replace(node, start=stands_for.get(node.start))
        else:
            nodes[node.id] = node
    if held[more]:
        label = f"… {held[more]:,} more nodes"
        parent = graph.root.id if graph.root.is_flow else None
        stand_in = BaseNode(name=label)
        nodes[more] = GraphNode(more, label, label, "node", stand_in, parent, False, False)
        stands_for[more] = more
    edges: dict[EdgeKey, GraphEdge] = {}
    for edge in graph.edges:
        key = _drawn_edge(stands_for, more, edge.source, edge.action, edge.target)
        if key is not None and key not in edges:
            source, action, target = key
            edges[key] = GraphEdge(source, target, action, nodes[source].parent, edge.dom_id)
    return Overview(
        graph,
        nodes.values(),
        edges.values(),
        stands_for=stands_for,
        collapsed={flow: held[flow] - 1 for flow in collapsed},
        more=more if held[more] else None,
        note=note,
    )


def _drawn_edge(
    stands_for: dict[str, str], more: str | None, source: str, action: str, target: str | None
) -> EdgeKey | None:
    """See :meth:`Overview.drawn_edge`."""
    drawn_source = stands_for.get(source)
    if drawn_source is None or drawn_source == more:
        return None
    if target is None:  # where a flow ends: drawn for the nodes drawn as themselves
        return (source, action, None) if drawn_source == source else None
    drawn_target = stands_for.get(target)
    if drawn_target is None:
        return None
    if drawn_target == more:
        return (drawn_source, "default", drawn_target)
    if drawn_source == drawn_target and (source, target) != (drawn_source, drawn_target):
        return None  # inside one collapsed sub-flow
    return (drawn_source, action, drawn_target)


@overload
def overlay_for(drawn: Graph, overlay: Overlay) -> Overlay: ...
@overload
def overlay_for(drawn: Graph, overlay: None) -> None: ...
def overlay_for(drawn: Graph, overlay: Overlay | None) -> Overlay | None:
    """``overlay`` (a run over a full graph) as drawn on ``drawn``, what :func:`what_to_draw`
    chose: as it is on the graph itself, mapped onto an :class:`Overview`.
    """
    if isinstance(drawn, Overview) and overlay is not None:
        return drawn.overlay(overlay)
    return overlay


# -- what every renderer draws ---------------------------------------------------------------


class _Link(NamedTuple):
    """A line to draw: a wired edge, or the line of a start or end marker."""

    source: str
    target: str
    #: The action, or ``""`` for the default action and marker lines.
    label: str
    #: The flow the line belongs to.
    parent: str | None
    #: How many times the run took it (``None``: no overlay).
    taken: int | None
    #: "edge" (a wired successor, or a declared end), "start" (from a flow's start marker) or
    #: "exit" (the implicit end after a node with no successors, drawn dashed).
    role: str
    #: The ``id`` of its group in the SVG.
    dom_id: str


class _Look(NamedTuple):
    """Colours of a node or cluster: fill, outline, text, outline width."""

    fill: str
    stroke: str
    text: str = "#1f2328"
    width: float = 1.0


_KIND_LOOKS: Final[dict[str, _Look]] = {
    "node": _Look("#dbeafe", "#3b82f6"),
    "batch": _Look("#dcfce7", "#16a34a"),
    "async": _Look("#fef3c7", "#d97706"),
    "async_batch": _Look("#ffedd5", "#ea580c"),
    "parallel": _Look("#f3e8ff", "#9333ea"),
    "flow": _Look("#f8fafc", "#64748b"),
    "batch_flow": _Look("#f0fdf4", "#16a34a"),
    "async_flow": _Look("#fffbeb", "#d97706"),
    "async_batch_flow": _Look("#fff7ed", "#ea580c"),
    "parallel_flow": _Look("#faf5ff", "#9333ea"),
}
_DIM: Final = _Look("#f1f5f9", "#cbd5e1", "#94a3b8")
_FAILED: Final = _Look("#fee2e2", "#dc2626", "#7f1d1d", 3.0)
_CURRENT: Final = "#2563eb"
_EDGE: Final = _Look("none", "#64748b", "#334155")
_MARKER: Final = _Look("#334155", "#334155", "#334155")
#: The node of an outline standing for the nodes left out.
_MORE: Final = _Look("#f8fafc", "#94a3b8", "#475569")


@dataclass
class _Scene:
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
    states: dict[str, str] = field(default_factory=dict)
    #: Flow id -> its markers: (marker id, "start" | "end" | "empty"), in drawing order.
    markers: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)
    #: Marker id -> the flow it is drawn in.
    marker_parents: dict[str, str | None] = field(default_factory=dict)
    #: Start lines, then edges (declared ends included), then implicit ends.
    links: list[_Link] = field(default_factory=list)

    def add_marker(self, marker: str, role: str, parent: str | None) -> None:
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

    def look(self, node: GraphNode) -> _Look:
        """How ``node`` is coloured in its state."""
        kind = self.kind(node)
        if kind == "collapsed" and self.overview is not None:
            look = _KIND_LOOKS.get(self.overview.full[node.id].kind, _KIND_LOOKS["flow"])
        else:
            look = _MORE if kind == "more" else _KIND_LOOKS[kind]
        state = self.states[node.id]
        if state == "unvisited":
            return _DIM._replace(fill=look.fill) if node.is_flow else _DIM
        if state == "current":
            return look._replace(stroke=_CURRENT, width=3.0)
        if state == "failed":
            return _FAILED._replace(fill=look.fill) if node.is_flow else _FAILED
        return look

    def outline(self, *, links_inside: bool) -> Iterator[tuple[int, str, str]]:
        """The drawing in order, as (depth, what, id): "open"/"close" a cluster, a "node", a
        marker ("start", "empty", "end") and "link" (its index in :attr:`links`), either at the
        end or, with ``links_inside``, at the end of the cluster they belong to.
        """
        by_parent: dict[str | None, list[int]] = {}
        for index, link in enumerate(self.links):
            by_parent.setdefault(link.parent if links_inside else None, []).append(index)

        def cluster(parent: str | None, depth: int) -> Iterator[tuple[int, str, str]]:
            markers = self.markers.get(parent, ())
            yield from ((depth, role, m) for m, role in markers if role != "end")
            for node in self.graph.children(parent):
                if node.is_flow:
                    yield depth, "open", node.id
                    yield from cluster(node.id, depth + 1)
                    yield depth, "close", node.id
                else:
                    yield depth, "node", node.id
            yield from ((depth, role, m) for m, role in markers if role == "end")
            if links_inside or parent is None:
                yield from ((depth, "link", str(i)) for i in by_parent.get(parent, ()))

        return cluster(None, 0)


def _scene(flow_or_graph: BaseNode | Graph, overlay: Overlay | None) -> _Scene:
    graph = flow_or_graph if isinstance(flow_or_graph, Graph) else build_graph(flow_or_graph)
    scene = _Scene(graph, overlay, graph if isinstance(graph, Overview) else None)
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
        scene.labels[node.id] = _label(node, overlay)
        if scene.kind(node) == "collapsed":
            scene.labels[node.id] += f" ({scene.kind_name(node)})"
        scene.states[node.id] = _state(node.id, overlay)
        if node.is_flow and node.start is None:
            scene.add_marker(f"{node.id}__empty", "empty", node.id)
        elif node.is_flow and node.start is not None:
            marker = f"{node.id}__start"
            scene.add_marker(marker, "start", node.id)
            # the start node's visits that no edge explains: a batch flow starts it per item
            visits = overlay.visits.get(node.start, 0) if overlay else 0
            started = max(0, visits - entered[node.start])
            dom_id = safe_dom_id(f"edge__{marker}__{node.start}")
            link = _Link(marker, node.start, "", node.id, count(started), "start", dom_id)
            scene.links.append(link)
    for edge in graph.edges:
        action = "" if edge.action == "default" else edge.action
        times = count(taken[edge.source, edge.action, edge.target])
        target = edge.target
        if target is None:
            target = f"{edge.source}__end"
            scene.add_marker(target, "end", edge.parent)
        dom_id = safe_dom_id(edge.dom_id or f"edge__{edge.source}__{target}__{len(scene.links)}")
        link = _Link(edge.source, target, action, edge.parent, times, "edge", dom_id)
        scene.links.append(link)
    for node in graph.nodes:
        if node.ends_flow:
            marker = f"{node.id}__end"
            scene.add_marker(marker, "end", node.parent)
            times = count(exits[node.id])
            dom_id = safe_dom_id(f"edge__{node.id}__{marker}")
            link = _Link(node.id, marker, "", node.parent, times, "exit", dom_id)
            scene.links.append(link)
    return scene


def _label(node: GraphNode, overlay: Overlay | None) -> str:
    label = _clean(node.label)
    progress = overlay.items.get(node.id) if overlay else None
    if progress is None:
        return label
    done, total = progress
    return f"{label} [{done}/{'?' if total is None else total}]"


def _state(node_id: str, overlay: Overlay | None) -> str:
    if overlay is None:
        return "plain"
    if overlay.failed == node_id:
        return "failed"
    if overlay.current == node_id:
        return "current"
    return "visited" if overlay.visits.get(node_id) else "unvisited"


def _link_label(link: _Link) -> str:
    label = _clean(link.label)
    if not link.taken:
        return label
    return f"{label} ×{link.taken}" if label else f"×{link.taken}"


def _link_look(link: _Link) -> _Look:
    if link.taken:
        return _Look("none", _CURRENT, _CURRENT, 2.0)
    if link.taken is not None:
        return _DIM
    return _MARKER if link.role == "start" else _EDGE


def _clean(text: str) -> str:
    """``text`` with line breaks as ``\\n``, other control characters as spaces and unpaired
    surrogates (which no file or pipe can encode) as U+FFFD.
    """
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        " " if c < " " and c != "\n" else "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text
    )


# -- DOT -------------------------------------------------------------------------------------

_DOT_SHAPES: Final[dict[str, tuple[str, str]]] = {  # kind -> (shape, style)
    "node": ("box", "rounded,filled"),
    "batch": ("box3d", "filled"),
    "async": ("box", "rounded,filled,dashed"),
    "async_batch": ("box3d", "filled,dashed"),
    "parallel": ("component", "filled,dashed"),
    "collapsed": ("folder", "filled"),
    "more": ("note", "filled,dashed"),
}
#: Flows that run their graph once per run; the others (batch flows) get a dashed outline.
_ONCE_FLOWS: Final = frozenset({"flow", "async_flow"})
_DOT_MARKERS: Final[dict[str, str]] = {
    "start": 'label="", shape=circle, width=0.16, height=0.16',
    "end": 'label="", shape=doublecircle, width=0.12, height=0.12',
}
_DOT_HEADER: Final = (
    '  graph [compound=true, bgcolor="transparent", fontname="Helvetica", fontsize=12, '
    'labeljust="l", nodesep=0.35, ranksep=0.45];\n'
    f'  node [fontname="Helvetica", fontsize=11, fontcolor="{_EDGE.text}", height=0.35, '
    'margin="0.15,0.06"];\n'
    f'  edge [fontname="Helvetica", fontsize=10, color="{_EDGE.stroke}", '
    f'fontcolor="{_EDGE.text}", arrowsize=0.7];'
)


def _dot_str(text: str) -> str:
    """``text`` as a DOT quoted string (also safe for DOT keywords such as ``node``)."""
    escaped = _clean(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot_colours(look: _Look, sep: str = ", ") -> str:
    """The colour attributes of ``look``: ``sep`` is ``", "`` in a list, ``"; "`` in a graph."""
    colours = f'fillcolor="{look.fill}"', f'color="{look.stroke}"', f'fontcolor="{look.text}"'
    return sep.join((*colours, f"penwidth={look.width:g}"))


def to_dot(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> str:
    """The graph as Graphviz DOT: flows as clusters, edges labelled with their actions.

    With ``overlay``, visited nodes are filled and the others dimmed, taken edges show their
    counts (``search ×3``), the current node has a thick outline and the failed one is red.
    """
    scene = _scene(flow_or_graph, overlay)
    graph = scene.graph
    lines = [f"digraph {_dot_str(graph.root.label)} {{", _DOT_HEADER]
    if scene.overview is not None:
        lines.append(f'  label={_dot_str(scene.overview.note)}; labelloc="t";')
    for depth, what, ident in scene.outline(links_inside=False):
        indent = "  " * (depth + 1)
        if what == "open":
            node = graph[ident]
            style = "rounded,filled" if node.kind in _ONCE_FLOWS else "rounded,filled,dashed"
            lines.append(f"{indent}subgraph {_dot_str('cluster_' + ident)} {{")
            lines.append(f"{indent}  id={_dot_str(node.dom_id)};")
            lines.append(f"{indent}  label={_dot_str(scene.cluster_label(node))};")
            lines.append(f'{indent}  style="{style}"; {_dot_colours(scene.look(node), "; ")};')
        elif what == "close":
            lines.append(f"{indent}}}")
        elif what == "node":
            node = graph[ident]
            shape, style = _DOT_SHAPES[scene.kind(node)]
            attrs = f'id={_dot_str(node.dom_id)}, shape={shape}, style="{style}", '
            attrs += _dot_colours(scene.look(node))
            lines.append(
                f"{indent}{_dot_str(ident)} [label={_dot_str(scene.labels[ident])}, {attrs}];"
            )
        elif what == "empty":
            attrs = f"id={_dot_str(safe_dom_id('marker__' + ident))}, "
            attrs += 'label="(no start node)", shape=plaintext'
            lines.append(f"{indent}{_dot_str(ident)} [{attrs}];")
        elif what == "link":
            lines.append(f"{indent}{_dot_edge(scene, scene.links[int(ident)])}")
        else:
            attrs = f"id={_dot_str(safe_dom_id('marker__' + ident))}, {_DOT_MARKERS[what]}, "
            attrs += "fixedsize=true, style=filled, "
            attrs += _dot_colours(_MARKER)
            lines.append(f"{indent}{_dot_str(ident)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_edge(scene: _Scene, link: _Link) -> str:
    attrs = [f"id={_dot_str(link.dom_id)}"]
    label = _link_label(link)
    if label:
        attrs.append(f"label={_dot_str(label)}")
    tail, head = link.source, link.target
    if _is_cluster(scene, tail):
        tail = _anchor(scene, tail, leaving=True)
        if not _inside(scene, link.target, link.source):
            attrs.append(f"ltail={_dot_str('cluster_' + link.source)}")
    if _is_cluster(scene, head):
        head = _anchor(scene, head, leaving=False)
        if not _inside(scene, link.source, link.target):
            attrs.append(f"lhead={_dot_str('cluster_' + link.target)}")
    if link.role == "exit":
        attrs.append("style=dashed")
    look = _link_look(link)
    if look != _EDGE:
        attrs.append(f'color="{look.stroke}", fontcolor="{look.text}", penwidth={look.width:g}')
    return f"{_dot_str(tail)} -> {_dot_str(head)} [{', '.join(attrs)}];"


def _is_cluster(scene: _Scene, node_id: str) -> bool:
    return node_id in scene.graph and scene.graph[node_id].is_flow


def _anchor(scene: _Scene, flow_id: str, *, leaving: bool) -> str:
    """A node inside the cluster ``flow_id`` for an edge to end at (its start node, at any
    depth) or, for an edge ``leaving`` it, to start from (where the flow ends, if it can).
    """
    markers = scene.markers.get(flow_id, [])
    if leaving:
        ends = [marker for marker, role in markers if role == "end"]
        if ends:
            return ends[-1]
    graph = scene.graph
    node = graph[flow_id]
    seen = set()
    while node.is_flow and node.start is not None and node.id not in seen:
        seen.add(node.id)
        node = graph[node.start]
    if not node.is_flow and _inside(scene, node.id, flow_id):
        return node.id
    return markers[0][0]  # the start marker, or the placeholder of a flow with no start


def _inside(scene: _Scene, node_id: str, cluster: str) -> bool:
    """Whether ``node_id`` (a node or a marker) is drawn inside the cluster ``cluster``."""
    graph = scene.graph
    current = node_id if node_id in graph else scene.marker_parents[node_id]
    while current is not None:
        if current == cluster:
            return True
        current = graph[current].parent
    return False


# -- Mermaid ---------------------------------------------------------------------------------

_MERMAID_SHAPES: Final[dict[str, tuple[str, str]]] = {
    "node": ("[", "]"),
    "batch": ("[[", "]]"),
    "async": ("([", "])"),
    "async_batch": ("{{", "}}"),
    "parallel": ("[/", "/]"),
    "start": ("((", "))"),
    "end": ("(((", ")))"),
    "empty": ("[", "]"),
    "collapsed": ("[(", ")]"),
    "more": (">", "]"),
}
_MERMAID_ESCAPES: Final = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    # Mermaid reads ``%%{...}%%`` as a directive wherever it is, even inside a quoted label.
    "%": "#37;",
    "\n": "<br>",
}
_MERMAID_ID: Final = re.compile(r"[a-z][a-z0-9_]*")


def _mermaid_str(text: str) -> str:
    """``text`` as a quoted Mermaid label."""
    return '"' + "".join(_MERMAID_ESCAPES.get(c, c) for c in _clean(text)) + '"'


def _mermaid_id(ident: str) -> str:
    """``ident`` as a Mermaid node id: itself when it is a plain identifier that is no keyword
    (as :func:`build_graph` makes them), else a slug of it with a hash of the whole, so that an
    id from a file can never add statements.
    """
    if _MERMAID_ID.fullmatch(ident) and ident not in _RESERVED_IDS:
        return ident
    return f"{_slug(ident) or 'n'}_{_digest(ident)}"


def _mermaid_style(look: _Look) -> str:
    return f"fill:{look.fill},stroke:{look.stroke},color:{look.text},stroke-width:{look.width:g}px"


def to_mermaid(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> str:
    """The graph as a Mermaid ``flowchart``: flows as subgraphs, edges labelled with actions.

    Node shapes and ``classDef`` styles follow the kind; with ``overlay``, classes mark nodes as
    visited, unvisited, current or failed and taken edges show their counts.
    """
    scene = _scene(flow_or_graph, overlay)
    graph = scene.graph
    lines = ["flowchart TD"]
    classes: dict[str, list[str]] = {}  # class name -> its members, in order
    if scene.overview is not None:  # a node of its own: flowcharts have no title
        lines.append(f"  {_MERMAID_NOTE}[{_mermaid_str(scene.overview.note)}]")
        classes["note"] = [_MERMAID_NOTE]
    styles: list[str] = []
    link_styles: dict[_Look, list[str]] = {}
    for depth, what, ident in scene.outline(links_inside=False):
        indent = "  " * (depth + 1)
        name = _mermaid_id(ident)
        if what == "open":
            node = graph[ident]
            lines.append(f"{indent}subgraph {name}[{_mermaid_str(scene.cluster_label(node))}]")
            styles.append(f"  style {name} {_mermaid_style(scene.look(node))}")
        elif what == "close":
            lines.append(f"{indent}end")
        elif what == "link":
            link = scene.links[int(ident)]
            arrow = "-.->" if link.role == "exit" else "-->"
            label = _link_label(link)
            text = f"|{_mermaid_str(label)}|" if label else ""
            source, target = _mermaid_id(link.source), _mermaid_id(link.target)
            lines.append(f"{indent}{source} {arrow}{text} {target}")
            look = _link_look(link)
            if look != _EDGE:
                link_styles.setdefault(look, []).append(ident)
        elif what == "node":
            node = graph[ident]
            kind = scene.kind(node)
            opening, closing = _MERMAID_SHAPES[kind]
            lines.append(f"{indent}{name}{opening}{_mermaid_str(scene.labels[ident])}{closing}")
            classes.setdefault(f"k_{kind}", []).append(name)
            if scene.states[ident] != "plain":
                classes.setdefault(f"s_{scene.states[ident]}", []).append(name)
        else:
            opening, closing = _MERMAID_SHAPES[what]
            label = "(no start node)" if what == "empty" else " "
            lines.append(f"{indent}{name}{opening}{_mermaid_str(label)}{closing}")
            classes.setdefault("marker" if what != "empty" else "empty", []).append(name)
    # kinds first, then states: a later classDef wins where both set a property
    for name in sorted(classes, key=lambda name: (name[:2] == "s_", name)):
        lines.append(f"  classDef {name} {_MERMAID_CLASSES[name]}")
        lines.append(f"  class {','.join(classes[name])} {name}")
    lines.extend(styles)
    for look, indices in link_styles.items():
        colours = f"stroke:{look.stroke},stroke-width:{look.width:g}px,color:{look.text}"
        lines.append(f"  linkStyle {','.join(indices)} {colours}")
    return "\n".join(lines) + "\n"


_MERMAID_CLASSES: Final[dict[str, str]] = {
    **{
        f"k_{kind}": _mermaid_style(look)
        for kind, look in _KIND_LOOKS.items()
        if kind in _DOT_SHAPES
    },
    "s_visited": "stroke-width:2px",
    "s_unvisited": _mermaid_style(_DIM),
    "s_current": f"stroke:{_CURRENT},stroke-width:3px",
    "s_failed": _mermaid_style(_FAILED),
    "k_collapsed": _mermaid_style(_KIND_LOOKS["flow"]),
    "k_more": _mermaid_style(_MORE),
    "marker": _mermaid_style(_MARKER),
    "empty": f"fill:none,stroke:none,color:{_DIM.text}",
    "note": f"fill:none,stroke:none,color:{_MORE.text}",
}
#: The id of an overview's note (node ids never hold ``__``; marker ids end with a role).
_MERMAID_NOTE: Final = "pf__note"


# -- plain text ------------------------------------------------------------------------------


def to_text(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> str:
    """The graph as an indented outline for terminals: each flow's nodes, then its edges.

    With ``overlay``, each node shows how often it ran and each taken edge its count.
    """
    scene = _scene(flow_or_graph, overlay)
    lines = []
    for depth, what, ident in scene.outline(links_inside=True):
        indent = "  " * depth
        if what in ("open", "node"):
            lines.append(indent + _text_node(scene, scene.graph[ident]))
        elif what == "empty":
            lines.append(indent + "(no start node)")
        elif what == "link":
            link = scene.links[int(ident)]
            label = _link_label(link).replace("\n", " ")
            arrow = f"--{label}-->" if label else "-->"
            lines.append(f"{indent}{scene.name(link.source)} {arrow} {scene.name(link.target)}")
    return "\n".join(lines) + "\n"


def _text_node(scene: _Scene, node: GraphNode) -> str:
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


# -- notebooks -------------------------------------------------------------------------------


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


#: Seconds ``dot`` may take to lay a graph out before the picture falls back on Mermaid: a
#: safety net (what :func:`what_to_draw` keeps lays out in well under a second).
DOT_TIMEOUT: Final = 5.0


def render_svg(dot_text: str) -> str | None:
    """SVG for the DOT text ``dot_text`` from Graphviz's ``dot``; ``None`` when ``dot`` is not
    on PATH, fails or takes more than :data:`DOT_TIMEOUT` seconds.

    A rendering is remembered, so re-displaying the same graph runs no process; a failure is
    not, so the next display tries again.
    """
    dot = shutil.which("dot")
    if dot is None:
        return None
    key = (dot_text, dot)
    with _SVG_LOCK:
        svg = _SVGS.get(key)
        if svg is not None:
            _SVGS.move_to_end(key)
            return svg
    svg = _run_dot(dot, dot_text)
    if svg is not None:
        with _SVG_LOCK:
            _SVGS[key] = svg
            while len(_SVGS) > _SVGS_KEPT:
                _SVGS.popitem(last=False)
    return svg


#: Renderings by (DOT text, ``dot`` binary), least recently used first.
_SVGS: Final[OrderedDict[tuple[str, str], str]] = OrderedDict()
_SVGS_KEPT: Final = 128
_SVG_LOCK: Final = threading.Lock()
_VERSION_COMMENT: Final = re.compile(r"<!-- Generated by graphviz.*?-->\n?", re.DOTALL)


def _run_dot(dot: str, dot_text: str) -> str | None:
    """SVG for ``dot_text`` from the ``dot`` binary, without its version comment; ``None`` when
    it fails or runs out of time.

    The ``graphviz`` package's ``pipe`` has no timeout, hence a process of our own. It runs in a
    session of its own, so that on timeout a wrapper script is killed with its children (which
    would otherwise hold the pipes open).
    """
    try:
        process = subprocess.Popen(
            [dot, "-Tsvg"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError:
        return None
    with process:
        try:
            output, _ = process.communicate(
                dot_text.encode("utf-8", "replace"), timeout=DOT_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            _kill(process)
            return None
    if process.returncode != 0:
        return None
    return _VERSION_COMMENT.sub("", output.decode("utf-8", "replace"), count=1)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and its session (just the process where sessions do not exist)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, OSError):  # no killpg (Windows), or the group is gone
        process.kill()
    process.communicate()
