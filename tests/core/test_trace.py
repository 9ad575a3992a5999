"""Traces: a recorded run agrees with what the flow did, survives JSON lines, and replays."""

from __future__ import annotations

import asyncio
import doctest
import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pocketflow.trace
from pocketflow import (
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BatchFlow,
    BatchNode,
    Event,
    Flow,
    Node,
    observe,
)
from pocketflow.dot import to_dot
from pocketflow.graph import Graph, Overlay, build_graph
from pocketflow.mermaid import to_mermaid
from pocketflow.text import to_text
from pocketflow.trace import (
    RecordedError,
    Recorder,
    Repr,
    Trace,
    TraceStep,
    arecord,
    from_json,
    record,
    snapshot,
    to_json,
)

# -- flows under test ----------------------------------------------------------------------------


class Decide(Node):
    """Searches until ``shared["found"]`` reaches ``shared["needed"]``, then answers."""

    def prep(self, shared: Any) -> tuple[int, int]:
        return shared["found"], shared["needed"]

    def exec(self, counts: tuple[int, int]) -> str:
        found, needed = counts
        return "search" if found < needed else "answer"

    def post(self, shared: Any, prep_res: Any, exec_res: str) -> str:
        shared["log"].append(f"decide:{exec_res}")
        return exec_res


class Search(Node):
    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
        shared["found"] += 1
        shared["log"].append("search")


class Answer(Node):
    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
        shared["answer"] = f"found {shared['found']}"
        shared["log"].append("answer")
        return "done"


def agent(max_steps: int | None = None) -> Flow:
    decide, search, answer = Decide(name="decide"), Search(name="search"), Answer(name="answer")
    decide - "search" >> search >> decide
    decide - "answer" >> answer
    answer - "done" >> None
    return Flow(start=decide, name="agent", max_steps=max_steps)


def agent_shared(needed: int) -> dict[str, Any]:
    return {"found": 0, "needed": needed, "log": []}


class Explode(Node):
    """Writes a key in ``post``, then fails."""

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
        shared["half_written"] = True
        raise ValueError("boom in post")


def failing_flow() -> Flow:
    first, explode, never = Search(name="first"), Explode(name="explode"), Answer(name="never")
    first >> explode >> never
    return Flow(start=first, name="failing")


def fields_of(events: list[Event], graph: Graph) -> list[tuple[Any, ...]]:
    """What a trace step should say about each event, with nodes as graph ids."""
    return [
        (
            event.step,
            event.kind,
            graph.id_of(event.node),
            event.node.name,
            event.path,
            event.item,
            event.total,
            event.attempt,
            None if event.target is None else graph.id_of(event.target),
        )
        for event in events
    ]


def step_fields(trace: Trace) -> list[tuple[Any, ...]]:
    return [
        (s.step, s.kind, s.node_id, s.name, s.path, s.item, s.total, s.attempt, s.target_id)
        for s in trace.steps
    ]


def observed(flow: Any, shared: Any, **options: Any) -> tuple[Trace, list[Event]]:
    """Run ``flow`` with a recorder and a plain observer side by side."""
    recorder = Recorder(shared=shared, **options)
    seen: list[Event] = []
    with observe(recorder, seen.append):
        if isinstance(flow, AsyncNode):
            asyncio.run(flow.run_async(shared))
        else:
            flow.run(shared)
    return recorder.trace, seen


# -- a run and its trace agree -------------------------------------------------------------------


def test_trace_follows_the_loop_with_counts() -> None:
    flow, shared = agent(), agent_shared(3)
    trace, seen = observed(flow, shared)

    assert step_fields(trace) == fields_of(seen, trace.graph)
    assert [s.value for s in trace.steps] == [event.value for event in seen]
    assert shared["log"] == ["decide:search", "search"] * 3 + ["decide:answer", "answer"]
    assert trace.visited == ["agent", "decide", "search", "answer"]
    assert trace.edge_counts == {
        ("decide", "search", "search"): 3,
        ("search", "default", "decide"): 3,
        ("decide", "answer", "answer"): 1,
        ("answer", "done", None): 1,
    }
    # the transitions, in order, are the decisions the nodes logged
    moves = [(s.node_id, s.value, s.target_id) for s in trace.steps if s.kind == "transition"]
    assert [f"{source}:{action}" for source, action, _ in moves if source == "decide"] == [
        entry for entry in shared["log"] if entry.startswith("decide")
    ]
    assert trace.overlay().visits == {"agent": 1, "decide": 4, "search": 3, "answer": 1}
    assert trace.failed is None and trace.error is None
    assert trace.result == "done"
    assert [s.step for s in trace.steps] == list(range(1, len(trace) + 1))


