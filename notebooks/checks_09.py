"""The check of chapter 9's exercise, in the form of ``exercises.py``: ``check(name, ...)``
returns a result shown as a line starting with ✓, or with ✗ and what it expected and saw.

The answer is a function ``fork_after_draft(trace, text)`` that returns the fork of ``trace``'s
run after ``draft``'s ``post`` with ``text`` as the draft. The check calls it with texts of its
own, resumes each fork on the chapter's flow, and looks at what was published.
"""

from __future__ import annotations

from typing import Any, Final

from exercises import Mismatch, Result, expect
from pocketflow.checkpoints import Checkpoint, boundaries

__all__ = ["EXERCISE", "check"]

#: The name of the chapter's exercise.
EXERCISE: Final = "fork after draft"
#: Drafts that pass the chapter's house rules, each different from the chapter's own.
DRAFTS: Final = ("Bees dance to show the way.", "A waggle points to the flowers!")


def check(name: str, *answer: Any) -> Result:
    """Check ``answer`` (``fork_after_draft, trace, desk``) to the exercise ``name``."""
    if name != EXERCISE:
        return Result(name, False, f"there is no such exercise here (this one: {EXERCISE!r})")
    try:
        return Result(name, True, _fork_after_draft(*answer))
    except Mismatch as mismatch:
        return Result(name, False, f"not yet. {mismatch}")
    except Exception as exc:  # the answer's own error: report it, do not stop the notebook
        return Result(name, False, f"not yet. {type(exc).__name__}: {exc}")


def _fork_after_draft(fork_after_draft: Any, trace: Any, desk: Any) -> str:
    if not callable(fork_after_draft):
        raise Mismatch(f"fork_after_draft should be a function\n  saw: {fork_after_draft!r}")
    steps = {step.step: step for step in trace}
    after_draft = next(
        n for n in boundaries(trace) if steps[n].kind == "post" and steps[n].name == "draft"
    )
    recorded = trace.checkpoint(after_draft).shared
    for text in DRAFTS:
        fork = fork_after_draft(trace, text)
        if not isinstance(fork, Checkpoint):
            raise Mismatch(
                f"fork_after_draft(trace, {text!r}) should return a Checkpoint\n  saw: {fork!r}"
            )
        where = f"{'after' if fork.after else 'before'} {fork.graph[fork.node].name!r}"
        expect(f"where fork_after_draft(trace, {text!r}) starts", "after 'draft'", where)
        if "forked_from" not in fork.source:
            raise Mismatch(
                f"fork_after_draft(trace, {text!r}) is not a fork: make it with "
                "checkpoint.fork(shared), which records where it came from\n"
                f"  saw: source {fork.source!r}"
            )
        expect(f"the draft in fork_after_draft(trace, {text!r})", text, fork.shared.get("draft"))
        expect(
            "the recorded run's draft after the fork (a fork leaves the trace as it was)",
            recorded.get("draft"),
            trace.checkpoint(after_draft).shared.get("draft"),
        )
        shared = fork.new_shared()
        ends = desk.resume(fork, shared)
        expect(
            f"what resuming the fork with {text!r} ends with, and publishes",
            ("published", text),
            (ends, shared.get("published")),
        )
    return f"forked after 'draft' (step {after_draft}), each draft given was published."
