"""Timelines: a recorded run laid out in time, one lane per node run or batch item.

:func:`build_timeline` turns the steps of a :class:`~pocketflow.trace.Trace` (each carries its
time and the run it belongs to) into lanes and bars that a view draws as a Gantt chart: a bar
per node run, split into its ``prep``, ``exec`` and ``post`` phases; a lane per batch item
with a bar per try; nested flows' runs grouped under the flow that ran them. A parallel batch
with ``max_concurrency`` shows its queued items as *waiting* until a slot frees. A batch on an
executor shows each item *waiting* from its submission until a worker started it, then
running as long as the worker says it ran (:attr:`pocketflow.Event.ran`), its items at once
as they ran; while the run goes on, an item not back yet is drawn waiting (queued or running
there: no executor says which), never running. A batch with
many items keeps the first few lanes and folds the rest into one lane of density bars, so a
timeline of 10,000 items still draws a few hundred marks.

>>> from pocketflow import Flow, Node
>>> from pocketflow.trace import record
>>> first, second = Node(name="first"), Node(name="second")
>>> _ = first >> second
>>> timeline = build_timeline(record(Flow(start=first, name="main"), {}))
>>> [(lane.label, lane.depth) for lane in timeline.lanes]
[('main', 0), ('first', 1), ('second', 1)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .errors import safe_repr
from .events import ERROR, EXEC, FALLBACK, ITEM, POST, PREP, RETRY, START

if TYPE_CHECKING:
    from .graph import Graph
    from .trace import Trace, TraceStep

__all__ = ["Bar", "Lane", "Timeline", "build_timeline"]

#: Kinds of node whose items (or runs) go at once even in process (see ``pocketflow.graph``);
#: the others' go one after another, unless an executor runs them.
_PARALLEL_ITEMS: Final = frozenset({"parallel"})
_PARALLEL_RUNS: Final = frozenset({"parallel_flow"})


class Lane(NamedTuple):
    """One row of the chart."""

    row: int
    #: What the row is: a node's name, ``item 3``, or ``12 more items``.
    label: str
    #: How deep in nested flows and batches (0: the node that was run).
    depth: int
    #: The graph id of the node the row belongs to.
    node_id: str | None
    #: ``"run"`` (a node run), ``"item"`` (a batch item or a batch flow's run) or ``"items"``
    #: (many items folded into one row).
    kind: str


class Bar(NamedTuple):
    """One mark on a lane: a span of time, in nanoseconds since the run's first event."""

    lane: int
    #: ``"prep"``, ``"exec"``, ``"post"`` (a node run's phases), ``"try"`` (one try of a
    #: batch item's ``exec``), ``"wait"`` (an item waiting for a free slot) or ``"busy"`` (how
    #: many folded items ran during a slice of time: see :attr:`running`).
    kind: str
    start: int
    #: ``None`` while it is still going on.
    end: int | None
    #: ``"done"``, ``"failed"``, ``"running"`` or ``"waiting"``.
    state: str
    #: What a reader sees on hover or selection: the phase, the value, how long it took.
    detail: str
    node_id: str | None = None
    #: For ``"busy"`` bars: how many items were running.
    running: int = 0


@dataclass
class Timeline:
    """Lanes and bars, and the moment the chart ends (the last event's time)."""

    lanes: list[Lane] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    end: int = 0

    def bars_of(self, lane: int) -> list[Bar]:
        """The bars drawn on ``lane``."""
        return [bar for bar in self.bars if bar.lane == lane]

    def step_at(self, steps: Sequence[TraceStep], time: int) -> int:
        """The number of the last step at or before ``time``: where a replay should go."""
        chosen = steps[0].step if steps else 0
        for entry in steps:
            if entry.time is not None and entry.time <= time:
                chosen = entry.step
        return chosen


#: One event of a batch item: (kind, when, value, ``(start, end)`` when an executor ran it).
_Mark = tuple[str, int, Any, "tuple[int, int] | None"]


