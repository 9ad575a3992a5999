"""The Stepper over its core session: breakpoints are the session's, and a step costs what it
changed in ``shared``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow_widgets import Stepper


class Mark(Node):
    """Writes its name to ``shared["seen"]``."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["seen"].append(self.name)


def three() -> tuple[Flow, Mark, Mark, Mark]:
    a, b, c = Mark(name="a"), Mark(name="b"), Mark(name="c")
    a >> b >> c
    return Flow(start=a, name="main"), a, b, c


def test_the_breakpoint_list_is_the_sessions_halt_before() -> None:
    flow, a, b, c = three()
    stepper = Stepper(flow, {"seen": []}, breakpoints=[b])
    assert stepper.session.halt_before == {b}
    stepper.session.halt_before.add("c")  # code may add its own
    stepper.breakpoint_picker.value = (stepper.graph.id_of(a),)
    assert stepper.session.halt_before == {a, "c"}
    stepper.breakpoint_picker.value = ()
    assert stepper.session.halt_before == {"c"}
    stepper.continue_()
    assert stepper.last is not None and (stepper.last.kind, stepper.last.node) == ("start", c)


def test_continue_halts_where_the_session_says() -> None:
    flow, _, b, _ = three()
    stepper = Stepper(flow, {"seen": []})
    stepper.session.halt_after.add(b)
    stepper.continue_()
    assert stepper.last is not None and (stepper.last.kind, stepper.last.node) == ("post", b)
    assert stepper.shared["seen"] == ["a", "b"]
    assert stepper.events is stepper.session.events and not stepper.finished


def test_a_reset_while_an_async_step_runs_starts_a_clean_run() -> None:
    class Gate(AsyncNode):
        def __init__(self) -> None:
            super().__init__(name="gate")
            self.started = asyncio.Event()
            self.gate = asyncio.Event()

        async def exec_async(self, prep_res: Any) -> None:
            self.started.set()
            await self.gate.wait()

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            shared["done"] = True
            return "done"

    node = Gate()

    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=node, name="main"), {})
        stepper.continue_()
        await node.started.wait()
        stepper.reset()
        node.gate.set()
        stepper.continue_()
        await stepper.wait()
        return stepper

    stepper = asyncio.run(session())
    assert stepper.finished and stepper.error is None and stepper.result == "done"
    starts = [event.node.name for event in stepper.events if event.kind == "start"]
    assert starts == ["main", "gate"]
    assert stepper.overlay.visits == {"main": 1, "gate": 1}


# -- what a step changed in shared ---------------------------------------------------------------


class Grow(Node):
    """Appends to a big list and fills in a summary deep in a list of documents."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["big"].append(len(shared["big"]))
        shared["docs"][0]["summary"] = "short"


def test_in_place_changes_at_any_depth_show_with_before_and_after() -> None:
    shared: dict[str, Any] = {
        "big": list(range(1000)),
        "docs": [{"title": "owls", "summary": ""}],
        "other": {"n": 1},
    }
    stepper = Stepper(Flow(start=Grow(name="grow")), shared)
    while stepper.last is None or stepper.last.kind != "post":
        stepper.step()
    assert stepper.changes is not None
    assert set(stepper.changes.changed) == {"big", "docs"}
    big_before, big_after = stepper.changes.changed["big"]
    assert big_before == list(range(1000)) and big_after == list(range(1001))
    assert stepper.changes.changed["docs"] == (
        [{"title": "owls", "summary": ""}],
        [{"title": "owls", "summary": "short"}],
    )
    assert big_after is not shared["big"]  # a copy: later steps do not change it


def test_a_step_copies_again_only_the_keys_it_changed() -> None:
    shared: dict[str, Any] = {
        "big": list(range(1000)),
        "docs": [{"title": "owls", "summary": ""}],
        "other": {"n": [1, 2]},
    }
    stepper = Stepper(Flow(start=Grow(name="grow")), shared)
    first = stepper.snapshot
    stepper.continue_()
    assert stepper.snapshot["other"] is first["other"]  # unchanged: its copy is kept
    assert stepper.snapshot["docs"] is not first["docs"]
    assert first["docs"] == [{"title": "owls", "summary": ""}]  # the old copy stays as it was


def test_a_list_changed_before_it_grew_is_copied_whole() -> None:
    class Rewrite(Node):
        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["rows"][0] = "changed"
            shared["rows"].append("new")

    stepper = Stepper(Flow(start=Rewrite()), {"rows": ["a", "b"]})
    stepper.continue_()
    assert stepper.snapshot["rows"] == ["changed", "b", "new"]


class Plain:
    """A class that compares by identity."""

    def __init__(self, name: str) -> None:
        self.name = name


def test_an_object_that_compares_by_identity_shows_only_when_it_changes() -> None:
    class Rename(Node):
        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["client"].name = "renamed"

    stepper = Stepper(Flow(start=Rename(name="rename")), {"client": Plain("first")})
    stepper.step()  # the flow starts: nothing changed
    assert stepper.changes is not None and not stepper.changes
    stepper.continue_()
    assert "client" in stepper.changes.changed
