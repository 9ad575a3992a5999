"""What changed in ``shared``: snapshots compared key by key, shown as a small HTML table; and
copies of ``shared`` to start a run over from.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SharedDiff", "copy_shared", "diff_shared", "short_repr"]


def short_repr(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters; never raises."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break the view
        text = f"<unrepresentable {type(value).__name__}: {exc!r}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class SharedDiff:
    """The top-level keys of ``shared`` that were added, changed or removed between two steps."""

    added: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)

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


def diff_shared(before: dict[str, Any], after: dict[str, Any]) -> SharedDiff:
    """Compare two snapshots of ``shared`` (dicts of top-level keys)."""
    added = {key: after[key] for key in after if key not in before}
    removed = {key: before[key] for key in before if key not in after}
    changed = {}
    for key in after:
        if key in before and not _same(before[key], after[key]):
            changed[key] = (before[key], after[key])
    return SharedDiff(added, changed, removed)


def _same(old: Any, new: Any) -> bool:
    try:
        return bool(old == new)
    except Exception:  # e.g. numpy arrays: fall back on what the user would see
        return short_repr(old, 10_000) == short_repr(new, 10_000)


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
    return _copy(shared, "shared", {}, kept), tuple(kept)


def _copy(value: Any, path: str, memo: dict[int, Any], kept: list[str]) -> Any:
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
            copied[key] = _copy(item, f"{path}[{key!r}]", memo, kept)
        return copied
    if type(value) is list:
        items: list[Any] = []
        memo[id(value)] = items
        items.extend(
            _copy(item, f"{path}[{index}]", memo, kept) for index, item in enumerate(value)
        )
        return items
    if type(value) is tuple:
        result = tuple(
            _copy(item, f"{path}[{index}]", memo, kept) for index, item in enumerate(value)
        )
        memo[id(value)] = result
        return result
    memo[id(value)] = value  # from now on every copy that meets it keeps it too
    kept.append(path)
    return value
