"""Re-runs from a recording: each node's ``exec`` result taken from a trace, not computed.

Inside ``with replaying(trace):`` every run gets, for each node it runs, the ``exec`` result
that the trace recorded for that node with the same input (what ``prep`` returned), instead of
calling ``exec``: the model or the tool is not called, so the run is deterministic and offline.
``prep`` and ``post`` still run, so ``shared`` is rebuilt as in the recorded run.

>>> from pocketflow import Flow, Node
>>> from pocketflow.trace import record
>>> class Ask(Node):
...     calls = 0
...     def prep(self, shared):
...         return shared["question"]
...     def exec(self, question):
...         Ask.calls += 1  # stands for a call to a model
...         return question.upper()
...     def post(self, shared, prep_res, exec_res):
...         shared["answer"] = exec_res
>>> flow = Flow(start=Ask(), name="qa")
>>> trace = record(flow, {"question": "why?"})
>>> shared = {"question": "why?"}
>>> with replaying(trace):
...     flow.run(shared)
>>> shared["answer"], Ask.calls  # the answer of the recording; exec ran once, when recorded
('WHY?', 1)

A node whose input differs from every recorded run of it raises :class:`RecordingMismatch`
naming the node and both inputs; with ``live=True`` it calls ``exec`` instead, and the
mismatch is listed in :attr:`Playback.mismatches`. Retries, batch items and fallbacks are not
replayed one by one: the node's recorded ``exec`` result stands for all of them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import safe_repr
from .events import EXEC, PREP, RECORDING, Run, Scope
from .nodes import BaseNode
from .runners import Steps
from .trace import RecordedError, Repr, Trace, to_json

__all__ = ["Playback", "RecordingMismatch", "replaying"]


class RecordingMismatch(Exception):
    """A node's input matches no recorded run of that node."""


class Playback:
    """The recorded ``exec`` results of a trace, handed out to a re-run (see :func:`replaying`).

    Runs of a node are told apart by where the node is (the names of its flows and its own)
    and by its input, so a re-run whose nodes run in another order (a parallel batch) still
    gets each node its own result. Each recorded result is handed out once.
    """

    def __init__(self, trace: Trace, *, live: bool = False) -> None:
        self.live = live
        #: What did not match the recording (with ``live=True``; otherwise the first raises).
        self.mismatches: list[str] = []
        #: How many results were taken from the recording.
        self.replayed = 0
        self._runs: dict[tuple[str, ...], list[tuple[Any, Any, int]]] = {}
        flows = {node.id for node in trace.graph.nodes if node.is_flow} if len(trace) else set()
        prepared: dict[int | None, Any] = {}
        for step in trace.steps:
            if step.node_id in flows:
                continue
            if step.kind == PREP:
                prepared[step.scope] = to_json(step.value)
            elif step.kind == EXEC and step.scope in prepared:
                where = (*step.path, step.name)
                self._runs.setdefault(where, []).append(
                    (prepared.pop(step.scope), step.value, step.step)
                )

    def exec_steps(
        self,
        node: BaseNode,
        shared: Any,
        prep_res: Any,
        run: Run,
        origin: BaseNode,
        path: tuple[str, ...],
        scope: Scope | None,
    ) -> Steps:
        """The ``exec`` phase of ``node`` in a re-run: the recorded result, or a live call."""
        __tracebackhide__ = True
        where = (*path, origin.name)
        wanted = to_json(prep_res)
        recorded = self._runs.get(where, [])
        for index, (prep, result, step) in enumerate(recorded):
            if prep == wanted:
                del recorded[index]
                _refuse_placeholder(result, origin, step)
                self.replayed += 1
                yield from ()
                return copy.deepcopy(result)
        name = " > ".join(where)
        if recorded:
            problem = (
                f"node '{name}' got an input that no recorded run of it had: "
                f"{safe_repr(prep_res, 200)} (recorded: {safe_repr(recorded[0][0], 200)})"
            )
        else:
            problem = f"node '{name}' has no recorded run left to replay"
        if not self.live:
            raise RecordingMismatch(f"{problem}; replaying(trace, live=True) calls exec instead")
        self.mismatches.append(problem)
        return (yield from node._exec_steps(shared, prep_res, run, origin, path, scope))


def _refuse_placeholder(result: Any, node: BaseNode, step: int) -> None:
    if _holds_placeholder(result):
        raise ValueError(
            f"node '{node.name}': the recorded exec result (step {step}) was stored only as a "
            f"placeholder ({safe_repr(result, 120)}): it cannot be replayed"
        )


def _holds_placeholder(value: Any, active: frozenset[int] = frozenset()) -> bool:
    if isinstance(value, (Repr, RecordedError)):
        return True
    if not isinstance(value, (dict, list, tuple)) or id(value) in active:
        return False
    inner = active | {id(value)}
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)
    return any(_holds_placeholder(item, inner) for item in items)


@contextmanager
def replaying(trace: Trace, *, live: bool = False) -> Iterator[Playback]:
    """Run flows with the ``exec`` results of ``trace`` (see the module's docstring); yields
    the :class:`Playback`, which counts what it replayed and lists what did not match.
    """
    playback = Playback(trace, live=live)
    token = RECORDING.set(playback)
    try:
        yield playback
    finally:
        RECORDING.reset(token)
