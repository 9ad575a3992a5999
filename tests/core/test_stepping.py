"""The stepping session: step, next node, continue to breakpoints, reset; sync and async."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow.stepping import Session


class Count(Node):
    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared.setdefault("seen", []).append(self.name)


class Flaky(Node):
    def exec(self, prep_res: Any) -> Any:
        if self.cur_retry == 0:
            raise ValueError("first try")
        return "ok"


class Fails(Node):
    def exec(self, prep_res: Any) -> Any:
        raise ValueError("broken")


class Interrupts(Node):
    def exec(self, prep_res: Any) -> Any:
        raise KeyboardInterrupt


def chain(*nodes: Node, name: str = "main") -> Flow:
    for a, b in itertools.pairwise(nodes):
        a >> b
    return Flow(start=nodes[0], name=name)


def kinds_and_names(events: Any) -> list[tuple[str, str]]:
    return [(event.kind, event.node.name) for event in events]


def test_stepping_walks_the_same_events_as_the_step_stream() -> None:
    def flow() -> Flow:
        return chain(Count(name="a"), Count(name="b"))

    session = Session(flow(), {})
    walked = []
    while (event := session.step()) is not None:
        walked.append(event)
    assert kinds_and_names(walked) == kinds_and_names(flow().steps({}))
    assert session.finished and session.error is None
    assert session.shared == {"seen": ["a", "b"]}


def test_next_node_halts_as_each_node_starts() -> None:
    session = Session(chain(Count(name="a"), Count(name="b")), {})
    starts = []
    while (event := session.next_node()) is not None:
        starts.append(event.node.name)
    assert starts == ["main", "a", "b"]


def test_continue_halts_before_and_after_nodes_named_or_given() -> None:
    a, b, c = Count(name="a"), Count(name="b"), Count(name="c")
    session = Session(chain(a, b, c), {}, halt_before=["b"], halt_after=[c])
    first = session.continue_()
    assert first is not None and (first.kind, first.node.name) == ("start", "b")
    assert session.shared == {"seen": ["a"]}
    second = session.continue_()
    assert second is not None and (second.kind, second.node.name) == ("post", "c")
    assert session.continue_() is None and session.finished
    assert session.result is None


def test_continue_halts_on_event_kinds() -> None:
    session = Session(chain(Flaky(max_retries=2, name="flaky")), {}, halt_on=["retry"])
    event = session.continue_()
    assert event is not None and event.kind == "retry" and event.attempt == 0
    assert session.continue_() is None and session.error is None


def test_breakpoints_can_change_during_the_run() -> None:
    session = Session(chain(Count(name="a"), Count(name="b"), Count(name="c")), {})
    session.step()
    session.halt_before.add("c")
    event = session.continue_()
    assert event is not None and event.node.name == "c"


def test_unknown_event_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kinds \\['retries'\\]"):
        Session(Flow(start=Node()), {}, halt_on=["retries"])


def test_a_failure_ends_the_run_and_is_kept_with_where_it_happened() -> None:
    session = Session(chain(Count(name="a"), Fails(name="bad")), {})
    assert session.continue_() is None
    assert isinstance(session.error, ValueError) and not session.interrupted
    assert session.error_event is not None and session.error_event.node.name == "bad"
    assert session.step() is None  # nothing more to do


def test_an_interrupt_is_kept_and_raised_again() -> None:
    session = Session(chain(Count(name="a"), Interrupts(name="stop")), {})
    with pytest.raises(KeyboardInterrupt):
        session.continue_()
    assert session.finished and session.interrupted
    assert session.error_event is not None and session.error_event.node.name == "stop"


def test_reset_starts_a_new_run_and_closes_the_old() -> None:
    flow = chain(Count(name="a"), Count(name="b"))
    session = Session(flow, {})
    while (event := session.step()) is not None and event.kind != "post":
        pass  # stop once "a" has written
    old = session.shared
    assert old == {"seen": ["a"]}
    session.reset({"fresh": True})
    assert session.events == [] and not session.finished and session.last is None
    first = session.step()
    assert first is not None and first.kind == "start" and first.node is flow
    session.continue_()
    assert session.shared == {"fresh": True, "seen": ["a", "b"]}
    assert old == {"seen": ["a"]}  # the abandoned run never went on


def test_a_node_wired_after_the_session_started_is_followed() -> None:
    a, b = Count(name="a"), Count(name="b")
    session = Session(Flow(start=a, name="main"), {})
    session.step()
    a >> b
    session.continue_()
    assert session.shared == {"seen": ["a", "b"]}


class Waits(AsyncNode):
    async def exec_async(self, prep_res: Any) -> Any:
        await asyncio.sleep(0)
        return "waited"

    async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared.setdefault("seen", []).append(self.name)
        return exec_res


def test_an_async_flow_is_stepped_with_the_async_methods() -> None:
    flow = AsyncFlow(start=Waits(name="w"), name="main")
    session = Session(flow, {}, halt_after=["w"])
    with pytest.raises(RuntimeError, match=r"is async: advance it with `await session\.astep"):
        session.step()

    async def main() -> list[Any]:
        first = await session.anext_node()
        halted = await session.acontinue()
        end = await session.acontinue()
        return [first, halted, end]

    first, halted, end = asyncio.run(main())
    assert (first.kind, first.node.name) == ("start", "main")
    assert (halted.kind, halted.node.name, halted.value) == ("post", "w", "waited")
    assert end is None and session.finished and session.result == "waited"
    assert session.shared == {"seen": ["w"]}


def test_a_sync_flow_can_be_stepped_from_async_code_but_not_both_ways() -> None:
    session = Session(chain(Count(name="a")), {})

    async def main() -> None:
        await session.astep()
        with pytest.raises(RuntimeError, match="stepped with astep"):
            session.step()
        await session.acontinue()

    asyncio.run(main())
    assert session.finished and session.shared == {"seen": ["a"]}


def test_areset_cancels_the_async_run_and_leaves_no_task() -> None:
    class Forever(AsyncNode):
        async def exec_async(self, prep_res: Any) -> Any:
            await asyncio.Event().wait()

    async def main() -> set[asyncio.Task[Any]]:
        before = asyncio.all_tasks()  # a loop reused from an earlier test may hold others
        session = Session(AsyncFlow(start=Forever(name="forever")), {})
        while (event := await session.astep()) is not None and event.kind != "prep":
            pass
        await session.areset({})
        await asyncio.sleep(0)
        return asyncio.all_tasks() - before

    assert asyncio.run(main()) == set()


def test_where_names_the_flows_and_the_node_an_error_escaped() -> None:
    first, inner = Count(name="a"), Flow(start=Fails(name="bad"), name="inner")
    first >> inner
    session = Session(Flow(start=first, name="main"), {})
    assert session.where is None
    session.continue_()
    assert session.where == "main › inner › bad"


class Gate(AsyncNode):
    """Waits in ``exec`` until its gate opens; writes its name to ``shared`` in ``post``."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.gate = asyncio.Event()

    async def exec_async(self, prep_res: Any) -> Any:
        await self.gate.wait()

    async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared.setdefault("seen", []).append(self.name)