def test_record_returns_the_trace_of_a_sync_run() -> None:
    trace = record(agent(), agent_shared(1))
    assert trace.edge_counts[("decide", "search", "search")] == 1
    assert trace.root == "agent"
    assert trace.steps[0].kind == "start" and trace.steps[0].path == ()
    assert trace.steps[-1].kind == "post" and trace.steps[-1].node_id == "agent"


def test_a_single_node_records_too() -> None:
    trace = record(Decide(name="solo"), agent_shared(0))
    assert [s.kind for s in trace.steps] == ["start", "prep", "exec", "post"]
    assert trace.visited == ["solo"]
    assert trace.result == "answer"
    assert trace.edge_counts == {}


def test_nested_batch_flow_records_paths_items_and_inner_edges() -> None:
    class Double(BatchNode):
        def prep(self, shared: Any) -> list[int]:
            return [self.params["base"] + i for i in range(3)]

        def exec(self, item: int) -> int:
            return item * 2

        def post(self, shared: Any, prep_res: Any, exec_res: list[int]) -> str:
            shared.setdefault("doubled", []).append(exec_res)
            return "keep"

    class Keep(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared.setdefault("kept", 0)
            shared["kept"] += 1

    class PerBase(BatchFlow):
        def prep(self, shared: Any) -> list[dict[str, int]]:
            return [{"base": 0}, {"base": 10}]

    double, keep = Double(name="double"), Keep(name="keep")
    double - "keep" >> keep
    per_base = PerBase(start=double, name="per base")
    report = Node(name="report")
    per_base >> report
    outer = Flow(start=per_base, name="outer")

    shared: dict[str, Any] = {}
    trace, seen = observed(outer, shared)
    assert step_fields(trace) == fields_of(seen, trace.graph)
    assert shared == {"doubled": [[0, 2, 4], [20, 22, 24]], "kept": 2}
    assert trace.visited == ["outer", "per_base", "double", "keep", "report"]
    assert trace.edge_counts == {
        ("double", "keep", "keep"): 2,
        ("keep", "default", None): 2,
        ("per_base", "default", "report"): 1,
        ("report", "default", None): 1,
    }
    assert {s.path for s in trace.steps if s.node_id == "double"} == {("outer", "per base")}
    double_items = [
        (s.item, s.total, s.value)
        for s in trace.steps
        if s.kind == "item" and s.node_id == "double"
    ]
    assert double_items == [(0, 3, 0), (1, 3, 2), (2, 3, 4), (0, 3, 20), (1, 3, 22), (2, 3, 24)]
    flow_items = [s.params for s in trace.steps if s.kind == "item" and s.node_id == "per_base"]
    assert flow_items == [{"base": 0}, {"base": 10}]
    assert trace.overlay().items == {"double": (3, 3), "per_base": (2, 2)}


def test_retries_and_fallbacks_are_recorded() -> None:
    class Flaky(Node):
        def exec(self, prep_res: Any) -> str:
            raise ConnectionError(f"try {self.cur_retry}")

        def exec_fallback(self, prep_res: Any, exc: Exception) -> str:
            return "gave up"

    trace = record(Flow(start=Flaky(max_retries=3, name="flaky")), {})
    tries = [
        (s.kind, s.attempt, str(s.value)) for s in trace.steps if s.kind in ("retry", "fallback")
    ]
    assert tries == [("retry", 0, "try 0"), ("retry", 1, "try 1"), ("fallback", 2, "try 2")]
    loaded = Trace.from_jsonl(trace.to_jsonl())
    assert [s.value for s in loaded.steps if s.kind == "retry"] == [
        RecordedError("ConnectionError", "try 0"),
        RecordedError("ConnectionError", "try 1"),
    ]
    assert loaded == trace


# -- async and parallel ----------------------------------------------------------------------------


class Fetch(AsyncParallelBatchNode):
    """Fetches items concurrently; the items finish in reverse order."""

    async def prep_async(self, shared: Any) -> list[int]:
        return shared["ids"]

    async def exec_async(self, item: int) -> str:
        for _ in range(10 - item):  # later items yield less often, so finish first
            await asyncio.sleep(0)
        return f"doc{item}"

    async def post_async(self, shared: Any, prep_res: Any, exec_res: list[str]) -> str:
        shared["docs"] = exec_res
        return "summarize"


class Summarize(AsyncNode):
    async def prep_async(self, shared: Any) -> list[str]:
        return shared["docs"]

    async def exec_async(self, docs: list[str]) -> str:
        await asyncio.sleep(0)
        return "+".join(docs)

    async def post_async(self, shared: Any, prep_res: Any, exec_res: str) -> None:
        shared["summary"] = exec_res


def research_flow() -> AsyncFlow:
    fetch, summarize = Fetch(name="fetch"), Summarize(name="summarize")
    fetch - "summarize" >> summarize
    return AsyncFlow(start=fetch, name="research")


def test_async_parallel_node_records_every_item() -> None:
    flow = research_flow()
    shared: dict[str, Any] = {"ids": [1, 2, 3, 4]}
    trace, seen = observed(flow, shared)

    assert step_fields(trace) == fields_of(seen, trace.graph)
    assert shared["summary"] == "doc1+doc2+doc3+doc4"
    items = [s for s in trace.steps if s.kind == "item"]
    # concurrent items finish in no defined order: compare as a multiset
    assert Counter((s.item, s.value) for s in items) == Counter(
        {(0, "doc1"): 1, (1, "doc2"): 1, (2, "doc3"): 1, (3, "doc4"): 1}
    )
    assert [s.step for s in trace.steps] == list(range(1, len(trace) + 1))
    assert trace.visited == ["research", "fetch", "summarize"]
    assert trace.edge_counts == {
        ("fetch", "summarize", "summarize"): 1,
        ("summarize", "default", None): 1,
    }
    assert trace.overlay().items == {"fetch": (4, 4)}


def test_arecord_records_async_and_sync_flows() -> None:
    shared: dict[str, Any] = {"ids": [5, 6]}
    trace = asyncio.run(arecord(research_flow(), shared, snapshots=True))
    assert trace.shared_at(len(trace)) == {
        "ids": [5, 6],
        "docs": ["doc5", "doc6"],
        "summary": "doc5+doc6",
    }
    sync_trace = asyncio.run(arecord(agent(), agent_shared(2)))
    assert sync_trace.edge_counts[("decide", "search", "search")] == 2


def test_parallel_batch_flow_records_each_sub_run() -> None:
    class Tag(AsyncNode):
        async def prep_async(self, shared: Any) -> str:
            await asyncio.sleep(0)
            return str(self.params["key"])

        async def post_async(self, shared: Any, prep_res: str, exec_res: Any) -> str:
            shared.setdefault("tags", []).append(prep_res)
            return "store"

    class Store(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
            shared["stored"] = shared.get("stored", 0) + 1

    class EachKey(AsyncParallelBatchFlow):
        async def prep_async(self, shared: Any) -> list[dict[str, str]]:
            return [{"key": key} for key in "abc"]

    tag, store = Tag(name="tag"), Store(name="store")
    tag - "store" >> store
    flow = EachKey(start=tag, name="each key", max_concurrency=2)
    shared: dict[str, Any] = {}
    trace, seen = observed(flow, shared)

    assert step_fields(trace) == fields_of(seen, trace.graph)
    assert sorted(shared["tags"]) == ["a", "b", "c"] and shared["stored"] == 3
    # which sub-run's event comes first is not defined: compare the events as multisets
    assert Counter((s.kind, s.node_id) for s in trace.steps) == Counter(
        {
            ("start", "each_key"): 1,
            ("prep", "each_key"): 1,
            ("item", "each_key"): 3,
            ("exec", "each_key"): 1,
            ("post", "each_key"): 1,
            **{(kind, "tag"): 3 for kind in ("start", "prep", "exec", "post", "transition")},
            **{(kind, "store"): 3 for kind in ("start", "prep", "exec", "post", "transition")},
        }
    )
    assert Counter(
        s.params["key"] for s in trace.steps if s.kind == "prep" and s.node_id == "tag"
    ) == Counter("abc")
    assert trace.edge_counts == {("tag", "store", "store"): 3, ("store", "default", None): 3}
    assert Trace.from_jsonl(trace.to_jsonl()) == trace


# -- failures --------------------------------------------------------------------------------------


def test_a_failing_run_ends_with_the_error_and_the_snapshot_before_it() -> None:
    flow, shared = failing_flow(), {"found": 0, "log": []}
    with pytest.raises(ValueError, match="boom in post") as raised:
        record(flow, shared, snapshots=True)
    trace: Trace = raised.value.trace  # type: ignore[attr-defined]

    last = trace.steps[-1]
    assert (last.kind, last.node_id, last.value) == ("error", "explode", raised.value)
    assert trace.failed == "explode" and trace.error is raised.value
    assert "never" not in trace.visited
    # just before the error: what the run wrote until then, and nothing of the failing post
    before = trace.shared_at(last.step - 1)
    assert before == {"found": 1, "log": ["search"]}
    # at the error: the key the failing post wrote before it raised
    assert trace.shared_at(last.step) == {"found": 1, "log": ["search"], "half_written": True}
    assert trace.overlay().failed == "explode"

    loaded = Trace.from_jsonl(trace.to_jsonl())
    assert loaded == trace
    assert loaded.error == RecordedError("ValueError", "boom in post")
    assert str(loaded.error) == "ValueError: boom in post"
    assert loaded.failed == "explode"


def test_a_recorder_keeps_every_event_up_to_the_error() -> None:
    recorder = Recorder()
    seen: list[Event] = []
    with observe(recorder, seen.append), pytest.raises(ValueError):
        failing_flow().run({"found": 0, "log": []})
    assert seen[-1].kind == "error"
    assert step_fields(recorder.trace) == fields_of(seen, recorder.trace.graph)


def test_the_step_limit_error_is_recorded_on_the_flow() -> None:
    with pytest.raises(RuntimeError, match="max_steps=3") as raised:
        record(agent(max_steps=3), agent_shared(10))
    trace: Trace = raised.value.trace  # type: ignore[attr-defined]
    assert trace.steps[-1].kind == "error" and trace.failed == "agent"
    assert trace.overlay().visits == {"agent": 1, "decide": 2, "search": 1}


def test_an_async_parallel_failure_is_recorded() -> None:
    class Breaks(AsyncParallelBatchNode):
        async def prep_async(self, shared: Any) -> list[int]:
            return [0, 1, 2]

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0)
            if item == 1:
                raise KeyError("item 1")
            return item

    flow = AsyncFlow(start=Breaks(name="breaks"), name="fails")
    with pytest.raises(KeyError) as raised:
        asyncio.run(arecord(flow, {}))
    trace: Trace = raised.value.trace  # type: ignore[attr-defined]
    assert trace.failed == "breaks" and trace.error is raised.value
    assert [s.kind for s in trace.steps].count("error") == 1
    assert Trace.from_jsonl(trace.to_jsonl()).error == RecordedError("KeyError", "'item 1'")


# -- snapshots -------------------------------------------------------------------------------------


def test_snapshots_are_copies_taken_at_each_event() -> None:
    flow, shared = agent(), agent_shared(2)
    trace, _ = observed(flow, shared, snapshots=True)
    assert all(s.shared is not None for s in trace.steps)
    logs = [len(s.shared["log"]) for s in trace.steps if s.shared is not None]
    assert logs == sorted(logs) and logs[0] == 0 and logs[-1] == len(shared["log"])
    first_search_post = next(s for s in trace.steps if s.kind == "post" and s.node_id == "search")
    assert first_search_post.shared == {
        "found": 1,
        "needed": 2,
        "log": ["decide:search", "search"],
    }
    assert trace.shared_at(0) is None


def test_uncopyable_values_in_shared_are_kept_as_repr() -> None:
    def numbers() -> Iterator[int]:
        yield from range(3)

    lock = threading.Lock()
    stream = numbers()
    shared: dict[str, Any] = {
        "lock": lock,
        "stream": stream,
        "nested": {"lock": lock},
        "found": 0,
        "needed": 1,
        "log": [],
    }
    trace = record(agent(), shared, snapshots=True)  # recording does not break the run

    assert shared["answer"] == "found 1"
    final = trace.shared_at(len(trace))
    assert final is not None
    assert final["lock"] == Repr(repr(lock)) and "lock" in repr(final["lock"])
    assert final["stream"] == Repr(repr(stream))
    assert final["nested"] == Repr(repr({"lock": lock}))  # the whole key, the others copied
    assert final["log"] == shared["log"] and final["log"] is not shared["log"]
    assert next(stream) == 0  # snapshots did not consume the generator

    loaded = Trace.from_jsonl(trace.to_jsonl())
    assert loaded == trace
    loaded_final = loaded.shared_at(len(loaded))
    assert loaded_final is not None and isinstance(loaded_final["lock"], Repr)
    assert repr(loaded_final["lock"]) == repr(lock)


def test_snapshot_never_raises() -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        def __deepcopy__(self, memo: Any) -> Any:
            raise TypeError("no copy")

    class Namespace:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.n = 1

    assert snapshot({"bad": BadRepr()}) == {
        "bad": Repr(f"<unrepresentable {BadRepr.__qualname__} object>")
    }
    snap = snapshot(Namespace())
    assert snap["n"] == 1 and isinstance(snap["lock"], Repr)
    assert snapshot(None) == {"<shared>": None}


def test_snapshots_need_shared() -> None:
    with pytest.raises(ValueError, match="shared=shared"):
        Recorder(snapshots=True)


# -- JSON lines ------------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    flow, shared = agent(), agent_shared(2)
    trace = record(flow, shared, snapshots=True)
    path = tmp_path / "run.jsonl"
    trace.save(path)

    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "pocketflow-trace" and header["version"] == 1
    assert header["root"] == "agent" and header["steps"] == len(trace) == len(lines) - 1
    assert [(n["id"], n["name"]) for n in header["graph"]["nodes"]] == [
        ("agent", "agent"),
        ("decide", "decide"),
        ("search", "search"),
        ("answer", "answer"),
    ]
    # a snapshot is written only where shared changed; loading fills in the others
    written = sum("shared" in json.loads(line) for line in lines[1:])
    assert 1 < written < len(trace)

    loaded = Trace.load(path)
    assert loaded == trace
    assert loaded.steps == trace.steps
    assert loaded.visited == trace.visited
    assert loaded.edge_counts == trace.edge_counts
    for step in range(len(trace) + 1):
        assert loaded.shared_at(step) == trace.shared_at(step)
        assert loaded.overlay(upto=step) == trace.overlay(upto=step)
    loaded.save(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_text(encoding="utf-8") == path.read_text(
        encoding="utf-8"
    )


def test_a_loaded_trace_lays_over_the_flows_graph() -> None:
    flow = agent()
    trace = record(flow, agent_shared(2))
    loaded = Trace.from_jsonl(trace.to_jsonl())
    graph = build_graph(flow)
    loaded.check_graph(graph)
    for render in (to_dot, to_mermaid, to_text):
        expected = render(graph, trace.overlay())
        assert render(graph, loaded.overlay()) == expected
        assert render(loaded.graph, loaded.overlay()) == expected  # drawn without the flow

    other = Flow(start=Node(name="decide"), name="agent")
    with pytest.raises(ValueError, match="does not match"):
        loaded.check_graph(build_graph(other))


def test_values_that_json_cannot_hold() -> None:
    class Document:
        def __repr__(self) -> str:
            return "Document('bees.txt')"

    looped: list[Any] = [1]
    looped.append(looped)
    value = {
        "doc": Document(),
        "pair": (1, "two"),
        "by_number": {1: "one", (2, 3): "pair"},
        "marker_like": {"__repr__": "not a marker"},
        "floats": [0.5, float("inf"), float("nan")],
        "error": ValueError("bad"),
        "set": {3},
        "looped": looped,
        "nothing": None,
    }
    decoded = from_json(json.loads(json.dumps(to_json(value))))
    assert decoded == {
        "doc": Repr("Document('bees.txt')"),
        "pair": (1, "two"),
        "by_number": {1: "one", (2, 3): "pair"},
        "marker_like": {"__repr__": "not a marker"},
        "floats": [0.5, Repr("inf"), Repr("nan")],
        "error": RecordedError("ValueError", "bad"),
        "set": Repr("{3}"),
        "looped": [1, Repr("[...]")],
        "nothing": None,
    }
    assert to_json(decoded) == to_json(value)


def test_steps_compare_by_their_json_form() -> None:
    args: dict[str, Any] = {"step": 1, "kind": "exec", "node_id": "a", "name": "a", "path": ()}
    assert TraceStep(value=(1, 2), **args) == TraceStep(value=(1, 2), **args)
    assert TraceStep(value=(1, 2), **args) != TraceStep(value=[1, 2], **args)
    assert TraceStep(value=object(), **args) != TraceStep(value=object(), **args)  # reprs differ
    assert TraceStep(value=1, **args) != TraceStep(value=1, **{**args, "kind": "post"})


def test_loading_refuses_what_is_not_a_trace() -> None:
    good = record(agent(), agent_shared(1)).to_jsonl()
    header, *steps = good.splitlines()
    with pytest.raises(ValueError, match="empty"):
        Trace.from_jsonl("")
    with pytest.raises(ValueError, match="not a pocketflow trace"):
        Trace.from_jsonl('{"hello": 1}\n')
    with pytest.raises(ValueError, match="version 99"):
        Trace.from_jsonl(header.replace('"version":1', '"version":99') + "\n")
    with pytest.raises(ValueError, match="incomplete"):
        Trace.from_jsonl("\n".join([header, *steps[:-1]]))
    with pytest.raises(ValueError, match="line 3 of the trace is not JSON"):
        Trace.from_jsonl("\n".join([header, steps[0], "{oops", *steps[2:]]))


def test_an_empty_trace() -> None:
    trace = Recorder().trace
    assert len(trace) == 0 and trace.root is None and trace.visited == []
    assert Trace.from_jsonl(trace.to_jsonl()) == trace
    with pytest.raises(ValueError, match="empty trace has no graph"):
        _ = trace.graph


# -- replay ---------------------------------------------------------------------------------------


def test_the_overlay_at_each_step_matches_a_manual_count() -> None:
    flow, shared = agent(), agent_shared(2)
    trace, seen = observed(flow, shared)
    graph = trace.graph
    for upto in range(len(seen) + 1):
        so_far = seen[:upto]
        overlay = trace.overlay(upto=upto)
        starts = Counter(graph.id_of(e.node) for e in so_far if e.kind == "start")
        assert overlay.visits == dict(starts)
        moves = Counter(
            (
                graph.id_of(e.node),
                e.value or "default",
                None if e.target is None else graph.id_of(e.target),
            )
            for e in so_far
            if e.kind == "transition"
        )
        assert overlay.edges == dict(moves)
        last_start = next((e for e in reversed(so_far) if e.kind == "start"), None)
        ended = bool(so_far) and so_far[-1].kind == "post" and not so_far[-1].path
        expected = None if last_start is None or ended else graph.id_of(last_start.node)
        assert overlay.current == expected  # nothing is current once the run has ended
        assert overlay == Overlay.from_events(graph, so_far)
    # one concrete point: after the second time `search` started
    second_search = [s.step for s in trace.steps if s.kind == "start" and s.node_id == "search"][1]
    overlay = trace.overlay(upto=second_search)
    assert overlay.visits == {"agent": 1, "decide": 2, "search": 2}
    assert overlay.edges == {("decide", "search", "search"): 2, ("search", "default", "decide"): 1}
    assert overlay.current == "search"


def test_the_trace_follows_a_run_in_progress() -> None:
    recorder = Recorder()
    lengths: list[int] = []

    def watch(event: Event) -> None:
        if event.kind == "post":
            lengths.append(len(recorder.trace))

    with observe(recorder, watch):
        agent().run(agent_shared(1))
    assert lengths and lengths == sorted(set(lengths))
    assert len(recorder.trace) == lengths[-1]


# -- one run per recorder --------------------------------------------------------------------------


def test_runs_started_inside_a_node_and_after_the_run_are_left_out() -> None:
    class Delegate(Node):
        def exec(self, prep_res: Any) -> Any:
            return agent().run(agent_shared(3))  # its own run, with its own step numbers

    outer = Flow(start=Delegate(name="delegate"), name="outer")
    recorder = Recorder()
    seen: list[Event] = []
    with observe(recorder, seen.append):
        outer.run({})
        agent().run(agent_shared(5))  # a second run with the same recorder
    trace = recorder.trace
    assert trace.visited == ["outer", "delegate"]
    assert [s.step for s in trace.steps] == list(range(1, len(trace) + 1))
    assert trace.steps[-1].kind == "post" and trace.steps[-1].node_id == "outer"
    own = [e for e in seen if e.node is outer or e.node is outer.start_node]
    assert step_fields(trace) == fields_of(own, trace.graph)


def test_record_refuses_async_flows() -> None:
    with pytest.raises(RuntimeError, match="arecord"):
        record(research_flow(), {"ids": []})


def test_module_doctests() -> None:
    results = doctest.testmod(pocketflow.trace)
    assert results.attempted > 0 and results.failed == 0


def test_a_run_after_a_failed_run_is_left_out() -> None:
    flow = failing_flow()
    recorder = Recorder()
    with observe(recorder):
        for _ in range(2):
            with pytest.raises(ValueError):
                flow.run({"found": 0, "log": []})
    trace = recorder.trace
    assert trace.steps[-1].kind == "error"
    assert [s.kind for s in trace.steps].count("start") == 3  # failing, first, explode
    assert trace.overlay().visits == {"failing": 1, "first": 1, "explode": 1}
