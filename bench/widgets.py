"""What the notebook views cost: a live-view update per event and a Stepper step, on a big graph.

Run from the repository root::

    python bench/widgets.py           # 500-node graph
    python bench/widgets.py --nodes 100

Prints milliseconds per live-view update (a full redraw: overlay, CSS, edge labels), the cost a
throttled live run adds per event, the Stepper's cost per step, and the time to render the
graph's DOT and Mermaid text, each beside its bar. The view is laid out once by Graphviz; every
update only restyles it.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))

from pocketflow import Flow, Node, observe  # noqa: E402
from pocketflow.dot import to_dot  # noqa: E402
from pocketflow.graph import Overlay, build_graph  # noqa: E402
from pocketflow.mermaid import to_mermaid  # noqa: E402
from pocketflow_widgets import LiveRun, Stepper  # noqa: E402
from pocketflow_widgets.view import GraphView  # noqa: E402


class Step(Node):
    """Counts the steps of the run in shared."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
        shared["steps"] = shared.get("steps", 0) + 1
        return "default"


def chain(nodes: int) -> Flow:
    """``nodes`` nodes in a chain, with a skip edge every tenth node (never taken)."""
    steps = [Step(name=f"step {index}") for index in range(nodes)]
    for index, (here, there) in enumerate(itertools.pairwise(steps)):
        here >> there
        if index % 10 == 0 and index + 2 < nodes:
            here - "skip" >> steps[index + 2]
    return Flow(start=steps[0], name="chain")


def per_call(function: Any, repeats: int) -> float:
    """Median seconds of one call of ``function`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    options = parser.parse_args()
    flow = chain(options.nodes)
    graph = build_graph(flow)

    started = time.perf_counter()
    view = GraphView(graph)
    layout = time.perf_counter() - started

    events: list[Any] = []
    with observe(events.append):
        flow.run({})
    overlay = Overlay()
    for event in events[: len(events) // 2]:
        overlay.add(graph, event)
    update = per_call(lambda: view.update(overlay), 20)

    plain = per_call(lambda: flow.run({}), 5)
    live = LiveRun(flow, display_widget=False)
    live_run = per_call(lambda: live.run({}), 5)
    per_event_live = (live_run - plain) / len(events)

    stepper = Stepper(flow, {})
    step = per_call(stepper.step, 50)

    dot_text = per_call(lambda: to_dot(graph), 10)
    mermaid_text = per_call(lambda: to_mermaid(graph, overlay), 10)

    rows = [
        ("graph layout by dot, once", layout * 1e3, None),
        ("live view: one full update", update * 1e3, 20.0),
        ("live run: added cost per event (throttled)", per_event_live * 1e3, 20.0),
        ("Stepper: one step (event, diff, redraw)", step * 1e3, None),
        ("DOT text", dot_text * 1e3, 50.0),
        ("Mermaid text, with overlay", mermaid_text * 1e3, 50.0),
    ]
    print(f"{options.nodes}-node graph, {len(events)} events per run")
    print(f"{'figure':45} {'ms':>9}  bar")
    for name, ms, bar in rows:
        verdict = "" if bar is None else f"<= {bar:g} ms  {'PASS' if ms <= bar else 'MISS'}"
        print(f"{name:45} {ms:9.3f}  {verdict}")
    print(f"live run / plain run: {live_run / plain:.2f}x")


if __name__ == "__main__":
    main()
