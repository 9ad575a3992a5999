"""Checkpoints: where a run stands at a node boundary, to resume it, or fork it, later.

A :class:`Checkpoint` is taken as a node starts (before its ``prep``) or once its ``post``
returned. It holds the position (the flows under way, outermost first, down to that node, with
the batch item each batch flow is at), ``shared`` as it was then, what each of those flows needs
to finish (what its ``prep`` returned, its params and those its nodes share, the node steps its
graph run took, the batch items done) and the graph of the root flow, to check that a run is
resumed on the flow it came from. It is taken from a recorded run (a trace with snapshots) or
from a stepping session halted at a boundary, and saved as JSON lines like a trace.

>>> from pocketflow import Flow, Node
>>> from pocketflow.trace import record
>>> class Add(Node):
...     def post(self, shared, prep_res, exec_res):
...         shared["total"] = shared.get("total", 0) + self.params.get("n", 1)
>>> first, second = Add(name="first"), Add(name="second")
>>> _ = first >> second
>>> flow = Flow(start=first, name="sum")
>>> trace = record(flow, {}, snapshots=True)
>>> boundaries(trace)  # the steps where a node starts, or its post returned
[1, 3, 6, 8, 11, 14]
>>> checkpoint = trace.checkpoint(8)  # as "second" starts
>>> checkpoint
<Checkpoint before 'second' in 'sum' (step 8)>
>>> shared = checkpoint.new_shared()
>>> flow.resume(checkpoint, shared), shared
(None, {'total': 2})

A parallel batch flow is in many places at once: a checkpoint taken inside it stops at that
flow and records which of its runs finished; resuming runs the others again from their start
(their nodes' effects on ``shared`` before the checkpoint stay in it).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .errors import describe, safe_repr
from .events import ERROR, ITEM, POST, PREP, START, TRANSITION, Event, Resume, Run
from .graph import FLOW_KINDS, Graph, build_graph
from .nodes import BaseNode
from .runners import Steps, awaits
from .trace import (
    RecordedError,
    Repr,
    Trace,
    TraceStep,
    dump_line,
    from_json,
    graph_from_json,
    graph_to_json,
    parse_line,
    snapshot,
    to_json,
    write_atomically,
)

__all__ = ["FORMAT", "Checkpoint", "Frame", "boundaries", "checkpoint_at"]

#: The ``format`` field of a checkpoint file's header line.
FORMAT: Final = "pocketflow-checkpoint"
#: The version of the format this module writes (and the newest it reads).
FORMAT_VERSION: Final = 1

_PARALLEL_FLOWS: Final = frozenset({"parallel_flow"})
_BATCH_FLOWS: Final = frozenset({"batch_flow", "async_batch_flow"})


@dataclass(frozen=True)
class Frame:
    """One flow under way at a checkpoint, with the run of its graph that is under way.

    For a batch flow, the run of its graph is the one of item :attr:`item`; for a parallel batch
    flow, which runs its items at once, only :attr:`done` is kept, and the frame is the last.
    """

    #: The flow's id in the checkpoint's graph.
    flow: str
    #: The flow's own params.
    params: dict[str, Any]
    #: What the flow's ``prep`` returned.
    prep_res: Any
    #: The params the nodes of the graph run share (``None`` for a parallel batch flow).
    run_params: dict[str, Any] | None
    #: How many node steps the graph run took before the checkpoint, at any depth.
    used: int
    #: The id of the node under way in the graph run: the next frame's flow, or the
    #: checkpoint's node (``None`` for a parallel batch flow).
    at: str | None
    #: A batch flow: the items whose graph runs finished.
    done: tuple[int, ...] = ()
    #: A sequential batch flow: the item whose graph run is under way.
    item: int | None = None
    #: The scope ids the flow's run and its item's run had (the resumed run's events keep them).
    scope: int | None = None
    item_scope: int | None = None

    @property
    def parallel(self) -> bool:
        """Whether this is a parallel batch flow (the frame stops there)."""
        return self.at is None


@dataclass(frozen=True)
class Checkpoint:
    """The state of a run at a node boundary: resume it with ``flow.resume(checkpoint, shared)``.

    ``node`` is the id of the node at the boundary, ``after`` whether the checkpoint comes
    after its ``post`` (which returned ``action``) rather than as it starts. ``step`` is the
    boundary's step number in the run, ``next_scope`` the first scope id the rest of the run
    may use. ``source`` says where the checkpoint came from (a trace's root and step, a fork).
    """

    graph: Graph
    shared: dict[Any, Any]
    frames: tuple[Frame, ...]
    node: str
    after: bool
    action: Any
    step: int
    next_scope: int
    source: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        where = "after" if self.after else "before"
        name = self.graph[self.node].name if self.node in self.graph else self.node
        return f"<Checkpoint {where} {name!r} in {self.graph.root.name!r} (step {self.step})>"

    @property
    def root(self) -> str:
        """The name of the root flow."""
        return self.graph.root.name

    def new_shared(self) -> dict[Any, Any]:
        """A fresh copy of :attr:`shared`, to resume on (the checkpoint stays as it is).

        Raises ``ValueError`` naming the key when a value was kept only as a placeholder.
        """
        _refuse_placeholders(self.shared, "shared")
        return copy.deepcopy(self.shared)

    def fork(self, shared: Mapping[Any, Any] | None = None, **source: Any) -> Checkpoint:
        """This checkpoint with ``shared`` in place of its own (default: a copy of it),
        recording in :attr:`source` that it was forked from here (plus ``source``).
        """
        chosen = self.new_shared() if shared is None else dict(shared)
        origin = {**self.source, "step": self.step}
        return dataclasses.replace(self, shared=chosen, source={"forked_from": origin, **source})

    # -- files ---------------------------------------------------------------------------------

    def to_jsonl(self) -> str:
        """The checkpoint as JSON lines: a header (with the graph and the position), one line
        per frame, then a line with ``shared``. Values JSON cannot hold are stored as
        placeholders, which a resume refuses.
        """
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "root": self.root,
            "graph": graph_to_json(self.graph),
            "node": self.node,
            "after": self.after,
            "action": to_json(self.action),
            "step": self.step,
            "next_scope": self.next_scope,
            "source": to_json(self.source),
            "frames": len(self.frames),
        }
        lines = [header]
        for frame in self.frames:
            data = dataclasses.asdict(frame)
            for key in ("params", "prep_res", "run_params"):
                data[key] = to_json(data[key])
            data["done"] = list(frame.done)
            lines.append(data)
        lines.append({"shared": to_json(self.shared)})
        return "".join(dump_line(line) + "\n" for line in lines)

    @classmethod
    def from_jsonl(cls, text: str) -> Checkpoint:
        """The checkpoint :meth:`to_jsonl` wrote; ``ValueError`` naming the line otherwise."""
        lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line]
        if not lines:
            raise ValueError("not a pocketflow checkpoint: the text is empty")
        header = parse_line(*lines[0])
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f'not a pocketflow checkpoint: line 1 has no "format": "{FORMAT}"')
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"unsupported checkpoint format version {describe(header.get('version'))} "
                f"(this library reads version {FORMAT_VERSION})"
            )
        problem = _fields_problem(header, _HEADER_FIELDS)
        if problem is not None:
            raise ValueError(f"line 1: not a checkpoint header: {problem}")
        graph = graph_from_json(header["graph"])
        if graph is None:
            raise ValueError("line 1: the checkpoint header has no graph")
        if header["node"] not in graph:
            raise ValueError(f"line 1: the node {header['node']!r} is not in the graph")
        if len(lines) != header["frames"] + 2:
            raise ValueError(
                f"the checkpoint is incomplete: its header announces {header['frames']} "
                f"frames and a line for shared, but {len(lines) - 1} lines follow"
            )
        frames = []
        for number, line in lines[1:-1]:
            data = parse_line(number, line)
            problem = _fields_problem(data, _FRAME_FIELDS) or _frame_problem(data, graph)
            if problem is not None:
                raise ValueError(f"line {number}: not a checkpoint frame: {problem}")
            for key in ("params", "prep_res", "run_params"):
                data[key] = from_json(data[key])
            data["done"] = tuple(data["done"])
            frames.append(Frame(**data))
        number, line = lines[-1]
        last = parse_line(number, line)
        if not isinstance(last, dict) or set(last) != {"shared"}:
            raise ValueError(f'line {number}: expected {{"shared": ...}} as the last line')
        shared = from_json(last["shared"])
        if not isinstance(shared, dict):
            raise ValueError(f"line {number}: shared is {describe(shared)}, not an object")
        source = from_json(header["source"])
        return cls(
            graph=graph,
            shared=shared,
            frames=tuple(frames),
            node=header["node"],
            after=header["after"],
            action=from_json(header["action"]),
            step=header["step"],
            next_scope=header["next_scope"],
            source=source if isinstance(source, dict) else {},
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the checkpoint to ``path`` as JSON lines, atomically (as ``Trace.save``)."""
        write_atomically(path, self.to_jsonl().encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read a checkpoint that :meth:`save` wrote."""
        with open(path, encoding="utf-8") as file:
            return cls.from_jsonl(file.read())

    # -- resuming ------------------------------------------------------------------------------

    def check(self, flow: BaseNode) -> Graph:
        """Raise ``ValueError`` unless this checkpoint can resume a run of ``flow``: the flow
        has the checkpoint's graph (else the first differences are named) and nothing the
        flows under way need was kept only as a placeholder. Returns the flow's graph.
        """
        graph = build_graph(flow)
        difference = graph_difference(self.graph, graph)
        if difference:
            raise ValueError(
                f"this checkpoint of {self.root!r} does not fit the flow {flow.name!r}: "
                f"{difference}"
            )
        for frame in self.frames:
            for key in ("params", "prep_res", "run_params"):
                _refuse_placeholders(getattr(frame, key), f"{key} of flow {frame.flow!r}")
        _refuse_placeholders(self.action, "the action")
        return graph

    def steps_for(self, flow: BaseNode, shared: Any, run: Run) -> Steps:
        """The step generator of the rest of the run of ``flow`` over ``shared`` (see
        ``pocketflow.runners``), after :meth:`check`; ``run`` comes from :meth:`new_run`.
        """
        graph = self.check(flow)
        frames = copy.deepcopy(self.frames)  # the run may change them; the checkpoint stays
        plan = _plan(frames, graph, self.after, copy.deepcopy(self.action))
        root_params = frames[0].params if frames else None
        ended = plan is None and self.after  # after the root's own post: nothing is left
        return _steps(flow, plan, root_params, ended, copy.deepcopy(self.action), shared, run)

    def new_run(self, stepping: bool = False) -> Run:
        """A :class:`Run` whose step numbers and scope ids go on from the checkpoint's."""
        first = self.step + 1 if self.after else self.step
        return Run(stepping, first_step=first, first_scope=self.next_scope)


@awaits
def _steps(
    flow: BaseNode,
    plan: Resume | None,
    root_params: dict[str, Any] | None,
    ended: bool,
    action: Any,
    shared: Any,
    run: Run,
) -> Steps:
    """Pick the run up: the root's per-run copy carries the plan down (a run that had ended
    returns its last action).
    """
    __tracebackhide__ = True
    if ended:
        yield from ()
        return action
    root = flow.__copy__()
    root._resume = plan
    if root_params is not None:
        root.params = root_params
    return (yield from root._steps(shared, run, flow, (), None))


def _plan(frames: Sequence[Frame], graph: Graph, after: bool, action: Any) -> Resume | None:
    """The :class:`Resume` of the root from the frames, built from the innermost out."""
    inner: Resume | None = None
    last = len(frames) - 1
    for depth in range(last, -1, -1):
        frame = frames[depth]
        if frame.parallel:
            inner = Resume(prep_res=frame.prep_res, done=frozenset(frame.done), scope=frame.scope)
            continue
        assert frame.at is not None
        innermost = depth == last
        run = Resume(
            params=dict(frame.run_params or {}),
            used=frame.used,
            at=graph[frame.at].obj,
            inner=None if innermost else inner,
            after=after if innermost else False,
            action=action if innermost else None,
        )
        if frame.item is not None:
            inner = Resume(
                prep_res=frame.prep_res,
                done=frozenset(frame.done),
                item=frame.item,
                scope=frame.scope,
                inner=run._replace(scope=frame.item_scope),
            )
        else:
            inner = run._replace(prep_res=frame.prep_res, scope=frame.scope)
    return inner


# -- taking checkpoints ------------------------------------------------------------------------


def boundaries(trace: Trace) -> list[int]:
    """The step numbers of ``trace`` where a checkpoint can be taken: each node's ``start``
    and ``post``.
    """
    return [step.step for step in trace.steps if step.kind in (START, POST)]


def checkpoint_at(
    trace: Trace, step: int | None = None, shared: Any = None, *, base: Checkpoint | None = None
) -> Checkpoint:
    """The checkpoint of ``trace``'s run at ``step`` (a ``start`` or ``post`` step; default:
    the last one).

    ``shared`` is the store as it was at that step; by default the trace's snapshot, so the
    trace must have been recorded with ``snapshots=True``. When the run was itself resumed
    from a checkpoint, give it as ``base``: the trace holds only what came after it.
    """
    steps = trace.steps
    if not steps:
        raise ValueError("the trace is empty: there is no node boundary to take a checkpoint at")
    if step is None:
        candidates = [i for i, entry in enumerate(steps) if entry.kind in (START, POST)]
        index = candidates[-1]
    else:
        index = next((i for i, entry in enumerate(steps) if entry.step == step), -1)
        if index < 0:
            raise ValueError(f"the trace has no step {step}")
        if steps[index].kind not in (START, POST):
            raise ValueError(
                f"step {step} is a {steps[index].kind!r} event, not a node boundary: take a "
                "checkpoint where a node starts or after its post (see boundaries(trace))"
            )
    boundary = steps[index]
    if shared is None:
        if not trace.has_snapshots:
            raise ValueError(
                "this trace has no snapshots of shared: record the run with snapshots=True "
                "(record(flow, shared, snapshots=True)), or pass shared="
            )
        shared = trace.shared_at(boundary.step)
    else:
        shared = snapshot(shared)
    if boundary.node_id is None:
        raise ValueError(f"step {boundary.step}: its node is not in the trace's graph")
    if any(entry.scope is None for entry in steps[: index + 1]):
        raise ValueError("the trace does not record scopes: it cannot give a checkpoint")
    source: dict[str, Any] = {"root": trace.root, "step": boundary.step}
    if base is not None:
        prefix = _prefix(base)
        steps, index = [*prefix, *steps], index + len(prefix)
        source["resumed_from"] = {**base.source, "step": base.step}
    frames, next_scope = _frames(steps, index, trace.graph)
    if base is not None and boundary.kind == POST:  # ids used before base, in runs now closed
        next_scope = max(next_scope, base.next_scope)
    return Checkpoint(
        graph=trace.graph,
        shared=copy.deepcopy(dict(shared or {})),
        frames=frames,
        node=boundary.node_id,
        after=boundary.kind == POST,
        action=_copied(boundary.value) if boundary.kind == POST else None,
        step=boundary.step,
        next_scope=next_scope,
        source=source,
    )


def _prefix(base: Checkpoint) -> list[TraceStep]:
    """Steps standing for the run before ``base``, enough for :func:`_frames` to tell the
    frames of a run resumed from it: each flow's ``start`` and ``prep``, its finished batch
    items, the scope of its item under way, and one stand-in ``start`` per node step taken.
    Stand-ins get negative step numbers and scope ids, below every real one.
    """
    fake = itertools.count(-1, -1)
    steps: list[TraceStep] = []
    path: tuple[str, ...] = ()
    parent: int | None = None
    for depth, frame in enumerate(base.frames):
        node, name = frame.flow, base.graph[frame.flow].name
        for kind, value in ((START, None), (PREP, frame.prep_res)):
            steps.append(
                TraceStep(
                    next(fake),
                    kind,
                    node,
                    name,
                    path,
                    value,
                    frame.params,
                    scope=frame.scope,
                    parent=parent,
                )
            )
        for item in frame.done:
            steps.append(
                TraceStep(
                    next(fake),
                    ITEM,
                    node,
                    name,
                    path,
                    None,
                    frame.params,
                    item=item,
                    scope=next(fake),
                    parent=frame.scope,
                )
            )
        run_scope = frame.scope if frame.item_scope is None else frame.item_scope
        if frame.item_scope is not None:  # the item run under way: its scope's parent
            steps.append(
                TraceStep(
                    next(fake),
                    TRANSITION,
                    node,
                    name,
                    path,
                    None,
                    frame.run_params,
                    scope=frame.item_scope,
                    parent=frame.scope,
                )
            )
        if frame.parallel:
            break
        # The steps the frames below add to this run's count: the next flow's start, and the
        # steps of its run; the rest are stand-ins here.
        deeper = 1 + base.frames[depth + 1].used if depth + 1 < len(base.frames) else 0
        for _ in range(frame.used - deeper):
            steps.append(
                TraceStep(next(fake), START, None, "", (), scope=next(fake), parent=run_scope)
            )
        path, parent = (*path, name), run_scope
    return steps


def checkpoint_of_events(
    events: Sequence[Event], flow: BaseNode, shared: Any, base: Checkpoint | None = None
) -> Checkpoint:
    """The checkpoint at the last of ``events`` (a run of ``flow`` halted at a node boundary,
    resumed from ``base`` if given), with a snapshot of ``shared`` as it is now.
    """
    if not events or events[-1].kind not in (START, POST):
        raise ValueError(
            "a checkpoint is taken at a node boundary: halt where a node starts or after its "
            "post (halt_before=..., halt_after=..., or next_node())"
        )
    trace = Trace._of_events(list(events), build_graph(flow), None)
    return checkpoint_at(trace, events[-1].step, shared, base=base)


def _copied(value: Any) -> Any:
    try:
        return copy.deepcopy(value)
    except Exception:
        return Repr(safe_repr(value))


def _frames(steps: Sequence[TraceStep], index: int, graph: Graph) -> tuple[tuple[Frame, ...], int]:
    """The frames of the run at ``steps[index]``, and the next free scope id.

    Scopes say which run each step belongs to; a batch item's run emits nothing when it starts,
    so its scope is known from its first node's ``parent`` and, when none of its own steps tells,
    its batch flow is the latest one still open whose path leads to that node.
    """
    boundary = steps[index]
    before = boundary.kind == START
    seen = steps[:index] if before else steps[: index + 1]
    starts: dict[int, TraceStep] = {}
    parents: dict[int, int | None] = {}
    preps: dict[int, Any] = {}
    done: dict[int, list[int]] = {}
    closed: set[int] = set()
    # The latest step of each graph run (its nodes' steps, the transitions it took): the params
    # its nodes share as of then (a node may add to them).
    latest: dict[int | None, TraceStep] = {}
    for entry in steps[: index + 1]:
        assert entry.scope is not None
        parents.setdefault(entry.scope, entry.parent)
        latest[entry.scope if entry.kind == TRANSITION else entry.parent] = entry
        if entry.kind == START:
            starts[entry.scope] = entry
        elif entry.kind == PREP:
            preps[entry.scope] = entry.value
        elif entry.kind in (POST, ERROR):
            closed.add(entry.scope)
        elif entry.kind == ITEM and _is_flow(graph, entry.node_id) and entry.parent is not None:
            done.setdefault(entry.parent, []).append(entry.item or 0)

    def parent_of(scope: int, child: TraceStep) -> int | None:
        if scope in parents:
            return parents[scope]
        # A batch item's run none of whose steps is seen yet: its batch flow is open and its
        # path, plus its name, is the path of the child's node.
        for flow_scope, entry in reversed(starts.items()):
            if (
                flow_scope not in closed
                and (*entry.path, entry.name) == child.path
                and _kind(graph, entry.node_id) in _BATCH_FLOWS | _PARALLEL_FLOWS
            ):
                parents[scope] = flow_scope
                return flow_scope
        raise ValueError(f"step {child.step}: cannot tell which run its scope {scope} belongs to")

    def ancestors(entry: TraceStep) -> list[int]:
        found: list[int] = []
        scope: int | None = entry.parent
        child = entry
        while scope is not None:
            found.append(scope)
            start = starts.get(scope)
            if start is not None:
                child, scope = start, start.parent
            else:
                scope = parent_of(scope, child)
        return found

    node_scope = boundary.scope
    assert node_scope is not None
    chain = [node_scope, *ancestors(starts.get(node_scope, boundary))][::-1]
    used: Counter[int] = Counter()  # node steps each run took, at any depth (for max_steps)
    for entry in seen:
        if entry.kind == START:
            used.update(ancestors(entry))
    frames: list[Frame] = []
    position = 0
    while position < len(chain) - 1:
        scope = chain[position]
        start = starts[scope]
        flow_id = start.node_id or ""
        kind = graph[flow_id].kind
        fields: dict[str, Any] = {
            "flow": flow_id,
            "params": _copied(start.params or {}),
            "prep_res": _copied(preps.get(scope)),
            "scope": scope,
            "done": tuple(sorted(done.get(scope, ()))),
        }
        if kind in _BATCH_FLOWS | _PARALLEL_FLOWS and isinstance(preps.get(scope), Iterator):
            fields["prep_res"] = Repr(
                "<an iterator, which the run consumed: return a list from prep to resume "
                "inside this batch flow>"
            )
        if kind in _PARALLEL_FLOWS:
            frames.append(Frame(**fields, run_params=None, used=0, at=None))
            break
        run_scope = scope
        if kind in _BATCH_FLOWS:
            position += 1
            run_scope = chain[position]
            fields["item"] = len(fields["done"])
            fields["item_scope"] = run_scope
        child = starts.get(chain[position + 1], boundary)
        frames.append(
            Frame(
                **fields,
                run_params=_copied(latest.get(run_scope, child).params or {}),
                used=used[run_scope],
                at=child.node_id,
            )
        )
        position += 1
    if before:  # the node about to start gets the id it had
        return tuple(frames), node_scope
    ids = [entry.scope or 0 for entry in seen] + [entry.parent or 0 for entry in seen]
    return tuple(frames), max(ids, default=0) + 1


def _kind(graph: Graph, node_id: str | None) -> str | None:
    return graph[node_id].kind if node_id is not None and node_id in graph else None


def _is_flow(graph: Graph, node_id: str | None) -> bool:
    return _kind(graph, node_id) in FLOW_KINDS


# -- checks ------------------------------------------------------------------------------------


def graph_difference(expected: Graph, actual: Graph, most: int = 5) -> str:
    """What differs between two graphs (nodes by id, name and kind; edges), in words; ``""``
    when nothing does.
    """
    problems: list[str] = []
    theirs = {node.id: node for node in actual.nodes}
    for node in expected.nodes:
        other = theirs.get(node.id)
        if other is None:
            problems.append(f"it has no node {node.id!r} ({node.name!r})")
        elif (other.name, other.kind, other.parent) != (node.name, node.kind, node.parent):
            problems.append(
                f"its node {node.id!r} is {other.name!r} ({other.kind}, in {other.parent!r}), "
                f"not {node.name!r} ({node.kind}, in {node.parent!r})"
            )
    mine = {node.id for node in expected.nodes}
    problems += [
        f"it has a node {n.id!r} the checkpoint's graph lacks"
        for n in actual.nodes
        if n.id not in mine
    ]

    def edges(graph: Graph) -> set[tuple[str, str, str | None]]:
        return {(edge.source, edge.action, edge.target) for edge in graph.edges}

    for source, action, target in sorted(edges(expected) - edges(actual), key=str):
        problems.append(f"it has no edge {source} -{action!r}-> {target}")
    for source, action, target in sorted(edges(actual) - edges(expected), key=str):
        problems.append(f"it has an edge {source} -{action!r}-> {target} the checkpoint lacks")
    more = f" (and {len(problems) - most} more)" if len(problems) > most else ""
    return "; ".join(problems[:most]) + more


def _refuse_placeholders(value: Any, where: str) -> None:
    """Raise ``ValueError`` naming where ``value`` holds a placeholder (a value kept only as its
    repr, or an exception kept only as its type and message): resuming on it would be wrong.
    """
    found = _placeholder(value, where, set())
    if found is not None:
        raise ValueError(
            f"cannot resume: {found} was kept only as a placeholder (it could not be copied or "
            "stored); pass shared= with the real values, or fork the checkpoint with them"
        )


def _placeholder(value: Any, where: str, active: set[int]) -> str | None:
    if isinstance(value, (Repr, RecordedError)):
        return f"{where} ({value!s})" if isinstance(value, RecordedError) else f"{where} {value!r}"
    if isinstance(value, (list, tuple, dict)) and id(value) not in active:
        active.add(id(value))
        items: Iterable[tuple[Any, Any]] = (
            value.items() if isinstance(value, dict) else enumerate(value)
        )
        for key, item in items:
            if isinstance(key, (Repr, RecordedError)):
                return f"a key of {where}"
            found = _placeholder(item, f"{where}[{key!r}]", active)
            if found is not None:
                return found
    return None


_HEADER_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "format": (str,),
    "version": (int,),
    "root": (str,),
    "graph": (dict,),
    "node": (str,),
    "after": (bool,),
    "action": (object,),
    "step": (int,),
    "next_scope": (int,),
    "source": (object,),
    "frames": (int,),
}
_FRAME_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "flow": (str,),
    "params": (object,),
    "prep_res": (object,),
    "run_params": (object,),
    "used": (int,),
    "at": (str, type(None)),
    "done": (list,),
    "item": (int, type(None)),
    "scope": (int, type(None)),
    "item_scope": (int, type(None)),
}


def _fields_problem(data: Any, fields: Mapping[str, tuple[type, ...]]) -> str | None:
    if not isinstance(data, dict):
        return f"it is {describe(data)}, not an object"
    missing = sorted(set(fields) - set(data))
    if missing:
        return f"it has no {missing}"
    unknown = sorted(set(data) - set(fields))
    if unknown:
        return f"unknown fields {unknown}"
    for key, types in fields.items():
        if not isinstance(data[key], types) or (bool not in types and type(data[key]) is bool):
            return f"its {key!r} is {describe(data[key])}"
    return None


def _frame_problem(data: dict[str, Any], graph: Graph) -> str | None:
    for key in ("flow", "at"):
        if data[key] is not None and data[key] not in graph:
            return f"its {key} {data[key]!r} is not a node of the graph"
    if not all(type(item) is int and item >= 0 for item in data["done"]):
        return '"done" must be a list of item indexes'
    if data["used"] < 0:
        return '"used" must be >= 0'
    return None
