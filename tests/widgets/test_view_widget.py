"""The graph widget sends its layout once, then only what changed.

Every widget here talks through a comm that records what it would send to the browser, so the
tests check the messages themselves: the first one carries the SVG, later ones only ``patch``,
with the entries that changed, and a page that asks for the widget again gets all of it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from pocketflow import BatchNode, Flow, Node
from pocketflow.graph import Overlay, build_graph
from pocketflow.palette import STATES, TAKEN
from pocketflow.trace import record
from pocketflow_widgets import LiveRun, Replay
from pocketflow_widgets.view import (
    EMPTY_STATE,
    GraphView,
    GraphWidget,
    _checked_styles,
    palette_styles,
)

#: The most bytes one update may take, whatever the graph's size (the design's "a few KiB").
UPDATE_BYTES = 4 * 1024


@dataclass
class Message:
    """One message a widget sent: its comm, the kind ("comm_open", "comm_msg"), its data."""

    comm_id: str
    kind: str
    data: dict[str, Any]

    @property
    def size(self) -> int:
        """Its size as the kernel sends it: the data as JSON, in UTF-8."""
        return len(json.dumps(self.data, ensure_ascii=False).encode("utf-8"))

    @property
    def state(self) -> dict[str, Any]:
        """The traits it carries."""
        return dict(self.data.get("state", {}))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """What every widget made in the test sends, in order."""
    messages: list[Message] = []

    class Recording(BaseComm):
        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            messages.append(Message(self.comm_id, msg_type, data or {}))

    monkeypatch.setattr(comm, "create_comm", Recording)
    return messages


def of(widget: GraphWidget, sent: list[Message]) -> list[Message]:
    """The messages of ``widget``."""
    return [message for message in sent if message.comm_id == widget.comm.comm_id]


class Count(Node):
    def post(self, shared: dict[str, int], prep_res: Any, exec_res: Any) -> str:
        shared["n"] = shared.get("n", 0) + 1
        return "again" if shared["n"] < 5 else "done"


def loop_flow() -> Flow:
    count = Count(name="count")
    count - "again" >> count
    count - "done" >> Node(name="report")
    return Flow(start=count, name="loop")


class Step(Node):
    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
        return "default"


def chain(nodes: int) -> Flow:
    """``nodes`` nodes in a chain, with a skip edge every tenth node (never taken)."""
    steps = [Step(name=f"step {index}") for index in range(nodes)]
    for index, (here, there) in enumerate(itertools.pairwise(steps)):
        here >> there
        if index % 10 == 0 and index + 2 < nodes:
            here - "skip" >> steps[index + 2]
    return Flow(start=steps[0], name="chain")


def test_the_layout_is_sent_once_and_each_update_only_its_patch(
    dot_path: str, sent: list[Message]
) -> None:
    graph = build_graph(loop_flow())
    view = GraphView(graph)
    opened, *rest = of(view.picture, sent)
    assert opened.kind == "comm_open" and rest == []
    assert opened.state["svg"] == view.picture.svg and view.picture.svg.startswith("<svg")
    assert opened.state["patch"] == {"reset": True, **EMPTY_STATE}
    view.update(Overlay(visits={"loop": 1, "count": 1}, current="count"))
    view.update(Overlay(visits={"loop": 1, "count": 2}, current="count",
                        edges={("count", "again", "count"): 1}))  # fmt: skip
    updates = of(view.picture, sent)[1:]
    assert [message.state.keys() for message in updates] == [{"patch"}, {"patch"}]
    assert updates[0].state["patch"] == {
        "run": True,
        "nodes": {"cluster__loop": "visited", "node__count": "current"},
        "edges": {"edge__loop__start__count": 1},
    }
    # the second run of count only counts the loop: the start line's count is unchanged
    assert updates[1].state["patch"] == {"edges": {"edge__count__count": 1}}


def test_an_update_that_changes_nothing_sends_nothing(dot_path: str, sent: list[Message]) -> None:
    view = GraphView(build_graph(loop_flow()))
    overlay = Overlay(visits={"loop": 1, "count": 1}, current="count")
    view.update(overlay)
    view.update(Overlay(visits={"loop": 1, "count": 1}, current="count"))
    view.update(Overlay())  # no run: as the view began
    view.update(Overlay())
    patches = [message.state["patch"] for message in of(view.picture, sent)[1:]]
    assert len(patches) == 2
    assert patches[1] == {
        "run": False,
        "nodes": {"cluster__loop": None, "node__count": None},
        "edges": {"edge__loop__start__count": None},
    }


def test_a_page_that_asks_again_gets_the_whole_state(dot_path: str, sent: list[Message]) -> None:
    flow = loop_flow()
    live = LiveRun(flow, display_widget=False)
    live.run({})
    picture = live.view.picture
    # what a page loaded again (or a second page) asks of the kernel
    picture._handle_msg({"content": {"data": {"method": "request_state"}}, "buffers": []})
    answer = of(picture, sent)[-1].state
    assert answer["svg"] == picture.svg
    assert answer["patch"] == {"reset": True, **picture.state}
    assert picture.state["edges"]["edge__count__count"] == 4
    assert picture.state["nodes"]["node__report"] == "visited"


def test_replay_moving_back_removes_what_the_later_steps_added(
    dot_path: str, sent: list[Message]
) -> None:
    flow = loop_flow()
    replay = Replay(record(flow, {}), flow)
    assert replay.view.state["edges"]["edge__count__count"] == 4
    replay.show(3)  # count has just started, once
    patch = of(replay.view.picture, sent)[-1].state["patch"]
    assert patch["edges"]["edge__count__count"] is None
    assert patch["nodes"]["node__report"] is None
    assert replay.view.state["nodes"] == {"cluster__loop": "visited", "node__count": "current"}


@pytest.mark.parametrize("nodes", [90, 200])
def test_every_update_of_a_live_run_is_a_few_hundred_bytes(
    dot_path: str, sent: list[Message], nodes: int
) -> None:
    """Each event of a run updates the view (``interval=0``), which draws the whole chain (90
    nodes) or an overview of it; either way, an update sends only what the event changed."""
    live = LiveRun(chain(nodes), interval=0, display_widget=False)
    live.run({})
    first, *updates = of(live.view.picture, sent)
    assert len(updates) >= min(nodes, 30)  # the run was followed node by node
    assert all(message.state.keys() == {"patch"} for message in updates)
    largest = max(message.size for message in updates)
    assert largest <= UPDATE_BYTES, largest
    assert first.size > 10 * largest  # the layout went once, at the start


def test_batch_progress_and_the_failed_node_are_in_the_state(dot_path: str) -> None:
    class Double(BatchNode):
        def prep(self, shared: Any) -> list[int]:
            return [1, 2, 3]

    class Broken(Node):
        def exec(self, prep_res: Any) -> None:
            raise KeyError("missing")

    double = Double(name="double")
    double >> Broken(name="broken")
    live = LiveRun(Flow(start=double, name="main"), display_widget=False)
    with pytest.raises(KeyError):
        live.run({})
    state = live.view.state
    assert state["items"] == {"node__double": "3/3"}
    assert state["nodes"]["node__broken"] == "failed"
    assert state["nodes"]["node__double"] == "visited"


def test_the_picture_is_named_for_the_flow_and_styled_by_the_palette(dot_path: str) -> None:
    view = GraphView(build_graph(loop_flow()))
    assert view.uses_svg and view.widget is view.picture
    assert view.picture.label == "Graph of the Flow loop"
    assert view.picture.names == {
        "cluster__loop": "loop",
        "node__count": "count",
        "node__report": "report",
    }
    styles = view.picture.styles
    for state, style in STATES.items():
        assert styles[state]["fill"] == style.fill and styles[state]["word"] == style.word
        assert styles[state]["icon"] == style.icon and styles[state]["dash"] == style.dasharray
    assert styles["taken"]["stroke"] == TAKEN.stroke
    overview = GraphView(build_graph(chain(2000)))
    assert overview.picture.label == "Graph of the Flow chain (overview of 2,001 nodes)"


def test_a_style_value_that_is_not_one_is_refused() -> None:
    good = palette_styles()
    for name, value in [("fill", "red; background: url(x)"), ("width", "3px"), ("dash", "1}")]:
        bad = {**good, "current": {**good["current"], name: value}}
        with pytest.raises(ValueError, match=rf"current\.{name}"):
            _checked_styles(bad)


def test_without_graphviz_mermaid_is_drawn_once_and_the_state_still_sent(
    monkeypatch: pytest.MonkeyPatch, sent: list[Message]
) -> None:
    import pocketflow_widgets.view as view_module

    monkeypatch.setattr(view_module, "render_svg", lambda dot_text: None)
    live = LiveRun(loop_flow(), display_widget=False)
    view = live.view
    assert not view.uses_svg and view.mermaid is not None
    assert view.widget.children == (view.mermaid, view.picture)
    drawn = view.mermaid.outputs
    live.run({})
    assert view.mermaid.outputs == drawn
    assert not [message for message in sent if message.comm_id == view.mermaid.comm.comm_id][1:]
    assert view.state["edges"]["edge__count__count"] == 4
    assert all(message.state.keys() == {"patch"} for message in of(view.picture, sent)[1:])
