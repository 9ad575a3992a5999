"""Forks: continue a run from a node boundary, optionally after editing ``shared``, in a new
Stepper under the view it was forked from.

A :class:`ForkControls` is the part of a view that forks: a button, an editor with a text area
per top-level key of ``shared``, the errors, and the Steppers of the forks made so far. The view
says what to fork (a function that takes the checkpoint, one that gives ``shared`` as it is at
that point), how to open a fork (a Stepper, with the run that led there on its graph) and when
it can; the controls do the rest the same way for ``Replay`` and the Stepper. An edit is read
as a Python literal (``ast.literal_eval``), else as JSON; a key whose text is neither is named
in the error, and nothing runs.
"""

from __future__ import annotations

import ast
import html
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as widgets

from pocketflow.checkpoints import Checkpoint

from .state import short_repr

if TYPE_CHECKING:
    from .stepper import Stepper

__all__ = ["ForkControls", "describe_source", "parse_edits", "parse_literal"]

#: A value whose ``repr`` is longer than this is not offered for editing (a text area that big
#: is no way to edit it): fork from code with ``Checkpoint.fork(shared=...)``.
EDIT_LIMIT: Final = 20_000
#: How many top-level keys the editor offers.
MOST_KEYS: Final = 100


def parse_literal(text: str) -> Any:
    """The value ``text`` writes, as a Python literal or else as JSON (``true``, ``null``).

    >>> parse_literal("[1, 'a']"), parse_literal('{"ok": true}')
    ([1, 'a'], {'ok': True})
    """
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as python_error:
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError(_first_line(python_error)) from None


def parse_edits(texts: Mapping[Any, str]) -> dict[Any, Any]:
    """Each key's text as a value (see :func:`parse_literal`); ``ValueError`` names every key
    whose text is not a literal, and why.

    >>> parse_edits({"n": "2", "tags": "['a']"})
    {'n': 2, 'tags': ['a']}
    >>> parse_edits({"n": "two"})
    Traceback (most recent call last):
    ...
    ValueError: not a Python literal nor JSON: 'n': malformed node or string ...
    """
    values: dict[Any, Any] = {}
    problems: list[str] = []
    for key, text in texts.items():
        try:
            values[key] = parse_literal(text)
        except ValueError as exc:
            problems.append(f"{key!r}: {exc}")
    if problems:
        raise ValueError("not a Python literal nor JSON: " + "; ".join(problems))
    return values


def _first_line(error: BaseException, limit: int = 80) -> str:
    """The first line of ``error``'s message, cut to ``limit`` characters."""
    lines = str(error).strip().splitlines()
    detail = lines[0] if lines else type(error).__name__
    return detail if len(detail) <= limit else detail[: limit - 1] + "…"


def describe_source(checkpoint: Checkpoint) -> str:
    """Where a checkpoint came from, in words: ``forked from step 8 of 'sum' (edited: 'n')``."""
    source = checkpoint.source
    origin = source.get("forked_from")
    if isinstance(origin, dict):
        text = f"forked from step {origin.get('step', '?')} of {origin.get('root')!r}"
        earlier = origin.get("resumed_from")
        if isinstance(earlier, dict) and isinstance(earlier.get("forked_from"), dict):
            text += f" (itself a fork of step {earlier['forked_from'].get('step', '?')})"
        where = source.get("view")
        if where:
            text += f" in a {where}"
        edited = source.get("edited")
        if edited:
            text += " (edited: " + ", ".join(map(str, edited)) + ")"
        return text
    return f"resumed from step {checkpoint.step} of {source.get('root', checkpoint.root)!r}"


