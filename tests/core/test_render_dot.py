"""Edge counts never collide with labels: they are laid out with the graph, on a line of their
own, and a layout made to be drawn over later keeps room for them and for the state marks.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

from pocketflow.dot import ROOM_FOR_COUNT, ROOM_FOR_ICON, to_dot
from pocketflow.graph import Overlay, build_graph

SVG = "{http://www.w3.org/2000/svg}"


def _graph_tests() -> ModuleType:
    """``test_graph.py``, for its flows and DOT parser (test folders are not packages)."""
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


def svg_texts(dot_path: str, dot_text: str) -> dict[str, list[tuple[float, str]]]:
    """The SVG of ``dot_text``: each group id -> its texts as (y, text), in order."""
    svg = subprocess.run(
        [dot_path, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    root = ET.fromstring(svg)
    return {
        group.get("id", ""): [
            (float(text.get("y", "0")), text.text or "") for text in group.iter(f"{SVG}text")
        ]
        for group in root.iter(f"{SVG}g")
        if group.get("class") in ("node", "edge")
    }


def agent_run() -> tuple[str, str]:
    """DOT of the agent loop with a run of three searches laid over it, and without."""
    flow = graph_tests.agent()
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, graph_tests.recorded(flow, {"searches": 3}))
    return to_dot(graph, overlay), to_dot(graph, room_for_run=True)


def test_a_count_is_laid_out_on_a_line_under_the_action(dot_path: str) -> None:
    run, _ = agent_run()
    texts = svg_texts(dot_path, run)
    (action_y, action), (count_y, count) = texts["edge__decide__search"]
    assert (action, count) == ("search", "×3")
    assert count_y > action_y  # below it: the two never share a line
    assert [text for _, text in texts["edge__agent__start__decide"]] == ["×1"]


def test_room_for_run_reserves_a_line_for_each_count_and_room_for_each_mark() -> None:
    _, room = agent_run()
    dot = graph_tests.parse_dot(room)
    for _, _, attrs in dot.edges:
        assert attrs["label"].split("\n")[-1] == ROOM_FOR_COUNT, attrs["id"]
    assert dot.edge("edge__decide__search")["label"] == f"search\n{ROOM_FOR_COUNT}"
    for node in ("decide", "search", "answer"):
        assert dot.nodes[node]["label"] == ROOM_FOR_ICON + node
    assert dot.clusters["cluster_agent"]["label"] == ROOM_FOR_ICON + "agent (Flow)"


def test_room_for_run_leaves_counts_and_marks_where_a_run_has_them() -> None:
    flow = graph_tests.agent()
    graph = build_graph(flow)
    overlay = Overlay(visits={"agent": 1, "decide": 2}, edges={("decide", "search", "search"): 1})
    overlay.current = "decide"
    dot = graph_tests.parse_dot(to_dot(graph, overlay, room_for_run=True))
    assert dot.edge("edge__decide__search")["label"] == "search\n×1"
    assert dot.edge("edge__decide__answer")["label"] == f"answer\n{ROOM_FOR_COUNT}"
    assert dot.nodes["decide"]["label"] == "▶ decide"
    assert dot.nodes["answer"]["label"] == ROOM_FOR_ICON + "answer"


def test_the_room_is_drawn_as_a_text_of_its_own_that_shows_nothing(dot_path: str) -> None:
    _, room = agent_run()
    texts = svg_texts(dot_path, room)
    (_, action), (_, placeholder) = texts["edge__decide__search"]
    assert (action, placeholder) == ("search", ROOM_FOR_COUNT)
    assert placeholder.strip() == ""  # figure spaces: as wide as digits, and blank
    assert [text for _, text in texts["node__decide"]] == [ROOM_FOR_ICON + "decide"]
