"""Flows: nodes that run a graph of nodes over one ``shared`` dict.

A flow is itself a node whose ``exec`` phase is the orchestration: start at the start node, run
a fresh shallow copy of it, follow the edge named by the action its ``post`` returned, and repeat
until no edge leads on. :meth:`Flow._exec_steps` is that loop, the only one in the library; batch
and async flows reuse it and differ only in how many times, and how concurrently, they call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from time import perf_counter_ns as now
from typing import TYPE_CHECKING, Any, ClassVar

from . import runners
from .display import mimebundle
from .errors import StepLimitError, describe, label, warn
from .events import ITEM, TRANSITION, Resume, Run, Scope, new_scope
from .nodes import AsyncNode, BaseNode, check_concurrency
from .runners import Steps, awaited, awaits

if TYPE_CHECKING:
    from .checkpoints import Checkpoint

__all__ = ["AsyncBatchFlow", "AsyncFlow", "AsyncParallelBatchFlow", "BatchFlow", "Flow"]


class Flow(BaseNode):
    """A graph of nodes run from ``start``; returns the action of its last node.

    ``max_steps`` (default: no limit) stops a run that takes more node steps than that with a
    :class:`~pocketflow.StepLimitError` naming the node, a guard against loops that never exit.
    It counts every node that one run of the flow's graph starts, at any depth: a sub-flow is a
    step, and so is each node run inside it, so a loop inside a sub-flow is stopped too. (A
    batch flow gives each of its runs, one per param set, the whole budget.)

    >>> from pocketflow import Node
    >>> class Count(Node):
    ...     def post(self, shared, prep_res, exec_res):
    ...         shared["n"] = shared.get("n", 0) + 1
    ...         return "again" if shared["n"] < 3 else "done"
    >>> count = Count()
    >>> count - "again" >> count
    <Count>
    >>> count - "done" >> None  # a declared end: the flow stops here, silently
    >>> shared = {}
    >>> Flow(start=count).run(shared), shared["n"]
    ('done', 3)
    """

    kind: ClassVar[str] = "flow"
    _orchestrates = True
    #: The step budgets of the enclosing flows' runs, set on the per-run copy of a sub-flow.
    _budgets: tuple[_StepBudget, ...] = ()

    def __init__(
        self,
        start: BaseNode | None = None,
        *,
        name: str | None = None,
        max_steps: int | None = None,
    ) -> None:
        super().__init__(name=name)
        self.start_node: BaseNode | None = None
        if start is not None:
            self.start(start)
        if max_steps is not None and (
            not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1
        ):
            raise ValueError(
                f"{label(self)}: max_steps must be None (no limit) or an "
                f"integer >= 1, got {describe(max_steps)}"
            )
        self.max_steps = max_steps

    def _start_node(self) -> BaseNode:
        if self.start_node is None:
            raise ValueError(
                f"{label(self)} has no start node: pass one, as in "
                f"{type(self).__name__}(start=node), or call flow.start(node)"
            )
        return self.start_node

    def start(self, start: BaseNode) -> Any:
        """Make ``start`` the first node and return it, so ``flow.start(a) >> b`` chains."""
        if not isinstance(start, BaseNode):
            raise TypeError(
                f"{label(self)}: the start must be a node (Node, Flow, ...), got {describe(start)}"
            )
        if start._is_async and not self._is_async:
            raise RuntimeError(_needs_async_flow(self, start))
        self.start_node = start
        return start

    def get_next_node(self, curr: BaseNode, action: Any) -> BaseNode | None:
        """The successor of ``curr`` for ``action`` (``None`` or ``""`` mean ``"default"``).

        Warns when ``curr`` has successors but none for ``action``; an action wired to ``None``
        is a declared end and ends the flow silently.
        """
        key = action or "default"
        successors = curr.successors
        nxt = successors.get(key)
        if nxt is None and successors and key not in successors:
            warn(f"Flow ends: '{action}' not found in {list(successors)}")
        return nxt

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        """Return the last node's action (``exec_res``), so an outer flow can branch on it."""
        return exec_res

    def resume(self, checkpoint: Checkpoint, shared: Any) -> Any:
        """Run the rest of a run of this flow from ``checkpoint``, on ``shared`` (usually
        ``checkpoint.new_shared()``, or an edited copy to fork the run); return what the run
        returns. Observers see the events from the checkpoint on, numbered as in the run it
        came from. See :mod:`pocketflow.checkpoints`.
        """
        __tracebackhide__ = True
        if self._is_async:
            raise RuntimeError(
                f"'{self.name}' is async: resume it with "
                "`await flow.resume_async(checkpoint, shared)`."
            )
        run = checkpoint.new_run()
        return runners.run_to_end(checkpoint.steps_for(self, shared, run), run)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In a notebook, a flow shows its graph: SVG when Graphviz's ``dot`` is installed,
        else Mermaid (JupyterLab draws it), and always a plain-text outline; only the mime
        types ``include`` asks for (``None``: all) and ``exclude`` does not.
        """
        return mimebundle(self, include=include, exclude=exclude)

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
        """The orchestration: run the graph once from the start node, with a copy of the
        flow's params. ``origin`` is the wired flow (``self`` may be its per-run copy).

        A run picked up from a checkpoint (``self._resume``) starts where that says instead:
        at a node about to start, inside a sub-flow under way, or after a node that ran.
        """
        __tracebackhide__ = True
        path = (*path, origin.name)
        resume = self._resume
        current: BaseNode | None
        if resume is None:
            current, params, action = self._start_node(), {**self.params}, None
        else:
            current, params, action = resume.at, resume.params or {}, resume.action
        emit, count = run.emit, run.count
        budgets = self._budgets
        if self.max_steps is not None:
            budget = _StepBudget(self, self.max_steps)
            if resume is not None:
                budget.left -= min(resume.used, budget.left)
            budgets = (*budgets, budget)
        while current is not None:
            node = current
            if resume is None or not resume.after:
                if budgets and (resume is None or resume.inner is None):  # not under way
                    for budget in budgets:
                        budget.take(current)
                node = current.__copy__()  # each run of a node gets a fresh shallow copy
                node.set_params(params)
                if budgets and isinstance(node, Flow):
                    node._budgets = budgets  # the copy of a sub-flow counts against ours too
                if node._is_async and not self._is_async:
                    raise RuntimeError(_needs_async_flow(self, current))
                if resume is not None:
                    node._resume = resume.inner
                action = yield from node._steps(shared, run, current, path, scope)
            resume = None
            nxt = self.get_next_node(node, action)
            if emit:
                yield (count(), TRANSITION, current, path, action, params,
                       None, None, None, nxt, scope, now(), None)
            current = nxt
        return action

    @awaits
    def _batch_steps(
        self,
        shared: Any,
        params: Mapping[str, Any],
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
        index: int,
        total: int,
        resume: Resume | None = None,
    ) -> Steps:
        """One run of a batch flow's graph, for the ``index``-th param set; it has a scope of its
        own (inside the batch flow's ``scope``), which its ``item`` event closes. ``resume``
        says where a run picked up from a checkpoint stands.
        """
        __tracebackhide__ = True
        batch_run = self.__copy__()
        batch_run._resume = resume  # not the batch flow's own
        batch_run.params = {**self.params, **params}
        item_scope = None
        if run.emit:
            known = None if resume is None else resume.scope
            item_scope = (
                new_scope(run, scope, origin, index)
                if known is None
                else Scope(run, known, scope, origin, index)
            )
        yield from Flow._exec_steps(batch_run, shared, None, run, origin, path, item_scope)
        if run.emit:
            detail = (index, total, None, None, item_scope, now(), None)
            yield (run.count(), ITEM, origin, path, None, dict(params), *detail)


class BatchFlow(Flow):
    """A flow whose ``prep`` returns a list of param dicts: the graph runs once per dict, in
    order, with the flow's params updated by that dict. Returns ``None`` by default.

    Batch flows take no ``executor``, unlike :class:`~pocketflow.BatchNode`: each run of the
    graph reads and writes ``shared`` in its nodes' ``prep`` and ``post``, and a worker process
    has only a copy of it (what it wrote would be lost), while threads would change it under
    one another. To scale out, put the executor on the batch node inside, whose ``exec`` never
    touches ``shared``.
    """

    kind = "batch_flow"
    _prep_or_empty = True

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
        self._start_node()  # a batch flow without one fails even when it has nothing to run
        param_sets = _param_sets(self, prep_res)
        total = len(param_sets)
        resume = self._resume
        for index, params in enumerate(param_sets):
            inner = None
            if resume is not None:
                if index in resume.done:
                    continue
                if index == resume.item:
                    inner = resume.inner
            yield from self._batch_steps(
                shared, params, run, origin, path, scope, index, total, inner
            )
        return None


class AsyncFlow(Flow, AsyncNode):
    """A flow that awaits async nodes and runs plain nodes directly, in the same event loop.

    Run it with ``await flow.run_async(shared)``; ``prep_async``/``post_async`` are its hooks.
    """

    kind = "async_flow"

    async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        """Return the last node's action (``exec_res``)."""
        return exec_res

    async def resume_async(self, checkpoint: Checkpoint, shared: Any) -> Any:
        """:meth:`Flow.resume` in the running event loop."""
        __tracebackhide__ = True
        run = checkpoint.new_run()
        return await runners.run_to_end_async(checkpoint.steps_for(self, shared, run), run)


class AsyncBatchFlow(AsyncFlow, BatchFlow):
    """An async batch flow: the graph runs once per param dict, one run after another."""

    kind = "async_batch_flow"


class AsyncParallelBatchFlow(AsyncFlow, BatchFlow):
    """An async batch flow whose runs, one per param dict, go concurrently.

    ``max_concurrency`` caps how many run at once (default: all). When one run fails, the others
    are cancelled and awaited before the exception propagates. No ``executor``: the runs share
    ``shared`` (see :class:`BatchFlow`); put the executor on the batch node inside.
    """

    kind = "parallel_flow"

    def __init__(
        self,
        start: BaseNode | None = None,
        *,
        max_concurrency: int | None = None,
        name: str | None = None,
        max_steps: int | None = None,
    ) -> None:
        super().__init__(start, name=name, max_steps=max_steps)
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
        self._start_node()
        param_sets = _param_sets(self, prep_res)
        total = len(param_sets)
        done = frozenset() if self._resume is None else self._resume.done
        all_steps = [
            self._batch_steps(shared, params, run, origin, path, scope, index, total)
            for index, params in enumerate(param_sets)
            if index not in done  # picked up from a checkpoint: the runs that finished
        ]
        yield from awaited(runners.gather(all_steps, run, self.max_concurrency))
        return None


class _StepBudget:
    """What is left of one flow run's ``max_steps``; every node its graph runs, at any depth of
    sub-flows, takes one step of it.
    """

    __slots__ = ("flow", "left", "max_steps")

    def __init__(self, flow: BaseNode, max_steps: int) -> None:
        self.flow = flow
        self.max_steps = max_steps
        self.left = max_steps

    def take(self, node: BaseNode) -> None:
        """Count one step before ``node`` runs; raise when there is none left."""
        if not self.left:
            raise StepLimitError(self.flow, node, self.max_steps)
        self.left -= 1


def _needs_async_flow(flow: BaseNode, node: BaseNode) -> str:
    return (
        f"Use run_async. Node '{node.name}' is async ({type(node).__name__}), so "
        f"{label(flow)} cannot run it: use AsyncFlow and "
        "await flow.run_async(shared)."
    )


def _param_sets(flow: BaseNode, prep_res: Any) -> list[Mapping[str, Any]]:
    """The param dicts a batch flow's ``prep`` returned, checked."""
    if isinstance(prep_res, (str, bytes, Mapping)) or not isinstance(prep_res, Iterable):
        raise TypeError(
            f"{label(flow)}: prep must return a list of param dicts "
            f"(or None), got {describe(prep_res)}"
        )
    param_sets = list(prep_res)
    for index, params in enumerate(param_sets):
        if not isinstance(params, Mapping):
            raise TypeError(
                f"{label(flow)}: prep must return a list of param dicts; "
                f"item {index} is {describe(params)}"
            )
    return param_sets
