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
        session = Session(AsyncFlow(start=Forever(name="forever")), {})
        while (event := await session.astep()) is not None and event.kind != "prep":
            pass
        await session.areset({})
        await asyncio.sleep(0)
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(main()) == set()
