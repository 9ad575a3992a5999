"""Diffs of shared between two steps, and copies of shared to start over from."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from pocketflow.trace import Repr
from pocketflow_widgets.state import SharedWatch, copy_shared, diff_shared, short_repr


def test_diff_lists_added_changed_and_removed_keys() -> None:
    diff = diff_shared({"a": 1, "b": [1], "gone": "x"}, {"a": 1, "b": [1, 2], "new": 3})
    assert diff.added == {"new": 3}
    assert diff.changed == {"b": ([1], [1, 2])}
    assert diff.removed == {"gone": "x"}
    html = diff.to_html()
    assert html.count("<tr class='pf-") == 3
    assert "pf-added" in html and "pf-changed" in html and "pf-removed" in html


def test_no_change_says_so() -> None:
    diff = diff_shared({"a": 1}, {"a": 1})
    assert not diff
    assert "no change" in diff.to_html()


def test_values_are_escaped_and_shortened() -> None:
    diff = diff_shared({}, {"<k>": "<b>" + "x" * 500})
    html = diff.to_html()
    assert "&lt;k&gt;" in html and "&lt;b&gt;" in html and "<b>x" not in html
    assert "…" in html


def test_uncomparable_values_fall_back_to_their_repr() -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise TypeError("no comparing")

        def __repr__(self) -> str:
            return "Weird()"

    assert not diff_shared({"w": Weird()}, {"w": Weird()})


def test_short_repr_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("nope")

    text = short_repr(Broken())
    assert text.startswith("<unrepresentable ") and "Broken object>" in text


def test_copy_shared_copies_around_what_cannot_be_copied() -> None:
    lock = threading.Lock()
    notes = ["a"]
    shared = {"notes": notes, "guarded": {"lock": lock, "notes": notes, "rows": [1]}, "n": 1}
    copied, kept = copy_shared(shared)
    assert kept == ("shared['guarded']['lock']",)
    assert copied == {
        "notes": ["a"],
        "guarded": {"lock": lock, "notes": ["a"], "rows": [1]},
        "n": 1,
    }
    assert copied["guarded"]["lock"] is lock
    assert (
        copied["notes"] is not notes and copied["guarded"]["rows"] is not shared["guarded"]["rows"]
    )
    assert copied["guarded"]["notes"] is copied["notes"]  # one list in, one list out


def test_copy_shared_keeps_a_shared_that_cannot_be_copied_at_all() -> None:
    numbers = (n for n in range(3))
    copied, kept = copy_shared(numbers)
    assert copied is numbers and kept == ("shared",)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1, (2,), {3}]},
        (1,),
        ((), [], {}, set(), frozenset({1})),
        ["quotes ' and \"", b"bytes", 1.5, None],
    ],
)
def test_short_repr_writes_what_repr_writes(value: Any) -> None:
    assert short_repr(value) == repr(value)


def test_short_repr_writes_a_list_that_holds_itself_as_python_does() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert short_repr(loop) == repr(loop) == "[1, [...]]"


def test_short_repr_of_a_long_list_writes_only_its_start() -> None:
    written = 0

    class Item:
        def __repr__(self) -> str:
            nonlocal written
            written += 1
            return "item"

    text = short_repr([Item() for _ in range(10_000)], 60)
    assert len(text) == 60 and text.startswith("[item, item") and text.endswith("…")
    assert written < 20


def test_short_repr_cuts_a_long_string() -> None:
    text = short_repr("x" * 1_000_000, 20)
    assert text == "'" + "x" * 18 + "…"


# -- watching shared from step to step -----------------------------------------------------------


def test_a_watch_reports_added_changed_and_removed_keys_once() -> None:
    shared: dict[str, Any] = {"rows": [[1]], "gone": 1}
    watch = SharedWatch(shared)
    shared["rows"][0].append(2)
    shared["new"] = "n"
    del shared["gone"]
    diff = watch.diff()
    assert diff.changed == {"rows": ([[1]], [[1, 2]])}
    assert diff.added == {"new": "n"} and diff.removed == {"gone": 1}
    assert not watch.diff()  # nothing since


def test_a_value_that_cannot_be_copied_is_watched_by_its_repr() -> None:
    lock = threading.Lock()
    shared = {"lock": lock}
    watch = SharedWatch(shared)
    assert watch.snapshot["lock"] == Repr(repr(lock))
    assert not watch.diff()
    lock.acquire()
    try:
        diff = watch.diff()
    finally:
        lock.release()
    assert set(diff.changed) == {"lock"}
    assert "unlocked" in repr(diff.changed["lock"][0]) and "locked" in repr(diff.changed["lock"][1])


def test_a_value_that_cannot_be_copied_is_kept_as_its_repr_deep_in_plain_data() -> None:
    lock = threading.Lock()
    shared = {"guarded": {"lock": lock, "rows": [1]}}
    watch = SharedWatch(shared)
    shared["guarded"]["rows"].append(2)
    before, after = watch.diff().changed["guarded"]
    assert before == {"lock": Repr(repr(lock)), "rows": [1]}
    assert after["rows"] == [1, 2] and after["lock"] is not lock


def test_a_shared_object_is_watched_by_its_attributes() -> None:
    shared = SimpleNamespace(notes=["a"])
    watch = SharedWatch(shared)
    shared.notes.append("b")
    shared.done = True
    diff = watch.diff()
    assert diff.changed == {"notes": (["a"], ["a", "b"])} and diff.added == {"done": True}
