"""Fault injection: an exception in any phase of any node kind, and cancellation.

An exception raised by user code in ``prep``, ``exec`` (on the only try, or on every try of
several), ``exec_fallback`` or ``post`` of every node kind, sync and async, or in the ``prep`` or
``post`` of a nested flow of every kind, must reach the caller as the very object raised, with
its traceback ending in the user code that raised it and, on Python 3.11+, one note naming the
phase and the node. Observers see exactly one "error" event, naming the wired node, as the last
event. ``shared`` keeps exactly what was written before the failure. This holds whether the run
is ``run``/``run_async``, observed, or stepped with ``steps``/``asteps``.

Cancelling a running async flow (``task.cancel``, ``asyncio.wait_for``, closing ``asteps``)
stops every item of every parallel batch at once, queued items never start, and no task is left.
``max_concurrency`` holds at every level, through failures and retries.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from pocketflow import (
    AsyncBatchFlow,
    AsyncBatchNode,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BaseNode,
    BatchFlow,
    BatchNode,
    Event,
    Flow,
    Node,
    observe,
)

Shared = dict[str, Any]

NODE_KINDS = ["Node", "BatchNode", "AsyncNode", "AsyncBatchNode", "AsyncParallelBatchNode"]
FLOW_KINDS = ["Flow", "BatchFlow", "AsyncFlow", "AsyncBatchFlow", "AsyncParallelBatchFlow"]
#: Where a node fails: "exec" on its one try, "retries" on each of three tries, "fallback" in
#: ``exec_fallback`` after two failed tries.
NODE_FAULTS = ["prep", "exec", "retries", "fallback", "post"]
FLOW_FAULTS = ["prep", "post"]
DRIVERS = ["run", "observe", "steps", "asteps"]
#: The phase a note names for each fault.
NOTE_PHASE = {"prep": "prep", "exec": "exec", "retries": "exec", "fallback": "exec", "post": "post"}


class Boom(Exception):
    """What the faulty user code raises."""


@dataclass
class Fault:
    """Where to fail, and every exception raised there (in order)."""

    phase: str
    raised: list[Boom] = field(default_factory=list)


def fail(fault: Fault, what: str) -> None:
    """Raise a new :class:`Boom` from user code, remembering it."""
    exc = Boom(what)
    fault.raised.append(exc)
    raise exc


def write(shared: Shared, node: BaseNode, phase: str) -> None:
    """Record in ``shared`` that ``node`` reached ``phase`` (with the batch run it is in)."""
    run = f":{node.params['i']}" if "i" in node.params else ""
    shared["written"].append(f"{node.name}:{phase}{run}")


# -- faulty nodes: the same hooks, sync and async ---------------------------------------------


class FaultyHooks:
    """The phases of a node that fails where ``self.fault`` says."""

    fault: Fault
    batch: bool
    name: str
    cur_retry: int

    def do_prep(self, shared: Shared) -> Any:
        write(shared, self, "prep")  # type: ignore[arg-type]
        if self.fault.phase == "prep":
            fail(self.fault, f"prep of {self.name}")
        return [0, 1, 2] if self.batch else 1

    def do_exec(self, item: int) -> int:
        if item == 1 and self.fault.phase in ("exec", "retries", "fallback"):
            fail(self.fault, f"exec of {self.name}, item {item}")
        return item * 10

    def do_fallback(self, item: int, exc: Exception) -> int:
        if self.fault.phase == "fallback":
            fail(self.fault, f"fallback of {self.name}, item {item}")
        raise exc

    def do_post(self, shared: Shared, exec_res: Any) -> None:
        write(shared, self, "post")  # type: ignore[arg-type]
        if self.fault.phase == "post":
            fail(self.fault, f"post of {self.name}")


class FaultyNode(FaultyHooks, Node):
    def prep(self, shared: Shared) -> Any:
        return self.do_prep(shared)

    def exec(self, item: int) -> int:
        return self.do_exec(item)

    def exec_fallback(self, item: int, exc: Exception) -> int:
        return self.do_fallback(item, exc)

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
        self.do_post(shared, exec_res)


class FaultyBatchNode(FaultyNode, BatchNode):
    pass


class FaultyAsyncNode(FaultyHooks, AsyncNode):
    async def prep_async(self, shared: Shared) -> Any:
        await asyncio.sleep(0)
        return self.do_prep(shared)

    async def exec_async(self, item: int) -> int:
        await asyncio.sleep(0)
        return self.do_exec(item)

    async def exec_fallback_async(self, item: int, exc: Exception) -> int:
        await asyncio.sleep(0)
        return self.do_fallback(item, exc)

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
        await asyncio.sleep(0)
        self.do_post(shared, exec_res)


class FaultyAsyncBatchNode(FaultyAsyncNode, AsyncBatchNode):
    pass


class FaultyAsyncParallelBatchNode(FaultyAsyncNode, AsyncParallelBatchNode):
    pass


FAULTY_NODES: dict[str, type[FaultyHooks]] = {
    "Node": FaultyNode,
    "BatchNode": FaultyBatchNode,
    "AsyncNode": FaultyAsyncNode,
    "AsyncBatchNode": FaultyAsyncBatchNode,
    "AsyncParallelBatchNode": FaultyAsyncParallelBatchNode,
}


def faulty_node(kind: str, phase: str) -> Any:
    tries = {"retries": 3, "fallback": 2}.get(phase, 1)
    node: Any = FAULTY_NODES[kind](max_retries=tries, name="faulty")
    node.fault = Fault(phase)
    node.batch = "Batch" in kind
    return node


# -- faulty flows -----------------------------------------------------------------------------


class FaultyFlowHooks:
    """The ``prep`` and ``post`` of a flow that fails where ``self.fault`` says."""

    fault: Fault
    batch: bool
    name: str

    def do_prep(self, shared: Shared) -> Any:
        write(shared, self, "prep")  # type: ignore[arg-type]
        if self.fault.phase == "prep":
            fail(self.fault, f"prep of {self.name}")
        return [{"i": 0}, {"i": 1}] if self.batch else None

    def do_post(self, shared: Shared, exec_res: Any) -> Any:
        write(shared, self, "post")  # type: ignore[arg-type]
        if self.fault.phase == "post":
            fail(self.fault, f"post of {self.name}")
        return exec_res


class FaultyFlow(FaultyFlowHooks, Flow):
    def prep(self, shared: Shared) -> Any:
        return self.do_prep(shared)

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        return self.do_post(shared, exec_res)


class FaultyBatchFlow(FaultyFlow, BatchFlow):
    pass


class FaultyAsyncFlow(FaultyFlowHooks, AsyncFlow):
    async def prep_async(self, shared: Shared) -> Any:
        await asyncio.sleep(0)
        return self.do_prep(shared)

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        await asyncio.sleep(0)
        return self.do_post(shared, exec_res)


class FaultyAsyncBatchFlow(FaultyAsyncFlow, AsyncBatchFlow):
    pass


class FaultyAsyncParallelBatchFlow(FaultyAsyncFlow, AsyncParallelBatchFlow):
    pass


FAULTY_FLOWS: dict[str, type[FaultyFlowHooks]] = {
    "Flow": FaultyFlow,
    "BatchFlow": FaultyBatchFlow,
    "AsyncFlow": FaultyAsyncFlow,
    "AsyncBatchFlow": FaultyAsyncBatchFlow,
    "AsyncParallelBatchFlow": FaultyAsyncParallelBatchFlow,
}


class Marker(Node):
    """A healthy node that records its ``prep`` and ``post`` in ``shared``."""

    def prep(self, shared: Shared) -> None:
        write(shared, self, "prep")

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
        write(shared, self, "post")


# -- running a faulty program -----------------------------------------------------------------


@dataclass
class Failure:
    """What a failed run showed."""

    exc: BaseException
    events: list[Event]
    shared: Shared


def outer_flow(inner: BaseNode, is_async: bool) -> BaseNode:
    """``first >> inner >> after`` in a flow named "outer"."""
    first, after = Marker(name="first"), Marker(name="after")
    first >> inner >> after
    return (AsyncFlow if is_async else Flow)(start=first, name="outer")


def run_failing(flow: BaseNode, is_async: bool, driver: str) -> Failure:
    shared: Shared = {"written": []}
    events: list[Event] = []
    with pytest.raises(Boom) as info:
        if driver == "steps":
            events.extend(flow.steps(shared))
        elif driver == "asteps":
            asyncio.run(_pull(flow, shared, events))
        elif driver == "observe":
            with observe(events.append):
                _run(flow, shared, is_async)
        else:
            _run(flow, shared, is_async)
    return Failure(info.value, events, shared)


def _run(flow: BaseNode, shared: Shared, is_async: bool) -> None:
    if is_async:
        asyncio.run(flow.run_async(shared))  # type: ignore[attr-defined]
    else:
        flow.run(shared)


async def _pull(flow: BaseNode, shared: Shared, events: list[Event]) -> None:
    async for event in flow.asteps(shared):
        events.append(event)


def check_failure(failure: Failure, fault: Fault, node: BaseNode, note: str, driver: str) -> None:
    """The checks every injected fault must pass."""
    exc = failure.exc
    assert exc is fault.raised[-1]
    last_frame = traceback.extract_tb(exc.__traceback__)[-1]
    assert (last_frame.filename, last_frame.name) == (__file__, "fail")
    if sys.version_info >= (3, 11):
        assert [n for n in getattr(exc, "__notes__", []) if n.startswith("pocketflow:")] == [note]
    if driver == "run":
        assert failure.events == []
        return
    errors = [event for event in failure.events if event.kind == "error"]
    assert len(errors) == 1
    assert failure.events[-1] is errors[0]
    assert errors[0].node is node
    assert errors[0].value is exc
    assert all(event.kind != "error" for event in failure.events[:-1])


def drivers_for(is_async: bool) -> list[str]:
    return [d for d in DRIVERS if not (is_async and d == "steps")]


NODE_CASES = [
    pytest.param(kind, phase, driver, id=f"{kind}-{phase}-{driver}")
    for kind in NODE_KINDS
    for phase in NODE_FAULTS
    for driver in drivers_for(kind.startswith("Async"))
]


@pytest.mark.parametrize(("kind", "phase", "driver"), NODE_CASES)
def test_a_node_fault_reaches_the_caller_unchanged(kind: str, phase: str, driver: str) -> None:
    is_async = kind.startswith("Async")
    node = faulty_node(kind, phase)
    inner = (AsyncFlow if is_async else Flow)(start=node, name="inner")
    failure = run_failing(outer_flow(inner, is_async), is_async, driver)

    note = f"pocketflow: raised in {NOTE_PHASE[phase]} of node 'faulty' (in outer > inner)"
    check_failure(failure, node.fault, node, note, driver)
    written = ["first:prep", "first:post", "faulty:prep"]
    if phase == "post":
        written.append("faulty:post")
    assert failure.shared == {"written": written}


@pytest.mark.parametrize("kind", NODE_KINDS)
def test_every_failed_try_is_reported_and_the_last_one_escapes(kind: str) -> None:
    is_async = kind.startswith("Async")
    node = faulty_node(kind, "retries")
    failure = run_failing(outer_flow(node, is_async), is_async, "observe")
    raised = node.fault.raised
    assert len(raised) == 3
    assert failure.exc is raised[2]
    tries = [
        (e.kind, e.attempt, e.value) for e in failure.events if e.kind in ("retry", "fallback")
    ]
    assert tries == [("retry", 0, raised[0]), ("retry", 1, raised[1]), ("fallback", 2, raised[2])]


FLOW_CASES = [
    pytest.param(kind, phase, driver, id=f"{kind}-{phase}-{driver}")
    for kind in FLOW_KINDS
    for phase in FLOW_FAULTS
    for driver in drivers_for(kind.startswith("Async"))
]


@pytest.mark.parametrize(("kind", "phase", "driver"), FLOW_CASES)
def test_a_nested_flow_fault_reaches_the_caller_unchanged(
    kind: str, phase: str, driver: str
) -> None:
    is_async = kind.startswith("Async")
    child = Marker(name="child")
    flow: Any = FAULTY_FLOWS[kind](start=child, name="inner")
    flow.fault = Fault(phase)
    flow.batch = "Batch" in kind
    failure = run_failing(outer_flow(flow, is_async), is_async, driver)

    note = f"pocketflow: raised in {phase} of node 'inner' (in outer)"
    check_failure(failure, flow.fault, flow, note, driver)
    written = ["first:prep", "first:post", "inner:prep"]
    if phase == "post":
        runs = [":0", ":1"] if flow.batch else [""]
        written += [f"child:{p}{run}" for run in runs for p in ("prep", "post")]
        written.append("inner:post")
    # sub-runs of a parallel batch flow may interleave
    assert Counter(failure.shared["written"]) == Counter(written)
    if kind != "AsyncParallelBatchFlow":
        assert failure.shared == {"written": written}


@pytest.mark.parametrize("kind", ["AsyncBatchNode", "AsyncParallelBatchNode"])
def test_a_failing_item_of_a_top_level_batch_needs_no_flow(kind: str) -> None:
    node = faulty_node(kind, "exec")
    failure = run_failing(node, True, "observe")
    note = "pocketflow: raised in exec of node 'faulty'"
    check_failure(failure, node.fault, node, note, "observe")
    assert failure.shared == {"written": ["faulty:prep"]}


# -- cancellation -----------------------------------------------------------------------------


class Blocked:
    """Leaves that block until cancelled, and what happened to each."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.started: list[Any] = []
        self.cancelled: list[Any] = []
        self.finished: list[Any] = []
        self.all_started = asyncio.Event()

    async def block(self, key: Any) -> None:
        self.started.append(key)
        if len(self.started) == self.expected:
            self.all_started.set()
        try:
            await asyncio.Event().wait()  # never set: only cancellation ends this
        except asyncio.CancelledError:
            self.cancelled.append(key)
            raise
        self.finished.append(key)


