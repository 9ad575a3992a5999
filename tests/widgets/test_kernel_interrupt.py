"""Interrupting a real kernel while a cell runs an async flow with ``run`` stops the flow.

The unit tests in ``test_running.py`` stand in for the kernel; this one drives an ipykernel
through ``jupyter_client`` the way a notebook front end does, so it also covers how the kernel
delivers the interrupt (a SIGINT while its own event loop is running the cell) and that its loop
goes on afterwards.
"""

from __future__ import annotations

import ast
import queue
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

#: How long each item would sleep, so how long after the interrupt the next node would run.
ITEM_SECONDS = 2.0
#: Any single wait on the kernel (start-up, a reply, an output).
WAIT_SECONDS = 60.0

DEFINE_FLOW = f"""
import asyncio, os, sys, time
import pocketflow, pocketflow_widgets
from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode

started_at = None

class Sleepers(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return range(10)

    async def exec_async(self, item):
        global started_at
        if item == 9:
            started_at = time.monotonic()
            print("all items sleep", flush=True)
        await asyncio.sleep({ITEM_SECONDS})
        return item

class After(AsyncNode):
    async def post_async(self, shared, prep_res, exec_res):
        shared["after"] = True

sleepers = Sleepers()
sleepers >> After()
flow = AsyncFlow(start=sleepers)
shared = {{}}
libraries = tuple(
    os.path.dirname(module.__file__) for module in (pocketflow, pocketflow_widgets)
)

def run_tasks():
    '''The pending tasks running code of pocketflow or of the toolkit.'''
    return [
        repr(task)
        for task in asyncio.all_tasks()
        if getattr(getattr(task.get_coro(), "cr_code", None), "co_filename", "")
        .startswith(libraries)
    ]
"""

#: Run as a cell with top-level ``await``: the kernel's loop runs meanwhile, as it does between
#: cells, so a task the run left behind would go on and its next node would write ``shared``.
CHECK = f"""
left = run_tasks()
while "after" not in shared and time.monotonic() < started_at + {ITEM_SECONDS} + 1:
    await asyncio.sleep(0.05)
report = {{"left": left, "after": "after" in shared}}
"""


@pytest.fixture
def kernel() -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """A python3 kernel (this interpreter: jupyter_client starts "python" as sys.executable)."""
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=WAIT_SECONDS)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def reply(client: BlockingKernelClient, msg_id: str) -> dict[str, Any]:
    """The content of the kernel's reply to the request ``msg_id``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            msg = client.get_shell_msg(timeout=remaining)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") == msg_id:
            content: dict[str, Any] = msg["content"]
            return content
    pytest.fail(f"no reply from the kernel within {WAIT_SECONDS:.0f} s")


def execute(client: BlockingKernelClient, code: str, **expressions: str) -> dict[str, Any]:
    """Run ``code`` in the kernel; return the values of ``expressions`` (Python literals)."""
    content = reply(client, client.execute(code, user_expressions=expressions))
    assert content["status"] == "ok", content.get("traceback")
    return {
        name: ast.literal_eval(value["data"]["text/plain"])
        for name, value in content["user_expressions"].items()
    }


def wait_for_output(client: BlockingKernelClient, text: str) -> None:
    """Read the kernel's output until a line with ``text`` (fails at an error or a timeout)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            msg = client.get_iopub_msg(timeout=remaining)
        except queue.Empty:
            break
        if msg["msg_type"] == "error":
            pytest.fail("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "stream" and text in msg["content"]["text"]:
            return
    pytest.fail(f"the kernel did not print {text!r} within {WAIT_SECONDS:.0f} s")


@pytest.mark.timeout(4 * WAIT_SECONDS)
def test_interrupting_the_kernel_stops_the_run(
    kernel: tuple[KernelManager, BlockingKernelClient],
) -> None:
    manager, client = kernel
    assert execute(client, DEFINE_FLOW, python="sys.executable") == {"python": sys.executable}

    # stop_on_error=False: after an error the kernel would otherwise drop, with no reply, the
    # requests that reach it before it stops "aborting", and the next one may.
    running = client.execute("pocketflow_widgets.run(flow, shared)", stop_on_error=False)
    wait_for_output(client, "all items sleep")
    manager.interrupt_kernel()
    interrupted = reply(client, running)
    assert (interrupted["status"], interrupted.get("ename")) == ("error", "KeyboardInterrupt")

    assert execute(client, CHECK, report="report") == {"report": {"left": [], "after": False}}
