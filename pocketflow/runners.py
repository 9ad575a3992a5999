"""Drivers: the few ways to consume a run's step generator.

A node's run is a generator (see ``BaseNode._steps``) that yields two kinds of things: the fields
of an :class:`~pocketflow.events.Event` (a plain tuple) at each phase boundary and, in an async
run, whatever the async hooks it awaits yield to the event loop. The orchestration lives in
those generators, once; the drivers here only decide what happens to what is yielded: run to
the end (sync or async), hand each event to a consumer that pulls (a generator or an async
generator), or run several generators concurrently.

The frames a run passes through in the library set a local ``__tracebackhide__``: IPython (and
pytest) leave such frames out of a traceback, so a notebook shows the user's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import types
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Generator, Sequence
from concurrent.futures import Future
from typing import Any, Final, TypeVar, cast

from .events import ERROR, Event, Run

__all__ = [
    "Completions",
    "Steps",
    "awaited",
    "awaits",
    "gather",
    "iterate",
    "iterate_async",
    "run_to_end",
    "run_to_end_async",
    "unwrap_stop_iteration",
]

#: Builds an Event from the tuple of its fields without a Python-level call (the hot path).
new_event = tuple.__new__

#: A run's step generator: yields events and awaitables, returns the run's result.
Steps = Generator[Any, Any, Any]

#: How often, in seconds, a sync batch waiting for its executor looks for an interrupt.
_SIGNAL_CHECK: Final = 0.1

_F = TypeVar("_F", bound=Callable[..., Steps])
_T = TypeVar("_T")


def awaits(func: _F) -> _F:
    """Mark a step-generator function that awaits hooks with ``yield from hook(...)``.

    Python lets a generator ``yield from`` a native coroutine only when the generator is marked
    as an iterable coroutine (what :func:`types.coroutine` does); the coroutine then runs inside
    the generator, and only what it yields to the event loop travels up to the driver. The
    generator is still an ordinary generator for the synchronous drivers.
    """
    return cast(_F, types.coroutine(func))


def awaited(awaitable: Awaitable[_T]) -> Generator[Any, Any, _T]:
    """``awaitable`` typed for ``yield from`` in a step generator marked with :func:`awaits`."""
    return awaitable  # type: ignore[return-value]


def _awaitable_in_sync_run(op: object) -> RuntimeError:
    # ``op`` is what an async hook yielded to an event loop: a sync run has none to give it to.
    return RuntimeError(
        "Use run_async. A synchronous run reached an async hook; run it in an AsyncFlow and "
        "await flow.run_async(shared)."
    )


def unwrap_stop_iteration(exc: BaseException) -> BaseException:
    """The ``StopIteration`` a user's hook raised, where a generator turned it into the
    ``RuntimeError`` of PEP 479; any other exception as it is.

    Step generators call the hooks, so a hook's ``StopIteration`` reaches the caller wrapped;
    the synchronous driver unwraps it so that ``run`` raises what the hook raised, as in the
    original. (Coroutines wrap it the same way, and there ``run_async`` keeps the wrapper: a
    coroutine cannot raise ``StopIteration``, in the original neither.)
    """
    cause = exc.__cause__
    if (
        type(exc) is RuntimeError
        and isinstance(cause, StopIteration)
        and exc.args in (("generator raised StopIteration",), ("coroutine raised StopIteration",))
    ):
        return cause
    return exc


def run_to_end(steps: Steps, run: Run) -> Any:
    """Drive ``steps`` to its end synchronously, notifying observers; return the result."""
    __tracebackhide__ = True
    observers = run.observers
    while True:
        try:
            op = next(steps)
        except StopIteration as stop:
            return stop.value
        except RuntimeError as exc:
            unwrapped = unwrap_stop_iteration(exc)
            if unwrapped is exc:
                raise
            raise unwrapped from None
        if type(op) is not tuple:
            raise _awaitable_in_sync_run(op)
        # run.publish(op), inlined: this loop is the hot path of an observed run
        if observers:
            event = new_event(Event, op)
            for observer in observers:
                observer(event)


def iterate(steps: Steps, run: Run) -> Generator[Event, None, Any]:
    """Yield each event of ``steps`` to the caller, who decides when the run goes on."""
    __tracebackhide__ = True
    while True:
        try:
            op = next(steps)
        except StopIteration as stop:
            return stop.value
        if type(op) is not tuple:
            raise _awaitable_in_sync_run(op)
        yield run.publish(op)


async def run_to_end_async(steps: Steps, run: Run) -> Any:
    """Drive ``steps`` to its end in the running event loop; return the result.

    Events go to the observers and, when the run has a ``sink`` (a consumer stepping through
    it), are awaited there, which is how an async run pauses between two events.
    """
    __tracebackhide__ = True
    if run.emit:
        return await _drive(steps, run)
    # Nobody listens, so ``steps`` yields only what the hooks it awaits yield to the event loop:
    # it is awaited as it is (see ``awaits``), with no loop of ours in between.
    return await cast(Awaitable[Any], steps)


@types.coroutine
def _drive(steps: Steps, run: Run) -> Steps:
    __tracebackhide__ = True
    # The step generator awaits async hooks itself (``yield from hook(...)``), so what
    # reaches this loop is either an event (a tuple) or what an awaited hook yields to the event
    # loop (a future, or None for a bare yield): that goes on to the task running us.
    observers = run.observers
    sink = run.sink
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            op = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            return stop.value
        value = error = None
        if type(op) is tuple:
            if observers or sink is not None:
                event = new_event(Event, op)
                for observer in observers:
                    observer(event)
                if sink is not None:
                    yield from sink(event).__await__()
        else:
            try:
                value = yield op
            except BaseException as exc:  # thrown in by the task (a cancellation): pass it down
                error = exc


async def gather(all_steps: Sequence[Steps], run: Run, limit: int | None) -> list[Any]:
    """Run several step generators concurrently, at most ``limit`` at a time; results in order.

    When one fails, the others are cancelled and awaited before the exception propagates, so no
    task outlives the call. Cancelling the call cancels them all the same way.
    """
    __tracebackhide__ = True
    if limit is None or limit >= len(all_steps):
        return await _all_or_none([run_to_end_async(steps, run) for steps in all_steps])

    results: list[Any] = [None] * len(all_steps)
    queue = iter(enumerate(all_steps))

    async def worker() -> None:  # takes the next generator as soon as its last one is done
        __tracebackhide__ = True
        for index, steps in queue:
            results[index] = await run_to_end_async(steps, run)

    await _all_or_none([worker() for _ in range(limit)])
    return results


async def _all_or_none(coroutines: Sequence[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run the coroutines as tasks and return their results; when one fails (or this wait is
    cancelled), cancel the others and wait for them before raising.
    """
    __tracebackhide__ = True
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(coroutine) for coroutine in coroutines]
    if not tasks:
        return []
    finished: asyncio.Future[None] = loop.create_future()
    remaining = len(tasks)

    def on_done(task: asyncio.Task[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if finished.done():
            return
        if task.cancelled():
            finished.cancel()  # as if this wait were cancelled
        elif task.exception() is not None:
            finished.set_exception(task.exception())  # type: ignore[arg-type]
        elif remaining == 0:
            finished.set_result(None)

    for task in tasks:
        task.add_done_callback(on_done)
    try:
        await finished
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [task.result() for task in tasks]


class Completions:
    """The futures of one batch's items in an executor, handed back as they finish.

    A synchronous run blocks until the next one finishes (it is a sync node: waiting is what it
    does); an async run awaits it, so the event loop goes on meanwhile. Each future reports
    itself when done, from whatever thread completes it, so one wait costs the same whatever
    the number of items in flight (``asyncio.wait`` or ``concurrent.futures.wait`` would look
    at every pending future on every call). A future that finishes after the batch gave up on
    it reports to nobody: nothing local waits for it.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        #: The event loop an async run waits in; ``None`` for a synchronous run.
        self.loop = loop
        #: The futures not yet handed back, each with the index of its item.
        self.pending: dict[Future[Any], int] = {}
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self._arrived: deque[Future[Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, future: Future[Any], index: int) -> None:
        """Watch ``future``, the one of item ``index``."""
        self.pending[future] = index
        future.add_done_callback(self._finished.put if self.loop is None else self._from_thread)

    def _from_thread(self, future: Future[Any]) -> None:
        # Called by the thread that completed ``future``: move on to the loop's thread.
        assert self.loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: the run is long over
            self.loop.call_soon_threadsafe(self._arrive, future)

    def _arrive(self, future: Future[Any]) -> None:
        self._arrived.append(future)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @awaits
    def next_done(self) -> Steps:
        """Wait for the next future to finish; return ``(index, future)`` and stop watching it."""
        __tracebackhide__ = True
        if self.loop is None:
            while True:
                # Never one unbounded block: an interrupt that lands just before the thread
                # blocks would wake nothing, and the batch would wait until an item finished.
                with contextlib.suppress(queue.Empty):
                    future = self._finished.get(timeout=_SIGNAL_CHECK)
                    break
        else:
            while not self._arrived:
                self._waiter = self.loop.create_future()
                yield from awaited(self._waiter)
            future = self._arrived.popleft()
        return self.pending.pop(future), future

    def cancel(self) -> None:
        """Cancel every future still pending: those not started yet never run. One already
        running in a worker cannot be stopped; its result, when it comes, goes nowhere.
        """
        for future in self.pending:
            future.cancel()
        self.pending.clear()


class _Handover:
    """Passes events from a running task to a consumer, one event per request."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: deque[tuple[Event, asyncio.Future[None]]] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def wake(self, *_: object) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def put(self, event: Event) -> None:
        """Called by the run: offer ``event`` and wait until the consumer asks for more."""
        resume: asyncio.Future[None] = self.loop.create_future()
        self.pending.append((event, resume))
        self.wake()
        if event.kind == ERROR and not isinstance(event.value, Exception):
            return  # an interrupt or a cancellation goes on at once: nobody may hold it up
        await resume

    async def wait(self) -> None:
        """Called by the consumer: sleep until an event is offered or the run ends."""
        self.waiter = self.loop.create_future()
        await self.waiter


async def iterate_async(steps: Steps, run: Run) -> AsyncGenerator[Event, None]:
    """Yield each event of ``steps``; the run waits at each one until the next is asked for.

    The run itself goes on in a task of the running loop (so concurrent batch items can each
    pause at their own event). Closing the generator cancels that task and waits for it.
    """
    __tracebackhide__ = True
    loop = asyncio.get_running_loop()
    handover = _Handover(loop)
    run.sink = handover.put
    task = loop.create_task(run_to_end_async(steps, run))
    task.add_done_callback(handover.wake)
    try:
        while True:
            while not handover.pending and not task.done():
                await handover.wait()
            if not handover.pending:
                task.result()  # raises the run's exception, if any
                return
            event, resume = handover.pending.popleft()
            yield event
            if not resume.done():
                resume.set_result(None)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