def blocked_tree(blocked: Blocked, limit: int | None = None) -> AsyncFlow:
    """outer (AsyncFlow) > runs (parallel batch flow, 3 runs) > leaves (parallel batch, 4 items)."""

    class Leaves(AsyncParallelBatchNode):
        async def prep_async(self, shared: Shared) -> list[tuple[int, int]]:
            return [(self.params["run"], item) for item in range(4)]

        async def exec_async(self, key: tuple[int, int]) -> None:
            await blocked.block(key)

        async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
            shared.setdefault("posted", []).append(self.params["run"])

    class Runs(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Shared) -> list[dict[str, int]]:
            return [{"run": run} for run in range(3)]

    leaves = Leaves(max_concurrency=limit, name="leaves")
    runs = Runs(start=leaves, max_concurrency=limit, name="runs")
    runs >> Marker(name="after")
    return AsyncFlow(start=runs, name="outer")


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]


@pytest.mark.parametrize("limit", [None, 2])
def test_task_cancel_stops_every_item_at_every_level(limit: int | None) -> None:
    # 12 leaves run at once without a limit; with 2 runs of 2 items each, 4 do.
    blocked = Blocked(expected=12 if limit is None else 4)
    shared: Shared = {"written": []}

    async def main() -> set[asyncio.Task[Any]]:
        task = asyncio.ensure_future(blocked_tree(blocked, limit).run_async(shared))
        await blocked.all_started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return other_tasks()

    assert asyncio.run(main()) == set()
    assert len(blocked.started) == blocked.expected  # queued items never started
    assert sorted(blocked.cancelled) == sorted(blocked.started)
    assert blocked.finished == []
    assert shared == {"written": []}  # no post ran, and "after" never started


