"""Forks: "Continue from here" in a Replay and "Fork" in the Stepper, optionally after editing
``shared``, each open a Stepper on a checkpoint that says where it came from.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, BatchFlow, Flow, Node
from pocketflow.checkpoints import boundaries
from pocketflow.trace import Trace, record
from pocketflow_widgets import Replay, Stepper
from pocketflow_widgets.fork import ForkControls, parse_edits, parse_literal


class Add(Node):
    """Adds its ``n`` param (default 1) to ``shared["total"]`` and notes its name."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["total"] = shared.get("total", 0) + self.params.get("n", 1)
        shared.setdefault("seen", []).append(self.name)


def summing() -> Flow:
    first, second, third = Add(name="first"), Add(name="second"), Add(name="third")
    first >> second >> third
    return Flow(start=first, name="sum")


def replay_of(flow: Flow, shared: Any = None) -> tuple[Replay, ForkControls, Trace]:
    """A Replay of a run of ``flow`` recorded with snapshots, and its fork controls."""
    trace = record(flow, {} if shared is None else shared, snapshots=True)
    replay = Replay(trace, flow)
    assert replay.fork_controls is not None
    return replay, replay.fork_controls, trace


def step_of(trace: Trace, kind: str, name: str) -> int:
    return next(s.step for s in trace.steps if (s.kind, s.name) == (kind, name))


def kinds(stepper: Stepper) -> list[tuple[int, str, str]]:
    return [(event.step, event.kind, event.node.name) for event in stepper.events]


def test_continue_from_a_replay_at_a_node_boundary_runs_the_rest() -> None:
    replay, controls, trace = replay_of(summing())
    start_of_second = step_of(trace, "start", "second")
    replay.show(start_of_second)
    assert replay.boundary == start_of_second
    assert "(the last node boundary" not in controls.where.value

    fork = replay.continue_from_here()

    assert fork is not None and controls.forks == [fork]
    assert fork in controls.stepper_box.children  # shown under the replay
    assert fork.shared == {"total": 1, "seen": ["first"]}
    fork.continue_()
    assert fork.finished and fork.error is None
    assert fork.shared == {"total": 3, "seen": ["first", "second", "third"]}
    assert fork.events[0].step == start_of_second  # the step numbers go on from the trace's
    assert trace.steps[-1].step == fork.events[-1].step
    assert f"Forked from step {start_of_second} of &#x27;sum&#x27; in a Replay" in (
        fork.header.value
    )
    assert fork.session.checkpoint is not None
    assert fork.session.checkpoint.source["forked_from"] == {"root": "sum", "step": 8}


def test_off_a_boundary_the_fork_starts_at_the_last_boundary_before_and_says_so() -> None:
    replay, controls, trace = replay_of(summing())
    exec_of_second = step_of(trace, "exec", "second")
    replay.show(exec_of_second)
    start_of_second = step_of(trace, "start", "second")
    assert replay.boundary == start_of_second
    where = controls.where.value
    assert f"from step {start_of_second}" in where and "second</code> as it starts" in where
    assert f"the last node boundary before step {exec_of_second}" in where

    fork = replay.continue_from_here()
    assert fork is not None and kinds(fork) == []
    fork.step()
    assert kinds(fork) == [(start_of_second, "start", "second")]


def test_edits_to_shared_go_into_the_fork_and_are_recorded() -> None:
    replay, controls, trace = replay_of(summing())
    post_of_first = step_of(trace, "post", "first")
    replay.show(post_of_first)
    controls.edit("total", "100")  # a Python literal
    controls.edit("seen", '["a", "b"]')  # JSON (and a Python literal too)
    assert controls.edits == {"total": "100", "seen": '["a", "b"]'}

    fork = replay.continue_from_here()

    assert fork is not None
    fork.continue_()
    assert fork.shared == {"total": 102, "seen": ["a", "b", "second", "third"]}
    assert "after its post" in controls.where.value
    assert "(edited: &#x27;total&#x27;, &#x27;seen&#x27;)" in fork.header.value
    assert trace.shared_at(post_of_first) == {"total": 1, "seen": ["first"]}  # untouched


