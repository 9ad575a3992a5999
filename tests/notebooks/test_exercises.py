"""The exercises' checks (``notebooks/exercises.py``): each passes the chapter's solution and
fails typical wrong answers, each time saying what it expected and what it saw.

The answers here are written like the chapters' (the solutions are the same code), on small
stand-ins for the chapters' other nodes where a check needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pocketflow import (
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchNode,
    BatchFlow,
    Flow,
    Node,
)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))  # as in a chapter's kernel: standin, checksums, exercises
try:
    exercises = importlib.import_module("exercises")
    standin = importlib.import_module("standin")
    checksums = importlib.import_module("checksums")
finally:  # the folder also holds build.py, which must not shadow anything for other tests
    sys.path.remove(str(NOTEBOOKS))


@pytest.fixture(autouse=True)
def _stand_in_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POCKETFLOW_LLM", raising=False)


def passes(name: str, *answer: Any) -> None:
    result = exercises.check(name, *answer)
    assert result.passed, repr(result)
    assert repr(result).startswith(f"✓ {name}: ")


def fails(name: str, *answer: Any, saying: tuple[str, ...]) -> None:
    """The check fails, and its message holds each of ``saying``."""
    result = exercises.check(name, *answer)
    assert not result.passed, f"a wrong answer passed: {result!r}"
    text = repr(result)
    assert text.startswith(f"✗ {name}: not yet."), text
    for words in saying:
        assert words in text, f"{words!r} is not in {text!r}"


def test_every_exercise_is_tested_here() -> None:
    tested = {"count words", "summary with source", "every file", "patient desk", "daily"}
    tested |= {"new files only", "in threads", "honest agent", "async checksums"}
    tested |= {"fork after draft"}
    assert set(exercises.CHECKS) == tested


def test_the_module_docstring_example_holds() -> None:
    failed, tried = doctest.testmod(exercises, optionflags=doctest.ELLIPSIS)
    assert tried and not failed


def test_an_unknown_exercise_names_the_known_ones() -> None:
    result = exercises.check("count wrods", object)
    assert not result.passed
    assert "count words" in result.message


# -- 01 -----------------------------------------------------------------------------------


class CountWords(Node):
    def prep(self, shared):
        return shared["note"], shared["summary"]

    def exec(self, texts):
        note, summary = texts
        return {"note": len(note.split()), "summary": len(summary.split())}

    def post(self, shared, prep_res, exec_res):
        shared["stats"] = exec_res


class CountsLetters(CountWords):
    def exec(self, texts):
        note, summary = texts
        return {"note": len(note), "summary": len(summary)}


class ForgetsToStore(CountWords):
    def post(self, shared, prep_res, exec_res):
        return exec_res


def test_count_words() -> None:
    passes("count words", CountWords)
    fails("count words", CountsLetters, saying=("expected: {'note': 6, 'summary': 2}", "27"))
    fails("count words", ForgetsToStore, saying=("saw:      \"(no 'stats' key)\"",))
    fails("count words", CountWords(), saying=("should be a node class",))


# -- 02 -----------------------------------------------------------------------------------


class SummarizeWithSource(Node):
    def __init__(self, llm, **retry_options):
        super().__init__(**retry_options)
        self.llm = llm

    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        return "model", self.llm(f"Summarize this note in one sentence.\nText: {note}")

    def exec_fallback(self, note, exc):
        return "fallback", " ".join(note.split()[:8]) + " ..."

    def post(self, shared, prep_res, exec_res):
        shared["source"], shared["summary"] = exec_res


class NoFallback(SummarizeWithSource):
    def exec_fallback(self, note, exc):
        raise exc


class AlwaysModel(SummarizeWithSource):
    def post(self, shared, prep_res, exec_res):
        shared["source"], shared["summary"] = "model", exec_res[1]


def test_summary_with_source() -> None:
    passes("summary with source", SummarizeWithSource)
    fails("summary with source", NoFallback, saying=("ConnectionError: service unavailable",))
    fails(
        "summary with source", AlwaysModel, saying=("expected: ('fallback'", "saw:      ('model'")
    )


# -- 03 -----------------------------------------------------------------------------------

FILES = {"bees.txt": "Bees dance. They point the way.", "moon.txt": "The Moon pulls the tides."}


class Summarize(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return standin.call_llm(f"Summarize this file in one sentence.\nText: {text}")

    def post(self, shared, prep_res, exec_res):
        shared["summaries"][self.params["filename"]] = exec_res


class CountFileWords(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return len(text.split())

    def post(self, shared, prep_res, exec_res):
        shared["word_counts"][self.params["filename"]] = exec_res


def summarize_each(filenames: list[str], set_on_node: bool = False) -> dict[str, Any]:
    summarize = Summarize()
    summarize >> CountFileWords()
    flow = Flow(start=summarize)
    shared: dict[str, Any] = {"files": FILES, "summaries": {}, "word_counts": {}}
    for filename in filenames:
        (summarize if set_on_node else flow).set_params({"filename": filename})
        with contextlib.suppress(KeyError):  # a node without its params fails in prep
            flow.run(shared)
    return shared


def test_every_file() -> None:
    passes("every file", summarize_each(list(FILES)))
    fails(
        "every file",
        summarize_each(["bees.txt"]),
        saying=("expected: {'bees.txt': 6, 'moon.txt': 5}",),
    )
    fails("every file", summarize_each(list(FILES), set_on_node=True), saying=("saw:      {}",))
    fails("every file", None, saying=("pass the shared dict",))


# -- 04 -----------------------------------------------------------------------------------


class Draft(Node):
    def post(self, shared, prep_res, exec_res):
        shared["draft"] = shared["text"]
        shared["revisions"] = 0


class Review(Node):
    def prep(self, shared):
        return shared["draft"], shared["revisions"]

    def exec(self, inputs):
        draft, _ = inputs
        return "revise" if len(draft.split()) > 30 else "approve"

    def post(self, shared, prep_res, exec_res):
        return exec_res


class PatientReview(Review):
    def exec(self, inputs):
        _, revisions = inputs
        return "give_up" if revisions >= 3 else super().exec(inputs)


class Revise(Node):
    def prep(self, shared):
        return shared["draft"]

    def exec(self, draft):
        sentences = draft.split(". ")
        return ". ".join(sentences[:-1]) + "." if len(sentences) > 1 else draft

    def post(self, shared, prep_res, exec_res):
        shared["draft"] = exec_res
        shared["revisions"] += 1


class Publish(Node):
    def post(self, shared, prep_res, exec_res):
        shared["published"] = shared["draft"]


class Escalate(Node):
    def post(self, shared, prep_res, exec_res):
        shared["needs_human"] = shared["draft"]


def desk(review: Node, give_up: bool = True) -> Flow:
    draft, revise = Draft(), Revise()
    draft >> review
    review - "approve" >> Publish()
    review - "revise" >> revise
    if give_up:
        review - "give_up" >> Escalate()
    revise >> review
    return Flow(start=draft, max_steps=25)


class GivesUpAtOnce(PatientReview):
    def exec(self, inputs):
        return "give_up"


def test_patient_desk() -> None:
    passes("patient desk", desk(PatientReview()))
    fails("patient desk", desk(Review()), saying=("max_steps", "cannot get shorter"))
    fails(
        "patient desk", desk(PatientReview(), give_up=False), saying=("expected: (3, True, False)",)
    )
    fails("patient desk", desk(GivesUpAtOnce()), saying=("saw:      (0, True, False)",))


# -- 05 -----------------------------------------------------------------------------------


class Check(Node):
    def prep(self, shared):
        return standin.search_web(shared["topic"])

    def post(self, shared, prep_res, exec_res):
        shared["post"] = f"# {shared['topic'].title()}"
        return "approve" if prep_res else "reject"


class Publish5(Node):
    def post(self, shared, prep_res, exec_res):
        shared["published"] = shared["post"]


class Archive(Node):
    def post(self, shared, prep_res, exec_res):
        shared["archived"] = shared["post"]


class Notify(Node):
    def prep(self, shared):
        outcome = "published" if "published" in shared else "archived"
        return outcome, shared[outcome].splitlines()[0].lstrip("# ")

    def post(self, shared, prep_res, exec_res):
        outcome, headline = prep_res
        print(f"{outcome}: {headline}")


def blog() -> Flow:
    writing = Flow(start=Check(name="Check"), name="writing")
    writing - "approve" >> Publish5()
    writing - "reject" >> Archive()
    return Flow(start=writing, name="blog")


def daily(notify: Node) -> Flow:
    outer = blog()
    outer >> notify
    return Flow(start=outer, name="daily")


class NotifiesOnlyPublished(Notify):
    def prep(self, shared):
        return "published", shared.get("published", "# nothing").splitlines()[0].lstrip("# ")


class KeepsTheHash(Notify):
    def prep(self, shared):
        outcome, headline = super().prep(shared)
        return outcome, f"# {headline}"


def test_daily() -> None:
    passes("daily", daily(Notify()))
    fails(
        "daily", daily(NotifiesOnlyPublished()), saying=("expected: 'archived: Quantum Knitting'",)
    )
    notify = Notify()
    inside = blog()
    inside >> notify
    fails("daily", inside, saying=("printed nothing", "Notify the successor of the blog"))
    fails("daily", Flow(start=blog(), name="daily"), saying=("printed nothing",))
    fails("daily", daily(KeepsTheHash()), saying=("saw:      'published: # Honeybee Dance'",))


# -- 06 -----------------------------------------------------------------------------------


class EachNewFile(BatchFlow):
    def prep(self, shared):
        return [{"filename": name} for name in shared["files"] if name not in shared["summaries"]]


class EachFile(BatchFlow):
    def prep(self, shared):
        return [{"filename": name} for name in shared["files"]]


class NamesNotParams(BatchFlow):
    def prep(self, shared):
        return [name for name in shared["files"] if name not in shared["summaries"]]


def test_new_files_only() -> None:
    passes("new files only", EachNewFile)
    fails("new files only", EachFile, saying=("expected: ['b.txt', 'c.txt']", "'a.txt'"))
    fails("new files only", NamesNotParams, saying=("TypeError",))


# -- 07 -----------------------------------------------------------------------------------


def fetch_recipes_blocking(ingredient):
    time.sleep(0.1)
    return f"recipes with {ingredient}"


class FetchAtOnce(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["ingredients"]

    async def exec_async(self, ingredient):
        return await standin.fetch_recipes(ingredient, delay=0.1)

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"] = dict(zip(prep_res, exec_res, strict=True))


class FetchInThreads(FetchAtOnce):
    async def exec_async(self, ingredient):
        return await asyncio.to_thread(fetch_recipes_blocking, ingredient)


class FetchBlocking(FetchAtOnce):
    async def exec_async(self, ingredient):
        return fetch_recipes_blocking(ingredient)


class ForgetsAwait(FetchAtOnce):
    async def exec_async(self, ingredient):
        return asyncio.to_thread(fetch_recipes_blocking, ingredient)


def test_in_threads() -> None:
    passes("in threads", FetchInThreads)
    fails("in threads", FetchBlocking, saying=("one after another", "expected: about 0.1 s in all"))
    with pytest.warns(RuntimeWarning, match="never awaited"):
        fails("in threads", ForgetsAwait, saying=("an `await` is missing",))


# -- 08 -----------------------------------------------------------------------------------


class Decide(AsyncNode):
    async def prep_async(self, shared):
        return shared["context"]

    async def post_async(self, shared, prep_res, exec_res):
        shared["queries"] = [shared["question"]]
        return "answer" if prep_res else "search"


class Search(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["queries"]

    async def exec_async(self, query):
        return await standin.search_web_async(query, delay=0)

    async def post_async(self, shared, prep_res, exec_res):
        known = {document.url for document in shared["context"]}
        shared["context"] += [d for found in exec_res for d in found if d.url not in known]
        shared["searches"] += 1


class GiveUpEarly(Search):
    async def post_async(self, shared, prep_res, exec_res):
        before = len(shared["context"])
        await super().post_async(shared, prep_res, exec_res)
        return "give_up" if len(shared["context"]) == before else "default"


class Answer(Node):
    def post(self, shared, prep_res, exec_res):
        shared["answer"] = " ".join(d.title for d in shared["context"]) or "(empty)"


class GiveUp(Node):
    def post(self, shared, prep_res, exec_res):
        shared["answer"] = "I could not find that."


class AlwaysGivesUp(GiveUpEarly):
    async def post_async(self, shared, prep_res, exec_res):
        await super().post_async(shared, prep_res, exec_res)
        return "give_up"


def agent(search: AsyncNode, give_up: bool = True) -> AsyncFlow:
    decide = Decide()
    decide - "search" >> search
    decide - "answer" >> Answer()
    search >> decide
    if give_up:
        search - "give_up" >> GiveUp()
    return AsyncFlow(start=decide, max_steps=10)


def test_honest_agent() -> None:
    passes("honest agent", agent(GiveUpEarly(name="Search")))
    fails("honest agent", agent(Search(name="Search"), give_up=False), saying=("max_steps=10",))
    fails("honest agent", agent(AlwaysGivesUp(name="Search")), saying=("a question the corpus",))


# -- 10 -----------------------------------------------------------------------------------


class AsyncChecksums(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["jobs"]

    async def exec_async(self, rounds):
        return checksums.checksum(rounds)

    async def post_async(self, shared, prep_res, exec_res):
        shared["checksums"] = exec_res


class Sums(AsyncChecksums):
    async def exec_async(self, rounds):
        return sum(range(rounds))


class Sorted(AsyncChecksums):
    async def post_async(self, shared, prep_res, exec_res):
        shared["checksums"] = sorted(exec_res)


def test_async_checksums() -> None:
    passes("async checksums", AsyncChecksums)
    fails("async checksums", Sums, saying=("the checksums of six jobs",))
    fails("async checksums", Sorted, saying=("expected: [",))
    fails("async checksums", checksums.Checksums, saying=("should be an AsyncParallelBatchNode",))


def _newsletter() -> tuple[Flow, Any]:
    """Chapter 9's desk on a stand-in draft that breaks the house rules, and its recorded run."""
    from pocketflow.trace import record

    class Draft(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["draft"] = "Honeybees that have found good flowers fly back to the..."

    class Review(Node):
        def prep(self, shared: Any) -> Any:
            return shared["draft"]

        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            return "revise" if prep_res.endswith("...") else "approve"

    class Publish(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> Any:
            shared["published"] = shared["draft"]
            return "published"

    draft, review, publish = Draft(name="draft"), Review(name="review"), Publish(name="publish")
    _ = draft >> review
    _ = review - "approve" >> publish
    review - "revise" >> None
    desk = Flow(start=draft, name="newsletter")
    return desk, record(desk, {"notes": "..."}, snapshots=True)


def test_fork_after_draft() -> None:
    from pocketflow.checkpoints import boundaries

    desk, trace = _newsletter()
    steps = {step.step: step for step in trace}

    def at(kind: str, name: str) -> int:
        return next(n for n in boundaries(trace) if (steps[n].kind, steps[n].name) == (kind, name))

    def fork_after_draft(trace: Any, text: str) -> Any:  # the chapter's solution
        checkpoint = trace.checkpoint(at("post", "draft"))
        shared = checkpoint.new_shared()
        shared["draft"] = text
        return checkpoint.fork(shared)

    passes("fork after draft", fork_after_draft, trace, desk)

    def before_review(trace: Any, text: str) -> Any:
        checkpoint = trace.checkpoint(at("start", "review"))
        return checkpoint.fork({**checkpoint.shared, "draft": text})

    fails(
        "fork after draft",
        before_review,
        trace,
        desk,
        saying=("expected: \"after 'draft'\"", "saw:      \"before 'review'\""),
    )

    def edits_in_place(trace: Any, text: str) -> Any:
        checkpoint = trace.checkpoint(at("post", "draft"))
        checkpoint.shared["draft"] = text  # the trace's snapshot: not a fork
        return checkpoint

    fails("fork after draft", edits_in_place, trace, desk, saying=("is not a fork",))

    def keeps_the_draft(trace: Any, text: str) -> Any:
        return trace.checkpoint(at("post", "draft")).fork()

    fails(
        "fork after draft",
        keeps_the_draft,
        trace,
        desk,
        saying=("the draft in fork_after_draft", "Honeybees"),
    )
    fails(
        "fork after draft",
        lambda trace, text: None,
        trace,
        desk,
        saying=("should return a Checkpoint", "saw: None"),
    )


@pytest.mark.parametrize("name", sorted(exercises.CHECKS))
def test_no_check_passes_an_empty_answer(name: str) -> None:
    empty: dict[str, Callable[[], Any]] = {"every file": dict}
    answer = empty.get(name, lambda: Node)()
    assert not exercises.check(name, answer).passed