def test_wait_for_timeout_stops_every_item_and_leaves_no_task() -> None:
    blocked = Blocked(expected=12)

    async def main() -> set[asyncio.Task[Any]]:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(blocked_tree(blocked).run_async({"written": []}), 0.05)
        return other_tasks()

    assert asyncio.run(main()) == set()
    assert len(blocked.started) == 12
    assert sorted(blocked.cancelled) == sorted(blocked.started)


def test_cancelling_the_consumer_of_asteps_cancels_the_run() -> None:
    blocked = Blocked(expected=12)

    async def main() -> set[asyncio.Task[Any]]:
        consumer = asyncio.ensure_future(_drain(blocked_tree(blocked).asteps({"written": []})))
        await blocked.all_started.wait()
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        return other_tasks()

    assert asyncio.run(main()) == set()
    assert len(blocked.started) == 12
    assert sorted(blocked.cancelled) == sorted(blocked.started)


def test_closing_asteps_midway_cancels_the_run() -> None:
    blocked = Blocked(expected=12)

    async def main() -> tuple[list[str], set[asyncio.Task[Any]]]:
        steps = blocked_tree(blocked).asteps({"written": []})
        seen = []
        async for event in steps:
            seen.append(f"{event.kind} {event.node.name}")
            if seen.count("prep leaves") == 3:  # every run is inside its parallel batch
                break
        await steps.aclose()
        return seen, other_tasks()

    seen, left = asyncio.run(main())
    assert left == set()
    assert seen.count("prep leaves") == 3
    assert sorted(blocked.cancelled) == sorted(blocked.started)
    assert blocked.finished == []


