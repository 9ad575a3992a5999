"""Bad input gives a clear error that names the node and what was expected; deep nesting works.

``test_extensions.py`` pins the first messages of each kind on one class each; here every class
that takes the input is checked, with the whole message, and the cases it leaves out: classes
instead of instances, async nodes met deep inside sync flows, batch flows of every kind without a
start node or with bad param sets, async batches with bad items. Nothing may hang (the suite runs
under pytest-timeout). Flows nest 50 deep, sync and async, run, observed and stepped.
"""

from __future__ import annotations

import asyncio
import math
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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

NODE_CLASSES: list[type[Node]] = [
    Node,
    BatchNode,
    AsyncNode,
    AsyncBatchNode,
    AsyncParallelBatchNode,
]
BATCH_FLOW_CLASSES: list[type[BatchFlow]] = [BatchFlow, AsyncBatchFlow, AsyncParallelBatchFlow]


def run(node: BaseNode, shared: Shared | None = None) -> Any:
    """Run ``node`` the way its kind is run: ``run`` or ``run_async``."""
    shared = {} if shared is None else shared
    if isinstance(node, AsyncNode):
        return asyncio.run(node.run_async(shared))
    return node.run(shared)


@contextmanager
def raises_exactly(cls: type[Exception], message: str) -> Iterator[None]:
    """Expect ``cls`` with exactly ``message`` (a note the core adds is not part of it)."""
    with pytest.raises(cls) as info:
        yield
    assert str(info.value) == message


class Mark(Node):
    """Appends its name to ``shared["ran"]``."""

    def prep(self, shared: Shared) -> None:
        shared.setdefault("ran", []).append(self.name)


# -- wiring -----------------------------------------------------------------------------------


def test_wiring_a_class_instead_of_an_instance_names_the_edge_and_the_type() -> None:
    a = Node(name="a")
    with pytest.raises(TypeError) as info:
        a >> Node  # type: ignore[operator]
    assert str(info.value).startswith(
        "Cannot wire 'a' >> <class 'pocketflow.nodes.Node'> (type): a successor must be a node"
    )
    with pytest.raises(TypeError, match=r"^Cannot wire 'a' - \"x\" >> \[<Node 'b'>\] \(list\)"):
        a - "x" >> [Node(name="b")]
    assert a.successors == {}


@pytest.mark.parametrize(
    ("start", "shown"),
    [(None, "None (NoneType)"), (Node, "<class 'pocketflow.nodes.Node'> (type)"), (42, "42 (int)")],
)
def test_a_start_that_is_not_a_node_names_the_flow(start: Any, shown: str) -> None:
    expected = f"Flow 'main': the start must be a node (Node, Flow, ...), got {shown}"
    with raises_exactly(TypeError, expected):
        Flow(name="main").start(start)
    if start is not None:  # Flow(start=None) is a flow whose start comes later
        with raises_exactly(TypeError, expected):
            Flow(start, name="main")


# -- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("bad", [-1, -5, None, 1.0, "2"])
def test_max_retries_below_zero_or_not_an_integer_names_the_node(cls: type[Node], bad: Any) -> None:
    shown = f"{bad!r} ({type(bad).__name__})"
    expected = (
        f"{cls.__name__} 'fetch': max_retries must be an integer >= 0 (the number of tries), "
        f"got {shown}"
    )
    with raises_exactly(ValueError, expected):
        cls(max_retries=bad, name="fetch")


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("bad", [-1, -0.5, "1", None])
def test_a_negative_wait_names_the_node(cls: type[Node], bad: Any) -> None:
    shown = f"{bad!r} ({type(bad).__name__})"
    expected = f"{cls.__name__} 'fetch': wait must be a number of seconds >= 0, got {shown}"
    with raises_exactly(ValueError, expected):
        cls(wait=bad, name="fetch")


def test_a_wait_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="wait must be a number of seconds >= 0"):
        Node(wait=math.nan, name="fetch")


@pytest.mark.parametrize("cls", [AsyncParallelBatchNode, AsyncParallelBatchFlow])
@pytest.mark.parametrize("bad", [0, -1, "4"])
def test_max_concurrency_below_one_names_the_node(cls: type[BaseNode], bad: Any) -> None:
    shown = f"{bad!r} ({type(bad).__name__})"
    expected = (
        f"{cls.__name__} 'fan': max_concurrency must be None (no limit) or an integer >= 1, "
        f"got {shown}"
    )
    with raises_exactly(ValueError, expected):
        cls(max_concurrency=bad, name="fan")  # type: ignore[call-arg]


# -- flows without a start --------------------------------------------------------------------


@pytest.mark.parametrize("cls", BATCH_FLOW_CLASSES, ids=lambda cls: cls.__name__)
def test_a_batch_flow_without_start_says_how_to_give_one(cls: type[BatchFlow]) -> None:
    class Runs(cls):  # type: ignore[valid-type,misc]
        def prep(self, shared: Shared) -> list[dict[str, int]]:
            return [{"i": 0}]

        async def prep_async(self, shared: Shared) -> list[dict[str, int]]:
            return [{"i": 0}]

    expected = (
        f"{cls.__name__} 'runs' has no start node: pass one, as in Runs(start=node), "
        "or call flow.start(node)"
    )
    with raises_exactly(ValueError, expected):
        run(Runs(name="runs"))


