"""The Stepper, driven from Python the way its buttons drive it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode, BatchNode, Flow, Node
from pocketflow_widgets import Stepper


class Decide(Node):
    def prep(self, shared: dict[str, Any]) -> int:
        return len(shared["found"])

    def exec(self, found: int) -> str:
        return "answer" if found >= 2 else "search"

    def post(self, shared: dict[str, Any], prep_res: int, exec_res: str) -> str:
        return exec_res


class Search(Node):
    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
        shared["found"].append(f"fact {len(shared['found']) + 1}")
        return "decide"


class Answer(Node):
    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["answer"] = " and ".join(shared["found"])


def agent() -> Flow:
    decide, search, answer = Decide(name="decide"), Search(name="search"), Answer(name="answer")
    decide - "search" >> search
    search - "decide" >> decide
    decide - "answer" >> answer
    return Flow(start=decide, name="agent")


def test_each_click_on_step_advances_one_event() -> None:
    stepper = Stepper(agent(), {"found": []})
    assert "Ready" in stepper.status.value
    kinds = []
    for _ in range(6):
        stepper.step_button.click()
        assert stepper.last is not None
        kinds.append(stepper.last.kind)
    assert kinds == ["start", "prep", "start", "prep", "exec", "post"]
    assert "agent › decide" in stepper.status.value
    assert "<b>post</b>" in stepper.status.value
    assert "&#x27;search&#x27;" in stepper.status.value  # the action chosen, escaped


def test_the_graph_highlights_the_current_node() -> None:
    stepper = Stepper(agent(), {"found": []})
    for _ in range(3):
        stepper.step()
    state = stepper.view.state
    assert state["nodes"]["node__decide"] == "current"
    assert state["run"] and "node__answer" not in state["nodes"]  # not visited yet: dimmed


def test_the_diff_shows_what_the_last_step_changed_in_shared() -> None:
    stepper = Stepper(agent(), {"found": []})
    stepper.next_node()  # the flow starts
    stepper.next_node()  # decide starts
    stepper.next_node()  # search starts: nothing written yet
    assert "no change" in stepper.diff.value
    stepper.next_node()  # decide starts again, after search's post wrote to shared
    assert "pf-changed" in stepper.diff.value
    assert "fact 1" in stepper.diff.value


def test_next_node_stops_at_each_node_start() -> None:
    stepper = Stepper(agent(), {"found": []})
    names = []
    while not stepper.finished:
        stepper.next_node()
        if not stepper.finished:
            assert stepper.last is not None and stepper.last.kind == "start"
            names.append(stepper.last.node.name)
    assert names == ["agent", "decide", "search", "decide", "search", "decide", "answer"]


def test_continue_runs_to_the_end_and_disables_the_buttons() -> None:
    shared: dict[str, Any] = {"found": []}
    stepper = Stepper(agent(), shared)
    stepper.continue_button.click()
    assert stepper.finished and stepper.error is None
    assert shared["answer"] == "fact 1 and fact 2"
    assert "finished" in stepper.status.value
    assert stepper.step_button.disabled and stepper.continue_button.disabled
    assert not stepper.reset_button.disabled


def test_continue_stops_at_each_breakpoint() -> None:
    stepper = Stepper(agent(), {"found": []}, breakpoints=["search"])
    stops = []
    while not stepper.finished:
        stepper.continue_()
        if not stepper.finished:
            assert stepper.last is not None
            stops.append((stepper.last.kind, stepper.last.node.name))
    assert stops == [("start", "search"), ("start", "search")]


def test_breakpoints_can_be_picked_in_the_list() -> None:
    stepper = Stepper(agent(), {"found": []})
    stepper.breakpoint_picker.value = ("answer",)
    stepper.continue_()
    assert stepper.last is not None and stepper.last.node.name == "answer"


def test_an_unknown_breakpoint_names_the_nodes_there_are() -> None:
    with pytest.raises(ValueError, match=r"no node named 'nope' .*'decide'"):
        Stepper(agent(), {"found": []}, breakpoints=["nope"])


def test_reset_starts_over_from_the_initial_shared() -> None:
    shared: dict[str, Any] = {"found": []}
    stepper = Stepper(agent(), shared)
    stepper.continue_()
    assert shared["found"] == ["fact 1", "fact 2"]
    stepper.reset_button.click()
    assert not stepper.finished and stepper.events == []
    assert stepper.shared == {"found": []}
    assert "Ready" in stepper.status.value
    stepper.continue_()
    assert stepper.shared["answer"] == "fact 1 and fact 2"


def test_an_error_shows_its_traceback_and_ends_the_run() -> None:
    class Broken(Node):
        def exec(self, prep_res: Any) -> None:
            raise ValueError("the search service is down")

    flow = Flow(start=Broken(name="broken"), name="main")
    stepper = Stepper(flow, {})
    stepper.continue_()
    assert stepper.finished
    assert isinstance(stepper.error, ValueError)
    assert "the search service is down" in stepper.error_box.value
    assert "Traceback" in stepper.error_box.value
    assert "failed" in stepper.status.value
    assert stepper.view.state["nodes"]["node__broken"] == "failed"
    stepper.step()  # nothing left to do, and no exception
    assert stepper.finished


def test_retries_and_batch_items_show_as_they_happen() -> None:
    class Double(BatchNode):
        def prep(self, shared: Any) -> list[int]:
            return [1, 2]

        def exec(self, item: int) -> int:
            if item == 2 and self.cur_retry == 0:
                raise TimeoutError("slow")
            return item * 2

    stepper = Stepper(Flow(start=Double(max_retries=2, name="double")), {})
    seen = []
    while not stepper.finished:
        stepper.step()
        seen.append(stepper.status.value)
    assert any("<b>retry</b>" in line and "item 2" in line and "try 1" in line for line in seen)
    assert any("<b>item</b>" in line and "item 1/2" in line for line in seen)


def test_prints_from_nodes_are_captured_in_the_panel() -> None:
    class Talk(Node):
        def exec(self, prep_res: Any) -> None:
            print("hello from exec")

    stepper = Stepper(Flow(start=Talk()), {})
    stepper.continue_()
    texts = [output.get("text", "") for output in stepper.output.outputs]
    assert "hello from exec\n" in texts


# -- async ------------------------------------------------------------------------------------


class Fetch(AsyncNode):
    async def prep_async(self, shared: dict[str, Any]) -> str:
        return str(shared["topic"])

    async def exec_async(self, topic: str) -> str:
        await asyncio.sleep(0.001)
        return f"notes on {topic}"

    async def post_async(self, shared: dict[str, Any], prep_res: str, exec_res: str) -> str:
        shared["notes"] = exec_res
        return "done"


def async_flow() -> AsyncFlow:
    fetch = Fetch(name="fetch")
    fetch - "done" >> None
    return AsyncFlow(start=fetch, name="research")


def test_async_clicks_schedule_work_on_the_running_loop_without_blocking_it() -> None:
    async def session() -> None:
        shared = {"topic": "owls"}
        stepper = Stepper(async_flow(), shared)
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beat = asyncio.ensure_future(heartbeat())
        stepper.step_button.click()  # returns at once: the step is a task on this loop
        assert stepper.pending is not None and not stepper.pending.done()
        await stepper.wait()
        assert stepper.last is not None and stepper.last.kind == "start"
        for _ in range(3):
            stepper.step_button.click()
            await stepper.wait()
        assert stepper.last.node.name == "fetch" and stepper.last.kind == "prep"
        assert "notes" not in shared  # paused between prep and exec
        before = ticks
        await asyncio.sleep(0.01)
        assert ticks > before  # the loop stays free while the run waits
        stepper.continue_button.click()
        await stepper.wait()
        assert stepper.finished and stepper.error is None
        assert shared["notes"] == "notes on owls"
        beat.cancel()

    asyncio.run(session())


def test_async_error_is_shown_and_the_loop_is_left_clean() -> None:
    class Down(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise ConnectionError("offline")

    async def session() -> set[asyncio.Task[Any]]:
        stepper = Stepper(AsyncFlow(start=Down(name="down")), {})
        stepper.continue_()
        await stepper.wait()
        assert isinstance(stepper.error, ConnectionError)
        assert "offline" in stepper.error_box.value
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(session()) == set()


def test_async_reset_abandons_a_paused_run() -> None:
    async def session() -> None:
        shared = {"topic": "owls"}
        stepper = Stepper(async_flow(), shared)
        for _ in range(4):
            stepper.step()
            await stepper.wait()
        stepper.reset()
        await asyncio.sleep(0.01)
        assert stepper.events == [] and stepper.shared == {"topic": "owls"}
        stepper.continue_()
        await stepper.wait()
        assert stepper.shared["notes"] == "notes on owls"
        assert "notes" not in shared  # the first run was abandoned before it wrote

    asyncio.run(session())


def test_a_parallel_batch_is_stepped_item_by_item() -> None:
    class Many(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [1, 2, 3]

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0)
            return item * 10

    async def session() -> list[tuple[int | None, Any]]:
        stepper = Stepper(AsyncFlow(start=Many(max_concurrency=2)), {})
        items = []
        while not stepper.finished:
            stepper.step()
            await stepper.wait()
            if stepper.last is not None and stepper.last.kind == "item":
                items.append((stepper.last.item, stepper.last.value))
        return sorted(items)

    assert asyncio.run(session()) == [(0, 10), (1, 20), (2, 30)]


def test_an_async_flow_can_be_stepped_with_no_loop_running() -> None:
    shared = {"topic": "bats"}
    stepper = Stepper(async_flow(), shared)
    stepper.step()
    assert stepper.last is not None and stepper.last.kind == "start"
    stepper.continue_()
    assert stepper.finished and shared["notes"] == "notes on bats"
