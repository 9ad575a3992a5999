"""Traces: a run recorded event by event, saved as JSON lines, loaded back, laid over its graph.

A :class:`Recorder` is an observer (see :func:`pocketflow.observe`) that keeps every event of a
run; its :attr:`~Recorder.trace` is a :class:`Trace`: the events as :class:`TraceStep` records
that name nodes by their ids in the run's :class:`~pocketflow.graph.Graph`, which nodes were
visited, how often each edge was taken, and where the run failed. With ``snapshots=True`` each
step also holds a copy of ``shared`` as it was at that event.

>>> from pocketflow import Flow, Node
>>> class Count(Node):
...     def post(self, shared, prep_res, exec_res):
...         shared["n"] = shared.get("n", 0) + 1
...         return "again" if shared["n"] < 3 else "done"
>>> count = Count(name="count")
>>> count - "again" >> count
<Count 'count'>
>>> count - "done" >> None
>>> trace = record(Flow(start=count, name="loop"), {}, snapshots=True)
>>> trace.visited
['loop', 'count']
>>> trace.edge_counts
{('count', 'again', 'count'): 2, ('count', 'done', None): 1}
>>> trace.shared_at(len(trace))
{'n': 3}
>>> Trace.from_jsonl(trace.to_jsonl()) == trace
True

Values in a trace are the objects the run produced (a snapshot of ``shared`` is a copy, event
values are not). A trace compares, saves and reloads by its *JSON form*: JSON types stay as they
are, tuples, exceptions and dicts with keys that are not strings are marked, and anything else
is kept as its ``repr`` (a :class:`Repr`). Two traces are equal when their JSON forms are, so a
trace loaded back from its file equals the trace that was saved.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import dataclasses
import functools
import json
import math
import operator
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from .errors import describe, safe_repr
from .events import ERROR, KINDS, POST, START, Event, observe
from .graph import KIND_NAMES, EdgeKey, Graph, GraphEdge, GraphNode, Overlay, build_graph
from .nodes import AsyncNode, BaseNode

if TYPE_CHECKING:
    from .checkpoints import Checkpoint

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "RecordedError",
    "Recorder",
    "Repr",
    "Trace",
    "TraceStep",
    "arecord",
    "entries",
    "from_json",
    "record",
    "snapshot",
    "to_json",
]

#: The ``format`` field of a trace file's header line.
FORMAT: Final = "pocketflow-trace"
#: The version of the format this module writes (and the newest it reads).
FORMAT_VERSION: Final = 1

# -- values that are not JSON ----------------------------------------------------------------


class Repr:
    """A value kept as its ``repr``: it could not be copied, or JSON cannot hold it.

    Its own ``repr`` is that text, so it shows as the original value did.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repr) and other.text == self.text

    def __hash__(self) -> int:
        return hash((Repr, self.text))


