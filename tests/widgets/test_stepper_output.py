"""The Stepper captures what its run prints, and nothing else: ``sys.stdout`` stays the kernel's."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow_widgets import Stepper


class Gate(AsyncNode):
    """Prints, then waits in ``exec`` until the test opens its gate."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name)
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def exec_async(self, prep_res: Any) -> None:
        print(f"{self.name} is working")
        self.started.set()
        await self.gate.wait()
        print(f"{self.name} is done")


def printed(stepper: Stepper) -> str:
    return "".join(out["text"] for out in stepper.output.outputs if out.get("name") == "stdout")


@contextlib.contextmanager
def kernel_stdout() -> Iterator[io.StringIO]:
    """A stream standing for the kernel's stdout, set for the body of a test.

    (A fixture cannot set it: pytest sets its own capture again when the test's call begins.)
    """
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        yield stream


def test_a_print_elsewhere_during_an_async_step_reaches_the_real_stdout() -> None:
    async def session() -> Stepper:
        node = Gate("slow")
        stepper = Stepper(AsyncFlow(start=node), {})
        stepper.continue_()
        await node.started.wait()
        print("from another cell")  # this task is not the run's
        node.gate.set()
        await stepper.wait()
        return stepper

    with kernel_stdout() as real_stdout:
        stepper = asyncio.run(session())
        assert sys.stdout is real_stdout
    assert stepper.finished and stepper.error is None
    assert real_stdout.getvalue() == "from another cell\n"
    assert printed(stepper) == "slow is working\nslow is done\n"


def test_two_async_steppers_whose_steps_overlap_leave_stdout_as_it_was() -> None:
    async def session() -> tuple[Stepper, Stepper]:
        first, second = Gate("first"), Gate("second")
        one, two = Stepper(AsyncFlow(start=first), {}), Stepper(AsyncFlow(start=second), {})
        one.continue_()
        await first.started.wait()
        two.continue_()
        await second.started.wait()
        first.gate.set()  # the first step ends while the second still waits
        await one.wait()
        print("between")
        second.gate.set()
        await two.wait()
        print("after")
        return one, two

    with kernel_stdout() as real_stdout:
        one, two = asyncio.run(session())
        assert sys.stdout is real_stdout
        print("later")
    assert real_stdout.getvalue() == "between\nafter\nlater\n"
    assert printed(one) == "first is working\nfirst is done\n"
    assert printed(two) == "second is working\nsecond is done\n"


def test_a_sync_step_captures_the_run_and_leaves_stdout_in_place() -> None:
    class Talk(Node):
        def exec(self, prep_res: Any) -> None:
            print("talking")
            assert sys.stdout is not None

    with kernel_stdout() as real_stdout:
        stepper = Stepper(Flow(start=Talk()), {})
        stepper.continue_()
        print("outside")
        assert sys.stdout is real_stdout
    assert printed(stepper) == "talking\n"
    assert real_stdout.getvalue() == "outside\n"


def test_what_a_run_prints_between_two_steps_is_shown_at_the_next_step() -> None:
    class Chatty(AsyncNode):
        async def prep_async(self, shared: Any) -> None:
            print("prep")

        async def exec_async(self, prep_res: Any) -> None:
            print("exec")

    async def session() -> Stepper:
        stepper = Stepper(AsyncFlow(start=Chatty(name="chatty")), {})
        while not stepper.finished:
            stepper.step()
            await stepper.wait()
        return stepper

    with kernel_stdout() as real_stdout:
        stepper = asyncio.run(session())
    assert printed(stepper) == "prep\nexec\n"
    assert real_stdout.getvalue() == ""
