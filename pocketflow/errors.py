"""The exceptions the library raises itself, and the helpers that word them."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .nodes import BaseNode

__all__ = ["StepLimitError"]


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


def label(node: BaseNode) -> str:
    """``node`` for an error message: its library kind and its name, as ``BatchNode 'load'``."""
    kind = next(
        cls.__name__ for cls in type(node).__mro__ if cls.__module__.startswith("pocketflow.")
    )
    return f"{kind} '{node.name}'"


def describe(value: Any) -> str:
    """``value`` for an error message: its repr (shortened) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


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
