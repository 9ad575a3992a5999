"""A person in the loop: a node awaits ``ask(...)`` and the question shows under the run's view.

The kernel takes a click's message only between cells: while a cell executes, even a cell that
only awaits, the widget messages wait (measured: a click sent during a 4 s ``await`` was handled
when the cell ended). A run that asks therefore runs as a task that its cell starts and returns
from: :func:`~pocketflow_widgets.background.start` does that (see
:mod:`pocketflow_widgets.background`), and the async Stepper steps a run that way already. A run
held by its cell (awaited, or run to its end from sync code) would wait forever: ``ask`` raises
instead, saying to use ``start``.

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

__all__ = ["Question", "QuestionHost", "answers", "ask", "asking_in"]


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
    **Submit**). The question shows under the view of the run (a run given to ``start``, or an
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