@pytest.mark.parametrize("is_async", [False, True], ids=["Flow", "AsyncFlow"])
def test_a_nested_flow_without_start_is_the_one_named(is_async: bool) -> None:
    cls = AsyncFlow if is_async else Flow
    first = Mark(name="first")
    first >> cls(name="inner")
    shared: Shared = {}
    expected = (
        f"{cls.__name__} 'inner' has no start node: pass one, as in {cls.__name__}(start=node), "
        "or call flow.start(node)"
    )
    with raises_exactly(ValueError, expected):
        run(cls(start=first, name="outer"), shared)
    assert shared == {"ran": ["first"]}


@pytest.mark.parametrize("cls", BATCH_FLOW_CLASSES, ids=lambda cls: cls.__name__)
def test_a_batch_flow_without_start_fails_even_with_no_param_sets(cls: type[BatchFlow]) -> None:
    with pytest.raises(ValueError, match="has no start node"):
        run(cls(name="runs"))


# -- async nodes in sync flows ----------------------------------------------------------------


def test_an_async_flow_as_successor_in_a_sync_flow_is_named_before_it_runs() -> None:
    first = Mark(name="first")
    first >> AsyncFlow(start=AsyncNode(), name="fetch_all")
    shared: Shared = {}
    expected = (
        "Use run_async. Node 'fetch_all' is async (AsyncFlow), so Flow 'main' cannot run it: "
        "use AsyncFlow and await flow.run_async(shared)."
    )
    with raises_exactly(RuntimeError, expected):
        Flow(start=first, name="main").run(shared)
    assert shared == {"ran": ["first"]}


def test_an_async_node_in_a_sync_flow_nested_in_an_async_flow_names_the_sync_flow() -> None:
    class Fetch(AsyncNode):
        async def prep_async(self, shared: Shared) -> None:
            shared.setdefault("ran", []).append(self.name)

    first = Mark(name="first")
    first >> Fetch(name="fetch")
    sub = Flow(start=first, name="sub")
    shared: Shared = {}
    with pytest.raises(RuntimeError, match=r"Node 'fetch' is async \(Fetch\), so Flow 'sub'"):
        asyncio.run(AsyncFlow(start=sub, name="top").run_async(shared))
    assert shared == {"ran": ["first"]}


def test_an_async_node_in_a_sync_batch_flow_names_the_batch_flow() -> None:
    class Runs(BatchFlow):
        def prep(self, shared: Shared) -> list[dict[str, int]]:
            return [{"i": 0}, {"i": 1}]

    first = Mark(name="first")
    first >> AsyncNode(name="fetch")
    shared: Shared = {}
    with pytest.raises(RuntimeError, match=r"so BatchFlow 'runs' cannot run it: use AsyncFlow"):
        Runs(start=first, name="runs").run(shared)
    assert shared == {"ran": ["first"]}  # the first run stopped there; no second run began


@pytest.mark.parametrize("cls", [AsyncNode, AsyncFlow, AsyncParallelBatchFlow])
def test_an_async_start_is_refused_when_wired(cls: type[BaseNode]) -> None:
    start = cls(name="fetch")
    expected = f"Node 'fetch' is async ({cls.__name__}), so BatchFlow 'runs' cannot run it"
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        BatchFlow(name="runs").start(start)


@pytest.mark.parametrize("cls", [AsyncNode, AsyncFlow, AsyncBatchNode])
def test_a_sync_run_of_an_async_node_says_use_run_async(cls: type[BaseNode]) -> None:
    with raises_exactly(RuntimeError, "Use run_async."):
        cls(name="fetch").run({})
    with pytest.raises(RuntimeError, match=r"^'fetch' is async: step through it with `async for"):
        cls(name="fetch").steps({})


# -- what prep returns ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AsyncBatchNode, AsyncParallelBatchNode])
@pytest.mark.parametrize(
    ("items", "shown"), [(7, "7 (int)"), ("abc", "'abc' (str)"), (b"ab", "b'ab' (bytes)")]
)
def test_an_async_batch_prep_must_return_items(
    cls: type[AsyncNode], items: Any, shown: str
) -> None:
    ran: list[Any] = []

    class Batch(cls):  # type: ignore[valid-type,misc]
        async def prep_async(self, shared: Shared) -> Any:
            return items

        async def exec_async(self, item: Any) -> None:
            ran.append(item)

    expected = (
        f"{cls.__name__} 'load': prep must return an iterable of items (a list, say) or None, "
        f"got {shown}"
    )
    with raises_exactly(TypeError, expected):
        asyncio.run(Batch(name="load").run_async({}))
    assert ran == []


