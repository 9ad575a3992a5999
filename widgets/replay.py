"""Replay: browse a recorded trace step by step, the graph and ``shared`` as of any step."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from pocketflow import BaseNode
from pocketflow.graph import Graph, build_graph
from pocketflow.trace import Trace

from .state import short_repr
from .view import GraphView

__all__ = ["Replay"]


class Replay(widgets.VBox):
    """A slider over the steps of ``trace``, with previous/next buttons.

    The graph shows the run as of the chosen step (visits, edges taken, the current node, a
    failure), with the step's event and, when the trace has snapshots, ``shared`` at that step.
    A trace loaded from JSON lines carries no node objects: pass the ``flow`` it was recorded
    from (its graph must have the same ids).

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
        super().__init__(
            [
                widgets.HBox([self.previous_button, self.slider, self.next_button]),
                self.view.widget,
                self.event,
                self.shared,
            ]
        )
        self._render(self.slider.value)

    def show(self, step: int) -> None:
        """Move to ``step`` (kept within the trace)."""
        self.slider.value = max(self.slider.min, min(self.slider.max, step))

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


def _shared_html(shared: dict[str, Any] | None) -> str:
    if shared is None:
        return "<div class='pf-shared pf-empty'>(recorded without snapshots of shared)</div>"
    rows = "".join(
        f"<tr><td><code>{html.escape(str(key))}</code></td>"
        f"<td><code>{html.escape(short_repr(value))}</code></td></tr>"
        for key, value in shared.items()
    )
    return f"<table class='pf-shared'><tbody>{rows}</tbody></table>"
