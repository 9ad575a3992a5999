"""The Stepper under faults: interrupts, re-wiring, values that cannot be copied, quick clicks."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow.trace import Repr
from pocketflow_widgets import Stepper


class Mark(Node):
    """Writes its name to ``shared["seen"]``."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["seen"].append(self.name)


class Interrupted(Node):
    def exec(self, prep_res: Any) -> None:
        raise KeyboardInterrupt


class Fetch(AsyncNode):
    async def exec_async(self, prep_res: Any) -> str:
        await asyncio.sleep(0.001)
        return "notes"


# -- interrupts: recorded where they happened ---------------------------------------------------


def test_a_keyboard_interrupt_in_a_sync_step_is_recorded_where_it_happened_and_raised() -> None:
    first, stop = Mark(name="first"), Interrupted(name="stop")
    first >> stop
    stepper = Stepper(Flow(start=first, name="main"), {"seen": []})
    with pytest.raises(KeyboardInterrupt):  # the kernel's interrupt still stops the cell
        stepper.continue_()
    assert stepper.finished and stepper.interrupted
    assert isinstance(stepper.error, KeyboardInterrupt)
    assert stepper.error_event is not None and stepper.error_event.node is stop
    assert stepper.where == "main › stop"
    stepper.step()  # the next click neither raises nor calls the run finished
    assert stepper.interrupted and isinstance(stepper.error, KeyboardInterrupt)


def test_a_failure_is_not_an_interruption() -> None:
    class Broken(Node):
        def exec(self, prep_res: Any) -> None:
            raise ValueError("broken")

    broken = Broken(name="broken")
    stepper = Stepper(Flow(start=broken, name="main"), {})
    stepper.continue_()
    assert stepper.finished and not stepper.interrupted
    assert stepper.error_event is not None and stepper.error_event.node is broken
    assert stepper.where == "main › broken"


def test_a_cancellation_inside_an_async_node_is_recorded_as_an_interruption() -> None:
    class Cancelled(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise asyncio.CancelledError

    node = Cancelled(name="cancelled")

    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=node, name="main"), {})
        stepper.continue_()
        await stepper.wait()
        return stepper

    stepper = asyncio.run(session())
    assert stepper.finished and stepper.interrupted
    assert isinstance(stepper.error, asyncio.CancelledError)
    assert stepper.error_event is not None and stepper.error_event.node is node


