"""One visual language: every state drawn in its own look, never by colour alone, and every text
legible on the fill it is drawn on (WCAG contrast computed here from the palette's colours).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pocketflow import BaseNode, Flow, Node
from pocketflow.dot import to_dot
from pocketflow.graph import (
    Graph,
    GraphEdge,
    GraphNode,
    Overlay,
    build_graph,
    overlay_for,
    what_to_draw,
)
from pocketflow.mermaid import to_mermaid
from pocketflow.palette import (
    BACKGROUND,
    EDGE,
    EMPTY,
    KIND_LOOKS,
    MORE,
    NOTE,
    STATES,
    TAKEN,
    UNTAKEN,
)

AA = 4.5  # WCAG AA, for normal text


def _graph_tests() -> ModuleType:
    """``test_graph.py``, for its flows and parsers (test folders are not packages)."""
    name = "pocketflow_test_graph"
    if name not in sys.modules:
        path = Path(__file__).with_name("test_graph.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


graph_tests = _graph_tests()


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    assert re.fullmatch(r"#[0-9a-f]{6}", colour), colour

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_computed_as_wcag_says() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss


FLOW_FILLS = {kind: look.fill for kind, look in KIND_LOOKS.items() if kind.endswith("flow")}


def palette_texts() -> list[tuple[str, str, str]]:
    """(where, text colour, the colour under it) for every text a drawing can hold."""
    pairs = [(f"kind {kind}", look.text, look.fill) for kind, look in KIND_LOOKS.items()]
    pairs += [(f"state {state}", style.text, style.fill) for state, style in STATES.items()]
    # a flow's cluster keeps its fill in every state: its label is in the state's text colour
    pairs += [
        (f"cluster {kind} {state}", style.text, fill)
        for (kind, fill), (state, style) in itertools.product(FLOW_FILLS.items(), STATES.items())
    ]
    pairs += [(f"empty in {kind}", EMPTY.text, fill) for kind, fill in FLOW_FILLS.items()]
    pairs += [("more", MORE.text, MORE.fill), ("note", NOTE.text, NOTE.fill)]
    pairs += [("empty", EMPTY.text, EMPTY.fill), ("note on the drawing", NOTE.text, BACKGROUND)]
    pairs += [(f"line {look}", look.text, BACKGROUND) for look in (EDGE, TAKEN, UNTAKEN)]
    return pairs


@pytest.mark.parametrize(("where", "text", "fill"), palette_texts(), ids=lambda v: str(v))
def test_every_text_of_the_palette_reads_on_what_is_under_it(
    where: str, text: str, fill: str
) -> None:
    assert contrast(text, fill) >= AA, f"{where}: {text} on {fill}"


def test_states_are_never_told_by_colour_alone() -> None:
    cues = {state: (style.icon, style.width, style.dash) for state, style in STATES.items()}
    assert len(set(cues.values())) == len(cues), cues
    assert set(STATES) == {"current", "visited", "failed", "unvisited"}
    assert all(style.word for style in STATES.values())


def test_states_are_plain_data_for_views() -> None:
    data = json.loads(json.dumps({state: style._asdict() for state, style in STATES.items()}))
    assert data["failed"] == {
        "word": "failed",
        "icon": "✗",
        "meaning": "an exception escaped it",
        "fill": STATES["failed"].fill,
        "stroke": STATES["failed"].stroke,
        "text": STATES["failed"].text,
        "width": 3.0,
        "dash": "double",
    }
    assert STATES["unvisited"].dasharray == "2 3"


# -- what the renderers draw ---------------------------------------------------------------------


def one_of_each_state() -> tuple[Graph, Overlay]:
    """A flow with a node in each state, inside a nested flow (a cluster) that ran."""
    nodes = {state: Node(name=state) for state in STATES}
    nodes["visited"] >> nodes["current"] >> nodes["failed"] >> nodes["unvisited"]
    flow = Flow(start=Flow(start=nodes["visited"], name="inner"), name="outer")
    graph = build_graph(flow)
    overlay = Overlay(
        visits={"outer": 1, "inner": 1, "visited": 2, "current": 1, "failed": 1},
        edges={("visited", "default", "current"): 1},
        current="current",
        failed="failed",
    )
    return graph, overlay


def drawings() -> list[tuple[str, Graph, Overlay | None]]:
    graph, overlay = one_of_each_state()
    agent = graph_tests.agent()
    agent_graph = build_graph(agent)
    large = build_graph(graph_tests_large_flow())
    drawn = what_to_draw(large)
    visits = {large.nodes[1].id: 1, large.nodes[-1].id: 1}
    return [
        ("states", graph, overlay),
        ("plain", graph, None),
        (
            "agent",
            agent_graph,
            Overlay.from_events(agent_graph, graph_tests.recorded(agent, {"searches": 1})),
        ),
        ("overview", drawn, overlay_for(drawn, Overlay(visits=visits, current=large.nodes[-1].id))),
        ("empty flow", build_graph(graph_tests.empty_inside()), Overlay(visits={"holder": 1})),
    ]


def graph_tests_large_flow() -> Flow:
    """A chain of 150 nodes: drawn as an overview, with its note and its "more" node."""
    steps = [Node(name=f"step {index}") for index in range(150)]
    for here, there in itertools.pairwise(steps):
        here >> there
    return Flow(start=steps[0], name="long")


@pytest.mark.parametrize(("name", "graph", "overlay"), drawings(), ids=lambda v: str(v)[:12])
def test_dot_draws_every_text_on_a_fill_with_contrast(
    name: str, graph: Graph, overlay: Overlay | None
) -> None:
    dot = graph_tests.parse_dot(to_dot(graph, overlay))
    background = dot.attrs["bgcolor"]
    assert background == BACKGROUND  # never transparent: edge labels sit on it
    node_text = dot.defaults["node"]["fontcolor"]
    edge_text = dot.defaults["edge"]["fontcolor"]
    for cluster, attrs in dot.clusters.items():
        assert contrast(attrs["fontcolor"], attrs["fillcolor"]) >= AA, cluster
    for node, attrs in dot.nodes.items():
        if attrs.get("label", "") == "":
            continue  # a marker: no text
        text = attrs.get("fontcolor", node_text)
        if "filled" in attrs.get("style", ""):
            under = attrs["fillcolor"]
        elif attrs["cluster"]:
            under = dot.clusters[attrs["cluster"]]["fillcolor"]
        else:
            under = background
        assert contrast(text, under) >= AA, (node, text, under)
    for tail, head, attrs in dot.edges:
        if attrs.get("label"):
            assert contrast(attrs.get("fontcolor", edge_text), background) >= AA, (tail, head)
    if "label" in dot.attrs:  # an overview's note
        assert contrast(dot.attrs["fontcolor"], background) >= AA


@pytest.mark.parametrize(("name", "graph", "overlay"), drawings(), ids=lambda v: str(v)[:12])
def test_mermaid_draws_every_text_on_a_fill_with_contrast(
    name: str, graph: Graph, overlay: Overlay | None
) -> None:
    text = to_mermaid(graph, overlay)
    found = graph_tests.check_mermaid(text)
    styled = 0
    for line in text.splitlines():
        words = line.split(maxsplit=2)
        if words[0] == "classDef" and words[1] == "marker":
            continue  # the circles where flows start and end, labelled " ": no text
        if words[0] in ("classDef", "style"):
            props = dict(prop.split(":", 1) for prop in words[2].split(","))
            assert contrast(props["color"], props["fill"]) >= AA, line
            styled += 1
        if words[0] == "linkStyle":
            assert "color:" not in words[2]  # edge labels: the theme's colours on its background
    assert styled >= len(found["classDef"]) - 1


def test_each_state_has_its_own_look_in_dot_and_mermaid() -> None:
    graph, overlay = one_of_each_state()
    dot = graph_tests.parse_dot(to_dot(graph, overlay))
    looks = {
        state: (
            dot.nodes[state]["label"],
            dot.nodes[state]["style"],
            dot.nodes[state]["penwidth"],
            dot.nodes[state].get("peripheries", "1"),
        )
        for state in STATES
    }
    assert looks == {
        "current": ("▶ current", "rounded,filled", "3", "1"),
        "visited": ("visited", "rounded,filled", "2", "1"),
        "failed": ("✗ failed", "rounded,filled", "3", "2"),
        "unvisited": ("unvisited", "rounded,filled,dotted", "1", "1"),
    }
    for state, style in STATES.items():
        attrs = dot.nodes[state]
        assert (attrs["fillcolor"], attrs["color"], attrs["fontcolor"]) == (
            style.fill,
            style.stroke,
            style.text,
        )
    mermaid = to_mermaid(graph, overlay)
    for state in STATES:
        assert f"class {state} s_{state}" in mermaid
    assert 'current["▶ current"]' in mermaid and 'failed["✗ failed"]' in mermaid
    assert re.search(r"classDef s_unvisited .*stroke-dasharray:2 3", mermaid)


def test_a_cluster_keeps_its_fill_and_takes_its_states_outline() -> None:
    graph, overlay = one_of_each_state()
    overlay.visits.pop("inner")
    inner = graph_tests.parse_dot(to_dot(graph, overlay)).clusters["cluster_inner"]
    unvisited = STATES["unvisited"]
    assert (inner["fillcolor"], inner["color"]) == (KIND_LOOKS["flow"].fill, unvisited.stroke)
    assert inner["style"] == "rounded,filled,dotted"


def test_a_stand_in_of_another_kind_still_reads() -> None:
    """A graph from a file can claim any kind: it is drawn, and read, as a plain node."""
    odd = GraphNode("odd", "odd", "odd", "mystery", BaseNode(name="odd"), None, False, False)
    dot = graph_tests.parse_dot(to_dot(Graph([odd], [GraphEdge("odd", None, "done", None)])))
    assert dot.nodes["odd"]["fillcolor"] == KIND_LOOKS["node"].fill
