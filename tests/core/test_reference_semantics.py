"""Pins the reference behaviour listed in ``REFERENCE_SEMANTICS.md``, one group per section.

Everything outside ``TestDeliberateDifferences`` holds for the reference release
(``pocketflow==0.0.3``) as well, so code written for it runs unchanged here. The tests in
``TestDeliberateDifferences`` pin the places where this project documents a different behaviour.

Sleeps made by retries are recorded by patching ``time.sleep`` / ``asyncio.sleep``; concurrency is
asserted from the order of recorded events and the number of items in flight, never from timing.
"""

from __future__ import annotations

import asyncio
import re
import time
import warnings
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
    Flow,
    Node,
)

Shared = dict[str, Any]


@contextmanager
def user_warnings() -> Iterator[list[str]]:
    """Collect the text of every ``UserWarning`` raised in the block (the list fills on exit)."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield messages
    messages.extend(str(r.message) for r in records if issubclass(r.category, UserWarning))


class Step(Node):
    """Appends its label to ``shared["log"]`` and returns a fixed action."""

    def __init__(self, label: str, action: str | None = None) -> None:
        super().__init__()
        self.label = label
        self.action = action

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str | None:
        shared.setdefault("log", []).append(self.label)
        return self.action


class AsyncStep(AsyncNode):
    """Async twin of ``Step``: yields to the loop once, then logs its label."""

    def __init__(self, label: str, action: str | None = None) -> None:
        super().__init__()
        self.label = label
        self.action = action

    async def exec_async(self, prep_res: Any) -> None:
        await asyncio.sleep(0)

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str | None:
        shared.setdefault("log", []).append(self.label)
        return self.action


class ParamsProbe(Node):
    """Records a copy of ``self.params`` and the identity of ``self`` into ``shared``."""

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
        shared.setdefault("params", []).append(dict(self.params))
        shared.setdefault("selves", []).append(self)


class Flaky(Node):
    """Fails its first ``failures`` tries; logs each try's ``cur_retry`` to ``self.timeline``."""

    def __init__(self, failures: int, max_retries: int = 1, wait: float = 0) -> None:
        super().__init__(max_retries=max_retries, wait=wait)
        self.failures = failures
        self.timeline: list[tuple[str, Any]] = []
        self.raised: list[Exception] = []

    def prep(self, shared: Shared) -> str:
        return "prepped"

    def exec(self, prep_res: Any) -> str:
        self.timeline.append(("try", self.cur_retry))
        tries = sum(1 for kind, _ in self.timeline if kind == "try")
        if tries <= self.failures:
            exc = ValueError(f"failure {tries}")
            self.raised.append(exc)
            raise exc
        return "ok"

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        shared["exec_res"] = exec_res
        return "done"


class RecordingFallback(Flaky):
    """A ``Flaky`` whose fallback records its arguments and returns a replacement result."""

    def exec_fallback(self, prep_res: Any, exc: Exception) -> str:
        self.timeline.append(("fallback", (prep_res, exc)))
        return "fallback result"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace ``time.sleep`` with a recorder and return the recorded durations."""
    calls: list[float] = []
    monkeypatch.setattr(time, "sleep", calls.append)
    return calls


@pytest.fixture
def async_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace ``asyncio.sleep`` with a recorder that does not suspend; return the durations."""
    calls: list[float] = []

    async def record(delay: float, result: Any = None) -> Any:
        calls.append(delay)
        return result

    monkeypatch.setattr(asyncio, "sleep", record)
    return calls


# --------------------------------------------------------------------------------------------
# Wiring
# --------------------------------------------------------------------------------------------


class TestWiring:
    def test_rshift_sets_default_successor_and_returns_target(self) -> None:
        a, b = Node(), Node()
        assert (a >> b) is b
        assert a.successors == {"default": b}

    def test_rshift_chains(self) -> None:
        a, b, c = Node(), Node(), Node()
        a >> b >> c
        assert a.successors == {"default": b}
        assert b.successors == {"default": c}
        assert c.successors == {}

    def test_named_action_sets_successor_and_returns_target(self) -> None:
        a, b = Node(), Node()
        assert (a - "x" >> b) is b
        assert a.successors == {"x": b}

    def test_next_is_the_method_behind_the_operators(self) -> None:
        a, b, c = Node(), Node(), Node()
        assert a.next(b) is b
        assert a.next(c, "x") is c
        assert a.successors == {"default": b, "x": c}

    @pytest.mark.parametrize("action", [1, None, b"x", ("x",)])
    def test_non_string_action_raises_type_error(self, action: Any) -> None:
        with pytest.raises(TypeError, match=r"^Action must be a string"):
            Node() - action

    def test_first_wiring_does_not_warn(self) -> None:
        a = Node()
        with user_warnings() as messages:
            a >> Node()
            a - "x" >> Node()
        assert messages == []

    @pytest.mark.parametrize("action", ["x", "default"])
    def test_overwriting_a_successor_replaces_it_and_warns(self, action: str) -> None:
        a, old, new = Node(), Node(), Node()
        a - action >> old
        with user_warnings() as messages:
            assert (a - action >> new) is new
        assert messages == [f"Overwriting successor for action '{action}'"]
        assert a.successors == {action: new}

    def test_plain_rshift_overwrite_warns_about_default(self) -> None:
        a, old, new = Node(), Node(), Node()
        a >> old
        with pytest.warns(
            UserWarning, match=re.escape("Overwriting successor for action 'default'")
        ):
            a >> new
        assert a.successors["default"] is new

    def test_flow_start_sets_start_node_and_returns_it(self) -> None:
        a = Step("a")
        flow = Flow()
        assert flow.start(a) is a
        shared: Shared = {}
        flow.run(shared)
        assert shared["log"] == ["a"]

    def test_flow_start_chains(self) -> None:
        a, b, c = Step("a"), Step("b"), Step("c")
        flow = Flow()
        flow.start(a) >> b >> c
        shared: Shared = {}
        flow.run(shared)
        assert shared["log"] == ["a", "b", "c"]

    @pytest.mark.parametrize("positional", [False, True], ids=["keyword", "positional"])
    def test_flow_constructor_sets_the_start_node(self, positional: bool) -> None:
        a = Step("a")
        a >> Step("b")
        flow = Flow(a) if positional else Flow(start=a)
        shared: Shared = {}
        flow.run(shared)
        assert shared["log"] == ["a", "b"]


