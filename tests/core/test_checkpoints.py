"""Checkpoints: resuming a run from any node boundary gives the rest of the uninterrupted run.

The property is checked on random programs (the generator of the differential tests): each
program is recorded with snapshots, and from every ``start`` and ``post`` step a checkpoint is
taken, written to JSON lines and read back, and resumed on a fresh build of the same program.
The resumed run must end with the same ``shared``, the same result or error, and the same
events as the rest of the recorded run (times aside: step numbers and scope ids go on from the
checkpoint's). Inside a parallel batch flow, which is in many places at once, the checkpoint
stops at that flow: the runs that finished are not run again, the others are.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import pocketflow
from pocketflow import AsyncFlow, BatchFlow, Flow, Node, observe
from pocketflow.checkpoints import Checkpoint, boundaries, checkpoint_at
from pocketflow.stepping import Session
from pocketflow.trace import Recorder, Trace, record, to_json


def _programs() -> ModuleType:
    return sys.modules["pocketflow_test_programs"]  # loaded by conftest.py (not a package)


programs = _programs()

# The random programs warn on purpose (overwritten successors, unwired actions).
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(top: Any, is_async: bool, go: Any) -> tuple[Any, tuple[str, str] | None]:
    """Run ``go()`` (a call or a coroutine function); the result, or the program's fault."""
    try:
        result = asyncio.run(go()) if is_async else go()
    except programs.Fault as exc:
        return None, (type(exc).__name__, str(exc))
    return result, None


def _build(program: Any) -> Any:
    top = programs.build(pocketflow, program.top, programs.Recorder())
    top.set_params(dict(program.params))
    return top


def _comparable(steps: list[Any]) -> list[str]:
    """The steps without their times, as text without memory addresses (an iterator's repr)."""
    return [
        re.sub(
            r" at 0x[0-9a-f]+",
            "",
            json.dumps(
                to_json(
                    (
                        s.step,
                        s.kind,
                        s.node_id,
                        s.path,
                        s.value,
                        s.params,
                        s.item,
                        s.total,
                        s.attempt,
                        s.target_id,
                        s.scope,
                        s.parent,
                    )
                )
            ),
        )
        for s in steps
    ]


def check_resuming_everywhere(program: Any) -> int:
    """Resume ``program`` from each boundary of its recorded run; the number of checkpoints
    that were resumed and compared in full.
    """
    top = _build(program)
    shared: dict[str, Any] = {}
    recorder = Recorder(snapshots=True, shared=shared)
    run = (lambda: top.run_async(shared)) if program.is_async else (lambda: top.run(shared))
    with observe(recorder):
        result, error = _run(top, program.is_async, run)
    trace = recorder.trace
    compared = 0
    for step in boundaries(trace):
        checkpoint = Checkpoint.from_jsonl(trace.checkpoint(step).to_jsonl())
        fresh = _build(program)
        try:
            resumed_shared = checkpoint.new_shared()
        except ValueError as exc:  # a value JSON could not hold (none in these programs)
            pytest.fail(f"step {step}: {exc}")
        again = Recorder(snapshots=True, shared=resumed_shared, root=fresh)  # params as then
        resume = functools.partial(
            fresh.resume_async if program.is_async else fresh.resume, checkpoint, resumed_shared
        )
        try:
            with observe(again):
                resumed, resumed_error = _run(fresh, program.is_async, resume)
        except ValueError as exc:
            # A batch flow whose prep returned a one-shot iterator: the run consumed it.
            assert "an iterator, which the run consumed" in str(exc), exc
            continue
        inside_parallel = any(frame.parallel for frame in checkpoint.frames)
        if inside_parallel:
            # The runs that finished are not run again: fewer item events than in full.
            parallel = next(frame for frame in checkpoint.frames if frame.parallel)
            items = [
                s for s in again.trace.steps if s.kind == "item" and s.parent == parallel.scope
            ]
            assert not {e.item for e in items} & set(parallel.done)
            continue
        assert (resumed, resumed_error) == (result, error), f"resumed at step {step}"
        assert resumed_shared == shared, f"resumed at step {step}"
        rest = [s for s in trace.steps if s.step > step or (s.step == step and s.kind == "start")]
        assert _comparable(again.trace.steps) == _comparable(rest), f"resumed at step {step}"
        compared += 1
    return compared


def check_checkpoints_of_resumed_runs(program: Any) -> int:
    """Resume ``program`` stepped from each boundary A of its recorded run; at each later
    boundary B the resumed session's checkpoint must equal the one taken from the whole run at
    B (a fork of a fork is a checkpoint like any other). The number of pairs compared.
    """
    top = _build(program)
    shared: dict[str, Any] = {}
    recorder = Recorder(snapshots=True, shared=shared)
    with observe(recorder):
        _run(top, False, lambda: top.run(shared))
    trace = recorder.trace
    compared = 0
    for step in boundaries(trace):
        first = trace.checkpoint(step)
        if any(frame.parallel for frame in first.frames):
            continue
        fresh = _build(program)
        session = Session(fresh, first.new_shared(), halt_on=["start", "post"])
        session.checkpoint = first
        while session.continue_() is not None:
            assert session.last is not None
            later = session.take_checkpoint()
            direct = trace.checkpoint(session.last.step)
            assert later.source["resumed_from"]["step"] == step
            assert (later.frames, later.node, later.after, later.step, later.next_scope) == (
                direct.frames,
                direct.node,
                direct.after,
                direct.step,
                direct.next_scope,
            ), f"resumed at {step}, taken at {session.last.step}"
            assert to_json(later.shared) == to_json(direct.shared)
            compared += 1
    return compared


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(program=programs.programs(asynchronous=False))
def test_a_checkpoint_of_a_resumed_run_is_the_checkpoint_of_the_whole_run(program: Any) -> None:
    check_checkpoints_of_resumed_runs(program)