@pytest.mark.parametrize("cls", BATCH_FLOW_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(
    ("param_sets", "problem"),
    [
        ([{"i": 0}, None], "; item 1 is None (NoneType)"),
        ([("i", 0)], "; item 0 is ('i', 0) (tuple)"),
        ([{"i": 0}, 3], "; item 1 is 3 (int)"),
        ({"i": 0}, " (or None), got {'i': 0} (dict)"),
        ("i=0", " (or None), got 'i=0' (str)"),
        (5, " (or None), got 5 (int)"),
    ],
)
def test_a_batch_flow_prep_must_return_param_dicts(
    cls: type[BatchFlow], param_sets: Any, problem: str
) -> None:
    class Runs(cls):  # type: ignore[valid-type,misc]
        def prep(self, shared: Shared) -> Any:
            return param_sets

        async def prep_async(self, shared: Shared) -> Any:
            return param_sets

    shared: Shared = {}
    expected = f"{cls.__name__} 'runs': prep must return a list of param dicts{problem}"
    with raises_exactly(TypeError, expected):
        run(Runs(start=Mark(name="step"), name="runs"), shared)
    assert shared == {}  # checked before any run starts


# -- deep nesting -----------------------------------------------------------------------------

DEPTH = 50


class Deepest(Node):
    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        shared["params"] = dict(self.params)
        return "deepest"


class AsyncDeepest(AsyncNode):
    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        await asyncio.sleep(0)
        shared["params"] = dict(self.params)
        return "deepest"


def nest(leaf: BaseNode, classes: list[type[Flow]]) -> BaseNode:
    """``leaf`` inside one flow per class, the last class outermost; flow ``i`` is ``level<i>``."""
    node = leaf
    for depth, cls in enumerate(classes, start=1):
        node = cls(start=node, name=f"level{len(classes) - depth + 1}")
    return node


def drive(flow: BaseNode, driver: str, shared: Shared) -> tuple[Any, list[Event]]:
    """Run ``flow`` with ``driver``; return its result and the events seen."""
    events: list[Event] = []
    is_async = isinstance(flow, AsyncNode)
    if driver == "steps":
        if is_async:

            async def pull() -> None:
                async for event in flow.asteps(shared):
                    events.append(event)

            asyncio.run(pull())
            return events[-1].value, events
        steps = flow.steps(shared)
        while True:
            try:
                events.append(next(steps))
            except StopIteration as stop:
                return stop.value, events
    if driver == "observe":
        with observe(events.append):
            return run(flow, shared), events
    return run(flow, shared), events


CHAINS = {
    "Flow": ([Flow] * DEPTH, Deepest),
    "AsyncFlow": ([AsyncFlow] * DEPTH, AsyncDeepest),
    "Flow inside AsyncFlow": ([Flow] * (DEPTH // 2) + [AsyncFlow] * (DEPTH // 2), Deepest),
}


@pytest.mark.parametrize("driver", ["run", "observe", "steps"])
@pytest.mark.parametrize("chain", list(CHAINS))
def test_fifty_nested_flows_return_the_innermost_action(chain: str, driver: str) -> None:
    classes, leaf_class = CHAINS[chain]
    leaf = leaf_class(name="leaf")
    top = nest(leaf, classes)
    top.set_params({"depth": DEPTH})
    shared: Shared = {}
    result, events = drive(top, driver, shared)
    assert result == "deepest"
    assert shared == {"params": {"depth": DEPTH}}
    if driver != "run":
        leaf_post = next(e for e in events if e.node is leaf and e.kind == "post")
        assert leaf_post.path == tuple(f"level{i}" for i in range(1, DEPTH + 1))
        assert [e.kind for e in events].count("start") == DEPTH + 1


@pytest.mark.parametrize("is_async", [False, True], ids=["BatchFlow", "AsyncBatchFlow"])
def test_fifty_nested_batch_flows_each_add_their_params(is_async: bool) -> None:
    class Level(AsyncBatchFlow if is_async else BatchFlow):  # type: ignore[misc]
        def prep(self, shared: Shared) -> list[dict[str, int]]:
            return [{self.name: len(self.params)}]

        async def prep_async(self, shared: Shared) -> list[dict[str, int]]:
            return self.prep(shared)

    leaf = (AsyncDeepest if is_async else Deepest)(name="leaf")
    shared: Shared = {}
    assert run(nest(leaf, [Level] * DEPTH), shared) is None  # a batch flow returns None
    assert shared["params"] == {f"level{i}": i - 1 for i in range(1, DEPTH + 1)}


@pytest.mark.parametrize("is_async", [False, True], ids=["Flow", "AsyncFlow"])
def test_an_error_fifty_flows_deep_names_the_whole_path(is_async: bool) -> None:
    class Broken(Node):
        def exec(self, prep_res: Any) -> None:
            raise KeyError("deep")

    top = nest(Broken(name="broken"), [AsyncFlow if is_async else Flow] * DEPTH)
    events: list[Event] = []
    with pytest.raises(KeyError) as info, observe(events.append):
        run(top)
    assert [e.kind for e in events].count("error") == 1
    assert events[-1].kind == "error"
    assert events[-1].path == tuple(f"level{i}" for i in range(1, DEPTH + 1))
    if sys.version_info >= (3, 11):
        path = " > ".join(f"level{i}" for i in range(1, DEPTH + 1))
        assert info.value.__notes__ == [f"pocketflow: raised in exec of node 'broken' (in {path})"]