async def _drain(steps: Any) -> None:
    async for _ in steps:
        pass


def test_cancelling_a_retry_wait_is_prompt() -> None:
    failed = asyncio.Event()
    tries: list[int] = []

    class Flaky(AsyncParallelBatchNode):
        async def prep_async(self, shared: Shared) -> list[int]:
            return [0, 1, 2]

        async def exec_async(self, item: int) -> None:
            tries.append(item)
            if len(tries) == 3:
                failed.set()
            raise Boom(item)

    async def main() -> tuple[float, set[asyncio.Task[Any]]]:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(AsyncFlow(start=Flaky(max_retries=2, wait=30)).run_async({}))
        await failed.wait()
        began = loop.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return loop.time() - began, other_tasks()

    elapsed, left = asyncio.run(main())
    assert left == set()
    assert sorted(tries) == [0, 1, 2]  # nobody got a second try
    assert elapsed < 5  # far from the 30 s wait


def test_a_failure_under_max_concurrency_cancels_the_running_and_drops_the_queued() -> None:
    started: list[int] = []
    cancelled: list[int] = []
    two_running = asyncio.Event()

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Shared) -> list[int]:
            return list(range(10))

        async def exec_async(self, item: int) -> None:
            started.append(item)
            if len(started) == 3:
                two_running.set()
            if item == 2:
                await two_running.wait()
                raise Boom("item 2")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(item)
                raise

    async def main() -> set[asyncio.Task[Any]]:
        with pytest.raises(Boom, match="item 2"):
            await Work(max_concurrency=3).run_async({})
        return other_tasks()

    assert asyncio.run(main()) == set()
    assert sorted(started) == [0, 1, 2]
    assert sorted(cancelled) == [0, 1]