_settings = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@_settings
@given(program=programs.programs(asynchronous=False))
def test_a_sync_run_resumed_at_any_boundary_ends_as_the_whole_run(program: Any) -> None:
    check_resuming_everywhere(program)


@_settings
@given(program=programs.programs(asynchronous=True))
def test_an_async_run_resumed_at_any_boundary_ends_as_the_whole_run(program: Any) -> None:
    check_resuming_everywhere(program)


@_settings
@given(program=programs.programs(asynchronous=True, parallel=True))
def test_a_parallel_run_resumed_at_any_boundary_skips_the_finished_runs(program: Any) -> None:
    check_resuming_everywhere(program)


# -- by hand -----------------------------------------------------------------------------------


class Add(Node):
    """Adds its ``n`` param (default 1) to ``shared["total"]``; logs its name."""

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared["total"] = shared.get("total", 0) + self.params.get("n", 1)
        shared.setdefault("log", []).append(self.name)


def nested() -> Flow:
    """outer: first -> inner (a batch flow of two runs of one -> two) -> last."""
    one, two = Add(name="one"), Add(name="two")
    _ = one >> two

    class Runs(BatchFlow):
        def prep(self, shared: Any) -> Any:
            return [{"n": 10}, {"n": 100}]

    inner = Runs(start=one, name="inner")
    first, last = Add(name="first"), Add(name="last")
    _ = first >> inner >> last
    return Flow(start=first, name="outer")


def test_the_hand_made_nested_batch_flow_resumes_at_each_boundary() -> None:
    program_shared: dict[str, Any] = {}
    flow = nested()
    trace = record(flow, program_shared, snapshots=True)
    assert program_shared["total"] == 1 + 2 * (10 + 100) + 1
    for step in boundaries(trace):
        checkpoint = trace.checkpoint(step)
        shared = checkpoint.new_shared()
        flow.resume(checkpoint, shared)
        assert shared == program_shared, f"step {step}"


def test_a_checkpoint_inside_a_batch_flow_names_the_item_under_way() -> None:
    flow = nested()
    trace = record(flow, {}, snapshots=True)
    second_run = [s for s in trace.steps if s.kind == "start" and s.name == "two"][1]
    checkpoint = trace.checkpoint(second_run.step)
    outer, inner = checkpoint.frames
    assert (outer.flow, outer.at) == ("outer", "inner")
    assert (inner.flow, inner.item, inner.done, inner.at) == ("inner", 1, (0,), "two")
    assert inner.run_params == {"n": 100}


def test_a_loop_resumed_near_its_step_limit_stops_where_the_whole_run_stopped() -> None:
    count = Add(name="count")
    _ = count >> count  # a loop that never ends on its own
    flow = Flow(start=count, name="loop", max_steps=5)
    with pytest.raises(pocketflow.StepLimitError) as whole:
        record(flow, {}, snapshots=True)
    trace = whole.value.trace  # type: ignore[attr-defined]
    checkpoint = trace.checkpoint(boundaries(trace)[-2])
    shared = checkpoint.new_shared()
    with pytest.raises(pocketflow.StepLimitError) as resumed:
        flow.resume(checkpoint, shared)
    assert str(resumed.value) == str(whole.value)
    assert shared["total"] == 5


def test_a_session_halted_before_a_node_gives_a_checkpoint_that_resumes() -> None:
    flow = nested()
    session = Session(flow, {}, halt_before=["last"])
    assert session.continue_() is not None
    checkpoint = session.take_checkpoint()
    assert checkpoint.node == "last" and not checkpoint.after
    shared = checkpoint.new_shared()
    flow.resume(checkpoint, shared)
    assert session.continue_() is None  # the session's own run goes on, unaffected
    assert shared == session.shared


def test_a_session_picks_a_run_up_from_a_checkpoint_and_steps_it() -> None:
    flow = nested()
    trace = record(flow, {}, snapshots=True)
    checkpoint = trace.checkpoint(next(s.step for s in trace.steps if s.name == "last"))
    session = Session(flow, checkpoint.new_shared(), checkpoint=checkpoint)
    first = session.step()
    assert first is not None and (first.kind, first.node.name) == ("start", "last")
    assert session.continue_() is None and session.error is None
    assert session.shared["log"][-1] == "last"


