"""Run any flow, sync or async: from synchronous code, in or out of a running event loop
(:func:`run`), or awaited (:func:`arun`).

In a notebook cell, prefer ``await flow.run_async(shared)`` for an :class:`~pocketflow.AsyncFlow`:
Jupyter's kernel already runs an event loop and top-level ``await`` uses it. :func:`run` is for
code that cannot ``await``: a plain function, a widget callback, a script. :func:`arun` is for
code that runs flows it does not know: a view awaits any flow with it.

"From synchronous code, in or out of a running event loop" holds in a full kernel only. In
Pyodide (JupyterLite) there are no threads, and the one event loop is driven by the browser, so
sync code cannot wait for it to finish an async flow: there, :func:`run` on an async flow and
:func:`run_coroutine` raise a ``RuntimeError`` saying what to ``await`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from pocketflow import AsyncNode, BaseNode

__all__ = ["arun", "run", "run_coroutine"]

_T = TypeVar("_T")


def run(flow: BaseNode, shared: Any) -> Any:
    """Run ``flow`` (any node or flow, sync or async) on ``shared``; return its result.

    - A sync flow simply runs: ``flow.run(shared)``.
    - An async flow with no event loop running in this thread runs in a fresh one, closed
      afterwards (as by ``asyncio.run``).
    - An async flow called while a loop is running in this thread (a notebook cell, a widget
      callback) needs to re-enter that loop, which asyncio forbids; here the loop is patched with
      ``nest_asyncio2`` (the maintained successor of ``nest_asyncio``, which ipykernel itself
      uses), at this first call and not at import time.
    - In Pyodide (JupyterLite) an async flow raises a ``RuntimeError``: ``await`` it there.

    Interrupting the run (a ``KeyboardInterrupt``) or any exception while it runs stops it for
    good, see :func:`run_coroutine`.

    >>> from pocketflow import AsyncNode
    >>> class Answer(AsyncNode):
    ...     async def post_async(self, shared, prep_res, exec_res):
    ...         return "done"
    >>> run(Answer(), {})
    'done'
    """
    if not isinstance(flow, AsyncNode):
        return flow.run(shared)  # no event loop for a flow that never awaits
    refuse_in_pyodide("await flow.run_async(shared)")
    return run_coroutine(arun(flow, shared))


async def arun(flow: BaseNode, shared: Any) -> Any:
    """``await arun(flow, shared)``: run any node or flow in the running event loop, an async
    one awaited, a sync one called; return its result.

    >>> import asyncio
    >>> from pocketflow import Node
    >>> class Answer(Node):
    ...     def post(self, shared, prep_res, exec_res):
    ...         return "done"
    >>> asyncio.run(arun(Answer(), {}))
    'done'
    """
    if isinstance(flow, AsyncNode):
        return await flow.run_async(shared)
    return flow.run(shared)


def run_coroutine(coroutine: Coroutine[Any, Any, _T] | Awaitable[_T]) -> _T:
    """Run ``coroutine`` to completion from sync code, whether or not a loop is running.

    When waiting for it is interrupted, by a ``KeyboardInterrupt`` (interrupting a kernel) or
    any other exception, the run is cancelled and has stopped before the exception propagates:
    in a kernel, whose loop goes on after the cell, no task of the run resumes later.

    >>> import asyncio
    >>> async def answer():
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run_coroutine(answer())
    42
    """
    if sys.platform == "emscripten":
        if inspect.iscoroutine(coroutine):
            coroutine.close()  # it never runs: no "never awaited" warning about it
        refuse_in_pyodide("await it, as in `await flow.run_async(shared)`")
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coroutine)
    import nest_asyncio2

    nest_asyncio2.apply(loop)
    return _run_to_end(loop, coroutine)


def refuse_in_pyodide(instead: str) -> None:
    """In Pyodide (JupyterLite), raise a ``RuntimeError`` that says to write ``instead``.

    There, sync code cannot wait for an async flow: Pyodide has no threads, and its event loop
    is the browser's, which runs a task only once the code running now has returned.
    """
    if sys.platform == "emscripten":
        raise RuntimeError(
            "an async flow cannot be run to the end from sync code in Pyodide (JupyterLite): "
            "it has no threads and cannot block until the event loop is done. Use top-level "
            f"`await` in the cell instead: {instead}"
        )


def _run_to_end(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[_T]) -> _T:
    """Run ``awaitable`` as a task of ``loop``; on any exception, stop the task, then raise."""
    task = loop.create_task(_as_coroutine(awaitable))
    try:
        return loop.run_until_complete(task)
    except BaseException:
        _stop(loop, task)
        raise


def _stop(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and run ``loop`` until it is done.

    An interrupt while it winds down cancels it again rather than leaving it half-cancelled,
    pending in a loop that runs on; what the task ends with is dropped: the caller raises the
    exception that made it stop.
    """
    while not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(task)


def _run_in_new_loop(awaitable: Awaitable[_T]) -> _T:
    """What ``asyncio.run`` does, with the same stop on an exception as in a running loop.

    Not ``asyncio.run`` itself: once ``nest_asyncio2`` is applied, it is replaced process-wide
    with one that gives up on the run at a second interrupt.
    """
    loop = asyncio.new_event_loop()
    try:
        return _run_to_end(loop, awaitable)
    finally:
        try:
            for task in asyncio.all_tasks(loop):  # started by the run and never awaited
                _stop(loop, task)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


async def _as_coroutine(awaitable: Awaitable[_T]) -> _T:
    return await awaitable
