"""What the chapters say about the original PocketFlow, checked against the original itself.

A chapter cell that states how the original (``pocketflow==0.0.3``) behaves carries a tag
``claim:<id>``. Each id has one check here, a function that takes a PocketFlow module and
fails unless the claim holds for it; the checks run against the original, loaded beside this
library by ``bench/reference.py``. A tagged claim without a check fails, and so does a check
whose claim no chapter makes any more.

A claim that the original *differs* from this library (``differs=True``) is also run against
this library, where it must fail: that proves its check can tell the two apart.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

import pocketflow

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r"claim:(?P<id>.*)")
#: How a chapter opens a note on what the original does (see test_notebooks.py).
CALLOUT = "> **Beyond the original PocketFlow:**"
ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebooks_build", ROOT / "notebooks/build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load_build()


class Check(NamedTuple):
    """The check of one claim, and whether the claim says the original differs from us."""

    run: Callable[[ModuleType], None]
    differs: bool


CHECKS: dict[str, Check] = {}


def claim(claim_id: str, *, differs: bool = False) -> Callable[[Callable[[ModuleType], None]], Any]:
    """Register the decorated function as the check of the claim tagged ``claim:<claim_id>``."""

    def register(check: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
        assert claim_id not in CHECKS, f"two checks for claim {claim_id!r}"
        CHECKS[claim_id] = Check(check, differs)
        return check

    return register


def tagged_claims() -> dict[str, list[str]]:
    """Each claim id tagged in a chapter -> the cells (``chapter/cell-NN``) that carry it."""
    found: dict[str, list[str]] = {}
    for source in build.select([]):
        for cell in build.read(source).cells:
            for tag in cell.metadata.get("tags", []):
                if match := TAG.fullmatch(tag):
                    found.setdefault(match["id"], []).append(f"{source.stem}/{cell.id}")
    return found


@contextmanager
def caught_warnings() -> Iterator[list[str]]:
    """The text of every warning raised inside the block, each time it is raised."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    messages.extend(str(w.message) for w in caught)


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- 01 shared state ----------------------------------------------------------------------


@claim("shared-is-not-copied")
def _(pf: ModuleType) -> None:
    seen = []

    class Look(pf.Node):
        def prep(self, shared):
            seen.append(shared)
            shared["seen"] = True

    first = Look()
    first >> Look()
    shared: dict[str, Any] = {}
    pf.Flow(start=first).run(shared)
    assert seen == [shared, shared] and all(s is shared for s in seen)


# -- 02 nodes -----------------------------------------------------------------------------


@claim("only-exec-is-retried")
def _(pf: ModuleType) -> None:
    calls: list[str] = []

    class Flaky(pf.Node):
        def prep(self, shared):
            calls.append("prep")

        def exec(self, prep_res):
            calls.append(f"exec {self.cur_retry}")
            if self.cur_retry < 2:
                raise ConnectionError("down")
            return "ok"

        def post(self, shared, prep_res, exec_res):
            calls.append(f"post {exec_res}")

    Flaky(max_retries=3).run({})
    assert calls == ["prep", "exec 0", "exec 1", "exec 2", "post ok"], calls


@claim("fallback-result-goes-to-post")
def _(pf: ModuleType) -> None:
    class Fails(pf.Node):
        def exec(self, prep_res):
            raise ValueError("no")

        def exec_fallback(self, prep_res, exc):
            return f"fallback after {exc}"

        def post(self, shared, prep_res, exec_res):
            shared["result"] = exec_res

    shared: dict[str, Any] = {}
    Fails(max_retries=2).run(shared)
    assert shared == {"result": "fallback after no"}


# -- 03 params ----------------------------------------------------------------------------


@claim("one-params-dict-per-run")
def _(pf: ModuleType) -> None:
    seen = []

    class Stamp(pf.Node):
        def prep(self, shared):
            seen.append(self.params)
            self.params["stamped"] = True

    class Report(pf.Node):
        def prep(self, shared):
            seen.append(self.params)

    stamp = Stamp()
    stamp >> Report()
    flow = pf.Flow(start=stamp)
    flow.set_params({"filename": "bees.txt"})
    flow.run({})
    assert seen[0] is seen[1], "the two nodes of one run received different dicts"
    assert seen[1] == {"filename": "bees.txt", "stamped": True}
    assert flow.params == {"filename": "bees.txt"}, "the flow's own params changed"
    flow.run({})
    assert seen[2] is not seen[0], "two runs of the flow shared one dict"


