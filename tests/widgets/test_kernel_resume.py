"""A run that waits for a person survives a kernel restart: a real ipykernel, driven through
``jupyter_client`` as a notebook front end drives it.

The run is started in the background and asks; while it waits, its checkpoint is saved to a
file; the kernel is restarted (a new process: the run and its question are gone); the
checkpoint is loaded and the run resumed with the answer given in advance, and it finishes as
an answered run would. Before that, the same flow awaited in its own cell is refused with an
error that says to use ``start``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.widgets import test_kernel_interrupt as interrupt_tests
from tests.widgets.test_kernel_interrupt import WAIT_SECONDS, execute, reply

#: A python3 kernel, started and shut down as for the interrupt test.
kernel = interrupt_tests.kernel

pytestmark = pytest.mark.slow

DEFINE_FLOW = """
import asyncio, os, sys
from pocketflow import AsyncFlow, AsyncNode
from pocketflow.checkpoints import Checkpoint
from pocketflow_widgets import answers, ask, start

class Draft(AsyncNode):
    async def post_async(self, shared, prep_res, exec_res):
        shared["draft"] = "draft about " + shared["topic"]

class Review(AsyncNode):
    async def exec_async(self, prep_res):
        return await ask("Publish?", choices=["yes", "no"])

    async def post_async(self, shared, prep_res, exec_res):
        shared["verdict"] = exec_res
        return exec_res

class Publish(AsyncNode):
    async def post_async(self, shared, prep_res, exec_res):
        shared["published"] = True

draft, review = Draft(name="draft"), Review(name="review")
draft >> review
review - "yes" >> Publish(name="publish")
review - "no" >> None
flow = AsyncFlow(start=draft, name="publishing")
"""

#: Awaited in its own cell, the run could never get its click: ask() says so.
IN_ITS_CELL = "await flow.run_async({'topic': 'bees'})"

START = "run = start(flow, {'topic': 'bees'})"

#: The run goes on once the cell that started it has ended; this cell awaits its question.
UNTIL_ASKED = """
async def until_asked():
    while not run.pending:
        await asyncio.sleep(0.01)

await asyncio.wait_for(until_asked(), 30)
checkpoint = run.checkpoint()
checkpoint.save({path!r})
"""

RESUME = """
checkpoint = Checkpoint.load({path!r})
shared = checkpoint.new_shared()
with answers({{"Publish?": "yes"}}):
    await flow.resume_async(checkpoint, shared)
"""


@pytest.mark.timeout(6 * WAIT_SECONDS)
def test_a_waiting_run_is_checkpointed_and_resumed_after_a_kernel_restart(
    kernel: tuple[KernelManager, BlockingKernelClient], tmp_path: Path
) -> None:
    manager, client = kernel
    path = str(tmp_path / "waiting.jsonl")
    first = execute(client, DEFINE_FLOW, python="sys.executable", pid="os.getpid()")
    assert first["python"] == sys.executable

    refused = reply(client, client.execute(IN_ITS_CELL, stop_on_error=False))
    assert (refused["status"], refused["ename"]) == ("error", "RuntimeError")
    assert "awaited by the cell" in refused["evalue"] and "start(flow, shared)" in refused["evalue"]

    assert execute(client, START, done="run.done") == {"done": False}
    waiting = execute(
        client,
        UNTIL_ASKED.format(path=path),
        state="repr(run)",
        checkpoint="repr(checkpoint)",
        shared="checkpoint.shared",
    )
    assert waiting == {
        "state": "<BackgroundRun of 'publishing': running, waiting for an answer to 'Publish?'>",
        "checkpoint": "<Checkpoint before 'review' in 'publishing' (step 8)>",
        "shared": {"topic": "bees", "draft": "draft about bees"},
    }

    manager.restart_kernel(now=True)
    client.wait_for_ready(timeout=WAIT_SECONDS)
    second = execute(client, DEFINE_FLOW, pid="os.getpid()", run="'run' in globals()")
    assert second["pid"] != first["pid"] and second["run"] is False  # the run is gone

    resumed = execute(client, RESUME.format(path=path), shared="shared")
    assert resumed == {
        "shared": {
            "topic": "bees",
            "draft": "draft about bees",
            "verdict": "yes",
            "published": True,
        }
    }
