"""The graph as a widget that a run can restyle many times a second, sending only what changed.

Graphviz lays the graph out once (an overview of it when it is large: the same picture as the
flow's own display), and the SVG goes to the browser once, as the ``svg`` trait of a
:class:`GraphWidget` (an anywidget, so it works offline in JupyterLab, VS Code, marimo and
JupyterLite). Each :meth:`GraphView.update` works out the run as the picture shows it: a state
word per node, a count per edge taken, batch progress (:func:`overlay_state`), and sends only the
entries that changed since the last update (:func:`state_patch`), a few hundred bytes whatever
the graph's size. The ES module ``graph_view.js`` restyles the SVG from them with the looks of
:mod:`pocketflow.palette`, the same as every drawing's: a state, its look, its mark and its word
on each node's group, the counts under the edge labels, the progress in the node labels.

Without ``dot`` there is no layout to restyle. The view then draws the graph once in Mermaid
(which JupyterLab renders offline) and shows each update as a line of text under it: redrawing a
Mermaid diagram means sending all of it and laying it out again in the browser, hundreds of
milliseconds for a large graph, too slow to follow a run, while the line costs a few bytes.

Nothing the graph holds is written into markup: the SVG comes from Graphviz, which escapes the
labels, and the browser parses it as SVG and keeps only drawing elements; ids are
:func:`~pocketflow.graph.safe_dom_id`; names reach the page as text, and the browser drops any
state entry of another shape than its section allows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

import anywidget
import ipywidgets as widgets
import traitlets

from pocketflow.dot import render_svg, to_dot
from pocketflow.graph import KIND_NAMES, Graph, Overlay, Overview, overlay_for, what_to_draw
from pocketflow.mermaid import to_mermaid
from pocketflow.palette import STATES, TAKEN, UNTAKEN
from pocketflow.scene import build_scene

__all__ = [
    "EMPTY_STATE",
    "GraphView",
    "GraphWidget",
    "overlay_state",
    "palette_styles",
    "state_patch",
]

_HERE: Final = Path(__file__).resolve().parent

#: The states a node is marked with while a run is laid over the graph. A node with none of
#: them is "unvisited" during a run (``run`` in the state) and drawn as it is otherwise.
MARKED_STATES: Final = ("visited", "current", "failed")


def palette_styles() -> dict[str, dict[str, Any]]:
    """How the browser draws each run state, from :mod:`pocketflow.palette` (the looks every
    drawing uses), as plain data: per state, the fill, outline, text colour, outline width (px)
    and ``stroke-dasharray`` of a node's shape (a flow's frame takes the outline only), the mark
    before its name and the word its title and accessible name give; ``taken`` and ``untaken``
    for lines during a run.
    """
    styles: dict[str, dict[str, Any]] = {
        state: {
            "fill": style.fill,
            "stroke": style.stroke,
            "text": style.text,
            "width": style.width,
            "dash": style.dasharray,
            "icon": style.icon,
            "word": style.word,
        }
        for state, style in STATES.items()
    }
    for name, look in (("taken", TAKEN), ("untaken", UNTAKEN)):
        styles[name] = {"stroke": look.stroke, "text": look.text, "width": look.width}
    return _checked_styles(styles)


#: The state of a graph with no run laid over it.
EMPTY_STATE: Final[dict[str, Any]] = {"run": False, "nodes": {}, "edges": {}, "items": {}}
_SECTIONS: Final = ("nodes", "edges", "items")

_COLOUR: Final = re.compile(r"#[0-9a-fA-F]{3,8}|none")
_DASH: Final = re.compile(r"none|[0-9. ]*")


class GraphWidget(anywidget.AnyWidget):
    """The picture in the browser: an SVG laid out once, restyled from small patches.

    Traits sent once: :attr:`svg`, :attr:`label`, :attr:`names`, :attr:`styles`. Then each
    change of :attr:`state` (:meth:`show`) sends :attr:`patch`: only the entries that changed.
    A front end that asks for the whole widget (when it opens, or when a page is loaded again)
    gets all of :attr:`state` as its patch, marked ``reset``.
    """

    _esm = _HERE / "graph_view.js"
    _css = _HERE / "graph_view.css"

    #: The graph laid out by Graphviz, as an ``<svg>`` element ("": no layout; the widget then
    #: shows the state as a line of text).
    svg = traitlets.Unicode("").tag(sync=True)
    #: The accessible name of the picture: which flow it is the graph of.
    label = traitlets.Unicode("").tag(sync=True)
    #: The id of each drawn node's group in the SVG -> its name, for titles and the text line.
    names = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    #: How each state is drawn: :func:`palette_styles`.
    styles = traitlets.Dict().tag(sync=True)
    #: What changed in :attr:`state` with the last :meth:`show`: the same sections, with only
    #: the entries that changed (``None``: the entry is gone), and ``run`` when it changed.
    patch = traitlets.Dict().tag(sync=True)
    #: The run as the picture shows it (see :func:`overlay_state`). Kept here; the browser
    #: rebuilds it from the patches.
    state = traitlets.Dict()

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("state", EMPTY_STATE)
        kwargs.setdefault("styles", palette_styles())
        super().__init__(**kwargs)

    def show(self, state: dict[str, Any]) -> None:
        """Make ``state`` the one shown, sending only what changed (nothing when nothing did)."""
        patch = state_patch(self.state, state)
        if patch:
            self.state = state
            self.patch = patch

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """The traits as the front end gets them: the whole :attr:`state` as the patch when all
        traits are asked for (``key`` is ``None``: the widget opens, or a page asks again), so
        that a new page starts from the picture as it is now.
        """
        found: dict[str, Any] = super().get_state(key, drop_defaults)
        if key is None:
            found["patch"] = {"reset": True, **self.state}
        return found


def overlay_state(drawn: Graph, overlay: Overlay) -> dict[str, Any]:
    """``overlay`` (a run over the full graph) as the picture of ``drawn`` shows it, by the ids
    of the SVG's groups: ``run`` (whether a run is laid over the graph at all), ``nodes`` (the
    state of each visited, current or failed node), ``edges`` (how often each line was taken)
    and ``items`` (batch progress, ``"done/total"``).

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.graph import build_graph
    >>> graph = build_graph(Flow(start=Node(name="hello"), name="main"))
    >>> overlay_state(graph, Overlay(visits={"main": 1, "hello": 1}, current="hello"))["nodes"]
    {'cluster__main': 'visited', 'node__hello': 'current'}
    """
    shown = overlay_for(drawn, overlay)
    scene = build_scene(drawn, shown)
    nodes = {
        drawn[node_id].dom_id: state
        for node_id, state in scene.states.items()
        if state in MARKED_STATES
    }
    edges = {line.dom_id: line.taken for line in scene.lines if line.taken}
    items = {
        drawn[node_id].dom_id: f"{done}/{'?' if total is None else total}"
        for node_id, (done, total) in shown.items.items()
        if node_id in drawn
    }
    run = bool(shown.visits) or shown.failed is not None
    return {"run": run, "nodes": nodes, "edges": edges, "items": items}


def state_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What turns the state ``old`` into ``new``: per section, the entries that changed or
    appeared, and ``None`` for those gone; ``run`` when it changed. Empty when nothing did.

    >>> old = {"run": True, "nodes": {"a": "current"}, "edges": {}, "items": {}}
    >>> new = {"run": True, "nodes": {"a": "visited", "b": "current"}, "edges": {"e": 1},
    ...        "items": {}}
    >>> state_patch(old, new)
    {'nodes': {'a': 'visited', 'b': 'current'}, 'edges': {'e': 1}}
    >>> state_patch(new, new)
    {}
    """
    patch: dict[str, Any] = {}
    if old.get("run") != new["run"]:
        patch["run"] = new["run"]
    for section in _SECTIONS:
        before, after = old.get(section, {}), new[section]
        changes = {key: value for key, value in after.items() if before.get(key) != value}
        changes.update((key, None) for key in before if key not in after)
        if changes:
            patch[section] = changes
    return patch