# --------------------------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------------------------


class Traced(Node):
    """Records every phase call with its arguments into ``self.calls``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def prep(self, shared: Shared) -> str:
        self.calls.append(("prep", shared))
        return "prep result"

    def exec(self, prep_res: Any) -> str:
        self.calls.append(("exec", prep_res))
        return "exec result"

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        self.calls.append(("post", shared, prep_res, exec_res))
        return "post action"


class TestNodeRun:
    def test_prep_exec_post_in_order_and_run_returns_post_value(self) -> None:
        node, shared = Traced(), {"k": 1}
        with user_warnings() as messages:
            assert node.run(shared) == "post action"
        assert node.calls == [
            ("prep", shared),
            ("exec", "prep result"),
            ("post", shared, "prep result", "exec result"),
        ]
        assert node.calls[0][1] is shared
        assert node.calls[2][1] is shared
        assert messages == []

    def test_run_with_successors_warns_and_runs_only_the_node(self) -> None:
        a = Step("a", "go")
        a - "go" >> Step("b")
        shared: Shared = {}
        with pytest.warns(UserWarning, match=re.escape("Node won't run successors. Use Flow.")):
            result = a.run(shared)
        assert result == "go"
        assert shared["log"] == ["a"]

    def test_run_with_successors_warning_text_is_exact(self) -> None:
        a = Step("a")
        a >> Step("b")
        with user_warnings() as messages:
            a.run({})
        assert messages == ["Node won't run successors. Use Flow."]

    @pytest.mark.parametrize("cls", [BaseNode, Node, BatchNode])
    def test_default_phases_return_none(self, cls: type[BaseNode]) -> None:
        node = cls()
        assert node.prep({}) is None
        assert node.exec("anything") is None
        assert node.post({}, "prep", "exec") is None
        assert node.run({}) is None

    def test_standalone_run_uses_the_nodes_own_params(self) -> None:
        node = ParamsProbe()
        node.set_params({"x": 1})
        shared: Shared = {}
        node.run(shared)
        assert shared["params"] == [{"x": 1}]


class TestRetries:
    def test_default_is_a_single_try(self) -> None:
        node = Flaky(failures=1)
        with pytest.raises(ValueError, match="failure 1"):
            node.run({})
        assert node.timeline == [("try", 0)]

    def test_cur_retry_is_the_attempt_index_during_each_try(self) -> None:
        node = Flaky(failures=2, max_retries=3)
        shared: Shared = {}
        assert node.run(shared) == "done"
        assert node.timeline == [("try", 0), ("try", 1), ("try", 2)]
        assert shared["exec_res"] == "ok"

    def test_exec_is_tried_at_most_max_retries_times(self) -> None:
        node = Flaky(failures=10, max_retries=4)
        with pytest.raises(ValueError, match="failure 4"):
            node.run({})
        assert node.timeline == [("try", 0), ("try", 1), ("try", 2), ("try", 3)]

    def test_wait_sleeps_between_failed_tries_but_not_after_the_last(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        node = RecordingFallback(failures=10, max_retries=3, wait=0.05)
        monkeypatch.setattr(time, "sleep", lambda s: node.timeline.append(("sleep", s)))
        node.run({})
        kinds = [(kind, value if kind != "fallback" else None) for kind, value in node.timeline]
        assert kinds == [
            ("try", 0),
            ("sleep", 0.05),
            ("try", 1),
            ("sleep", 0.05),
            ("try", 2),
            ("fallback", None),
        ]

    def test_wait_is_not_used_after_a_success(self, sleeps: list[float]) -> None:
        node = Flaky(failures=1, max_retries=3, wait=0.05)
        node.run({})
        assert node.timeline == [("try", 0), ("try", 1)]
        assert sleeps == [0.05]

    def test_no_sleep_when_the_first_try_succeeds(self, sleeps: list[float]) -> None:
        Flaky(failures=0, max_retries=3, wait=0.05).run({})
        assert sleeps == []

    def test_fallback_receives_prep_result_and_the_exception(self) -> None:
        node = RecordingFallback(failures=10, max_retries=2)
        shared: Shared = {}
        assert node.run(shared) == "done"
        assert node.timeline[:2] == [("try", 0), ("try", 1)]
        kind, (prep_res, exc) = node.timeline[2]
        assert kind == "fallback"
        assert prep_res == "prepped"
        assert exc is node.raised[-1]
        assert shared["exec_res"] == "fallback result"

    def test_default_fallback_reraises_the_last_exception(self) -> None:
        node = Flaky(failures=10, max_retries=2)
        with pytest.raises(ValueError, match="failure 2") as excinfo:
            node.run({})
        assert excinfo.value is node.raised[-1]
        assert str(excinfo.value) == "failure 2"

    def test_max_retries_zero_never_runs_exec_and_gives_none(self) -> None:
        node = RecordingFallback(failures=0, max_retries=0)
        shared: Shared = {}
        assert node.run(shared) == "done"
        assert node.timeline == []
        assert shared["exec_res"] is None


class Doubler(BatchNode):
    """Doubles each item of ``shared["items"]``; records every try as ``(item, cur_retry)``."""

    def __init__(self, max_retries: int = 1, failing: frozenset[Any] = frozenset()) -> None:
        super().__init__(max_retries=max_retries)
        self.failing = failing
        self.tries: list[tuple[Any, int]] = []
        self.failed: set[Any] = set()

    def prep(self, shared: Shared) -> Any:
        return shared["items"]

    def exec(self, item: Any) -> Any:
        self.tries.append((item, self.cur_retry))
        if item in self.failing and item not in self.failed:
            self.failed.add(item)
            raise ValueError(item)
        if item == "always":
            raise ValueError(item)
        return item * 2

    def exec_fallback(self, prep_res: Any, exc: Exception) -> str:
        return f"fallback:{prep_res}:{exc}"

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        shared["results"] = exec_res
        return "batched"


class TestBatchNode:
    def test_none_from_prep_means_no_items(self) -> None:
        node, shared = Doubler(), {"items": None}
        assert node.run(shared) == "batched"
        assert node.tries == []
        assert shared["results"] == []

    def test_exec_runs_once_per_item_and_post_gets_results_in_input_order(self) -> None:
        node, shared = Doubler(), {"items": [3, 1, 2]}
        node.run(shared)
        assert node.tries == [(3, 0), (1, 0), (2, 0)]
        assert shared["results"] == [6, 2, 4]

    def test_prep_may_return_any_iterable(self) -> None:
        shared: Shared = {"items": (n for n in [1, 2])}
        Doubler().run(shared)
        assert shared["results"] == [2, 4]

    def test_retries_apply_to_each_item_separately(self) -> None:
        node, shared = Doubler(max_retries=2, failing=frozenset({"b"})), {"items": ["a", "b", "c"]}
        node.run(shared)
        assert node.tries == [("a", 0), ("b", 0), ("b", 1), ("c", 0)]
        assert shared["results"] == ["aa", "bb", "cc"]

    def test_fallback_applies_to_the_failing_item_only(self) -> None:
        node, shared = Doubler(max_retries=2), {"items": ["a", "always", "c"]}
        node.run(shared)
        assert node.tries == [("a", 0), ("always", 0), ("always", 1), ("c", 0)]
        assert shared["results"] == ["aa", "fallback:always:always", "cc"]


# --------------------------------------------------------------------------------------------
# Flows
# --------------------------------------------------------------------------------------------


class TestFlowCopiesAndParams:
    def test_flow_runs_a_copy_and_params_do_not_leak(self) -> None:
        node = ParamsProbe()
        flow = Flow(start=node)
        flow.set_params({"k": 1})
        shared: Shared = {}
        flow.run(shared)
        assert shared["params"] == [{"k": 1}]
        assert shared["selves"][0] is not node
        assert node.params == {}

    def test_attributes_set_during_a_run_stay_on_the_copy(self) -> None:
        class Marker(Node):
            def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                self.visited = True

        node = Marker()
        Flow(start=node).run({})
        assert not hasattr(node, "visited")

    def test_instance_attributes_and_replaced_methods_take_effect(self) -> None:
        class Greeter(Node):
            greeting = "class default"

            def exec(self, prep_res: Any) -> str:
                return "original exec"

            def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared["seen"] = (self.greeting, exec_res)

        node = Greeter()
        node.greeting = "instance value"
        node.exec = lambda prep_res: "replaced exec"  # type: ignore[method-assign]
        shared: Shared = {}
        Flow(start=node).run(shared)
        assert shared["seen"] == ("instance value", "replaced exec")

    def test_set_params_replaces_rather_than_merges(self) -> None:
        node = Node()
        node.set_params({"a": 1})
        node.set_params({"b": 2})
        assert node.params == {"b": 2}

    def test_a_nodes_own_params_are_replaced_inside_a_flow(self) -> None:
        node = ParamsProbe()
        node.set_params({"own": 1})
        flow = Flow(start=node)
        flow.set_params({"flow": 2})
        shared: Shared = {}
        flow.run(shared)
        assert shared["params"] == [{"flow": 2}]

    def test_a_flow_without_params_gives_its_nodes_empty_params(self) -> None:
        node = ParamsProbe()
        node.set_params({"own": 1})
        shared: Shared = {}
        Flow(start=node).run(shared)
        assert shared["params"] == [{}]

    def test_nodes_of_one_run_share_a_copy_of_the_flows_params(self) -> None:
        class Writer(Node):
            def prep(self, shared: Shared) -> None:
                self.params["written"] = True

        writer, probe = Writer(), ParamsProbe()
        writer >> probe
        flow = Flow(start=writer)
        flow.set_params({"k": 1})
        shared: Shared = {}
        flow.run(shared)
        assert shared["params"] == [{"k": 1, "written": True}]
        assert flow.params == {"k": 1}

    def test_nested_flow_passes_its_params_down(self) -> None:
        probe = ParamsProbe()
        outer = Flow(start=Flow(start=Flow(start=probe)))
        outer.set_params({"x": 1})
        shared: Shared = {}
        outer.run(shared)
        assert shared["params"] == [{"x": 1}]


class TestFlowTransitions:
    @pytest.mark.parametrize("action", [None, ""])
    def test_none_and_empty_action_mean_default(self, action: str | None) -> None:
        a = Step("a", action)
        a >> Step("b")
        a - "other" >> Step("other")
        shared: Shared = {}
        with user_warnings() as messages:
            Flow(start=a).run(shared)
        assert shared["log"] == ["a", "b"]
        assert messages == []

    def test_named_action_selects_its_successor(self) -> None:
        a = Step("a", "right")
        a - "left" >> Step("left")
        a - "right" >> Step("right")
        shared: Shared = {}
        Flow(start=a).run(shared)
        assert shared["log"] == ["a", "right"]

    def test_unknown_action_ends_the_flow_with_an_exact_warning(self) -> None:
        a = Step("a", "maybe")
        a - "no" >> Step("no")
        a - "yes" >> Step("yes")
        shared: Shared = {}
        with user_warnings() as messages:
            result = Flow(start=a).run(shared)
        assert messages == ["Flow ends: 'maybe' not found in ['no', 'yes']"]
        assert shared["log"] == ["a"]
        assert result == "maybe"

    def test_unknown_action_warning_via_pytest_warns(self) -> None:
        a = Step("a", "x")
        a - "a" >> Step("a2")
        a - "b" >> Step("b")
        with pytest.warns(UserWarning, match=re.escape("Flow ends: 'x' not found in ['a', 'b']")):
            Flow(start=a).run({})

    def test_none_action_without_default_prints_none(self) -> None:
        a = Step("a", None)
        a - "yes" >> Step("yes")
        a - "no" >> Step("no")
        shared: Shared = {}
        with user_warnings() as messages:
            result = Flow(start=a).run(shared)
        assert messages == ["Flow ends: 'None' not found in ['yes', 'no']"]
        assert shared["log"] == ["a"]
        assert result is None

    def test_node_without_successors_ends_the_flow_silently(self) -> None:
        a = Step("a")
        a >> Step("b", "anything")
        shared: Shared = {}
        with user_warnings() as messages:
            result = Flow(start=a).run(shared)
        assert messages == []
        assert shared["log"] == ["a", "b"]
        assert result == "anything"

    def test_nodes_run_by_a_flow_never_warn_about_successors(self) -> None:
        a = Step("a")
        a >> Step("b") >> Step("c")
        with user_warnings() as messages:
            Flow(start=a).run({})
        assert messages == []

    def test_flow_returns_the_action_of_its_last_node(self) -> None:
        a = Step("a", "go")
        a - "go" >> Step("b", "finished")
        assert Flow(start=a).run({}) == "finished"

    def test_flow_run_returns_what_its_post_returns(self) -> None:
        class Wrapped(Flow):
            def prep(self, shared: Shared) -> str:
                return "flow prep"

            def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> tuple[Any, Any]:
                return (prep_res, exec_res)

        assert Wrapped(start=Step("a", "last")).run({}) == ("flow prep", "last")

    def test_flow_loops_until_an_action_has_no_successor(self) -> None:
        class Countdown(Node):
            def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
                shared["n"] -= 1
                return "again" if shared["n"] > 0 else "stop"

        count = Countdown()
        count - "again" >> count
        shared: Shared = {"n": 3}
        with user_warnings() as messages:
            assert Flow(start=count).run(shared) == "stop"
        assert shared["n"] == 0
        assert messages == ["Flow ends: 'stop' not found in ['again']"]


class Choose(Node):
    """Returns ``shared["choice"]`` as its action."""

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        shared.setdefault("log", []).append("choose")
        choice: str = shared["choice"]
        return choice


class TestNestedFlows:
    @staticmethod
    def build() -> Flow:
        """Three levels: outer > middle > inner > choose, with edges out of each inner flow."""
        inner = Flow(start=Choose())
        inner - "left" >> Step("inner-left", "left")
        inner - "right" >> Step("inner-right", "right")
        middle = Flow(start=inner)
        first = Step("first")
        first >> middle
        middle - "left" >> Step("outer-left", "went left")
        middle - "right" >> Step("outer-right", "went right")
        return Flow(start=first)

    @pytest.mark.parametrize("choice", ["left", "right"])
    def test_inner_flow_action_selects_outer_edges_at_depth(self, choice: str) -> None:
        shared: Shared = {"choice": choice}
        with user_warnings() as messages:
            result = self.build().run(shared)
        assert shared["log"] == ["first", "choose", f"inner-{choice}", f"outer-{choice}"]
        assert result == f"went {choice}"
        assert messages == []

    def test_flow_as_start_of_a_flow_returns_through_every_level(self) -> None:
        assert Flow(start=Flow(start=Flow(start=Step("a", "deep")))).run({}) == "deep"


# --------------------------------------------------------------------------------------------
# Batch flows
# --------------------------------------------------------------------------------------------


class ListBatch(BatchFlow):
    """Takes its param dicts from ``shared["batches"]`` and records what ``post`` received."""

    def prep(self, shared: Shared) -> Any:
        return shared["batches"]

    def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        shared["post"] = (prep_res, exec_res)
        return super().post(shared, prep_res, exec_res)


class TestBatchFlow:
    def test_each_param_dict_runs_the_whole_subgraph_with_merged_params(self) -> None:
        probe = ParamsProbe()
        start = Step("start")
        start >> probe
        flow = ListBatch(start=start)
        flow.set_params({"base": 1, "k": "flow"})
        batches = [{"k": "one"}, {"k": "two", "extra": 3}]
        shared: Shared = {"batches": batches}
        flow.run(shared)
        assert shared["log"] == ["start", "start"]
        assert shared["params"] == [{"base": 1, "k": "one"}, {"base": 1, "k": "two", "extra": 3}]
        assert flow.params == {"base": 1, "k": "flow"}
        assert probe.params == {}

    def test_post_gets_prep_list_and_none_and_the_flow_returns_none(self) -> None:
        batches = [{"i": 0}, {"i": 1}]
        shared: Shared = {"batches": batches}
        assert ListBatch(start=Step("a", "last action")).run(shared) is None
        assert shared["post"] == (batches, None)

    def test_none_from_prep_means_no_runs(self) -> None:
        shared: Shared = {"batches": None}
        assert ListBatch(start=Step("a")).run(shared) is None
        assert "log" not in shared

    def test_nested_batch_flow_sees_outer_keys_in_prep(self) -> None:
        class Inner(BatchFlow):
            def prep(self, shared: Shared) -> list[dict[str, Any]]:
                shared.setdefault("inner_prep", []).append(dict(self.params))
                return [{"y": f"{self.params['x']}-{j}"} for j in range(2)]

        class Leaf(Node):
            def prep(self, shared: Shared) -> None:
                shared.setdefault("leaf", []).append((self.params["x"], self.params["y"]))

        outer = ListBatch(start=Inner(start=Leaf()))
        shared: Shared = {"batches": [{"x": 1}, {"x": 2}]}
        outer.run(shared)
        assert shared["inner_prep"] == [{"x": 1}, {"x": 2}]
        assert shared["leaf"] == [(1, "1-0"), (1, "1-1"), (2, "2-0"), (2, "2-1")]

    def test_an_exception_propagates_and_stops_the_batch(self) -> None:
        class Boom(Node):
            def prep(self, shared: Shared) -> None:
                shared.setdefault("seen", []).append(self.params["i"])
                if self.params["i"] == 1:
                    raise KeyError("boom")

        shared: Shared = {"batches": [{"i": 0}, {"i": 1}, {"i": 2}]}
        with pytest.raises(KeyError, match="boom"):
            ListBatch(start=Boom()).run(shared)
        assert shared["seen"] == [0, 1]
        assert "post" not in shared


# --------------------------------------------------------------------------------------------
# Async
# --------------------------------------------------------------------------------------------


class AsyncTraced(AsyncNode):
    """Records each async phase; also defines a sync ``exec`` that must be ignored."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    async def prep_async(self, shared: Shared) -> str:
        self.calls.append(("prep_async", shared))
        return "prep result"

    def exec(self, prep_res: Any) -> str:
        self.calls.append(("sync exec", prep_res))
        return "sync exec result"

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        self.calls.append(("post_async", prep_res, exec_res))
        return "async action"


