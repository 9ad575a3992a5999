"""Drivers: the few ways to consume a run's step generator.

A node's run is a generator (see ``BaseNode._steps``) that yields two kinds of things: the fields
of an :class:`~pocketflow.events.Event` (a plain tuple) at each phase boundary, and an awaitable
whenever an async hook must be awaited. The orchestration lives in those generators, once; the
drivers here only decide what happens to what is yielded: run to the end (sync or async), hand
each event to a consumer that pulls (a generator or an async generator), or run several
generators concurrently.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from .events import Event, Run, make_event

__all__ = ["Steps", "gather", "iterate", "iterate_async", "run_to_end", "run_to_end_async"]

#: A run's step generator: yields events and awaitables, returns the run's result.
Steps = Generator[Any, Any, Any]


def _awaitable_in_sync_run(op: object) -> RuntimeError:
    close = getattr(op, "close", None)
    if close is not None:
        close()  # a coroutine that will never be awaited: no "never awaited" warning
    return RuntimeError(
        "Use run_async. A synchronous run reached an async hook; run it in an AsyncFlow and "
        "await flow.run_async(shared)."
    )


def run_to_end(steps: Steps, run: Run) -> Any:
    """Drive ``steps`` to its end synchronously, notifying observers; return the result."""
    raw_sinks = run.raw_sinks
    observers = run.observers
    while True:
        try:
            op = next(steps)
        except StopIteration as stop:
            return stop.value
        if type(op) is not tuple:
            raise _awaitable_in_sync_run(op)
        # run.publish(op), inlined: this loop is the hot path of an observed run
        for raw_sink in raw_sinks:
            raw_sink(op)
        if observers:
            event = make_event(op)
            for observer in observers:
                observer(event)


def iterate(steps: Steps, run: Run) -> Generator[Event, None, Any]:
    """Yield each event of ``steps`` to the caller, who decides when the run goes on."""
    while True:
        try:
            op = next(steps)
        except StopIteration as stop:
            return stop.value
        if type(op) is not tuple:
            raise _awaitable_in_sync_run(op)
        yield run.publish(op)


async def run_to_end_async(steps: Steps, run: Run) -> Any:
    """Drive ``steps`` to its end, awaiting what it yields to await; return the result.

    Events go to the observers and, when the run has a ``sink`` (a consumer stepping through
    it), are awaited there, which is how an async run pauses between two events.
    """
    raw_sinks = run.raw_sinks
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
            for raw_sink in raw_sinks:
                raw_sink(op)
            if observers or sink is not None:
                event = make_event(op)
                for observer in observers:
                    observer(event)
                if sink is not None:
                    await sink(event)
        else:
            try:
                value = await op
            except BaseException as exc:  # handed back to the generator, which decides
                error = exc


async def gather(all_steps: Sequence[Steps], run: Run, limit: int | None) -> list[Any]:
    """Run several step generators concurrently, at most ``limit`` at a time; results in order.

    When one fails, the others are cancelled and awaited before the exception propagates, so no
    task outlives the call. Cancelling the call cancels them all the same way.
    """
    results: list[Any] = [None] * len(all_steps)
    if not all_steps:
        return results
    queue = iter(enumerate(all_steps))

    async def worker() -> None:
        for index, steps in queue:
            results[index] = await run_to_end_async(steps, run)

    count = len(all_steps) if limit is None else min(limit, len(all_steps))
    workers = [asyncio.ensure_future(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return results


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
