"""Re-runs from a recording: exec results come from the trace, never from a live call unless
asked, and never from a placeholder.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode, Flow, Node
from pocketflow.recordings import RecordingMismatch, replaying
from pocketflow.trace import Trace, arecord, record


class Model(Node):
    """Answers ``shared["question"]``; counts its calls (the live model it stands for)."""

    #: Calls of exec, by every instance.
    calls_total = 0

    def prep(self, shared: Any) -> Any:
        return shared["question"]

    def exec(self, question: str) -> Any:
        Model.calls_total += 1
        return {"text": f"{self.name}: {question}", "tokens": len(question)}

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared[self.name] = exec_res
        shared["question"] = exec_res["text"]


def chain() -> Flow:
    draft, review = Model(name="draft"), Model(name="review")
    _ = draft >> review
    return Flow(start=draft, name="write")


def calls() -> int:
    return Model.calls_total


def test_a_re_run_takes_every_exec_result_from_the_recording(tmp_path: Path) -> None:
    flow = chain()
    recorded_shared = {"question": "why?"}
    trace = record(flow, recorded_shared)
    trace.save(tmp_path / "run.jsonl")
    before = calls()
    for source in (trace, Trace.load(tmp_path / "run.jsonl")):
        shared = {"question": "why?"}
        with replaying(source) as playback:
            flow.run(shared)
        assert shared == recorded_shared
        assert playback.replayed == 2 and playback.mismatches == []
    assert calls() == before  # no live call


def test_a_node_whose_input_differs_is_named_and_nothing_is_called() -> None:
    flow = chain()
    trace = record(flow, {"question": "why?"})
    before = calls()
    with replaying(trace), pytest.raises(RecordingMismatch, match=r"node 'write > draft'.*'how\?'"):
        flow.run({"question": "how?"})
    assert calls() == before


def test_live_falls_through_to_exec_and_lists_the_mismatch() -> None:
    flow = chain()
    trace = record(flow, {"question": "why?"})
    before = calls()
    shared: dict[str, Any] = {"question": "how?"}
    with replaying(trace, live=True) as playback:
        flow.run(shared)
    assert calls() == before + 2  # both nodes: review's input follows from draft's result
    assert len(playback.mismatches) == 2 and "write > draft" in playback.mismatches[0]
    assert shared["review"]["text"] == "review: draft: how?"


def test_a_recorded_result_kept_as_a_placeholder_is_refused_naming_the_node(
    tmp_path: Path,
) -> None:
    class Locked(Node):
        def exec(self, prep_res: Any) -> Any:
            return {"lock": threading.Lock()}

    flow = Flow(start=Locked(name="locked"), name="f")
    trace = record(flow, {})
    trace.save(tmp_path / "run.jsonl")  # the lock is stored as its repr
    with (
        replaying(Trace.load(tmp_path / "run.jsonl")),
        pytest.raises(ValueError, match=r"node 'locked'.*placeholder"),
    ):
        flow.run({})


def test_a_parallel_batch_and_an_async_flow_replay_by_input() -> None:
    class Square(AsyncParallelBatchNode):
        calls = 0

        async def prep_async(self, shared: Any) -> Any:
            return shared["numbers"]

        async def exec_async(self, number: int) -> Any:
            Square.calls += 1
            await asyncio.sleep(0)
            return number * number

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["squares"] = exec_res

    class Total(AsyncNode):
        async def prep_async(self, shared: Any) -> Any:
            return shared["squares"]

        async def exec_async(self, squares: list[int]) -> Any:
            return sum(squares)

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["total"] = exec_res

    square = Square()
    _ = square >> Total()
    flow = AsyncFlow(start=square, name="sums")
    trace = asyncio.run(arecord(flow, {"numbers": [1, 2, 3]}))
    before = Square.calls
    shared: dict[str, Any] = {"numbers": [1, 2, 3]}

    async def again() -> None:
        with replaying(trace) as playback:
            await flow.run_async(shared)
        assert playback.replayed == 2

    asyncio.run(again())
    assert shared["total"] == 14 and Square.calls == before
