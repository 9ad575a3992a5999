"""Small public contracts that the larger tests pass through without pinning.

Each test here would have caught a change (found by mutating the code) that every other test
let through.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pocketflow import BaseNode, Flow, Node
from pocketflow.graph import Graph, build_graph
from pocketflow.text import to_text
from pocketflow.trace import TraceStep, record, to_json


def test_a_plain_base_nodes_exec_result_reaches_post() -> None:
    class Double(BaseNode):
        def prep(self, shared: Any) -> Any:
            return shared["n"]

        def exec(self, prep_res: Any) -> Any:
            return prep_res * 2

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["doubled"] = exec_res
            return "done"

    shared = {"n": 21}
    assert Double().run(shared) == "done"
    assert shared["doubled"] == 42
    shared = {"n": 4}
    Flow(start=Double()).run(shared)
    assert shared["doubled"] == 8


def test_a_flow_shows_its_graph_with_a_plain_text_form() -> None:
    flow = Flow(start=Node(name="hello"), name="main")
    bundle = Flow._repr_mimebundle_(flow)
    assert bundle["text/plain"] == to_text(flow)
    assert {"image/svg+xml", "text/vnd.mermaid"} & bundle.keys()


def test_a_graph_needs_its_root_node() -> None:
    with pytest.raises(ValueError, match="at least its root node"):
        Graph([], [])


def test_graph_and_event_reprs_say_what_they_hold() -> None:
    first = Node(name="first")
    first >> Node(name="second")
    flow = Flow(start=first, name="main")
    assert repr(build_graph(flow)) == "<Graph 'main': 3 nodes, 1 edges>"
    events = list(flow.steps({}))
    assert repr(events[0]) == "<Event #1 start main value=None>"
    assert repr(events[2]) == "<Event #3 start main/first value=None>"
    transition = next(event for event in events if event.kind == "transition")
    assert repr(transition) == "<Event #7 transition main/first value=None target='second'>"


def test_dicts_in_traces_keep_their_json_form() -> None:
    assert to_json({"a": {"b": [1, 2]}}) == {"a": {"b": [1, 2]}}
    assert to_json({1: "one"}) == {"__dict__": [[1, "one"]]}
    assert to_json({"__tuple__": 1}) == {"__dict__": [["__tuple__", 1]]}  # not mistaken for a mark
    trace = record(Flow(start=Node(name="a"), name="f"), {"x": {"k": 1}}, snapshots=True)
    first_step = json.loads(trace.to_jsonl().splitlines()[1])
    assert first_step["shared"] == {"x": {"k": 1}}
    assert first_step["params"] == {}


def test_trace_steps_compare_by_their_json_form_and_never_equal_other_things() -> None:
    step = TraceStep(1, "start", "a", "a", (), params={"x": 1, "y": 2})
    same = TraceStep(1, "start", "a", "a", (), params={"y": 2, "x": 1})
    assert step == same and hash(step) == hash(same)  # key order does not matter
    assert step != TraceStep(2, "start", "a", "a", (), params={"x": 1, "y": 2})
    assert step.__eq__((1, "start")) is NotImplemented
    assert step != (1, "start", "a", "a", (), None, {"x": 1, "y": 2})
    assert (step == 1) is False