def test_a_bad_literal_names_the_key_and_nothing_runs() -> None:
    replay, controls, _ = replay_of(summing())
    replay.show(6)  # first's post: shared has "total"
    controls.edit("total", "one hundred")

    assert replay.continue_from_here() is None

    error = controls.error_box.value
    assert "Cannot fork" in error and "&#x27;total&#x27;" in error and "literal" in error
    assert controls.forks == [] and controls.stepper_box.children == ()


def test_a_fork_of_a_value_kept_as_a_placeholder_is_refused_until_it_is_edited() -> None:
    import threading

    replay, controls, _ = replay_of(summing(), {"lock": threading.Lock()})
    replay.show(3)
    assert replay.continue_from_here() is None
    assert "shared[&#x27;lock&#x27;]" in controls.error_box.value
    controls.edit("lock", "None")
    fork = replay.continue_from_here()
    assert fork is not None and fork.shared["lock"] is None


def test_without_the_flow_or_snapshots_a_replay_offers_no_fork() -> None:
    flow = summing()
    assert Replay(record(flow, {}, snapshots=True)).fork_controls is None
    replay = Replay(record(flow, {}), flow)
    assert replay.fork_controls is None
    with pytest.raises(ValueError, match="snapshots=True"):
        replay.continue_from_here()


def test_a_replay_of_a_loaded_trace_forks_on_the_flow_it_was_recorded_from() -> None:
    flow = summing()
    trace = Trace.from_jsonl(record(flow, {}, snapshots=True).to_jsonl())
    replay = Replay(trace, flow)
    replay.show(3)
    fork = replay.continue_from_here()
    assert fork is not None
    fork.continue_()
    assert fork.shared["total"] == 3


def test_untrusted_names_and_values_are_escaped() -> None:
    bad = "<img src=x onerror=alert(1)>"
    replay, controls, _ = replay_of(Flow(start=Add(name=bad), name=bad), {bad: bad})
    replay.show(1)
    controls.edit(bad, "1 +")  # the error names the key
    assert replay.continue_from_here() is None
    shown = [controls.error_box.value]
    replay.show(3)
    fork = controls.fork()
    assert fork is not None
    shown += [controls.where.value, fork.header.value]
    assert all("<img" not in text for text in shown)
    assert all("&lt;img src=x onerror=alert(1)&gt;" in text for text in shown)


def test_the_editor_offers_big_values_read_only() -> None:
    _, controls, _ = replay_of(summing(), {"big": list(range(100_000)), "small": 1})
    controls.edit_toggle.value = True
    with pytest.raises(KeyError, match="editable: \\['small'"):
        controls.edit("big", "[]")


def test_fork_from_the_stepper_where_it_halted() -> None:
    flow = summing()
    stepper = Stepper(flow, {}, breakpoints=["third"])
    assert stepper.fork_controls.fork_button.disabled  # not started: no boundary yet
    stepper.step()
    stepper.step()  # the flow's prep: not a node boundary
    assert stepper.fork_controls.fork_button.disabled
    stepper.continue_()  # halts as "third" starts
    assert not stepper.fork_controls.fork_button.disabled
    assert "third</code> as it starts" in stepper.fork_controls.where.value
    stepper.fork_controls.edit("total", "40")

    fork = stepper.fork()

    assert fork is not None and fork in stepper.fork_controls.stepper_box.children
    fork.continue_()
    assert fork.shared["total"] == 41
    assert "Forked from step" in fork.header.value and "in a Stepper" in fork.header.value
    stepper.continue_()  # the original run goes on, unchanged by the fork
    assert stepper.shared["total"] == 3
    assert stepper.fork_controls.fork_button.disabled  # finished


def test_reset_of_a_fork_starts_again_from_its_checkpoint() -> None:
    flow = summing()
    stepper = Stepper(flow, {}, breakpoints=["second"])
    stepper.continue_()
    fork = stepper.fork()
    assert fork is not None
    fork.continue_()
    assert fork.shared["seen"] == ["first", "second", "third"]
    fork.reset()
    assert fork.shared == {"total": 1, "seen": ["first"]}
    fork.continue_()
    assert fork.shared["total"] == 3


def test_a_fork_forks_again() -> None:
    stepper = Stepper(summing(), {}, breakpoints=["second"])
    stepper.continue_()
    fork = stepper.fork()
    assert fork is not None
    fork.session.halt_before.add("third")
    fork.continue_()  # halts as "third" starts
    fork.fork_controls.edit("total", "20")
    again = fork.fork()
    assert again is not None and again in fork.fork_controls.stepper_box.children
    again.continue_()
    assert again.shared == {"total": 21, "seen": ["first", "second", "third"]}
    assert (
        "Forked from step 13 of &#x27;sum&#x27; (itself a fork of step 8) in a Stepper "
        "(edited: &#x27;total&#x27;)" in again.header.value
    )
    fork.continue_()
    assert fork.shared["total"] == 3


