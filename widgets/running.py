"""Run any flow from synchronous code, in or out of a running event loop.

In a notebook cell, prefer ``await flow.run_async(shared)`` for an :class:`~pocketflow.AsyncFlow`:
Jupyter's kernel already runs an event loop and top-level ``await`` uses it. :func:`run` is for
code that cannot ``await``: a plain function, a widget callback, a script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from pocketflow import AsyncNode, BaseNode

__all__ = ["run", "run_coroutine"]

_T = TypeVar("_T")


def run(flow: BaseNode, shared: Any) -> Any:
    """Run ``flow`` (any node or flow, sync or async) on ``shared``; return its result.

    - A sync flow simply runs: ``flow.run(shared)``.
    - An async flow with no event loop running in this thread runs in a fresh one
      (``asyncio.run``).
    - An async flow called while a loop is running in this thread (a notebook cell, a widget
      callback) needs to re-enter that loop, which asyncio forbids; here the loop is patched with
      ``nest_asyncio2`` (the maintained successor of ``nest_asyncio``, which ipykernel itself
      uses), at this first call and not at import time.

    >>> from pocketflow import AsyncNode
    >>> class Answer(AsyncNode):
    ...     async def post_async(self, shared, prep_res, exec_res):
    ...         return "done"
    >>> run(Answer(), {})
    'done'
    """
    if not isinstance(flow, AsyncNode):
        return flow.run(shared)
    return run_coroutine(flow.run_async(shared))


def run_coroutine(coroutine: Coroutine[Any, Any, _T] | Awaitable[_T]) -> _T:
    """Run ``coroutine`` to completion from sync code, whether or not a loop is running.

    >>> import asyncio
    >>> async def answer():
    ...     await asyncio.sleep(0)
    ...     return 42
    >>> run_coroutine(answer())
    42
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(coroutine))
    import nest_asyncio2

    nest_asyncio2.apply(loop)
    return loop.run_until_complete(coroutine)


async def _as_coroutine(awaitable: Awaitable[_T]) -> _T:
    return await awaitable
