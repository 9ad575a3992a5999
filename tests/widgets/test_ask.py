"""A person in the loop: ``ask`` in a node, answered under a background run's view (or an async
Stepper's), given in advance with ``answers``, and refused where no one could answer.

Clicks here are ``button.click()`` from Python, which cannot show that the kernel is free while
the run waits: the browser test ``tests/browser/test_ask.py`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode
from pocketflow_widgets import BackgroundRun, Stepper, answers, ask, start
from pocketflow_widgets.asking import Question


class Draft(AsyncNode):
    """Writes a draft."""

    async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
        shared["draft"] = f"draft about {shared['topic']}"


class Review(AsyncNode):
    """Asks whether to publish the draft; the answer picks the edge."""

    async def prep_async(self, shared: Any) -> str:
        return str(shared["draft"])

    async def exec_async(self, draft: str) -> str:
        return await ask(f"Publish {draft!r}?", choices=["yes", "no"])

    async def post_async(self, shared: Any, prep_res: Any, exec_res: str) -> str:
        shared["verdict"] = exec_res
        return exec_res


class Note(AsyncNode):
    """Asks for a free-text note."""

    async def exec_async(self, prep_res: Any) -> str:
        return await ask("Any note?")

    async def post_async(self, shared: Any, prep_res: Any, exec_res: str) -> None:
        shared["note"] = exec_res


QUESTION = "Publish 'draft about bees'?"


def reviewing() -> AsyncFlow:
    draft, review, note = Draft(name="draft"), Review(name="review"), Note(name="note")
    draft >> review
    review - "yes" >> note
    review - "no" >> None
    return AsyncFlow(start=draft, name="publish")


async def until(condition: Callable[[], object], seconds: float = 5.0) -> None:
    """Wait (yielding to the loop) until ``condition()`` holds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), seconds)


def in_loop(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(body())


def test_a_background_run_asks_and_goes_on_with_the_click() -> None:
    async def body() -> BackgroundRun:
        run = start(reviewing(), {"topic": "bees"}, display_widget=False)
        await until(lambda: run.pending)
        (question,) = run.pending
        assert question.question == QUESTION and question.choices == ["yes", "no"]
        assert [button.description for button in question.buttons] == ["yes", "no"]
        assert not run.done and "waiting for an answer" in repr(run)
        # The view shows where the run waits, though no event came since to redraw it.
        assert "publish › review</code> prep" in run.live.status.value
        question.buttons[0].click()
        await until(lambda: run.pending)  # then the note
        (note,) = run.pending
        assert note.text is not None
        note.text.value = "well done"
        note.buttons[0].click()  # Submit
        await run.wait()
        return run

    run = in_loop(body)
    assert run.done and run.error is None
    assert run.shared == {
        "topic": "bees",
        "draft": "draft about bees",
        "verdict": "yes",
        "note": "well done",
    }
    asked = [child for child in run.questions.children if isinstance(child, Question)]
    assert [q.answered for q in asked] == [True, True]
    assert "answered: yes" in asked[0].prompt.value and asked[0].children == (asked[0].prompt,)
    assert "finished" in repr(run) and run.trace.has_snapshots


def test_a_checkpoint_taken_while_waiting_resumes_with_the_answer_given_in_advance() -> None:
    flow = reviewing()

    async def body() -> tuple[Any, Any]:
        run = start(flow, {"topic": "bees"}, display_widget=False)
        await until(lambda: run.pending)
        checkpoint = run.checkpoint()
        run.cancel()
        await until(lambda: run.done)
        assert isinstance(run.error, asyncio.CancelledError)
        assert "cancelled" in run.questions.children[0].prompt.value
        shared = checkpoint.new_shared()
        with answers({QUESTION: "no"}):
            await flow.resume_async(checkpoint, shared)
        return checkpoint, shared

    checkpoint, shared = in_loop(body)
    assert repr(checkpoint).startswith("<Checkpoint before 'review'")
    assert shared == {"topic": "bees", "draft": "draft about bees", "verdict": "no"}


def test_answers_in_advance_nest_and_must_be_among_the_choices() -> None:
    async def body() -> list[str]:
        with answers({"a?": "1"}), answers({"b?": "2"}):
            got = [await ask("a?"), await ask("b?", choices=["2", "3"])]
        with answers({"c?": "maybe"}), pytest.raises(ValueError, match="not one of its choices"):
            await ask("c?", choices=["yes", "no"])
        return got

    assert in_loop(body) == ["1", "2"]


@pytest.mark.parametrize(
    ("cell", "held"),
    [
        ("await flow.run_async({'topic': 'bees'})", "awaited by"),
        ("pocketflow_widgets.run(flow, {'topic': 'bees'})", "run inside"),
    ],
    ids=["awaited", "run-from-sync-code"],
)
def test_a_run_held_by_its_own_cell_is_told_to_use_start(cell: str, held: str) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    import pocketflow_widgets

    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update(flow=reviewing(), pocketflow_widgets=pocketflow_widgets)
        result = shell.run_cell(cell)
    finally:  # display() would go through this shell in the tests after this one
        InteractiveShell.clear_instance()
    error = result.error_in_exec
    assert isinstance(error, RuntimeError)
    assert f"is {held} the cell that runs the flow" in str(error)
    assert "pocketflow_widgets.start(flow" in str(error) and QUESTION in str(error)


def test_ask_with_no_view_to_ask_in_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match=r"no view to show the question in: start the run"):
        in_loop(lambda: reviewing().run_async({"topic": "bees"}))


def test_start_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        start(reviewing(), {"topic": "bees"})


def test_an_async_stepper_shows_the_question_under_its_panel() -> None:
    async def body() -> Stepper:
        stepper = Stepper(reviewing(), {"topic": "bees"})
        stepper.continue_()
        await until(lambda: stepper.questions.children)
        (question,) = stepper.questions.children
        assert stepper.busy
        question.answer("no")
        await stepper.wait()
        return stepper

    stepper = in_loop(body)
    assert stepper.finished and stepper.error is None and stepper.shared["verdict"] == "no"


def test_a_reset_gives_up_the_question_and_clears_it() -> None:
    async def body() -> tuple[Stepper, Question]:
        stepper = Stepper(reviewing(), {"topic": "bees"})
        stepper.continue_()
        await until(lambda: stepper.questions.children)
        (question,) = stepper.questions.children
        stepper.reset()
        await until(lambda: question.answered)
        return stepper, question

    stepper, question = in_loop(body)
    assert stepper.questions.children == () and question.future.cancelled()
    assert "cancelled" in question.prompt.value and not stepper.events


def test_the_question_is_escaped_and_a_wrong_choice_is_refused() -> None:
    async def body() -> None:
        question = Question("<script>alert(1)</script>?", ["<b>yes</b>"])
        assert "<script>" not in question.prompt.value
        assert "&lt;script&gt;" in question.prompt.value
        with pytest.raises(ValueError, match="not one of the choices"):
            question.answer("maybe")
        question.answer("<b>yes</b>")
        assert await question.future == "<b>yes</b>"
        assert "<b>yes</b>" not in question.prompt.value

    in_loop(body)


def test_a_failing_background_run_keeps_its_error() -> None:
    class Broken(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise KeyError("missing")

    async def body() -> BackgroundRun:
        run = start(AsyncFlow(start=Broken(name="broken")), {}, display_widget=False)
        with pytest.raises(KeyError):
            await run.wait()
        return run

    run = in_loop(body)
    assert isinstance(run.error, KeyError) and "failed: KeyError" in repr(run)
    assert "broken" in run.live.status.value
