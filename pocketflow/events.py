"""Events: what a run reports at every phase boundary, and how to listen to them.

A run emits one :class:`Event` per boundary: a node starts, its ``prep`` returns, an ``exec``
attempt fails and will be retried, a batch item finishes, ``exec`` returns, ``post`` returns its
action, the flow follows an edge, or an exception escapes a node. Events reach observers attached
with :func:`observe`, and they are what ``node.steps()`` and ``node.asteps()`` yield.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from .nodes import BaseNode

__all__ = ["KINDS", "Event", "Observer", "Scope", "make_event", "new_scope", "observe"]

START: Final = "start"
PREP: Final = "prep"
RETRY: Final = "retry"
FALLBACK: Final = "fallback"
ITEM: Final = "item"
EXEC: Final = "exec"
POST: Final = "post"
TRANSITION: Final = "transition"
ERROR: Final = "error"

#: Every event kind, in the order they can occur within one node.
KINDS: Final = (START, PREP, RETRY, FALLBACK, ITEM, EXEC, POST, TRANSITION, ERROR)


class Event(NamedTuple):
    """One phase boundary of a run.

    ``kind`` is one of :data:`KINDS`. ``node`` is the wired node object (never the per-run copy a
    flow makes), ``path`` the names of the flows it runs inside, outermost first, ``step`` a number
    that increases by one per event of the run, ``params`` the node's params. ``value`` depends on
    the kind:

    ========== ==================================================
    start      ``None``
    prep       what ``prep`` returned
    retry      the exception of the failed try number ``attempt`` (from 0)
    fallback   the exception handed to ``exec_fallback``
    item       the result of batch item ``item`` (of ``total``); on an executor, ``ran``
               says when a worker ran it (see :attr:`ran`)
    exec       what ``exec`` returned (a flow: its last action)
    post       the action ``post`` returned
    transition the action; ``target`` is the next node or ``None``
    error      the exception that escapes the node
    ========== ==================================================

    A flow is a node too: its ``start``/``prep`` come before its children's events and its
    ``exec``/``post`` after them, so a flow's ``post`` event marks the end of the flow. A batch
    flow emits an ``item`` event (``value`` ``None``, ``params`` the item's) after each run.
    """

    step: int
    kind: str
    node: BaseNode
    path: tuple[str, ...]
    value: Any = None
    params: dict[str, Any] | None = None
    #: Which batch item (from 0) a ``retry``, ``fallback`` or ``item`` event is about.
    item: int | None = None
    #: How many items the batch has, when known.
    total: int | None = None
    #: Which try (from 0) of ``exec`` a ``retry`` or ``fallback`` event is about.
    attempt: int | None = None
    #: Where a ``transition`` leads (``None``: the flow ends).
    target: BaseNode | None = None
    #: The run this event belongs to: the run of :attr:`node` for its phases, the flow's run for
    #: a ``transition`` it takes or an ``item`` it finishes (see :class:`Scope`).
    scope: Scope | None = None
    #: When it happened: ``time.perf_counter_ns()``, a monotonic clock (``0`` when unknown).
    time: int = 0
    #: For the ``item`` event of an item an executor ran (for one that failed, its last
    #: ``fallback`` event): when it started and ended in a worker, ``(start, end)`` on the
    #: clock of :attr:`time`; ``None`` for every other event. The worker measures both (and
    #: the times of the item's ``retry`` and ``fallback`` events); a worker on another
    #: machine has another clock, so there the time it ran is counted back from when the
    #: result came back here. Before ``start`` the item waited in the executor's queue: no
    #: executor says when a worker takes an item.
    ran: tuple[int, int] | None = None

    @property
    def node_name(self) -> str:
        """The name of :attr:`node`."""
        return self.node.name

    def __repr__(self) -> str:
        where = "/".join((*self.path, self.node.name))
        extra = "".join(
            f" {field}={getattr(self, field)!r}"
            for field in ("item", "total", "attempt")
            if getattr(self, field) is not None
        )
        if self.target is not None:
            extra += f" target={self.target.name!r}"
        return f"<Event #{self.step} {self.kind} {where} value={self.value!r}{extra}>"


class Scope(NamedTuple):
    """The identity of one run of a node inside a top-level run, and of what encloses it.

    Every node a flow runs gets a scope of its own, and so does each run of a batch flow's graph
    (one per param set, with :attr:`item` set). :attr:`parent` leads outwards to the root, whose
    parent is ``None``; :attr:`run` is the same object for every scope of one top-level run. A
    consumer groups events by scope instead of reconstructing the nesting from their order.
    """

    #: The top-level run: the same object for all its events, never for another run's.
    run: Run
    #: Unique within :attr:`run`, increasing in the order the scopes start.
    id: int
    #: The scope of the flow run (or batch item run) that runs this one; ``None`` at the top.
    parent: Scope | None
    #: The wired node this is a run of (for a batch item run: the batch flow).
    node: BaseNode
    #: For the run of one batch flow item: its index (from 0).
    item: int | None = None

    def __repr__(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        return f"<Scope #{self.id} {self.node.name}{item}>"


# Runs build events as plain tuples of the fields, in order, and turn them into Event objects
# with tuple.__new__, which skips the keyword handling of a NamedTuple's constructor.
_make_event = tuple.__new__


def make_event(fields: tuple[Any, ...]) -> Event:
    """The :class:`Event` for a tuple of its fields, as runs build them."""
    return _make_event(Event, fields)


def new_scope(run: Run, parent: Scope | None, node: BaseNode, item: int | None = None) -> Scope:
    """A fresh :class:`Scope` in ``run``."""
    return _make_event(Scope, (run, run.scope_ids(), parent, node, item))


#: Something that wants every event of a run.
Observer = Callable[[Event], object]

_OBSERVERS: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar(
    "pocketflow_observers", default=()
)


@contextmanager
def observe(*observers: Observer) -> Iterator[None]:
    """Call each observer with every event of every run started inside the ``with`` block.

    >>> from pocketflow import Node, observe
    >>> seen = []
    >>> with observe(seen.append):
    ...     Node().run({})
    >>> [event.kind for event in seen]
    ['start', 'prep', 'exec', 'post']

    Blocks nest, and the observers of enclosing blocks keep listening. Async runs and the tasks
    they start see the observers too. An exception raised by an observer propagates into the run.
    Every observer gets the same :class:`Event` objects, in the order they happen; a run started
    by a node inside another run has scopes of its own (``event.scope.run``).
    """
    token = _OBSERVERS.set((*_OBSERVERS.get(), *observers))
    try:
        yield
    finally:
        _OBSERVERS.reset(token)


class Resume(NamedTuple):
    """Where the run of one flow stands when it is picked up from a checkpoint.

    Set as ``_resume`` on the per-run copy of a flow (see :mod:`pocketflow.checkpoints`, which
    builds these from a checkpoint): ``prep_res`` stands in for the flow's ``prep``, and the rest
    says where its graph run goes on. For a batch flow, :attr:`done` and :attr:`item` say which
    runs of its graph finished and which one :attr:`inner` picks up; that inner ``Resume`` then
    describes the graph run itself.
    """

    #: What the flow's ``prep`` returned before the checkpoint.
    prep_res: Any = None
    #: The params the nodes of the graph run share (``None`` for a batch flow's own level).
    params: dict[str, Any] | None = None
    #: How many node steps the graph run took so far, at any depth (for ``max_steps``).
    used: int = 0
    #: The node of the graph run under way at the checkpoint (the wired object).
    at: BaseNode | None = None
    #: Where :attr:`at`, a flow, stands; ``None``: :attr:`at` starts afresh, or already ran.
    inner: Resume | None = None
    #: Whether :attr:`at` already ran; then :attr:`action`, what its ``post`` returned, picks
    #: the next node.
    after: bool = False
    action: Any = None
    #: A batch flow: the items whose graph run finished (their runs are not run again).
    done: frozenset[int] = frozenset()
    #: A sequential batch flow: the item whose graph run :attr:`inner` picks up.
    item: int | None = None
    #: The id the run of this flow (or of this batch item) had, kept so that the events of the
    #: resumed run continue those before the checkpoint (``None``: a fresh id).
    scope: int | None = None


#: What re-runs a flow from a recording (see :mod:`pocketflow.recordings`), when one is in use.
RECORDING: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "pocketflow_recording", default=None
)


class Run:
    """The state of one top-level run: who listens, the step counter, and the recording that
    stands in for ``exec`` calls, if any.
    """

    __slots__ = ("count", "emit", "error", "observers", "recording", "scope_ids", "sink")

    def __init__(
        self, stepping: bool = False, *, first_step: int = 1, first_scope: int = 1
    ) -> None:
        self.observers = _OBSERVERS.get()
        #: A :class:`pocketflow.recordings.Playback` whose recorded results replace ``exec``.
        self.recording = RECORDING.get()
        #: Whether the run makes events at all (nobody listening: it does not).
        self.emit = stepping or bool(self.observers)
        #: The next step number.
        self.count = itertools.count(first_step).__next__
        #: The next scope id.
        self.scope_ids = itertools.count(first_scope).__next__
        #: Where a stepping consumer waits for events (async runs only).
        self.sink: Callable[[Event], Any] | None = None
        #: The exception already reported by an ``error`` event.
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<Run at {id(self):#x}>"

    def publish(self, fields: tuple[Any, ...]) -> Event:
        """Hand one event, built as a tuple of its fields, to everyone listening."""
        event = _make_event(Event, fields)
        for observer in self.observers:
            observer(event)
        return event
