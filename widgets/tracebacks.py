"""Tracebacks a notebook user can read: their own frames, the exception and its notes.

A node that fails inside nested flows passes through a dozen frames of the library on its way
out; the user wrote none of them. :func:`user_traceback` leaves out every frame that marks
itself hidden (a true local ``__tracebackhide__``, the convention IPython and pytest follow) and,
so that it also works where the library does not mark its frames (an older or vendored copy),
every frame whose file lies inside the ``pocketflow`` package or this toolkit.
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Iterator
from types import FrameType

import pocketflow

__all__ = ["user_traceback"]

_LIBRARY_DIRS = tuple(
    os.path.join(os.path.dirname(os.path.realpath(path)), "")
    for path in (pocketflow.__file__ or "", __file__)
)

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def user_traceback(exc: BaseException) -> str:
    """``exc`` formatted like Python's traceback, without the library's frames, with its notes.

    Notes (``__notes__``, where pocketflow says which node raised) are printed after the
    exception line on every Python, 3.10 included, which would not print them itself. Chained
    exceptions (``raise ... from``, or raised while handling another) are shown as Python
    shows them, filtered the same way.

    >>> def load():
    ...     raise KeyError("config")
    >>> try:
    ...     load()
    ... except KeyError as exc:
    ...     exc.__notes__ = ["pocketflow: raised in exec of node 'load'"]
    ...     print(user_traceback(exc))
    Traceback (most recent call last):
      File "<doctest ...>", line 2, in <module>
        load()
      File "<doctest ...>", line 2, in load
        raise KeyError("config")
    KeyError: 'config'
    pocketflow: raised in exec of node 'load'
    <BLANKLINE>
    """
    return "".join(_chain(exc))


def _chain(exc: BaseException) -> Iterator[str]:
    """The exceptions chained to ``exc``, oldest first, each followed by how they link."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    for index in range(len(chain) - 1, -1, -1):
        yield from _one(chain[index][0])
        yield chain[index][1]


def _one(exc: BaseException) -> Iterator[str]:
    """One exception: its visible frames, its line(s), its notes."""
    tb = exc.__traceback__
    if tb is not None:
        yield "Traceback (most recent call last):\n"
        frames = [frame for frame, _ in traceback.walk_tb(tb)]
        summaries = traceback.extract_tb(tb)
        shown: list[traceback.FrameSummary] = []
        hidden = 0
        # extract_tb stops at sys.tracebacklimit, keeping the outermost frames: zip to its end
        for frame, summary in zip(frames, summaries, strict=False):
            if _hidden(frame):
                if shown:
                    yield from traceback.StackSummary.from_list(shown).format()
                    shown = []
                hidden += 1
                continue
            if hidden:
                yield _skipped(hidden)
                hidden = 0
            shown.append(summary)
        yield from traceback.StackSummary.from_list(shown).format()
        if hidden:
            yield _skipped(hidden)
    only = traceback.TracebackException(type(exc), exc, None, compact=True)
    only.__dict__["__notes__"] = None  # printed below, the same way on every Python
    yield from only.format_exception_only()
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, (list, tuple)):
        for note in notes:
            yield f"{note}\n"


def _skipped(count: int) -> str:
    return f"  [... {count} hidden frame{'s' if count > 1 else ''}]\n"


def _hidden(frame: FrameType) -> bool:
    try:
        if frame.f_locals.get("__tracebackhide__"):
            return True
    except Exception:  # a frame whose locals cannot be read is shown
        pass
    return _in_library(frame.f_code.co_filename)


@functools.lru_cache(maxsize=1024)
def _in_library(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_LIBRARY_DIRS)
