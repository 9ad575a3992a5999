"""Stepping: drive one run of a flow event by event, with breakpoints.

A :class:`Session` wraps a run's step stream (``node.steps`` for a sync flow, ``node.asteps``
for an async one) and adds what a debugger needs: step one event, go on to the next node, or
continue until a breakpoint or the end; halt *before* a node starts, *after* it returns, or on
an event kind (``"retry"``, ``"error"``...); start over. It is plain data and plain calls, so a
notebook view, a test or a script drive it the same way.

>>> from pocketflow import Flow, Node
>>> first, second = Node(name="first"), Node(name="second")
>>> _ = first >> second
>>> session = Session(Flow(start=first, name="main"), {}, halt_before=["second"])
>>> session.continue_().node.name  # halts as "second" starts
'second'
>>> session.continue_() is None, session.finished  # on to the end
(True, True)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from . import runners
from .events import ERROR, KINDS, POST, START, Event
from .nodes import BaseNode

if TYPE_CHECKING:
    from .checkpoints import Checkpoint

__all__ = ["Session", "is_interruption", "reported_by"]

#: Whether to halt after an event.
Halt = Callable[[Event], bool]


class Session:
    """One run of ``flow`` over ``shared``, advanced on request.

    ``halt_before`` and ``halt_after`` name nodes (node objects or names) where
    :meth:`continue_` stops: as the node starts, or once its ``post`` returned. ``halt_on``
    names event kinds to stop at (from :data:`pocketflow.KINDS`). The breakpoints are plain
    sets: change them at any time.

    The sync methods (:meth:`step`, :meth:`next_node`, :meth:`continue_`) drive a sync flow;
    their async twins (:meth:`astep`, :meth:`anext_node`, :meth:`acontinue`) drive any flow in
    the running event loop. Each returns the event it halted at, or ``None`` once the run has
    ended (then :attr:`finished` is true and :attr:`error` holds what it raised, if anything).

    An ``Exception`` from the run ends it and is kept in :attr:`error`; an interrupt, an exit or
    a cancellation (any other ``BaseException``) is kept too, then raised again: stepping must
    not swallow a kernel's interrupt. Cancelling the task that awaits an async advance cancels
    the run the same way.
    """

    def __init__(
        self,
        flow: BaseNode,
        shared: Any,
        *,
        halt_before: Iterable[BaseNode | str] = (),
        halt_after: Iterable[BaseNode | str] = (),
        halt_on: Iterable[str] = (),
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.flow = flow
        #: Where the run picks up (``None``: from the start): see :mod:`pocketflow.checkpoints`.
        self.checkpoint = checkpoint
        #: Nodes (objects or names) to halt at as they start.
        self.halt_before: set[BaseNode | str] = set(halt_before)
        #: Nodes (objects or names) to halt at once their ``post`` returned.
        self.halt_after: set[BaseNode | str] = set(halt_after)
        #: Event kinds to halt at.
        self.halt_on: set[str] = set(halt_on)
        unknown = self.halt_on - set(KINDS)
        if unknown:
            raise ValueError(f"halt_on: unknown event kinds {sorted(unknown)} (known: {KINDS})")
        #: Whether the flow is async (then only the async methods advance it).
        self.is_async: bool = flow._is_async
        self._sync: Generator[Event, None, Any] | None = None
        self._async: AsyncGenerator[Event, None] | None = None
        self._start(shared)

    # -- state ------------------------------------------------------------------------------

    def reset(self, shared: Any) -> None:
        """Abandon the current run and start a new one over ``shared``.

        A sync run is closed at once; an async run is cancelled when its stream is collected
        (from async code, :meth:`areset` waits until it has stopped). An async advance still
        awaited (a task of the caller's) changes nothing in the new run: it stops the old run
        once its event comes, or at once when its task is cancelled.
        """
        if self._sync is not None:
            self._sync.close()
        self._start(shared)

    async def areset(self, shared: Any) -> None:
        """:meth:`reset`, waiting until an async run between two advances has been cancelled."""
        # An advance still awaited holds the stream: it stops the run itself (see reset).
        if self._async is not None and not getattr(self._async, "ag_running", False):
            await self._async.aclose()
        self.reset(shared)

    def _start(self, shared: Any) -> None:
        #: The ``shared`` the run works on.
        self.shared = shared
        #: Every event so far, in order.
        self.events: list[Event] = []
        #: Whether the run has ended.
        self.finished = False
        #: What the run raised, if it ended that way.
        self.error: BaseException | None = None
        # The run's stream is made at the first advance: a sync flow can be stepped either way.
        self._sync = None
        self._async = None

    @property
    def last(self) -> Event | None:
        """The latest event (``None`` before the first)."""
        return self.events[-1] if self.events else None

    @property
    def result(self) -> Any:
        """What the run returned: the value of the flow's own ``post`` event, once it came."""
        return next(
            (e.value for e in reversed(self.events) if e.kind == POST and e.node is self.flow),
            None,
        )

    @property
    def interrupted(self) -> bool:
        """Whether the run ended with an interrupt, an exit or a cancellation."""
        return is_interruption(self.error)

    @property
    def error_event(self) -> Event | None:
        """The ``error`` event that says where the run failed or was interrupted."""
        return None if self.error is None else reported_by(self.events, self.error)

    @property
    def where(self) -> str | None:
        """Where :attr:`error` escaped, as ``"flow › node"``; ``None`` when no node reported it."""
        event = self.error_event
        return None if event is None else " › ".join((*event.path, event.node.name))

    def at_breakpoint(self, event: Event) -> bool:
        """Whether :meth:`continue_` halts at ``event``."""
        if event.kind in self.halt_on:
            return True
        if event.kind == START:
            points = self.halt_before
        elif event.kind == POST:
            points = self.halt_after
        else:
            return False
        return event.node in points or event.node.name in points

    # -- advancing ---------------------------------------------------------------------------

    def step(self) -> Event | None:
        """Advance by one event."""
        return self._advance(_every)

    def next_node(self) -> Event | None:
        """Advance until the next node starts."""
        return self._advance(_starts)

    def continue_(self) -> Event | None:
        """Advance to the next breakpoint, or to the end."""
        return self._advance(self.at_breakpoint)

    async def astep(self) -> Event | None:
        """Advance by one event, in the running event loop."""
        return await self._aadvance(_every)

    async def anext_node(self) -> Event | None:
        """Advance until the next node starts, in the running event loop."""
        return await self._aadvance(_starts)

    async def acontinue(self) -> Event | None:
        """Advance to the next breakpoint, or to the end, in the running event loop."""
        return await self._aadvance(self.at_breakpoint)

    def _advance(self, halt: Halt) -> Event | None:
        if self.finished:
            return None
        if self._sync is None:
            if self.is_async:
                raise RuntimeError(
                    f"'{self.flow.name}' is async: advance it with `await session.astep()` "
                    "(or anext_node, acontinue)"
                )
            if self._async is not None:
                raise RuntimeError("this run is stepped with astep(): go on with astep()")
            self._sync = self._stream(stepping_async=False)
        while True:
            try:
                event = next(self._sync)
            except StopIteration:
                self._end(None)
                return None
            except BaseException as exc:
                self._end(exc)
                return None
            if self._take(event, halt):
                return event

    async def _aadvance(self, halt: Halt) -> Event | None:
        if self.finished:
            return None
        if self._async is None:
            if self._sync is not None:
                raise RuntimeError("this run is stepped with step(): go on with step()")
            self._async = self._stream(stepping_async=True)
        stream = self._async
        while True:
            try:
                event = await stream.__anext__()
            except StopAsyncIteration:
                if stream is self._async:
                    self._end(None)
                return None
            except BaseException as exc:
                if stream is not self._async:
                    raise  # a reset abandoned this run meanwhile: not the new run's end
                self._end(exc)
                return None
            if stream is not self._async:  # a reset abandoned this run while it worked
                await stream.aclose()
                return None
            if self._take(event, halt):
                return event

    def _stream(self, stepping_async: bool) -> Any:
        """The run's event stream: from the start, or from :attr:`checkpoint`."""
        if self.checkpoint is None:
            if stepping_async:
                return self.flow.asteps(self.shared)
            return self.flow.steps(self.shared)
        run = self.checkpoint.new_run(stepping=True)
        steps = self.checkpoint.steps_for(self.flow, self.shared, run)
        if stepping_async:
            return runners.iterate_async(steps, run)
        return runners.iterate(steps, run)

    def take_checkpoint(self) -> Checkpoint:
        """A checkpoint of the run where it halted, a node boundary (as a node starts or after
        its ``post``), with a copy of ``shared`` as it is now; resume it with
        ``flow.resume(checkpoint, shared)`` or ``Session(flow, shared, checkpoint=...)``.
        """
        from .checkpoints import checkpoint_of_events

        if self.finished:
            raise ValueError("the run has ended: there is no boundary to take a checkpoint at")
        return checkpoint_of_events(self.events, self.flow, self.shared, self.checkpoint)

    def _take(self, event: Event, halt: Halt) -> bool:
        self.events.append(event)
        if event.kind == ERROR:
            return False  # the exception follows at once: report both together
        return halt(event)

    def _end(self, error: BaseException | None) -> None:
        self.finished = True
        if is_interruption(error):
            event = reported_by(self.events, error)
            if event is not None and event.value is not error and is_interruption(event.value):
                error = event.value  # a cancelled task raises a CancelledError of its own
            self.error = error
            raise error  # an interrupt, an exit or a cancellation goes on to the caller
        self.error = error


def is_interruption(error: BaseException | None) -> TypeGuard[BaseException]:
    """Whether ``error`` stopped a run without being a failure of it: an interrupt, an exit, a
    cancellation (a ``BaseException`` that is not an ``Exception``).
    """
    return error is not None and not isinstance(error, Exception)


def reported_by(events: Sequence[Event], error: BaseException) -> Event | None:
    """The ``error`` event among a run's ``events`` that reported ``error``: where it escaped.

    An exception can reach the caller as another object than the one reported (a cancelled
    task raises its own ``CancelledError``; a coroutine wraps a hook's ``StopIteration``): then
    the last ``error`` event is the one, since the exception a run reports propagates at once.
    ``None`` when no node reported anything (an observer raised, say).
    """
    errors = [event for event in events if event.kind == ERROR]
    return next((e for e in errors if e.value is error), errors[-1] if errors else None)


def _every(event: Event) -> bool:
    return True


def _starts(event: Event) -> bool:
    return event.kind == START
