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
import time
from collections.abc import AsyncGenerator, Generator, Iterable, Sized
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
        try:
            if emit:
                scope = new_tuple(Scope, (run, run.scope_ids(), parent, origin, None))
                yield (count(), START, origin, path, None, params,
                       None, None, None, None, scope, now())
            if self._is_async:
                prep_res = yield from hooks.prep_async(shared)
            else:
                prep_res = self.prep(shared)
            if self._prep_or_empty:
                prep_res = prep_res or []
            if emit:
                yield (count(), PREP, origin, path, prep_res, params,
                       None, None, None, None, scope, now())
            phase = EXEC
            exec_res = yield from self._exec_steps(shared, prep_res, run, origin, path, scope)
            if emit:
                yield (count(), EXEC, origin, path, exec_res, params,
                       None, None, None, None, scope, now())
            phase = POST
            if self._is_async:
                action = yield from hooks.post_async(shared, prep_res, exec_res)
            else:
                action = self.post(shared, prep_res, exec_res)
            if emit:
                yield (count(), POST, origin, path, action, params,
                       None, None, None, None, scope, now())
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
                           None, None, None, None, scope, now())
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
                        detail = (item, None, attempt, None, scope, now())
                        yield (run.count(), FALLBACK, origin, path, exc, self.params, *detail)
                    if self._is_async:
                        return (yield from node.exec_fallback_async(prep_res, exc))
                    return node.exec_fallback(prep_res, exc)
                if run.emit:
                    detail = (item, None, attempt, None, scope, now())
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
    """

    kind = "batch"

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
            detail = (index, total, None, None, scope, now())
            yield (run.count(), ITEM, origin, path, result, self.params, *detail)
        return result


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
    """An async batch node: items are awaited one after another, in order."""

    kind = "async_batch"


class AsyncParallelBatchNode(AsyncNode, BatchNode):
    """An async batch node whose items run concurrently; results come back in input order.

    ``max_concurrency`` caps how many items are in flight (default: all at once). Each item has
    its own retry state: an item that retries does so on its own shallow copy of the node, so
    ``self.cur_retry`` in ``exec_async`` is that item's try. When an item fails, the others are
    cancelled and awaited before the exception propagates.
    """

    kind = "parallel"
    _retries_on_copy = True

    def __init__(
        self,
        max_retries: int = 1,
        wait: float = 0,
        *,
        max_concurrency: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(max_retries, wait, name=name)
        self.max_concurrency = check_concurrency(self, max_concurrency)

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