@dataclass
class _Run:
    """What the steps of one scope say: a node run, or a run of a batch flow's graph."""

    scope: int
    parent: int | None
    node_id: str | None = None
    name: str = ""
    item: int | None = None  # a batch flow's run: which param set
    start: int | None = None
    marks: dict[str, int] = field(default_factory=dict)  # phase kind -> when it ended
    end: int | None = None
    failed: bool = False
    value: Any = None
    prep: Any = None  # what prep returned: a batch's items
    #: Item index -> its marks: (kind, when, value, when a worker ran it or ``None``).
    items: dict[int, list[_Mark]] = field(default_factory=dict)
    children: list[_Run] = field(default_factory=list)


def build_timeline(
    trace: Trace | Iterable[TraceStep],
    graph: Graph | None = None,
    *,
    max_items: int = 20,
    bins: int = 60,
) -> Timeline:
    """The timeline of a recorded run (a :class:`~pocketflow.trace.Trace`, or its steps with
    the ``graph`` they refer to). A batch with more than ``max_items`` items shows that many
    lanes and folds the rest into one lane of at most ``bins`` density bars.
    """
    if graph is None:
        graph = trace.graph  # type: ignore[union-attr]
    steps = list(trace)
    runs = _runs_of(steps)
    roots = [run for run in runs.values() if run.parent not in runs]
    timeline = Timeline(end=max((s.time for s in steps if s.time is not None), default=0))
    for root in sorted(roots, key=_when):
        _lay_out(root, 0, timeline, graph, max_items, bins)
    return timeline


def _runs_of(steps: Sequence[TraceStep]) -> dict[int, _Run]:
    runs: dict[int, _Run] = {}
    for entry in steps:
        if entry.scope is None or entry.time is None:
            continue  # a trace recorded before times and scopes were kept
        run = runs.get(entry.scope)
        if run is None:
            run = runs[entry.scope] = _Run(entry.scope, entry.parent)
        when, kind = entry.time, entry.kind
        if kind == START:
            run.node_id, run.name, run.start = entry.node_id, entry.name, when
        elif kind == PREP:
            run.marks[PREP], run.prep = when, entry.value
        elif kind == EXEC:
            run.marks[EXEC] = when
        elif kind == POST:
            run.marks[POST], run.end, run.value = when, when, entry.value
        elif kind == ERROR:
            run.end, run.failed, run.value = when, True, entry.value
        elif kind in (RETRY, FALLBACK, ITEM) and entry.item is not None:
            if run.start is None and kind == ITEM:  # the end of a run of a batch flow's graph
                run.node_id, run.name, run.item = entry.node_id, entry.name, entry.item
                run.end = when
            else:
                run.items.setdefault(entry.item, []).append((kind, when, entry.value, entry.ran))
    for run in runs.values():
        parent = runs.get(run.parent) if run.parent is not None else None
        if parent is not None:
            parent.children.append(run)
    return runs


def _when(run: _Run) -> int:
    return run.start if run.start is not None else (run.end or 0)


def _lay_out(
    run: _Run, depth: int, timeline: Timeline, graph: Graph, max_items: int, bins: int
) -> None:
    kind = _kind(graph, run.node_id)
    lane = _add_lane(timeline, run.name, depth, run.node_id, "run")
    start = run.start if run.start is not None else 0
    state = "failed" if run.failed else "done" if run.end is not None else "running"
    previous = start
    for phase in (PREP, EXEC, POST):
        ended = run.marks.get(phase)
        if ended is None:
            if run.end is None or run.failed:  # the phase it is in, or failed in
                end = run.end
                timeline.bars.append(
                    Bar(lane, phase, previous, end, state, _detail(run.name, phase, previous, end),
                        run.node_id)
                )
            break
        timeline.bars.append(
            Bar(lane, phase, previous, ended, "done", _detail(run.name, phase, previous, ended),
                run.node_id)
        )
        previous = ended
    if run.items or _executor(graph, run.node_id) is not None:
        _lay_out_items(run, kind, depth + 1, timeline, graph, max_items, bins)
    sub_runs = sorted(run.children, key=lambda child: (child.item is None, _when(child)))
    batch_runs = [child for child in sub_runs if child.item is not None]
    if batch_runs:
        _lay_out_batch_runs(run, batch_runs, kind, depth + 1, timeline, graph, max_items, bins)
    for child in sub_runs:
        if child.item is None:
            _lay_out(child, depth + 1, timeline, graph, max_items, bins)