def test_a_stepper_picks_a_run_up_from_a_checkpoint() -> None:
    flow = summing()
    trace = record(flow, {}, snapshots=True)
    checkpoint = trace.checkpoint(trace.steps[-1].step - 3)  # after third's post
    stepper = Stepper(flow, None, checkpoint=checkpoint)
    assert "Resumed from step" in stepper.header.value
    stepper.continue_()
    assert stepper.finished and stepper.shared["total"] == 3


def test_a_checkpoint_of_another_flow_is_refused_at_once() -> None:
    checkpoint = record(summing(), {}, snapshots=True).checkpoint(3)
    other = Flow(start=Add(name="other"), name="sum")
    with pytest.raises(ValueError, match="does not fit"):
        Stepper(other, None, checkpoint=checkpoint)


def test_fork_an_async_stepper() -> None:
    class Wait(AsyncNode):
        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            await asyncio.sleep(0)
            shared["n"] = shared.get("n", 0) + 1

    first, second = Wait(name="first"), Wait(name="second")
    first >> second
    flow = AsyncFlow(start=first, name="waits")

    async def session() -> Stepper:
        stepper = Stepper(flow, {}, breakpoints=["second"])
        stepper.continue_()
        await stepper.wait()
        stepper.fork_controls.edit("n", "10")
        fork = stepper.fork()
        assert fork is not None
        fork.continue_()
        await fork.wait()
        return fork

    fork = asyncio.run(session())
    assert fork.finished and fork.error is None and fork.shared == {"n": 11}


def test_parse_literal_reads_python_and_json() -> None:
    assert parse_literal("None") is None and parse_literal("null") is None
    assert parse_literal("{'a': (1, 2)}") == {"a": (1, 2)}
    assert parse_literal('{"a": [true, false]}') == {"a": [True, False]}
    with pytest.raises(ValueError, match=r"'x': .*; 'y': "):
        parse_edits({"x": "f()", "y": "[1,", "z": "1"})


def test_the_forks_graph_shows_the_path_that_led_to_the_checkpoint() -> None:
    replay, _, trace = replay_of(summing())
    replay.show(step_of(trace, "start", "second"))
    fork = replay.continue_from_here()
    assert fork is not None and fork.overlay.root == fork.graph.id_of(fork.flow)
    assert set(fork.overlay.visits) == {"sum", "first"}  # second starts again in the fork
    fork.continue_()
    assert fork.overlay.visits == {"sum": 1, "first": 1, "second": 1, "third": 1}
    assert fork.overlay.edges == trace.overlay().edges and fork.overlay.current is None
    fork.reset()
    assert set(fork.overlay.visits) == {"sum", "first"}

    stepper = Stepper(summing(), {})
    stepper.session.halt_after.add("second")
    stepper.continue_()  # after second's post: the fork goes on with the transition
    again = stepper.fork()
    assert again is not None and again.overlay.visits == stepper.overlay.visits
    again.continue_()
    assert again.overlay.visits == {"sum": 1, "first": 1, "second": 1, "third": 1}


def test_continuing_from_every_boundary_of_a_nested_batch_flow_ends_as_the_whole_run() -> None:
    class Items(BatchFlow):
        def prep(self, shared: Any) -> list[dict[str, int]]:
            return [{"n": n} for n in range(3)]

    a, b = Add(name="a"), Add(name="b")
    a >> b
    items = Items(start=a, name="items")
    items >> Add(name="last")
    flow = Flow(start=items, name="outer")
    whole: dict[str, Any] = {}
    trace = record(flow, whole, snapshots=True)
    replay = Replay(trace, flow)
    for position, entry in enumerate(trace.steps, 1):
        replay.show(position)
        fork = replay.continue_from_here()
        assert fork is not None, replay.fork_controls and replay.fork_controls.error_box.value
        fork.continue_()
        assert (fork.error, fork.shared) == (None, whole), f"forked at step {entry.step}"
    assert len(boundaries(trace)) == 18