def test_a_keyboard_interrupt_in_an_async_step_is_recorded_once_the_loop_goes_on() -> None:
    class Stop(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise KeyboardInterrupt

    node = Stop(name="stop")
    stepper = Stepper(AsyncFlow(start=node, name="main"), {})

    async def click() -> None:
        stepper.continue_()
        await stepper.wait()

    loop = asyncio.new_event_loop()
    try:
        # asyncio lets an interrupt out of the loop, whoever awaits; a kernel's loop then goes on
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(click())
        loop.run_until_complete(stepper.wait())
    except KeyboardInterrupt as exc:  # escaping this test, it would stop the whole session
        pytest.fail(f"the Stepper raised the interrupt a second time: {exc!r}")
    finally:
        loop.close()
    assert stepper.finished and stepper.interrupted
    assert isinstance(stepper.error, KeyboardInterrupt)
    assert stepper.error_event is not None and stepper.error_event.node is node


# -- re-wiring: the Stepper follows the flow as it is now ---------------------------------------


def test_continue_follows_an_edge_wired_after_the_stepper_was_made() -> None:
    a, b, c = Mark(name="a"), Mark(name="b"), Mark(name="c")
    a >> b
    stepper = Stepper(Flow(start=a, name="main"), {"seen": []}, breakpoints=["b"])
    stepper.continue_()
    assert stepper.last is not None and stepper.last.node is b
    b >> c  # a later cell wires a new edge
    stepper.continue_()
    assert stepper.finished and stepper.error is None
    assert stepper.shared["seen"] == ["a", "b", "c"]
    b_id, c_id = stepper.graph.find(b), stepper.graph.find(c)
    assert b_id is not None and c_id is not None
    assert stepper.overlay.visits == {"main": 1, "a": 1, "b": 1, "c": 1}
    assert stepper.overlay.edges == {
        ("a", "default", "b"): 1,
        (b_id, "default", c_id): 1,
        (c_id, "default", None): 1,
    }
    assert stepper.view.graph is stepper.graph
    assert stepper.view.widget in stepper.children


def test_reset_rebuilds_the_graph_the_view_and_the_breakpoints_after_re_wiring() -> None:
    a, b, c = Mark(name="a"), Mark(name="b"), Mark(name="c")
    a >> b
    stepper = Stepper(Flow(start=a, name="main"), {"seen": []}, breakpoints=["b"])
    stepper.continue_()
    old_view = stepper.view
    b >> c
    stepper.reset()
    c_id = stepper.graph.find(c)
    assert c_id is not None
    assert stepper.view is not old_view and stepper.view.graph is stepper.graph
    assert stepper.view.widget in stepper.children and old_view.widget not in stepper.children
    assert c_id in [value for _, value in stepper.breakpoint_picker.options]
    assert stepper.breakpoints == {stepper.graph.id_of(b)}  # kept: b is still there
    stepper.breakpoint_picker.value = (c_id,)
    stepper.continue_()
    assert stepper.last is not None and stepper.last.node is c and not stepper.finished
    stepper.continue_()
    assert stepper.finished and stepper.shared["seen"] == ["a", "b", "c"]


def test_reset_keeps_the_view_when_the_wiring_did_not_change() -> None:
    a, b = Mark(name="a"), Mark(name="b")
    a >> b
    stepper = Stepper(Flow(start=a), {"seen": []})
    view = stepper.view
    stepper.continue_()
    stepper.reset()
    assert stepper.view is view


# -- shared values that cannot be copied ---------------------------------------------------------


@pytest.fixture
def resources(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A lock, a database connection, an open file and a generator."""
    db = sqlite3.connect(":memory:")
    db.execute("create table notes (text)")
    with (tmp_path / "log.txt").open("w") as log:
        numbers = (n for n in range(100))
        yield {"lock": threading.Lock(), "db": db, "log": log, "numbers": numbers}
    db.close()


class UseAll(Node):
    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        with shared["lock"]:
            shared["db"].execute("insert into notes values ('a note')")
            log: TextIO = shared["log"]
            log.write("a line\n")
            shared["found"].append(next(shared["numbers"]))
            shared["nested"]["rows"].append(len(shared["found"]))


def test_a_stepper_works_on_a_shared_holding_a_lock_a_connection_a_file_and_a_generator(
    resources: dict[str, Any],
) -> None:
    shared = {**resources, "found": [], "nested": {"db": resources["db"], "rows": []}}
    stepper = Stepper(Flow(start=UseAll(name="use")), shared)
    # listed once each: shared['nested']['db'] is the same connection as shared['db']
    assert sorted(stepper.by_reference) == [
        "shared['db']",
        "shared['lock']",
        "shared['log']",
        "shared['numbers']",
    ]
    stepper.continue_()
    assert stepper.finished and stepper.error is None
    assert shared["found"] == [0] and shared["nested"]["rows"] == [1]
    assert stepper.changes is not None and "found" in stepper.changes.changed
    assert stepper.snapshot["db"] == Repr(repr(resources["db"]))  # a placeholder in snapshots

    stepper.reset()
    assert stepper.shared["found"] == [] and stepper.shared["nested"]["rows"] == []
    for key in ("lock", "db", "log", "numbers"):
        assert stepper.shared[key] is resources[key]  # kept as they are
    assert stepper.shared["nested"]["db"] is resources["db"]
    stepper.continue_()
    assert stepper.finished and stepper.error is None
    assert stepper.shared["found"] == [1]  # the generator went on where it was
    assert resources["db"].execute("select count(*) from notes").fetchone() == (2,)


def test_copyable_values_are_copied_for_reset() -> None:
    shared: dict[str, Any] = {"seen": []}
    stepper = Stepper(Flow(start=Mark(name="a")), shared)
    assert stepper.by_reference == ()
    stepper.continue_()
    stepper.reset()
    assert stepper.shared == {"seen": []} and stepper.shared["seen"] is not shared["seen"]


# -- clicks while an async step runs -------------------------------------------------------------


def test_five_quick_async_clicks_take_five_steps_in_order() -> None:
    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=Fetch(name="fetch"), name="research"), {})
        for _ in range(5):
            stepper.step()
        assert stepper.busy
        await stepper.wait()
        assert not stepper.busy and stepper.queued == 0
        return stepper

    stepper = asyncio.run(session())
    assert [(event.kind, event.node.name) for event in stepper.events] == [
        ("start", "research"),
        ("prep", "research"),
        ("start", "fetch"),
        ("prep", "fetch"),
        ("exec", "fetch"),
    ]


def test_queued_clicks_run_one_after_another_and_stop_at_the_end() -> None:
    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=Fetch(name="fetch"), name="research"), {})
        stepper.step()
        stepper.next_node()
        assert stepper.queued >= 1
        stepper.continue_()
        stepper.step()  # nothing left by then: dropped, without an error
        await stepper.wait()
        return stepper

    stepper = asyncio.run(session())
    assert stepper.finished and stepper.error is None
    assert stepper.last is not None and stepper.last.kind == "post"
    assert stepper.last.node is stepper.flow


def test_reset_drops_the_clicks_still_queued() -> None:
    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=Fetch(name="fetch"), name="research"), {})
        for _ in range(3):
            stepper.step()
        stepper.reset()
        assert stepper.queued == 0
        await stepper.wait()
        await asyncio.sleep(0.01)
        return stepper

    stepper = asyncio.run(session())
    assert stepper.events == [] and not stepper.finished