class AsyncFlaky(AsyncNode):
    """Fails its first ``failures`` tries of ``exec_async``; logs tries and sleeps."""

    def __init__(self, failures: int, max_retries: int = 1, wait: float = 0) -> None:
        super().__init__(max_retries=max_retries, wait=wait)
        self.failures = failures
        self.timeline: list[tuple[str, Any]] = []
        self.raised: list[Exception] = []

    async def prep_async(self, shared: Shared) -> str:
        return "prepped"

    async def exec_async(self, prep_res: Any) -> str:
        self.timeline.append(("try", None))
        tries = sum(1 for kind, _ in self.timeline if kind == "try")
        if tries <= self.failures:
            exc = ValueError(f"failure {tries}")
            self.raised.append(exc)
            raise exc
        return "ok"

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        shared["exec_res"] = exec_res
        return "done"


class TestAsyncNode:
    def test_sync_run_raises_use_run_async(self) -> None:
        with pytest.raises(RuntimeError, match=re.escape("Use run_async.")):
            AsyncTraced().run({})

    def test_sync_run_of_an_async_flow_raises(self) -> None:
        with pytest.raises(RuntimeError, match=re.escape("Use run_async.")):
            AsyncFlow(start=AsyncTraced()).run({})

    def test_sync_flow_reaching_an_async_node_fails(self) -> None:
        first = Step("first")
        first >> AsyncTraced()
        with pytest.raises(RuntimeError):
            Flow(start=first).run({})

    def test_run_async_runs_async_phases_and_ignores_sync_exec(self) -> None:
        node = AsyncTraced()
        shared: Shared = {}
        assert asyncio.run(node.run_async(shared)) == "async action"
        assert node.calls == [("prep_async", shared), ("post_async", "prep result", None)]

    def test_default_async_phases_return_none(self) -> None:
        node = AsyncNode()

        async def main() -> None:
            assert await node.prep_async({}) is None
            assert await node.exec_async("x") is None
            assert await node.post_async({}, "p", "e") is None
            assert await node.run_async({}) is None

        asyncio.run(main())

    def test_run_async_with_successors_warns_use_async_flow(self) -> None:
        node = AsyncTraced()
        node >> Node()
        with user_warnings() as messages:
            assert asyncio.run(node.run_async({})) == "async action"
        assert messages == ["Node won't run successors. Use AsyncFlow."]
        assert [call[0] for call in node.calls] == ["prep_async", "post_async"]

    def test_retries_sleep_between_tries_with_asyncio_sleep(
        self, async_sleeps: list[float]
    ) -> None:
        node = AsyncFlaky(failures=2, max_retries=3, wait=0.05)
        shared: Shared = {}
        assert asyncio.run(node.run_async(shared)) == "done"
        assert len(node.timeline) == 3
        assert async_sleeps == [0.05, 0.05]
        assert shared["exec_res"] == "ok"

    def test_fallback_async_receives_the_exception(self, async_sleeps: list[float]) -> None:
        class WithFallback(AsyncFlaky):
            async def exec_fallback_async(self, prep_res: Any, exc: Exception) -> str:
                self.timeline.append(("fallback", (prep_res, exc)))
                return "fallback result"

        node = WithFallback(failures=10, max_retries=2, wait=0.05)

        shared: Shared = {}
        asyncio.run(node.run_async(shared))
        assert [kind for kind, _ in node.timeline] == ["try", "try", "fallback"]
        assert node.timeline[-1][1] == ("prepped", node.raised[-1])
        assert async_sleeps == [0.05]
        assert shared["exec_res"] == "fallback result"

    def test_default_fallback_async_reraises(self) -> None:
        node = AsyncFlaky(failures=10, max_retries=2)
        with pytest.raises(ValueError, match="failure 2") as excinfo:
            asyncio.run(node.run_async({}))
        assert excinfo.value is node.raised[-1]