@dataclasses.dataclass(frozen=True)
class RecordedError:
    """An exception as a loaded trace knows it: its type name and its message."""

    type: str
    message: str

    def __str__(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return safe_repr(exc)


def copy_or_repr(value: Any) -> Any:
    """A deep copy of ``value``, or its :class:`Repr` when it cannot be copied (a lock, a
    generator, a socket...). Never raises.
    """
    try:
        return copy.deepcopy(value)
    except Exception:
        return Repr(safe_repr(value))


def snapshot(shared: Any) -> dict[Any, Any]:
    """A copy of ``shared`` as it is now, top-level key by key (see :func:`copy_or_repr`).

    ``shared`` is normally a dict; for another object the snapshot holds its attributes, or,
    when it has none, the object itself under the key ``"<shared>"``. Never raises.

    >>> import threading
    >>> snap = snapshot({"notes": ["a"], "lock": threading.Lock()})
    >>> snap["notes"], type(snap["lock"]).__name__
    (['a'], 'Repr')
    """
    return {key: copy_or_repr(value) for key, value in entries(shared).items()}


def entries(shared: Any) -> Mapping[Any, Any]:
    """The top-level keys of ``shared`` and their live values: a dict as it is (not copied),
    another mapping's items, an object's attributes, or the object itself under ``"<shared>"``.
    Never raises. Snapshots and the views read ``shared`` through this one rule.
    """
    try:
        if isinstance(shared, dict):
            return shared
        if isinstance(shared, Mapping):
            return dict(shared.items())
        if hasattr(shared, "__dict__"):
            attributes: dict[Any, Any] = vars(shared)
            return attributes
    except Exception as exc:  # e.g. a mapping whose iteration fails
        return {"<shared>": Repr(f"<shared could not be read: {safe_repr(exc)}>")}
    return {"<shared>": shared}


# The keys that mark a JSON object as an encoded value rather than a plain dict.
_REPR: Final = "__repr__"
_ERROR: Final = "__error__"
_TUPLE: Final = "__tuple__"
_PAIRS: Final = "__dict__"
_MARKERS: Final = frozenset({_REPR, _ERROR, _TUPLE, _PAIRS})


def to_json(value: Any) -> Any:
    """``value`` in the JSON form a trace file stores.

    ``None``, booleans, ints, finite floats and strings stay as they are, lists (and list
    subclasses) become arrays and dicts with string keys objects. Marked objects hold the rest:
    ``{"__tuple__": [...]}``, ``{"__dict__": [[key, value], ...]}`` for other keys,
    ``{"__error__": {"type": ..., "message": ...}}`` for an exception and
    ``{"__repr__": "..."}`` for anything else.

    >>> to_json({"scores": (1, 2.5), "when": float("nan")})
    {'scores': {'__tuple__': [1, 2.5]}, 'when': {'__repr__': 'nan'}}
    """
    return _to_json(value, set())


#: How deep a value nests before the rest is stored as a placeholder (JSON parsers have limits).
_MAX_DEPTH: Final = 200
#: Ints longer than this many bits are stored as a placeholder: Python refuses to print an int
#: of more than 4,300 digits (about 14,000 bits) by default, so JSON could not hold it.
_MAX_INT_BITS: Final = 13_000


def _to_json(value: Any, active: set[int]) -> Any:
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind is str:
        return value if _encodable(value) else {_REPR: repr(value)}  # repr escapes surrogates
    if kind is int:
        if value.bit_length() <= _MAX_INT_BITS:
            return value
        return {_REPR: f"<int of {value.bit_length()} bits, too long to store>"}
    if kind is float:
        return value if math.isfinite(value) else {_REPR: repr(value)}
    if kind is Repr:
        return {_REPR: value.text}
    if kind is RecordedError:
        return {_ERROR: {"type": value.type, "message": value.message}}
    if isinstance(value, BaseException):
        return {_ERROR: {"type": type(value).__name__, "message": _safe_str(value)}}
    if not (isinstance(value, (list, dict)) or kind is tuple):
        return {_REPR: safe_repr(value)}
    if id(value) in active:  # a container that holds itself, as repr() shows it
        return {
            _REPR: "(...)" if kind is tuple else "[...]" if isinstance(value, list) else "{...}"
        }
    if len(active) >= _MAX_DEPTH:
        return {_REPR: f"<{kind.__name__} nested more than {_MAX_DEPTH} levels deep>"}
    active.add(id(value))
    try:
        if kind is tuple:
            return {_TUPLE: [_to_json(item, active) for item in value]}
        if isinstance(value, list):
            return [_to_json(item, active) for item in value]
        if all(type(key) is str and _encodable(key) for key in value) and not (
            len(value) == 1 and _MARKERS & value.keys()
        ):
            return {key: _to_json(item, active) for key, item in value.items()}
        return {_PAIRS: [[_to_json(k, active), _to_json(v, active)] for k, v in value.items()]}
    finally:
        active.discard(id(value))


def _encodable(text: str) -> bool:
    """Whether UTF-8 can hold ``text`` (a lone surrogate, from a bad decode, it cannot)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def from_json(data: Any) -> Any:
    """The value that :func:`to_json` wrote as ``data`` (a :class:`Repr` for what it kept as
    a repr, a :class:`RecordedError` for an exception).
    """
    if isinstance(data, list):
        return [from_json(item) for item in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((key, inner),) = data.items()
        if key == _REPR:
            return Repr(str(inner))
        if key == _ERROR:
            return RecordedError(str(inner["type"]), str(inner["message"]))
        if key == _TUPLE:
            return tuple(from_json(item) for item in inner)
        if key == _PAIRS:
            return {from_json(k): from_json(v) for k, v in inner}
    return {key: from_json(item) for key, item in data.items()}


# -- records ---------------------------------------------------------------------------------


class TraceStep(NamedTuple):
    """One event of a recorded run, naming nodes by their graph ids.

    ``node_id`` and ``target_id`` are ids in the trace's graph (``None`` for a node the graph
    does not hold, and for a ``target_id`` where the flow ends); ``name`` is the node's name.
    ``shared`` is the snapshot of ``shared`` at this event, or ``None`` without snapshots. The
    other fields are those of :class:`pocketflow.Event`.

    Steps compare by their JSON form (see :func:`to_json`), not field by field as tuples do,
    so a step loaded from a file equals the step that was saved.
    """

    step: int
    kind: str
    node_id: str | None
    name: str
    path: tuple[str, ...]
    value: Any = None
    params: Any = None
    item: int | None = None
    total: int | None = None
    attempt: int | None = None
    target_id: str | None = None
    shared: dict[Any, Any] | None = None
    #: When it happened, in nanoseconds since the run's first event (``None``: not recorded).
    time: int | None = None
    #: The id of the run it belongs to (its :class:`pocketflow.events.Scope`), unique in the
    #: trace; ``None`` when not recorded.
    scope: int | None = None
    #: The id of the run that ran that one (``None`` at the top, or when not recorded).
    parent: int | None = None
    #: For an ``item`` step of an item an executor ran (for one that failed, its last
    #: ``fallback`` step): when a worker ran it, ``(start, end)`` in nanoseconds since the
    #: run's first event (see :attr:`pocketflow.Event.ran`).
    ran: tuple[int, int] | None = None

    def to_json(self, *, shared: bool = True) -> dict[str, Any]:
        """This step as the JSON object of its line (with its snapshot unless ``shared`` is
        false); fields that are ``None`` and not always present are left out.
        """
        data: dict[str, Any] = {
            "step": self.step,
            "kind": self.kind,
            "node": self.node_id,
            "name": self.name,
            "path": list(self.path),
            "value": to_json(self.value),
            "params": to_json(self.params),
        }
        for key, field in _OPTIONAL_FIELDS:
            if getattr(self, field) is not None:
                data[key] = getattr(self, field)
        if self.ran is not None:
            data["ran"] = list(self.ran)
        if shared and self.shared is not None:
            data["shared"] = to_json(self.shared)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], shared: dict[Any, Any] | None = None) -> TraceStep:
        """The step a line's JSON object describes; ``shared`` is its snapshot if the line
        carries none.
        """
        if "shared" in data:
            shared = from_json(data["shared"])
        return cls(
            step=int(data["step"]),
            kind=str(data["kind"]),
            node_id=data["node"],
            name=str(data["name"]),
            path=tuple(data["path"]),
            value=from_json(data.get("value")),
            params=from_json(data.get("params")),
            shared=shared,
            ran=None if data.get("ran") is None else tuple(data["ran"]),
            **{field: data.get(key) for key, field in _OPTIONAL_FIELDS},
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceStep):
            return NotImplemented
        return self.to_json() == other.to_json()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __repr__(self) -> str:
        where = "/".join((*self.path, self.name))
        extra = "".join(
            f" {field}={getattr(self, field)!r}"
            for field in ("item", "total", "attempt", "target_id")
            if getattr(self, field) is not None
        )
        return f"<TraceStep #{self.step} {self.kind} {where} value={safe_repr(self.value)}{extra}>"


#: (JSON key, attribute) of the fields a step line carries only when they are set.
_OPTIONAL_FIELDS: Final = (
    ("item", "item"),
    ("total", "total"),
    ("attempt", "attempt"),
    ("target", "target_id"),
    ("time", "time"),
    ("scope", "scope"),
    ("parent", "parent"),
)


class Trace:
    """A recorded run: its steps in order, over the graph of the node that was run.

    Build one with a :class:`Recorder`, :func:`record` or :func:`arecord`, or load one with
    :meth:`load` / :meth:`from_jsonl`. A loaded trace needs no flow object: its graph is
    rebuilt from the file (with stand-in nodes that carry only names), enough to draw it; to
    draw it over the flow itself, :meth:`check_graph` that flow's graph first.
    """

    def __init__(self, steps: Iterable[TraceStep], graph: Graph | None) -> None:
        self._steps: list[TraceStep] | None = list(steps)
        self._graph = graph
        self._events: Sequence[Event] = ()
        self._snapshots: Sequence[dict[Any, Any]] | None = None
        self._numbers_cache: list[int] | None = None

    @classmethod
    def _of_events(
        cls, events: Sequence[Event], graph: Graph, snapshots: Sequence[dict[Any, Any]] | None
    ) -> Trace:
        """A trace of the events of one run (and, with snapshots, ``shared`` at each). Its
        :attr:`steps` are made from the events when they are first read.
        """
        trace = cls((), graph)
        trace._steps, trace._events, trace._snapshots = None, events, snapshots
        return trace

    @property
    def steps(self) -> list[TraceStep]:
        """The recorded events, in step order, as :class:`TraceStep` records."""
        if self._steps is None:
            self._steps = _steps_of(self._events, self.graph, self._snapshots)
            self._events = self._snapshots = ()
        return self._steps

    @property
    def _numbers(self) -> list[int]:
        if self._numbers_cache is None:
            self._numbers_cache = [entry.step for entry in self.steps]
        return self._numbers_cache

    @property
    def graph(self) -> Graph:
        """The graph of the node that was run (ids in :attr:`steps` refer to it)."""
        if self._graph is None:
            raise ValueError("an empty trace has no graph: nothing was recorded")
        return self._graph

    @property
    def root(self) -> str | None:
        """The name of the node that was run (``None`` for an empty trace)."""
        return None if self._graph is None else self._graph.root.name

    @property
    def has_snapshots(self) -> bool:
        """Whether the steps hold snapshots of ``shared``."""
        return any(entry.shared is not None for entry in self.steps)

    def __len__(self) -> int:
        return len(self._events) if self._steps is None else len(self._steps)

    def __iter__(self) -> Iterator[TraceStep]:
        return iter(self.steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return graph_to_json(self._graph) == graph_to_json(other._graph) and (
            self.steps == other.steps
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        failed = f", failed in {self.failed!r}" if self.failed is not None else ""
        return f"<Trace {self.root!r}: {len(self.steps)} steps{failed}>"

    # -- what happened -------------------------------------------------------------------------

    @property
    def visited(self) -> list[str]:
        """The ids of the nodes that ran, in the order they first started."""
        seen: dict[str, None] = {}
        for entry in self.steps:
            if entry.kind == START and entry.node_id is not None:
                seen.setdefault(entry.node_id, None)
        return list(seen)

    @property
    def edge_counts(self) -> dict[EdgeKey, int]:
        """(source id, action, target id or ``None`` for an end) -> how often it was taken."""
        return self.overlay().edges

    @property
    def _error_step(self) -> TraceStep | None:
        return next((entry for entry in self.steps if entry.kind == ERROR), None)

    @property
    def failed(self) -> str | None:
        """The id of the node where the run failed (the first ``error`` event), if it did."""
        error = self._error_step
        return None if error is None else error.node_id

    @property
    def error(self) -> BaseException | RecordedError | None:
        """The exception the run failed with: the object itself when recorded here, a
        :class:`RecordedError` (type name and message) once loaded.
        """
        error = self._error_step
        return None if error is None else error.value

    @property
    def result(self) -> Any:
        """What the run returned: the value of the top-level node's ``post`` event, if any."""
        return next((r.value for r in reversed(self.steps) if r.kind == POST and not r.path), None)

    def overlay(self, upto: int | None = None) -> Overlay:
        """The run laid over :attr:`graph` as it stood after step ``upto`` (default: the end).

        Counts only the steps numbered ``upto`` or less, so a replay can show any moment.
        """
        overlay = Overlay()
        end = len(self.steps) if upto is None else bisect.bisect_right(self._numbers, upto)
        for entry in self.steps[:end]:
            if entry.node_id is not None:
                overlay.record(
                    entry.kind,
                    entry.node_id,
                    value=entry.value,
                    target=entry.target_id,
                    total=entry.total,
                )
        return overlay

    def shared_at(self, step: int) -> dict[Any, Any] | None:
        """The latest snapshot of ``shared`` at or before ``step`` (``None``: there is none).

        The snapshot belongs to the trace: read it, do not change it.
        """
        index = bisect.bisect_right(self._numbers, step)
        for position in range(index - 1, -1, -1):
            shared = self.steps[position].shared
            if shared is not None:
                return shared
        return None

    def check_graph(self, graph: Graph) -> None:
        """Raise ``ValueError`` unless ``graph`` has every node of this trace, under the same id
        and name: the condition for drawing the trace over it.
        """
        mine = {node.id: node.name for node in self.graph.nodes} if self._graph else {}
        theirs = {node.id: node.name for node in graph.nodes}
        wrong = [f"{i!r} ({name!r})" for i, name in mine.items() if theirs.get(i) != name]
        if wrong:
            raise ValueError(
                f"the graph of {graph.root.name!r} does not match this trace of {self.root!r}: "
                f"it lacks {', '.join(wrong)}; was the trace recorded from another flow?"
            )

    # -- JSON lines ----------------------------------------------------------------------------

    def to_jsonl(self) -> str:
        """The trace as JSON lines: a header, then one line per step.

        The header holds the format and version, the root's name, whether there are snapshots,
        the number of steps and the graph (nodes with ids, names and kinds; edges). A step's
        snapshot is written only when it differs from the previous one; loading fills it in.
        """
        snapshots = self.has_snapshots
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "root": self.root,
            "snapshots": snapshots,
            "steps": len(self.steps),
            "graph": graph_to_json(self._graph),
        }
        lines = [dump_line(header)]
        last_shared: Any = None
        for entry in self.steps:
            data = entry.to_json(shared=False)
            if snapshots:
                shared = to_json(entry.shared)
                if shared != last_shared:
                    data["shared"] = last_shared = shared
            lines.append(dump_line(data))
        return "\n".join(lines) + "\n"

    @classmethod
    def from_jsonl(cls, text: str) -> Trace:
        """The trace that :meth:`to_jsonl` wrote as ``text``."""
        lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line]
        if not lines:
            raise ValueError("not a pocketflow trace: the text is empty (expected a header line)")
        header = parse_line(*lines[0])
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f'not a pocketflow trace: line 1 has no "format": "{FORMAT}" header')
        version = header.get("version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(
                f"unsupported trace format version {version!r} "
                f"(this library reads versions 1 to {FORMAT_VERSION})"
            )
        expected = header.get("steps")
        if expected is not None and expected != len(lines) - 1:
            raise ValueError(
                f"the trace is incomplete: its header announces {expected} steps, "
                f"but {len(lines) - 1} step lines follow"
            )
        graph = graph_from_json(header.get("graph"))
        if not isinstance(header.get("snapshots", False), bool):
            raise ValueError('line 1: the header\'s "snapshots" must be true or false')
        ids = frozenset() if graph is None else frozenset(node.id for node in graph.nodes)
        steps: list[TraceStep] = []
        shared: dict[Any, Any] | None = None
        for number, line in lines[1:]:
            data = parse_line(number, line)
            problem = _step_problem(data, ids, steps[-1].step if steps else 0)
            if problem is not None:
                raise ValueError(f"line {number}: not a trace step: {problem}")
            try:
                entry = TraceStep.from_json(data, shared)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"line {number}: not a trace step ({safe_repr(exc)})") from exc
            shared = entry.shared
            steps.append(entry)
        if steps and graph is None:
            raise ValueError("line 1: the header has no graph, but steps follow")
        return cls(steps, graph)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to ``path`` as JSON lines (UTF-8), atomically.

        The text is written to a temporary file beside ``path``, which then replaces it: a
        failure at any point leaves the previous file as it was.
        """
        write_atomically(path, self.to_jsonl().encode("utf-8"))  # encoded before any write

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace that :meth:`save` wrote."""
        with open(path, encoding="utf-8") as file:
            return cls.from_jsonl(file.read())

    def checkpoint(self, step: int | None = None) -> Checkpoint:
        """The checkpoint of the run at ``step``, a node's ``start`` or ``post`` (default: the
        last such step), to resume or fork it (see :mod:`pocketflow.checkpoints`). The trace
        must have snapshots of ``shared``.
        """
        from .checkpoints import checkpoint_at

        return checkpoint_at(self, step)


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, flushed to disk, that
    then replaces it: a failure at any point leaves the previous file as it was. The file keeps
    its permissions.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
    )
    try:
        os.chmod(temporary, _file_mode(target))
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _file_mode(path: str) -> int:
    """The permissions a written file gets: the replaced file's, else what ``open`` would give."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def dump_line(data: Any) -> str:
    """``data`` as one compact line of JSON (UTF-8 text kept as it is; no NaN)."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def parse_line(number: int, line: str) -> Any:
    """The JSON value of line ``number``; ``ValueError`` naming the line when it is not JSON."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number} of the trace is not JSON: {exc}") from exc


def graph_to_json(graph: Graph | None) -> dict[str, Any] | None:
    if graph is None:
        return None
    node_fields = [field.name for field in dataclasses.fields(GraphNode) if field.name != "obj"]
    edge_fields = [field.name for field in dataclasses.fields(GraphEdge)]
    return {
        "nodes": [{name: getattr(node, name) for name in node_fields} for node in graph.nodes],
        "edges": [{name: getattr(edge, name) for name in edge_fields} for edge in graph.edges],
    }


def graph_from_json(data: Any) -> Graph | None:
    """The graph a header describes, with a plain stand-in node (carrying the name) for each.

    A trace file is input from anyone: every field is checked for its type, every kind must
    be known and every id referred to must exist, before anything is built from it.
    """
    if data is None:
        return None
    problem = _graph_problem(data)
    if problem is not None:
        raise ValueError(f"line 1: the trace header's graph cannot be read: {problem}")
    try:
        nodes = [GraphNode(**node, obj=BaseNode(name=str(node["name"]))) for node in data["nodes"]]
        edges = [GraphEdge(**edge) for edge in data["edges"]]
        return Graph(nodes, edges)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"line 1: the trace header's graph cannot be read ({safe_repr(exc)})"
        ) from exc


_STR: Final = (str,)
_OPTIONAL_STR: Final = (str, type(None))
_NODE_FIELDS: Final = {
    "id": _STR,
    "name": _STR,
    "label": _STR,
    "kind": _STR,
    "parent": _OPTIONAL_STR,
    "is_start": (bool,),
    "ends_flow": (bool,),
    "start": _OPTIONAL_STR,
    "max_concurrency": (int, type(None)),
    "executor": _OPTIONAL_STR,
}
_EDGE_FIELDS: Final = {
    "source": _STR,
    "target": _OPTIONAL_STR,
    "action": _STR,
    "parent": _OPTIONAL_STR,
    "dom_id": _STR,
}


def _fields_problem(data: Any, fields: Mapping[str, tuple[type, ...]], what: str) -> str | None:
    if not isinstance(data, dict):
        return f"{what} is {describe(data)}, not an object"
    unknown = sorted(set(data) - set(fields))
    if unknown:
        return f"{what} has unknown fields {unknown}"
    for key, types in fields.items():
        if key in data and not isinstance(data[key], types):
            return f"{what}'s {key!r} is {describe(data[key])}"
    return None


def _graph_problem(data: Any) -> str | None:
    """What is wrong with a header's graph, or ``None``."""
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        return '"nodes" must be a list'
    if not isinstance(data.get("edges"), list):
        return '"edges" must be a list'
    ids: set[str] = set()
    for index, node in enumerate(data["nodes"]):
        problem = _fields_problem(node, _NODE_FIELDS, f"node {index}")
        if problem is not None:
            return problem
        if node.get("kind") not in KIND_NAMES:
            return f"node {index} has the unknown kind {describe(node.get('kind'))}"
        if node.get("id") in ids:
            return f"node id {node['id']!r} appears twice"
        ids.add(node.get("id"))
    for index, node in enumerate(data["nodes"]):
        for key in ("parent", "start"):
            if node.get(key) is not None and node[key] not in ids:
                return f"node {index}'s {key} {node[key]!r} is not a node of the graph"
    for index, edge in enumerate(data["edges"]):
        problem = _fields_problem(edge, _EDGE_FIELDS, f"edge {index}")
        if problem is not None:
            return problem
        for key in ("source", "target", "parent"):
            if edge.get(key) is not None and edge[key] not in ids:
                return f"edge {index}'s {key} {edge[key]!r} is not a node of the graph"
    return None