class ForkControls(widgets.VBox):
    """A fork button, an editor for ``shared``'s top-level keys, the errors, and the forks.

    ``take`` gives the checkpoint to fork (it may raise ``ValueError``, which is shown);
    ``shared_now`` gives ``shared`` as it is there, to fill the editor; ``open_fork`` makes the
    Stepper of a fork, given the fork and a copy of its ``shared``. :meth:`offer` says whether
    forking is possible now and where the fork would start. The forks' Steppers
    (:attr:`forks`) show below.
    """

    children: tuple[Any, ...]

    def __init__(
        self,
        take: Callable[[], Checkpoint],
        shared_now: Callable[[], Mapping[Any, Any] | None],
        open_fork: Callable[[Checkpoint, dict[Any, Any]], Stepper],
        *,
        label: str,
        view: str,
    ) -> None:
        self._take = take
        self._shared_now = shared_now
        self._open_fork = open_fork
        self._view = view
        self.fork_button = widgets.Button(
            description=label, icon="code-branch", layout=widgets.Layout(width="auto")
        )
        self.fork_button.on_click(lambda _: self.fork())
        self.edit_toggle = widgets.ToggleButton(description="Edit shared", icon="pencil")
        self.edit_toggle.observe(lambda _: self.refresh_editor(), names="value")
        self.where = widgets.HTML()
        self.editor = widgets.VBox()
        self.editor.add_class("pf-fork-editor")
        self.error_box = widgets.HTML()
        self.stepper_box = widgets.VBox()
        self.stepper_box.add_class("pf-forks")
        #: The Steppers of the forks made here, oldest first.
        self.forks: list[Stepper] = []
        self._fields: list[tuple[Any, str, widgets.Textarea]] = []
        self._filled_for: object = None  # what the editor was filled for (see offer)
        super().__init__(
            [
                widgets.HBox([self.fork_button, self.edit_toggle, self.where]),
                self.editor,
                self.error_box,
                self.stepper_box,
            ]
        )
        self.add_class("pf-fork")
        self.offer(False)

    # -- state ---------------------------------------------------------------------------

    def offer(self, possible: bool, where: str = "", key: object = None) -> None:
        """Whether a fork can be taken now; ``where`` (HTML, escaped by the caller) says from
        where; ``key`` names that point: the editor is filled anew when it changes.
        """
        self.fork_button.disabled = not possible
        self.edit_toggle.disabled = not possible
        self.where.value = f"<span class='pf-fork-where'>{where}</span>" if where else ""
        if key != self._filled_for:
            self._filled_for = key
            self.refresh_editor()

    def refresh_editor(self) -> None:
        """Fill the editor with ``shared`` as it is where the fork would start (or empty it
        when editing is off).
        """
        self._fields = []
        shared = self._shared_now() if self.edit_toggle.value else None
        if not shared:
            self.editor.children = ()
            return
        rows: list[widgets.Widget] = []
        for index, (key, value) in enumerate(shared.items()):
            if index == MOST_KEYS:
                rows.append(widgets.Label(f"(the first {MOST_KEYS} keys of {len(shared)})"))
                break
            text = short_repr(value, EDIT_LIMIT + 1)
            area = widgets.Textarea(value=text, rows=min(6, 1 + text.count("\n")))
            if len(text) > EDIT_LIMIT:
                area.value = short_repr(value)
                area.disabled = True
            else:
                self._fields.append((key, text, area))
            rows.append(widgets.HBox([widgets.Label(short_repr(key, 40)), area]))
        self.editor.children = tuple(rows)

    @property
    def edits(self) -> dict[Any, str]:
        """The keys whose text was changed in the editor, with their new text."""
        return {key: area.value for key, text, area in self._fields if area.value != text}

    def edit(self, key: Any, text: str) -> None:
        """Write ``text`` in the editor for ``key`` (what typing it does), opening the editor."""
        self.edit_toggle.value = True
        for field_key, _, area in self._fields:
            if field_key == key:
                area.value = text
                return
        known = [field_key for field_key, _, _ in self._fields]
        raise KeyError(f"no editable key {key!r} in shared here (editable: {known})")

    # -- forking -------------------------------------------------------------------------

    def fork(self) -> Stepper | None:
        """Take the checkpoint, apply the edits, and open a Stepper on the fork; ``None`` (with
        the reason shown) when that cannot be done: nothing runs then.
        """
        self.error_box.value = ""
        try:
            edits = parse_edits(self.edits)
            checkpoint = self._take()
            shared = dict(checkpoint.shared)
            shared.update(edits)
            fork = checkpoint.fork(
                shared, view=self._view, edited=[short_repr(key, 40) for key in edits]
            )
            # A value kept only as a placeholder is refused here: it must be edited first.
            stepper = self._open_fork(fork, fork.new_shared())
        except ValueError as exc:
            self.error_box.value = (
                f"<div class='pf-error'><b>Cannot fork:</b> {html.escape(str(exc))}</div>"
            )
            return None
        self.forks.append(stepper)
        self.stepper_box.children = (*self.stepper_box.children, stepper)
        return stepper
