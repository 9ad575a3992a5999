"""What a live view sends to the browser: the bytes of every widget message during a run.

Run from the repository root::

    python bench/views.py                   # chains of 200 and 2,000 nodes
    python bench/views.py --nodes 50 500

Each chain runs under ``LiveRun(flow, interval=0)``, so that every event of the run updates the
view. The widgets' comm is replaced by one that keeps the size of each message as the kernel
would send it (its ``data`` as JSON, without the Jupyter header around it), so what is counted
is what actually leaves the kernel, whatever the view chooses to draw (an overview, for a large
graph). Printed per chain: the size of the graph view's first message (its layout) and the mean
and largest update after it, of the graph view alone and of every widget of the live run (the
status line too), beside the bar of a few KiB per update.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import comm
from comm.base_comm import BaseComm

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))

from pocketflow import Flow, Node  # noqa: E402
from pocketflow_widgets import LiveRun  # noqa: E402

#: The bar: bytes per update after the first message, whatever the graph's size.
BAR = 4 * 1024


#: Comm id -> the size of each message sent on it, in order.
SIZES: defaultdict[str, list[int]] = defaultdict(list)


class RecordingComm(BaseComm):
    """A comm that sends nothing and records the size of each message it would have sent."""

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        # Serialised as jupyter_client's session does: JSON, not ASCII-escaped, in UTF-8.
        size = len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        size += sum(len(memoryview(buffer).cast("B")) for buffer in buffers or ())
        SIZES[self.comm_id].append(size)


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


def measure(nodes: int) -> dict[str, Any]:
    """Run a chain of ``nodes`` nodes live and return the sizes of what its widgets sent."""
    SIZES.clear()
    flow = chain(nodes)
    live = LiveRun(flow, interval=0, display_widget=False)
    picture = live.view.widget
    live.run({})
    view_sizes = SIZES[picture.comm.comm_id]
    every = [size for sizes in SIZES.values() for size in sizes[1:]]
    return {
        "nodes": nodes,
        "renders": live.renders,
        "first": view_sizes[0],
        "view": view_sizes[1:],
        "all": every,
        "widgets": len(SIZES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[200, 2000])
    options = parser.parse_args()
    comm.create_comm = RecordingComm  # every widget made from here on records its messages
    print(f"{'chain':>6} {'renders':>8} {'first':>9}  {'graph view: mean / max':>24}  ", end="")
    print(f"{'all widgets: mean / max':>24}  bar <= {BAR} B per update")
    for nodes in options.nodes:
        found = measure(nodes)
        view, every = found["view"] or [0], found["all"] or [0]
        mean, largest = statistics.fmean(view), max(view)
        verdict = "PASS" if mean <= BAR and statistics.fmean(every) <= BAR else "MISS"
        print(
            f"{nodes:>6} {found['renders']:>8} {found['first']:>8}B  "
            f"{mean:>10.0f}B / {largest:>9}B  "
            f"{statistics.fmean(every):>10.0f}B / {max(every):>9}B  {verdict}"
        )
    print("first: the graph view's first message (its layout); bytes are the comm data as JSON")


if __name__ == "__main__":
    main()