class GraphView:
    """A flow's graph in a widget (:attr:`widget`); :meth:`update` lays an overlay over it.

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.graph import build_graph
    >>> view = GraphView(build_graph(Flow(start=Node(name="hello"), name="main")))
    >>> view.update(Overlay(visits={"main": 1, "hello": 1}, current="hello"))
    >>> view.state["nodes"]["node__hello"]
    'current'
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        #: What is drawn: the graph, or an overview of it when it is large (the same picture as
        #: the flow's own display, see :func:`pocketflow.graph.what_to_draw`).
        self.drawn = what_to_draw(graph)
        svg = render_svg(to_dot(self.drawn))
        labels = build_scene(self.drawn, None).labels
        #: The picture: the SVG restyled in the browser, or (without Graphviz) a line of text.
        self.picture = GraphWidget(
            svg="" if svg is None else svg[svg.find("<svg") :],
            label=_accessible_name(self.drawn),
            names={node.dom_id: labels[node.id].replace("\n", " ") for node in self.drawn.nodes},
        )
        #: The widget to show: the picture itself, or the Mermaid drawing above it.
        self.widget: widgets.Widget = self.picture
        #: Without Graphviz, the graph drawn once in Mermaid (``None`` with Graphviz).
        self.mermaid: widgets.Output | None = None
        if svg is None:
            # Given as state, not printed inside the widget: the same with or without a kernel.
            data = {"text/vnd.mermaid": to_mermaid(self.drawn)}
            drawing = {"output_type": "display_data", "data": data, "metadata": {}}
            self.mermaid = widgets.Output(outputs=(drawing,))
            self.widget = widgets.VBox([self.mermaid, self.picture])

    @property
    def uses_svg(self) -> bool:
        """Whether the view is an SVG laid out by Graphviz (else: Mermaid, drawn once)."""
        return bool(self.picture.svg)

    @property
    def state(self) -> dict[str, Any]:
        """The run as the picture shows it now (see :func:`overlay_state`)."""
        return dict(self.picture.state)

    def update(self, overlay: Overlay) -> None:
        """Show ``overlay`` (visits, edges taken, current and failed node, batch progress),
        sending the browser only what changed since the last update.
        """
        self.picture.show(overlay_state(self.drawn, overlay))


def _accessible_name(drawn: Graph) -> str:
    root = drawn.root
    kind = KIND_NAMES.get(root.kind, "Node")
    name = f"Graph of the {kind} {root.label}"
    if isinstance(drawn, Overview):
        name += f" (overview of {len(drawn.full.nodes):,} nodes)"
    return name


def _checked_styles(styles: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``styles`` with every value checked for what it is (a colour, a number, a dash pattern,
    a short text): they become CSS property values and text in the browser.
    """
    for role, look in styles.items():
        for name, value in look.items():
            if name in ("fill", "stroke", "text"):
                ok = isinstance(value, str) and _COLOUR.fullmatch(value) is not None
            elif name == "width":
                ok = isinstance(value, int | float) and 0 <= value <= 20
            elif name == "dash":
                ok = isinstance(value, str) and _DASH.fullmatch(value) is not None
            else:
                ok = name in ("icon", "word") and isinstance(value, str) and len(value) <= 40
            if not ok:
                raise ValueError(f"style {role}.{name} = {value!r}: not a {name} value")
    return styles
