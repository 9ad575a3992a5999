"""What a timeline of a large run costs: building it, making the widget, and what it sends.

Run from the repository root::

    python bench/timeline.py              # a 10,000-item parallel batch
    python bench/timeline.py --items 50000

Records (``arecord``) one ``AsyncParallelBatchNode`` over ``--items`` items that each
``await asyncio.sleep(0)``, then prints the median time to build its timeline
(``pocketflow.timeline.build_timeline``) and to make the ``Timeline`` widget from the trace
(building included), beside the bar of 1 s each; how many marks and lanes the widget draws and
the size of its state; and, for a live run of a 120-node chain redrawn after every node, the
median time of a redraw and the median bytes a redraw sends (patches of the new marks).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))

from pocketflow import AsyncFlow, AsyncParallelBatchNode, Flow, Node  # noqa: E402
from pocketflow.timeline import build_timeline  # noqa: E402
from pocketflow.trace import Trace, arecord, record  # noqa: E402
from pocketflow_widgets import Timeline  # noqa: E402

BAR_SECONDS = 1.0
#: Nodes in the chain redrawn live: fewer than a timeline's 150 lanes, so each adds one.
CHAIN = 120


class Items(AsyncParallelBatchNode):
    """Each item yields to the event loop once."""

    async def prep_async(self, shared: dict[str, Any]) -> list[int]:
        return list(range(shared["items"]))

    async def exec_async(self, item: int) -> int:
        await asyncio.sleep(0)
        return item


class SentBytes:
    """A stand-in for the widget's comm that counts the bytes of each message it sends."""

    comm_id = "bench"
    kernel = "bench"

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def on_msg(self, callback: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, data: Any, buffers: Any = None) -> None:
        self.sizes.append(len(json.dumps(data)))


def median_seconds(function: Any, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def live_redraws(nodes: int) -> tuple[float, float, int]:
    """Redraw a timeline after each node of a ``nodes``-node chain: median seconds and bytes
    sent per redraw, and how many redraws went out as patches."""
    steps = [Node(name=f"step {index}") for index in range(nodes)]
    for here, there in itertools.pairwise(steps):
        here >> there
    trace = record(Flow(start=steps[0], name="chain"), {})
    cuts = [index + 1 for index, step in enumerate(trace.steps) if step.kind == "post"]
    timeline = Timeline()
    comm = SentBytes()
    timeline.comm = comm
    times, sizes = [], []
    for cut in cuts:
        part = Trace(trace.steps[:cut], trace.graph)
        before = len(comm.sizes)
        started = time.perf_counter()
        timeline.update(part, now=trace.steps[cut - 1].time)
        times.append(time.perf_counter() - started)
        sizes.append(sum(comm.sizes[before:]))
    return statistics.median(times), statistics.median(sizes), timeline.patches


def verdict(seconds: float) -> str:
    return "PASS" if seconds < BAR_SECONDS else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()

    started = time.perf_counter()
    flow = AsyncFlow(start=Items(name="items"), name="batch")
    trace = asyncio.run(arecord(flow, {"items": options.items}))
    recorded = time.perf_counter() - started
    steps = len(trace.steps)

    build = median_seconds(lambda: build_timeline(trace), options.repeats)
    widget = median_seconds(lambda: Timeline(trace), options.repeats)
    timeline = Timeline(trace)
    state = len(json.dumps(timeline.get_state(["lanes", "marks", "ticks"])))
    redraw, sent, patches = live_redraws(CHAIN)

    bar = f"bar < {BAR_SECONDS:g} s"
    lanes = len(timeline.lanes)
    print(f"{options.items:,}-item AsyncParallelBatchNode, items sleep 0")
    print(f"  recorded with arecord:  {recorded:8.3f} s   ({steps:,} steps)")
    print(f"  build_timeline(trace):  {build:8.3f} s   {bar}  {verdict(build)}")
    print(f"  Timeline(trace) widget: {widget:8.3f} s   {bar}  {verdict(widget)}")
    print(f"  marks drawn:            {len(timeline.marks):8,}     on {lanes} lanes")
    print(f"  state sent when shown:  {state / 1024:8.1f} KiB")
    print(f"{CHAIN}-node chain, redrawn live after each node")
    print(f"  redraw (update):        {redraw * 1000:8.2f} ms   median")
    print(
        f"  bytes sent per redraw:  {sent:8,.0f} B    median; {patches} of {CHAIN + 1} as patches"
    )


if __name__ == "__main__":
    main()
