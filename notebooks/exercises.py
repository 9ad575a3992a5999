"""The checks of the chapters' exercises: ``check("name", answer)`` runs your answer and says
whether it does what the exercise asked, and if not, what it expected and what it saw.

Each check runs the answer on inputs of its own, so that an answer which only fits the
chapter's example does not pass. A check never raises: it returns a :class:`Result`, shown in
the notebook as a line that starts with ✓ or ✗, so that running all cells of a chapter goes on
past an unfinished exercise.

    >>> check("count words", object)  # doctest: +ELLIPSIS
    ✗ count words: ...
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from checksums import checksum
from pocketflow import AsyncParallelBatchNode, Node, observe
from pocketflow.checkpoints import Checkpoint, boundaries
from pocketflow_widgets import run
from standin import flaky

__all__ = ["CHECKS", "Result", "check"]


@dataclass(frozen=True)
class Result:
    """What a check found: whether the answer passed, and a message saying what it saw."""

    exercise: str
    passed: bool
    message: str

    def __repr__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.exercise}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


class Mismatch(Exception):
    """Raised inside a check: the answer did something other than what the exercise asked."""


def expect(what: str, expected: Any, seen: Any) -> None:
    """Raise :class:`Mismatch` unless ``seen == expected``, saying ``what`` was compared."""
    if seen != expected:
        raise Mismatch(f"{what}\n  expected: {expected!r}\n  saw:      {seen!r}")


def _run_quietly(flow: Any, shared: dict[str, Any]) -> tuple[Any, str]:
    """Run ``flow`` on ``shared``; return its result and what it printed (warnings ignored)."""
    printed = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
        warnings.simplefilter("ignore")
        result = run(flow, shared)
    return result, printed.getvalue()


def _flow_error(exc: Exception) -> str:
    return f"running it raised {type(exc).__name__}: {exc}"


CHECKS: dict[str, Callable[..., str]] = {}


def exercise(name: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register the decorated function as the check of the exercise ``name``.

    The function returns what a passing answer did, and raises :class:`Mismatch` (or any
    exception the answer let out) when it does not pass.
    """

    def register(function: Callable[..., str]) -> Callable[..., str]:
        CHECKS[name] = function
        return function

    return register


def check(name: str, *answer: Any) -> Result:
    """Check ``answer`` to the exercise ``name``; see :data:`CHECKS` for the names."""
    if name not in CHECKS:
        return Result(name, False, f"there is no such exercise (the names: {sorted(CHECKS)})")
    try:
        return Result(name, True, CHECKS[name](*answer))
    except Mismatch as mismatch:
        return Result(name, False, f"not yet. {mismatch}")
    except Exception as exc:  # the answer's own error: report it, do not stop the notebook
        return Result(name, False, f"not yet. {type(exc).__name__}: {exc}")


def _is_node_class(answer: Any, what: str) -> None:
    if not (isinstance(answer, type) and issubclass(answer, Node)):
        raise Mismatch(f"{what} should be a node class\n  saw: {answer!r}")


# -- 01 shared state ----------------------------------------------------------------------


@exercise("count words")
def _count_words(node_class: Any) -> str:
    _is_node_class(node_class, "CountWords")
    for note, summary in [("Bees dance to tell the way.", "Bees dance."), ("One", "")]:
        shared = {"note": note, "summary": summary}
        node_class().run(shared)
        expected = {"note": len(note.split()), "summary": len(summary.split())}
        expect(
            f"shared['stats'] after a note of {note!r} and a summary of {summary!r}",
            expected,
            shared.get("stats", "(no 'stats' key)"),
        )
    return "the words of the note and of the summary are counted into shared['stats']."


# -- 02 nodes -----------------------------------------------------------------------------

NOTE: Final = "Honeybees dance on the comb to tell the others where the flowers are today."


