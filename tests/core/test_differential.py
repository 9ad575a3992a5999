"""Random flow programs behave the same here as in the reference release, ``pocketflow==0.0.3``.

Hypothesis draws programs (see ``programs.py``): graphs of sync, async, batch and parallel nodes,
flows and batch flows nested up to three deep, loops bounded by counters in ``shared``,
converging branches, actions without a successor, ``None`` and ``""`` actions, params on the
outer flow, ``exec`` failing on chosen tries with or without a fallback, ``max_retries`` 0 to 3.
Each program is built and run with both libraries, and everything it shows must be equal: the
final ``shared``, the result, the escaping exception (type and message), the order of the phase
calls with the params and ``cur_retry`` each saw, and the warnings. This library must also show
the same when the run is observed or stepped.

Examples per test: 500 by default (the file takes about 35 s on 2 cores), derandomized so that
every run tries the same programs. For a longer search set ``PF_DIFF_EXAMPLES``, e.g.
``PF_DIFF_EXAMPLES=5000 pytest tests/core/test_differential.py`` (about 10 minutes; the tests'
timeout grows with the count); ``PF_DIFF_SEED=<int>`` draws other programs than the default ones,
reproducibly for a given seed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import warnings
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings

import pocketflow


def _programs() -> ModuleType:
    return sys.modules["pocketflow_test_programs"]  # loaded by conftest.py (not a package)


programs = _programs()
Program = programs.Program
NodeSpec = programs.NodeSpec
FlowSpec = programs.FlowSpec

EXAMPLES = int(os.environ.get("PF_DIFF_EXAMPLES", "500"))
SEED = os.environ.get("PF_DIFF_SEED")


def _settings(test: Any) -> Any:
    """Hypothesis settings for the differential tests, and room for long runs to finish."""
    if EXAMPLES > 500 and importlib.util.find_spec("pytest_timeout") is not None:
        # the suite's timeout is sized for the default number of examples
        test = pytest.mark.timeout(180 * EXAMPLES // 500)(test)
    test = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )(test)
    return seed(int(SEED))(test) if SEED is not None else test


def assert_same_behaviour(reference: ModuleType, program: Any) -> None:
    """Run ``program`` with both libraries (and with ours observed and stepped); compare."""
    parallel = program.is_parallel
    theirs = programs.run_program(reference, program)
    ours = programs.run_program(pocketflow, program)
    assert ours.canonical(parallel) == theirs.canonical(parallel)

    observed = programs.run_program(pocketflow, program, "observe")
    assert observed.canonical(parallel) == ours.canonical(parallel)
    check_events(observed)

    stepped = programs.run_program(pocketflow, program, "steps")
    # Stepping is not ``run``: it has no successors to warn about on the outermost flow.
    expected = ours.canonical(parallel)
    expected["warnings"] = [w for w in expected["warnings"] if "won't run successors" not in w[1]]
    assert stepped.canonical(parallel) == expected
    check_events(stepped)


def check_events(outcome: Any) -> None:
    """The event stream of a run: numbered 1, 2, ...; ends with its one error, or its result."""
    events = outcome.events
    assert [event.step for event in events] == list(range(1, len(events) + 1))
    errors = [event for event in events if event.kind == "error"]
    if outcome.error is None:
        assert errors == []
        assert events[-1].kind == "post"
        assert events[-1].path == ()
        assert events[-1].value == outcome.result
    else:
        assert len(errors) == 1
        assert events[-1] is errors[0]
        assert (type(errors[0].value), str(errors[0].value)) == outcome.error


@_settings
@given(program=programs.programs(asynchronous=False))
def test_sync_programs_behave_as_in_the_reference(reference: ModuleType, program: Any) -> None:
    assert_same_behaviour(reference, program)


@_settings
@given(program=programs.programs(asynchronous=True))
def test_async_programs_behave_as_in_the_reference(reference: ModuleType, program: Any) -> None:
    assert_same_behaviour(reference, program)


@_settings
@given(program=programs.programs(asynchronous=True, parallel=True))
def test_parallel_programs_behave_as_in_the_reference(reference: ModuleType, program: Any) -> None:
    assert_same_behaviour(reference, program)


# -- the harness itself -----------------------------------------------------------------------


def looping_program() -> Any:
    """Two nodes in a loop that ends on the third visit of ``n0``; ``n1`` fails once."""
    n0 = NodeSpec("n0", "Node", actions=("a", "a"))
    n1 = NodeSpec("n1", "Node", max_retries=2, failures=frozenset({(0, 0)}), actions=("", None))
    top = FlowSpec("f0", "Flow", (n0, n1), edges=((0, "a", 1), (1, ">>", 0)))
    return Program(top, params=(("x", 1),))


def test_the_interpreter_logs_every_phase_with_params_and_tries() -> None:
    outcome = programs.run_program(pocketflow, looping_program())
    assert [entry for _, entry, _ in outcome.log] == [
        "f0:prep:0",
        "n0:prep:0",
        "n0:exec:0:0:0:cur_retry=0",
        "n0:post:0:('x=1', 0, 0):'n0/0/0/0'",
        "n1:prep:0",
        "n1:exec:0:0:0:cur_retry=0",
        "n1:exec:0:0:1:cur_retry=1",
        "n1:post:0:('x=1', 0, 0):'n1/0/0/1'",
        "n0:prep:1",
        "n0:exec:1:0:0:cur_retry=0",
        "n0:post:1:('x=1', 1, 0):'n0/1/0/0'",
        "n1:prep:1",
        "n1:exec:1:0:0:cur_retry=0",
        "n1:exec:1:0:1:cur_retry=1",
        "n1:post:1:('x=1', 1, 0):'n1/1/0/1'",
        "n0:prep:2",
        "n0:exec:2:0:0:cur_retry=0",
        "n0:post:2:('x=1', 2, 0):'n0/2/0/0'",
        "f0:post:0:'f0/0':'halt'",
    ]
    assert {key for key, _, _ in outcome.log} == {"x=1"}
    assert outcome.result == "halt"
    assert outcome.warnings == [
        (UserWarning, "Flow ends: 'halt' not found in ['a']"),
    ]
    assert outcome.shared["visits"] == {"f0@x=1": 0, "n0@x=1": 2, "n1@x=1": 1}


def test_the_comparison_sees_a_difference_in_order_only_where_order_is_defined() -> None:
    outcome = programs.run_program(pocketflow, looping_program())
    swapped = programs.Outcome(**{**outcome.__dict__, "log": outcome.log[::-1]})
    assert swapped.canonical(parallel=False) != outcome.canonical(parallel=False)
    assert swapped.canonical(parallel=True) != outcome.canonical(parallel=True)
    items = [("k", "p:exec:0:0:0", True), ("k", "p:exec:0:1:0", True)]
    a = programs.Outcome(**{**outcome.__dict__, "log": items})
    b = programs.Outcome(**{**outcome.__dict__, "log": items[::-1]})
    assert a.canonical(parallel=True) == b.canonical(parallel=True)
    assert a.canonical(parallel=False) != b.canonical(parallel=False)


@given(program=programs.programs(asynchronous=True, parallel=True))
@settings(max_examples=100, derandomize=True, deadline=None, database=None)
def test_drawn_programs_stay_clear_of_the_documented_differences(program: Any) -> None:
    """No async part in a sync flow, nothing that can raise inside a parallel part."""

    def check(spec: Any, in_sync_flow: bool, in_parallel: bool) -> None:
        if in_sync_flow:
            assert spec.kind not in programs.ASYNC_KINDS
        parallel = in_parallel or spec.kind in ("AsyncParallelBatchNode", "AsyncParallelBatchFlow")
        if parallel:
            assert spec.raise_in is None
        if isinstance(spec, FlowSpec):
            assert spec.children  # every flow has a start node
            for child in spec.children:
                check(child, spec.kind not in programs.ASYNC_KINDS, parallel)
        else:
            assert spec.max_retries >= 0
            if spec.kind in ("AsyncBatchNode", "AsyncParallelBatchNode"):
                assert spec.container != "none"
            if parallel and spec.fallback != "value":
                assert not spec.gives_up

    check(program.top, False, False)


# -- differences the tests found, pinned against the reference --------------------------------


def test_a_successor_whose_truth_value_is_false_is_still_followed(reference: ModuleType) -> None:
    """The reference tests successors with ``if not nxt``; a node is a node here."""

    def run(pf: ModuleType) -> tuple[list[str], list[str]]:
        class Empty(pf.Node):  # type: ignore[name-defined,misc]
            def __len__(self) -> int:
                return 0

            def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
                shared.setdefault("ran", []).append("empty")

        first = pf.Node()
        first >> Empty()
        shared: dict[str, Any] = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pf.Flow(first).run(shared)
        return shared.get("ran", []), [str(w.message) for w in caught]

    assert run(reference) == ([], ["Flow ends: 'None' not found in ['default']"])
    assert run(pocketflow) == (["empty"], [])


def test_async_nodes_have_cur_retry_here_only(reference: ModuleType) -> None:
    def tries(pf: ModuleType) -> list[Any]:
        class Flaky(pf.AsyncNode):  # type: ignore[name-defined,misc]
            async def exec_async(self, prep_res: Any) -> None:
                seen.append(getattr(self, "cur_retry", "unset"))
                raise ValueError("again")

            async def exec_fallback_async(self, prep_res: Any, exc: Exception) -> None:
                return None

        seen: list[Any] = []
        asyncio.run(Flaky(max_retries=3).run_async({}))
        return seen

    assert tries(reference) == ["unset"] * 3
    assert tries(pocketflow) == [0, 1, 2]