@claim("flow-replaces-node-params")
def _(pf: ModuleType) -> None:
    seen = []

    class Report(pf.Node):
        def prep(self, shared):
            seen.append(dict(self.params))

    report = Report()
    report.set_params({"filename": "bees.txt", "style": "short"})
    flow = pf.Flow(start=report)
    flow.set_params({"filename": "moon.txt"})
    flow.run({})
    pf.Flow(start=report).run({})
    assert seen == [{"filename": "moon.txt"}, {}]
    assert report.params == {"filename": "bees.txt", "style": "short"}, "the wired node changed"


@claim("nested-flow-params-replaced")
def _(pf: ModuleType) -> None:
    seen = []

    class Report(pf.Node):
        def prep(self, shared):
            seen.append(dict(self.params))

    inner = pf.Flow(start=Report())
    inner.set_params({"inner": 1})
    outer = pf.Flow(start=inner)
    outer.set_params({"outer": 2})
    outer.run({})
    assert seen == [{"outer": 2}]


@claim("no-error-note", differs=True)
def _(pf: ModuleType) -> None:
    class Fails(pf.Node):
        def prep(self, shared):
            return self.params["filename"]

    with pytest.raises(KeyError) as raised:
        pf.Flow(start=Fails()).run({})
    assert not getattr(raised.value, "__notes__", None), raised.value.__notes__


# -- 04 transitions -----------------------------------------------------------------------


@claim("rshift-returns-right-node")
def _(pf: ModuleType) -> None:
    a, b, c = pf.Node(), pf.Node(), pf.Node()
    assert (a >> b) is b
    assert (b - "next" >> c) is c
    assert a.successors == {"default": b} and b.successors == {"next": c}


@claim("none-action-means-default")
def _(pf: ModuleType) -> None:
    ran = []

    class Second(pf.Node):
        def post(self, shared, prep_res, exec_res):
            ran.append("second")

    first = pf.Node()  # its post returns None
    first >> Second()
    pf.Flow(start=first).run({})
    assert ran == ["second"]


@claim("flow-ends-warning")
def _(pf: ModuleType) -> None:
    class Says(pf.Node):
        def post(self, shared, prep_res, exec_res):
            return "reject"

    says, last = Says(), pf.Node()
    says - "approve" >> last
    with caught_warnings() as branching:
        assert pf.Flow(start=says).run({}) == "reject"
    assert branching == ["Flow ends: 'reject' not found in ['approve']"], branching
    with caught_warnings() as alone:
        assert pf.Flow(start=Says()).run({}) == "reject"
    assert alone == [], alone


@claim("declared-end-warns", differs=True)
def _(pf: ModuleType) -> None:
    class Says(pf.Node):
        def post(self, shared, prep_res, exec_res):
            return "reject"

    says = Says()
    says - "approve" >> pf.Node()
    says - "reject" >> None
    with caught_warnings() as messages:
        pf.Flow(start=says).run({})
    assert messages == ["Flow ends: 'reject' not found in ['approve', 'reject']"], messages


@claim("overwriting-successor-warns")
def _(pf: ModuleType) -> None:
    a, b, c = pf.Node(), pf.Node(), pf.Node()
    with caught_warnings() as messages:
        a - "revise" >> b
        a - "revise" >> c
    assert messages == ["Overwriting successor for action 'revise'"], messages
    assert a.successors["revise"] is c


@claim("node-run-warns-about-successors")
def _(pf: ModuleType) -> None:
    ran = []

    class Second(pf.Node):
        def prep(self, shared):
            ran.append("second")

    first = pf.Node()
    first >> Second()
    with caught_warnings() as messages:
        first.run({})
    assert messages == ["Node won't run successors. Use Flow."], messages
    assert ran == []


@claim("flow-returns-last-action")
def _(pf: ModuleType) -> None:
    class Done(pf.Node):
        def post(self, shared, prep_res, exec_res):
            return "done"

    first = pf.Node()
    first >> Done()
    assert pf.Flow(start=first).run({}) == "done"


@claim("no-name-keyword", differs=True)
def _(pf: ModuleType) -> None:
    for make in (lambda: pf.Node(name="draft"), lambda: pf.Flow(start=None, name="desk")):
        with pytest.raises(TypeError):
            make()


@claim("no-max-steps", differs=True)
def _(pf: ModuleType) -> None:
    with pytest.raises(TypeError):
        pf.Flow(start=pf.Node(), max_steps=25)


@claim("no-toolkit", differs=True)
def _(pf: ModuleType) -> None:
    assert not hasattr(pf, "observe") and not hasattr(pf, "trace")
    drawn = ("_repr_mimebundle_", "_repr_svg_", "_repr_html_", "_repr_markdown_")
    assert not any(hasattr(pf.Flow, method) for method in drawn), "a flow draws itself"