# -- max_concurrency under failures and retries -----------------------------------------------


class Gauge:
    """Counts how many holders are inside at once, per key."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def enter(self, key: str) -> None:
        self.now[key] += 1
        self.most[key] = max(self.most[key], self.now[key])

    def leave(self, key: str) -> None:
        self.now[key] -= 1

    async def hold(self, key: str, turns: int) -> None:
        self.enter(key)
        try:
            for _ in range(turns):
                await asyncio.sleep(0)
        finally:
            self.leave(key)


@pytest.mark.parametrize(("runs_limit", "items_limit"), [(1, 1), (2, 3), (3, 2), (5, 4)])
def test_max_concurrency_holds_at_every_level_through_failures_and_retries(
    runs_limit: int, items_limit: int
) -> None:
    gauge = Gauge()
    failed: set[tuple[int, int]] = set()

    class Begin(AsyncNode):
        async def prep_async(self, shared: Shared) -> None:
            gauge.enter("runs")

        async def exec_async(self, prep_res: Any) -> None:
            await asyncio.sleep(0)

    class Items(AsyncParallelBatchNode):
        async def prep_async(self, shared: Shared) -> list[tuple[int, int]]:
            return [(self.params["run"], item) for item in range(6)]

        async def exec_async(self, key: tuple[int, int]) -> int:
            run, item = key
            await gauge.hold(f"items of run {run}", 1 + item % 3)
            if item % 2 == 0 and key not in failed:  # every even item fails its first try
                failed.add(key)
                raise Boom(key)
            if item == 5:
                raise Boom("item 5 always fails")
            return item

        async def exec_fallback_async(self, key: tuple[int, int], exc: Exception) -> int:
            return -1

        async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
            shared[self.params["run"]] = exec_res
            gauge.leave("runs")

    class Runs(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Shared) -> list[dict[str, int]]:
            return [{"run": run} for run in range(7)]

    begin = Begin()
    begin >> Items(max_retries=2, max_concurrency=items_limit)
    shared: Shared = {}
    asyncio.run(Runs(start=begin, max_concurrency=runs_limit).run_async(shared))

    assert shared == {run: [0, 1, 2, 3, 4, -1] for run in range(7)}
    assert gauge.most["runs"] == runs_limit
    for run in range(7):
        assert gauge.most[f"items of run {run}"] == items_limit
    assert +gauge.now == Counter()
