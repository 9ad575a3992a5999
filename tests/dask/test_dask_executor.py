"""Batch items on a real Dask cluster: two worker processes started by a ``LocalCluster``.

Dask pickles with cloudpickle, so node classes defined inside a test function reach the
workers, as a notebook's classes do. The core never imports Dask: it sees only the
``concurrent.futures.Executor`` that ``client.get_executor()`` returns.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

from pocketflow import AsyncParallelBatchNode, BatchNode, Flow, observe
from pocketflow.events import Event
from pocketflow.timeline import build_timeline
from pocketflow.trace import record

try:
    import distributed
except ImportError:  # pragma: no cover - the test extra installs it
    if os.environ.get("CI"):
        raise
    pytest.skip("Dask is not installed: pip install -e '.[dask]'", allow_module_level=True)

README = Path(__file__).resolve().parents[2] / "README.md"
DEADLINE = 60


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def executor(client: distributed.Client) -> Iterator[Any]:
    executor = client.get_executor()
    yield executor
    executor.shutdown(wait=False)


def test_a_batch_runs_on_the_workers_and_comes_back_in_order(executor: Any) -> None:
    class WherePid(BatchNode):  # defined here: only cloudpickle can send it
        def prep(self, shared: dict[str, Any]) -> Any:
            return shared["items"]

        def exec(self, item: int) -> tuple[int, int]:
            return item * item, os.getpid()

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    seen: list[Event] = []
    shared: dict[str, Any] = {"items": list(range(8))}
    with observe(seen.append):
        WherePid(executor=executor).run(shared)
    assert [square for square, _ in shared["out"]] == [i * i for i in range(8)]
    assert os.getpid() not in {pid for _, pid in shared["out"]}
    assert [e.item for e in seen if e.kind == "item"] == list(range(8))


def test_retries_and_the_fallback_run_on_the_worker(executor: Any) -> None:
    parent = os.getpid()

    class Flaky(BatchNode):
        def prep(self, shared: dict[str, Any]) -> Any:
            return [0, 1]

        def exec(self, item: int) -> tuple[str, int, bool]:
            if item == 1 or self.cur_retry == 0:
                raise ValueError(f"item {item}, try {self.cur_retry}")
            return "exec", self.cur_retry, os.getpid() != parent

        def exec_fallback(self, prep_res: Any, exc: Exception) -> tuple[str, int, bool]:
            return "fallback", self.cur_retry, os.getpid() != parent

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    seen: list[Event] = []
    shared: dict[str, Any] = {}
    with observe(seen.append):
        Flaky(max_retries=2, executor=executor).run(shared)
    assert shared["out"] == [("exec", 1, True), ("fallback", 1, True)]
    assert [(e.kind, e.item, e.attempt) for e in seen if e.kind in ("retry", "fallback")] == [
        ("retry", 0, 0), ("retry", 1, 0), ("fallback", 1, 1)
    ]  # fmt: skip


class Watched(Executor):
    """The cluster's executor, keeping every future it hands out: what the batch was given,
    seen through the ``concurrent.futures`` API alone.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self.executor.submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.executor.shutdown(wait=wait)


def test_a_failure_cancels_the_rest_and_reaches_no_shared(
    client: distributed.Client, executor: Any
) -> None:
    """Item 0 fails at once; the others wait for an event that is set only afterwards."""
    release = distributed.Event(f"release-{uuid.uuid4()}", client=client)
    watched = Watched(executor)

    class FailsFirst(BatchNode):
        def prep(self, shared: dict[str, Any]) -> Any:
            return list(range(6))

        def exec(self, item: int) -> int:
            if item == 0:
                raise KeyError("item 0")
            assert distributed.Event(release.name).wait(DEADLINE)
            return item

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    shared: dict[str, Any] = {}
    try:
        with pytest.raises(KeyError) as caught:
            FailsFirst(executor=watched, name="fails").run(shared)
        # Every other item is cancelled, which Dask's executor passes on to the cluster: those
        # not started never run; those running finish on their worker, their results dropped.
        assert [future.cancelled() for future in watched.futures] == [False] + [True] * 5
        assert isinstance(watched.futures[0].exception(), KeyError)
    finally:
        release.set()
    assert "pocketflow: batch item 0 failed in Watched" in caught.value.__notes__
    assert shared == {}


