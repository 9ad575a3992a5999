"""The step stream: one event per phase boundary, pulled one at a time, sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pocketflow import (
    KINDS,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchNode,
    BatchFlow,
    BatchNode,
    Event,
    Flow,
    Node,
    observe,
)
from pocketflow.events import Run


def summary(events: list[Event]) -> list[str]:
    """Events as short strings: ``step kind path/node [value] [item/attempt] [-> target]``."""
    lines = []
    for event in events:
        text = f"{event.kind} {'/'.join((*event.path, event.node.name))}"
        if event.kind in ("prep", "exec", "post", "item", "transition"):
            text += f" {event.value!r}"
        if event.kind in ("retry", "fallback", "error"):
            text += f" {type(event.value).__name__}"
        if event.item is not None:
            text += f" item={event.item}" + (f"/{event.total}" if event.total is not None else "")
        if event.attempt is not None:
            text += f" attempt={event.attempt}"
        if event.kind == "transition":
            text += f" -> {event.target.name if event.target else None}"
        lines.append(text)
    return lines


class Load(BatchNode):
    """Doubles each item; item 2 fails on its first try."""

    def prep(self, shared: Any) -> list[int]:
        return shared["items"]

    def exec(self, item: int) -> int:
        if item == 2 and self.cur_retry == 0:
            raise ValueError("flaky")
        return item * 2

    def post(self, shared: Any, prep_res: Any, exec_res: list[int]) -> str:
        shared["doubled"] = exec_res
        return "sum"


class Total(Node):
    def prep(self, shared: Any) -> list[int]:
        return shared["doubled"]

    def exec(self, values: list[int]) -> int:
        return sum(values)

    def post(self, shared: Any, prep_res: Any, exec_res: int) -> str:
        shared["total"] = exec_res
        return "done"


def nested_flow() -> Flow:
    load = Load(max_retries=2, name="load")
    total = Total(name="total")
    load - "sum" >> total
    inner = Flow(start=load, name="inner")
    report = Node(name="report")
    inner - "done" >> report
    return Flow(start=inner, name="outer")


NESTED_EVENTS = [
    "start outer",
    "prep outer None",
    "start outer/inner",
    "prep outer/inner None",
    "start outer/inner/load",
    "prep outer/inner/load [1, 2]",
    "item outer/inner/load 2 item=0/2",
    "retry outer/inner/load ValueError item=1 attempt=0",
    "item outer/inner/load 4 item=1/2",
    "exec outer/inner/load [2, 4]",
    "post outer/inner/load 'sum'",
    "transition outer/inner/load 'sum' -> total",
    "start outer/inner/total",
    "prep outer/inner/total [2, 4]",
    "exec outer/inner/total 6",
    "post outer/inner/total 'done'",
    "transition outer/inner/total 'done' -> None",
    "exec outer/inner 'done'",
    "post outer/inner 'done'",
    "transition outer/inner 'done' -> report",
    "start outer/report",
    "prep outer/report None",
    "exec outer/report None",
    "post outer/report None",
    "transition outer/report None -> None",
    "exec outer None",
    "post outer None",
]


def test_nested_flow_with_batch_and_retry_event_order() -> None:
    shared = {"items": [1, 2]}
    events = list(nested_flow().steps(shared))
    assert summary(events) == NESTED_EVENTS
    assert [event.step for event in events] == list(range(1, len(events) + 1))
    assert shared == {"items": [1, 2], "doubled": [2, 4], "total": 6}
    assert {event.kind for event in events} <= set(KINDS)


def test_events_carry_the_wired_node_and_the_params() -> None:
    flow = nested_flow()
    flow.set_params({"run": 7})
    events = list(flow.steps({"items": [1]}))
    inner = flow.start_node
    assert isinstance(inner, Flow)
    load = inner.start_node
    assert any(event.node is load for event in events)
    assert all(
        event.node in (flow, inner, load, load.successors["sum"]) or event.node.name == "report"
        for event in events
    )
    assert next(event.params for event in events if event.node is load) == {"run": 7}


def test_the_generator_returns_the_result_and_the_last_event_carries_it() -> None:
    class Pick(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            return "chosen"

    flow = Flow(start=Pick())
    steps = flow.steps({})
    events = []
    with pytest.raises(StopIteration) as stop:
        while True:
            events.append(next(steps))
    assert stop.value.value == "chosen"
    assert events[-1].kind == "post"
    assert events[-1].node is flow
    assert events[-1].value == "chosen"


def test_a_consumer_that_stops_pulling_pauses_the_run() -> None:
    calls: list[str] = []

    class Traced(Node):
        def prep(self, shared: Any) -> None:
            calls.append(f"prep {self.name}")

        def exec(self, prep_res: Any) -> None:
            calls.append(f"exec {self.name}")

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            calls.append(f"post {self.name}")

    a, b = Traced(name="a"), Traced(name="b")
    a >> b
    steps = Flow(start=a).steps({})
    kinds = [next(steps).kind for _ in range(3)]  # flow start, flow prep, a start
    assert kinds == ["start", "prep", "start"]
    assert calls == []
    assert next(steps).kind == "prep"
    assert calls == ["prep a"]
    assert next(steps).kind == "exec"
    assert calls == ["prep a", "exec a"]
    steps.close()  # abandoning the run: nothing more runs
    assert calls == ["prep a", "exec a"]


def test_an_error_is_the_last_event_then_the_exception_propagates() -> None:
    class Boom(Node):
        def exec(self, prep_res: Any) -> None:
            raise KeyError("boom")

    ok = Node(name="ok")
    ok >> Boom(name="boom")
    events: list[Event] = []
    with pytest.raises(KeyError):
        for event in Flow(start=ok, name="f").steps({}):
            events.append(event)
    assert summary(events[-3:]) == [
        "prep f/boom None",
        "fallback f/boom KeyError attempt=0",
        "error f/boom KeyError",
    ]
    assert [event.kind for event in events].count("error") == 1


def test_stepping_an_async_node_synchronously_points_to_asteps() -> None:
    with pytest.raises(RuntimeError, match="asteps"):
        AsyncNode(name="fetch").steps({})


def test_batch_flow_emits_an_item_event_per_param_set() -> None:
    class Each(BatchFlow):
        def prep(self, shared: Any) -> list[dict[str, int]]:
            return [{"i": 1}, {"i": 2}]

    class Note(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared.setdefault("seen", []).append(self.params["i"])

    events = list(Each(start=Note(), name="each").steps({}))
    items = [event for event in events if event.kind == "item"]
    assert [(e.item, e.total, e.params, e.path) for e in items] == [
        (0, 2, {"i": 1}, ()),
        (1, 2, {"i": 2}, ()),
    ]


# -- async ------------------------------------------------------------------------------------


class Fetch(AsyncNode):
    async def prep_async(self, shared: Any) -> str:
        return str(shared["query"])

    async def exec_async(self, query: str) -> str:
        await asyncio.sleep(0)
        return query.upper()

    async def post_async(self, shared: Any, prep_res: Any, exec_res: str) -> str:
        shared["answer"] = exec_res
        return "done"


class Shout(Node):
    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
        shared["answer"] += "!"


def test_asteps_yields_the_same_events_as_steps_would() -> None:
    fetch = Fetch(name="fetch")
    fetch - "done" >> Shout(name="shout")
    flow = AsyncFlow(start=fetch, name="main")

    async def main() -> list[Event]:
        return [event async for event in flow.asteps(shared)]

    shared = {"query": "hi"}
    events = asyncio.run(main())
    assert summary(events) == [
        "start main",
        "prep main None",
        "start main/fetch",
        "prep main/fetch 'hi'",
        "exec main/fetch 'HI'",
        "post main/fetch 'done'",
        "transition main/fetch 'done' -> shout",
        "start main/shout",
        "prep main/shout None",
        "exec main/shout None",
        "post main/shout None",
        "transition main/shout None -> None",
        "exec main None",
        "post main None",
    ]
    assert shared["answer"] == "HI!"


def test_asteps_pauses_between_events_while_the_loop_keeps_running() -> None:
    calls: list[str] = []

    class Slow(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            calls.append("exec")

    async def main() -> None:
        steps = Slow().asteps({})
        assert (await steps.__anext__()).kind == "start"
        assert (await steps.__anext__()).kind == "prep"
        for _ in range(20):  # other tasks run; the paused run does not
            await asyncio.sleep(0)
        assert calls == []
        assert (await steps.__anext__()).kind == "exec"
        assert calls == ["exec"]
        await steps.aclose()  # closing a paused run cancels it
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_cancelling_a_consumer_of_asteps_cancels_the_run_and_leaves_no_task() -> None:
    cancelled: list[int] = []

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [0, 1, 2]

        async def exec_async(self, item: int) -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(item)
                raise

    async def main() -> set[asyncio.Task[Any]]:
        steps = Work().asteps({})
        kinds = [(await steps.__anext__()).kind for _ in range(2)]
        assert kinds == ["start", "prep"]
        waiting = asyncio.ensure_future(steps.__anext__())  # the items start and sleep
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(main()) == set()
    assert sorted(cancelled) == [0, 1, 2]


def test_asteps_raises_the_run_error_after_the_error_event() -> None:
    class Boom(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise ValueError("bad")

    async def main() -> list[str]:
        kinds = []
        with pytest.raises(ValueError, match="bad"):
            async for event in AsyncFlow(start=Boom()).asteps({}):
                kinds.append(event.kind)
        return kinds

    assert asyncio.run(main())[-2:] == ["fallback", "error"]


def test_parallel_items_each_pause_at_their_own_event() -> None:
    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [0, 1, 2]

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0)
            return item

    async def main() -> list[Event]:
        return [event async for event in Work(max_concurrency=2).asteps({})]

    events = asyncio.run(main())
    items = sorted((e.item, e.value) for e in events if e.kind == "item")
    assert items == [(0, 0), (1, 1), (2, 2)]
    assert [e.kind for e in events][-2:] == ["exec", "post"]
    assert events[-2].value == [0, 1, 2]


def test_sync_nodes_can_be_stepped_with_asteps_too() -> None:
    async def main() -> list[str]:
        return [event.kind async for event in Node().asteps({})]

    assert asyncio.run(main()) == ["start", "prep", "exec", "post"]


# -- observers --------------------------------------------------------------------------------


def test_observers_see_every_event_of_a_plain_run() -> None:
    seen: list[Event] = []
    with observe(seen.append):
        nested_flow().run({"items": [1, 2]})
    assert summary(seen) == NESTED_EVENTS


def test_observers_see_async_and_parallel_runs() -> None:
    seen: list[Event] = []

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [1, 2, 3]

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0.001 * item)
            return item

    async def main() -> None:
        with observe(seen.append):
            await AsyncFlow(start=Work(max_concurrency=2)).run_async({})

    asyncio.run(main())
    assert sorted(e.item for e in seen if e.kind == "item") == [0, 1, 2]
    assert [e.step for e in seen] == list(range(1, len(seen) + 1))


def test_observe_blocks_nest_and_end() -> None:
    outer: list[str] = []
    inner: list[str] = []
    with observe(lambda e: outer.append(e.kind)):
        with observe(lambda e: inner.append(e.kind)):
            Node().run({})
        Node().run({})
    Node().run({})
    assert inner == ["start", "prep", "exec", "post"]
    assert outer == inner * 2


def test_no_observer_means_no_event_is_made() -> None:
    flow = nested_flow()
    quiet = Run()
    assert quiet.emit is False
    assert list(flow._steps({"items": [1, 2]}, quiet, flow, (), None)) == []
    with observe(lambda event: None):
        listened = Run()
    assert listened.emit is True
    assert len(list(flow._steps({"items": [1, 2]}, listened, flow, (), None))) == len(NESTED_EVENTS)


def test_every_observer_gets_the_same_event_objects() -> None:
    first: list[Event] = []
    second: list[Event] = []
    with observe(first.append, second.append):
        nested_flow().run({"items": [1, 2]})
    assert summary(first) == NESTED_EVENTS
    assert all(a is b for a, b in zip(first, second, strict=True))


def scope_chain(event: Event) -> list[str]:
    """The scopes of ``event`` from its own out to the root, as ``name`` or ``name#item``."""
    chain = []
    scope = event.scope
    while scope is not None:
        chain.append(scope.node.name + ("" if scope.item is None else f"#{scope.item}"))
        scope = scope.parent
    return chain


