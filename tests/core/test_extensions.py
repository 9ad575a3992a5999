"""What this library adds to the reference: names, limits, concurrency, clear errors."""

from __future__ import annotations

import asyncio
import re
import warnings
from typing import Any

import pytest

from pocketflow import (
    AsyncBatchNode,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BaseNode,
    BatchFlow,
    BatchNode,
    Flow,
    Node,
    StepLimitError,
)


class Loop(Node):
    """Returns "again" forever."""

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
        shared["n"] = shared.get("n", 0) + 1
        return "again"


# -- names ------------------------------------------------------------------------------------


def test_name_defaults_to_class_name_and_is_settable() -> None:
    assert Loop().name == "Loop"
    assert Node(name="fetch").name == "fetch"
    assert Flow(name="main").name == "main"
    node = Loop()
    node.name = "loop"
    assert node.name == "loop"
    assert repr(node) == "<Loop 'loop'>"
    assert repr(Loop()) == "<Loop>"


def test_every_constructor_takes_a_name() -> None:
    classes: list[type[BaseNode]] = [BaseNode, Node, BatchNode, AsyncNode, AsyncBatchNode]
    classes += [AsyncParallelBatchNode, Flow, BatchFlow, AsyncFlow, AsyncParallelBatchFlow]
    for cls in classes:
        assert cls(name="x").name == "x"


def test_a_run_copy_keeps_the_name() -> None:
    seen = []

    class Record(Node):
        def prep(self, shared: Any) -> None:
            seen.append(self.name)

    Flow(start=Record(name="record")).run({})
    assert seen == ["record"]


# -- max_steps --------------------------------------------------------------------------------


def test_max_steps_stops_a_loop_naming_the_node() -> None:
    loop = Loop(name="spin")
    loop - "again" >> loop
    flow = Flow(start=loop, name="main", max_steps=5)
    shared: dict[str, int] = {}
    with pytest.raises(StepLimitError, match=r"Flow 'main' reached max_steps=5 .* node 'spin'"):
        flow.run(shared)
    assert shared["n"] == 5


def test_max_steps_counts_steps_of_one_run_and_allows_exactly_that_many() -> None:
    class Three(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            shared["n"] = shared.get("n", 0) + 1
            return "again" if shared["n"] < 3 else "stop"

    node = Three()
    node - "again" >> node
    node - "stop" >> None
    flow = Flow(start=node, max_steps=3)
    shared: dict[str, int] = {}
    flow.run(shared)
    assert shared["n"] == 3
    shared = {}
    flow.run(shared)  # a new run counts from zero
    assert shared["n"] == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True])