async def advance_to_exec(session: Session) -> asyncio.Task[Any]:
    """An advance of ``session`` that waits in the gate's ``exec``, as a task."""
    while (event := await session.astep()) is not None and (event.kind, event.node.name) != (
        "prep",
        "gate",
    ):
        pass
    advance = asyncio.ensure_future(session.astep())
    for _ in range(5):
        await asyncio.sleep(0)  # let the run reach exec
    assert not advance.done()
    return advance


def test_an_advance_cancelled_after_a_reset_leaves_the_new_run_alone() -> None:
    async def main() -> Session:
        session = Session(AsyncFlow(start=Gate(name="gate"), name="main"), {})
        advance = await advance_to_exec(session)
        session.reset({"fresh": True})
        advance.cancel()
        with pytest.raises(asyncio.CancelledError):
            await advance
        return session

    session = asyncio.run(main())
    assert session.events == [] and not session.finished and session.error is None


def test_an_advance_of_an_abandoned_run_stops_it_and_changes_nothing() -> None:
    gate = Gate(name="gate")

    async def main() -> tuple[Session, Any, set[asyncio.Task[Any]]]:
        before = asyncio.all_tasks()
        session = Session(AsyncFlow(start=gate, name="main"), {})
        advance = await advance_to_exec(session)
        old = session.shared
        session.reset({"fresh": True})
        gate.gate.set()
        halted = await advance
        await asyncio.sleep(0)
        return session, (halted, old), asyncio.all_tasks() - before

    session, (halted, old), left = asyncio.run(main())
    assert halted is None and left == set()
    assert old == {}  # the old run stopped at its next event: it never reached post
    assert session.events == [] and not session.finished and session.shared == {"fresh": True}


def test_areset_while_an_advance_waits_does_not_fail() -> None:
    async def main() -> Session:
        session = Session(AsyncFlow(start=Gate(name="gate"), name="main"), {})
        advance = await advance_to_exec(session)
        await session.areset({})
        advance.cancel()
        with pytest.raises(asyncio.CancelledError):
            await advance
        return session

    session = asyncio.run(main())
    assert session.events == [] and not session.finished


def test_an_interruption_is_the_exception_the_node_raised() -> None:
    class Cancels(AsyncNode):
        async def exec_async(self, prep_res: Any) -> Any:
            raise asyncio.CancelledError("from the node")

    session = Session(AsyncFlow(start=Cancels(name="cancels"), name="main"), {})

    async def main() -> None:
        with pytest.raises(asyncio.CancelledError):
            await session.acontinue()

    asyncio.run(main())
    assert session.interrupted and session.error_event is not None
    assert session.error is session.error_event.value