def test_an_async_parallel_batch_awaits_the_cluster(executor: Any) -> None:
    class Square(AsyncParallelBatchNode):
        async def prep_async(self, shared: dict[str, Any]) -> Any:
            return list(range(6))

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(0.01)  # a real await, in the worker's own event loop
            return item * item

        async def post_async(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    async def main() -> tuple[list[int], int]:
        ticks = 0

        async def meanwhile() -> None:  # the loop is free while the workers compute
            nonlocal ticks
            while "out" not in shared:
                ticks += 1
                await asyncio.sleep(0)

        shared: dict[str, Any] = {}
        await asyncio.gather(
            Square(executor=executor, max_concurrency=2).run_async(shared), meanwhile()
        )
        return shared["out"], ticks

    out, ticks = asyncio.run(main())
    assert out == [0, 1, 4, 9, 16, 25]
    assert ticks > 0


def test_an_executor_shut_down_mid_run_is_named(client: distributed.Client) -> None:
    executor = client.get_executor()

    class Square(BatchNode):
        def prep(self, shared: dict[str, Any]) -> Any:
            return [1, 2, 3]

        def exec(self, item: int) -> int:
            return item * item

    def shut_down_after_the_first(event: Event) -> None:
        if event.kind == "item":
            executor.shutdown(wait=False)

    with observe(shut_down_after_the_first), pytest.raises(RuntimeError) as caught:
        Square(executor=executor, max_concurrency=1, name="squares").run({})
    assert str(caught.value).startswith(
        "BatchNode 'squares': the executor refused batch item 1 (cannot schedule new futures "
        "after shutdown); was it shut down during the run?"
    )


def test_the_readme_points_a_batch_at_an_existing_cluster(client: distributed.Client) -> None:
    """The README's Dask example, with the address of this test's cluster for its ``tcp://``
    placeholder (the thread-pool example before it defines the node).
    """
    section = README.read_text(encoding="utf-8").split("## Scaling a batch out", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```py(?:thon)?\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2 and 'Client("tcp://' in blocks[1]
    dask_block = re.sub(r'Client\("tcp://[^"]*"\)', f'Client("{client.scheduler.address}")',
                        blocks[1])  # fmt: skip
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    exec(compile(dask_block, str(README), "exec"), namespace)
    assert namespace["shared"]["squares"] == [1, 4, 9]


def test_a_batch_on_the_cluster_inside_a_flow(executor: Any) -> None:
    class Double(BatchNode):
        def prep(self, shared: dict[str, Any]) -> Any:
            return shared["numbers"]

        def exec(self, number: int) -> int:
            return number * 2

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
            shared["numbers"] = exec_res
            return "again" if max(exec_res) < 10 else "done"

    double = Double(executor=executor)
    double - "again" >> double
    double - "done" >> None
    shared = {"numbers": [1, 2]}
    assert Flow(start=double).run(shared) == "done"
    assert shared["numbers"] == [8, 16]


def test_items_on_the_workers_are_drawn_as_they_ran_at_once(
    client: distributed.Client, executor: Any
) -> None:
    """Each of the two items waits until the other has started, so the two workers ran them
    at the same time: their ``item`` events say when, by each worker's own measure, and the
    timeline draws them overlapping, each after its wait in the cluster's queue.
    """
    names = [f"started-{index}-{uuid.uuid4()}" for index in range(2)]
    flags = [distributed.Event(name, client=client) for name in names]

    class Meet(BatchNode):
        def prep(self, shared: dict[str, Any]) -> Any:
            return [0, 1]

        def exec(self, item: int) -> int:
            distributed.Event(names[item]).set()
            assert distributed.Event(names[1 - item]).wait(DEADLINE)
            return item

    seen: list[Event] = []
    try:
        with observe(seen.append):
            trace = record(Meet(executor=executor, name="meet"), {})
    finally:
        for flag in flags:
            flag.set()
    prep = next(e for e in seen if e.kind == "prep")
    spans = [e.ran for e in seen if e.kind == "item"]
    assert all(prep.time <= span[0] <= span[1] for span in spans if span is not None)
    tries = [bar for bar in build_timeline(trace).bars if bar.kind == "try"]
    assert len(tries) == 2 and {bar.state for bar in tries} == {"done"}
    first, second = tries
    assert second.start < first.end and first.start < second.end  # type: ignore[operator]