def test_each_event_names_its_run_and_the_runs_around_it() -> None:
    events: list[Event] = []
    with observe(events.append):
        nested_flow().run({"items": [1, 2]})
    by_line = {line: scope_chain(event) for line, event in zip(NESTED_EVENTS, events, strict=True)}
    assert by_line["start outer"] == ["outer"]
    assert by_line["retry outer/inner/load ValueError item=1 attempt=0"] == [
        "load", "inner", "outer"
    ]
    # a transition belongs to the run of the flow that takes it
    assert by_line["transition outer/inner/load 'sum' -> total"] == ["inner", "outer"]
    assert by_line["transition outer/inner 'done' -> report"] == ["outer"]
    runs = {event.scope.run for event in events if event.scope is not None}
    assert len(runs) == 1
    starts = [event for event in events if event.kind == "start"]
    assert [event.scope.id for event in starts if event.scope] == sorted(
        event.scope.id for event in starts if event.scope
    )
    assert len({event.scope for event in starts}) == len(starts)  # one scope per node run


def test_each_batch_flow_item_has_a_scope_of_its_own() -> None:
    class Each(BatchFlow):
        def prep(self, shared: Any) -> Any:
            return [{"n": 1}, {"n": 2}]

    events: list[Event] = []
    with observe(events.append):
        Flow(start=Each(start=Node(name="work"), name="each"), name="main").run({})
    work = [event for event in events if event.node.name == "work" and event.kind == "start"]
    assert [scope_chain(event) for event in work] == [
        ["work", "each#0", "each", "main"],
        ["work", "each#1", "each", "main"],
    ]
    items = [event for event in events if event.kind == "item"]
    assert [scope_chain(event) for event in items] == [["each#0", "each", "main"],
                                                        ["each#1", "each", "main"]]


