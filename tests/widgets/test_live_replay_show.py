"""Live runs, replay of traces, and the inline picture."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import pocketflow_widgets.view as view_module
from pocketflow import AsyncFlow, AsyncParallelBatchNode, BatchNode, Flow, Node
from pocketflow.graph import Overlay
from pocketflow.trace import Trace, record
from pocketflow_widgets import LiveRun, Replay, arun_live, run_live, show
from pocketflow_widgets.view import GraphView


class Count(Node):
    def post(self, shared: dict[str, int], prep_res: Any, exec_res: Any) -> str:
        shared["n"] = shared.get("n", 0) + 1
        return "again" if shared["n"] < 5 else "done"


def loop_flow() -> Flow:
    count = Count(name="count")
    count - "again" >> count
    count - "done" >> None
    return Flow(start=count, name="loop")


def test_a_live_run_counts_visits_and_edges_and_keeps_the_trace() -> None:
    live = LiveRun(loop_flow(), display_widget=False)
    assert live.run({}) == "done"
    count_id = live.graph.id_of(live.flow.start_node)
    assert live.overlay.visits[count_id] == 5
    assert live.overlay.edges[(count_id, "again", count_id)] == 4
    assert live.view.state["edges"]["edge__count__count"] == 4
    assert len(live.trace) == len(live.recorder.trace.steps) > 20
    assert "step" in live.status.value


def test_live_updates_are_throttled_but_the_last_state_is_always_drawn() -> None:
    live = LiveRun(loop_flow(), interval=3600, display_widget=False)
    live.run({})
    # one draw when the run begins, at most one during it, one at the end
    assert live.renders <= 3
    assert live.view.state["edges"]["edge__count__count"] == 4


def test_a_failed_live_run_raises_and_shows_where() -> None:
    class Broken(Node):
        def exec(self, prep_res: Any) -> None:
            raise KeyError("missing")

    first = Node(name="first")
    first >> Broken(name="broken")
    live = LiveRun(Flow(start=first, name="main"), display_widget=False)
    with pytest.raises(KeyError):
        live.run({})
    assert live.overlay.failed == "broken"
    assert "failed in <b>broken</b>" in live.status.value
    assert live.trace.steps[-1].kind == "error"


def test_batch_progress_shows_items_done_of_total() -> None:
    class Double(BatchNode):
        def prep(self, shared: Any) -> list[int]:
            return [1, 2, 3]

    live = LiveRun(Flow(start=Double(name="double")), display_widget=False)
    live.run({})
    assert live.overlay.items["double"] == (3, 3)


def test_arun_live_runs_async_flows_in_the_running_loop() -> None:
    class Many(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [1, 2, 3, 4]

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0.001)
            return item

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            shared["sum"] = sum(exec_res)
            return "done"

    shared: dict[str, Any] = {}

    async def cell() -> Any:
        return await arun_live(AsyncFlow(start=Many(name="many")), shared)

    assert asyncio.run(cell()) == "done"
    assert shared == {"sum": 10}


def test_run_live_runs_an_async_flow_from_sync_code() -> None:
    class Many(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [1, 2]

    assert run_live(AsyncFlow(start=Many()), {}) is None


# -- replay -----------------------------------------------------------------------------------


def test_replay_shows_the_graph_event_and_shared_as_of_any_step(tmp_path: Path) -> None:
    trace = record(loop_flow(), {}, snapshots=True)
    replay = Replay(trace)
    assert replay.slider.max == len(trace)
    last_view = replay.view.state
    replay.slider.value = 3  # the count node has started once, nothing written yet
    assert "<b>#3</b>" in replay.event.value and "<b>start</b>" in replay.event.value
    assert replay.view.state != last_view
    assert "edge__count__count" not in replay.view.state["edges"]
    assert "<code>n</code>" not in replay.shared.value
    replay.next_button.click()
    replay.next_button.click()
    replay.next_button.click()
    assert replay.slider.value == 6
    assert "<code>n</code></td><td><code>1</code>" in replay.shared.value  # post wrote n
    replay.previous_button.click()
    assert replay.slider.value == 5
    replay.show(10_000)
    assert replay.slider.value == len(trace) and replay.next_button.disabled


def test_replay_of_a_trace_loaded_from_json_lines(tmp_path: Path) -> None:
    flow = loop_flow()
    trace = record(flow, {})
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = Trace.load(path)
    on_its_own = Replay(loaded)
    with_the_flow = Replay(loaded, flow)

    assert on_its_own.view.picture.svg == with_the_flow.view.picture.svg
    assert on_its_own.view.state == with_the_flow.view.state
    assert on_its_own.view.state["edges"]["edge__count__count"] == 4
    assert "recorded without snapshots" in on_its_own.shared.value


# -- show and the view ------------------------------------------------------------------------


def test_show_gives_svg_or_mermaid_and_text() -> None:
    picture = show(loop_flow())
    bundle = picture._repr_mimebundle_()
    assert "text/plain" in bundle
    assert ("image/svg+xml" in bundle) != ("text/vnd.mermaid" in bundle)


def test_show_lays_a_trace_over_the_flow() -> None:
    flow = loop_flow()
    trace = record(flow, {})
    assert "again ×4" in repr(show(flow, trace))
    assert "again ×4" in repr(show(trace=trace))
    with pytest.raises(TypeError, match="needs a flow, a trace, or both"):
        show()


def test_the_view_falls_back_on_mermaid_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(view_module, "render_svg", lambda dot_text: None)
    live = LiveRun(loop_flow(), display_widget=False)
    assert not live.view.uses_svg
    live.run({})
    assert live.overlay.visits  # the run was followed; Mermaid is drawn by the front end


def test_two_views_of_one_flow_keep_their_own_state() -> None:
    flow = loop_flow()
    first, second = GraphView(show(flow).graph), GraphView(show(flow).graph)
    first.update(Overlay(visits={"count": 1}, current="count"))
    assert first.state["nodes"] == {"node__count": "current"}
    assert second.state["nodes"] == {} and first.widget is not second.widget
