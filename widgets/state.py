"""What changed in ``shared``: each step compared with the last, shown as a small HTML table;
copies of ``shared`` to start a run over from; and the one short ``repr`` the views show.

A step costs what it changed, plus a fast look at the rest. :class:`SharedWatch` keeps a copy of
each top-level key and compares it with the live value using ``==``, which passes over objects
that are still the very same at C speed: a list of a million numbers that did not change is
checked in about a millisecond. Only the keys that differ are copied again, and a list that only
grew is copied from where it grew. An in-place change at any depth (``shared["docs"][0]["summary"]
= ...``) still differs from the copy, so it shows.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import html
from dataclasses import dataclass, field
from typing import Any, Final

from pocketflow.errors import safe_repr
from pocketflow.trace import Repr
from pocketflow.trace import entries as entries_of

__all__ = ["SharedDiff", "SharedWatch", "copy_shared", "diff_shared", "short_repr"]


# -- the one short repr ---------------------------------------------------------------------


def short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters; never raises (the core's
    :func:`pocketflow.errors.safe_repr`, with the views' default length).

    >>> short_repr(list(range(1_000_000)), 20)
    '[0, 1, 2, 3, 4, 5, …'
    """
    return safe_repr(value, limit)


# -- what changed between two steps ---------------------------------------------------------


@dataclass(frozen=True)
class SharedDiff:
    """The top-level keys of ``shared`` that were added, changed or removed between two steps."""

    added: dict[Any, Any] = field(default_factory=dict)
    changed: dict[Any, tuple[Any, Any]] = field(default_factory=dict)
    removed: dict[Any, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def to_html(self) -> str:
        """A table with one row per changed key, or a line saying nothing changed."""
        if not self:
            return "<div class='pf-diff pf-empty'>shared: no change</div>"
        rows = [
            *(("+", key, "", new) for key, new in self.added.items()),
            *(("~", key, old, new) for key, (old, new) in self.changed.items()),
            *(("-", key, old, "") for key, old in self.removed.items()),
        ]
        css = {"+": "added", "~": "changed", "-": "removed"}
        cells = "".join(
            f"<tr class='pf-{css[mark]}'>"
            f"<td>{mark}</td><td><code>{html.escape(str(key))}</code></td>"
            f"<td><code>{html.escape(short_repr(old)) if mark != '+' else ''}</code></td>"
            f"<td><code>{html.escape(short_repr(new)) if mark != '-' else ''}</code></td></tr>"
            for mark, key, old, new in rows
        )
        return (
            "<table class='pf-diff'><thead><tr><th></th><th>key</th><th>before</th>"
            f"<th>after</th></tr></thead><tbody>{cells}</tbody></table>"
        )


def diff_shared(before: dict[Any, Any], after: dict[Any, Any]) -> SharedDiff:
    """Compare two snapshots of ``shared`` (dicts of top-level keys)."""
    added = {key: after[key] for key in after if key not in before}
    removed = {key: before[key] for key in before if key not in after}
    changed = {}
    for key in after:
        if key in before and not _same(before[key], after[key]):
            changed[key] = (before[key], after[key])
    return SharedDiff(added, changed, removed)


class SharedWatch:
    """``shared`` watched from step to step: :meth:`diff` says what changed since it last looked.

    :attr:`snapshot` holds a copy of each top-level key: plain data (lists, tuples, dicts, sets
    of numbers, strings and the like) copied fast, other objects deep-copied, and values that
    cannot be copied (a lock, a connection) as a :class:`~pocketflow.trace.Repr` of them, which
    compares equal to the live value as long as its ``repr`` stays the same. Objects whose class
    compares by identity are compared by their attributes.

    >>> shared = {"docs": [{"summary": ""}], "n": 1}
    >>> watch = SharedWatch(shared)
    >>> shared["docs"][0]["summary"] = "short"
    >>> watch.diff().changed
    {'docs': ([{'summary': ''}], [{'summary': 'short'}])}
    """

    def __init__(self, shared: Any) -> None:
        self.shared = shared
        #: The copy of ``shared`` as of the last look, key by key: read it, do not change it.
        self.snapshot: dict[Any, Any] = {
            key: _copy_value(value) for key, value in entries_of(shared).items()
        }

    def diff(self) -> SharedDiff:
        """What changed in ``shared`` since the last call (or since made); moves on to now."""
        entries = entries_of(self.shared)
        before = self.snapshot
        try:
            if before == entries:  # in C, over the identical objects: the step wrote nothing
                return SharedDiff()
        except Exception:  # a value whose == raises: look key by key
            pass
        after = dict(before)
        added: dict[Any, Any] = {}
        changed: dict[Any, tuple[Any, Any]] = {}
        for key, value in entries.items():
            old = before.get(key, _ABSENT)
            if old is _ABSENT:
                added[key] = after[key] = _copy_value(value)
            elif old is not value and not _same(old, value):
                new = after[key] = _copy_value(value, old)
                changed[key] = (old, new)
        removed = {key: old for key, old in before.items() if key not in entries}
        for key in removed:
            del after[key]
        self.snapshot = after
        return SharedDiff(added, changed, removed)


_ABSENT: Final = object()
#: ``__eq__`` of a class that compares by identity.
_IDENTITY_EQ: Final[Any] = object.__eq__

#: Types whose values never change and hold nothing that does: a copy may be the value itself.
_ATOMS: Final = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        range,
        type(...),
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        decimal.Decimal,
    }
)


