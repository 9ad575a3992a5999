"""The graph view and Replay put no hostile string into HTML, SVG or CSS as markup.

The graph and the trace come from a file or are built by hand, with ids, names, kinds, actions
and values that try to close a tag, open an element, or add CSS rules. The graph view sends the
browser an SVG, names and a state: the SVG is parsed as a browser would and holds only
Graphviz's drawing elements; every key of the names and the state is a safe id of one of its
groups, and every value has the one shape its section allows (the browser writes names as text
and drops any other value). Replay's HTML is parsed too: only its own elements may appear.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pocketflow import BaseNode
from pocketflow.graph import Graph, GraphNode, Overlay, safe_dom_id
from pocketflow.mermaid import to_mermaid
from pocketflow.scene import clean
from pocketflow.trace import Trace, TraceStep
from pocketflow_widgets import Replay
from pocketflow_widgets.view import GraphView


def _untrusted() -> ModuleType:
    """The hostile graphs of ``tests/core/test_graph_untrusted.py`` (folders are no packages)."""
    name = "pocketflow_test_graph_untrusted"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "core" / "test_graph_untrusted.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


untrusted = _untrusted()
HOSTILE: list[str] = untrusted.HOSTILE
elements = untrusted.elements
check_mermaid = untrusted.check_mermaid

#: What a value of each section of the view's state may be; anything else would reach the page.
STATE_VALUES = {
    "nodes": lambda value: value in ("visited", "current", "failed"),
    "edges": lambda value: type(value) is int and value > 0,
    "items": lambda value: isinstance(value, str) and re.fullmatch(r"\d+/(\d+|\?)", value),
}


def check_view(view: GraphView) -> dict[str, Any]:
    """Assert that what ``view`` sends is data the browser cannot take for markup: an SVG of
    Graphviz's drawing elements only, and names and a state keyed by safe ids of its groups,
    with values of the one shape each section allows; return the view's state.
    """
    picture = view.picture
    untrusted.assert_only_drawing(picture.svg)
    assert picture.svg.startswith("<svg")
    groups = {attrs.get("id") for _, attrs in elements(picture.svg).tags}
    keyed = [picture.names]
    for sent in (picture.state, picture.patch, picture.get_state()["patch"]):
        keyed += [sent[section] for section in STATE_VALUES if section in sent]
    for entries in keyed:
        for key in entries:
            assert untrusted.SAFE_ID.fullmatch(key) and key in groups, key
    for section, check in STATE_VALUES.items():
        for key, value in picture.state[section].items():
            assert check(value), (section, key, value)
    assert all(isinstance(name, str) for name in picture.names.values())
    return picture.state


def test_the_view_marks_hostile_ids_by_the_safe_ids_of_their_groups(dot_path: str) -> None:
    graph = untrusted.hostile_graph()
    view = GraphView(graph)
    assert view.uses_svg
    overlay = untrusted.hostile_overlay(graph)
    view.update(overlay)
    state = check_view(view)
    # every node has its state (all were visited) and every edge its count: none was dropped
    assert len(state["nodes"]) == len(graph.nodes)
    assert state["nodes"][graph[HOSTILE[4]].dom_id] == "current"
    assert state["nodes"][graph[HOSTILE[7]].dom_id] == "failed"
    for edge in graph.edges:
        assert state["edges"][safe_dom_id(edge.dom_id)] == 3, edge
    assert state["items"] == {
        graph[HOSTILE[3]].dom_id: "1/2",
        graph[HOSTILE[1]].dom_id: "1/?",
    }
    # names go to the page as they are (on one line), to be written as text
    assert view.picture.names == {
        node.dom_id: clean(node.label).replace("\n", " ") for node in graph.nodes
    }


def test_the_mermaid_fallback_of_the_view_is_safe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz
    graph = untrusted.hostile_graph()
    view = GraphView(graph)
    assert not view.uses_svg
    assert view.mermaid is not None
    (output,) = view.mermaid.outputs
    text = output["data"]["text/vnd.mermaid"]
    assert text == to_mermaid(graph)
    check_mermaid(text)
    view.update(untrusted.hostile_overlay(graph))
    assert view.mermaid.outputs == (output,)  # drawn once; the state goes to a line of text
    ids = {node.dom_id for node in graph.nodes}
    assert set(view.picture.names) == ids and set(view.state["nodes"]) == ids
    assert all(untrusted.SAFE_ID.fullmatch(key) for key in view.state["edges"])


def hostile_trace() -> Trace:
    """A trace built in memory over the hostile graph, with hostile kinds, names and values."""
    graph = untrusted.hostile_graph()
    ids = [node.id for node in graph.nodes]
    steps = []
    kinds = ["start", HOSTILE[1], "prep", HOSTILE[0], "transition", HOSTILE[2], "error"]
    for number, kind in enumerate(kinds, 1):
        node_id = ids[number % len(ids)]
        value: Any = HOSTILE[(number + 3) % len(HOSTILE)]
        steps.append(
            TraceStep(
                step=number,
                kind=kind,
                node_id=node_id,
                name=graph[node_id].name,
                path=(HOSTILE[0], HOSTILE[number % len(HOSTILE)]),
                value=value,
                params={HOSTILE[1]: HOSTILE[2]},
                target_id=ids[(number + 1) % len(ids)] if kind == "transition" else None,
                shared={HOSTILE[number % len(HOSTILE)]: HOSTILE[1], HOSTILE[0]: [HOSTILE[2]]},
            )
        )
    return Trace(steps, graph)


def test_replay_of_a_hostile_trace_shows_every_string_as_text(dot_path: str) -> None:
    trace = hostile_trace()
    replay = Replay(trace)
    for step in range(1, len(trace) + 1):
        replay.show(step)
        record = trace.steps[step - 1]
        event = elements(replay.event.value)
        assert {tag for tag, _ in event.tags} <= {"div", "b", "code"}
        event_text = "".join(event.text)
        assert record.kind in event_text and record.name in event_text
        shared = elements(replay.shared.value)
        assert {tag for tag, _ in shared.tags} <= {"table", "tbody", "tr", "td", "code"}
        assert HOSTILE[1] in "".join(shared.text)
        check_view(replay.view)
    assert replay.slider.value == len(trace)


def test_an_id_cannot_close_a_tag_or_add_css_rules(dot_path: str) -> None:
    """Ids without quotes: valid DOT even when written raw, so they reach the view's state."""
    breakout, rules_out = "</style><img src=x onerror=alert(1)>", "} * { display:none } #x {"
    root = GraphNode(breakout, "root", "root", "flow", BaseNode(), None, False, False, rules_out)
    node = GraphNode(rules_out, "node", "node", "node", BaseNode(), breakout, True, True)
    view = GraphView(Graph([root, node], []))
    view.update(Overlay(visits={breakout: 1, rules_out: 1}, current=rules_out))
    assert view.uses_svg
    state = check_view(view)
    assert sorted(state["nodes"].values()) == ["current", "visited"]
