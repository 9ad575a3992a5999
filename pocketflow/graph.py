"""The graph of a flow: a small data model built from its wiring, and a run laid over it.

:func:`build_graph` walks a flow once: every node reachable from the start of each flow, nested
flows as clusters inside clusters, every edge with its action, the start of each flow and the
places where a flow ends. An :class:`Overlay` lays a run over the graph: the nodes visited, how
often each edge was taken, the current node, the node that failed and the progress of batches;
:func:`node_state` says what state a node is in. A notebook draws :func:`what_to_draw`: the
graph, or an :class:`Overview` of one too large to draw readably.

Drawing is the renderers' job, each in a module of its own: :mod:`pocketflow.dot` (Graphviz),
:mod:`pocketflow.mermaid`, :mod:`pocketflow.text` (a terminal outline) and
:mod:`pocketflow.display` (what a notebook shows).

>>> from pocketflow import Flow, Node
>>> decide, search, answer = Node(name="decide"), Node(name="search"), Node(name="answer")
>>> decide - "search" >> search >> decide
<Node 'decide'>
>>> decide - "answer" >> answer
<Node 'answer'>
>>> graph = build_graph(Flow(start=decide, name="agent"))
>>> [(node.id, node.kind) for node in graph.nodes]
[('agent', 'flow'), ('decide', 'node'), ('search', 'node'), ('answer', 'node')]
>>> [(edge.source, edge.action, edge.target) for edge in graph.edges]
[('decide', 'search', 'search'), ('decide', 'answer', 'answer'), ('search', 'default', 'decide')]

Ids come from names and the order of the walk, never from memory addresses, so the same wiring
gives the same graph in any process.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final, Literal, overload

from .events import ERROR, ITEM, POST, START, TRANSITION, Event
from .kinds import FLOW_KINDS, KIND_NAMES, kind_of
from .nodes import BaseNode

__all__ = [
    "FLOW_KINDS",
    "KIND_NAMES",
    "MAX_DRAWN_NODES",
    "MAX_EXTRA_EDGES",
    "OUTLINE_NODES",
    "EdgeKey",
    "Graph",
    "GraphEdge",
    "GraphNode",
    "NodeState",
    "Overlay",
    "Overview",
    "build_graph",
    "kind_of",
    "node_state",
    "overlay_for",
    "safe_dom_id",
    "what_to_draw",
]

#: Names that moved to the renderer modules -> the module now holding them. Importing them from
#: here still works, lazily: a plain import would be a cycle, since the renderers import the model.
#: Words Mermaid cannot take as a node id; a name that slugs to one gets its kind appended.
_RESERVED_IDS: Final = frozenset(
    {"call", "class", "click", "default", "end", "flowchart", "graph", "href", "interpolate"}
    | {"style", "subgraph"}
)


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
    #: For a parallel batch: how many items (or runs) may be in flight (``None``: no limit).
    #: Kept so that a timeline read from a file can tell an item waiting for a slot.
    max_concurrency: int | None = None
    #: For a batch node with an executor: the executor's class name. Its items wait there
    #: unseen until they come back, so a timeline draws them waiting, never running, till then.
    executor: str | None = None

    @property
    def is_flow(self) -> bool:
        """Whether this node is a flow (a cluster)."""
        return self.kind in FLOW_KINDS

    @property
    def dom_id(self) -> str:
        """The ``id`` of its group in the SVG of :func:`~pocketflow.dot.to_dot` (a cluster's,
        for a flow).
        """
        return safe_dom_id(f"cluster__{self.id}" if self.is_flow else f"node__{self.id}")


@dataclass(frozen=True)
class GraphEdge:
    """A wired successor: ``source - action >> target``, in the flow ``parent``."""

    source: str
    #: The id of the successor; ``None`` is a declared end (``node - "done" >> None``).
    target: str | None
    action: str
    parent: str | None
    #: The ``id`` of this edge's group in the SVG of ``to_dot`` (set by :func:`build_graph`;
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
        if self.add(root, None) in FLOW_KINDS:
            self.walk_flow(root, self.ids[id(root)])

    def add(self, node: BaseNode, parent: str | None) -> str | None:
        """Give ``node`` an id and return its kind; ``None`` when it already has one."""
        if id(node) in self.ids:
            return None
        kind = kind_of(node)
        base = _slug(node.name) or kind
        if base in _RESERVED_IDS:
            base = f"{base}_{kind}"
        node_id = _unique(base, self.taken, "_")
        self.ids[id(node)] = node_id
        self.order.append((node, kind, parent))
        return kind

    def walk_flow(self, flow: BaseNode, flow_id: str) -> None:
        start = _start_of(flow)
        if start is None:
            return
        queue: deque[tuple[BaseNode, str]] = deque()
        kind = self.add(start, flow_id)
        if kind is not None:
            queue.append((start, kind))
        while queue:
            node, kind = queue.popleft()
            node_id = self.ids[id(node)]
            if kind in FLOW_KINDS:
                self.walk_flow(node, node_id)
            for action, target in node.successors.items():
                target_kind = None if target is None else self.add(target, flow_id)
                if target is not None and target_kind is not None:
                    queue.append((target, target_kind))
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
            start = _start_of(node) if kind in FLOW_KINDS else None
            parent_start = None if parent is None else _start_of(objects[parent])
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
                    max_concurrency=_limit_of(node),
                    executor=_executor_of(node),
                )
            )
        return Graph(nodes, self.edges)


def _start_of(flow: BaseNode) -> BaseNode | None:
    """The start node of a flow (``None`` for a flow without one, or for any other node)."""
    start: BaseNode | None = getattr(flow, "start_node", None)
    return start


def _limit_of(node: BaseNode) -> int | None:
    limit = getattr(node, "max_concurrency", None)
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def _executor_of(node: BaseNode) -> str | None:
    executor = getattr(node, "executor", None)
    return None if executor is None else type(executor).__name__


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

#: A node's state in a run laid over the graph ("plain": no run is).
NodeState = Literal["plain", "unvisited", "visited", "current", "failed"]

#: An edge as an overlay counts it: (source id, action, target id or ``None`` for an end).
EdgeKey = tuple[str, str, "str | None"]


@dataclass
class Overlay:
    """A run laid over a graph: what was visited, which edges were taken, where it stands."""

    #: Node id -> how many times the node started.
    visits: dict[str, int] = field(default_factory=dict)
    #: (source id, action, target id or ``None`` for an end) -> how many times it was taken.
    edges: dict[EdgeKey, int] = field(default_factory=dict)
    #: The node that started last, while the run goes on (the one running, or paused at);
    #: ``None`` once the run has ended, by returning or by an exception.
    current: str | None = None
    #: The node where an exception escaped.
    failed: str | None = None
    #: Node id -> (batch items done, total items or ``None`` when unknown), for its last run.
    items: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    #: The node the run is of: the first one that started. Its ``post`` ends the run.
    root: str | None = None

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
        """Count one event given by ids (what :meth:`add` does once it has found them).

        An ``error`` event ends the run: a run reports an exception once, where it escaped.
        """
        if kind == START:
            self.visits[node] = self.visits.get(node, 0) + 1
            self.current = node
            self.items.pop(node, None)
            if self.root is None:
                self.root = node
        elif kind == TRANSITION:
            action = "default" if value is None or value == "" else str(value)
            key = (node, action, target)
            self.edges[key] = self.edges.get(key, 0) + 1
        elif kind == ITEM:
            done = self.items.get(node, (0, None))[0]
            self.items[node] = (done + 1, total)
        elif kind == ERROR:
            self.failed = node
            self.current = None
        elif kind == POST and node == self.root:
            self.current = None


def node_state(node_id: str, overlay: Overlay | None) -> NodeState:
    """The state of the node ``node_id`` in the run ``overlay``: "plain" (no run laid over the
    graph), "failed", "current", "visited" or "unvisited". Every renderer and view asks this.

    >>> node_state("search", Overlay(visits={"decide": 2, "search": 1}, current="decide"))
    'visited'
    """
    if overlay is None:
        return "plain"
    if overlay.failed == node_id:
        return "failed"
    if overlay.current == node_id:
        return "current"
    return "visited" if overlay.visits.get(node_id) else "unvisited"


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


_SEE_ALL: Final = (
    "All of it: print(pocketflow.text.to_text(flow)), or pocketflow.dot.to_dot(flow) for Graphviz."
)


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
