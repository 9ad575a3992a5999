"""A run laid over its flow's graph, event by event, and the view that draws it: what the live
view and the Stepper both draw, so that they count a run the one way.
"""

from __future__ import annotations

import copy
from typing import Any

import ipywidgets as widgets

from pocketflow import BaseNode, Event
from pocketflow.graph import Graph, Overlay, build_graph

from .view import GraphView

__all__ = ["RunGraph", "ShowsRunGraph", "put_view"]


class RunGraph:
    """One run of ``flow`` laid over its graph, event by event, and the view that draws it.

    :meth:`add` counts an event into :attr:`overlay` (:meth:`pocketflow.graph.Overlay.add`: the
    visits, the edges taken, the current and the failed node). The events of other runs, such
    as a run a node starts inside its ``exec``, are left out, as a trace leaves them out. When
    the run reaches a node that the graph lacks (it was wired after the graph was made), the
    graph and :attr:`view` are made anew and the run so far is counted again on them: a run pays
    for a new graph only when it needs one.

    ``history`` is what ran before, for a run picked up from a checkpoint: the overlay starts
    from it, so the path that led to the checkpoint shows too.
    """

    def __init__(self, flow: BaseNode, history: Overlay | None = None) -> None:
        self.flow = flow
        self.graph: Graph = build_graph(flow)
        self.view = GraphView(self.graph)
        #: What ran before this run (a run picked up from a checkpoint), laid over the graph.
        self.history = history if history is not None else Overlay()
        self.overlay = copy.deepcopy(self.history)
        #: The events of the run so far.
        self.events: list[Event] = []
        self._run: object = None  # the run the events belong to (``Scope.run``)
        self._missing: set[int] = set()  # nodes a rebuilt graph still lacked (ids of objects)

    def restart(self) -> None:
        """Forget the run, for a new one."""
        self.overlay = copy.deepcopy(self.history)
        self.events = []
        self._run = None
        self._missing.clear()

    def add(self, event: Event) -> None:
        """Count one event of the run."""
        scope = event.scope
        if scope is not None:
            if self._run is None:
                self._run = scope.run
            elif scope.run is not self._run:
                return  # a run of its own, started by a node
        self.events.append(event)
        find, target = self.graph.find, event.target
        lacks = find(event.node) is None or (target is not None and find(target) is None)
        if lacks and self._rewired(event):
            return  # the new overlay has counted this event too
        self.overlay.add(self.graph, event)

    def _rewired(self, event: Event) -> bool:
        """For an event about nodes the graph lacks: whether the flow was wired anew, and the
        graph made anew (once per node: a node the flow still lacks is not looked for again).
        """
        lacking = [
            id(node)
            for node in (event.node, event.target)
            if node is not None and self.graph.find(node) is None
        ]
        if self._missing.issuperset(lacking):
            return False
        if self.follow_wiring():
            return True
        self._missing.update(lacking)
        return False

    def follow_wiring(self) -> bool:
        """Make the graph, the view and the overlay anew when the flow was wired anew since the
        graph was made; whether it was.
        """
        graph = build_graph(self.flow)
        if _shape(graph) == _shape(self.graph):
            return False
        self.graph = graph
        self.view = GraphView(graph)
        self.overlay = self.until(None)
        self._missing.clear()
        return True

    def until(self, step: int | None, *, including: bool = True) -> Overlay:
        """The overlay as it stood at ``step`` (with that step's event, or only the events
        before it), the history included: what a fork taken there has behind it.
        """
        overlay = copy.deepcopy(self.history)
        for event in self.events:
            if step is not None and (event.step > step or (event.step == step and not including)):
                break
            overlay.add(self.graph, event)
        return overlay

    def draw(self) -> None:
        """Show the overlay in :attr:`view`."""
        self.view.update(self.overlay)


def _shape(graph: Graph) -> tuple[Any, ...]:
    """What a graph is made of, to tell whether the flow was wired anew."""
    nodes = tuple(
        (node.id, id(node.obj), node.label, node.parent, node.is_start, node.ends_flow, node.start)
        for node in graph.nodes
    )
    return nodes, graph.edges


def put_view(box: widgets.Box, old: widgets.Widget, new: widgets.Widget) -> None:
    """Show ``new`` in ``box`` where ``old`` was (a graph made anew replaces its view)."""
    if new is not old:
        box.children = tuple(new if child is old else child for child in box.children)


class ShowsRunGraph:
    """What a view over a :class:`RunGraph` (in :attr:`run_graph`) offers: the live view and
    the Stepper read the graph, its view and the overlay the same way.
    """

    run_graph: RunGraph

    @property
    def graph(self) -> Graph:
        """The flow's graph (made anew when the flow was wired anew)."""
        return self.run_graph.graph

    @property
    def view(self) -> GraphView:
        """The view of :attr:`graph`."""
        return self.run_graph.view

    @property
    def overlay(self) -> Overlay:
        """The run so far, laid over :attr:`graph`."""
        return self.run_graph.overlay
