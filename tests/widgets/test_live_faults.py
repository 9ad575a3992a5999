"""The live view names the node where a run failed or was interrupted, from the error event."""

from __future__ import annotations

from typing import Any

import pytest

from pocketflow import Flow, Node, observe
from pocketflow_widgets import LiveRun


class Interrupted(Node):
    def exec(self, prep_res: Any) -> None:
        raise KeyboardInterrupt


class Broken(Node):
    def exec(self, prep_res: Any) -> None:
        raise ValueError("broken")


def test_an_interrupted_live_run_names_the_node() -> None:
    first, stop = Node(name="first"), Interrupted(name="stop")
    first >> stop
    live = LiveRun(Flow(start=first, name="main"), display_widget=False)
    with pytest.raises(KeyboardInterrupt):
        live.run({})
    assert live.interrupted
    assert live.error_event is not None and live.error_event.node is stop
    assert live.failed_at == "stop"
    assert live.overlay.failed == "stop"


def test_a_failure_in_a_node_wired_after_the_view_was_made_is_named() -> None:
    first = Node(name="first")
    live = LiveRun(Flow(start=first, name="main"), display_widget=False)
    broken = Broken(name="broken")
    first >> broken  # a later cell wires a new edge
    with pytest.raises(ValueError):
        live.run({})
    assert not live.interrupted
    assert live.error_event is not None and live.error_event.node is broken
    assert live.failed_at == "broken"


def test_a_failure_that_no_node_reports_names_no_node() -> None:
    def observer(event: Any) -> None:
        if event.kind == "exec":
            raise RuntimeError("the observer broke")

    live = LiveRun(Flow(start=Node(name="only")), display_widget=False)
    with pytest.raises(RuntimeError), observe(observer):
        live.run({})
    assert live.error_event is None and live.failed_at is None
    assert isinstance(live.error, RuntimeError)


def test_a_new_run_forgets_the_last_error() -> None:
    flow = Flow(start=Broken(name="broken"))
    live = LiveRun(flow, display_widget=False)
    with pytest.raises(ValueError):
        live.run({})
    flow.start(Node(name="fixed"))
    live.run({})
    assert live.error is None and live.error_event is None and live.failed_at is None


def test_a_live_run_draws_a_node_wired_after_the_view_was_made() -> None:
    first = Node(name="first")
    live = LiveRun(Flow(start=first, name="main"), display_widget=False)
    broken = Broken(name="broken")
    first >> broken
    with pytest.raises(ValueError):
        live.run({})
    broken_id = live.graph.find(broken)
    assert broken_id is not None and live.overlay.failed == broken_id
    assert live.overlay.visits == {"main": 1, "first": 1, broken_id: 1}
    assert live.view.graph is live.graph and live.view.widget in live.widget.children


def test_a_live_run_counts_only_its_own_run_as_its_trace_does() -> None:
    helper = Node(name="helper")

    class Delegate(Node):
        def exec(self, prep_res: Any) -> None:
            Flow(start=helper, name="inner").run({})  # a run of its own

    delegate = Delegate(name="delegate")
    delegate >> helper
    live = LiveRun(Flow(start=delegate, name="main"), display_widget=False)
    live.run({})
    helper_id = live.graph.id_of(helper)
    assert live.overlay.visits[helper_id] == 1
    assert live.trace.overlay().visits[helper_id] == 1


def test_a_live_run_can_grow_its_timeline_under_the_graph() -> None:
    import asyncio

    from pocketflow import AsyncFlow, AsyncParallelBatchNode

    class Items(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> Any:
            return [1, 2, 3]

        async def exec_async(self, item: int) -> Any:
            await asyncio.sleep(0)
            return item

    live = LiveRun(AsyncFlow(start=Items(name="items"), name="main"), display_widget=False,
                   interval=0, timeline=True)
    asyncio.run(live.run_async({}))
    assert live.timeline is not None and live.timeline.widget in live.widget.children
    labels = [lane["label"] for lane in live.timeline.timeline.lanes]
    assert labels == ["main", "items", "item 0", "item 1", "item 2"]
    assert live.timeline.updates > 1  # it grew during the run, not only at the end
    assert live.timeline.timeline.running is False