def test_an_async_flow_resumes_with_resume_async() -> None:
    class Wait(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared.setdefault("seen", []).append(self.name)

    a, b = Wait(name="a"), Wait(name="b")
    _ = a >> b
    flow = AsyncFlow(start=a, name="async")
    trace = asyncio.run(_arecord(flow))
    checkpoint = trace.checkpoint(next(s.step for s in trace.steps if s.name == "b"))
    shared = checkpoint.new_shared()
    asyncio.run(flow.resume_async(checkpoint, shared))
    assert shared == {"seen": ["a", "b"]}
    with pytest.raises(RuntimeError, match="resume_async"):
        Flow.resume(flow, checkpoint, shared)


async def _arecord(flow: Any) -> Trace:
    from pocketflow.trace import arecord

    return await arecord(flow, {}, snapshots=True)


# -- bad input ---------------------------------------------------------------------------------


def _checkpoint_before_last() -> tuple[Flow, Checkpoint]:
    flow = nested()
    trace = record(flow, {}, snapshots=True)
    return flow, trace.checkpoint(next(s.step for s in trace.steps if s.name == "last"))


def test_resuming_on_a_flow_with_a_renamed_node_names_the_difference() -> None:
    _, checkpoint = _checkpoint_before_last()
    other = nested()
    other.start_node.name = "premier"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"does not fit the flow 'outer'.*no node 'first'"):
        other.resume(checkpoint, checkpoint.new_shared())


def test_resuming_on_a_flow_missing_an_edge_names_the_edge() -> None:
    _, checkpoint = _checkpoint_before_last()
    other = nested()
    inner: Any = other.start_node.successors["default"]  # type: ignore[union-attr]
    inner.successors.clear()
    with pytest.raises(ValueError, match=r"no edge inner -'default'-> last"):
        other.resume(checkpoint, checkpoint.new_shared())


def test_a_checkpoint_holding_a_placeholder_refuses_to_resume_naming_the_key() -> None:
    import threading

    flow = nested()
    shared: dict[str, Any] = {"lock": threading.Lock(), "notes": ["a"]}
    session = Session(flow, shared, halt_before=["last"])
    session.continue_()
    checkpoint = session.take_checkpoint()
    with pytest.raises(ValueError, match=r"shared\['lock'\].*placeholder"):
        checkpoint.new_shared()
    text = checkpoint.to_jsonl()
    with pytest.raises(ValueError, match=r"shared\['lock'\]"):
        Checkpoint.from_jsonl(text).new_shared()
    live = dict(shared)  # the caller may give the real values instead
    flow.resume(checkpoint, live)
    assert live["log"][-1] == "last"


def test_a_checkpoint_survives_a_file_and_resumes_the_same(tmp_path: Path) -> None:
    flow, checkpoint = _checkpoint_before_last()
    path = tmp_path / "run.checkpoint.jsonl"
    checkpoint.save(path)
    loaded = Checkpoint.load(path)
    assert loaded.to_jsonl() == checkpoint.to_jsonl()
    first, second = checkpoint.new_shared(), loaded.new_shared()
    flow.resume(checkpoint, first)
    flow.resume(loaded, second)
    assert first == second


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[:1], "incomplete"),
        (lambda lines: ["{", *lines[1:]], "line 1"),
        (
            lambda lines: [lines[0].replace('"pocketflow-checkpoint"', '"x"'), *lines[1:]],
            "not a pocketflow checkpoint",
        ),
        (
            lambda lines: [lines[0], lines[1].replace('"used":', '"used":-1,"x":'), *lines[2:]],
            "line 2",
        ),
        (
            lambda lines: [lines[0], lines[1].replace('"at":"last"', '"at":"nowhere"'), *lines[2:]],
            "line 2: not a checkpoint frame: its at 'nowhere'",
        ),
        (lambda lines: [*lines[:-1], "[]"], 'line 3: expected {"shared"'),
    ],
)
def test_loading_a_corrupt_checkpoint_names_the_line(edit: Any, message: str) -> None:
    _, checkpoint = _checkpoint_before_last()
    lines = checkpoint.to_jsonl().splitlines()
    with pytest.raises(ValueError, match=message):
        Checkpoint.from_jsonl("\n".join(edit(lines)))


def test_a_checkpoint_is_taken_only_at_a_node_boundary() -> None:
    flow = nested()
    trace = record(flow, {}, snapshots=True)
    prep = next(s for s in trace.steps if s.kind == "prep")
    with pytest.raises(ValueError, match="not a node boundary"):
        trace.checkpoint(prep.step)
    with pytest.raises(ValueError, match="snapshots=True"):
        checkpoint_at(record(flow, {}), boundaries(trace)[1])


def test_a_fork_records_where_it_came_from_and_leaves_the_checkpoint_as_it_was() -> None:
    flow, checkpoint = _checkpoint_before_last()
    before = checkpoint.to_jsonl()
    fork = checkpoint.fork({**checkpoint.shared, "total": 0}, note="try with zero")
    shared = fork.new_shared()
    flow.resume(fork, shared)
    assert shared["total"] == 1
    assert fork.source["forked_from"]["step"] == checkpoint.step
    assert fork.source["note"] == "try with zero"
    assert checkpoint.to_jsonl() == before
