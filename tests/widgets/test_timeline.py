"""The Timeline widget: what it will draw, picking bars and moments, live growth, the replay link.

Everything is asserted on the widget's traits (the lanes, marks and ticks the page draws, the
selection) and on the messages it would send to the page, replayed by a stand-in of the page's
model. The browser test proves that the page draws them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketflow import (
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchNode,
    BatchNode,
    Event,
    Flow,
    Node,
    observe,
)
from pocketflow.timeline import Bar
from pocketflow.timeline import Timeline as Layout
from pocketflow.trace import Trace, arecord, record
from pocketflow_widgets import LiveTimeline, Replay, Timeline, TimelineReplay, timeline_replay
from pocketflow_widgets.timeline import (
    BAR_KINDS,
    BAR_STATES,
    LANE_KINDS,
    MAX_LABEL,
    Pick,
    apply_splices,
    drawing_of,
    splices,
    ticks_for,
)

HOSTILE = '</text><script>window.__pwned = 1</script><img src=x onerror="alert(1)">'


class Answer(Node):
    """Returns 42 from exec and "done" from post."""

    def exec(self, prep_res: Any) -> Any:
        return 42

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared["answer"] = exec_res
        return "done"


class Count(Node):
    """Loops ``shared["limit"]`` times."""

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared["n"] = shared.get("n", 0) + 1
        return "again" if shared["n"] < shared["limit"] else "done"


def loop_flow() -> Flow:
    count = Count(name="count")
    count - "again" >> count
    count - "done" >> None
    return Flow(start=count, name="loop")


class Parallel(AsyncParallelBatchNode):
    async def prep_async(self, shared: Any) -> Any:
        return list(range(shared["items"]))

    async def exec_async(self, item: int) -> Any:
        await asyncio.sleep(0)
        return item


def chain(*names: str) -> Flow:
    nodes = [Answer(name=name) for name in names]
    for here, there in itertools.pairwise(nodes):
        here - "done" >> there
    return Flow(start=nodes[0], name="main")


def marks_of(timeline: Timeline, label: str) -> list[dict[str, Any]]:
    row = next(index for index, lane in enumerate(timeline.lanes) if lane["label"] == label)
    return [mark for mark in timeline.marks if mark["lane"] == row]


# -- what is drawn ------------------------------------------------------------------------------


def test_a_lane_per_node_run_with_a_mark_per_phase() -> None:
    trace = record(chain("first", "second"), {})
    timeline = Timeline(trace)
    assert [(lane["label"], lane["depth"], lane["kind"]) for lane in timeline.lanes] == [
        ("main", 0, "run"),
        ("first", 1, "run"),
        ("second", 1, "run"),
    ]
    phases = marks_of(timeline, "first")
    assert [(mark["kind"], mark["state"]) for mark in phases] == [
        ("prep", "done"),
        ("exec", "done"),
        ("post", "done"),
    ]
    assert phases[0]["end"] == phases[1]["start"] and phases[1]["end"] == phases[2]["start"]
    assert timeline.end == max(step.time for step in trace.steps)
    assert not timeline.running and timeline.hidden_lanes == 0
    assert timeline.selected is None and timeline.selected_step is None
    assert len(timeline.bars) == len(timeline.marks)


def test_nested_flows_are_indented_under_the_flow_that_ran_them() -> None:
    inner = Flow(start=Node(name="leaf"), name="inner")
    inner >> Node(name="after")
    timeline = Timeline(record(Flow(start=inner, name="outer"), {}))
    assert [(lane["label"], lane["depth"]) for lane in timeline.lanes] == [
        ("outer", 0),
        ("inner", 1),
        ("leaf", 2),
        ("after", 1),
    ]


def test_a_bar_tells_its_phase_value_and_duration() -> None:
    timeline = Timeline(record(chain("ask"), {}))
    prep, exec_, post = marks_of(timeline, "ask")
    assert exec_["detail"].startswith("ask: exec (") and exec_["detail"].endswith(" → 42")
    assert " ms)" in exec_["detail"]
    assert post["detail"].endswith(" → 'done'")  # the action post chose
    assert prep["detail"].endswith(" → None")


def test_a_failed_phase_is_marked_failed_with_its_error() -> None:
    class Fails(Node):
        def exec(self, prep_res: Any) -> Any:
            raise ValueError("no luck")

    with pytest.raises(ValueError) as raised:
        record(Flow(start=Fails(name="bad"), name="main"), {})
    timeline = Timeline(raised.value.trace)  # type: ignore[attr-defined]
    bad = marks_of(timeline, "bad")
    assert [(mark["kind"], mark["state"]) for mark in bad] == [("prep", "done"), ("exec", "failed")]
    assert bad[1]["detail"].endswith("failed: ValueError('no luck')")


def test_batch_items_show_their_node_and_queued_items_wait() -> None:
    flow = AsyncFlow(start=Parallel(max_concurrency=2, name="two"), name="main")
    timeline = Timeline(asyncio.run(arecord(flow, {"items": 4})))
    assert [lane["kind"] for lane in timeline.lanes] == ["run", "run"] + ["item"] * 4
    waits = [mark for mark in timeline.marks if mark["kind"] == "wait"]
    assert [timeline.lanes[mark["lane"]]["label"] for mark in waits] == ["item 2", "item 3"]
    assert all(mark["state"] == "waiting" for mark in waits)
    (first_try,) = marks_of(timeline, "item 0")
    assert first_try["detail"].startswith("two › item 0, try 1 → 0 (")


def test_ten_thousand_parallel_items_draw_a_few_hundred_marks() -> None:
    flow = AsyncFlow(start=Parallel(name="many"), name="main")
    timeline = Timeline(asyncio.run(arecord(flow, {"items": 10_000})))
    assert len(timeline.marks) <= 300
    assert len(timeline.lanes) <= 30
    folded = [lane for lane in timeline.lanes if lane["kind"] == "items"]
    assert [lane["label"] for lane in folded] == ["9980 more items"]
    busy = marks_of(timeline, "9980 more items")
    assert busy and all(mark["kind"] == "busy" and mark["running"] >= 1 for mark in busy)
    assert "many › " in busy[0]["detail"] and "of 9980 items running" in busy[0]["detail"]
    # Small enough to send to the page at once.
    assert len(json.dumps(timeline.get_state(["lanes", "marks"]))) < 60_000


def test_past_max_lanes_the_rest_are_counted_not_drawn() -> None:
    timeline = Timeline(record(loop_flow(), {"limit": 40}), max_lanes=10)
    assert len(timeline.lanes) == 10
    assert timeline.hidden_lanes == 41 - 10  # the flow's lane and 40 runs of count
    assert all(mark["lane"] < 10 for mark in timeline.marks)
    assert len(timeline.bars) == len(timeline.marks)


def test_the_axis_ticks_are_round_and_in_ms_or_s() -> None:
    assert [tick["at"] for tick in ticks_for(50_000_000)] == [i * 10_000_000 for i in range(6)]
    assert [tick["label"] for tick in ticks_for(1_200_000)] == [
        "0 ms",
        "0.2 ms",
        "0.4 ms",
        "0.6 ms",
        "0.8 ms",
        "1 ms",
        "1.2 ms",
    ]
    assert [tick["label"] for tick in ticks_for(7_000_000_000)][:3] == ["0 s", "2 s", "4 s"]
    assert ticks_for(0) == [{"at": 0, "label": "0 ms"}]
    for end in (7, 999, 123_456, 10**9 - 1, 10**9, 61 * 10**9):
        found = ticks_for(end)
        assert 3 <= len(found) <= 12 and found[-1]["at"] <= end


# -- untrusted names and values -------------------------------------------------------------------


def test_hostile_names_and_values_stay_plain_text() -> None:
    class Hostile(Node):
        def exec(self, prep_res: Any) -> Any:
            return HOSTILE

    node = Hostile(name=HOSTILE)
    timeline = Timeline(record(Flow(start=node, name="</title><b>flow</b>"), {}))
    assert [lane["label"] for lane in timeline.lanes] == ["</title><b>flow</b>", HOSTILE]
    exec_mark = marks_of(timeline, HOSTILE)[1]
    assert exec_mark["detail"].startswith(f"{HOSTILE}: exec (")
    assert HOSTILE[:40] in exec_mark["detail"]  # the value, cut but not escaped or dropped
    assert {mark["kind"] for mark in timeline.marks} <= set(BAR_KINDS)
    assert {mark["state"] for mark in timeline.marks} <= set(BAR_STATES)
    assert {lane["kind"] for lane in timeline.lanes} <= set(LANE_KINDS)


def test_names_that_json_cannot_carry_are_cleaned_and_cut() -> None:
    timeline = Timeline(record(Flow(start=Node(name="bad \udc80 name" + "x" * 500)), {}))
    label = timeline.lanes[1]["label"]
    assert label.startswith("bad ? name") and len(label) == MAX_LABEL and label.endswith("…")
    json.dumps(timeline.get_state(), ensure_ascii=False).encode("utf-8")  # no surrogate left


def test_a_bar_of_an_unknown_kind_is_refused() -> None:
    trace = record(Node(name="a"), {})
    layout = Layout(lanes=[], bars=[], end=0)
    layout.lanes.append(Timeline(trace).layout_data.lanes[0])
    layout.bars.append(Bar(0, "<img>", 0, 1, "done", "x"))
    with pytest.raises(ValueError, match=r"unknown bar kind '<img>' \(must be one of"):
        drawing_of(layout, trace, trace.graph, 10)


# -- picking -------------------------------------------------------------------------------------


def test_picking_a_bar_selects_it_and_finds_the_step_that_ended_it() -> None:
    trace = record(chain("ask"), {})
    timeline = Timeline(trace)
    seen: list[Pick] = []
    timeline.observe_selection(seen.append)
    index = timeline.marks.index(marks_of(timeline, "ask")[1])  # ask's exec
    picked = timeline.pick(index)
    bar = timeline.bars[index]
    assert picked == Pick(index, bar, bar.end, picked.step) and seen == [picked]  # type: ignore[arg-type]
    assert timeline.selected == index and timeline.selected_time == bar.end
    ended_by = trace.steps[timeline.selected_step - 1]  # type: ignore[operator]
    assert (ended_by.kind, ended_by.name, ended_by.value) == ("exec", "ask", 42)
    assert timeline.selection_text == (
        f"Picked {timeline.marks[index]['detail']} · step {ended_by.step}"
    )


def test_picking_a_moment_selects_no_bar_and_the_step_before_it() -> None:
    trace = record(chain("first", "second"), {})
    timeline = Timeline(trace)
    second_prep = marks_of(timeline, "second")[0]
    picked = timeline.pick(time=second_prep["start"])
    assert picked.index is None and picked.bar is None and timeline.selected is None
    before = trace.steps[picked.step - 1]  # type: ignore[operator]
    assert (before.kind, before.name) == ("start", "second")
    assert timeline.selection_text.startswith("Picked the moment ")
    assert timeline.pick(time=-5).time == 0
    assert timeline.pick(time=10**15).time == timeline.end


def test_removed_callbacks_are_not_called() -> None:
    timeline = Timeline(record(chain("a"), {}))
    seen: list[Pick] = []
    timeline.observe_selection(seen.append)
    timeline.observe_selection(seen.append, remove=True)
    timeline.pick(0)
    assert seen == []


def test_a_bar_out_of_range_says_which_bars_there_are() -> None:
    timeline = Timeline(record(chain("a"), {}))
    with pytest.raises(IndexError, match=r"no bar 99: the timeline draws 6 bars \(0 to 5\)"):
        timeline.pick(99)
    with pytest.raises(TypeError):
        timeline.pick()


def test_picks_from_the_page_are_checked_before_use() -> None:
    timeline = Timeline(record(chain("a"), {}))
    page = timeline._handle_custom_msg
    page({"type": "pick", "index": 2}, [])
    assert timeline.selected == 2
    for bogus in (
        {"type": "pick", "index": 99},
        {"type": "pick", "index": True},
        {"type": "pick", "index": "1"},
        {"type": "pick", "time": float("nan")},
        {"type": "pick", "time": "soon"},
        {"type": "pick"},
        {"type": "other", "index": 1},
        ["pick", 1],
    ):
        page(bogus, [])
        assert timeline.selected == 2 and timeline.selected_time == timeline.bars[2].end
    page({"type": "pick", "time": 1.5}, [])
    assert timeline.selected is None and timeline.selected_time == 1


def test_a_redraw_keeps_the_picked_bar_selected() -> None:
    trace = record(chain("first", "second"), {})
    steps = trace.steps
    cut = next(i for i, s in enumerate(steps) if s.kind == "start" and s.name == "second")
    timeline = Timeline(Trace(steps[:cut], trace.graph))
    first_exec = timeline.marks.index(marks_of(timeline, "first")[1])
    timeline.pick(first_exec)
    timeline.update(trace)
    assert timeline.marks[timeline.selected]["detail"].startswith("first: exec")  # type: ignore[index]


def test_show_step_marks_the_moment_of_a_step() -> None:
    trace = record(chain("a"), {})
    timeline = Timeline(trace)
    timeline.show_step(3)
    assert timeline.marker == trace.steps[2].time
    timeline.show_step(None)
    assert timeline.marker is None


def test_an_empty_timeline_draws_nothing_and_picks_no_step() -> None:
    timeline = Timeline()
    assert timeline.lanes == [] and timeline.marks == [] and timeline.ticks == ticks_for(0)
    assert timeline.pick(time=0).step is None
    old = record(chain("a"), {})
    timeless = Trace([s._replace(time=None, scope=None, parent=None) for s in old], old.graph)
    assert Timeline(timeless).lanes == []


# -- what is sent to the page --------------------------------------------------------------------


class PageModel:
    """A stand-in for the page's model of one widget: a comm that applies what it is sent as
    the widget's ES module does (state updates, and patches of lanes and marks).
    """

    comm_id = "page-model"
    kernel = "a kernel"

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = json.loads(json.dumps(state))
        self.sizes: list[tuple[str, int]] = []
        self.updated: list[set[str]] = []  # the traits each state update carried
        self.resyncs = 0

    def on_msg(self, callback: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, data: dict[str, Any], buffers: Any = None) -> None:
        data = json.loads(json.dumps(data))  # as it travels
        if data["method"] == "update":
            self.state.update(data["state"])
            self.updated.append(set(data["state"]))
            self.sizes.append(("update", len(json.dumps(data))))
        elif data["method"] == "custom" and data["content"]["type"] == "patch":
            patch = data["content"]
            if patch["base"] != self.state["revision"]:
                self.resyncs += 1
                return
            for name in ("lanes", "marks"):
                self.state[name] = apply_splices(self.state[name], patch[name])
            self.state["revision"] = patch["revision"]
            self.sizes.append(("patch", len(json.dumps(data))))


def watched(timeline: Timeline) -> PageModel:
    page = PageModel(timeline.get_state())
    timeline.comm = page
    return page


def drawn(timeline: Timeline) -> dict[str, Any]:
    return json.loads(json.dumps(timeline.get_state(["lanes", "marks", "revision", "end"])))


def test_a_growing_run_sends_only_the_new_marks_and_the_page_keeps_up() -> None:
    names = [f"step {index}" for index in range(30)]
    trace = record(chain(*names), {})
    timeline = Timeline()
    page = watched(timeline)
    runs = [i + 1 for i, s in enumerate(trace.steps) if s.kind == "post" and s.name != "main"]
    for cut in runs:
        timeline.update(Trace(trace.steps[:cut], trace.graph), now=trace.steps[cut - 1].time)
        assert {key: page.state[key] for key in drawn(timeline)} == drawn(timeline)
    assert timeline.patches >= len(runs) - 3  # the first few redraws are whole lists
    whole = sum("marks" in keys for keys in page.updated)
    assert whole == len(runs) - timeline.patches  # a patched list is not sent again
    full = len(json.dumps(timeline.get_state(["marks"])))
    patches = [size for kind, size in page.sizes if kind == "patch"]
    assert patches and max(patches) < full / 5
    timeline.update(trace)
    assert {key: page.state[key] for key in drawn(timeline)} == drawn(timeline)
    assert page.resyncs == 0 and page.state["running"] is False


def test_the_same_trace_again_moves_only_the_axis() -> None:
    trace = record(chain("a"), {})
    timeline = Timeline(trace)
    page = watched(timeline)
    timeline.update(trace, now=trace.steps[-1].time + 50_000_000)
    ((kind, _),) = page.sizes
    assert kind == "update"
    assert page.state["end"] == trace.steps[-1].time + 50_000_000 and page.state["running"]
    assert page.state["marks"] == drawn(timeline)["marks"]


def test_a_page_that_missed_a_drawing_gets_the_whole_state() -> None:
    names = [f"n{index}" for index in range(12)]
    trace = record(chain(*names), {})
    timeline = Timeline(Trace(trace.steps[:-6], trace.graph))
    page = watched(timeline)
    page.state["revision"] = -1  # out of step, as a page opened halfway through would be
    timeline.update(trace)
    assert page.resyncs == 1
    timeline._handle_custom_msg({"type": "resync"}, [])
    assert {key: page.state[key] for key in drawn(timeline)} == drawn(timeline)


entries = st.lists(st.fixed_dictionaries({"a": st.integers(0, 4)}), max_size=12)


@given(old=entries, new=entries)
def test_splices_turn_any_list_into_any_other(
    old: list[dict[str, int]], new: list[dict[str, int]]
) -> None:
    assert apply_splices(old, splices(old, new)) == new


# -- live runs ----------------------------------------------------------------------------------


class Nap(Node):
    def exec(self, prep_res: Any) -> Any:
        time.sleep(0.005)


def test_a_live_timeline_grows_while_a_sync_flow_runs() -> None:
    nodes = [Nap(name=f"nap {index}") for index in range(6)]
    for here, there in itertools.pairwise(nodes):
        here >> there
    live = LiveTimeline(Flow(start=nodes[0], name="naps"), interval=0, display_widget=False)
    seen: list[tuple[int, bool]] = []
    live.timeline.observe(
        lambda change: seen.append((len(change["new"]), live.timeline.running)), names="marks"
    )
    live.run({})
    lengths = [length for length, _ in seen]
    assert lengths == sorted(lengths) and len(set(lengths)) >= 6
    assert live.updates >= 6 and not live.timeline.running
    assert [lane["label"] for lane in live.timeline.lanes] == ["naps"] + [n.name for n in nodes]
    assert all(mark["end"] is not None for mark in live.timeline.marks)
    assert live.trace.steps[-1].kind == "post"


def test_a_live_timeline_draws_an_item_in_an_executor_waiting_until_it_is_back() -> None:
    """Item 1 is held in its worker until item 0's result is in: till then the live timeline
    draws it waiting (it may be queued or running: the executor does not say), not running.
    """
    release = threading.Event()

    class Held(BatchNode):
        def prep(self, shared: Any) -> Any:
            return [0, 1]

        def exec(self, item: int) -> int:
            if item == 1:
                assert release.wait(30)
            return item

    held_marks: list[list[tuple[str, str, Any]]] = []

    def item_1_marks() -> list[tuple[str, str, Any]]:
        lane = [lane["label"] for lane in live.timeline.lanes].index("item 1")
        marks = live.timeline.marks
        return [(m["kind"], m["state"], m["end"]) for m in marks if m["lane"] == lane]

    def look(event: Event) -> None:  # called before the live timeline takes the event
        if event.kind == "item" and event.item == 0:
            held_marks.append(item_1_marks())
            release.set()

    with ThreadPoolExecutor(2) as pool:
        live = LiveTimeline(Held(executor=pool, name="held"), interval=0, display_widget=False)
        with observe(look):
            live.run({})
    assert held_marks == [[("wait", "waiting", None)]]
    assert [(kind, state) for kind, state, _ in item_1_marks()][-1] == ("try", "done")


def test_live_updates_are_throttled_and_the_end_is_always_drawn() -> None:
    live = LiveTimeline(loop_flow(), interval=3600, display_widget=False)
    live.run({"limit": 20})
    assert live.updates == 1  # at the first event; the last state is drawn when the run ends
    assert len(live.timeline.lanes) == 21 and not live.timeline.running


def test_running_bars_grow_while_an_async_step_awaits() -> None:
    release = asyncio.Event()
    ends: list[int] = []

    class Waits(AsyncNode):
        async def exec_async(self, prep_res: Any) -> Any:
            await release.wait()

    async def main() -> None:
        live = LiveTimeline(
            AsyncFlow(start=Waits(name="waits")), interval=0.01, display_widget=False
        )
        live.timeline.observe(lambda change: ends.append(change["new"]), names="end")
        running = asyncio.ensure_future(live.run_async({}))
        for _ in range(500):  # until the axis moved on three times with no new event
            if len(ends) >= 4:
                break
            await asyncio.sleep(0.01)
        steps_while_waiting = len(live.trace.steps)
        exec_mark = marks_of(live.timeline, "waits")[-1]
        assert exec_mark["kind"] == "exec" and exec_mark["end"] is None
        assert exec_mark["state"] == "running" and live.timeline.running
        release.set()
        await running
        assert len(live.trace.steps) > steps_while_waiting

    asyncio.run(main())
    assert len(ends) >= 4 and ends[:4] == sorted(ends[:4])


def test_an_async_flow_runs_live_from_sync_code() -> None:
    live = LiveTimeline(AsyncFlow(start=Parallel(name="items"), name="main"), display_widget=False)
    live.run({"items": 3})
    assert [lane["label"] for lane in live.timeline.lanes][:2] == ["main", "items"]
    assert sum(lane["kind"] == "item" for lane in live.timeline.lanes) == 3


def test_a_failed_live_run_raises_and_draws_where_it_failed() -> None:
    class Broken(Node):
        def exec(self, prep_res: Any) -> Any:
            raise KeyError("missing")

    first = Answer(name="first")
    first - "done" >> Broken(name="broken")
    live = LiveTimeline(Flow(start=first, name="main"), display_widget=False)
    with pytest.raises(KeyError):
        live.run({})
    assert isinstance(live.error, KeyError)
    assert marks_of(live.timeline, "broken")[-1]["state"] == "failed"
    assert not live.timeline.running


def test_a_live_timeline_follows_a_run_that_other_code_drives() -> None:
    live = LiveTimeline(chain("a", "b"), interval=0, display_widget=False)
    others: list[Event] = []
    live.start()
    with observe(others.append, live):  # beside another observer, as a live graph view has
        live.flow.run({})
    assert live.timeline.running and live.updates == len(others)
    live.finish()
    assert [lane["label"] for lane in live.timeline.lanes] == ["main", "a", "b"]
    assert not live.timeline.running and live.error is None
    assert len(live.trace.steps) == len(others)


def test_a_second_live_run_starts_from_an_empty_timeline() -> None:
    live = LiveTimeline(chain("a"), display_widget=False)
    live.run({})
    live.flow = chain("b")
    live.run({})
    assert [lane["label"] for lane in live.timeline.lanes] == ["main", "b"]


# -- linked to a replay -------------------------------------------------------------------------


def test_picking_on_the_timeline_moves_the_replay_and_back() -> None:
    flow = chain("first", "second")
    trace = record(flow, {}, snapshots=True)
    linked = timeline_replay(trace, flow)
    assert isinstance(linked, TimelineReplay) and isinstance(linked.replay, Replay)
    assert linked.timeline.marker == trace.steps[-1].time  # the replay opens at the last step

    second_exec = linked.timeline.marks.index(marks_of(linked.timeline, "second")[1])
    picked = linked.timeline.pick(second_exec)
    assert linked.replay.slider.value == picked.step
    assert trace.steps[picked.step - 1].kind == "exec"  # type: ignore[operator]

    linked.timeline.pick(time=0)
    assert linked.replay.slider.value == 1

    linked.replay.show(4)
    assert linked.timeline.marker == trace.steps[3].time


def test_a_loaded_trace_is_drawn_with_the_flow_it_came_from(tmp_path: Any) -> None:
    flow = AsyncFlow(start=Parallel(max_concurrency=1, name="one"), name="main")
    trace = asyncio.run(arecord(flow, {"items": 3}))
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = Trace.load(path)
    with_flow = Timeline(loaded, flow)
    assert sum(mark["kind"] == "wait" for mark in with_flow.marks) == 2
    assert with_flow.marks == Timeline(trace).marks
