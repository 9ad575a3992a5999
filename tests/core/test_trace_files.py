"""Trace files: saving never destroys data, and loading trusts nothing in the file.

A trace file may come from anyone. Saving writes beside the target and renames, so a failure
leaves the previous file intact; values JSON cannot hold become the same placeholders as other
non-JSON values. Loading checks the header and every step (known kinds, ids that exist in the
graph, value types, increasing step numbers) and raises ``ValueError`` naming the line.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from pocketflow import Flow, Node
from pocketflow.trace import Repr, Trace, record, to_json


class Keep(Node):
    """Writes what ``self.value`` holds into ``shared["value"]`` and returns it as exec's."""

    def __init__(self, value: Any) -> None:
        super().__init__(name="keep")
        self.value = value

    def exec(self, prep_res: Any) -> Any:
        return self.value

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
        shared["value"] = exec_res


def deeply_nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_VALUES = {
    "an int past Python's digit limit": 10**5000,
    "a string with a lone surrogate": "caf\udce9",
    "a dict key with a lone surrogate": {"k\ud800": 1},
    "nesting deeper than the encoder allows": deeply_nested(100_000),
}


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_saving_a_value_json_cannot_hold_stores_a_placeholder(tmp_path: Path, value: Any) -> None:
    trace = record(Flow(start=Keep(value), name="flow"), {}, snapshots=True)
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = Trace.load(path)
    assert len(loaded) == len(trace)
    stored = loaded.shared_at(len(loaded))
    assert stored is not None
    assert Repr in {type(v) for v in _walk(stored["value"])}


def _walk(value: Any, depth: int = 0) -> list[Any]:
    """``value`` and what it holds, to a depth that stays within the recursion limit."""
    found = [value]
    if depth < 300 and isinstance(value, (list, tuple)):
        for item in value:
            found.extend(_walk(item, depth + 1))
    elif depth < 300 and isinstance(value, dict):
        for key, item in value.items():
            found.extend([*_walk(key, depth + 1), *_walk(item, depth + 1)])
    return found


def test_a_failed_save_leaves_the_previous_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.jsonl"
    good = record(Flow(start=Keep(1), name="flow"), {})
    good.save(path)
    before = path.read_bytes()

    def broken_write(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_write)
    with pytest.raises(OSError, match="disk full"):
        record(Flow(start=Keep(2), name="flow"), {}).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]  # no temporary left


def test_saving_replaces_the_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text("old")
    path.chmod(0o640)
    trace = record(Flow(start=Keep(1), name="flow"), {})
    trace.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert Trace.load(path) == trace


def test_to_json_keeps_ordinary_values_as_they_are() -> None:
    assert to_json({"a": [1, "é", 2**60, None, True]}) == {"a": [1, "é", 2**60, None, True]}
    assert to_json({"ok": 1, 2: "two"}) == {"__dict__": [["ok", 1], [2, "two"]]}


# -- loading checks everything ----------------------------------------------------------------


def lines_of(trace: Trace) -> list[dict[str, Any]]:
    return [json.loads(line) for line in trace.to_jsonl().splitlines()]


def text_of(lines: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(line) for line in lines) + "\n"


@pytest.fixture
def good_lines() -> list[dict[str, Any]]:
    first, second = Node(name="first"), Node(name="second")
    first >> second
    return lines_of(record(Flow(start=first, name="flow"), {}))


def _set(line: int, key: str, value: Any) -> Any:
    def change(lines: list[dict[str, Any]]) -> None:
        lines[line][key] = value

    return change


def _set_node(index: int, key: str, value: Any) -> Any:
    def change(lines: list[dict[str, Any]]) -> None:
        lines[0]["graph"]["nodes"][index][key] = value

    return change


def _set_edge(index: int, key: str, value: Any) -> Any:
    def change(lines: list[dict[str, Any]]) -> None:
        lines[0]["graph"]["edges"][index][key] = value

    return change


