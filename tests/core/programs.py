"""Random flow programs, described as data, built and run with either implementation.

A program is a tree of :class:`NodeSpec` and :class:`FlowSpec` values: what kind each node is,
how often its ``exec`` fails, which action its ``post`` returns on each visit, how a flow's
children are wired. :func:`programs` draws such trees with Hypothesis; :func:`run_program` builds
one with a given library module (this project's ``pocketflow`` or the reference release), runs it
and returns an :class:`Outcome`: the final ``shared``, the result or the escaping exception, the
log of every phase call and the warnings. Two outcomes of the same program must be equal.

Every node logs ``label:phase:...`` into a :class:`Recorder` kept outside ``shared``, keyed by
the params the node saw (some nodes add a key to the params dict their flow run shares). Loops
end because each node counts its visits in ``shared`` (per set of params) and, once its list of
actions is used up, returns :data:`HALT`, an action that is never wired. Within one set of params
a run is sequential, except for the items of a parallel batch node; so a program with parallel
parts is compared per set of params, with the items of one parallel batch compared as a multiset
(see :meth:`Outcome.canonical`).

The generator avoids the behaviours where this project deliberately differs from the reference
(``docs/divergences.md``): no successor wired to ``None``, no async node in a sync flow, no
exception escaping a parallel batch (the reference leaves the siblings running), no ``cur_retry``
read in async nodes (the reference never sets it there), no ``None`` from an async batch's prep,
no string from a batch prep, only dicts from a batch flow's prep, a start node for every flow and
``max_retries >= 0``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import itertools
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeAlias

import pytest
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

# -- the reference release --------------------------------------------------------------------


def load_reference_or_skip() -> ModuleType:
    """The reference module, loaded by ``bench/reference.py``.

    Skips the calling test when it cannot be downloaded, or fails it when ``CI`` is set.
    """
    try:
        loader = _import_file("pocketflow_bench_reference", ROOT / "bench" / "reference.py")
        return loader.load_reference()  # type: ignore[no-any-return]
    except Exception as exc:
        reason = f"the reference release pocketflow==0.0.3 could not be loaded: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)


def _import_file(name: str, path: Path) -> ModuleType:
    """Import the module at ``path`` as ``name`` (once), without touching ``sys.path``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# -- program descriptions ---------------------------------------------------------------------

Action: TypeAlias = str | int | None

#: Actions an edge can be wired with; ">>" stands for ``a >> b`` (the default action).
WIRED_ACTIONS = (">>", "default", "a", "b")
#: Actions a ``post`` may return: ``None``, ``""`` and ``0`` mean "default"; "c" and ``1`` are
#: never wired (the reference takes any value, so do we).
RETURNED_ACTIONS: tuple[Action, ...] = (None, "", "default", "a", "b", "c", 0, 1)
#: Returned once a node's actions are used up; never wired, so its flow ends there.
HALT = "halt"
#: In a flow's actions: return the action of the flow's last node (what ``Flow.post`` does).
LAST = "<last action>"

SYNC_NODES = ("Node", "BatchNode")
ASYNC_NODES = ("AsyncNode", "AsyncBatchNode")
PARALLEL_NODES = ("AsyncParallelBatchNode",)
SYNC_FLOWS = ("Flow", "BatchFlow")
ASYNC_FLOWS = ("AsyncFlow", "AsyncBatchFlow")
PARALLEL_FLOWS = ("AsyncParallelBatchFlow",)
BATCH_KINDS = frozenset({"BatchNode", "AsyncBatchNode", "AsyncParallelBatchNode"})
BATCH_FLOWS = frozenset({"BatchFlow", "AsyncBatchFlow", "AsyncParallelBatchFlow"})
ASYNC_KINDS = frozenset(ASYNC_NODES + PARALLEL_NODES + ASYNC_FLOWS + PARALLEL_FLOWS)

