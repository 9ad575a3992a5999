"""Nodes: the unit of work. ``prep`` reads ``shared``, ``exec`` computes, ``post`` writes back.

Every node runs through one generator, :meth:`BaseNode._steps`, that calls the phases in order
and yields an event at each boundary (when someone listens) and an awaitable wherever an async hook
must be awaited. Variants override one hook: :meth:`BaseNode._exec_steps` (how ``exec`` runs:
once, with retries, per batch item, concurrently, or, for a flow, as the orchestration of its
nodes). The drivers in :mod:`pocketflow.runners` turn that generator into ``run``,
``run_async``, ``steps`` and ``asteps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import sys
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Sized
from concurrent.futures import BrokenExecutor, Executor, Future
from time import perf_counter_ns as now
from typing import Any, ClassVar, TypeVar

from . import runners
from .errors import add_note, describe, label, warn
from .events import (
    ERROR,
    EXEC,
    FALLBACK,
    ITEM,
    POST,
    PREP,
    RETRY,
    START,
    Event,
    Resume,
    Run,
    Scope,
)
from .runners import Steps, awaited, awaits

_N = TypeVar("_N", bound="BaseNode")

#: Builds a NamedTuple (a Scope) from the tuple of its fields without a Python-level call.
new_tuple = tuple.__new__

__all__ = [
    "AsyncBatchNode",
    "AsyncNode",
    "AsyncParallelBatchNode",
    "BaseNode",
    "BatchNode",
    "Node",
]


def _slot_names(cls: type) -> tuple[str, ...]:
    """The instance attributes that ``cls`` and its bases declare in ``__slots__``."""
    names: dict[str, None] = {}
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        for name in (declared,) if isinstance(declared, str) else declared:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):  # stored under a mangled name
                name = f"_{klass.__name__.lstrip('_')}{name}"
            names[name] = None
    return tuple(names)


class BaseNode:
    """The smallest node: ``prep(shared) -> exec(prep_res) -> post(shared, prep_res, exec_res)``.

    ``post`` returns the action that picks the next node in a flow (``None`` means
    ``"default"``). Wire nodes with ``a >> b`` (the default action) or ``a - "action" >> b``.

    >>> class Greet(BaseNode):
    ...     def prep(self, shared):
    ...         return shared["name"]
    ...     def exec(self, name):
    ...         return f"Hello, {name}!"
    ...     def post(self, shared, prep_res, exec_res):
    ...         shared["greeting"] = exec_res
    >>> shared = {"name": "Ada"}
    >>> Greet().run(shared)
    >>> shared["greeting"]
    'Hello, Ada!'
    """

    #: What kind of node this is, in graphs and error messages (see :mod:`pocketflow.kinds`).
    kind: ClassVar[str] = "node"
    #: Whether the hooks are coroutines (``prep_async`` ...) that a run must await.
    _is_async: ClassVar[bool] = False
    #: Whether ``post`` receives ``prep(...) or []`` rather than what ``prep`` returned.
    _prep_or_empty: ClassVar[bool] = False
    #: The ``__slots__`` of the class and its bases, which a per-run copy must carry too.
    _slots: ClassVar[tuple[str, ...]] = ()
    #: Whether ``exec`` is the orchestration of other nodes (a flow), never a recorded result.
    _orchestrates: ClassVar[bool] = False
    #: Set on the per-run copy of a flow picked up from a checkpoint: where its run stands.
    _resume: Resume | None = None

    def __init__(self, *, name: str | None = None) -> None:
        self.params: dict[str, Any] = {}
        self.successors: dict[str, BaseNode | None] = {}
        if name is not None:
            self.name = name

    @property
    def name(self) -> str:
        """The name used in graphs, events, errors and traces (default: the class name)."""
        return self.__dict__.get("_name") or type(self).__name__

    @name.setter
    def name(self, value: str) -> None:
        self.__dict__["_name"] = str(value)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind}>" if self.name == kind else f"<{kind} {self.name!r}>"

    # -- wiring ---------------------------------------------------------------------------

    def set_params(self, params: dict[str, Any]) -> None:
        """Replace the node's params (a flow calls this before each node runs)."""
        self.params = params

    def next(self, node: BaseNode | None, action: str = "default") -> Any:
        """Wire ``node`` as the successor for ``action`` and return it.

        ``None`` declares that the flow ends, silently, when ``post`` returns ``action``.
        """
        _check_action(self, action)
        if node is not None and not isinstance(node, BaseNode):
            raise TypeError(_not_a_node(self, action, node))
        if action in self.successors:
            warn(f"Overwriting successor for action '{action}'")
        self.successors[action] = node
        return node

    def __rshift__(self, other: Any) -> Any:
        return self.next(other)

    def __sub__(self, action: Any) -> _Transition:
        _check_action(self, action)
        return _Transition(self, action)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._slots = _slot_names(cls)
        if cls._slots and cls.__copy__ is BaseNode.__copy__:  # not a copy of its own
            cls.__copy__ = BaseNode._copy_with_slots  # type: ignore[method-assign]

    def __copy__(self: _N) -> _N:
        """The shallow copy a flow runs: what ``copy.copy`` makes, faster (one per node step)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone

    def _copy_with_slots(self: _N) -> _N:
        """``__copy__`` for a class with ``__slots__``: storage outside ``__dict__`` too."""
        clone = BaseNode.__copy__(self)
        for name in self._slots:
            with contextlib.suppress(AttributeError):  # a slot not set on this instance
                setattr(clone, name, getattr(self, name))
        return clone

    # -- the three phases -----------------------------------------------------------------

    def prep(self, shared: Any) -> Any:
        """Read what ``exec`` needs from ``shared``."""
        return None

    def exec(self, prep_res: Any) -> Any:
        """Do the work; must not touch ``shared``."""
        return None

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        """Write results to ``shared`` and return the next action."""
        return None

    # -- running --------------------------------------------------------------------------

    def run(self, shared: Any) -> Any:
        """Run this node (or flow) on ``shared`` and return what ``post`` returned."""
        __tracebackhide__ = True
        if self.successors:
            warn("Node won't run successors. Use Flow.")
        return self._run(shared)

    def _run(self, shared: Any) -> Any:
        __tracebackhide__ = True
        run = Run()
        return runners.run_to_end(self._steps(shared, run, self, (), None), run)

    def steps(self, shared: Any) -> Generator[Event, None, Any]:
        """Run step by step: a generator of the run's events.

        The run advances only when the next event is asked for, so stopping pulling pauses it.
        The generator returns the run's result, which is also the last ``post`` event's value.

        >>> [event.kind for event in BaseNode().steps({})]
        ['start', 'prep', 'exec', 'post']
        """
        if self._is_async:
            raise RuntimeError(
                f"'{self.name}' is async: step through it with `async for event in "
                "node.asteps(shared)`."
            )
        run = Run(stepping=True)
        return runners.iterate(self._steps(shared, run, self, (), None), run)

    def asteps(self, shared: Any) -> AsyncGenerator[Event, None]:
        """Run step by step in the running event loop: an async generator of the run's events.

        Works for sync and async nodes and flows. The run waits at each event until the next is
        asked for; closing the generator cancels the run. The result is the last ``post`` event's
        value.
        """
        run = Run(stepping=True)
        return runners.iterate_async(self._steps(shared, run, self, (), None), run)

    @awaits
    def _steps(
        self,
        shared: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        parent: Scope | None,
    ) -> Steps:
        """The run of this node: its phases in order, as a generator (see ``pocketflow.runners``).

        ``self`` is the object that runs (a per-run copy inside a flow), ``origin`` the wired node
        that events name, ``path`` the names of the enclosing flows, ``parent`` the scope of the
        run that runs this one (events only).
        """
        __tracebackhide__ = True
        emit, count, params = run.emit, run.count, self.params
        hooks: Any = self
        phase = PREP
        scope = None
        resume = self._resume
        try:
            if emit:
                known = None if resume is None else resume.scope
                scope_id = run.scope_ids() if known is None else known
                scope = new_tuple(Scope, (run, scope_id, parent, origin, None))
            if resume is None:
                if emit:
                    yield (count(), START, origin, path, None, params,
                           None, None, None, None, scope, now(), None)
                if self._is_async:
                    prep_res = yield from hooks.prep_async(shared)
                else:
                    prep_res = self.prep(shared)
                if self._prep_or_empty:
                    prep_res = prep_res or []
                if emit:
                    yield (count(), PREP, origin, path, prep_res, params,
                           None, None, None, None, scope, now(), None)
            else:  # a flow picked up from a checkpoint: its prep ran before
                prep_res = resume.prep_res
            phase = EXEC
            recording = run.recording
            if recording is None or self._orchestrates:
                exec_res = yield from self._exec_steps(shared, prep_res, run, origin, path, scope)
            else:
                exec_res = yield from recording.exec_steps(
                    self, shared, prep_res, run, origin, path, scope
                )
            if emit:
                yield (count(), EXEC, origin, path, exec_res, params,
                       None, None, None, None, scope, now(), None)
            phase = POST
            if self._is_async:
                action = yield from hooks.post_async(shared, prep_res, exec_res)
            else:
                action = self.post(shared, prep_res, exec_res)
            if emit:
                yield (count(), POST, origin, path, action, params,
                       None, None, None, None, scope, now(), None)
            return action
        except GeneratorExit:  # the consumer closed a stepped run: nothing failed, yield nothing
            raise
        except BaseException as caught:  # an interrupt or a cancellation is reported here too
            exc = runners.unwrap_stop_iteration(caught)
            if _first_report(run.error, exc):
                run.error = exc
                where = f" (in {' > '.join(path)})" if path else ""
                add_note(exc, f"pocketflow: raised in {phase} of node '{origin.name}'{where}")
                if emit:
                    yield (count(), ERROR, origin, path, exc, params,
                           None, None, None, None, scope, now(), None)
            raise

    @awaits
    def _exec_steps(
        self,
        shared: Any,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        """How ``exec`` runs: here, once. Subclasses override this one hook.

        ``scope`` is this node run's (``None`` when the run makes no events).
        """
        __tracebackhide__ = True
        yield from ()  # a generator, like every _exec_steps
        return self.exec(prep_res)


class Node(BaseNode):
    """A node whose ``exec`` is retried: at most ``max_retries`` tries, ``wait`` seconds apart.

    During each try ``self.cur_retry`` is the attempt index (from 0). When the last try fails,
    ``exec_fallback(prep_res, exc)`` decides: its return value becomes ``exec_res``; by default
    it re-raises.
    """

    kind = "node"
    #: Whether a retry runs on a copy of the node, so that concurrent items (which share the node
    #: while on their first try, when ``cur_retry`` is 0 for all) each count their own retries.
    _retries_on_copy: ClassVar[bool] = False

    def __init__(self, max_retries: int = 1, wait: float = 0, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ValueError(
                f"{label(self)}: max_retries must be an integer >= 0 "
                f"(the number of tries), got {describe(max_retries)}"
            )
        if not isinstance(wait, (int, float)) or not wait >= 0:  # NaN is not >= 0 either
            raise ValueError(
                f"{label(self)}: wait must be a number of seconds >= 0, got {describe(wait)}"
            )
        self.max_retries = max_retries
        self.wait = wait
        self.cur_retry = 0

    def exec_fallback(self, prep_res: Any, exc: Exception) -> Any:
        """Called when every try of ``exec`` failed; return a result or raise (the default)."""
        __tracebackhide__ = True
        raise exc

    @awaits
    def _exec_steps(
        self,
        shared: Any,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        __tracebackhide__ = True
        return (yield from self._attempts(prep_res, run, origin, path, scope, None))

    @awaits
    def _attempts(
        self,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
        item: int | None,
    ) -> Steps:
        """``exec`` with retries, then ``exec_fallback``: the result for one input."""
        __tracebackhide__ = True
        node: Any = self  # whose exec runs; a concurrent batch item retries on a copy of its own
        max_retries = self.max_retries
        for attempt in range(max_retries):
            node.cur_retry = attempt
            try:
                if self._is_async:
                    return (yield from node.exec_async(prep_res))
                return node.exec(prep_res)
            except Exception as exc:
                if attempt == max_retries - 1:
                    if run.emit:
                        detail = (item, None, attempt, None, scope, now(), None)
                        yield (run.count(), FALLBACK, origin, path, exc, self.params, *detail)
                    if self._is_async:
                        return (yield from node.exec_fallback_async(prep_res, exc))
                    return node.exec_fallback(prep_res, exc)
                if run.emit:
                    detail = (item, None, attempt, None, scope, now(), None)
                    yield (run.count(), RETRY, origin, path, exc, self.params, *detail)
                if self._retries_on_copy and node is self:
                    node = self.__copy__()
                if self.wait > 0:
                    if self._is_async:
                        yield from awaited(asyncio.sleep(self.wait))
                    else:
                        time.sleep(self.wait)
        return None


class BatchNode(Node):
    """A node whose ``prep`` returns items: ``exec`` runs once per item (with retries each),
    and ``post`` receives the results in input order. ``None`` from ``prep`` means no items.

    ``executor`` (an addition to the original): any :class:`concurrent.futures.Executor`, such
    as a ``ThreadPoolExecutor``, a ``ProcessPoolExecutor`` or Dask's ``client.get_executor()``.
    Each item's ``exec`` then runs there, at once, up to ``max_concurrency`` items submitted at
    a time (default: all), and this node waits for them (blocking: it is a sync node). Items are
    the unit that can leave the process because ``exec`` never touches ``shared``; ``prep`` and
    ``post`` stay here. An item runs in the worker as one call: ``exec`` with its retries (on a
    copy of the node, so ``self.cur_retry`` is that item's try), then ``exec_fallback`` if every
    try failed. Its ``retry`` and ``fallback`` events travel back with its result, timed as the
    worker measured them, and are emitted before its ``item`` event. Results and ``item``
    events come in input order, as without an executor.

    No executor tells when a worker takes an item, only when its result is back; so the worker
    measures it: an item's ``item`` event carries when it started and ended there
    (:attr:`Event.ran <pocketflow.events.Event.ran>`, which says how a worker on another
    machine, with another clock, is timed). Between its submission and that start
    the item waited in the executor's queue, and a timeline draws it waiting, then running as
    it ran (this node's items at once, as the workers ran them). Until its result is back, an
    item is drawn waiting: queued or running, the executor does not say. With
    ``max_concurrency``, the items beyond it wait here until a slot frees.

    When an item fails, the items not started are cancelled and the exception propagates; items
    already running in a worker cannot be stopped, but nothing waits for them and their results
    are dropped, so ``post`` never sees them. The executor is the caller's to shut down.
    """

    kind = "batch"
    #: Whether the items run at once without an executor too (then ``max_concurrency`` applies
    #: without one, and ``item`` events come as items finish, not in input order).
    _items_at_once: ClassVar[bool] = False
    #: Where each item's ``exec`` runs; ``None``: here, one item after another.
    executor: Executor | None = None
    #: How many items may be submitted to the executor and not yet done; ``None``: all.
    max_concurrency: int | None = None

    def __init__(
        self,
        max_retries: int = 1,
        wait: float = 0,
        *,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(max_retries, wait, name=name)
        self.executor = check_executor(self, executor)
        self.max_concurrency = check_concurrency(self, max_concurrency)
        if max_concurrency is not None and executor is None and not self._items_at_once:
            raise ValueError(
                f"{label(self)}: max_concurrency needs an executor (executor=...): without one, "
                "the items run one after another"
            )

    @awaits
    def _exec_steps(
        self,
        shared: Any,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        __tracebackhide__ = True
        executor = self.executor
        if executor is not None:
            listed = list(_batch_items(self, prep_res))
            return (yield from self._executor_steps(executor, listed, run, origin, path, scope))
        items = _batch_items(self, prep_res)
        total = len(items) if isinstance(items, Sized) else None
        results = []
        for index, item in enumerate(items):
            results.append(
                (yield from self._item_steps(item, run, origin, path, scope, index, total))
            )
        return results

    @awaits
    def _item_steps(
        self,
        item: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
        index: int,
        total: int | None,
    ) -> Steps:
        __tracebackhide__ = True
        result = yield from self._attempts(item, run, origin, path, scope, index)
        if run.emit:
            detail = (index, total, None, None, scope, now(), None)
            yield (run.count(), ITEM, origin, path, result, self.params, *detail)
        return result

    @awaits
    def _executor_steps(
        self,
        executor: Executor,
        items: list[Any],
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        """Run every item's attempts on :attr:`executor`; the results in input order.

        One loop for sync and async nodes: only the wait differs (see ``runners.Completions``).
        At most ``max_concurrency`` items are in the executor at once; the next is submitted
        when one comes back. Whatever way this ends early (an item failed, the run was
        cancelled, a stepping consumer closed it), the items not started are cancelled.
        """
        __tracebackhide__ = True
        check_executor(self, executor)  # it may have been set after __init__
        total = len(items)
        submit = _item_submitter(self, executor, run.emit)
        limit = self.max_concurrency or total
        in_order = not self._items_at_once
        results: list[Any] = [None] * total
        submitted_at: dict[int, int] = {}
        arrived: dict[int, tuple[_Report, tuple[int, int]]] = {}  # not reported yet
        futures = runners.Completions(asyncio.get_running_loop() if self._is_async else None)
        queued = reported = 0
        try:
            while reported < total:
                while queued < total and len(futures) < limit:
                    futures.add(submit(items[queued], queued), queued)
                    if run.emit:
                        submitted_at[queued] = now()
                    queued += 1
                index, future = yield from futures.next_done()
                came_back = now()
                failed, value, report = _outcome(self, executor, future, index)
                if failed:
                    futures.cancel()  # before the events: a stepping consumer may pause there
                    if run.emit:
                        ran = _ran(submitted_at[index], came_back, report)
                        yield from self._replay(report, index, ran, run, origin, path, scope,
                                                failed=True)
                    raise value
                results[index] = value
                if not run.emit:
                    reported += 1
                    continue
                arrived[index] = (report, _ran(submitted_at[index], came_back, report))
                ready = range(reported, total) if in_order else (index,)
                for next_index in ready:
                    if next_index not in arrived:
                        break
                    report, ran = arrived.pop(next_index)
                    yield from self._replay(report, next_index, ran, run, origin, path, scope)
                    detail = (next_index, total, None, None, scope, now(), ran)
                    yield (run.count(), ITEM, origin, path, results[next_index], self.params,
                           *detail)
                    reported += 1
        finally:
            futures.cancel()
        return results

    def _replay(
        self,
        report: _Report,
        index: int,
        ran: tuple[int, int],
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
        *,
        failed: bool = False,
    ) -> Generator[tuple[Any, ...], None, None]:
        """The ``retry`` and ``fallback`` events an item's worker reported, in order, timed
        on this process's clock as :func:`_ran` placed the item (``ran``), and within it. The
        item of a ``failed`` run has no ``item`` event: its last one, the ``fallback`` that
        raised, carries ``ran``.
        """
        tries, _, worker_end = report
        began, ended = ran
        shift = ended - worker_end  # 0 when the worker's clock is this one
        last = len(tries) - 1
        for number, (kind, attempt, value, worker_time) in enumerate(tries):
            when = min(ended, max(began, worker_time + shift))
            span = ran if failed and number == last else None
            yield (run.count(), kind, origin, path, value, self.params,
                   index, None, attempt, None, scope, when, span)


class AsyncNode(Node):
    """A node whose hooks are coroutines: ``prep_async``, ``exec_async``, ``post_async`` and
    ``exec_fallback_async``. Run it with ``await node.run_async(shared)`` or in an ``AsyncFlow``.
    """

    kind = "async"
    _is_async = True

    async def prep_async(self, shared: Any) -> Any:
        """Read what ``exec_async`` needs from ``shared``."""
        return None

    async def exec_async(self, prep_res: Any) -> Any:
        """Do the (awaitable) work; must not touch ``shared``."""
        return None

    async def exec_fallback_async(self, prep_res: Any, exc: Exception) -> Any:
        """Called when every try of ``exec_async`` failed; return a result or raise."""
        __tracebackhide__ = True
        raise exc

    async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        """Write results to ``shared`` and return the next action."""
        return None

    async def run_async(self, shared: Any) -> Any:
        """Run this node (or async flow) on ``shared``; return what ``post_async`` returned."""
        __tracebackhide__ = True
        if self.successors:
            warn("Node won't run successors. Use AsyncFlow.")
        return await self._run_async(shared)

    async def _run_async(self, shared: Any) -> Any:
        __tracebackhide__ = True
        run = Run()
        return await runners.run_to_end_async(self._steps(shared, run, self, (), None), run)

    def _run(self, shared: Any) -> Any:
        __tracebackhide__ = True
        raise RuntimeError("Use run_async.")


class AsyncBatchNode(AsyncNode, BatchNode):
    """An async batch node: items are awaited one after another, in order (with an
    ``executor``, they run there at once and are awaited, reported in order as by
    :class:`BatchNode`).
    """

    kind = "async_batch"


class AsyncParallelBatchNode(AsyncNode, BatchNode):
    """An async batch node whose items run concurrently; results come back in input order.

    ``max_concurrency`` caps how many items are in flight (default: all at once). Each item has
    its own retry state: an item that retries does so on its own shallow copy of the node, so
    ``self.cur_retry`` in ``exec_async`` is that item's try. When an item fails, the others are
    cancelled and awaited before the exception propagates.

    ``executor`` (an addition to the original) runs each item's ``exec_async``, retries and
    fallback included, in a :class:`concurrent.futures.Executor`, as :class:`BatchNode` does;
    the node awaits the results, so the event loop goes on meanwhile. In the worker the item
    runs in an event loop of its own (``asyncio.run``), so it must not use objects bound to
    the caller's loop. ``item`` events come as results come back, as without an executor.
    """

    kind = "parallel"
    _retries_on_copy = True
    _items_at_once = True

    @awaits
    def _exec_steps(
        self,
        shared: Any,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        __tracebackhide__ = True
        items = list(_batch_items(self, prep_res))
        executor = self.executor
        if executor is not None:
            return (yield from self._executor_steps(executor, items, run, origin, path, scope))
        total = len(items)
        if run.emit:
            all_steps = [
                self._item_steps(item, run, origin, path, scope, index, total)
                for index, item in enumerate(items)
            ]
        else:  # nobody listens: skip the layer that only reports the item
            all_steps = [
                self._attempts(item, run, origin, path, scope, index)
                for index, item in enumerate(items)
            ]
        return (yield from awaited(runners.gather(all_steps, run, self.max_concurrency)))


def _first_report(reported: BaseException | None, exc: BaseException) -> bool:
    """Whether ``exc``, escaping a node, is news to the run and gets an ``error`` event.

    An exception is reported where it was raised, not again in each outer flow it passes. A
    ``BaseException`` (an interrupt, a cancellation) is reported only when nothing failed before:
    the items a failure cancels in a parallel batch are not failures of their own.
    """
    if reported is None:
        return True
    return reported is not exc and isinstance(exc, Exception)


class _Transition:
    """The ``node - "action"`` half of ``node - "action" >> successor``."""

    __slots__ = ("action", "source")

    def __init__(self, source: BaseNode, action: str) -> None:
        self.source = source
        self.action = action

    def __rshift__(self, other: Any) -> Any:
        return self.source.next(other, self.action)

    def __repr__(self) -> str:
        return f"<{self.source.name} - {self.action!r}>"


def check_concurrency(node: BaseNode, limit: int | None) -> int | None:
    """Validate a ``max_concurrency`` argument."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(
            f"{label(node)}: max_concurrency must be None (no limit) or an "
            f"integer >= 1, got {describe(limit)}"
        )
    return limit


def check_executor(node: BaseNode, executor: Any) -> Executor | None:
    """Validate an ``executor`` argument: ``None`` or a :class:`concurrent.futures.Executor`."""
    if executor is None or isinstance(executor, Executor):
        return executor
    hint = ""
    if hasattr(executor, "get_executor"):  # a Dask Client, most likely
        hint = " (a Dask Client? pass client.get_executor())"
    elif isinstance(executor, type) and issubclass(executor, Executor):
        hint = f" (the class itself: pass an instance, {executor.__name__}())"
    raise TypeError(
        f"{label(node)}: executor must be None (run the items here) or a "
        "concurrent.futures.Executor, such as a ThreadPoolExecutor, a ProcessPoolExecutor or "
        f"Dask's client.get_executor(); got {describe(executor)}{hint}"
    )


#: What a worker reports of an item's failed tries: (event kind, try number, exception, when it
#: happened by the worker's clock).
_Try = tuple[str, int, Exception, int]

#: What a worker reports of an item: its failed tries, and when it started and ended, all by
#: the worker's clock (``time.perf_counter_ns()`` there).
_Report = tuple[tuple[_Try, ...], int, int]

#: The attribute of an item's exception that carries its ``_Report`` back from a worker.
_REPORT_ATTRIBUTE = "_pocketflow_report"


def _run_item(
    node: Node, item: Any, index: int, report: bool, started: int | None = None
) -> tuple[Any, _Report]:
    """One batch item where an executor runs it: ``exec`` with its retries, then
    ``exec_fallback``, on a copy of ``node``; returns the result and its ``_Report``: when it
    started (``started``, default: now, when the worker took it) and ended, and, when
    ``report``, the records of its failed tries (the caller turns them into ``retry`` and
    ``fallback`` events).

    The same generator as in-process items (``Node._attempts``) does the work, with a run of
    its own whose events are collected here. An async node's attempts run in a new event loop.
    """
    __tracebackhide__ = True
    if started is None:
        started = now()
    node = node.__copy__()  # several items may share the object sent (threads do)
    run = Run()
    events: list[Event] = []
    run.observers = (events.append,) if report else ()
    run.emit = report
    steps = node._attempts(item, run, node, (), None, index)
    try:
        if node._is_async:
            result = asyncio.run(runners.run_to_end_async(steps, run))
        else:
            result = runners.run_to_end(steps, run)
    except Exception as exc:
        setattr(exc, _REPORT_ATTRIBUTE, _report(events, started))
        raise
    return result, _report(events, started)


def _run_pickled_item(
    payload: bytes, name: str, item: Any, index: int, report: bool
) -> tuple[Any, _Report]:
    """:func:`_run_item` for a node sent pickled (to a ``ProcessPoolExecutor``): unpickling it
    here, in the worker process, is where a class the worker cannot import fails, so that is
    where the failure is explained.
    """
    __tracebackhide__ = True
    started = now()
    try:
        node = pickle.loads(payload)
    except Exception as exc:
        raise TypeError(
            f"{name} could not be rebuilt in a ProcessPoolExecutor's worker process "
            f"({type(exc).__name__}: {exc}). {_PICKLE_ADVICE}"
        ) from exc
    return _run_item(node, item, index, report, started)


_PICKLE_ADVICE = (
    "A ProcessPoolExecutor sends the node with the standard pickle, which sends a class by "
    "name for the worker to import: define the node's class (and whatever its attributes hold) "
    "in a module the workers can import, not in __main__, a notebook cell or a function; or run "
    "the batch on Dask (client.get_executor()), which pickles with cloudpickle and sends such "
    "classes whole."
)


def _report(events: list[Event], started: int) -> _Report:
    tries = tuple((e.kind, e.attempt, e.value, e.time) for e in events)
    return tries, started, now()  # type: ignore[return-value]


def _ran(submitted: int, came_back: int, report: _Report) -> tuple[int, int]:
    """When an item ran in its worker, ``(start, end)`` on this process's clock, from when it
    was ``submitted``, when its result ``came_back`` and what the worker reported.

    A thread, or a process on this machine, reads the same monotonic clock: its start and end
    fall between submission and return, and are taken as they are. Another machine's clock
    is not this one's, but a duration is a duration: the time the item ran is counted back
    from when its result came back, and starts no earlier than its submission. Before its
    start the item waited in the executor's queue.
    """
    _, started, ended = report
    if submitted <= started <= ended <= came_back:
        return started, ended
    return max(submitted, came_back - (ended - started)), came_back


def _item_submitter(
    node: BatchNode, executor: Executor, report: bool
) -> Callable[[Any, int], Future[Any]]:
    """A function that submits one item to ``executor`` and returns its future.

    Workers get a copy of the node without its successors (the rest of the graph) and without
    the executor (which cannot travel). A ``ProcessPoolExecutor`` gets it pickled here, once
    per run rather than once per item, and any failure to pickle it is reported before an item
    is submitted.
    """
    clone = node.__copy__()
    clone.successors = {}
    clone.executor = None
    process_pools = sys.modules.get("concurrent.futures.process")  # imported by whoever made one
    call: Callable[..., Any] = _run_item
    first: tuple[Any, ...] = (clone,)
    if process_pools is not None and isinstance(executor, process_pools.ProcessPoolExecutor):
        try:
            payload = pickle.dumps(clone)
        except Exception as exc:
            raise TypeError(
                f"{label(node)} cannot be sent to a ProcessPoolExecutor: pickling it failed "
                f"({type(exc).__name__}: {exc}). {_PICKLE_ADVICE}"
            ) from exc
        call, first = _run_pickled_item, (payload, label(node))

    def submit(item: Any, index: int) -> Future[Any]:
        __tracebackhide__ = True
        try:
            return executor.submit(call, *first, item, index, report)
        except BrokenExecutor:  # a worker died: its own message says so
            raise
        except RuntimeError as exc:
            raise RuntimeError(
                f"{label(node)}: the executor refused batch item {index} ({exc}); was it shut "
                "down during the run? Keep it open until the node's run returns."
            ) from exc

    return submit


def _outcome(
    node: BaseNode, executor: Executor, future: Future[Any], index: int
) -> tuple[bool, Any, _Report]:
    """What a finished item's future holds: ``(failed, result or exception, report)``."""
    if future.cancelled():  # not by the node: it cancels only once it has stopped waiting
        raise RuntimeError(
            f"{label(node)}: batch item {index} was cancelled in the executor before it ran; "
            "was the executor shut down during the run? Keep it open until the node's run "
            "returns."
        )
    exc = future.exception()
    if exc is None:
        result, report = future.result()
        return False, result, report
    report = exc.__dict__.pop(_REPORT_ATTRIBUTE, ((), 0, 0))  # none from a broken executor
    add_note(exc, f"pocketflow: batch item {index} failed in {type(executor).__name__}")
    return True, exc, report


def _check_action(node: BaseNode, action: Any) -> None:
    if not isinstance(action, str):
        raise TypeError(f"Action must be a string: got {describe(action)} after node '{node.name}'")


def _not_a_node(source: BaseNode, action: str, target: Any) -> str:
    edge = f"'{source.name}'" + (f' - "{action}"' if action != "default" else "")
    hint = ""
    if isinstance(target, _Transition):
        hint = f' (wire one edge per statement: {target.source.name} - "{target.action}" >> ...)'
    return (
        f"Cannot wire {edge} >> {describe(target)}: a successor must be a node (Node, Flow, ...) "
        f"or None to end the flow there{hint}"
    )


def _batch_items(node: BaseNode, items: Any) -> Iterable[Any]:
    """The items a batch ``prep`` returned: ``None`` means none; strings are refused."""
    if items is None:
        return ()
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"{label(node)}: prep must return an iterable of items "
            f"(a list, say) or None, got {describe(items)}"
        )
    return items