def test_a_run_started_inside_a_node_is_a_run_of_its_own() -> None:
    class Calls(Node):
        def exec(self, prep_res: Any) -> Any:
            return Flow(start=Node(name="inside"), name="own").run({})

    events: list[Event] = []
    with observe(events.append):
        Flow(start=Calls(name="calls"), name="main").run({})
    outer_run = events[0].scope.run if events[0].scope else None
    inside = [event for event in events if event.node.name in ("own", "inside")]
    assert inside and all(event.scope and event.scope.run is not outer_run for event in inside)
    assert inside[0].step == 1  # numbered on its own


def test_events_carry_a_monotonic_time() -> None:
    events: list[Event] = []
    with observe(events.append):
        nested_flow().run({"items": [1, 2]})
    times = [event.time for event in events]
    assert all(isinstance(t, int) and t > 0 for t in times)
    assert times == sorted(times)


def test_async_events_carry_scopes_and_times_too() -> None:
    events: list[Event] = []

    async def main() -> None:
        with observe(events.append):
            await AsyncFlow(start=Fetch(name="fetch"), name="main").run_async({"query": "q"})

    asyncio.run(main())
    fetch = [e for e in events if e.node.name == "fetch" and e.kind != "transition"]
    assert {tuple(scope_chain(event)) for event in fetch} == {("fetch", "main")}
    assert [event.time for event in events] == sorted(event.time for event in events)
