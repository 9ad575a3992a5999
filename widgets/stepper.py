"""The Stepper: walk a run one phase at a time, with the graph, the values and ``shared``.

The run is a :class:`pocketflow.stepping.Session`: the events, the breakpoints, how the run
ended, and the advancing itself (an event, the next node, on to a breakpoint; sync or async).
The Stepper adds what a notebook needs around it: the buttons and the breakpoint list, the graph
(a :class:`~pocketflow_widgets.run_graph.RunGraph`, as the live view draws it), what each step
changed in ``shared``, what the run prints, and a copy of ``shared`` to start over from.

Stepping never blocks the kernel. A sync flow advances within the click. An async flow's click
schedules the advance as a task on the running event loop (the kernel's, in Jupyter) and returns
at once; the run waits between two events without holding the loop, and clicks made while a
step runs wait their turn.

What a run prints shows in the panel, and only that: other cells and tasks keep printing where
they did. While steps run, a stand-in in ``sys.stdout`` sends each write to the panel of the run
whose context made it (an async run's tasks inherit the context) and every other write to the
stream that was there; once no step runs, ``sys.stdout`` is that stream again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import html
import io
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, cast

import ipywidgets as widgets

from pocketflow import BaseNode, Event
from pocketflow.checkpoints import Checkpoint
from pocketflow.events import POST, START, TRANSITION
from pocketflow.graph import Overlay
from pocketflow.stepping import Session

from .asking import Question, asking_in
from .fork import ForkControls, describe_source
from .run_graph import RunGraph, ShowsRunGraph, put_view
from .state import SharedDiff, SharedWatch, copy_shared, short_repr
from .tracebacks import user_traceback

__all__ = ["Stepper"]

#: One advance of the session, as a click queues it (async flows).
Advance = Callable[[], Awaitable[Event | None]]


class Stepper(ShowsRunGraph, widgets.VBox):
    """A panel to walk ``flow`` over ``shared`` event by event.

    Buttons: **Step** (the next event), **Next node** (on to the next node that starts),
    **Continue** (to the end, or to the next breakpoint), **Reset** (start over from a fresh
    copy of the ``shared`` given at the start). Breakpoints are nodes, chosen in the list or
    given as ``breakpoints=`` (nodes or names): the list is the session's ``halt_before``, and
    :attr:`session` takes other breakpoints too (``halt_after``, ``halt_on``). Everything can be
    driven from Python: :meth:`step`, :meth:`next_node`, :meth:`continue_`, :meth:`reset`; for
    an async flow each schedules the work on the running loop and :meth:`wait` awaits it. Clicks
    made while an async step runs are queued and taken one after another, in order
    (:attr:`queued`).

    Values in ``shared`` that cannot be copied (a lock, a database connection, an open file, a
    generator) are kept as they are for Reset: the new run gets the very same objects, in the
    state the last run left them (:attr:`by_reference` lists them). Snapshots show them as
    their ``repr``.

    An exception that escapes a node ends the run: :attr:`error`, with :attr:`where` it was
    raised. An interrupt, an exit or a cancellation (:attr:`interrupted`) ends it the same way;
    a sync step then raises it again, so that the kernel's interrupt still stops the cell.

    Edges wired after the Stepper was made are followed: the graph is rebuilt when the run
    reaches a node it does not know, and on Reset.

    ``checkpoint=`` picks a run up where it was checkpointed (``shared`` may then be ``None``:
    a copy of the checkpoint's), and ``history=`` shows the run that led there on the graph
    (an overlay); the header says where it came from. **Fork**, when the run
    halted at a node boundary, checkpoints it there and opens a new Stepper on the fork under
    this one, optionally after editing ``shared`` (:attr:`fork_controls`). A node of an async
    flow may ``await ask(...)``: the question shows under the panel (see
    :mod:`pocketflow_widgets.asking`).

    >>> from pocketflow import Node, Flow
    >>> stepper = Stepper(Flow(start=Node(name="hello")), {})
    >>> stepper.step(); stepper.last.kind
    'start'
    >>> stepper.continue_(); stepper.finished
    True
    """

    children: tuple[Any, ...]  # the panel's parts (a trait of VBox)

    def __init__(
        self,
        flow: BaseNode,
        shared: Any,
        *,
        breakpoints: Iterable[BaseNode | str] = (),
        checkpoint: Checkpoint | None = None,
        history: Overlay | None = None,
    ) -> None:
        self.flow = flow
        if checkpoint is not None:
            if shared is None:
                shared = checkpoint.new_shared()
            # A checkpoint of another graph is refused now, naming the difference, not at Step.
            checkpoint.check(flow)
        self._initial, by_reference = copy_shared(shared)
        #: Where ``shared`` holds values that Reset keeps as they are (they cannot be copied).
        self.by_reference: tuple[str, ...] = by_reference
        #: The run: its events, its breakpoints, how it ended.
        self.session = Session(flow, shared, checkpoint=checkpoint)
        #: The run laid over the flow's graph.
        self.run_graph = RunGraph(flow, history)

        self.step_button = widgets.Button(description="Step", icon="step-forward")
        self.next_node_button = widgets.Button(description="Next node", icon="forward")
        self.continue_button = widgets.Button(description="Continue", icon="play")
        self.reset_button = widgets.Button(description="Reset", icon="undo")
        self.step_button.on_click(lambda _: self.step())
        self.next_node_button.on_click(lambda _: self.next_node())
        self.continue_button.on_click(lambda _: self.continue_())
        self.reset_button.on_click(lambda _: self.reset())
        self.header = widgets.HTML(
            ""
            if checkpoint is None
            else f"<div class='pf-status pf-fork-source'>"
            f"{html.escape(_sentence(describe_source(checkpoint)))}</div>"
        )
        #: Fork the run where it halted: the button, the editor of ``shared``, the forks.
        self.fork_controls = ForkControls(
            self.session.take_checkpoint,
            lambda: self.shared,
            lambda fork, shared: Stepper(
                flow,
                shared,
                checkpoint=fork,
                history=self.run_graph.until(fork.step, including=fork.after),
            ),
            label="Fork",
            view="Stepper",
        )
        #: The questions the run asked (``ask``), and how each was answered.
        self.questions = widgets.VBox()
        self.breakpoint_picker = widgets.SelectMultiple(description="Break at")
        self._picked: set[BaseNode] = set()  # what the list put in session.halt_before
        self.breakpoint_picker.observe(lambda _: self._pick(), names="value")
        self._offer_breakpoints()
        self.breakpoint_picker.value = tuple(self._breakpoint_ids(breakpoints))
        self.status = widgets.HTML()
        self.diff = widgets.HTML()
        self.error_box = widgets.HTML()
        self.output = widgets.Output()
        buttons = widgets.HBox(
            [self.step_button, self.next_node_button, self.continue_button, self.reset_button]
        )
        super().__init__(
            [
                self.header,
                widgets.HBox([buttons, self.breakpoint_picker]),
                self.view.widget,
                self.status,
                self.questions,
                self.diff,
                self.error_box,
                self.output,
                self.fork_controls,
            ]
        )
        self.add_class("pf-stepper")
        #: The task working through the clicks (async flows), while there is one.
        self.pending: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clicks: deque[Advance] = deque()
        self._generation = 0  # which run the state below is about (Reset starts another)
        self._start()

    # -- state --------------------------------------------------------------------------

    def _start(self) -> None:
        self._generation += 1
        self._drawn = 0  # how many of the session's events the graph has counted
        #: The error's traceback as the error box shows it: the user's frames, not the library's.
        self.error_text = ""
        #: ``shared`` watched from step to step.
        self.watch = SharedWatch(self.shared)
        #: What the last step changed in ``shared``.
        self.changes: SharedDiff | None = None
        self._printed = io.StringIO()  # what the run printed since the last step was shown
        self._stepping_now = False
        self._render()

    @property
    def shared(self) -> Any:
        """The ``shared`` the run works on (after a Reset, a fresh copy)."""
        return self.session.shared

    @property
    def is_async(self) -> bool:
        """Whether the flow is async: its steps run as tasks on the event loop."""
        return self.session.is_async

    @property
    def events(self) -> list[Event]:
        """Every event of the run so far."""
        return self.session.events

    @property
    def last(self) -> Event | None:
        """The latest event."""
        return self.session.last

    @property
    def finished(self) -> bool:
        """Whether the run has ended."""
        return self.session.finished

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the run: a failure, or an interruption."""
        return self.session.error

    @property
    def error_event(self) -> Event | None:
        """The ``error`` event that reported :attr:`error`: which node it escaped."""
        return self.session.error_event

    @property
    def interrupted(self) -> bool:
        """Whether the run was interrupted (an interrupt, an exit, a cancellation), not failed."""
        return self.session.interrupted

    @property
    def where(self) -> str | None:
        """Where :attr:`error` escaped, as ``"flow › node"``; ``None`` when no node reported it."""
        return self.session.where

    @property
    def result(self) -> Any:
        """What the run returned, once it has."""
        return self.session.result

    @property
    def snapshot(self) -> dict[Any, Any]:
        """``shared`` as of the last step (values that cannot be copied as placeholders)."""
        return self.watch.snapshot

    @property
    def queued(self) -> int:
        """How many clicks wait for the async step that runs now."""
        return len(self._clicks)

    @property
    def busy(self) -> bool:
        """Whether a step is running or clicks wait for one."""
        return self._stepping_now or bool(self._clicks)

    @property
    def breakpoints(self) -> set[str]:
        """The graph ids of the nodes picked in the list, where Continue stops."""
        return set(self.breakpoint_picker.value)

    def _breakpoint_ids(self, breakpoints: Iterable[BaseNode | str]) -> list[str]:
        ids = []
        for point in breakpoints:
            if isinstance(point, BaseNode):
                ids.append(self.graph.id_of(point))
                continue
            matches = [node.id for node in self.graph.nodes if point in (node.name, node.id)]
            if not matches:
                known = sorted({node.name for node in self.graph.nodes})
                raise ValueError(f"no node named {point!r} in this flow (its nodes: {known})")
            ids.extend(matches)
        return ids

    def _offer_breakpoints(self) -> None:
        chosen = [node_id for node_id in self.breakpoint_picker.value if node_id in self.graph]
        names = [(node.label, node.id) for node in self.graph.nodes]
        self.breakpoint_picker.options = names
        self.breakpoint_picker.rows = min(6, max(2, len(names)))
        self.breakpoint_picker.value = tuple(chosen)

    def _pick(self) -> None:
        """Make the nodes picked in the list the session's ``halt_before`` (and leave the ones
        code put there).
        """
        graph = self.graph
        picked = {
            graph[node_id].obj for node_id in self.breakpoint_picker.value if node_id in graph
        }
        self.session.halt_before.difference_update(self._picked - picked)
        self.session.halt_before.update(picked)
        self._picked = picked

    def _follow_view(self, old: widgets.Widget) -> None:
        """Show the view of a graph made anew, and offer its nodes as breakpoints."""
        if self.view.widget is not old:
            put_view(self, old, self.view.widget)
            self._offer_breakpoints()

    # -- actions ------------------------------------------------------------------------

    def step(self) -> None:
        """Advance by one event."""
        __tracebackhide__ = True
        self._advance(self.session.step, self.session.astep)

    def next_node(self) -> None:
        """Advance until the next node starts (or the run ends)."""
        __tracebackhide__ = True
        self._advance(self.session.next_node, self.session.anext_node)

    def continue_(self) -> None:
        """Advance to the end of the run, or to the next breakpoint."""
        __tracebackhide__ = True
        self._advance(self.session.continue_, self.session.acontinue)

    def fork(self) -> Stepper | None:
        """Fork the run where it halted (a node boundary), with the edits made in
        :attr:`fork_controls`: the new Stepper, shown under this one, or ``None`` when it
        cannot be forked (the reason is shown).
        """
        return self.fork_controls.fork()

    def show_question(self, question: Question) -> None:
        """Show a question the run asks (``ask``) under the panel, until it is answered."""
        self.questions.children = (*self.questions.children, question)

    def reset(self) -> None:
        """Abandon the current run and start over from a fresh copy of the initial ``shared``."""
        self._clicks.clear()
        worker, self.pending = self.pending, None
        if worker is not None and not worker.done():
            worker.cancel()  # its advance stops the old run; the session keeps it from the new
        shared, self.by_reference = copy_shared(self._initial)
        loop = self._loop
        if loop is not None and not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(self.session.areset(shared))  # no loop runs here: stop it now
        else:
            self.session.reset(shared)
        self.output.clear_output()
        self.questions.children = ()
        old = self.view.widget
        self.run_graph.restart()
        self.run_graph.follow_wiring()  # offer the nodes wired since as breakpoints
        self._follow_view(old)
        self._start()

    async def wait(self) -> None:
        """Wait until the clicks made so far (async flows) have been taken."""
        while self.pending is not None and not self.pending.done():
            await asyncio.wait({self.pending})  # a Reset may cancel it: that ends the wait too
        if self.pending is not None and not self.pending.cancelled():
            self.pending.result()  # a fault of the Stepper's own, if any, surfaces here

    # -- driving the run ----------------------------------------------------------------

    def _advance(self, advance: Callable[[], Event | None], queued: Advance) -> None:
        """Advance the session: at once (sync flows), or as a task of the event loop."""
        __tracebackhide__ = True
        if not self.is_async:
            if not self.finished:
                with self._stepping():
                    advance()
            return
        self._clicks.append(queued)
        if self.pending is None or self.pending.done():
            self.pending = self._schedule(self._take_clicks())
        elif self._loop is not None and not self._loop.is_running():
            # No loop runs here (a script) and an interrupt stopped ours mid-step: finish it now.
            self._loop.run_until_complete(self.pending)
        else:
            self.status.value = self._status_html()  # say the click waits its turn

    async def _take_clicks(self) -> None:
        """Take the queued clicks one by one, each advancing the run once."""
        __tracebackhide__ = True
        generation = self._generation
        try:
            asking_in(self)  # this task's context: a node's ask() shows under the panel
            while self._clicks and not self.finished:
                advance = self._clicks.popleft()
                with self._stepping():
                    try:
                        await advance()
                    except BaseException as exc:
                        if isinstance(exc, asyncio.CancelledError) or exc is not self.error:
                            raise
                        # An interrupt that ended the run, kept in the session: a task has no
                        # cell to stop, and raised out of the loop it would stop the kernel's.
        finally:
            if generation == self._generation and self._clicks:
                self._clicks.clear()  # the run is over: the clicks left have nothing to do
                self.status.value = self._status_html()

    @contextlib.contextmanager
    def _stepping(self) -> Iterator[None]:
        """Around one advance, sync or async: capture what the run prints, then show the state
        after it.
        """
        __tracebackhide__ = True
        generation = self._generation
        self._stepping_now = True
        try:
            with self._capturing():
                yield
        finally:
            if generation == self._generation:  # else a Reset started another run meanwhile
                self._stepping_now = False
                self._show_step()

    @contextlib.contextmanager
    def _capturing(self) -> Iterator[None]:
        """Show what the run prints in the panel (a click's output has no cell)."""
        token = _PRINTS.set(self._printed.write)
        _router.enter()
        try:
            yield
        finally:
            _router.leave()
            _PRINTS.reset(token)
            printed = self._printed.getvalue()
            if printed:
                self._printed.seek(0)
                self._printed.truncate()
                self.output.append_stdout(printed)

    def _show_step(self) -> None:
        """Show what the last advance did: its events on the graph, how the run ended, what
        changed in ``shared``.
        """
        old = self.view.widget
        events = self.session.events
        for event in events[self._drawn :]:
            self.run_graph.add(event)
        self._drawn = len(events)
        self._follow_view(old)
        if self.error is not None and not self.error_text:
            self.error_text = user_traceback(self.error)
        self.changes = self.watch.diff()
        self._render()

    def _schedule(self, coroutine: Any) -> asyncio.Future[Any]:
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                self._loop = asyncio.new_event_loop()
        if self._loop.is_running():
            future: asyncio.Future[Any] = asyncio.ensure_future(coroutine, loop=self._loop)
            return future
        # No loop is running (a plain script): run the step to completion right here.
        task = self._loop.create_task(coroutine)
        self._loop.run_until_complete(task)
        return task

    # -- the view -----------------------------------------------------------------------

    def _render(self) -> None:
        self.run_graph.draw()
        self.status.value = self._status_html()
        self.diff.value = "" if self.changes is None else self.changes.to_html()
        if self.error is not None:
            what = "was interrupted" if self.interrupted else "failed"
            self.error_box.value = (
                f"<div class='pf-error'><b>The run {what}:</b>"
                f"<pre>{html.escape(self.error_text)}</pre></div>"
            )
        else:
            self.error_box.value = ""
        for button in (self.step_button, self.next_node_button, self.continue_button):
            button.disabled = self.finished
        self._offer_fork()

    def _offer_fork(self) -> None:
        """Offer Fork when the run halted at a node boundary it can be checkpointed at."""
        event = self.last
        at_boundary = (
            event is not None
            and event.kind in (START, POST)
            and not self.finished
            and not self.busy
        )
        where = ""
        if event is not None and at_boundary:
            phase = "as it starts" if event.kind == START else "after its post"
            where = f"from step {event.step}: <code>{html.escape(event.node.name)}</code> {phase}"
        self.fork_controls.offer(at_boundary, where, key=(self._generation, len(self.events)))

    def _status_html(self) -> str:
        event = self.last
        if event is None:
            text = "Ready: press <b>Step</b> to start."
            if self.by_reference:
                kept = ", ".join(f"<code>{html.escape(path)}</code>" for path in self.by_reference)
                text += f" Reset keeps {kept} as they are: they cannot be copied."
            return f"<div class='pf-status'>{text}{self._busy_html()}</div>"
        where = " › ".join((*event.path, event.node.name))
        parts = [f"<b>#{event.step}</b> <code>{html.escape(where)}</code> · <b>{event.kind}</b>"]
        if event.item is not None:
            total = f"/{event.total}" if event.total is not None else ""
            parts.append(f"item {event.item + 1}{total}")
        if event.attempt is not None:
            parts.append(f"try {event.attempt + 1}")
        if event.kind != START:
            parts.append(f"→ <code>{html.escape(short_repr(event.value))}</code>")
        if event.kind == TRANSITION:
            target = event.target.name if event.target is not None else "end of flow"
            parts.append(f"next: <b>{html.escape(target)}</b>")
        if self.error is not None:
            ended = "<b>interrupted</b>" if self.interrupted else "<b>failed</b>"
            if self.where is not None:
                ended += f" in <code>{html.escape(self.where)}</code>"
            parts.append(ended)
        elif self.finished:
            parts.append("<b>finished</b>")
        return f"<div class='pf-status'>{' · '.join(parts)}{self._busy_html()}</div>"

    def _busy_html(self) -> str:
        if not self.busy:
            return ""
        waiting = f" ({self.queued} more queued)" if self.queued else ""
        return f" · <i>working…{waiting}</i>"


# -- output: the run's prints to its panel, everyone else's where they went -------------------

#: Where the current context's prints go: the buffer of the run it belongs to, if any.
_PRINTS: contextvars.ContextVar[Callable[[str], object] | None] = contextvars.ContextVar(
    "pocketflow_widgets_prints", default=None
)


class _Router:
    """Stands in for ``sys.stdout`` while steps run: each write goes to the buffer the current
    context names, or else to the stream that was ``sys.stdout`` before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps = 0
        self._stream: Any = None
        self._stand_in: _StandIn | None = None

    def enter(self) -> None:
        """A step begins: put the stand-in in place if it is the first."""
        with self._lock:
            self._steps += 1
            if self._steps == 1 and not isinstance(sys.stdout, _StandIn):
                self._stand_in = _StandIn(sys.stdout)
                sys.stdout = cast(Any, self._stand_in)

    def leave(self) -> None:
        """A step ends: the last one puts the stream back (unless someone replaced it since)."""
        with self._lock:
            self._steps -= 1
            if self._steps == 0 and self._stand_in is not None:
                if sys.stdout is self._stand_in:
                    sys.stdout = self._stand_in.stream
                self._stand_in = None


class _StandIn:
    """The object in ``sys.stdout`` while steps run (see :class:`_Router`)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        sink = _PRINTS.get()
        if sink is not None:
            sink(text)
        elif self.stream is not None:
            self.stream.write(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _PRINTS.get() is None and self.stream is not None:
            self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno...: the stream's own
        return getattr(self.stream, name)


_router = _Router()


def _sentence(text: str) -> str:
    """``text`` with a capital first letter (the rest as it is: names keep their case)."""
    return text[:1].upper() + text[1:]
