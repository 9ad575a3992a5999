"""Diffs of shared between two steps."""

from __future__ import annotations

from pocketflow_widgets.state import diff_shared, short_repr


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
