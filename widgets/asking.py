"""A person in the loop: a node awaits ``ask(...)`` and the question shows under the run's view.

The kernel takes a click's message only between cells: while a cell executes, even a cell that
only awaits, the widget messages wait (measured: a click sent during a 4 s ``await`` was handled
when the cell ended). A run that asks therefore runs as a task that its cell starts and returns
from: :func:`start` does that and gives a :class:`BackgroundRun`, and the async Stepper steps a
run that way already. ``ask`` awaited by a cell itself would wait forever: it raises instead,
saying to use :func:`start`.

:func:`answers` gives answers in advance, for a run that must not wait: a run resumed from a
checkpoint after a kernel restart, a test, a script::

    with answers({"Approve?": "yes"}):
        await flow.resume_async(checkpoint, checkpoint.new_shared())
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import html
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from types import CodeType, FrameType
from typing import Any, Final, Protocol

import ipywidgets as widgets
from IPython.display import display

from pocketflow import BaseNode
from pocketflow.checkpoints import Checkpoint, checkpoint_at
from pocketflow.trace import Trace

from .live import LiveRun

__all__ = ["BackgroundRun", "Question", "answers", "ask", "asking_in", "start"]


class QuestionHost(Protocol):
    """A view that shows the questions of the run it drives."""

    def show_question(self, question: Question) -> None:
        """Show ``question`` under the view, which then waits for its answer."""


#: The view the current run's questions show in (set in the run's own task).
_HOST: contextvars.ContextVar[QuestionHost | None] = contextvars.ContextVar(
    "pocketflow_widgets_host", default=None
)
#: The answers given in advance (:func:`answers`).
_ANSWERS: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "pocketflow_widgets_answers", default=None
)

#: The coroutine ipykernel runs a cell as (its own task, when the cell awaits).
_CELL_CODE: Final = ("run_cell_async", "interactiveshell.py")


def asking_in(host: QuestionHost) -> None:
    """Make ``host`` the view where ``ask`` shows questions, in the current context: call it in
    the task that runs the flow (the tasks it starts inherit it).
    """
    _HOST.set(host)


@contextlib.contextmanager
def answers(given: Mapping[str, str]) -> Iterator[Mapping[str, str]]:
    """Within the block, ``ask(question)`` returns ``given[question]`` at once, without asking;
    questions not in ``given`` are asked as usual. Blocks nest; tasks started inside inherit it.

    >>> import asyncio
    >>> with answers({"Approve?": "yes"}):
    ...     asyncio.run(ask("Approve?", choices=["yes", "no"]))
    'yes'
    """
    merged = {**(_ANSWERS.get() or {}), **given}
    token = _ANSWERS.set(merged)
    try:
        yield merged
    finally:
        _ANSWERS.reset(token)


async def ask(question: str, choices: Sequence[str] | None = None) -> str:
    """Ask a person ``question`` and wait for the answer, without blocking the kernel.

    With ``choices`` the answer is one of them (a button each), else free text (a text box and
    **Submit**). The question shows under the view of the run (a :func:`start`-ed run, or an
    async Stepper). An answer given in advance with :func:`answers` is returned at once.

    Raises ``RuntimeError`` when no person can answer: the run is held by the cell that runs
    it, awaited or run to its end (the kernel would take the click only after the cell), or it
    has no view to ask in.

    >>> import asyncio
    >>> from pocketflow import AsyncFlow, AsyncNode
    >>> class Review(AsyncNode):
    ...     async def exec_async(self, prep_res):
    ...         return await ask("Approve?", choices=["yes", "no"])
    ...     async def post_async(self, shared, prep_res, exec_res):
    ...         shared["approved"] = exec_res
    >>> shared = {}
    >>> with answers({"Approve?": "yes"}):  # in a notebook: start(flow, shared), then a click
    ...     asyncio.run(AsyncFlow(start=Review()).run_async(shared))
    >>> shared
    {'approved': 'yes'}
    """
    options = None if choices is None else [str(choice) for choice in choices]
    given = _ANSWERS.get() or {}
    if question in given:
        answer = given[question]
        if options is not None and answer not in options:
            raise ValueError(
                f"the answer given in advance to {question!r} is {answer!r}, "
                f"not one of its choices {options}"
            )
        return answer
    host = _HOST.get()
    if host is None:
        raise RuntimeError(_why_nobody_answers(question))
    asked = Question(question, options)
    host.show_question(asked)
    try:
        return await asked.future
    except asyncio.CancelledError:
        asked.end("cancelled")
        raise


def _why_nobody_answers(question: str) -> str:
    advance = f"or give the answer in advance: `with answers({{{question!r}: ...}}): ...`"
    cell = _cell_holding_the_run()
    if cell is not None:
        return (
            f"ask({question!r}) is {cell} the cell that runs the flow: the kernel takes "
            "the click that answers it only once this cell has finished, so it would wait "
            "forever. Start the run in the background and let the cell end: "
            f"`run = pocketflow_widgets.start(flow, shared)`, {advance}"
        )
    return (
        f"ask({question!r}) has no view to show the question in: start the run with "
        f"`run = pocketflow_widgets.start(flow, shared)`, step it with an async Stepper, {advance}"
    )


def _cell_holding_the_run() -> str | None:
    """How a notebook cell holds the current run, if one does: ``"awaited by"`` when the run
    is the cell's own task (IPython runs a cell that awaits as a task of its
    ``run_cell_async``), ``"run inside"`` when the cell's frame is under it on the stack (a
    cell that runs the flow to its end from sync code, re-entering the loop); else ``None``.
    """
    with contextlib.suppress(RuntimeError):
        task = asyncio.current_task()
        if task is not None and _is_cell(getattr(task.get_coro(), "cr_code", None)):
            return "awaited by"
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if _is_cell(frame.f_code):
            return "run inside"
        frame = frame.f_back
    return None


def _is_cell(code: CodeType | None) -> bool:
    return code is not None and (code.co_name, os.path.basename(code.co_filename)) == _CELL_CODE


class Question(widgets.VBox):
    """One question waiting for its answer: a button per choice, or a text box and Submit.

    :meth:`answer` is what a click does; :attr:`future` is what the asking node awaits.
    """

    children: tuple[Any, ...]

    def __init__(self, question: str, choices: Sequence[str] | None = None) -> None:
        self.question = question
        self.choices = None if choices is None else list(choices)
        #: The answer, once given.
        self.future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.prompt = widgets.HTML(f"<div class='pf-question'><b>{html.escape(question)}</b></div>")
        self.buttons: list[widgets.Button] = []
        if self.choices is not None:
            for choice in self.choices:
                choice_button = widgets.Button(description=choice)
                choice_button.on_click(lambda _, choice=choice: self.answer(choice))
                self.buttons.append(choice_button)
            controls: list[widgets.Widget] = list(self.buttons)
            self.text: widgets.Text | None = None
        else:
            self.text = widgets.Text(placeholder="your answer")
            submit = widgets.Button(description="Submit", icon="check")
            submit.on_click(lambda _: self.answer(self.text.value if self.text else ""))
            self.buttons.append(submit)
            controls = [self.text, submit]
        self.row = widgets.HBox(controls)
        super().__init__([self.prompt, self.row])
        self.add_class("pf-ask")

    @property
    def answered(self) -> bool:
        """Whether the question has its answer (or was given up)."""
        return self.future.done()

    def answer(self, text: str) -> None:
        """Give the answer: the waiting node goes on with it."""
        if self.future.done():
            return
        if self.choices is not None and text not in self.choices:
            raise ValueError(f"{text!r} is not one of the choices {self.choices}")
        self.future.set_result(text)
        self.end(f"answered: {text}")

    def end(self, outcome: str) -> None:
        """Show how the question ended and take its controls away."""
        for control in self.buttons:
            control.disabled = True
        if self.text is not None:
            self.text.disabled = True
        self.prompt.value = (
            f"<div class='pf-question pf-answered'><b>{html.escape(self.question)}</b> "
            f"{html.escape(outcome)}</div>"
        )
        self.children = (self.prompt,)


class BackgroundRun:
    """A run of a flow as a task of the kernel's event loop, with its live view: see
    :func:`start`.

    :attr:`task` is the task, :attr:`done`, :attr:`result` and :attr:`error` say how it ended,
    :attr:`trace` holds its events with snapshots of ``shared``, and :meth:`checkpoint` is the
    checkpoint at its last node boundary: taken while a node waits for an answer, it resumes
    at that node's start. In a notebook, let the cell that starts it end: a cell that awaits
    :meth:`wait` holds back the clicks that answer the run's questions.

    >>> import asyncio
    >>> from pocketflow import AsyncFlow, AsyncNode
    >>> class Review(AsyncNode):
    ...     async def exec_async(self, prep_res):
    ...         return await ask("Approve?", choices=["yes", "no"])
    >>> async def cell():
    ...     run = start(AsyncFlow(start=Review(name="review")), {}, display_widget=False)
    ...     while not run.pending:
    ...         await asyncio.sleep(0)
    ...     print(run)
    ...     return run.checkpoint()  # to save, and resume with the answer later
    >>> asyncio.run(cell())
    <BackgroundRun of 'AsyncFlow': running, waiting for an answer to 'Approve?'>
    <Checkpoint before 'review' in 'AsyncFlow' (step 3)>
    """

    def __init__(
        self, flow: BaseNode, shared: Any, *, interval: float = 0.1, timeline: bool = False
    ) -> None:
        self.flow = flow
        self.shared = shared
        #: The live view (graph, status) of the run.
        self.live = LiveRun(
            flow, interval=interval, display_widget=False, timeline=timeline, snapshots=True
        )
        #: The questions the run asked, under its view.
        self.questions = widgets.VBox()
        self.widget = widgets.VBox([self.live.widget, self.questions])
        self.task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(self._main())
        self.task.add_done_callback(_retrieve)

    async def _main(self) -> Any:
        asking_in(self)  # in this task's own context
        return await self.live.run_async(self.shared)

    def show_question(self, question: Question) -> None:
        """Show ``question`` under the view, and the view as of now: the run waits, so no
        event comes to redraw it.
        """
        self.questions.children = (*self.questions.children, question)
        self.live.render()

    @property
    def done(self) -> bool:
        """Whether the run has ended (finished, failed or cancelled)."""
        return self.task.done()

    @property
    def result(self) -> Any:
        """What the run returned; raises what it raised, or ``RuntimeError`` while it runs."""
        if not self.task.done():
            raise RuntimeError("the run is still going: `await run.wait()` for its result")
        return self.task.result()

    @property
    def error(self) -> BaseException | None:
        """What ended the run, if it did not finish (a cancellation included)."""
        if not self.task.done():
            return None
        if self.task.cancelled():
            return asyncio.CancelledError()
        return self.task.exception()

    @property
    def trace(self) -> Trace:
        """The run so far, with snapshots of ``shared``."""
        return self.live.trace

    @property
    def pending(self) -> list[Question]:
        """The questions waiting for an answer."""
        return [q for q in self.questions.children if isinstance(q, Question) and not q.answered]

    def checkpoint(self) -> Checkpoint:
        """The checkpoint at the run's last node boundary (save it, resume it later)."""
        return checkpoint_at(self.trace)

    def cancel(self) -> bool:
        """Stop the run (a waiting question is given up); whether it was still going."""
        return self.task.cancel()

    async def wait(self) -> Any:
        """Wait for the end of the run; its result (or what it raised)."""
        await asyncio.wait({self.task})
        return self.result

    def __repr__(self) -> str:
        if not self.done:
            state = "running"
            waiting = self.pending
            if waiting:
                state += f", waiting for an answer to {waiting[0].question!r}"
        elif self.task.cancelled():
            state = "cancelled"
        elif self.task.exception() is not None:
            state = f"failed: {type(self.task.exception()).__name__}"
        else:
            state = "finished"
        return f"<BackgroundRun of {self.flow.name!r}: {state}>"


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark the task's exception as seen: the view and :attr:`BackgroundRun.error` report it."""
    if not task.cancelled():
        task.exception()