class TestAsyncFlow:
    def test_mixes_sync_and_async_nodes_on_the_same_loop(self) -> None:
        class LoopProbe(Node):
            def exec(self, prep_res: Any) -> asyncio.AbstractEventLoop:
                return asyncio.get_running_loop()

            def post(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared.setdefault("log", []).append("sync probe")
                shared["loop"] = exec_res

        first = Step("sync first")
        (
            first
            >> AsyncStep("async")
            >> LoopProbe()
            >> Flow(start=Step("sync flow"))
            >> AsyncStep("async last", "end")
        )
        flow = AsyncFlow(start=first)
        shared: Shared = {}

        async def main() -> Any:
            shared["outer loop"] = asyncio.get_running_loop()
            return await flow.run_async(shared)

        with user_warnings() as messages:
            assert asyncio.run(main()) == "end"
        assert shared["log"] == ["sync first", "async", "sync probe", "sync flow", "async last"]
        assert shared["loop"] is shared["outer loop"]
        assert messages == []

    def test_post_async_returns_the_last_action_by_default(self) -> None:
        flow = AsyncFlow(start=AsyncStep("a", "last"))

        async def main() -> None:
            assert await flow.post_async({}, None, "given") == "given"
            assert await flow.run_async({}) == "last"

        asyncio.run(main())

    def test_run_async_returns_what_post_async_returns(self) -> None:
        class Wrapped(AsyncFlow):
            async def prep_async(self, shared: Shared) -> str:
                return "flow prep"

            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
                return (prep_res, exec_res)

        assert asyncio.run(Wrapped(start=AsyncStep("a", "x")).run_async({})) == ("flow prep", "x")

    def test_unknown_action_warns_and_params_do_not_leak(self) -> None:
        a = AsyncStep("a", "maybe")
        a - "yes" >> AsyncStep("yes")
        probe = ParamsProbe()
        probe >> a
        flow = AsyncFlow(start=probe)
        flow.set_params({"k": 1})
        shared: Shared = {}
        with user_warnings() as messages:
            assert asyncio.run(flow.run_async(shared)) == "maybe"
        assert messages == ["Flow ends: 'maybe' not found in ['yes']"]
        assert shared["params"] == [{"k": 1}]
        assert probe.params == {}


class InFlight:
    """Counts items in flight and keeps an ordered log of starts and ends."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.events: list[tuple[str, Any]] = []

    def enter(self, key: Any) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        self.events.append(("start", key))

    def leave(self, key: Any) -> None:
        self.now -= 1
        self.events.append(("end", key))


async def yield_times(n: int) -> None:
    """Give other tasks ``n`` turns of the event loop."""
    for _ in range(n):
        await asyncio.sleep(0)


class Staggered(AsyncBatchNode):
    """Item ``i`` yields ``10 - i`` times, so later items would finish first if run together."""

    def __init__(self, tracker: InFlight) -> None:
        super().__init__()
        self.tracker = tracker

    async def prep_async(self, shared: Shared) -> Any:
        return shared["items"]

    async def exec_async(self, prep_res: Any) -> Any:
        self.tracker.enter(prep_res)
        await yield_times(10 - prep_res)
        self.tracker.leave(prep_res)
        return prep_res * 10

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
        shared["results"] = exec_res
        return "batched"


class ParallelStaggered(AsyncParallelBatchNode):
    """Parallel variant of ``Staggered`` (same phases)."""

    def __init__(self, tracker: InFlight) -> None:
        super().__init__()
        self.tracker = tracker

    prep_async = Staggered.prep_async
    exec_async = Staggered.exec_async
    post_async = Staggered.post_async


class TestAsyncBatchNodes:
    def test_async_batch_node_awaits_items_one_after_another(self) -> None:
        tracker, shared = InFlight(), {"items": [0, 1, 2]}
        assert asyncio.run(Staggered(tracker).run_async(shared)) == "batched"
        assert tracker.events == [
            ("start", 0),
            ("end", 0),
            ("start", 1),
            ("end", 1),
            ("start", 2),
            ("end", 2),
        ]
        assert tracker.peak == 1
        assert shared["results"] == [0, 10, 20]

    def test_parallel_batch_node_runs_all_items_concurrently(self) -> None:
        tracker, shared = InFlight(), {"items": list(range(5))}
        assert asyncio.run(ParallelStaggered(tracker).run_async(shared)) == "batched"
        assert tracker.peak == 5
        assert [kind for kind, _ in tracker.events[:5]] == ["start"] * 5
        assert [key for kind, key in tracker.events if kind == "end"] == [4, 3, 2, 1, 0]
        assert shared["results"] == [0, 10, 20, 30, 40]

    def test_parallel_batch_node_propagates_the_first_exception(self) -> None:
        class Failing(AsyncParallelBatchNode):
            async def prep_async(self, shared: Shared) -> list[str]:
                return ["late", "early", "fine"]

            async def exec_async(self, item: str) -> str:
                if item == "late":
                    await yield_times(5)
                    raise KeyError("late")
                if item == "early":
                    raise ValueError("early")
                return item

            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared["post"] = True

        shared: Shared = {}
        with pytest.raises(ValueError, match="early"):
            asyncio.run(Failing().run_async(shared))
        assert "post" not in shared


class SubFlowProbe(AsyncNode):
    """One node of a sub-flow: tracks sub-runs in flight by ``params["i"]``."""

    def __init__(self, tracker: InFlight, delay: float) -> None:
        super().__init__()
        self.tracker = tracker
        self.delay = delay

    async def exec_async(self, prep_res: Any) -> None:
        self.tracker.enter(self.params["i"])
        await asyncio.sleep(self.delay)
        self.tracker.leave(self.params["i"])

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
        shared.setdefault("done", []).append(self.params["i"])


class AsyncListBatch(AsyncBatchFlow):
    """Takes its param dicts from ``shared["batches"]``."""

    async def prep_async(self, shared: Shared) -> Any:
        return shared["batches"]

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        shared["post"] = (prep_res, exec_res)
        return await super().post_async(shared, prep_res, exec_res)


class AsyncParallelListBatch(AsyncParallelBatchFlow):
    """Parallel variant of ``AsyncListBatch``."""

    prep_async = AsyncListBatch.prep_async

    async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> Any:
        shared["post"] = (prep_res, exec_res)
        return await super().post_async(shared, prep_res, exec_res)


class TestAsyncBatchFlows:
    def test_async_batch_flow_runs_sub_flows_in_order(self) -> None:
        class Tagged(AsyncStep):
            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared.setdefault("log", []).append((self.params["i"], self.label))

        a = Tagged("a")
        a >> Tagged("b")
        batches = [{"i": 0}, {"i": 1}, {"i": 2}]
        shared: Shared = {"batches": batches}
        assert asyncio.run(AsyncListBatch(start=a).run_async(shared)) is None
        assert shared["log"] == [(0, "a"), (0, "b"), (1, "a"), (1, "b"), (2, "a"), (2, "b")]
        assert shared["post"] == (batches, None)

    def test_async_batch_flow_sub_runs_do_not_overlap(self) -> None:
        tracker = InFlight()
        shared: Shared = {"batches": [{"i": i} for i in range(3)]}
        asyncio.run(AsyncListBatch(start=SubFlowProbe(tracker, 0)).run_async(shared))
        assert tracker.peak == 1
        assert shared["done"] == [0, 1, 2]

    def test_parallel_batch_flow_runs_sub_flows_concurrently(self) -> None:
        tracker = InFlight()
        batches = [{"i": i} for i in range(9)]
        shared: Shared = {"batches": batches}
        flow = AsyncParallelListBatch(start=SubFlowProbe(tracker, 0.01))
        assert asyncio.run(flow.run_async(shared)) is None
        assert tracker.peak == 9
        assert [kind for kind, _ in tracker.events[:9]] == ["start"] * 9
        assert sorted(shared["done"]) == list(range(9))
        assert shared["post"] == (batches, None)

    @pytest.mark.parametrize("cls", [AsyncListBatch, AsyncParallelListBatch])
    def test_none_from_prep_async_means_no_runs(self, cls: type[AsyncBatchFlow]) -> None:
        shared: Shared = {"batches": None}
        assert asyncio.run(cls(start=AsyncStep("a")).run_async(shared)) is None
        assert "log" not in shared

    def test_no_suspension_between_post_async_and_the_next_prep_async(self) -> None:
        """Nine concurrent sub-flows write ``shared["current"]`` and read it in the next node.

        Each writer suspends in ``exec_async`` (so the sub-flows interleave) and writes in
        ``post_async``; the reader checks the value in ``prep_async``. Any suspension between the
        two would let another sub-flow overwrite the key first.
        """

        class Writer(AsyncNode):
            async def exec_async(self, prep_res: Any) -> None:
                await asyncio.sleep(0)

            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared["current"] = self.params["i"]

        class Reader(AsyncNode):
            async def prep_async(self, shared: Shared) -> None:
                shared.setdefault("read", []).append((self.params["i"], shared["current"]))

        writer = Writer()
        writer >> Reader()
        shared: Shared = {"batches": [{"i": i} for i in range(9)]}
        asyncio.run(AsyncParallelListBatch(start=writer).run_async(shared))
        assert sorted(shared["read"]) == [(i, i) for i in range(9)]


# --------------------------------------------------------------------------------------------
# Where this project deliberately differs from the reference
# --------------------------------------------------------------------------------------------


class TestDeliberateDifferences:
    """Documented departures from the reference; each of these fails against the reference."""

    def test_action_wired_to_none_is_a_silent_declared_end(self) -> None:
        a = Step("a", "stop")
        a - "stop" >> None
        a - "go" >> Step("b")
        shared: Shared = {}
        with user_warnings() as messages:
            result = Flow(start=a).run(shared)
        assert messages == []
        assert shared["log"] == ["a"]
        assert result == "stop"

    def test_sync_flow_reaching_an_async_node_names_it_and_suggests_async_flow(self) -> None:
        class FetchRecipe(AsyncNode):
            pass

        first = Step("first")
        first >> FetchRecipe()
        with pytest.raises(RuntimeError) as excinfo:
            Flow(start=first).run({})
        message = str(excinfo.value)
        assert "FetchRecipe" in message
        assert "AsyncFlow" in message

    def test_parallel_batch_node_cancels_and_awaits_siblings_on_failure(self) -> None:
        log: list[str] = []

        class Failing(AsyncParallelBatchNode):
            async def prep_async(self, shared: Shared) -> list[str]:
                return ["slow", "bad"]

            async def exec_async(self, item: str) -> str:
                if item == "bad":
                    raise ValueError("bad item")
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    log.append("cancelled")
                    raise
                return item

        async def main() -> None:
            with pytest.raises(ValueError, match="bad item"):
                await Failing().run_async({})
            assert log == ["cancelled"]

        asyncio.run(main())

    def test_parallel_batch_flow_cancels_and_awaits_sibling_sub_flows_on_failure(self) -> None:
        log: list[int] = []

        class Work(AsyncNode):
            async def exec_async(self, prep_res: Any) -> None:
                if self.params["i"] == 0:
                    raise ValueError("sub-flow 0 failed")
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    log.append(self.params["i"])
                    raise

        async def main() -> None:
            shared: Shared = {"batches": [{"i": i} for i in range(3)]}
            with pytest.raises(ValueError, match="sub-flow 0 failed"):
                await AsyncParallelListBatch(start=Work()).run_async(shared)
            assert sorted(log) == [1, 2]

        asyncio.run(main())

    def test_parallel_batch_node_keeps_retry_state_per_item(self) -> None:
        failures = {"a": 2, "b": 1, "c": 0}
        seen: dict[str, list[tuple[int, int]]] = {item: [] for item in failures}

        class FlakyItems(AsyncParallelBatchNode):
            async def prep_async(self, shared: Shared) -> list[str]:
                return list(failures)

            async def exec_async(self, item: str) -> str:
                before = self.cur_retry
                await asyncio.sleep(0)
                seen[item].append((before, self.cur_retry))
                if failures[item] > 0:
                    failures[item] -= 1
                    raise ValueError(item)
                return item.upper()

            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> None:
                shared["results"] = exec_res

        shared: Shared = {}
        asyncio.run(FlakyItems(max_retries=3).run_async(shared))
        assert shared["results"] == ["A", "B", "C"]
        assert seen == {"a": [(0, 0), (1, 1), (2, 2)], "b": [(0, 0), (1, 1)], "c": [(0, 0)]}

    @pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
    def test_none_from_async_batch_prep_means_no_items(self, parallel: bool) -> None:
        base: type[AsyncNode] = AsyncParallelBatchNode if parallel else AsyncBatchNode

        class Empty(base):  # type: ignore[valid-type, misc]
            async def exec_async(self, item: Any) -> Any:
                raise AssertionError("no item should run")

            async def post_async(self, shared: Shared, prep_res: Any, exec_res: Any) -> str:
                shared["results"] = exec_res
                return "empty"

        shared: Shared = {}
        assert asyncio.run(Empty().run_async(shared)) == "empty"
        assert shared["results"] == []