@claim("no-events", differs=True)
def _(pf: ModuleType) -> None:
    assert not hasattr(pf, "observe")
    assert not hasattr(pf.Node(), "steps") and not hasattr(pf.AsyncFlow(), "asteps")


@claim("no-resume", differs=True)
def _(pf: ModuleType) -> None:
    flow = pf.Flow(start=pf.Node())
    assert not hasattr(flow, "resume") and not hasattr(pf.AsyncFlow(), "resume_async")


# -- 05 flows -----------------------------------------------------------------------------


@claim("flow-exec-never-called")
def _(pf: ModuleType) -> None:
    calls = []

    class Tracked(pf.Flow):
        def prep(self, shared):
            calls.append("prep")

        def exec(self, prep_res):
            calls.append("exec")

        def post(self, shared, prep_res, exec_res):
            calls.append(f"post {exec_res}")
            return exec_res

    class Done(pf.Node):
        def post(self, shared, prep_res, exec_res):
            calls.append("node")
            return "done"

    assert Tracked(start=Done()).run({}) == "done"
    assert calls == ["prep", "node", "post done"], calls


@claim("subflow-result-picks-edge")
def _(pf: ModuleType) -> None:
    class Check(pf.Node):
        def post(self, shared, prep_res, exec_res):
            return "reject"

    class Archive(pf.Node):
        def post(self, shared, prep_res, exec_res):
            shared["archived"] = True

    writing = pf.Flow(start=Check())
    writing - "approve" >> pf.Node()
    writing - "reject" >> Archive()
    shared: dict[str, Any] = {}
    pf.Flow(start=writing).run(shared)
    assert shared == {"archived": True}


# -- 06 batches ---------------------------------------------------------------------------


@claim("batch-node-exec-per-item")
def _(pf: ModuleType) -> None:
    class Double(pf.BatchNode):
        def prep(self, shared):
            return shared["items"]

        def exec(self, item):
            return item * 2

        def post(self, shared, prep_res, exec_res):
            shared["doubled"] = exec_res

    shared = {"items": [3, 1, 2]}
    Double().run(shared)
    assert shared["doubled"] == [6, 2, 4]
    empty: dict[str, Any] = {"items": None}
    Double().run(empty)
    assert empty["doubled"] == []


@claim("string-items-are-characters", differs=True)
def _(pf: ModuleType) -> None:
    class Upper(pf.BatchNode):
        def prep(self, shared):
            return "abc"

        def exec(self, item):
            return item.upper()

        def post(self, shared, prep_res, exec_res):
            shared["items"] = exec_res

    shared: dict[str, Any] = {}
    Upper().run(shared)
    assert shared == {"items": ["A", "B", "C"]}


@claim("batch-flow-post-gets-none")
def _(pf: ModuleType) -> None:
    seen = []

    class Each(pf.BatchFlow):
        def prep(self, shared):
            return [{"filename": "a"}, {"filename": "b"}]

        def post(self, shared, prep_res, exec_res):
            seen.append((prep_res, exec_res))
            return exec_res

    class Done(pf.Node):
        def post(self, shared, prep_res, exec_res):
            return "done"

    assert Each(start=Done()).run({}) is None
    assert seen == [([{"filename": "a"}, {"filename": "b"}], None)]


@claim("batch-flow-params-merged")
def _(pf: ModuleType) -> None:
    seen = []

    class Report(pf.Node):
        def prep(self, shared):
            seen.append(dict(self.params))

    class EachFile(pf.BatchFlow):
        def prep(self, shared):
            return [{"filename": f} for f in shared["library"][self.params["folder"]]]

    class EachFolder(pf.BatchFlow):
        def prep(self, shared):
            return [{"folder": folder} for folder in shared["library"]]

    EachFolder(start=EachFile(start=Report())).run({"library": {"n": ["a", "b"], "k": ["c"]}})
    assert seen == [
        {"folder": "n", "filename": "a"},
        {"folder": "n", "filename": "b"},
        {"folder": "k", "filename": "c"},
    ]


# -- 07 async -----------------------------------------------------------------------------


@claim("async-flow-runs-sync-nodes")
def _(pf: ModuleType) -> None:
    ran = []

    class Fetch(pf.AsyncNode):
        async def exec_async(self, prep_res):
            await asyncio.sleep(0)
            ran.append("async")

    class Suggest(pf.Node):
        def exec(self, prep_res):
            ran.append("sync")

    fetch = Fetch()
    fetch >> Suggest()
    _run(pf.AsyncFlow(start=fetch).run_async({}))
    assert ran == ["async", "sync"]