_KINDS: Final = frozenset(KINDS)
_STEP_FIELDS: Final = {
    "step": (int,),
    "kind": _STR,
    "node": _OPTIONAL_STR,
    "name": _STR,
    "path": (list,),
    "value": (object,),
    "params": (object,),
    "item": (int, type(None)),
    "total": (int, type(None)),
    "attempt": (int, type(None)),
    "target": _OPTIONAL_STR,
    "shared": (object,),
    "time": (int, type(None)),
    "scope": (int, type(None)),
    "parent": (int, type(None)),
    "ran": (list, type(None)),
}


def _step_problem(data: Any, ids: frozenset[str], previous: int) -> str | None:
    """What is wrong with a step line's object, or ``None``."""
    problem = _fields_problem(data, _STEP_FIELDS, "the step")
    if problem is not None:
        return problem
    for key in ("step", "kind", "node", "name", "path"):
        if key not in data:
            return f"it has no {key!r}"
    numbers = ("step", "item", "total", "attempt", "time", "scope", "parent")
    if any(type(data.get(key)) is bool for key in numbers):
        return "a number field holds true or false"
    ran = data.get("ran")
    if ran is not None and (len(ran) != 2 or not all(type(when) is int for when in ran)):
        return '"ran" must be a list of two numbers, the start and the end'
    if data["kind"] not in _KINDS:
        return f"unknown kind {describe(data['kind'])} (expected one of {list(KINDS)})"
    if data["step"] <= previous:
        return f"step {data['step']} does not come after step {previous}"
    for key in ("node", "target"):
        if data.get(key) is not None and data[key] not in ids:
            return f"its {key} {data[key]!r} is not a node of the trace's graph"
    if not all(isinstance(name, str) for name in data["path"]):
        return '"path" must be a list of names'
    return None