def test_max_steps_must_be_a_positive_integer(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_steps must be None"):
        Flow(max_steps=bad)


def test_max_steps_guards_async_flows() -> None:
    class ALoop(AsyncNode):
        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            return "again"

    loop = ALoop()
    loop - "again" >> loop
    with pytest.raises(StepLimitError, match="max_steps=4"):
        asyncio.run(AsyncFlow(start=loop, max_steps=4).run_async({}))


def test_max_steps_stops_a_loop_inside_a_sub_flow() -> None:
    # A loop two flows down is stopped by the outermost flow's budget: every node counts.
    loop = Loop(name="spin")
    loop - "again" >> loop
    inner = Flow(start=Flow(start=loop, name="inner"), name="middle")
    flow = Flow(start=inner, name="outer", max_steps=5)
    shared: dict[str, int] = {}
    with pytest.raises(StepLimitError, match=r"Flow 'outer' reached max_steps=5 .* node 'spin'"):
        flow.run(shared)
    assert shared["n"] == 3  # middle, inner, then three runs of spin: five steps


def test_max_steps_counts_the_nodes_of_sub_flows_and_allows_exactly_that_many() -> None:
    steps = [Node(name=f"n{i}") for i in range(3)]
    steps[0] >> steps[1]
    flow = Flow(start=Flow(start=steps[0], name="inner"), name="outer", max_steps=3)
    inner = flow.start_node
    assert inner is not None
    inner >> steps[2]
    with pytest.raises(StepLimitError, match="node 'n2'"):
        flow.run({})
    Flow(start=flow.start_node, max_steps=4).run({})  # inner, n0, n1, n2: exactly four


def test_a_sub_flows_own_max_steps_still_applies_inside_a_larger_budget() -> None:
    loop = Loop(name="spin")
    loop - "again" >> loop
    flow = Flow(start=Flow(start=loop, name="inner", max_steps=2), name="outer", max_steps=100)
    with pytest.raises(StepLimitError, match=r"Flow 'inner' reached max_steps=2"):
        flow.run({})


def test_max_steps_stops_a_loop_inside_an_async_parallel_batch_flow() -> None:
    class ALoop(AsyncNode):
        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            await asyncio.sleep(0)
            return "again"

    class Each(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Any) -> Any:
            return [{"i": i} for i in range(3)]

    loop = ALoop(name="spin")
    loop - "again" >> loop
    flow = AsyncFlow(start=Each(start=loop, name="each"), name="outer", max_steps=50)
    with pytest.raises(StepLimitError, match="Flow 'outer' reached max_steps=50"):
        asyncio.run(asyncio.wait_for(flow.run_async({}), timeout=60))


def test_max_steps_one_is_accepted_and_allows_one_node() -> None:
    first, second = Node(name="first"), Node(name="second")
    first >> second
    shared: dict[str, int] = {}
    Flow(start=Loop(name="only"), max_steps=1).run(shared)
    assert shared["n"] == 1
    with pytest.raises(StepLimitError, match="node 'second'"):
        Flow(start=first, max_steps=1).run({})


# -- declared ends ----------------------------------------------------------------------------


def test_an_action_wired_to_none_ends_the_flow_silently() -> None:
    loop = Loop()
    loop - "again" >> None
    loop - "other" >> Node()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Flow(start=loop).run({}) == "again"


def test_default_wired_to_none_is_a_declared_end() -> None:
    node = Node()
    node >> None
    node - "x" >> Node()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Flow(start=node).run({}) is None


# -- wiring errors ----------------------------------------------------------------------------


def test_wiring_a_non_node_names_the_edge() -> None:
    a = Node(name="a")
    with pytest.raises(TypeError, match=re.escape("Cannot wire 'a' >> 'b' (str)")):
        a >> "b"
    with pytest.raises(TypeError, match=re.escape("Cannot wire 'a' - \"x\" >> 42 (int)")):
        a - "x" >> 42
    assert a.successors == {}


def test_chaining_a_transition_by_mistake_says_how_to_wire() -> None:
    a, b, c = Node(name="a"), Node(name="b"), Node(name="c")
    with pytest.raises(TypeError, match="one edge per statement"):
        a >> b - "x" >> c  # parsed as a >> (b - "x") >> c


@pytest.mark.parametrize("action", [1, None, 2.5, ("a",)])
def test_a_non_string_action_is_a_type_error_naming_the_node(action: Any) -> None:
    a = Node(name="a")
    with pytest.raises(TypeError, match=r"Action must be a string: got .* after node 'a'"):
        a - action
    with pytest.raises(TypeError, match="Action must be a string"):
        a.next(Node(), action)


def test_a_flow_without_start_says_how_to_give_one() -> None:
    with pytest.raises(ValueError, match=r"Flow 'main' has no start node: .*flow.start\(node\)"):
        Flow(name="main").run({})
    with pytest.raises(ValueError, match="has no start node"):
        asyncio.run(AsyncFlow().run_async({}))


def test_start_must_be_a_node() -> None:
    with pytest.raises(TypeError, match="the start must be a node"):
        Flow(start="a")  # type: ignore[arg-type]


def test_async_start_in_a_sync_flow_fails_at_wiring_time() -> None:
    with pytest.raises(RuntimeError, match=r"Node 'fetch' is async .*use AsyncFlow"):
        Flow(start=AsyncNode(name="fetch"))


def test_sync_flow_reaching_an_async_node_names_it_and_says_asyncflow() -> None:
    first = Node(name="first")
    first >> AsyncNode(name="fetch")
    flow = Flow(start=first, name="main")
    with pytest.raises(RuntimeError, match=r"Use run_async\. Node 'fetch' is async .*Flow 'main'"):
        flow.run({})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"max_retries": 1.5}, "max_retries must be an integer >= 0"),
        ({"max_retries": True}, "max_retries must be an integer >= 0"),
        ({"wait": float("nan")}, "wait must be a number of seconds >= 0"),
        ({"wait": -0.1}, "wait must be a number of seconds >= 0"),
    ],
)
def test_retry_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Node(**kwargs, name="n")