@exercise("summary with source")
def _summary_with_source(node_class: Any) -> str:
    _is_node_class(node_class, "SummarizeWithSource")
    shared: dict[str, Any] = {"note": NOTE}
    node_class(flaky(1, llm=lambda prompt: "from the model"), max_retries=3).run(shared)
    expect(
        "after one failed call and a successful one, shared['source'] and shared['summary']",
        ("model", "from the model"),
        (shared.get("source"), shared.get("summary")),
    )
    shared = {"note": NOTE}
    node_class(flaky(5, llm=lambda prompt: "from the model"), max_retries=3).run(shared)
    first_words = " ".join(NOTE.split()[:8]) + " ..."
    expect(
        "when every try fails, shared['source'] and shared['summary']",
        ("fallback", first_words),
        (shared.get("source"), shared.get("summary")),
    )
    return "the model's summary when a try succeeds, the note's first words when none does."


# -- 03 params ----------------------------------------------------------------------------


@exercise("every file")
def _every_file(shared: Any) -> str:
    if not isinstance(shared, dict) or "files" not in shared:
        raise Mismatch(f"pass the shared dict your runs filled\n  saw: {shared!r}")
    files = shared["files"]
    expect(
        "the word counts, one per file",
        {name: len(text.split()) for name, text in files.items()},
        shared.get("word_counts"),
    )
    expect(
        "the files that have a summary",
        sorted(files),
        sorted(name for name, text in shared.get("summaries", {}).items() if text),
    )
    return f"all {len(files)} files are summarised and counted, each by a run with its params."


# -- 04 transitions -----------------------------------------------------------------------

LONG_SENTENCE: Final = "Bees " + "truly " * 40 + "like flowers."
SHORT_DRAFT: Final = "Bees dance. The dance points to flowers."


@exercise("patient desk")
def _patient_desk(flow: Any) -> str:
    shared: dict[str, Any] = {"text": LONG_SENTENCE}
    try:
        _run_quietly(flow, shared)
    except RuntimeError as exc:
        raise Mismatch(f"the draft that cannot get shorter: {_flow_error(exc)}") from None
    expect(
        "for a draft that cannot get shorter, the revisions, and whether it needs a human",
        (3, True, False),
        (shared.get("revisions"), "needs_human" in shared, "published" in shared),
    )
    shared = {"text": SHORT_DRAFT}
    _run_quietly(flow, shared)
    expect("a short draft is still published", SHORT_DRAFT, shared.get("published"))
    return "a hopeless draft goes to a human after 3 revisions; a good one is still published."


# -- 05 flows -----------------------------------------------------------------------------


@exercise("daily")
def _daily(flow: Any) -> str:
    paths: dict[str, tuple[str, ...]] = {}

    def note_path(event: Any) -> None:
        if event.kind == "start":
            paths.setdefault(event.node.name, tuple(event.path))

    for topic, line in [
        ("honeybee dance", "published: Honeybee Dance"),
        ("quantum knitting", "archived: Quantum Knitting"),
    ]:
        with observe(note_path):
            _, printed = _run_quietly(flow, {"topic": topic})
        if not printed.strip():
            raise Mismatch(
                f"the flow printed nothing for {topic!r}: is Notify the successor of the blog "
                "flow, inside a new outer flow, and does it print?"
            )
        expect(f"what the flow printed for {topic!r}", line, printed.strip())
    path = paths.get("Check")
    expect("the last two flows around Check", ("blog", "writing"), (path or ())[-2:])
    expect("how many flows Check runs inside", 3, len(path or ()))
    return f"Notify reports each outcome, and Check runs inside {' / '.join(path or ())}."


# -- 06 batches ---------------------------------------------------------------------------


class _Recorder(Node):
    """A start node for a batch flow: it notes each file name its params give it."""

    def prep(self, shared: dict[str, Any]) -> None:
        shared["ran"].append(self.params["filename"])


@exercise("new files only")
def _new_files_only(flow_class: Any) -> str:
    files = {"a.txt": "one", "b.txt": "two", "c.txt": "three"}
    shared: dict[str, Any] = {"files": files, "summaries": {"a.txt": "done"}, "ran": []}
    flow_class(start=_Recorder()).run(shared)
    expect(
        "the files run, with a.txt summarised already",
        ["b.txt", "c.txt"],
        shared["ran"],
    )
    return "only the files without a summary are run, one run each."