Container = Literal["list", "tuple", "iter", "none"]
Phase = Literal["prep", "post"]
Pairs: TypeAlias = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NodeSpec:
    """One node: its kind, its retries and failures, and the action it returns per visit."""

    label: str
    kind: str
    max_retries: int = 1
    #: Batch nodes: how many items ``prep`` returns, and in what (``"none"``: ``None``).
    items: int = 0
    container: Container = "list"
    #: ``(item, attempt)`` pairs on which ``exec`` raises (item 0 for a plain node).
    failures: frozenset[tuple[int, int]] = frozenset()
    #: What ``exec_fallback`` does: re-raise (the default), return a value, or raise anew.
    fallback: Literal["reraise", "value", "raise"] = "reraise"
    actions: tuple[Action, ...] = ()
    #: Raise in this phase on this visit (``None``: never).
    raise_in: Phase | None = None
    raise_on_visit: int = 0
    #: Async nodes: how many times ``exec_async`` yields to the event loop.
    sleeps: int = 0
    #: Params set on the node itself before the run (a flow replaces them).
    own_params: Pairs = ()
    #: Whether ``post`` adds a key to ``self.params`` (the dict a flow run shares among nodes).
    mutates_params: bool = False

    @property
    def inputs(self) -> int:
        """How many inputs ``exec`` gets per visit: the items of a batch, else one."""
        return self.items if self.kind in BATCH_KINDS else 1

    @property
    def gives_up(self) -> bool:
        """Whether some input fails on every one of its tries."""
        tries = range(self.max_retries)
        return self.max_retries > 0 and any(
            all((item, attempt) in self.failures for attempt in tries)
            for item in range(self.inputs)
        )


@dataclass(frozen=True)
class FlowSpec:
    """One flow: its kind, its children (the first is the start) and its wiring."""

    label: str
    kind: str
    children: tuple[NodeSpec | FlowSpec, ...]
    #: ``(source, action, target)`` by child index, wired in this order (repeats overwrite).
    edges: tuple[tuple[int, str, int], ...] = ()
    #: Batch flows: the param dicts ``prep`` returns, and in what (``"none"``: ``None``).
    param_sets: tuple[Pairs, ...] = ()
    container: Container = "list"
    actions: tuple[Action, ...] = (LAST,)
    raise_in: Phase | None = None
    raise_on_visit: int = 0
    #: Give the start node to the constructor rather than to ``flow.start``.
    start_in_constructor: bool = True


Spec: TypeAlias = NodeSpec | FlowSpec


@dataclass(frozen=True)
class Program:
    """A whole program: the outermost flow, its params, and how it is run."""

    top: FlowSpec
    params: Pairs = ()
    #: Wire a successor on the outermost flow, so that ``run`` warns it will not follow it.
    top_has_successor: bool = False

    @property
    def is_async(self) -> bool:
        """Whether the program runs with ``run_async``."""
        return self.top.kind in ASYNC_KINDS

    @property
    def is_parallel(self) -> bool:
        """Whether some part of the program runs concurrently."""
        return any(spec.kind in PARALLEL_NODES + PARALLEL_FLOWS for spec in walk(self.top))


def walk(spec: Spec) -> Iterable[Spec]:
    """``spec`` and everything nested in it."""
    yield spec
    if isinstance(spec, FlowSpec):
        for child in spec.children:
            yield from walk(child)


# -- drawing programs -------------------------------------------------------------------------


@dataclass
class _Drawing:
    """What is fixed while one program is drawn."""

    draw: Callable[[st.SearchStrategy[Any]], Any]
    parallel: bool
    max_depth: int
    labels: Iterator[int] = field(default_factory=itertools.count)

    def label(self, prefix: str) -> str:
        """A new unique label."""
        return f"{prefix}{next(self.labels)}"


@st.composite
def programs(
    draw: Callable[[st.SearchStrategy[Any]], Any],
    *,
    asynchronous: bool,
    parallel: bool = False,
    max_depth: int = 3,
) -> Program:
    """Draw a :class:`Program`: sync only, or async (with parallel parts if ``parallel``)."""
    drawing = _Drawing(draw, parallel and asynchronous, max_depth, itertools.count())
    if not asynchronous:
        kinds = SYNC_FLOWS
    elif drawing.parallel:
        kinds = ASYNC_FLOWS + PARALLEL_FLOWS
    else:
        kinds = ASYNC_FLOWS
    top = _flow(drawing, draw(st.sampled_from(kinds)), depth=1, in_parallel=False)
    params = draw(st.sampled_from([(), (("x", 0),), (("x", 1), ("y", 2))]))
    return Program(top, params, top_has_successor=draw(st.booleans()))


