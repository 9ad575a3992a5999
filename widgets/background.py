"""Runs in the background: a flow run as a task of the kernel's event loop, its live view in
the cell that started it, so that the cell ends and the kernel stays free.

A run that waits for a person (``ask``) must run this way: the kernel takes a click's message
only once no cell executes. :func:`start` starts one and returns a :class:`BackgroundRun`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from pocketflow import BaseNode
from pocketflow.checkpoints import Checkpoint, checkpoint_at
from pocketflow.trace import Trace

from .asking import Question, asking_in
from .live import LiveRun

__all__ = ["BackgroundRun", "start"]


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
    >>> from pocketflow_widgets import ask
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
    >>> from pocketflow_widgets import ask
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
