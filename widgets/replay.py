"""Replay: browse a recorded trace step by step, the graph and ``shared`` as of any step, and
continue the run from there in a Stepper (a fork).
"""

from __future__ import annotations

import bisect
import html
from typing import Any

import ipywidgets as widgets

from pocketflow import BaseNode
from pocketflow.checkpoints import Checkpoint, boundaries, checkpoint_at
from pocketflow.events import START
from pocketflow.graph import Graph, build_graph
from pocketflow.trace import Trace

from .fork import ForkControls
from .state import short_repr
from .stepper import Stepper
from .view import GraphView

__all__ = ["Replay"]


class Replay(widgets.VBox):
    """A slider over the steps of ``trace``, with previous/next buttons.

    The graph shows the run as of the chosen step (visits, edges taken, the current node, a
    failure), with the step's event and, when the trace has snapshots, ``shared`` at that step.
    A trace loaded from JSON lines carries no node objects: pass the ``flow`` it was recorded
    from (its graph must have the same ids).

    Given the flow, a trace recorded with snapshots can be continued: **Continue from here**
    takes the checkpoint at the step shown (a node boundary: on another event, the last one
    before it, as the control says), optionally after editing ``shared``, and opens a Stepper
    on that fork under the replay (:attr:`fork_controls`, :meth:`continue_from_here`).

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.trace import record
    >>> flow = Flow(start=Node(name="hello"))
    >>> replay = Replay(record(flow, {}), flow)
    >>> replay.slider.value = 1; replay.event.value.count("start")
    1
    """

    def __init__(self, trace: Trace, flow: BaseNode | None = None) -> None:
        self.trace = trace
        self.graph: Graph = build_graph(flow) if flow is not None else trace.graph
        self.view = GraphView(self.graph)
        count = len(trace.steps)
        self.slider = widgets.IntSlider(
            value=count, min=min(1, count), max=count, description="Step", continuous_update=True
        )
        self.previous_button = widgets.Button(description="Previous", icon="step-backward")
        self.next_button = widgets.Button(description="Next", icon="step-forward")
        self.previous_button.on_click(lambda _: self.show(self.slider.value - 1))
        self.next_button.on_click(lambda _: self.show(self.slider.value + 1))
        self.event = widgets.HTML()
        self.shared = widgets.HTML()
        self.slider.observe(lambda change: self._render(change["new"]), names="value")
        self._boundaries = boundaries(trace)
        self._index = {entry.step: index for index, entry in enumerate(trace.steps)}
        #: Continue the run from the step shown (only with the flow and snapshots).
        self.fork_controls: ForkControls | None = None
        parts = [
            widgets.HBox([self.previous_button, self.slider, self.next_button]),
            self.view.widget,
            self.event,
            self.shared,
        ]
        if flow is not None and trace.has_snapshots and self._boundaries:
            self.fork_controls = ForkControls(
                self._checkpoint,
                lambda: self.trace.shared_at(self.boundary or 0),
                lambda fork, shared: Stepper(
                    flow,
                    shared,
                    checkpoint=fork,
                    # The fork's first event is the boundary's start again, or what follows a post.
                    history=self.trace.overlay(upto=fork.step if fork.after else fork.step - 1),
                ),
                label="Continue from here",
                view="Replay",
            )
            parts.append(self.fork_controls)
        super().__init__(parts)
        self.add_class("pf-replay")
        self._render(self.slider.value)

    def show(self, step: int) -> None:
        """Move to ``step`` (kept within the trace)."""
        self.slider.value = max(self.slider.min, min(self.slider.max, step))

    @property
    def boundary(self) -> int | None:
        """The step a fork continues from: the last node boundary at or before the step shown."""
        shown = self.trace.steps[self.slider.value - 1].step if self.trace.steps else 0
        index = bisect.bisect_right(self._boundaries, shown)
        return self._boundaries[index - 1] if index else None

    def _checkpoint(self) -> Checkpoint:
        boundary = self.boundary
        if boundary is None:
            raise ValueError("no node boundary at or before this step")
        return checkpoint_at(self.trace, boundary)

    def continue_from_here(self) -> Stepper | None:
        """Fork the run at :attr:`boundary`, with the edits made in the editor: the new
        Stepper (``None``, with the reason shown, when it cannot be done).
        """
        if self.fork_controls is None:
            raise ValueError(
                "this replay cannot continue the run: give it the flow, and a trace recorded "
                "with snapshots=True"
            )
        return self.fork_controls.fork()

    def _render(self, step: int) -> None:
        self.view.update(self.trace.overlay(upto=step))
        if not self.trace.steps:
            self.event.value = "<div class='pf-status'>The trace is empty.</div>"
            self.shared.value = ""
            return
        record = self.trace.steps[step - 1]
        where = " › ".join(str(part) for part in (*record.path, record.name))
        number, kind = html.escape(str(record.step)), html.escape(str(record.kind))
        self.event.value = (
            f"<div class='pf-status'><b>#{number}</b> <code>{html.escape(where)}</code> · "
            f"<b>{kind}</b> → <code>{html.escape(short_repr(record.value))}</code></div>"
        )
        self.shared.value = _shared_html(self.trace.shared_at(step))
        self.previous_button.disabled = step <= self.slider.min
        self.next_button.disabled = step >= self.slider.max
        self._offer_fork(record.step)

    def _offer_fork(self, shown: int) -> None:
        """Say where Continue from here would start: the step shown, or the boundary before."""
        if self.fork_controls is None:
            return
        boundary = self.boundary
        if boundary is None:
            self.fork_controls.offer(False, "no node boundary before this step")
            return
        record = self.trace.steps[self._index[boundary]]
        phase = "as it starts" if record.kind == START else "after its post"
        where = f"from step {boundary}: <code>{html.escape(record.name)}</code> {phase}"
        if boundary != shown:
            where += f" (the last node boundary before step {shown})"
        self.fork_controls.offer(True, where, key=boundary)


def _shared_html(shared: dict[str, Any] | None) -> str:
    if shared is None:
        return "<div class='pf-shared pf-empty'>(recorded without snapshots of shared)</div>"
    rows = "".join(
        f"<tr><td><code>{html.escape(str(key))}</code></td>"
        f"<td><code>{html.escape(short_repr(value))}</code></td></tr>"
        for key, value in shared.items()
    )
    return f"<table class='pf-shared'><tbody>{rows}</tbody></table>"