@claim("async-start-node-fails-when-run", differs=True)
def _(pf: ModuleType) -> None:
    flow = pf.Flow(start=pf.AsyncNode())  # the original accepts this
    with pytest.raises(RuntimeError) as raised:
        flow.run({})
    assert str(raised.value) == "Use run_async."


@claim("async-cur-retry-unset", differs=True)
def _(pf: ModuleType) -> None:
    class Reads(pf.AsyncNode):
        async def exec_async(self, prep_res):
            return self.cur_retry

    with pytest.raises(AttributeError):
        _run(Reads(max_retries=2).run_async({}))


@claim("parallel-items-run-on-after-failure", differs=True)
def _(pf: ModuleType) -> None:
    finished: list[str] = []

    class Fetch(pf.AsyncParallelBatchNode):
        async def prep_async(self, shared):
            return ["egg", "plutonium", "tomato"]

        async def exec_async(self, item):
            if item == "plutonium":
                raise LookupError(item)
            await asyncio.sleep(0.05)
            finished.append(item)

    async def main() -> list[str]:
        with pytest.raises(LookupError):
            await Fetch().run_async({})
        seen_at_failure = list(finished)
        await asyncio.sleep(0.1)
        return seen_at_failure

    assert _run(main()) == []
    assert sorted(finished) == ["egg", "tomato"], "the other items did not run on"


@claim("parallel-batch-uses-gather", differs=True)
def _(pf: ModuleType) -> None:
    assert "asyncio.gather(" in inspect.getsource(pf.AsyncParallelBatchNode)


@claim("parallel-results-in-order")
def _(pf: ModuleType) -> None:
    class Fetch(pf.AsyncParallelBatchNode):
        async def prep_async(self, shared):
            return [0.03, 0.01, 0.02]

        async def exec_async(self, delay):
            await asyncio.sleep(delay)
            return delay

        async def post_async(self, shared, prep_res, exec_res):
            shared["results"] = exec_res

    shared: dict[str, Any] = {}
    _run(Fetch().run_async(shared))
    assert shared["results"] == [0.03, 0.01, 0.02]


@claim("no-max-concurrency", differs=True)
def _(pf: ModuleType) -> None:
    with pytest.raises(TypeError):
        pf.AsyncParallelBatchNode(max_concurrency=2)


# -- 10 scaling out ----------------------------------------------------------------------


@claim("no-executor", differs=True)
def _(pf: ModuleType) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool, pytest.raises(TypeError):
        pf.BatchNode(executor=pool)


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def original() -> ModuleType:
    """The original release ``pocketflow==0.0.3``, loaded as ``pocketflow_reference``."""
    try:
        from bench.reference import load_reference

        return load_reference()
    except Exception as exc:  # no network and no cached wheel
        reason = f"the original pocketflow==0.0.3 could not be loaded: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)


def test_every_claim_tag_names_an_id() -> None:
    bad = [claim_id for claim_id in tagged_claims() if not ID.fullmatch(claim_id)]
    assert not bad, f"claim ids are lower-case words joined by '-': {bad}"


def test_every_tagged_claim_has_a_check() -> None:
    missing = {
        claim_id: cells for claim_id, cells in tagged_claims().items() if claim_id not in CHECKS
    }
    assert not missing, (
        "claims about the original without a check in tests/notebooks/test_claims.py: "
        + ", ".join(f"{key} (tagged in {', '.join(cells)})" for key, cells in missing.items())
    )


def test_every_check_belongs_to_a_tagged_claim() -> None:
    orphans = sorted(set(CHECKS) - set(tagged_claims()))
    assert not orphans, f"checks of claims that no chapter cell is tagged with: {orphans}"


def test_every_callout_is_a_tagged_claim() -> None:
    """A callout says how the original behaves, so its cell carries the claims it makes."""
    untagged = [
        f"{source.stem}/{cell.id}"
        for source in build.select([])
        for cell in build.read(source).cells
        if CALLOUT in cell.source
        and not any(TAG.fullmatch(tag) for tag in cell.metadata.get("tags", []))
    ]
    assert not untagged, f"callouts without a claim:<id> tag: {untagged}"


@pytest.mark.parametrize("claim_id", sorted(CHECKS))
def test_claim_holds_in_the_original(claim_id: str, original: ModuleType) -> None:
    CHECKS[claim_id].run(original)


@pytest.mark.parametrize("claim_id", sorted(k for k, check in CHECKS.items() if check.differs))
def test_claim_of_a_difference_fails_for_this_library(claim_id: str) -> None:
    with pytest.raises((Exception, pytest.fail.Exception)):
        CHECKS[claim_id].run(pocketflow)