@pytest.mark.parametrize("bad", [0, -3, 2.0, True])
def test_max_concurrency_must_be_a_positive_integer(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_concurrency must be None"):
        AsyncParallelBatchNode(max_concurrency=bad)
    with pytest.raises(ValueError, match="max_concurrency must be None"):
        AsyncParallelBatchFlow(max_concurrency=bad)


@pytest.mark.parametrize("items", ["abc", b"abc", 42])
def test_batch_prep_must_return_an_iterable_that_is_not_a_string(items: Any) -> None:
    class Batch(BatchNode):
        def prep(self, shared: Any) -> Any:
            return items

    with pytest.raises(TypeError, match=r"BatchNode 'Batch': prep must return an iterable"):
        Batch().run({})


@pytest.mark.parametrize("param_sets", ["abc", {"a": 1}, [{"a": 1}, "b"], 7])
def test_batch_flow_prep_must_return_param_dicts(param_sets: Any) -> None:
    class Params(BatchFlow):
        def prep(self, shared: Any) -> Any:
            return param_sets

    with pytest.raises(TypeError, match="prep must return a list of param dicts"):
        Params(start=Node(), name="p").run({})


def test_errors_carry_a_note_naming_the_node_and_phase() -> None:
    class Boom(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            raise KeyError("missing")

    inner = Flow(start=Boom(name="boom"), name="inner")
    outer = Flow(start=inner, name="outer")
    with pytest.raises(KeyError) as info:
        outer.run({})
    notes = getattr(info.value, "__notes__", None)
    if notes is None:
        pytest.skip("exception notes need Python 3.11+")
    assert notes == ["pocketflow: raised in post of node 'boom' (in outer > inner)"]


# -- async batches ----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AsyncBatchNode, AsyncParallelBatchNode])
def test_async_batch_prep_none_means_no_items(cls: type[AsyncBatchNode]) -> None:
    class Batch(cls):  # type: ignore[valid-type,misc]
        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared["results"] = exec_res

    shared: dict[str, Any] = {}
    asyncio.run(Batch().run_async(shared))
    assert shared["results"] == []


class InFlight:
    """Counts how many items run at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def hold(self, delay: float = 0.001) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(delay)
        finally:
            self.now -= 1


def test_max_concurrency_caps_items_in_flight_under_failures_and_retries() -> None:
    gauge = InFlight()
    failed_once: set[int] = set()

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return list(range(40))

        async def exec_async(self, item: int) -> int:
            await gauge.hold()
            if item % 3 == 0 and item not in failed_once:
                failed_once.add(item)
                raise ValueError(item)
            return item * 2

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    shared: dict[str, Any] = {}
    asyncio.run(Work(max_retries=2, max_concurrency=4).run_async(shared))
    assert shared["out"] == [i * 2 for i in range(40)]
    assert gauge.most == 4
    assert gauge.now == 0


def test_unbounded_parallel_batch_runs_everything_at_once() -> None:
    gauge = InFlight()

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return list(range(25))

        async def exec_async(self, item: int) -> int:
            await gauge.hold(0.01)
            return item

    asyncio.run(Work().run_async({}))
    assert gauge.most == 25


def test_retry_state_is_per_item_in_a_parallel_batch() -> None:
    tries: dict[int, list[int]] = {}

    class Flaky(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [0, 1, 2]

        async def exec_async(self, item: int) -> int:
            tries.setdefault(item, []).append(self.cur_retry)
            await asyncio.sleep(0.001 * (3 - item))
            if self.cur_retry < item:
                raise RuntimeError("again")
            return self.cur_retry

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    shared: dict[str, Any] = {}
    asyncio.run(Flaky(max_retries=3).run_async(shared))
    assert shared["out"] == [0, 1, 2]
    assert tries == {0: [0], 1: [0, 1], 2: [0, 1, 2]}


def _failing_parallel_run(node_or_flow: AsyncNode) -> tuple[list[str], set[asyncio.Task[Any]]]:
    async def main() -> tuple[list[str], set[asyncio.Task[Any]]]:
        with pytest.raises(ZeroDivisionError):
            await node_or_flow.run_async(log)
        return log["events"], asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    log: dict[str, Any] = {"events": []}
    return asyncio.run(main())


def test_a_failing_item_cancels_its_siblings_and_leaves_no_task() -> None:
    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            self.log = shared["events"]
            return [0, 1, 2, 3]

        async def exec_async(self, item: int) -> int:
            self.log.append(f"start {item}")
            if item == 0:
                await asyncio.sleep(0)
                raise ZeroDivisionError
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.log.append(f"cancelled {item}")
                raise
            return item

    events, left = _failing_parallel_run(Work())
    assert sorted(e for e in events if e.startswith("cancelled")) == [
        "cancelled 1",
        "cancelled 2",
        "cancelled 3",
    ]
    assert left == set()


def test_a_failing_sub_flow_cancels_the_other_sub_flows() -> None:
    class Step(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            if self.params["i"] == 1:
                raise ZeroDivisionError
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.params["log"].append(f"cancelled {self.params['i']}")
                raise

    class Runs(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Any) -> list[dict[str, Any]]:
            return [{"i": i, "log": shared["events"]} for i in range(3)]

    events, left = _failing_parallel_run(Runs(start=Step()))
    assert sorted(events) == ["cancelled 0", "cancelled 2"]
    assert left == set()


def test_cancelling_a_running_flow_cancels_every_item() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    class Work(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return list(range(5))

        async def exec_async(self, item: int) -> None:
            started.append(item)
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(item)
                raise

    async def main() -> set[asyncio.Task[Any]]:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(AsyncFlow(start=Work()).run_async({}), timeout=0.05)
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(main()) == set()
    assert sorted(started) == sorted(cancelled) == [0, 1, 2, 3, 4]


def test_parallel_batch_flow_respects_max_concurrency() -> None:
    gauge = InFlight()

    class Step(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            await gauge.hold()

    class Runs(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Any) -> list[dict[str, int]]:
            return [{"i": i} for i in range(12)]

    asyncio.run(Runs(start=Step(), max_concurrency=3).run_async({}))
    assert gauge.most == 3
