"""Batch items on an executor: `BatchNode(executor=...)`, `AsyncParallelBatchNode(executor=...)`.

Thread pools, process pools and a gated executor of our own whose worker takes the next item
only when the test says so: that is how "not started yet" is made certain, without sleeping.
Process pools use the ``fork`` start method, so the worker processes know this module's node
classes; the one test about a class the workers cannot import uses ``spawn`` on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

from pocketflow import (
    AsyncBatchNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BatchFlow,
    BatchNode,
    Flow,
    Node,
    observe,
)
from pocketflow.events import Event
from pocketflow.timeline import build_timeline
from pocketflow.trace import Recorder, Trace, arecord, record

#: How long a test waits for something that must happen at once; only reached on a failure.
DEADLINE = 30


class Square(BatchNode):
    def prep(self, shared: dict[str, Any]) -> Any:
        return shared["items"]

    def exec(self, item: int) -> int:
        return item * item

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["out"] = exec_res


class AsyncSquare(AsyncParallelBatchNode):
    async def prep_async(self, shared: dict[str, Any]) -> Any:
        return shared["items"]

    async def exec_async(self, item: int) -> int:
        await asyncio.sleep(0)  # a real await, in the worker's own event loop
        return item * item

    async def post_async(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
        shared["out"] = exec_res


class WherePid(Square):
    """Each result says which process ran ``exec`` and which ran ``exec_fallback``."""

    def exec(self, item: int) -> tuple[str, int, int]:
        if self.cur_retry < 2:
            raise ValueError(f"try {self.cur_retry} of item {item}")
        return ("exec", item, os.getpid())

    def exec_fallback(self, prep_res: Any, exc: Exception) -> tuple[str, int, int]:
        return ("fallback", prep_res, os.getpid())


class FailsOnThree(Square):
    def exec(self, item: int) -> int:
        if item == 3:
            raise KeyError(item)
        return item


class Holder(Node):
    """A successor that cannot be pickled: workers must never be sent it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


def items_shared(count: int) -> dict[str, Any]:
    return {"items": list(range(count))}


class GatedExecutor(Executor):
    """One worker thread that takes the next submitted call only when :meth:`open` allows it,
    so a test knows exactly which items have started: the others are still pending futures.
    """

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self.gate = threading.Semaphore(0)
        self.ready = threading.Condition()
        self.stopped = False
        self.ran: list[int] = []  # the item index of each call that ran
        self.submitted = threading.Semaphore(0)  # released once per call submitted
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self.ready:
            self.jobs.append((future, fn, args))
            self.ready.notify()
        self.submitted.release()
        return future

    def open(self, count: int = 1) -> None:
        """Let ``count`` more calls start."""
        for _ in range(count):
            self.gate.release()

    def _work(self) -> None:
        taken = 0
        while True:
            self.gate.acquire()
            with self.ready:
                while taken >= len(self.jobs) and not self.stopped:
                    self.ready.wait()
                if taken >= len(self.jobs):
                    return
                future, fn, args = self.jobs[taken]
                taken += 1
            if not future.set_running_or_notify_cancel():
                continue
            self.ran.append(args[-2])  # the item index: call(..., item, index, report)
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self.ready:
            self.stopped = True
            self.ready.notify()
        self.open(len(self.jobs) + 1)
        if wait:
            self.thread.join(DEADLINE)


class CountingExecutor(Executor):
    """A thread pool that counts how many submitted calls are not done yet, at most."""

    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(workers)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.futures: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        future = self.pool.submit(fn, *args, **kwargs)
        self.futures.append(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        with self.lock:
            self.in_flight -= 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as pool:
        yield pool


@pytest.fixture
def gated() -> Iterator[GatedExecutor]:
    executor = GatedExecutor()
    yield executor
    executor.shutdown()


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessPoolExecutor]:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method, so that workers know this module's classes")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def kinds(events: list[Event], *wanted: str) -> list[tuple[str, int | None, int | None]]:
    return [(e.kind, e.item, e.attempt) for e in events if e.kind in wanted]


# -- results, order, concurrency -----------------------------------------------------------------


def test_a_batch_on_a_thread_pool_gives_the_results_in_input_order() -> None:
    """Item 0 finishes last (it waits for item 2), yet its result comes first."""
    two_done = threading.Event()

    class Reversed(Square):
        def exec(self, item: int) -> int:
            if item == 0:
                assert two_done.wait(DEADLINE)
            if item == 2:
                two_done.set()
            return item * 10

    seen: list[Event] = []
    shared = items_shared(3)
    with ThreadPoolExecutor(3) as pool, observe(seen.append):
        Reversed(executor=pool).run(shared)
    assert shared["out"] == [0, 10, 20]
    # A sync batch reports its items in input order, as it does without an executor.
    assert [e.item for e in seen if e.kind == "item"] == [0, 1, 2]
    assert [e.value for e in seen if e.kind == "item"] == [0, 10, 20]