def _flow(drawing: _Drawing, kind: str, depth: int, in_parallel: bool) -> FlowSpec:
    draw = drawing.draw
    label = drawing.label("f")
    in_parallel = in_parallel or kind in PARALLEL_FLOWS
    size = draw(st.sampled_from([1, 2, 2, 3, 3, 4]))
    children = tuple(_child(drawing, kind in ASYNC_KINDS, depth, in_parallel) for _ in range(size))
    edges = _edges(drawing, size)
    param_sets: tuple[Pairs, ...] = ()
    container: Container = "list"
    if kind in BATCH_FLOWS:
        count = draw(st.sampled_from([1, 2, 2, 3, 3, 0]))
        # each run's own key, and maybe a key that overrides one of the outer params
        more = st.sampled_from([(), (("x", 5),), (("z", 6),)])
        extra = draw(st.lists(more, min_size=count, max_size=count))
        param_sets = tuple(((label, index), *more) for index, more in enumerate(extra))
        container = draw(st.sampled_from(["list", "list", "tuple", "tuple", "list", "none"]))
    returned = st.sampled_from((LAST, LAST, LAST, *RETURNED_ACTIONS))
    actions = tuple(draw(st.lists(returned, min_size=1, max_size=3)))
    raise_in, raise_on_visit = _raising(drawing, in_parallel)
    return FlowSpec(
        label,
        kind,
        children,
        tuple(edges),
        param_sets,
        container,
        actions,
        raise_in,
        raise_on_visit,
        start_in_constructor=draw(st.booleans()),
    )


def _edges(drawing: _Drawing, size: int) -> list[tuple[int, str, int]]:
    """Each child gets each of "default", "a" and "b" three times in four, then a few edges
    are wired a second time (which warns and replaces the first target).
    """
    draw = drawing.draw
    targets = st.integers(0, size - 1)
    edges = []
    for source in range(size):
        for action in (draw(st.sampled_from([">>", "default"])), "a", "b"):
            if draw(st.integers(0, 3)) != 0:
                edges.append((source, action, draw(targets)))
    if edges and draw(st.integers(0, 3)) == 0:
        source, action, _ = draw(st.sampled_from(edges))
        edges.append((source, action, draw(targets)))
    return edges


def _child(drawing: _Drawing, in_async_flow: bool, depth: int, in_parallel: bool) -> Spec:
    draw = drawing.draw
    node_kinds = SYNC_NODES
    flow_kinds = SYNC_FLOWS
    if in_async_flow:
        node_kinds += ASYNC_NODES + (PARALLEL_NODES if drawing.parallel else ())
        flow_kinds += ASYNC_FLOWS + (PARALLEL_FLOWS if drawing.parallel else ())
    if depth < drawing.max_depth and draw(st.integers(0, 3)) == 0:
        return _flow(drawing, draw(st.sampled_from(flow_kinds)), depth + 1, in_parallel)
    return _node(drawing, draw(st.sampled_from(node_kinds)), in_parallel)


def _node(drawing: _Drawing, kind: str, in_parallel: bool) -> NodeSpec:
    draw = drawing.draw
    in_parallel = in_parallel or kind in PARALLEL_NODES
    max_retries = draw(st.integers(0, 3))
    items, container = 0, "list"
    if kind in BATCH_KINDS:
        items = draw(st.integers(0, 3))
        containers = ["list", "tuple", "iter"] + (["none"] if kind == "BatchNode" else [])
        container = draw(st.sampled_from(containers))
    tries = [
        (item, attempt)
        for item in range(items if kind in BATCH_KINDS else 1)
        for attempt in range(max_retries)
    ]
    failures: frozenset[tuple[int, int]] = frozenset()
    if tries and draw(st.integers(0, 2)) == 0:
        failures = frozenset(draw(st.sets(st.sampled_from(tries), min_size=1, max_size=3)))
    raise_in, raise_on_visit = _raising(drawing, in_parallel)
    spec = NodeSpec(
        drawing.label("n"),
        kind,
        max_retries,
        items,
        container,
        failures,
        draw(st.sampled_from(["reraise", "value", "value", "raise"])),
        tuple(draw(st.lists(st.sampled_from(RETURNED_ACTIONS), max_size=4))),
        raise_in,
        raise_on_visit,
        sleeps=draw(st.integers(0, 2)) if kind in ASYNC_KINDS else 0,
        own_params=draw(st.sampled_from([(), (("own", 1),)])),
        mutates_params=draw(st.integers(0, 5)) == 0,
    )
    if in_parallel and spec.gives_up and spec.fallback != "value":
        # an exception escaping a parallel batch: a documented difference
        spec = dataclasses.replace(spec, fallback="value")
    return spec


def _raising(drawing: _Drawing, in_parallel: bool) -> tuple[Phase | None, int]:
    if in_parallel or drawing.draw(st.integers(0, 39)) != 7:
        return None, 0
    return drawing.draw(st.sampled_from(["prep", "post"])), drawing.draw(st.integers(0, 1))


