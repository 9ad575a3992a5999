"""The sync helper runs any flow, with or without a running event loop."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode, Flow, Node
from pocketflow_widgets.running import arun, run, run_coroutine

_T = TypeVar("_T")


class Fetch(AsyncNode):
    async def exec_async(self, prep_res: Any) -> str:
        await asyncio.sleep(0.001)
        return "fetched"

    async def post_async(self, shared: Any, prep_res: Any, exec_res: str) -> str:
        shared["result"] = exec_res
        return "done"


def async_flow() -> AsyncFlow:
    fetch = Fetch()
    fetch - "done" >> None
    return AsyncFlow(start=fetch)


def test_runs_a_sync_flow() -> None:
    class Mark(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            shared["ran"] = True
            return "ok"

    shared: dict[str, Any] = {}
    assert run(Flow(start=Mark()), shared) == "ok"
    assert shared == {"ran": True}


def test_runs_an_async_flow_with_no_loop_running() -> None:
    shared: dict[str, Any] = {}
    assert run(async_flow(), shared) == "done"
    assert shared == {"result": "fetched"}


def test_runs_an_async_flow_inside_a_running_loop() -> None:
    async def cell() -> tuple[Any, dict[str, Any]]:
        shared: dict[str, Any] = {}
        return run(async_flow(), shared), shared  # sync call while the loop runs

    assert asyncio.run(cell()) == ("done", {"result": "fetched"})


def test_arun_awaits_any_flow_in_the_running_loop() -> None:
    class Mark(Node):
        def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
            shared["loop"] = asyncio.get_running_loop()  # a sync flow is called in the loop
            return "ok"

    async def cell() -> tuple[Any, Any, bool]:
        shared: dict[str, Any] = {}
        sync = await arun(Flow(start=Mark()), shared)
        done = await arun(async_flow(), shared)
        return sync, done, shared["loop"] is asyncio.get_running_loop()

    assert asyncio.run(cell()) == ("ok", "done", True)


def test_errors_propagate_from_inside_a_running_loop() -> None:
    class Boom(AsyncNode):
        async def exec_async(self, prep_res: Any) -> None:
            raise LookupError("nothing here")

    async def cell() -> None:
        run(AsyncFlow(start=Boom()), {})

    with pytest.raises(LookupError, match="nothing here"):
        asyncio.run(cell())


def test_run_coroutine_returns_its_value_in_both_situations() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_coroutine(answer()) == 42

    async def outer() -> int:
        return run_coroutine(answer())

    assert asyncio.run(outer()) == 42


#: How long each item of an interrupted batch would sleep; the node after the batch would run
#: this long after the interrupt, so the tests watch ``shared`` a little longer than that.
ITEM_SECONDS = 0.5
WATCH_SECONDS = ITEM_SECONDS + 0.5
#: Where the interrupt comes from: ``"signal"``, a SIGINT sent to the main thread while the items
#: sleep (what interrupting a kernel does); ``"task"``, a ``KeyboardInterrupt`` raised by an item,
#: so in one of the batch's tasks and not in the run's own; ``"twice"``, a SIGINT while the items
#: sleep, then another one as the first item is being cancelled.
HOWS = ["signal", "task", "twice"]


class Interrupted:
    """A run to interrupt: ten items that sleep concurrently, then a node that writes ``shared``."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.started = threading.Event()
        self.armed = how == "twice"  # the second interrupt, only while ``run`` runs
        self.loop: asyncio.AbstractEventLoop | None = None
        self.shared: dict[str, Any] = {}
        test = self

        class Sleepers(AsyncParallelBatchNode):
            async def prep_async(self, shared: Any) -> range:
                test.loop = asyncio.get_running_loop()
                return range(10)

            async def exec_async(self, item: int) -> int:
                test.started.set()
                if test.how == "task" and item == 9:
                    raise KeyboardInterrupt
                try:
                    await asyncio.sleep(ITEM_SECONDS)
                except asyncio.CancelledError:
                    if test.armed:
                        test.armed = False
                        signal.raise_signal(signal.SIGINT)
                    raise
                return item

        class After(AsyncNode):
            async def post_async(self, shared: Any, prep_res: Any, exec_res: Any) -> None:
                shared["after"] = True

        sleepers = Sleepers()
        sleepers >> After()
        self.flow = AsyncFlow(start=sleepers)

    @contextmanager
    def interrupting(self) -> Iterator[None]:
        """Send SIGINT to the main thread as soon as the items sleep, unless ``how`` is "task"."""
        sender = None
        if self.how != "task":
            main = threading.main_thread().ident
            assert main is not None

            def interrupt() -> None:
                if self.started.wait(timeout=10):
                    signal.pthread_kill(main, signal.SIGINT)

            sender = threading.Thread(target=interrupt, daemon=True)
            sender.start()
        try:
            yield
        finally:
            self.armed = False
            if sender is not None:
                sender.join(timeout=10)


def run_cell(cell: Coroutine[Any, Any, _T]) -> _T:
    """Run ``cell`` the way a kernel runs a cell: in a loop that leaves SIGINT alone.

    (``asyncio.run`` would turn SIGINT into cancelling ``cell``, which a kernel does not do for a
    cell with no ``await``.) A ``KeyboardInterrupt`` that escapes the loop fails the test instead
    of ending the whole test session.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(cell)
    except KeyboardInterrupt:
        pytest.fail("a KeyboardInterrupt escaped the event loop after the cell had caught one")
    finally:
        discard_tasks(loop)
        loop.close()


def discard_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what a failed test left in ``loop``, so that it cannot run during a later test."""
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left and not loop.is_closed():
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


@pytest.fixture
def asyncio_patched() -> None:
    """Call ``run`` once inside a running loop, as any notebook does.

    nest_asyncio2 then has patched asyncio for the whole process, ``asyncio.run`` included, as
    it is whenever ``run`` is later called with no loop running (a script, a thread).
    """

    async def cell() -> None:
        run_coroutine(asyncio.sleep(0))

    run_cell(cell())


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.usefixtures("asyncio_patched")
def test_an_interrupt_stops_the_run_with_no_loop_running(how: str) -> None:
    interrupted = Interrupted(how)
    with interrupted.interrupting(), pytest.raises(KeyboardInterrupt):
        run(interrupted.flow, interrupted.shared)
    assert interrupted.loop is not None
    left = asyncio.all_tasks(interrupted.loop)
    discard_tasks(interrupted.loop)
    assert left == set()
    assert "after" not in interrupted.shared


@pytest.mark.parametrize("how", HOWS)
def test_an_interrupt_inside_a_running_loop_stops_the_run(how: str) -> None:
    interrupted = Interrupted(how)

    async def cell() -> set[asyncio.Task[Any]]:
        before = asyncio.all_tasks()
        with interrupted.interrupting(), pytest.raises(KeyboardInterrupt):
            run(interrupted.flow, interrupted.shared)  # the sync call of a notebook cell
        left = asyncio.all_tasks() - before
        deadline = time.monotonic() + WATCH_SECONDS
        while "after" not in interrupted.shared and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the loop goes on, as a kernel's does after the cell
        return left

    assert run_cell(cell()) == set()
    assert "after" not in interrupted.shared
