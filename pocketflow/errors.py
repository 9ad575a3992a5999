"""The exceptions the library raises itself, and the helpers that word them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import types
import warnings
from typing import TYPE_CHECKING, Any, Final

from .kinds import library_class

if TYPE_CHECKING:
    from .nodes import BaseNode

__all__ = ["StepLimitError", "safe_repr"]


class StepLimitError(RuntimeError):
    """A flow took more node steps than its ``max_steps`` allows."""

    def __init__(self, flow: BaseNode, node: BaseNode, max_steps: int) -> None:
        super().__init__(
            f"{label(flow)} reached max_steps={max_steps} and stopped before running node "
            f"'{node.name}' again; does a loop in it never take its exit?"
        )
        self.flow = flow
        self.node = node
        self.max_steps = max_steps


#: The folder of the package's files: frames from here are the library's, not the user's.
_LIBRARY_DIR: Final = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ASYNCIO_DIR: Final = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep


def label(node: BaseNode) -> str:
    """``node`` for an error message: its library kind and its name, as ``BatchNode 'load'``.

    The kind is the class that declares it (see :func:`~pocketflow.kinds.library_class`), so it
    holds under any package name the library is vendored as.
    """
    kind = library_class(type(node)) or type(node)
    return f"{kind.__name__} '{node.name}'"


def warn(message: str) -> None:
    """Warn ``message`` (a ``UserWarning``) at the user's line, every time it happens.

    ``warnings.warn`` would name a line of the library (a flow's loop is several frames deep,
    through generators, so no fixed ``stacklevel`` fits) and show it once per session, since
    Python remembers each warning per line: re-running a notebook cell would show nothing. The
    warning is attributed to the first frame outside this package (and asyncio), and given no
    registry to remember it in. The warning filters still apply.
    """
    caller = sys._getframe(1)
    frame: types.FrameType | None = caller
    while frame is not None and frame.f_code.co_filename.startswith((_LIBRARY_DIR, _ASYNCIO_DIR)):
        frame = frame.f_back
    where = frame or caller
    warnings.warn_explicit(
        message,
        UserWarning,
        where.f_code.co_filename,
        where.f_lineno,
        module=where.f_globals.get("__name__"),
        registry=None,
        module_globals=where.f_globals,
    )


def describe(value: Any) -> str:
    """``value`` for an error message: its repr (shortened) and its type."""
    return f"{safe_repr(value, 60)} ({type(value).__name__})"


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__qualname__} object>"


#: How the containers that :func:`short_repr` writes item by item open and close.
_BRACKETS: Final[dict[type, tuple[str, str]]] = {
    list: ("[", "]"),
    tuple: ("(", ")"),
    dict: ("{", "}"),
    set: ("{", "}"),
    frozenset: ("frozenset({", "})"),
}


def safe_repr(value: Any, limit: int | None = None) -> str:
    """``repr(value)``, never raising (a broken ``__repr__`` gives a placeholder naming the
    type), cut to ``limit`` characters when one is given.

    With a limit, lists, tuples, dicts and sets (and long strings) are written from their start
    only, up to the cut: showing a list of a million items costs what its first few cost.

    >>> safe_repr(list(range(1_000_000)), 20)
    '[0, 1, 2, 3, 4, 5, …'
    """
    if limit is None:
        return _repr(value)
    parts: list[str] = []
    _write(value, parts, limit + 1, set())
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write(value: Any, parts: list[str], left: int, open_ids: set[int]) -> int:
    """Append the repr of ``value`` to ``parts``, stopping once ``left`` characters are written;
    return how many are left.
    """
    kind = type(value)
    brackets = _BRACKETS.get(kind)
    if brackets is None or not value:
        # a string long enough to be cut: its start is all that shows
        text = repr(value[:left]) if kind in (str, bytes) and len(value) > left else _repr(value)
        parts.append(text)
        return left - len(text)
    opening, closing = brackets
    if id(value) in open_ids:  # the container holds itself: written as Python writes it
        parts.append(f"{opening}...{closing}")
        return left - len(opening) - 3 - len(closing)
    open_ids.add(id(value))
    parts.append(opening)
    left -= len(opening)
    for index, item in enumerate(value.items() if kind is dict else value):
        if left <= 0:
            break  # the text is cut here anyway
        if index:
            parts.append(", ")
            left -= 2
        if kind is dict:
            left = _write(item[0], parts, left, open_ids)
            parts.append(": ")
            left = _write(item[1], parts, left - 2, open_ids)
        else:
            left = _write(item, parts, left, open_ids)
    else:
        if kind is tuple and len(value) == 1:
            parts.append(",")
            left -= 1
        parts.append(closing)
        left -= len(closing)
    open_ids.discard(id(value))
    return left


def add_note(exc: BaseException, note: str) -> None:
    """Attach ``note`` to ``exc``'s ``__notes__``.

    Python 3.10 has no ``add_note`` and prints no notes, but the list is set all the same:
    IPython shows it there too, and so do the toolkit's views.
    """
    if hasattr(exc, "add_note"):
        exc.add_note(note)
        return
    notes = getattr(exc, "__notes__", None)
    with contextlib.suppress(AttributeError):  # an exception type that takes no new attributes
        exc.__notes__ = [*notes, note] if isinstance(notes, list) else [note]  # type: ignore[attr-defined]