def _lay_out_items(
    run: _Run, kind: str, depth: int, timeline: Timeline, graph: Graph, max_items: int, bins: int
) -> None:
    """A lane per batch item of a node run, with a bar per try (and a wait, when queued)."""
    ready = run.marks.get(PREP, run.start or 0)
    executor = _executor(graph, run.node_id)
    ran = {index: marks[-1][3] for index, marks in run.items.items() if marks[-1][3] is not None}
    if ran and executor is None:
        executor = "the executor"  # a trace from before graphs named it
    ends = {index: marks[-1][1] for index, marks in run.items.items() if marks[-1][0] == ITEM}
    ends.update((index, span[1]) for index, span in ran.items())  # back here: a slot frees
    limit = _limit(graph, run.node_id)
    at_once = kind in _PARALLEL_ITEMS or executor is not None
    pending = _pending(run, executor, limit, len(ends))
    indexes = sorted(run.items.keys() | pending)
    starts = _item_starts(ready, ends, at_once, limit, len(indexes))
    shown = indexes[:max_items]
    for index in shown:
        lane = _add_lane(timeline, f"item {index}", depth, run.node_id, "item")
        queued = starts.get(index, ready)
        if index in pending:
            detail = (
                f"item {index}: in {executor}, not back yet (queued or running there: an "
                "executor does not say which)"
            )
            timeline.bars.append(Bar(lane, "wait", queued, None, "waiting", detail, run.node_id))
            continue
        begin = ran[index][0] if index in ran else queued
        if begin > ready and at_once:  # queued, not merely next in line
            detail = _wait_detail(index, ready, queued, begin, executor if index in ran else None)
            timeline.bars.append(Bar(lane, "wait", ready, begin, "waiting", detail, run.node_id))
        for attempt, (mark, when, value, span) in enumerate(run.items[index]):
            state = "done" if mark == ITEM else "failed"
            when = span[1] if span is not None else when
            what = f"item {index}, try {attempt + 1}" + (f" → {_short(value)}" if mark == ITEM else
                                                      f" failed: {_short(value)}")
            timeline.bars.append(
                Bar(lane, "try", begin, when, state, f"{what} ({_ms(when - begin)})", run.node_id)
            )
            begin = when
    rest = sorted(run.items.keys() - set(shown))  # items still out are not folded in
    if rest:
        spans = [ran.get(index) or (starts.get(index, ready), ends.get(index)) for index in rest]
        _fold(timeline, f"{len(rest)} more items", depth, run.node_id, spans, bins)


def _pending(run: _Run, executor: str | None, limit: int | None, back: int) -> set[int]:
    """The items of a batch run still going on that were handed to an executor and are not
    back yet: items go out in index order, at most ``limit`` not back at a time.
    """
    if executor is None or EXEC in run.marks or run.end is not None:
        return set()
    total = len(run.prep) if isinstance(run.prep, Sized) else 0
    out = total if limit is None else min(total, limit + back)
    return set(range(out)) - run.items.keys()


def _wait_detail(index: int, ready: int, queued: int, began: int, executor: str | None) -> str:
    """What a wait bar says: how long the item waited for a free slot, and in the executor."""
    if executor is None:
        return f"item {index} waits for a free slot: {_ms(began - ready)}"
    parts = [f"{_ms(began - queued)} in {executor}'s queue"]
    if queued > ready:
        parts.insert(0, f"{_ms(queued - ready)} for a free slot")
    return f"item {index} waited {_ms(began - ready)}: {', then '.join(parts)}"


