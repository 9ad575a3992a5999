"""Live runs: the graph in the cell lights up while the flow runs.

The view is an observer of the run (``pocketflow.observe``), so the run goes at full speed: it
counts what each event says and redraws at most every ``interval`` seconds, restyling one layout
rather than laying the graph out again. Output printed by the nodes still lands in the cell.

It draws a :class:`~pocketflow_widgets.run_graph.RunGraph`: a run laid over its flow's graph,
event by event. The Stepper draws the same object, so both views count a run the one way.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from pocketflow import AsyncNode, BaseNode, Event, observe
from pocketflow.stepping import is_interruption, reported_by
from pocketflow.trace import Recorder, Trace

from .run_graph import RunGraph, ShowsRunGraph, put_view
from .running import arun, refuse_in_pyodide, run
from .timeline import LiveTimeline
from .tracebacks import user_traceback

__all__ = ["LiveRun", "RunGraph", "arun_live", "run_live"]


class LiveRun(ShowsRunGraph):
    """A live view of runs of ``flow``: :meth:`run` (sync) or :meth:`run_async`.

    It is an observer of the run's events: the run is never slowed down to be stepped. It
    counts them in a :class:`~pocketflow_widgets.run_graph.RunGraph`, the overlay and node
    states the Stepper draws too.
    After a run, :attr:`trace` holds what happened (also when the run failed; the exception is
    re-raised to the caller) and :attr:`widget` shows the final state. With ``snapshots=True``
    the trace keeps ``shared`` at each event too, so that a checkpoint can be taken from it.

    >>> from pocketflow import Node, Flow
    >>> live = LiveRun(Flow(start=Node(name="hello")), display_widget=False)
    >>> live.run({})
    >>> live.overlay.visits[live.graph.id_of(live.flow.start_node)]
    1
    """

    def __init__(
        self,
        flow: BaseNode,
        *,
        interval: float = 0.1,
        display_widget: bool = True,
        timeline: bool = False,
        snapshots: bool = False,
    ):
        self.flow = flow
        self.snapshots = snapshots
        self.run_graph = RunGraph(flow)
        self.status = widgets.HTML()
        #: With ``timeline=True``: the run's timeline, growing under the graph as it runs.
        self.timeline = (
            LiveTimeline(flow, interval=interval, display_widget=False) if timeline else None
        )
        parts = [self.run_graph.view.widget, self.status]
        if self.timeline is not None:
            parts.append(self.timeline.widget)
        self.widget = widgets.VBox(parts)
        self.interval = interval
        self.display_widget = display_widget
        self.recorder = Recorder()
        self.error: BaseException | None = None
        #: The ``error`` event that reported :attr:`error`: which node it escaped.
        self.error_event: Event | None = None
        #: The error's traceback as the view shows it: the user's frames, not the library's.
        self.error_text = ""
        self.renders = 0
        self._last_render = 0.0
        self._last: Event | None = None

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
        # A node the graph lacks (see RunGraph) has its name to say it all the same.
        return self.error_event.node.name if node_id is None else self.graph[node_id].label

    @property
    def trace(self) -> Trace:
        """The events of the last run."""
        return self.recorder.trace

    def __call__(self, event: Event) -> None:
        """Take one event of the run (this object is the run's observer)."""
        self.run_graph.add(event)
        self._last = event
        now = time.monotonic()
        if now - self._last_render >= self.interval:
            self._last_render = now
            self.render()

    def render(self) -> None:
        """Redraw the graph and the status line now."""
        self.renders += 1
        put_view(self.widget, self.widget.children[0], self.view.widget)
        self.run_graph.draw()
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

    def run(self, shared: Any) -> Any:
        """Run the flow on ``shared`` with the view live; any flow, from sync code (in Pyodide,
        a sync flow only: ``await`` :meth:`run_async` for an async one)."""
        __tracebackhide__ = True  # a traceback through here shows the user's frames only
        if isinstance(self.flow, AsyncNode):
            refuse_in_pyodide("await live.run_async(shared)")
        with self._live(shared):
            return run(self.flow, shared)

    async def run_async(self, shared: Any) -> Any:
        """``await`` the flow on ``shared`` with the view live (sync flows run directly)."""
        __tracebackhide__ = True
        with self._live(shared):
            return await arun(self.flow, shared)

    @contextlib.contextmanager
    def _live(self, shared: Any) -> Iterator[None]:
        """Around one run: start afresh, listen to the run, show how it ended."""
        __tracebackhide__ = True
        self.run_graph.restart()
        self.recorder = Recorder(snapshots=self.snapshots, shared=shared)
        self.error = None
        self.error_event = None
        self.error_text = ""
        self._last = None
        listeners: list[Any] = [self, self.recorder]
        if self.timeline is not None:
            self.timeline.start()
            listeners.append(self.timeline)
        self.render()
        if self.display_widget:
            display(self.widget)
        try:
            with observe(*listeners):
                yield
        except BaseException as exc:
            self._end(exc)
            raise
        self._end(None)

    def _end(self, error: BaseException | None) -> None:
        self.error = error
        self.error_event = None if error is None else reported_by(self.run_graph.events, error)
        self.error_text = "" if error is None else user_traceback(error)
        if self.timeline is not None:
            self.timeline.finish(error)
        self.render()


def run_live(flow: BaseNode, shared: Any, *, interval: float = 0.1, timeline: bool = False) -> Any:
    """Show ``flow``'s graph in the cell and run it on ``shared``, lighting up the graph (and,
    with ``timeline=True``, a timeline of the run growing under it).

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
    if isinstance(flow, AsyncNode):
        refuse_in_pyodide("await arun_live(flow, shared)")
    return LiveRun(flow, interval=interval, timeline=timeline).run(shared)


async def arun_live(
    flow: BaseNode, shared: Any, *, interval: float = 0.1, timeline: bool = False
) -> Any:
    """``await arun_live(flow, shared)``: :func:`run_live` in the running event loop.

    >>> import asyncio
    >>> from pocketflow import AsyncFlow, AsyncNode
    >>> asyncio.run(arun_live(AsyncFlow(start=AsyncNode()), {}))
    VBox(...)
    """
    __tracebackhide__ = True
    return await LiveRun(flow, interval=interval, timeline=timeline).run_async(shared)