# -- recording a run --------------------------------------------------------------------------


class Fault(Exception):
    """What the program's nodes raise on purpose."""


@dataclass
class Recorder:
    """The log of one run (outside ``shared``) and the count of ``exec`` tries per input."""

    #: ``(params key, entry, unordered)``; unordered entries come from parallel batch items.
    log: list[tuple[str, str, bool]] = field(default_factory=list)
    tries: Counter[tuple[str, str, int, int]] = field(default_factory=Counter)

    def note(self, key: str, entry: str, unordered: bool = False) -> None:
        self.log.append((key, entry, unordered))


def params_key(params: dict[str, Any]) -> str:
    """A node's params as a stable string: which run of a batch flow the node belongs to."""
    return ",".join(f"{name}={params[name]!r}" for name in sorted(params))


def _enter(node: Any, shared: dict[str, Any]) -> tuple[str, int]:
    """Count a visit of ``node`` (per params) and log its ``prep``; return (key, visit)."""
    spec: Spec = node.spec
    key = params_key(node.params)
    visits = shared.setdefault("visits", {})
    name = f"{spec.label}@{key}"
    visit = visits[name] = visits.get(name, -1) + 1
    node.recorder.note(key, f"{spec.label}:prep:{visit}")
    _maybe_raise(spec, "prep", visit, key)
    return key, visit