def test_a_parallel_batch_on_an_executor_reports_items_as_they_come_back() -> None:
    """Item 0 waits until item 1's ``item`` event was seen: so item 1 is reported first."""
    one_reported = threading.Event()

    class Waits(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            if item == 0:
                assert one_reported.wait(DEADLINE)  # blocks the worker, not the caller's loop
            return item + 100

    def watch(event: Event) -> None:
        if event.kind == "item" and event.item == 1:
            one_reported.set()

    seen: list[Event] = []
    shared = items_shared(2)
    with ThreadPoolExecutor(2) as pool, observe(seen.append, watch):
        asyncio.run(Waits(executor=pool).run_async(shared))
    assert shared["out"] == [100, 101]
    assert [(e.item, e.total) for e in seen if e.kind == "item"] == [(1, 2), (0, 2)]


def test_the_items_run_in_the_executor_threads(threads: ThreadPoolExecutor) -> None:
    class Where(Square):
        def exec(self, item: int) -> str:
            return threading.current_thread().name

    shared = items_shared(4)
    Where(executor=threads).run(shared)
    assert all(name.startswith("ThreadPoolExecutor") for name in shared["out"])


def test_a_process_pool_runs_the_items_in_other_processes(processes: ProcessPoolExecutor) -> None:
    shared = items_shared(6)
    Square(executor=processes).run(shared)
    assert shared["out"] == [0, 1, 4, 9, 16, 25]
    shared = items_shared(4)
    WherePid(max_retries=3, executor=processes).run(shared)
    assert [(what, item) for what, item, _ in shared["out"]] == [("exec", i) for i in range(4)]
    assert os.getpid() not in {pid for _, _, pid in shared["out"]}


def test_an_async_parallel_batch_on_a_process_pool(processes: ProcessPoolExecutor) -> None:
    shared = items_shared(5)
    asyncio.run(AsyncSquare(executor=processes, max_concurrency=2).run_async(shared))
    assert shared["out"] == [0, 1, 4, 9, 16]


@pytest.mark.parametrize("limit", [1, 3])
def test_max_concurrency_caps_the_items_submitted_at_once(limit: int) -> None:
    """A barrier of ``limit`` parties proves that many run together; the count, no more."""
    together = threading.Barrier(limit, timeout=DEADLINE)

    class Meet(Square):
        def exec(self, item: int) -> int:
            together.wait()
            return item

    executor = CountingExecutor(workers=limit + 2)
    shared = items_shared(limit * 4)
    with executor.pool:
        Meet(executor=executor, max_concurrency=limit).run(shared)
    assert shared["out"] == list(range(limit * 4))
    assert executor.most == limit


def test_max_concurrency_caps_an_async_parallel_batch_on_an_executor() -> None:
    together = threading.Barrier(2, timeout=DEADLINE)

    class Meet(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            together.wait()
            return item

    executor = CountingExecutor(workers=5)
    shared = items_shared(8)
    with executor.pool:
        asyncio.run(Meet(executor=executor, max_concurrency=2).run_async(shared))
    assert shared["out"] == list(range(8))
    assert executor.most == 2


def test_an_async_batch_keeps_its_loop_running_while_items_run() -> None:
    """An item waits for a coroutine of the caller's loop: it could not run if the batch
    blocked the loop while waiting for the executor.
    """
    loop_ran = threading.Event()

    class NeedsTheLoop(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            assert loop_ran.wait(DEADLINE)
            return item

    async def main(pool: Executor) -> list[int]:
        async def meanwhile() -> None:
            await asyncio.sleep(0)
            loop_ran.set()

        shared = items_shared(2)
        await asyncio.gather(NeedsTheLoop(executor=pool).run_async(shared), meanwhile())
        return shared["out"]  # type: ignore[no-any-return]

    with ThreadPoolExecutor(2) as pool:
        assert asyncio.run(main(pool)) == [0, 1]


def test_an_async_batch_node_on_an_executor_reports_in_input_order(
    threads: ThreadPoolExecutor,
) -> None:
    class Sequential(AsyncBatchNode):
        async def prep_async(self, shared: dict[str, Any]) -> Any:
            return shared["items"]

        async def exec_async(self, item: int) -> int:
            return -item

        async def post_async(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    seen: list[Event] = []
    shared = items_shared(5)
    with observe(seen.append):
        asyncio.run(Sequential(executor=threads, max_concurrency=2).run_async(shared))
    assert shared["out"] == [0, -1, -2, -3, -4]
    assert [e.item for e in seen if e.kind == "item"] == [0, 1, 2, 3, 4]


def test_no_items_submit_nothing(gated: GatedExecutor) -> None:
    shared: dict[str, Any] = {"items": None}
    Square(executor=gated).run(shared)
    assert shared["out"] == []
    assert gated.jobs == []


def test_a_batch_on_an_executor_inside_a_flow(threads: ThreadPoolExecutor) -> None:
    """The flow's per-run copy of the node keeps its executor; the successor runs after."""

    class After(Node):
        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["after"] = sum(shared["out"])

    square = Square(executor=threads, name="square")
    square >> After()
    shared = items_shared(4)
    trace = record(Flow(start=square), shared)
    assert shared["after"] == 14
    assert [s.item for s in trace.steps if s.kind == "item"] == [0, 1, 2, 3]


# -- retries and fallback, in the worker --------------------------------------------------------


def test_retries_and_the_fallback_run_in_the_worker_and_their_events_come_back(
    threads: ThreadPoolExecutor,
) -> None:
    main_thread = threading.get_ident()

    class Where(Square):
        def exec(self, item: int) -> tuple[str, int, int, bool]:
            if item == 1 or self.cur_retry < 2:
                raise ValueError(f"item {item}, try {self.cur_retry}")
            return ("exec", item, self.cur_retry, threading.get_ident() != main_thread)

        def exec_fallback(self, prep_res: Any, exc: Exception) -> tuple[str, int, int, bool]:
            return ("fallback", prep_res, self.cur_retry, threading.get_ident() != main_thread)

    seen: list[Event] = []
    shared = items_shared(2)
    with observe(seen.append):
        Where(max_retries=3, executor=threads).run(shared)
    # Each item counts its own tries (a copy of the node per item), in a worker thread.
    assert shared["out"] == [("exec", 0, 2, True), ("fallback", 1, 2, True)]
    assert kinds(seen, "retry", "fallback", "item") == [
        ("retry", 0, 0), ("retry", 0, 1), ("item", 0, None),
        ("retry", 1, 0), ("retry", 1, 1), ("fallback", 1, 2), ("item", 1, None),
    ]  # fmt: skip
    fallback = next(e for e in seen if e.kind == "fallback")
    assert isinstance(fallback.value, ValueError) and str(fallback.value) == "item 1, try 2"


def test_items_on_threads_count_their_own_tries(threads: ThreadPoolExecutor) -> None:
    """Item 1 reads ``cur_retry`` while item 0, at the same time, is in its second try."""
    together, second_try = threading.Barrier(2, timeout=DEADLINE), threading.Event()

    class Counts(Square):
        def exec(self, item: int) -> tuple[int, int]:
            if item == 0 and self.cur_retry == 0:
                together.wait()
                raise ValueError("first try")
            if item == 0:
                second_try.set()
            else:
                together.wait()
                assert second_try.wait(DEADLINE)
            return item, self.cur_retry

    shared = items_shared(2)
    Counts(max_retries=2, executor=threads).run(shared)
    assert shared["out"] == [(0, 1), (1, 0)]


def test_replayed_retries_are_timed_within_their_item(threads: ThreadPoolExecutor) -> None:
    seen: list[Event] = []
    with observe(seen.append):
        WherePid(max_retries=3, executor=threads).run(items_shared(3))
    prep = next(e for e in seen if e.kind == "prep")
    for index in range(3):
        item = next(e for e in seen if e.kind == "item" and e.item == index)
        retries = [e for e in seen if e.kind == "retry" and e.item == index]
        assert [e.attempt for e in retries] == [0, 1]
        assert prep.time <= retries[0].time <= retries[1].time <= item.time


def test_retries_in_a_worker_process_come_back_too(processes: ProcessPoolExecutor) -> None:
    seen: list[Event] = []
    shared = items_shared(2)
    with observe(seen.append):
        WherePid(max_retries=3, executor=processes).run(shared)
    assert [(what, item) for what, item, _ in shared["out"]] == [("exec", 0), ("exec", 1)]
    assert kinds(seen, "retry") == [("retry", 0, 0), ("retry", 0, 1), ("retry", 1, 0),
                                    ("retry", 1, 1)]  # fmt: skip
    assert all(isinstance(e.value, ValueError) for e in seen if e.kind == "retry")


def test_a_failed_item_reports_its_tries_then_its_error(processes: ProcessPoolExecutor) -> None:
    class AlwaysFails(Square):
        def exec(self, item: int) -> int:
            raise ValueError(f"item {item}, try {self.cur_retry}")

    seen: list[Event] = []  # on threads: a class defined in a function cannot go to a process
    with ThreadPoolExecutor(1) as pool, observe(seen.append), pytest.raises(ValueError) as caught:
        AlwaysFails(max_retries=2, executor=pool).run(items_shared(1))
    assert kinds(seen, "retry", "fallback", "error") == [
        ("retry", 0, 0), ("fallback", 0, 1), ("error", None, None)
    ]
    assert str(caught.value) == "item 0, try 1"
    assert "pocketflow: batch item 0 failed in ThreadPoolExecutor" in caught.value.__notes__
    assert not hasattr(caught.value, "_pocketflow_report")  # the records were taken off

    with pytest.raises(KeyError) as caught_in_process:
        FailsOnThree(executor=processes).run(items_shared(5))
    notes = caught_in_process.value.__notes__
    assert "pocketflow: batch item 3 failed in ProcessPoolExecutor" in notes


# -- failures and cancellation ------------------------------------------------------------------


def test_a_failure_cancels_the_items_not_started(gated: GatedExecutor) -> None:
    shared = items_shared(5)
    node = FailsOnThree(executor=gated)
    gated.open(4)  # items 0 to 3 may start; 3 fails; 4 is still pending then
    with pytest.raises(KeyError):
        node.run(shared)
    gated.open(10)  # the worker may take every remaining call now: they were cancelled
    gated.shutdown()
    assert gated.ran == [0, 1, 2, 3]
    futures = [future for future, _, _ in gated.jobs]
    assert [future.cancelled() for future in futures] == [False] * 4 + [True]
    assert "out" not in shared


def test_a_failure_leaves_a_running_item_behind_and_its_result_goes_nowhere() -> None:
    """Item 0 is still running when item 1 fails: the run raises without waiting for it,
    and when it finishes, nothing of it reaches ``shared``.
    """
    release, finished = threading.Event(), threading.Event()

    class Slow(Square):
        def exec(self, item: int) -> int:
            if item == 1:
                raise RuntimeError("item 1 failed")
            assert release.wait(DEADLINE)
            finished.set()
            return item

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared["out"] = exec_res

    shared = items_shared(2)
    pool = ThreadPoolExecutor(2)
    with pytest.raises(RuntimeError, match="item 1 failed"):
        Slow(executor=pool).run(shared)
    assert not finished.is_set()  # the run did not wait for it
    release.set()
    pool.shutdown(wait=True)
    assert finished.is_set()
    assert shared == {"items": [0, 1]}


def test_an_async_failure_leaves_no_task_behind() -> None:
    release = threading.Event()

    class Slow(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            if item == 1:
                raise RuntimeError("item 1 failed")
            assert release.wait(DEADLINE)
            return item

    async def main(pool: Executor) -> set[asyncio.Task[Any]]:
        shared = items_shared(2)
        with pytest.raises(RuntimeError, match="item 1 failed"):
            await Slow(executor=pool).run_async(shared)
        assert "out" not in shared
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    with ThreadPoolExecutor(2) as pool:
        try:
            assert asyncio.run(main(pool)) == set()
        finally:
            release.set()


def test_cancelling_an_async_run_cancels_the_items_not_started(gated: GatedExecutor) -> None:
    started = threading.Event()

    class Blocks(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            started.set()
            return item

    async def main() -> None:
        task = asyncio.create_task(Blocks(executor=gated).run_async(items_shared(3)))
        gated.open()  # item 0 may run; 1 and 2 stay pending
        assert await asyncio.to_thread(started.wait, DEADLINE)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gated.open(10)
    gated.shutdown()
    assert gated.ran == [0]
    assert [future.cancelled() for future, _, _ in gated.jobs] == [False, True, True]


def test_closing_a_stepped_run_cancels_the_items_not_started(gated: GatedExecutor) -> None:
    gated.open()
    steps = Square(executor=gated).steps(items_shared(3))
    for event in steps:
        if event.kind == "item":
            break
    steps.close()
    gated.open(10)
    gated.shutdown()
    assert gated.ran == [0]
    assert [future.cancelled() for future, _, _ in gated.jobs] == [False, True, True]


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_an_interrupt_stops_a_sync_batch_waiting_for_its_executor(gated: GatedExecutor) -> None:
    """Ctrl-C (or a notebook's interrupt) while the batch waits: the wait ends at once, and
    the items not started are cancelled.
    """
    main = threading.get_ident()

    def interrupt_once_all_are_submitted() -> None:
        for _ in range(3):
            assert gated.submitted.acquire(timeout=DEADLINE)
        signal.pthread_kill(main, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_once_all_are_submitted)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        Square(executor=gated).run(items_shared(3))  # no item may start: it waits for ever
    interrupter.join(DEADLINE)
    assert [future.cancelled() for future, _, _ in gated.jobs] == [True, True, True]


# -- an executor shut down during the run --------------------------------------------------------


def test_an_executor_shut_down_before_an_item_is_submitted() -> None:
    pool = ThreadPoolExecutor(1)

    class ShutsDown(Square):
        def exec(self, item: int) -> int:
            pool.shutdown(wait=False)
            return item

    with pytest.raises(RuntimeError) as caught:
        ShutsDown(executor=pool, max_concurrency=1, name="shuts").run(items_shared(3))
    message = str(caught.value)
    assert "BatchNode 'shuts'" in message and "batch item 1" in message
    assert "shut down during the run" in message
    assert "cannot schedule new futures after shutdown" in message


class FillingPool(ThreadPoolExecutor):
    """One worker thread; :attr:`filled` is set once ``expected`` calls were submitted."""

    def __init__(self, expected: int) -> None:
        super().__init__(1)
        self.expected = expected
        self.filled = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        self.expected -= 1
        if not self.expected:
            self.filled.set()
        return future


def test_an_executor_shut_down_with_its_queued_items_cancelled() -> None:
    pool = FillingPool(expected=3)

    class ShutsDown(Square):
        def exec(self, item: int) -> int:
            assert pool.filled.wait(DEADLINE)  # items 1 and 2 wait in the pool's queue
            pool.shutdown(wait=False, cancel_futures=True)
            return item

    with pytest.raises(RuntimeError) as caught:
        ShutsDown(executor=pool, name="shuts").run(items_shared(3))
    message = str(caught.value)
    assert message.startswith("BatchNode 'shuts': batch item 1 was cancelled in the executor")
    assert "shut down during the run" in message


def test_an_async_batch_whose_executor_is_shut_down() -> None:
    pool = FillingPool(expected=3)

    class ShutsDown(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            assert pool.filled.wait(DEADLINE)
            pool.shutdown(wait=False, cancel_futures=True)
            return item

    with pytest.raises(RuntimeError, match="AsyncParallelBatchNode 'shuts': batch item 1 was"):
        asyncio.run(ShutsDown(executor=pool, name="shuts").run_async(items_shared(3)))


# -- what cannot be sent to a process ------------------------------------------------------------


def test_a_node_the_standard_pickle_refuses_is_named_before_anything_runs(
    processes: ProcessPoolExecutor,
) -> None:
    class Local(Square):  # defined in a function: pickle cannot name it
        pass

    with pytest.raises(TypeError) as caught:
        Local(executor=processes, name="local").run(items_shared(2))
    message = str(caught.value)
    assert message.startswith("BatchNode 'local' cannot be sent to a ProcessPoolExecutor")
    assert "define the node's class" in message and "cloudpickle" in message
    assert "Dask (client.get_executor())" in message
    assert caught.value.__cause__ is not None


def test_only_the_node_travels_not_its_successors(processes: ProcessPoolExecutor) -> None:
    square = Square(executor=processes)
    square >> Holder()  # a lock: unpicklable
    shared = items_shared(3)
    Flow(start=square).run(shared)
    assert shared["out"] == [0, 1, 4]


def test_a_class_the_worker_cannot_import_is_explained_from_the_worker() -> None:
    """The class lives in a module of this process only (as a notebook's ``__main__`` does for
    a worker started with ``spawn``): pickling by name works here, loading it there fails.
    """
    if "spawn" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the spawn start method")
    module = types.ModuleType("pocketflow_only_in_this_process")
    exec(
        "from pocketflow import BatchNode\n"
        "class Here(BatchNode):\n"
        "    def prep(self, shared):\n"
        "        return [1, 2]\n",
        module.__dict__,
    )
    sys.modules[module.__name__] = module
    try:
        pickle.dumps(module.Here())  # by name: fine in this process
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool, pytest.raises(TypeError) as caught:
            module.Here(executor=pool, name="here").run({})
    finally:
        del sys.modules[module.__name__]
    message = str(caught.value)
    assert message.startswith(
        "BatchNode 'here' could not be rebuilt in a ProcessPoolExecutor's worker process"
    )
    assert "ModuleNotFoundError" in message and "not in __main__, a notebook cell" in message


# -- bad input -----------------------------------------------------------------------------------


class FakeClient:
    def get_executor(self) -> None:
        return None


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        (42, "got 42 (int)"),
        (ThreadPoolExecutor, "(the class itself: pass an instance, ThreadPoolExecutor())"),
        (FakeClient(), "(a Dask Client? pass client.get_executor())"),
    ],
)
def test_an_executor_that_is_not_one_is_refused(bad: object, hint: str) -> None:
    for node_class in (BatchNode, AsyncParallelBatchNode, AsyncBatchNode):
        with pytest.raises(TypeError) as caught:
            node_class(executor=bad, name="crunch")  # type: ignore[arg-type]
        message = str(caught.value)
        assert message.startswith(f"{node_class.__name__} 'crunch': executor must be None")
        assert "concurrent.futures.Executor" in message and hint in message


def test_an_executor_attribute_set_later_is_checked_when_the_batch_runs() -> None:
    node = Square(name="square")
    node.executor = "threads"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="BatchNode 'square': executor must be None"):
        node.run(items_shared(1))


def test_max_concurrency_on_a_sequential_batch_needs_an_executor() -> None:
    with pytest.raises(ValueError, match="BatchNode 'b': max_concurrency needs an executor"):
        BatchNode(max_concurrency=2, name="b")
    with pytest.raises(ValueError, match="AsyncBatchNode 'b': max_concurrency needs an exec"):
        AsyncBatchNode(max_concurrency=2, name="b")
    AsyncParallelBatchNode(max_concurrency=2)  # runs its items at once already


def test_max_concurrency_with_an_executor_is_checked(threads: ThreadPoolExecutor) -> None:
    with pytest.raises(ValueError, match="max_concurrency must be None"):
        BatchNode(executor=threads, max_concurrency=0)


@pytest.mark.parametrize("flow_class", [BatchFlow, AsyncParallelBatchFlow])
def test_batch_flows_take_no_executor(flow_class: type, threads: ThreadPoolExecutor) -> None:
    """A batch flow's runs read and write ``shared``: their unit cannot leave the process."""
    with pytest.raises(TypeError, match="executor"):
        flow_class(executor=threads)
    assert "put the executor on the batch node" in (flow_class.__doc__ or "")


# -- what views see -------------------------------------------------------------------------------


def test_the_timeline_of_batches_on_an_executor_draws_no_bar_backwards(
    threads: ThreadPoolExecutor,
) -> None:
    trace = record(WherePid(max_retries=3, executor=threads, name="sync"), items_shared(6))
    bars = build_timeline(trace).bars
    assert [bar for bar in bars if bar.kind == "try"]
    assert all(bar.end is None or bar.start <= bar.end for bar in bars)

    trace = asyncio.run(arecord(AsyncSquare(executor=threads, max_concurrency=2), items_shared(6)))
    timeline = build_timeline(trace)
    assert len([bar for bar in timeline.bars if bar.kind == "try"]) == 6
    assert all(bar.end is None or bar.start <= bar.end for bar in timeline.bars)


def item_events(events: list[Event]) -> dict[int, Event]:
    return {e.item: e for e in events if e.kind == "item" and e.item is not None}


def open_one_at_a_time(
    gated: GatedExecutor, first_ran: threading.Event
) -> tuple[threading.Thread, list[int]]:
    """A started thread that lets item 0 run once items 0 and 1 are queued, then, once
    ``first_ran`` is set, notes the time (in the list returned) and lets item 1 run.
    """
    opened: list[int] = []

    def open_them() -> None:
        for _ in range(2):
            assert gated.submitted.acquire(timeout=DEADLINE)
        gated.open()  # item 0 runs; item 1 stays queued
        assert first_ran.wait(DEADLINE)
        opened.append(time.perf_counter_ns())
        gated.open()

    opener = threading.Thread(target=open_them)
    opener.start()
    return opener, opened


def test_an_item_event_says_when_a_worker_ran_it_not_when_it_was_queued(
    gated: GatedExecutor,
) -> None:
    """Item 1 waits in the executor's queue until the test opens the gate, at ``opened``: its
    ``item`` event says it started no earlier than that, and the timeline draws it waiting
    from its submission until then, and running from then on.
    """
    first_ran = threading.Event()

    class Signals(Square):
        def exec(self, item: int) -> int:
            if item == 0:
                first_ran.set()
            return item

    opener, opened = open_one_at_a_time(gated, first_ran)
    seen: list[Event] = []
    with observe(seen.append):
        trace = record(Signals(executor=gated, name="gated"), items_shared(2))
    opener.join(DEADLINE)
    items = item_events(seen)
    prep = next(e for e in seen if e.kind == "prep")
    (began_0, ended_0), (began_1, ended_1) = items[0].ran, items[1].ran
    assert prep.time <= began_0 <= ended_0 <= items[0].time
    assert opened[0] <= began_1 <= ended_1 <= items[1].time  # not from its submission

    origin = seen[0].time
    timeline = build_timeline(trace)
    lane = next(lane.row for lane in timeline.lanes if lane.label == "item 1")
    wait, run = timeline.bars_of(lane)
    assert (wait.kind, wait.state) == ("wait", "waiting")
    assert wait.start < opened[0] - origin <= wait.end == run.start
    assert (run.kind, run.state, run.start, run.end) == (
        "try", "done", began_1 - origin, ended_1 - origin
    )  # fmt: skip


def test_a_sync_batch_on_an_executor_is_drawn_as_it_ran_at_once(
    threads: ThreadPoolExecutor,
) -> None:
    """Both items wait for each other at a barrier, so they ran at the same time: the
    timeline draws them overlapping, not one after the other.
    """
    together = threading.Barrier(2, timeout=DEADLINE)

    class Meet(Square):
        def exec(self, item: int) -> int:
            together.wait()
            return item

    timeline = build_timeline(record(Meet(executor=threads, name="meet"), items_shared(2)))
    tries = {
        lane.label: bar
        for lane in timeline.lanes
        for bar in timeline.bars_of(lane.row)
        if bar.kind == "try"
    }
    first, second = tries["item 0"], tries["item 1"]
    assert second.start < first.end and first.start < second.end  # type: ignore[operator]


def test_retries_on_an_executor_are_drawn_within_the_time_the_item_ran(
    threads: ThreadPoolExecutor,
) -> None:
    seen: list[Event] = []
    with observe(seen.append):
        trace = record(WherePid(max_retries=3, executor=threads), items_shared(2))
    origin = seen[0].time
    timeline = build_timeline(trace)
    for index, event in item_events(seen).items():
        began, ended = event.ran
        lane = next(lane.row for lane in timeline.lanes if lane.label == f"item {index}")
        tries = [bar for bar in timeline.bars_of(lane) if bar.kind == "try"]
        assert [bar.state for bar in tries] == ["failed", "failed", "done"]
        assert tries[0].start == began - origin and tries[-1].end == ended - origin
        assert all(a.end == b.start for a, b in itertools.pairwise(tries))


def test_items_still_in_the_executor_are_drawn_waiting_not_running(
    gated: GatedExecutor,
) -> None:
    """The timeline of a run caught while items 1 and 2 are in the executor (queued, or
    running: the executor does not say) draws them waiting, open-ended.
    """
    recorder = Recorder()
    caught: list[Trace] = []
    was_caught = threading.Event()

    def catch(event: Event) -> None:
        if event.kind == "item" and event.item == 0:
            caught.append(recorder.trace)
            was_caught.set()

    def run() -> None:
        with observe(recorder, catch):
            Square(executor=gated, name="square").run(items_shared(3))

    gated.open()  # item 0 only
    runner = threading.Thread(target=run)
    runner.start()
    try:
        assert was_caught.wait(DEADLINE)
    finally:
        gated.open(2)
        runner.join(DEADLINE)
    timeline = build_timeline(caught[0])
    assert [lane.label for lane in timeline.lanes] == ["square", "item 0", "item 1", "item 2"]
    for index in (1, 2):
        (bar,) = timeline.bars_of(index + 1)
        assert (bar.kind, bar.state, bar.end) == ("wait", "waiting", None)
        assert "not back yet" in bar.detail
    assert not [bar for bar in timeline.bars if bar.kind == "try" and bar.state != "done"]


def test_an_item_held_back_by_max_concurrency_is_not_drawn_in_the_executor(
    gated: GatedExecutor,
) -> None:
    """With ``max_concurrency=2`` item 2 is submitted only when a slot frees: while items 0
    and 1 are out, it is not drawn among the items in the executor.
    """
    recorder = Recorder()
    caught: list[Trace] = []

    async def main() -> None:
        node = AsyncSquare(executor=gated, max_concurrency=2, name="two")
        task = asyncio.ensure_future(node.run_async(items_shared(3)))
        for _ in range(2):
            assert await asyncio.to_thread(gated.submitted.acquire, timeout=DEADLINE)
        caught.append(recorder.trace)
        gated.open(3)
        await task

    with observe(recorder):
        asyncio.run(main())
    timeline = build_timeline(caught[0])
    assert [lane.label for lane in timeline.lanes] == ["two", "item 0", "item 1"]
    assert [(bar.kind, bar.state, bar.end) for bar in timeline.bars if bar.lane > 0] == [
        ("wait", "waiting", None)
    ] * 2


def test_when_workers_ran_the_items_survives_saving_and_loading(
    threads: ThreadPoolExecutor, tmp_path: Any
) -> None:
    trace = record(WherePid(max_retries=3, executor=threads, name="pids"), items_shared(3))
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = Trace.load(path)
    assert [step.ran for step in loaded] == [step.ran for step in trace]
    assert all(step.ran is not None for step in loaded if step.kind == "item")
    assert loaded.graph["pids"].executor == "ThreadPoolExecutor"  # type: ignore[union-attr]
    drawn, redrawn = build_timeline(trace).bars, build_timeline(loaded).bars
    assert [bar._replace(detail="") for bar in redrawn] == [
        bar._replace(detail="") for bar in drawn
    ]  # the details differ only in how an exception reads once loaded


class FarAwayExecutor(ThreadPoolExecutor):
    """Runs items on threads, but reports their times as a machine whose clock reads an hour
    ahead would: shifted, durations unchanged.
    """

    AHEAD = 3600 * 10**9

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def far_away() -> Any:
            result, (tries, started, ended) = fn(*args, **kwargs)
            shifted = tuple((*head, when + self.AHEAD) for *head, when in tries)
            return result, (shifted, started + self.AHEAD, ended + self.AHEAD)

        return super().submit(far_away)


def test_a_worker_with_another_clock_is_timed_by_how_long_it_ran() -> None:
    durations: list[int] = []

    class Timed(Square):
        def exec(self, item: int) -> int:
            started = time.perf_counter_ns()
            if self.cur_retry == 0:
                raise ValueError("first try")
            durations.append(time.perf_counter_ns() - started)
            return item

    seen: list[Event] = []
    with FarAwayExecutor(1) as pool, observe(seen.append):
        Timed(max_retries=2, executor=pool).run(items_shared(2))
    prep = next(e for e in seen if e.kind == "prep")
    for index, item in item_events(seen).items():
        (retry,) = [e for e in seen if e.kind == "retry" and e.item == index]
        began, ended = item.ran
        assert prep.time <= began <= retry.time <= ended <= item.time  # counted back, inside
        assert ended - began >= durations[index]  # the whole time it ran, not an hour more


def test_a_failed_item_is_drawn_waiting_while_it_was_queued(gated: GatedExecutor) -> None:
    """Item 1 fails, after waiting in the queue until ``opened``: its failed try is drawn
    from when the worker started it, its wait before that.
    """
    first_ran = threading.Event()

    class FailsSecond(Square):
        def exec(self, item: int) -> int:
            if item == 0:
                first_ran.set()
                return item
            raise ValueError("item 1")

    opener, opened = open_one_at_a_time(gated, first_ran)
    seen: list[Event] = []
    with observe(seen.append), pytest.raises(ValueError) as caught:
        record(FailsSecond(executor=gated, name="fails"), items_shared(2))
    opener.join(DEADLINE)
    fallback = next(e for e in seen if e.kind == "fallback")
    assert fallback.ran is not None and opened[0] <= fallback.ran[0] <= fallback.time
    timeline = build_timeline(caught.value.trace)  # type: ignore[attr-defined]
    lane = next(lane.row for lane in timeline.lanes if lane.label == "item 1")
    wait, failed = timeline.bars_of(lane)
    assert (wait.kind, wait.state, failed.kind, failed.state) == (
        "wait", "waiting", "try", "failed"
    )  # fmt: skip
    assert wait.end == failed.start == fallback.ran[0] - seen[0].time


def test_items_back_out_of_order_past_the_shown_lanes_are_folded(gated: GatedExecutor) -> None:
    """The gate lets only item 5 of 8 run; caught then, items 0 to 4 and 6, 7 are out. With
    three lanes shown (items 0 to 2, out), item 5, back, is counted in the folded lane.
    """
    recorder = Recorder()
    caught: list[Trace] = []
    was_caught = threading.Event()

    def catch(event: Event) -> None:
        if event.kind == "item":
            caught.append(recorder.trace)
            was_caught.set()

    class Fifth(AsyncSquare):
        async def exec_async(self, item: int) -> int:
            return item

    async def main() -> None:
        with observe(recorder, catch):
            await Fifth(executor=gated, name="eight").run_async(items_shared(8))

    def fifth_first() -> None:
        for _ in range(8):
            assert gated.submitted.acquire(timeout=DEADLINE)
        with gated.ready:  # item 5 jumps the queue
            gated.jobs.insert(0, gated.jobs.pop(5))
        gated.open()
        assert was_caught.wait(DEADLINE)
        gated.open(7)

    opener = threading.Thread(target=fifth_first)
    opener.start()
    asyncio.run(main())
    opener.join(DEADLINE)
    timeline = build_timeline(caught[0], max_items=3)
    assert [lane.label for lane in timeline.lanes] == [
        "eight", "item 0", "item 1", "item 2", "1 more items"
    ]  # fmt: skip