# -- recording -------------------------------------------------------------------------------


class Recorder:
    """An observer that records a run: ``with pocketflow.observe(recorder): flow.run(shared)``,
    then read :attr:`trace`.

    With ``snapshots=True`` each step also keeps a :func:`snapshot` of ``shared``, which must
    then be given (events do not carry it), and the params as they were at that step (a
    checkpoint needs both). A recorder records one run: the first that starts
    while it listens, up to its end. Runs started by a node inside that run (they have scopes of
    their own, see :class:`pocketflow.events.Scope`) and runs after it are left out: use a
    recorder per run.
    """

    def __init__(
        self, *, snapshots: bool = False, shared: Any = None, root: BaseNode | None = None
    ) -> None:
        if snapshots and shared is None:
            raise ValueError(
                "Recorder(snapshots=True) needs the shared store to copy: "
                "Recorder(snapshots=True, shared=shared), or record(flow, shared, snapshots=True)"
            )
        self.snapshots = snapshots
        self.shared = shared
        #: The flow whose graph the trace names nodes by (default: the first event's node; a
        #: run resumed from a checkpoint starts inside its flow, so give the flow).
        self.root = root
        self._events: list[Event] = []
        self._snapshots: list[dict[Any, Any]] = []
        self._trace: Trace | None = None
        self._traced = -1  # how many events the cached trace was made from

    def __call__(self, event: Event) -> None:
        """Keep ``event`` (and a snapshot of ``shared``, with snapshots)."""
        if self.snapshots:
            self._snapshots.append(snapshot(self.shared))
            if (
                event.params is not None
            ):  # the dict a flow run's nodes share, which a node may change later
                event = event._replace(params=dict(event.params))
        self._events.append(event)

    @property
    def trace(self) -> Trace:
        """The trace of the run so far: during a run, up to the last event; after a failure, up
        to and including the ``error`` event.
        """
        if self._trace is None or self._traced != len(self._events):
            self._traced = len(self._events)
            snapshots = self._snapshots if self.snapshots else None
            self._trace = _trace_of(list(self._events), snapshots and list(snapshots), self.root)
        return self._trace


