"""The graph view of a large flow: the same overview as the flow's own picture, run laid over it.

A view is laid out when it is made, in the cell that makes it, so it must not hand ``dot`` a
graph that takes minutes. It draws what :func:`pocketflow.graph.what_to_draw` decides, like the
flow's mime bundle, and lays a run of the full graph over that overview.
"""

from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

import pocketflow.dot
import pocketflow_widgets.view as view_module
from pocketflow import Flow, Node
from pocketflow.display import mimebundle
from pocketflow.graph import (
    OUTLINE_NODES,
    Overlay,
    Overview,
    build_graph,
    what_to_draw,
)
from pocketflow.text import to_text
from pocketflow.trace import record
from pocketflow_widgets import Replay, show
from pocketflow_widgets.view import GraphView


def dense_flow(nodes: int, seed: int = 11) -> Flow:
    """``nodes`` nodes in a chain (which a run follows), each also wired to two random nodes."""
    rng = random.Random(seed)
    steps = [Node(name=f"step {index}") for index in range(nodes)]
    for index, step in enumerate(steps):
        if index + 1 < nodes:
            step >> steps[index + 1]
        step - "retry" >> steps[rng.randrange(nodes)]
        step - "jump" >> steps[rng.randrange(nodes)]
    steps[-1] - "default" >> None  # where the run ends
    return Flow(start=steps[0], name="dense")


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.groups: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "g" and found.get("class") in ("node", "edge", "cluster"):
            self.groups.append(found.get("id") or "")


def group_ids(svg: str) -> list[str]:
    """The ids of the node, edge and cluster groups of an SVG from Graphviz, in order."""
    parser = _Ids()
    parser.feed(svg)
    return parser.groups


def test_the_view_lays_out_only_the_overview(monkeypatch: pytest.MonkeyPatch) -> None:
    laid_out: list[str] = []

    def no_graphviz(dot_text: str) -> None:
        laid_out.append(dot_text)

    monkeypatch.setattr(view_module, "render_svg", no_graphviz)
    view = GraphView(build_graph(dense_flow(2000)))
    (dot_text,) = laid_out
    declared = [line for line in dot_text.splitlines() if line.strip().startswith('"')]
    assert len([line for line in declared if "->" not in line]) <= OUTLINE_NODES + 2
    # and the Mermaid fallback is the overview's, small enough for Mermaid
    assert view.mermaid is not None
    (output,) = view.mermaid.outputs
    assert len(output["data"]["text/vnd.mermaid"]) < 10_000


def test_the_view_and_the_picture_draw_the_same_overview(dot_path: str) -> None:
    graph = build_graph(dense_flow(2000))
    view = GraphView(graph)
    assert isinstance(view.drawn, Overview)
    assert [node.id for node in view.drawn.nodes] == [node.id for node in what_to_draw(graph).nodes]
    assert view.uses_svg
    picture = mimebundle(graph)["image/svg+xml"]
    assert group_ids(view.picture.svg) == group_ids(picture)
    assert "Overview: the first" in view.picture.svg
    # the state names the overview's groups: what the browser restyles is there to restyle
    assert set(view.picture.names) == {node.dom_id for node in view.drawn.nodes}
    assert set(view.picture.names) <= set(group_ids(view.picture.svg))


def test_the_mermaid_fallback_of_the_view_is_the_picture_drawn_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz
    graph = build_graph(dense_flow(200))
    overlay = Overlay(visits={graph.nodes[1].id: 1}, current=graph.nodes[-1].id)
    view = GraphView(graph)
    view.update(overlay)
    assert view.mermaid is not None
    (output,) = view.mermaid.outputs
    assert output["data"]["text/vnd.mermaid"] == mimebundle(graph)["text/vnd.mermaid"]
    # the run goes to the line under it, by the overview's ids
    more = view.drawn[view.drawn.more or ""].dom_id
    assert view.state["nodes"] == {graph.nodes[1].dom_id: "visited", more: "current"}


def test_a_node_left_out_lights_up_the_node_standing_for_it(dot_path: str) -> None:
    graph = build_graph(dense_flow(2000))
    view = GraphView(graph)
    assert isinstance(view.drawn, Overview) and view.drawn.more is not None
    first, hidden = graph.nodes[1].id, graph.nodes[-1].id
    view.update(Overlay(visits={first: 1, hidden: 1}, current=hidden))
    more = view.drawn[view.drawn.more].dom_id
    assert view.state["nodes"][more] == "current"
    assert view.state["nodes"][f"node__{first}"] == "visited"
    assert view.state["run"]


def test_replay_of_a_run_through_a_large_flow(dot_path: str) -> None:
    flow = dense_flow(200)
    trace = record(flow, {})
    replay = Replay(trace, flow)
    drawn = replay.view.drawn
    assert isinstance(drawn, Overview) and drawn.more is not None
    starts = [step for step in trace.steps if step.kind == "start" and step.node_id]
    inside = next(step for step in starts[1:] if drawn.drawn_id(step.node_id or "") == step.node_id)
    left_out = next(step for step in starts if drawn.drawn_id(step.node_id or "") == drawn.more)
    for step, current in ((inside, inside.node_id), (left_out, drawn.more)):
        replay.show(step.step)
        assert replay.view.state["nodes"][drawn[current or ""].dom_id] == "current"


def test_the_repr_of_a_picture_lays_nothing_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_layout(*args: object, **kwargs: object) -> None:
        raise AssertionError("a repr ran Graphviz")

    monkeypatch.setattr(pocketflow.dot.subprocess, "run", no_layout)
    monkeypatch.setattr(pocketflow.dot.subprocess, "Popen", no_layout)
    flow = dense_flow(200)
    assert repr(show(flow)) == to_text(flow).rstrip("\n")
