"""Exceptions that are not ordinary errors, raised inside a node.

``KeyboardInterrupt``, ``SystemExit``, a cancellation from outside and a ``StopIteration`` from a
hook each reach the caller as the very object raised, and the run reports where it happened: an
``error`` event naming the node, so that a trace, a live view or a stepper can say where the run
was interrupted. Closing a stepped run is not a failure and reports nothing.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import pytest

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
from pocketflow.trace import arecord, record

Shared = dict[str, Any]


class Raises(Node):
    """Raises ``self.exc`` in ``self.phase``."""

    def __init__(self, exc: BaseException, phase: str, name: str) -> None:
        super().__init__(name=name)
        self.exc = exc
        self.phase = phase

    def prep(self, shared: Shared) -> Any:
        if self.phase == "prep":
            raise self.exc
        return [1, 2]

    def exec(self, prep_res: Any) -> Any:
        if self.phase == "exec":
            raise self.exc
        return prep_res

    def exec_fallback(self, prep_res: Any, exc: Exception) -> Any:
        if self.phase == "fallback":
            raise self.exc
        raise exc

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        if self.phase == "post":
            raise self.exc
        shared["after"] = True
        return None


class FailsThenFallsBack(Raises):
    def exec(self, prep_res: Any) -> Any:
        raise ValueError("every try fails")


class After(Node):
    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        shared["next node ran"] = True


def nested(node: Node) -> Flow:
    node >> After()
    return Flow(start=Flow(start=node, name="inner"), name="outer")


INTERRUPTS = [KeyboardInterrupt, SystemExit]


@pytest.mark.parametrize("kind", INTERRUPTS)
@pytest.mark.parametrize("phase", ["prep", "exec", "post"])
def test_an_interrupt_in_a_node_is_reported_there_and_propagates_unchanged(
    kind: type[BaseException], phase: str
) -> None:
    exc = kind()
    node = Raises(exc, phase, name="deep")
    flow = nested(node)
    seen: list[Event] = []
    shared: Shared = {}
    with pytest.raises(kind) as raised, observe(seen.append):
        flow.run(shared)
    assert raised.value is exc
    errors = [event for event in seen if event.kind == "error"]
    assert len(errors) == 1  # where it happened, not again in each enclosing flow
    assert errors[0].node is node and errors[0].value is exc
    assert errors[0].path == ("outer", "inner")
    assert seen[-1] is errors[0]
    assert "next node ran" not in shared


def test_a_trace_of_an_interrupted_run_names_the_node() -> None:
    node = Raises(KeyboardInterrupt(), "exec", name="deep")
    with pytest.raises(KeyboardInterrupt) as raised:
        record(nested(node), {})
    trace = raised.value.trace  # type: ignore[attr-defined]
    assert trace.failed == trace.graph.id_of(node)
    assert isinstance(trace.error, KeyboardInterrupt)


def test_stepping_reports_an_interrupt_before_raising_it() -> None:
    exc = KeyboardInterrupt()
    node = Raises(exc, "post", name="deep")
    steps = nested(node).steps({})
    kinds = []
    with pytest.raises(KeyboardInterrupt) as raised:
        for event in steps:
            kinds.append((event.kind, event.node.name))
    assert raised.value is exc
    assert kinds[-1] == ("error", "deep")


def test_closing_a_stepped_run_reports_nothing_and_raises_nothing() -> None:
    seen: list[Event] = []
    with observe(seen.append):
        steps = nested(Raises(ValueError(), "never", name="deep")).steps({})
        first = [next(steps) for _ in range(5)]
        steps.close()  # must not raise "generator ignored GeneratorExit"
    assert "error" not in [event.kind for event in first + seen]


class Sleeps(AsyncNode):
    def __init__(self, started: asyncio.Event, name: str) -> None:
        super().__init__(name=name)
        self.started = started

    async def exec_async(self, prep_res: Any) -> Any:
        self.started.set()
        await asyncio.sleep(60)


def test_an_outside_cancellation_is_reported_where_the_run_was() -> None:
    async def main() -> tuple[list[Event], asyncio.Task[Any], Sleeps]:
        started = asyncio.Event()
        node = Sleeps(started, name="waiting")
        flow = AsyncFlow(start=AsyncFlow(start=node, name="inner"), name="outer")
        seen: list[Event] = []
        with observe(seen.append):
            task = asyncio.ensure_future(flow.run_async({}))
        await started.wait()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen, task, node

    seen, task, node = asyncio.run(main())
    assert task.cancelled()
    errors = [event for event in seen if event.kind == "error"]
    assert len(errors) == 1
    assert errors[0].node is node
    assert isinstance(errors[0].value, asyncio.CancelledError)


def test_a_cancelled_asteps_run_does_not_wait_for_its_consumer() -> None:
    # The cancellation's error event goes to the stepping consumer without holding the run up:
    # closing the generator returns instead of waiting forever for the consumer to resume it.
    async def main() -> list[str]:
        started = asyncio.Event()
        flow = AsyncFlow(start=Sleeps(started, name="waiting"))
        steps = flow.asteps({})
        kinds = []
        async for event in steps:
            kinds.append(event.kind)
            if event.kind == "prep" and event.node.name == "waiting":
                break
        await asyncio.wait_for(steps.aclose(), timeout=30)
        return kinds

    assert asyncio.run(main())[-1] == "prep"


def test_the_items_a_failure_cancels_are_not_reported_as_failures() -> None:
    class OneFails(AsyncParallelBatchNode):
        async def prep_async(self, shared: Shared) -> Any:
            return range(5)

        async def exec_async(self, item: int) -> Any:
            if item == 2:
                await asyncio.sleep(0)
                raise ValueError("item 2")
            await asyncio.sleep(60)

    async def main() -> list[Event]:
        seen: list[Event] = []
        with observe(seen.append), pytest.raises(ValueError):
            await AsyncFlow(start=OneFails(name="batch")).run_async({})
        return seen

    errors = [event for event in asyncio.run(main()) if event.kind == "error"]
    assert [type(event.value) for event in errors] == [ValueError]


def test_a_trace_of_a_cancelled_async_run_names_the_node() -> None:
    async def recording(node: Sleeps) -> Any:
        try:
            await arecord(AsyncFlow(start=node), {})
        except asyncio.CancelledError as exc:  # the very exception the run raised
            return exc.trace  # type: ignore[attr-defined]
        raise AssertionError("the run was not cancelled")

    async def main() -> Any:
        started = asyncio.Event()
        node = Sleeps(started, name="waiting")
        task = asyncio.ensure_future(recording(node))
        await started.wait()
        task.cancel()
        return await task, node

    trace, node = asyncio.run(main())
    assert trace.failed == trace.graph.id_of(node)


# -- StopIteration keeps its type -------------------------------------------------------------


@pytest.mark.parametrize("phase", ["prep", "exec", "fallback", "post"])
@pytest.mark.parametrize("observed", [False, True])
def test_a_stop_iteration_from_a_hook_surfaces_as_itself(phase: str, observed: bool) -> None:
    exc = StopIteration("from the user's hook")
    node = (FailsThenFallsBack if phase == "fallback" else Raises)(exc, phase, name="deep")
    seen: list[Event] = []
    with pytest.raises(StopIteration) as raised, observe(*([seen.append] if observed else [])):
        nested(node).run({})
    assert raised.value is exc
    if observed:
        assert [event.value for event in seen if event.kind == "error"] == [exc]
    # set on Python 3.10 too, where IPython and the toolkit's views show it
    where = "pocketflow: raised in " + _phase(phase) + " of node 'deep' (in outer > inner)"
    assert exc.__notes__ == [where]


def _phase(phase: str) -> str:
    return "exec" if phase == "fallback" else phase


def test_a_stop_iteration_from_a_batch_item_surfaces_as_itself() -> None:
    exc = StopIteration()

    class Items(BatchNode):
        def prep(self, shared: Shared) -> Any:
            return [1, 2, 3]

        def exec(self, item: int) -> Any:
            if item == 2:
                raise exc
            return item

    with pytest.raises(StopIteration) as raised:
        Flow(start=Items()).run({})
    assert raised.value is exc


def test_a_stop_iteration_matches_the_reference(reference: Any) -> None:
    def build(lib: Any) -> Any:
        class Stops(lib.Node):
            def exec(self, prep_res: Any) -> Any:
                raise StopIteration("done")

        return lib.Flow(start=Stops())

    import pocketflow

    for lib in (reference, pocketflow):
        with pytest.raises(StopIteration, match="done"):
            build(lib).run({})


# -- the library's frames are hidden in notebook tracebacks ---------------------------------


class FailsInExec(Node):
    def exec(self, prep_res: Any) -> Any:
        raise ValueError("the user's own failure")


@pytest.mark.parametrize("flow_kind", ["sync", "async"])
def test_only_the_users_frames_are_left_when_hidden_frames_are_dropped(flow_kind: str) -> None:
    # IPython (and pytest) leave out frames whose locals set __tracebackhide__.
    node = FailsInExec(name="deep")
    if flow_kind == "sync":
        flow: Any = nested(node)
        call = lambda: flow.run({})  # noqa: E731
    else:
        flow = AsyncFlow(start=AsyncFlow(start=node, name="inner"), name="outer")
        call = lambda: asyncio.run(flow.run_async({}))  # noqa: E731
    with pytest.raises(ValueError) as raised:
        call()
    shown = [
        frame.f_code.co_name
        for frame, _ in traceback.walk_tb(raised.value.__traceback__)
        if not frame.f_locals.get("__tracebackhide__")
    ]
    library = [
        frame.f_code.co_filename
        for frame, _ in traceback.walk_tb(raised.value.__traceback__)
        if "pocketflow" in frame.f_code.co_filename.replace("pocketflow_widgets", "")
        and not frame.f_locals.get("__tracebackhide__")
    ]
    assert shown[-1] == "exec"
    assert library == []