def _leave(node: Any, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> Any:
    """Log ``post``, write the visit's result to ``shared`` and return this visit's action."""
    spec: Spec = node.spec
    key = params_key(node.params)
    name = f"{spec.label}@{key}"
    visit = shared["visits"][name]
    node.recorder.note(key, f"{spec.label}:post:{visit}:{_show(prep_res)}:{exec_res!r}")
    shared[name] = (visit, exec_res)
    _maybe_raise(spec, "post", visit, key)
    if isinstance(spec, NodeSpec) and spec.mutates_params:
        node.params[f"by_{spec.label}"] = 1
    action = spec.actions[visit] if visit < len(spec.actions) else HALT
    return exec_res if action == LAST else action


def _show(value: Any) -> str:
    """``repr(value)``, except for iterators, whose repr holds an address."""
    if isinstance(value, Iterator):
        return f"<{type(value).__name__}>"
    return repr(value)


def _maybe_raise(spec: Spec, phase: Phase, visit: int, key: str) -> None:
    if spec.raise_in == phase and spec.raise_on_visit == visit:
        raise Fault(f"{spec.label} raised in {phase} on visit {visit} with params [{key}]")


def _items(node: Any, key: str, visit: int) -> Any:
    """What a node's ``prep`` returns: ``(key, visit, item)`` inputs for ``exec``."""
    spec: NodeSpec = node.spec
    if spec.kind not in BATCH_KINDS:
        return (key, visit, 0)
    inputs = [(key, visit, item) for item in range(spec.items)]
    return _contain(inputs, spec.container)


def _contain(values: list[Any], container: Container) -> Any:
    if container == "none":
        return None
    if container == "tuple":
        return tuple(values)
    if container == "iter":
        return iter(values)
    return values


def _try(node: Any, inputs: tuple[str, int, int], cur_retry: int | None) -> str:
    """One try of ``exec`` on ``inputs``: log it, then fail or return a result."""
    spec: NodeSpec = node.spec
    key, visit, item = inputs
    tries = node.recorder.tries
    attempt = tries[spec.label, key, visit, item]
    tries[spec.label, key, visit, item] += 1
    entry = f"{spec.label}:exec:{visit}:{item}:{attempt}"
    if cur_retry is not None:
        entry += f":cur_retry={cur_retry}"
    node.recorder.note(key, entry, unordered=spec.kind in PARALLEL_NODES)
    if (item, attempt) in spec.failures:
        raise Fault(f"{spec.label} failed item {item} on try {attempt} of visit {visit} [{key}]")
    return f"{spec.label}/{visit}/{item}/{attempt}"


def _fallback(
    node: Any, inputs: tuple[str, int, int], exc: Exception, cur_retry: int | None
) -> Any:
    """Log an ``exec_fallback`` call; return a value or raise, as the spec says."""
    spec: NodeSpec = node.spec
    key, visit, item = inputs
    entry = f"{spec.label}:fallback:{visit}:{item}:{exc}"
    if cur_retry is not None:
        entry += f":cur_retry={cur_retry}"
    node.recorder.note(key, entry, unordered=spec.kind in PARALLEL_NODES)
    if spec.fallback == "value":
        return f"{spec.label}/{visit}/{item}/fallback"
    if spec.fallback == "raise":
        raise Fault(f"{spec.label} gave up on item {item} of visit {visit} [{key}]") from exc
    raise exc


def _flow_prep(flow: Any, shared: dict[str, Any]) -> Any:
    """A flow's ``prep``: log it; a batch flow returns its param dicts."""
    spec: FlowSpec = flow.spec
    _key, visit = _enter(flow, shared)
    if spec.kind in BATCH_FLOWS:
        return _contain([dict(pairs) for pairs in spec.param_sets], spec.container)
    return f"{spec.label}/{visit}"


# -- one class per kind and library -----------------------------------------------------------


@cache
def classes(pf: ModuleType) -> dict[str, type]:
    """Subclasses of ``pf``'s node and flow classes whose phases behave as their ``spec`` says."""

    class ProbeNode(pf.Node):  # type: ignore[name-defined,misc]
        def prep(self, shared: Any) -> Any:
            return _items(self, *_enter(self, shared))

        def exec(self, inputs: Any) -> Any:
            return _try(self, inputs, self.cur_retry)

        def exec_fallback(self, inputs: Any, exc: Exception) -> Any:
            return _fallback(self, inputs, exc, self.cur_retry)

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            return _leave(self, shared, prep_res, exec_res)

    class ProbeBatchNode(ProbeNode, pf.BatchNode):  # type: ignore[name-defined,misc]
        pass

    class ProbeAsyncNode(pf.AsyncNode):  # type: ignore[name-defined,misc]
        def exec(self, inputs: Any) -> Any:
            raise AssertionError("a sync exec on an async node must be ignored")

        async def prep_async(self, shared: Any) -> Any:
            return _items(self, *_enter(self, shared))

        async def exec_async(self, inputs: Any) -> Any:
            for _ in range(self.spec.sleeps):
                await asyncio.sleep(0)
            return _try(self, inputs, None)

        async def exec_fallback_async(self, inputs: Any, exc: Exception) -> Any:
            return _fallback(self, inputs, exc, None)

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            return _leave(self, shared, prep_res, exec_res)

    class ProbeAsyncBatchNode(ProbeAsyncNode, pf.AsyncBatchNode):  # type: ignore[name-defined,misc]
        pass

    class ProbeAsyncParallelBatchNode(ProbeAsyncNode, pf.AsyncParallelBatchNode):  # type: ignore[name-defined,misc]
        pass

    class ProbeFlow(pf.Flow):  # type: ignore[name-defined,misc]
        def prep(self, shared: Any) -> Any:
            return _flow_prep(self, shared)

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            return _leave(self, shared, prep_res, exec_res)

    class ProbeBatchFlow(ProbeFlow, pf.BatchFlow):  # type: ignore[name-defined,misc]
        pass

    class ProbeAsyncFlow(pf.AsyncFlow):  # type: ignore[name-defined,misc]
        async def prep_async(self, shared: Any) -> Any:
            return _flow_prep(self, shared)

        async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            return _leave(self, shared, prep_res, exec_res)

    class ProbeAsyncBatchFlow(ProbeAsyncFlow, pf.AsyncBatchFlow):  # type: ignore[name-defined,misc]
        pass

    class ProbeAsyncParallelBatchFlow(ProbeAsyncFlow, pf.AsyncParallelBatchFlow):  # type: ignore[name-defined,misc]
        pass

    return {
        "Node": ProbeNode,
        "BatchNode": ProbeBatchNode,
        "AsyncNode": ProbeAsyncNode,
        "AsyncBatchNode": ProbeAsyncBatchNode,
        "AsyncParallelBatchNode": ProbeAsyncParallelBatchNode,
        "Flow": ProbeFlow,
        "BatchFlow": ProbeBatchFlow,
        "AsyncFlow": ProbeAsyncFlow,
        "AsyncBatchFlow": ProbeAsyncBatchFlow,
        "AsyncParallelBatchFlow": ProbeAsyncParallelBatchFlow,
    }


def build(pf: ModuleType, spec: Spec, recorder: Recorder) -> Any:
    """The node or flow ``spec`` describes, made of ``pf``'s classes, logging to ``recorder``."""
    cls = classes(pf)[spec.kind]
    if isinstance(spec, NodeSpec):
        node = cls(max_retries=spec.max_retries, wait=0)
        if spec.own_params:
            node.set_params(dict(spec.own_params))
    else:
        children = [build(pf, child, recorder) for child in spec.children]
        if spec.start_in_constructor:
            node = cls(children[0])
        else:
            node = cls()
            node.start(children[0])
        for source, action, target in spec.edges:
            if action == ">>":
                children[source] >> children[target]
            else:
                children[source] - action >> children[target]
    node.spec = spec
    node.recorder = recorder
    return node


# -- running ----------------------------------------------------------------------------------

Driver = Literal["run", "observe", "steps"]
"""How this project's library runs a program: ``run``/``run_async``, the same under
``pocketflow.observe``, or by pulling ``steps()`` / ``asteps()``."""


@dataclass
class Outcome:
    """Everything a run of a program shows."""

    shared: dict[str, Any]
    result: Any
    #: The escaping exception's type and message, or ``None``.
    error: tuple[type[BaseException], str] | None
    log: list[tuple[str, str, bool]]
    #: Warnings (category, text) while wiring, then while running.
    wiring_warnings: list[tuple[type[Warning], str]]
    warnings: list[tuple[type[Warning], str]]
    #: The events observed (drivers "observe" and "steps" only).
    events: list[Any] = field(default_factory=list)

    def canonical(self, parallel: bool) -> dict[str, Any]:
        """What must be equal between implementations; where order is not defined, none is.

        With parallel parts, the log is compared per params key (one sequential run each),
        with each stretch of parallel batch items sorted, and the warnings as a multiset.
        """
        view = {
            "shared": self.shared,
            "result": self.result,
            "error": self.error,
            "wiring_warnings": self.wiring_warnings,
        }
        if not parallel:
            view["log"] = [entry for _, entry, _ in self.log]
            view["warnings"] = self.warnings
            return view
        runs: dict[str, list[str]] = {}
        for key, entry, unordered in self.log:
            runs.setdefault(key, []).append(("1" if unordered else "0") + entry)
        view["log"] = {key: _sort_stretches(entries) for key, entries in sorted(runs.items())}
        view["warnings"] = sorted(self.warnings, key=lambda w: (w[0].__name__, w[1]))
        return view


def _sort_stretches(entries: list[str]) -> list[str]:
    """Sort each maximal stretch of unordered entries (marked "1") in place of the stretch."""
    out: list[str] = []
    for unordered, group in itertools.groupby(entries, key=lambda entry: entry[0] == "1"):
        texts = [entry[1:] for entry in group]
        out.extend(sorted(texts) if unordered else texts)
    return out


def run_program(pf: ModuleType, program: Program, driver: Driver = "run") -> Outcome:
    """Build ``program`` with ``pf`` and run it; the outcome, whether it raised or not."""
    recorder = Recorder()
    with warnings.catch_warnings(record=True) as wiring:
        warnings.simplefilter("always")
        top = build(pf, program.top, recorder)
        if program.top_has_successor:
            top >> classes(pf)["Node"]()
    top.set_params(dict(program.params))
    shared: dict[str, Any] = {}
    events: list[Any] = []
    result: Any = None
    error: tuple[type[BaseException], str] | None = None
    with warnings.catch_warnings(record=True) as running:
        warnings.simplefilter("always")
        try:
            result = _drive(pf, top, shared, program.is_async, driver, events)
        except Exception as exc:
            error = (type(exc), str(exc))
    return Outcome(
        shared,
        result,
        error,
        recorder.log,
        [(w.category, str(w.message)) for w in wiring],
        [(w.category, str(w.message)) for w in running],
        events,
    )


def _drive(
    pf: ModuleType,
    top: Any,
    shared: dict[str, Any],
    is_async: bool,
    driver: Driver,
    events: list[Any],
) -> Any:
    if driver == "steps":
        if is_async:
            return asyncio.run(_pull_async(top, shared, events))
        steps = top.steps(shared)
        while True:
            try:
                events.append(next(steps))
            except StopIteration as stop:
                return stop.value
    if driver == "observe":
        with pf.observe(events.append):
            return _drive(pf, top, shared, is_async, "run", events)
    if is_async:
        return asyncio.run(top.run_async(shared))
    return top.run(shared)


async def _pull_async(top: Any, shared: dict[str, Any], events: list[Any]) -> Any:
    async for event in top.asteps(shared):
        events.append(event)
    # asteps cannot return a value: the result is what the outermost post returned
    return events[-1].value