# -- 07 async -----------------------------------------------------------------------------


#: Seconds that four overlapping calls of 0.1 s stay well under, and four in turn exceed.
SLOW: Final = 0.3


@exercise("in threads")
def _in_threads(node_class: Any) -> str:
    ingredients = ["egg", "tomato", "potato", "lentil"]
    shared: dict[str, Any] = {"ingredients": ingredients}
    started = time.perf_counter()
    _run_quietly(node_class(), shared)
    took = time.perf_counter() - started
    recipes = shared.get("recipes", {})
    expect("the ingredients that have recipes", ingredients, list(recipes))
    awaited = [name for name, value in recipes.items() if hasattr(value, "__await__")]
    if awaited:
        raise Mismatch(f"the recipes of {awaited} are awaitables: an `await` is missing")
    if took > SLOW:
        raise Mismatch(
            "four calls of 0.1 s each\n  expected: about 0.1 s in all, the calls overlapping"
            f"\n  saw:      more than {SLOW} s: they ran one after another"
        )
    return "the blocking calls overlap: four of them took about as long as one."


# -- 08 the agent -------------------------------------------------------------------------

GIVE_UP: Final = "I could not find that."


def _question(question: str) -> dict[str, Any]:
    return {"question": question, "context": [], "queries": [], "searches": 0, "answer": None}


@exercise("honest agent")
def _honest_agent(flow: Any) -> str:
    started: list[str] = []

    def note_start(event: Any) -> None:
        if event.kind == "start":
            started.append(event.node.name)

    shared = _question("Who won the 1998 chess olympiad?")
    with observe(note_start):
        _run_quietly(flow, shared)
    expect("the answer to a question the corpus knows nothing about", GIVE_UP, shared["answer"])
    expect("how many search rounds it took to give up", 1, started.count("Search"))
    shared = _question("How do honeybees tell each other where flowers are?")
    _run_quietly(flow, shared)
    if shared["answer"] in (GIVE_UP, None):
        raise Mismatch(
            "a question the corpus can answer\n  expected: an answer from the documents found"
            f"\n  saw:      {shared['answer']!r}"
        )
    return "it gives up after a search that finds nothing new, and still answers what it can."


# -- 10 scaling out -----------------------------------------------------------------------


@exercise("async checksums")
def _async_checksums(node_class: Any) -> str:
    if not (isinstance(node_class, type) and issubclass(node_class, AsyncParallelBatchNode)):
        raise Mismatch(
            "AsyncChecksums should be an AsyncParallelBatchNode class, whose run the notebook "
            f"awaits\n  saw: {node_class!r}"
        )
    jobs = [1_000 + job for job in range(6)]
    items: list[Any] = []
    shared: dict[str, Any] = {"jobs": jobs}
    with ThreadPoolExecutor(max_workers=2) as pool, observe(items.append):
        _run_quietly(node_class(executor=pool, max_concurrency=2), shared)
    expect("the checksums of six jobs", [checksum(job) for job in jobs], shared.get("checksums"))
    expect("the 'item' events, one per job", 6, sum(event.kind == "item" for event in items))
    return "each job's checksum comes back from the pool, in the jobs' order."


# -- 09 checkpoints -------------------------------------------------------------------------

#: Drafts that pass chapter 9's house rules, each different from the chapter's own.
FORK_DRAFTS = ("Bees dance to show the way.", "A waggle points to the flowers!")


@exercise("fork after draft")
def _fork_after_draft(fork_after_draft: Any, trace: Any, desk: Any) -> str:
    if not callable(fork_after_draft):
        raise Mismatch(f"fork_after_draft should be a function\n  saw: {fork_after_draft!r}")
    steps = {step.step: step for step in trace}
    after_draft = next(
        n for n in boundaries(trace) if steps[n].kind == "post" and steps[n].name == "draft"
    )
    recorded = trace.checkpoint(after_draft).shared
    for text in FORK_DRAFTS:
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