def _trace_of(
    events: list[Event], snapshots: list[dict[Any, Any]] | None, root: BaseNode | None = None
) -> Trace:
    """The trace of the first run among ``events`` (the events of runs that its nodes started,
    and of later runs, are left out).
    """
    if not events:
        return Trace([], None)
    scopes = list(map(_SCOPE, events))
    run = _RUN(scopes[0]) if scopes[0] is not None else None
    runs = set(map(_RUN, filter(None, scopes)))
    if None in scopes:
        runs.add(None)
    if runs != {run}:  # a node of the recorded run started a run of its own: leave it out
        kept = [index for index, scope in enumerate(scopes) if _RUN(scope or (None,)) is run]
        events = [events[index] for index in kept]
        if snapshots is not None:
            snapshots = [snapshots[index] for index in kept]
    return Trace._of_events(events, build_graph(root or events[0].node), snapshots)


def _steps_of(
    events: Sequence[Event], graph: Graph, snapshots: Sequence[dict[Any, Any]] | None
) -> list[TraceStep]:
    """The events of one run as trace steps: node objects become ids in ``graph``, times
    become offsets from the first event, scopes their ids.

    One plain loop: measured, it beats building the steps column by column with ``zip`` and
    ``map`` (which allocates a column per field).
    """
    if not events:
        return []
    known = {id(node.obj): (node.id, node.name) for node in graph.nodes}
    ids = {key: node_id for key, (node_id, _) in known.items()}
    scope_ids: dict[Any, tuple[int | None, int | None]] = {None: (None, None)}
    shots: Iterable[Any] = repeat(None) if snapshots is None else snapshots
    start = events[0].time
    steps: list[TraceStep] = []
    append = steps.append
    for event, shared in zip(events, shots, strict=False):
        (step, kind, node, path, value, params, item, total, attempt, target, scope, when,
         ran) = event
        node_id, name = known.get(id(node)) or (None, node.name)  # a node wired after the run
        scoped = scope_ids.get(scope)
        if scoped is None:
            parent = scope.parent  # type: ignore[union-attr]
            scoped = scope_ids[scope] = (scope.id, None if parent is None else parent.id)  # type: ignore[union-attr]
        target_id = None if target is None else ids.get(id(target))
        if ran is not None:
            ran = (ran[0] - start, ran[1] - start)
        fields = (step, kind, node_id, name, path, value, params, item, total, attempt,
                  target_id, shared, when - start, *scoped, ran)
        append(_new_trace_step(fields))
    return steps