def start(
    flow: BaseNode,
    shared: Any,
    *,
    interval: float = 0.1,
    timeline: bool = False,
    display_widget: bool = True,
) -> BackgroundRun:
    """Run ``flow`` on ``shared`` in the background, its live view shown in the cell, and return
    at once: the kernel stays free for clicks (the answers to :func:`ask`) and other cells.

    Call it from a cell (or any code running in an event loop). The run is a task of that loop:
    see :class:`BackgroundRun`.

    >>> import asyncio
    >>> from pocketflow import AsyncFlow, AsyncNode
    >>> class Note(AsyncNode):
    ...     async def post_async(self, shared, prep_res, exec_res):
    ...         shared["note"] = await ask("Any note?")  # a text box and Submit
    >>> async def cell():
    ...     run = start(AsyncFlow(start=Note()), {}, display_widget=False)
    ...     while not run.pending:  # the question shows under the run's view
    ...         await asyncio.sleep(0)
    ...     run.pending[0].answer("looks good")  # what typing it and Submit do
    ...     await run.wait()
    ...     return run.shared
    >>> asyncio.run(cell())
    {'note': 'looks good'}
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "start() runs the flow as a task of the running event loop: call it in a notebook "
            "cell or in async code (with no loop, run the flow with pocketflow_widgets.run)"
        ) from None
    run = BackgroundRun(flow, shared, interval=interval, timeline=timeline)
    if display_widget:
        display(run.widget)
    return run