CORRUPTIONS = {
    "unknown kind": (_set(2, "kind", "<img src=x onerror=alert(1)>"), "line 3: .*unknown kind"),
    "kind not a string": (_set(2, "kind", ["start"]), "line 3: .*'kind' is"),
    "node id not in the graph": (_set(2, "node", "</style><script>"), "line 3: .*not a node"),
    "target not in the graph": (_set(5, "target", "nowhere"), "line 6: .*target 'nowhere'"),
    "step not a number": (_set(3, "step", "2"), "line 4: .*'step' is"),
    "step as a boolean": (_set(2, "step", True), "line 3: .*true or false"),
    "steps out of order": (_set(3, "step", 1), "line 4: .*does not come after"),
    "path not names": (_set(2, "path", [1]), "line 3: .*path"),
    "name not a string": (_set(2, "name", {"x": 1}), "line 3: .*'name' is"),
    "item not a number": (_set(2, "item", "0"), "line 3: .*'item' is"),
    "unknown field": (_set(2, "onclick", "x"), "line 3: .*unknown fields"),
    "ran not a list": (_set(2, "ran", "0-5"), "line 3: .*'ran' is"),
    "ran not two numbers": (_set(2, "ran", [0, "5"]), 'line 3: .*"ran" must be a list of two'),
    "ran of three numbers": (_set(2, "ran", [0, 1, 2]), 'line 3: .*"ran" must be a list of two'),
    "ran of booleans": (_set(2, "ran", [True, 1]), 'line 3: .*"ran" must be a list of two'),
    "executor not a string": (_set_node(1, "executor", 3), "line 1: .*'executor' is"),
    "step not an object": (lambda lines: lines.__setitem__(2, [1, 2]), "line 3: .*not an object"),
    "node kind unknown": (_set_node(1, "kind", "script"), "line 1: .*unknown kind"),
    "node id twice": (_set_node(2, "id", "first"), "line 1: .*appears twice"),
    "node name not a string": (_set_node(1, "name", 5), "line 1: .*'name' is"),
    "parent not in the graph": (_set_node(1, "parent", "ghost"), "line 1: .*parent 'ghost'"),
    "edge source not in the graph": (_set_edge(0, "source", "ghost"), "line 1: .*source"),
    "edge action not a string": (_set_edge(0, "action", None), "line 1: .*'action' is"),
    "snapshots not a boolean": (_set(0, "snapshots", "yes"), "line 1: .*snapshots"),
}


@pytest.mark.parametrize(("corrupt", "message"), CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_loading_a_corrupt_trace_names_the_line(
    good_lines: list[dict[str, Any]], corrupt: Any, message: str
) -> None:
    Trace.from_jsonl(text_of(good_lines))  # the untouched file loads
    corrupt(good_lines)
    with pytest.raises(ValueError, match=message):
        Trace.from_jsonl(text_of(good_lines))


def test_steps_record_when_they_happened_relative_to_the_run() -> None:
    trace = record(Flow(start=Keep(1), name="flow"), {})
    times = [step.time for step in trace]
    assert times[0] == 0
    assert all(isinstance(t, int) for t in times) and times == sorted(times)  # type: ignore[type-var]
    assert [step.time for step in Trace.from_jsonl(trace.to_jsonl())] == times


def test_a_trace_file_without_times_still_loads(good_lines: list[dict[str, Any]]) -> None:
    for line in good_lines[1:]:
        del line["time"]
    loaded = Trace.from_jsonl(text_of(good_lines))
    assert len(loaded) == len(good_lines) - 1
    assert {step.time for step in loaded} == {None}


def test_steps_record_the_run_they_belong_to_and_round_trip() -> None:
    inner = Flow(start=Keep(1), name="inner")
    trace = record(Flow(start=inner, name="outer"), {})
    by_kind_and_name = {(step.kind, step.name): step for step in trace}
    outer, inner_start, keep = (
        by_kind_and_name[("start", "outer")],
        by_kind_and_name[("start", "inner")],
        by_kind_and_name[("start", "keep")],
    )
    assert outer.parent is None
    assert inner_start.parent == outer.scope and keep.parent == inner_start.scope
    assert len({outer.scope, inner_start.scope, keep.scope}) == 3
    loaded = Trace.from_jsonl(trace.to_jsonl())
    assert [(s.scope, s.parent) for s in loaded] == [(s.scope, s.parent) for s in trace]