class _Uncopied(Repr):
    """A value that could not be copied, in a snapshot: its ``repr`` as it was. It equals a
    live value whose ``repr`` is still the same, so that comparing a snapshot with ``shared``
    tells whether it changed.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Repr):
            return self.text == other.text
        return self.text == safe_repr(other)

    __hash__ = Repr.__hash__


def _copy_value(value: Any, previous: Any = _ABSENT) -> Any:
    """A copy of ``value`` to compare with later; ``previous`` is the copy of the value it had
    (a list that only grew keeps the copy of what it had and copies the rest).
    """
    if type(value) is list and type(previous) is list and 0 < len(previous) <= len(value):
        try:
            grew = bool(previous == value[: len(previous)])
        except Exception:
            grew = False
        if grew:
            tail: list[Any] = _copy(value[len(previous) :], {})
            return previous + tail
    return _copy(value, {})


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    """A copy of ``value`` in which only what can change is copied: plain containers item by
    item (in C when they hold only :data:`_ATOMS`), other objects with ``copy.deepcopy``, and
    what cannot be copied as an :class:`_Uncopied` placeholder.
    """
    kind = type(value)
    if kind in _ATOMS:
        return value
    if id(value) in memo:
        return memo[id(value)]
    copied: Any
    if kind is list:
        if _ATOMS.issuperset(map(type, value)):
            copied = memo[id(value)] = value[:]
        else:
            copied = memo[id(value)] = []
            copied.extend([_copy(item, memo) for item in value])
    elif kind is dict:
        copied = memo[id(value)] = {}
        if _ATOMS.issuperset(map(type, value.values())):
            copied.update(value)
        else:
            for key, item in value.items():
                copied[key] = _copy(item, memo)
    elif kind is tuple:
        if _ATOMS.issuperset(map(type, value)):
            return value
        copied = memo[id(value)] = tuple([_copy(item, memo) for item in value])
    elif kind is set:
        copied = memo[id(value)] = set(value)  # items of a set are hashable: taken as they are
    elif kind is frozenset:
        return value
    else:
        mark = len(memo)
        try:
            return copy.deepcopy(value, memo)
        except Exception:
            for key in list(memo)[mark:]:  # forget the half-made copies of the failed attempt
                del memo[key]
            copied = memo[id(value)] = _Uncopied(safe_repr(value))
    return copied


def _same(old: Any, new: Any) -> bool:
    """Whether ``new`` still equals ``old``, its copy (or an earlier snapshot's value)."""
    try:
        if old == new:
            return True
        # A class that compares by identity: its copy never equals it; its attributes can.
        kind = type(new)
        return (
            type(old) is kind
            and kind.__eq__ is _IDENTITY_EQ
            and hasattr(new, "__dict__")
            and bool(vars(old) == vars(new))
        )
    except Exception:  # e.g. numpy arrays: fall back on what the user would see
        return short_repr(old, 10_000) == short_repr(new, 10_000)


# -- copies to start over from ---------------------------------------------------------------


def copy_shared(shared: Any) -> tuple[Any, tuple[str, ...]]:
    """A deep copy of ``shared`` to start over from, and the values it had to keep as they are.

    A value that cannot be copied (a lock, a database connection, an open file, a generator...)
    is kept by reference: the copy holds the very same object, wherever it appears, and its path
    is returned (``"shared['db']"``). The dicts, lists and tuples around such a value are copied
    one by one, so that everything else in them is still a fresh copy, and values that appear in
    several places stay one object in the copy.

    >>> import threading
    >>> lock = threading.Lock()
    >>> copied, kept = copy_shared({"notes": ["a"], "guard": {"lock": lock}})
    >>> copied["guard"]["lock"] is lock, kept
    (True, ("shared['guard']['lock']",))
    """
    kept: list[str] = []
    return _copy_or_keep(shared, "shared", {}, kept), tuple(kept)


def _copy_or_keep(value: Any, path: str, memo: dict[int, Any], kept: list[str]) -> Any:
    mark = len(memo)
    try:
        return copy.deepcopy(value, memo)
    except Exception:
        for key in list(memo)[mark:]:  # forget the half-made copies of the failed attempt
            del memo[key]
    if type(value) is dict:
        copied: dict[Any, Any] = {}
        memo[id(value)] = copied
        for key, item in value.items():
            copied[key] = _copy_or_keep(item, f"{path}[{key!r}]", memo, kept)
        return copied
    if type(value) is list:
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(
            _copy_or_keep(item, f"{path}[{index}]", memo, kept) for index, item in enumerate(value)
        )
        return items
    if type(value) is tuple:
        result = tuple(
            _copy_or_keep(item, f"{path}[{index}]", memo, kept) for index, item in enumerate(value)
        )
        memo[id(value)] = result
        return result
    memo[id(value)] = value  # from now on every copy that meets it keeps it too
    kept.append(path)
    return value
