"""Live runs: the graph in the cell lights up while the flow runs.

The view is an observer of the run (``pocketflow.observe``): it counts what each event says and
redraws at most every ``interval`` seconds, recolouring one layout rather than laying the graph
out again. Output printed by the nodes still lands in the cell.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from pocketflow import AsyncNode, BaseNode, Event, observe
from pocketflow.graph import Overlay, build_graph
from pocketflow.trace import Recorder, Trace

from .running import run
from .tracebacks import is_interruption, reported_by, user_traceback
from .view import GraphView

__all__ = ["LiveRun", "arun_live", "run_live"]


class LiveRun:
    """A live view of runs of ``flow``: :meth:`run` (sync) or :meth:`run_async`.

    After a run, :attr:`trace` holds what happened (also when the run failed; the exception is
    re-raised to the caller) and :attr:`widget` shows the final state.

    >>> from pocketflow import Node, Flow
    >>> live = LiveRun(Flow(start=Node(name="hello")), display_widget=False)
    >>> live.run({})
    >>> live.overlay.visits[live.graph.id_of(live.flow.start_node)]
    1
    """

    def __init__(self, flow: BaseNode, *, interval: float = 0.1, display_widget: bool = True):
        self.flow = flow
        self.graph = build_graph(flow)
        self.view = GraphView(self.graph)
        self.status = widgets.HTML()
        self.widget = widgets.VBox([self.view.widget, self.status])
        self.interval = interval
        self.display_widget = display_widget
        self.overlay = Overlay()
        self.recorder = Recorder()
        self.error: BaseException | None = None
        #: The ``error`` event that reported :attr:`error`: which node it escaped.
        self.error_event: Event | None = None
        #: The error's traceback as the view shows it: the user's frames, not the library's.
        self.error_text = ""
        self.renders = 0
        self._last_render = 0.0
        self._last: Event | None = None
        self._errors: list[Event] = []

    @property
    def interrupted(self) -> bool:
        """Whether the last run was interrupted (an interrupt, an exit, a cancellation) rather
        than failed.
        """
        return is_interruption(self.error)

    @property
    def failed_at(self) -> str | None:
        """The node the last run's exception escaped, as the graph labels it (``None``: the run
        did not fail, or no node reported the exception).
        """
        if self.error_event is None:
            return None
        node_id = self.graph.find(self.error_event.node)
        # A node wired after the view was made is not in its graph: its name says it all the same.
        return self.error_event.node.name if node_id is None else self.graph[node_id].label

    @property
    def trace(self) -> Trace:
        """The events of the last run."""
        return self.recorder.trace

    def __call__(self, event: Event) -> None:
        """Take one event of the run (this object is the run's observer)."""
        self.overlay.add(self.graph, event)
        self._last = event
        if event.kind == "error":
            self._errors.append(event)
        now = time.monotonic()
        if now - self._last_render >= self.interval:
            self._last_render = now
            self.render()

    def render(self) -> None:
        """Redraw the graph and the status line now."""
        self.renders += 1
        self.view.update(self.overlay)
        event = self._last
        if self.error is not None:
            where = self.failed_at
            text = "interrupted" if self.interrupted else "failed"
            if where is not None:
                text += f" in <b>{html.escape(where)}</b>"
            text += ": " + html.escape(f"{type(self.error).__name__}: {self.error}")
            text = (
                f"<details><summary>{text}</summary>"
                f"<pre>{html.escape(self.error_text)}</pre></details>"
            )
        elif event is None:
            text = "not started"
        else:
            where = " › ".join((*event.path, event.node.name))
            text = f"step {event.step}: <code>{html.escape(where)}</code> {event.kind}"
        self.status.value = f"<div class='pf-status'>{text}</div>"

    def _begin(self) -> None:
        self.overlay = Overlay()
        self.recorder = Recorder()
        self.error = None
        self.error_event = None
        self.error_text = ""
        self._last = None
        self._errors = []
        self.render()
        if self.display_widget:
            display(self.widget)

    def _end(self, error: BaseException | None) -> None:
        self.error = error
        self.error_event = None if error is None else reported_by(self._errors, error)
        self.error_text = "" if error is None else user_traceback(error)
        self.render()

    def run(self, shared: Any) -> Any:
        """Run the flow on ``shared`` with the view live; any flow, from sync code."""
        __tracebackhide__ = True  # a traceback through here shows the user's frames only
        self._begin()
        try:
            with observe(self, self.recorder):
                result = run(self.flow, shared)
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)
        return result

    async def run_async(self, shared: Any) -> Any:
        """``await`` the flow on ``shared`` with the view live (sync flows run directly)."""
        __tracebackhide__ = True
        self._begin()
        try:
            with observe(self, self.recorder):
                if isinstance(self.flow, AsyncNode):
                    result = await self.flow.run_async(shared)
                else:
                    result = self.flow.run(shared)
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)
        return result


def run_live(flow: BaseNode, shared: Any, *, interval: float = 0.1) -> Any:
    """Show ``flow``'s graph in the cell and run it on ``shared``, lighting up the graph.

    Returns what the run returns; an exception is re-raised after the view shows where it
    happened. Use :class:`LiveRun` to keep the trace.

    >>> from pocketflow import Flow, Node
    >>> class Done(Node):
    ...     def post(self, shared, prep_res, exec_res):
    ...         return "done"
    >>> run_live(Flow(start=Done()), {})  # in a notebook, the graph shows above the result
    VBox(...)
    'done'
    """
    __tracebackhide__ = True
    return LiveRun(flow, interval=interval).run(shared)


async def arun_live(flow: BaseNode, shared: Any, *, interval: float = 0.1) -> Any:
    """``await arun_live(flow, shared)``: :func:`run_live` in the running event loop.

    >>> import asyncio
    >>> from pocketflow import AsyncFlow, AsyncNode
    >>> asyncio.run(arun_live(AsyncFlow(start=AsyncNode()), {}))
    VBox(...)
    """
    __tracebackhide__ = True
    return await LiveRun(flow, interval=interval).run_async(shared)
