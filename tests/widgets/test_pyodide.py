"""In Pyodide (JupyterLite) the sync helpers refuse async flows, saying what to ``await``.

Pyodide has no threads and its event loop is the browser's, so sync code cannot wait for an
async flow to finish. The platform is faked here with ``sys.platform = "emscripten"``.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from typing import Any

import pytest

from pocketflow import AsyncFlow, AsyncNode, Flow, Node
from pocketflow_widgets import live as live_module
from pocketflow_widgets import running
from pocketflow_widgets.live import LiveRun, arun_live, run_live
from pocketflow_widgets.running import run, run_coroutine

PYODIDE_ERROR = r"Pyodide \(JupyterLite\).*top-level `await` in the cell instead: "


class Mark(AsyncNode):
    async def prep_async(self, shared: Any) -> None:
        shared["ran"] = True


class SyncMark(Node):
    def prep(self, shared: Any) -> None:
        shared["ran"] = True


@pytest.fixture
def pyodide(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Pretend to be Pyodide; return the list of what the live view would display."""
    monkeypatch.setattr(sys, "platform", "emscripten")
    shown: list[Any] = []
    monkeypatch.setattr(live_module, "display", shown.append)
    return shown


def test_run_refuses_an_async_flow_and_says_to_await_it(pyodide: list[Any]) -> None:
    shared: dict[str, Any] = {}
    with pytest.raises(RuntimeError, match=PYODIDE_ERROR + r"await flow\.run_async\(shared\)"):
        run(AsyncFlow(start=Mark()), shared)
    assert shared == {}


def test_run_coroutine_refuses_and_closes_the_coroutine(pyodide: list[Any]) -> None:
    async def answer() -> int:
        return 42

    coroutine = answer()
    with (
        warnings.catch_warnings(),
        pytest.raises(RuntimeError, match=PYODIDE_ERROR + "await it"),
    ):
        warnings.simplefilter("error")  # a coroutine left unawaited would warn when collected
        run_coroutine(coroutine)
    assert coroutine.cr_frame is None  # closed: it can never run


def test_run_live_refuses_an_async_flow_before_showing_anything(pyodide: list[Any]) -> None:
    shared: dict[str, Any] = {}
    with pytest.raises(RuntimeError, match=PYODIDE_ERROR + r"await arun_live\(flow, shared\)"):
        run_live(AsyncFlow(start=Mark()), shared)
    assert shared == {}
    assert pyodide == []


def test_live_run_refuses_an_async_flow(pyodide: list[Any]) -> None:
    live = LiveRun(AsyncFlow(start=Mark()))
    with pytest.raises(RuntimeError, match=PYODIDE_ERROR + r"await live\.run_async\(shared\)"):
        live.run({})
    assert pyodide == []


def test_sync_flows_and_awaited_async_flows_still_run(pyodide: list[Any]) -> None:
    first: dict[str, Any] = {}
    run(Flow(start=SyncMark()), first)
    second: dict[str, Any] = {}
    run_live(Flow(start=SyncMark()), second)
    third: dict[str, Any] = {}
    asyncio.run(arun_live(AsyncFlow(start=Mark()), third))
    assert first == second == third == {"ran": True}
    assert len(pyodide) == 2  # each live view was shown


def test_nothing_is_refused_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    running.refuse_in_pyodide("anything")
    shared: dict[str, Any] = {}
    run(AsyncFlow(start=Mark()), shared)
    assert shared == {"ran": True}
