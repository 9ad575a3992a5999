"""The sync helper runs any flow, with or without a running event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow_widgets.running import run, run_coroutine


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