def _lay_out_batch_runs(
    run: _Run,
    batch_runs: list[_Run],
    kind: str,
    depth: int,
    timeline: Timeline,
    graph: Graph,
    max_items: int,
    bins: int,
) -> None:
    """A lane per run of a batch flow's graph, its nodes' lanes under it."""
    ready = run.marks.get(PREP, run.start or 0)
    by_item = {child.item: child for child in batch_runs if child.item is not None}
    ends = {index: child.end for index, child in by_item.items() if child.end is not None}
    at_once = kind in _PARALLEL_RUNS
    starts = _item_starts(ready, ends, at_once, _limit(graph, run.node_id), len(by_item))
    for index in sorted(by_item)[:max_items]:
        child = by_item[index]
        begin = min((_when(c) for c in child.children), default=starts.get(index, ready))
        lane = _add_lane(timeline, f"item {index}", depth, run.node_id, "item")
        queued = starts.get(index, ready)
        if queued > ready and kind in _PARALLEL_RUNS:
            detail = f"item {index} waits for a free slot: {_ms(queued - ready)}"
            timeline.bars.append(Bar(lane, "wait", ready, queued, "waiting", detail, run.node_id))
        state = "done" if child.end is not None else "running"
        detail = f"{run.name}, item {index}" + (
            f" ({_ms(child.end - begin)})" if child.end is not None else ""
        )
        timeline.bars.append(Bar(lane, "try", begin, child.end, state, detail, run.node_id))
        for grandchild in sorted(child.children, key=_when):
            _lay_out(grandchild, depth + 1, timeline, graph, max_items, bins)
    rest = sorted(by_item)[max_items:]
    if rest:
        spans = [(starts.get(index, ready), by_item[index].end) for index in rest]
        _fold(timeline, f"{len(rest)} more items", depth, run.node_id, spans, bins)


def _item_starts(
    ready: int, ends: dict[int, int], at_once: bool, limit: int | None, count: int
) -> dict[int, int]:
    """When each item started (or, on an executor, was submitted), from when each ended and
    how the batch schedules them.

    Items go in index order: one after another (each starts when the one before ended), or at
    once, at most ``limit`` at a time (an item beyond the first ``limit`` starts when a running
    one ends and frees its slot). The run emits no event when an item starts here, so this is
    where that moment is worked out; a worker says when it started an item (``ran``).
    """
    if not at_once:
        starts, previous = {}, ready
        for index in range(count):
            starts[index] = previous
            previous = ends.get(index, previous)
        return starts
    if limit is None or limit >= count:
        return dict.fromkeys(range(count), ready)
    starts = dict.fromkeys(range(limit), ready)
    for offset, freed in enumerate(sorted(ends.values())):
        if limit + offset < count:
            starts[limit + offset] = freed
    return starts


def _fold(
    timeline: Timeline,
    label: str,
    depth: int,
    node_id: str | None,
    spans: list[tuple[int, int | None]],
    bins: int,
) -> None:
    """One lane of at most ``bins`` bars, each saying how many of ``spans`` were running."""
    lane = _add_lane(timeline, label, depth, node_id, "items")
    first = min(start for start, _ in spans)
    last = max((end if end is not None else timeline.end) for _, end in spans)
    width = max(1, -(-(last - first) // bins))
    running: defaultdict[int, int] = defaultdict(int)
    for start, end in spans:
        stop = end if end is not None else timeline.end
        for slot in range((start - first) // width, (max(stop - 1, start) - first) // width + 1):
            running[slot] += 1
    for slot in sorted(running):
        begin = first + slot * width
        count = running[slot]
        detail = f"{count} of {len(spans)} items running"
        bar = Bar(lane, "busy", begin, begin + width, "done", detail, node_id, count)
        timeline.bars.append(bar)


def _add_lane(timeline: Timeline, label: str, depth: int, node_id: str | None, kind: str) -> int:
    index = len(timeline.lanes)
    timeline.lanes.append(Lane(index, label, depth, node_id, kind))
    return index


def _kind(graph: Graph, node_id: str | None) -> str:
    return graph[node_id].kind if node_id is not None and node_id in graph else "node"


def _executor(graph: Graph, node_id: str | None) -> str | None:
    return graph[node_id].executor if node_id is not None and node_id in graph else None


def _limit(graph: Graph, node_id: str | None) -> int | None:
    if node_id is None or node_id not in graph:
        return None
    return graph[node_id].max_concurrency


def _detail(name: str, phase: str, start: int, end: int | None) -> str:
    took = "still running" if end is None else _ms(end - start)
    return f"{name}: {phase} ({took})"


def _ms(nanoseconds: int) -> str:
    return f"{nanoseconds / 1e6:.1f} ms"


def _short(value: Any, limit: int = 60) -> str:
    text = safe_repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
