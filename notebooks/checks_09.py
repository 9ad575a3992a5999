"""The check for chapter 9's exercise: is the run forked after ``draft`` and published?

``check(forked, shared)`` prints either what is still wrong, as specifically as it can tell, or
that the exercise is solved. It looks only at the checkpoint and at ``shared``, so any way of
getting there that the chapter teaches passes.
"""

from __future__ import annotations

from typing import Any

from pocketflow.checkpoints import Checkpoint

__all__ = ["check"]


def check(forked: Any, shared: Any) -> None:
    """Print whether ``forked`` (the fork you resumed) and ``shared`` (what the resumed run
    left) solve the exercise, and if not, what to change.
    """
    problem = _problem(forked, shared)
    if problem is None:
        print(
            f"Solved: forked after 'draft' (step {forked.step}); the review approved your "
            f"draft and it was published: {shared['published']!r}"
        )
    else:
        print(f"Not yet: {problem}")


def _problem(forked: Any, shared: Any) -> str | None:
    """What is wrong with the answer, or ``None``."""
    if not isinstance(forked, Checkpoint):
        return (
            "the first argument should be the checkpoint you resumed (a Checkpoint), "
            f"not {type(forked).__name__}"
        )
    if "forked_from" not in forked.source:
        return (
            f"{forked!r} is not a fork: make one with checkpoint.fork(shared), which records "
            "where it came from"
        )
    name = forked.graph[forked.node].name
    if name != "draft" or not forked.after:
        where = "after" if forked.after else "before"
        return (
            f"your fork starts {where} {name!r} (step {forked.step}); the exercise asks for the "
            "boundary after draft's post: the step of the trace whose kind is 'post' and whose "
            "name is 'draft'"
        )
    if not isinstance(shared, dict) or "problems" not in shared:
        return (
            "shared holds no review: resume the fork on it first, "
            "desk.resume(forked, shared), then check"
        )
    draft = forked.shared.get("draft")
    if shared["problems"] and isinstance(draft, str) and draft.endswith(" ..."):
        return (
            "the fork still carries the model's cut-off draft: put your own in its shared "
            "(shared['draft'] = '...') and fork with that shared"
        )
    if shared["problems"]:
        return "the review sent your draft back: " + "; ".join(shared["problems"])
    if shared.get("published") != draft:
        return (
            f"shared['published'] is {shared.get('published')!r}, not the fork's draft "
            f"{draft!r}: resume the fork on its own shared (forked.new_shared())"
        )
    return None