_SCOPE: Final = operator.itemgetter(10)  # Event.scope, read in C
_RUN: Final = operator.itemgetter(0)  # Scope.run, read in C


_new_trace_step = functools.partial(tuple.__new__, TraceStep)  # no keyword layer, in C


def record(flow: BaseNode, shared: Any, *, snapshots: bool = False) -> Trace:
    """Run ``flow`` (a sync node or flow) on ``shared`` and return the trace of the run.

    When the run fails, the exception propagates as usual, with the trace of the run up to the
    failure attached as its attribute ``trace``::

        try:
            trace = record(flow, shared)
        except Exception as exc:
            trace = exc.trace
    """
    if isinstance(flow, AsyncNode):
        raise RuntimeError(
            f"'{flow.name}' is async: record it with `trace = await arecord(flow, shared)`."
        )
    recorder = Recorder(snapshots=snapshots, shared=shared)
    try:
        with observe(recorder if snapshots else recorder._events.append):
            flow.run(shared)
    except BaseException as exc:
        exc.trace = recorder.trace  # type: ignore[attr-defined]
        raise
    return recorder.trace


async def arecord(flow: BaseNode, shared: Any, *, snapshots: bool = False) -> Trace:
    """``await`` a run of ``flow`` on ``shared`` (async or not) and return its trace.

    As :func:`record`, a failure propagates with the trace attached as ``exc.trace``.
    """
    recorder = Recorder(snapshots=snapshots, shared=shared)
    try:
        # Without snapshots the recorder's list is the observer itself: a C-level append per
        # event instead of a Python call.
        with observe(recorder if snapshots else recorder._events.append):
            if isinstance(flow, AsyncNode):
                await flow.run_async(shared)
            else:
                flow.run(shared)
    except BaseException as exc:
        exc.trace = recorder.trace  # type: ignore[attr-defined]
        raise
    return recorder.trace
