"""Timelines of recorded runs: lanes per node run and item, phases, waiting, folding."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pocketflow import (
    AsyncBatchFlow,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BatchNode,
    Flow,
    Node,
)
from pocketflow.timeline import Bar, Timeline, build_timeline
from pocketflow.trace import Trace, arecord, record


def lanes(timeline: Timeline) -> list[tuple[str, int, str]]:
    return [(lane.label, lane.depth, lane.kind) for lane in timeline.lanes]


def bars(timeline: Timeline, label: str, kind: str | None = None) -> list[Bar]:
    row = next(lane.row for lane in timeline.lanes if lane.label == label)
    return [bar for bar in timeline.bars_of(row) if kind is None or bar.kind == kind]


class Sleep(AsyncNode):
    """Waits ``self.delay`` seconds in exec."""

    def __init__(self, delay: float, name: str) -> None:
        super().__init__(name=name)
        self.delay = delay

    async def exec_async(self, prep_res: Any) -> Any:
        await asyncio.sleep(self.delay)


def test_a_node_run_is_a_lane_with_its_phases_in_order() -> None:
    first, second = Node(name="first"), Node(name="second")
    first >> second
    timeline = build_timeline(record(Flow(start=first, name="main"), {}))
    assert lanes(timeline) == [("main", 0, "run"), ("first", 1, "run"), ("second", 1, "run")]
    phases = bars(timeline, "first")
    assert [bar.kind for bar in phases] == ["prep", "exec", "post"]
    assert all(bar.state == "done" and bar.end is not None for bar in phases)
    assert phases[0].end == phases[1].start and phases[1].end == phases[2].start
    (flow_exec,) = bars(timeline, "main", "exec")
    assert flow_exec.start <= phases[0].start and flow_exec.end >= phases[2].end  # type: ignore[operator]
    assert timeline.end >= flow_exec.end  # type: ignore[operator]


def test_nested_flows_group_their_runs_under_them() -> None:
    inner = Flow(start=Node(name="leaf"), name="inner")
    inner >> Node(name="after")
    timeline = build_timeline(record(Flow(start=inner, name="outer"), {}))
    assert lanes(timeline) == [
        ("outer", 0, "run"),
        ("inner", 1, "run"),
        ("leaf", 2, "run"),
        ("after", 1, "run"),
    ]


def test_a_node_in_a_loop_gets_a_lane_per_run() -> None:
    class Again(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["n"] = shared.get("n", 0) + 1
            return "again" if shared["n"] < 3 else "done"

    node = Again(name="again")
    node - "again" >> node
    node - "done" >> None
    timeline = build_timeline(record(Flow(start=node, name="loop"), {}))
    assert [label for label, _, _ in lanes(timeline)] == ["loop", "again", "again", "again"]
    starts = [bars(timeline, "loop")[0].start] + [
        timeline.bars_of(row)[0].start for row in (1, 2, 3)
    ]
    assert starts == sorted(starts)


def test_batch_items_get_lanes_with_a_bar_per_try() -> None:
    class Items(BatchNode):
        def prep(self, shared: Any) -> Any:
            return ["a", "b"]

        def exec(self, item: str) -> Any:
            if item == "b" and self.cur_retry == 0:
                raise ValueError("flaky")
            return item.upper()

    timeline = build_timeline(record(Flow(start=Items(max_retries=2, name="items")), {}))
    assert lanes(timeline)[1:] == [
        ("items", 1, "run"),
        ("item 0", 2, "item"),
        ("item 1", 2, "item"),
    ]
    assert [(bar.kind, bar.state) for bar in bars(timeline, "item 1")] == [
        ("try", "failed"),
        ("try", "done"),
    ]
    (item_a,) = bars(timeline, "item 0")
    first_try, second_try = bars(timeline, "item 1")
    assert item_a.end == first_try.start  # one after another
    assert first_try.end == second_try.start
    assert "'B'" in second_try.detail and "failed: ValueError('flaky')" in first_try.detail


class Parallel(AsyncParallelBatchNode):
    async def prep_async(self, shared: Any) -> Any:
        return list(range(shared["items"]))

    async def exec_async(self, item: int) -> Any:
        await asyncio.sleep(0.01)
        return item


def test_parallel_items_start_together_and_queued_ones_wait_for_a_slot() -> None:
    unbounded = asyncio.run(arecord(AsyncFlow(start=Parallel(name="all")), {"items": 4}))
    timeline = build_timeline(unbounded)
    starts = {bars(timeline, f"item {i}", "try")[0].start for i in range(4)}
    assert len(starts) == 1  # all at once
    assert all(not bars(timeline, f"item {i}", "wait") for i in range(4))

    bounded = asyncio.run(
        arecord(AsyncFlow(start=Parallel(max_concurrency=2, name="two")), {"items": 4})
    )
    timeline = build_timeline(bounded)
    assert [bool(bars(timeline, f"item {i}", "wait")) for i in range(4)] == [
        False,
        False,
        True,
        True,
    ]
    (wait,) = bars(timeline, "item 2", "wait")
    first_two_ends = sorted(bars(timeline, f"item {i}", "try")[0].end for i in range(2))  # type: ignore[type-var]
    assert wait.state == "waiting" and wait.end == first_two_ends[0]
    assert bars(timeline, "item 2", "try")[0].start == wait.end


def test_batch_flow_runs_are_lanes_with_their_nodes_under_them() -> None:
    class Each(AsyncBatchFlow):
        async def prep_async(self, shared: Any) -> Any:
            return [{"i": 0}, {"i": 1}]

    class EachAtOnce(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Any) -> Any:
            return [{"i": 0}, {"i": 1}]

    for kind in (Each, EachAtOnce):
        flow = kind(start=Sleep(0.01, name="work"), name="each")
        timeline = build_timeline(asyncio.run(arecord(flow, {})))
        assert lanes(timeline) == [
            ("each", 0, "run"),
            ("item 0", 1, "item"),
            ("work", 2, "run"),
            ("item 1", 1, "item"),
            ("work", 2, "run"),
        ]
        run_0, run_1 = bars(timeline, "item 0")[0], bars(timeline, "item 1")[0]
        if kind is Each:
            assert run_1.start >= run_0.end  # type: ignore[operator]
        else:
            assert run_1.start < run_0.end  # type: ignore[operator]


def test_a_failed_run_marks_the_phase_it_failed_in() -> None:
    class Fails(Node):
        def exec(self, prep_res: Any) -> Any:
            raise ValueError("no")

    with pytest.raises(ValueError) as raised:
        record(Flow(start=Fails(name="bad"), name="main"), {})
    timeline = build_timeline(raised.value.trace)  # type: ignore[attr-defined]
    assert [(bar.kind, bar.state) for bar in bars(timeline, "bad")] == [
        ("prep", "done"),
        ("exec", "failed"),
    ]


def test_a_run_still_going_shows_as_running() -> None:
    first, second = Node(name="first"), Node(name="second")
    first >> second
    steps = list(record(Flow(start=first, name="main"), {}))
    cut = next(i for i, s in enumerate(steps) if s.kind == "prep" and s.name == "second") + 1
    trace = Trace(steps[:cut], record(Flow(start=first, name="main"), {}).graph)
    timeline = build_timeline(trace)
    assert bars(timeline, "second")[-1].kind == "exec"
    assert bars(timeline, "second")[-1].state == "running"
    assert bars(timeline, "second")[-1].end is None


def test_ten_thousand_items_fold_into_a_few_hundred_marks() -> None:
    trace = asyncio.run(arecord(AsyncFlow(start=Parallel(name="many")), {"items": 10_000}))
    timeline = build_timeline(trace, max_items=20, bins=60)
    assert len(timeline.bars) <= 300
    folded = [lane for lane in timeline.lanes if lane.kind == "items"]
    assert [lane.label for lane in folded] == ["9980 more items"]
    busy = bars(timeline, "9980 more items")
    assert busy and len(busy) <= 60
    assert max(bar.running for bar in busy) <= 9980
    assert all(bar.kind == "busy" for bar in busy)


def test_a_timeline_survives_saving_and_loading(tmp_path: Any) -> None:
    flow = AsyncFlow(start=Parallel(max_concurrency=2, name="two"))
    trace = asyncio.run(arecord(flow, {"items": 3}))
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = build_timeline(Trace.load(path))
    assert lanes(loaded) == lanes(build_timeline(trace))
    assert [(bar.lane, bar.kind, bar.state) for bar in loaded.bars] == [
        (bar.lane, bar.kind, bar.state) for bar in build_timeline(trace).bars
    ]
    assert any(bar.kind == "wait" for bar in loaded.bars)  # the limit came with the file


def test_old_traces_without_times_give_an_empty_timeline() -> None:
    trace = record(Flow(start=Node(name="a"), name="main"), {})
    old = Trace([step._replace(time=None, scope=None, parent=None) for step in trace], trace.graph)
    assert build_timeline(old).lanes == []


def test_a_moment_maps_to_the_step_a_replay_should_show() -> None:
    trace = record(Flow(start=Node(name="a"), name="main"), {})
    timeline = build_timeline(trace)
    (exec_bar,) = bars(timeline, "a", "exec")
    step = timeline.step_at(trace.steps, exec_bar.start)
    assert trace.steps[step - 1].kind == "prep" and trace.steps[step - 1].name == "a"
