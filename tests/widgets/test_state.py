"""Diffs of shared between two steps, and copies of shared to start over from."""

from __future__ import annotations

import threading

from pocketflow_widgets.state import copy_shared, diff_shared, short_repr


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

    assert short_repr(Broken()).startswith("<unrepresentable Broken")


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
