"""What a Stepper step costs when ``shared`` is big and each step changes a little of it.

Run from the repository root::

    python bench/stepper.py            # a list of 1,000,000 items and 10,000 other keys
    python bench/stepper.py --items 100000 --keys 1000 --rounds 5

``shared`` holds a list of ``--items`` numbers under ``"big"``, a few documents under ``"docs"``
and ``--keys`` other small keys (each a small dict holding a list). The flow loops ``--rounds``
times over two nodes: ``grow`` appends to the big list, ``summarize`` fills in a summary deep in
the documents. The Stepper walks it with **Step**, one event at a time; each step is timed, and
the median is printed beside the bar of the design (a step costs what it changed in ``shared``,
not its size: at most 50 ms here), for every step and for the steps that changed ``shared``.
For comparison, the figure also gives what one step cost before, when every step deep-copied
and compared all of ``shared``. The run checks that both changes showed in the diffs.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))

from pocketflow import Flow, Node  # noqa: E402
from pocketflow.trace import snapshot  # noqa: E402
from pocketflow_widgets import Stepper  # noqa: E402
from pocketflow_widgets.state import diff_shared  # noqa: E402

#: Milliseconds a step may take.
BAR_MS = 50.0


class Grow(Node):
    """Appends one number to the big list."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
        shared["big"].append(len(shared["big"]))
        return "default"


class Summarize(Node):
    """Fills in the summary of the next document, in place; loops until the rounds are done."""

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> str:
        shared["round"] += 1
        docs = shared["docs"]
        docs[shared["round"] % len(docs)]["summary"] = f"summary {shared['round']}"
        return "again" if shared["round"] < shared["rounds"] else "done"


def make_flow() -> Flow:
    grow, summarize = Grow(name="grow"), Summarize(name="summarize")
    grow >> summarize
    summarize - "again" >> grow
    summarize - "done" >> None
    return Flow(start=grow, name="loop")


def make_shared(items: int, keys: int, rounds: int) -> dict[str, Any]:
    shared: dict[str, Any] = {
        "big": list(range(items)),
        "docs": [{"title": f"doc {n}", "summary": ""} for n in range(5)],
        "round": 0,
        "rounds": rounds,
    }
    for n in range(keys):
        shared[f"key {n}"] = {"n": n, "tags": ["a", "b"]}
    return shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()

    shared = make_shared(options.items, options.keys, options.rounds)
    started = time.perf_counter()
    stepper = Stepper(make_flow(), shared)
    made = time.perf_counter() - started

    every: list[float] = []
    changing: list[float] = []
    grew = summarized = False
    gc.collect()
    while not stepper.finished:
        started = time.perf_counter()
        stepper.step()
        took = time.perf_counter() - started
        every.append(took)
        changes = stepper.changes
        if changes:
            changing.append(took)
            if "big" in changes.changed:
                before, after = changes.changed["big"]
                grew = grew or len(after) == len(before) + 1
            if "docs" in changes.changed:
                before, after = changes.changed["docs"]
                summarized = summarized or before != after
    # The workload: both in-place changes must have shown in the diffs.
    assert stepper.error is None, stepper.error
    assert grew, "the append to the big list never showed in a diff"
    assert summarized, "the nested summary never showed in a diff"
    assert len(shared["big"]) == options.items + options.rounds

    def whole_copy_and_diff() -> None:
        """One step as it was: a deep copy of all of shared, compared with the last one."""
        diff_shared(previous, snapshot(shared))

    previous = snapshot(shared)
    before = []
    for _ in range(3):
        started = time.perf_counter()
        whole_copy_and_diff()
        before.append(time.perf_counter() - started)

    print(
        f"shared: a list of {options.items:,} items, {options.keys:,} other keys; "
        f"{len(every)} steps, {len(changing)} of them changed shared"
    )
    print(f"{'figure':52} {'ms':>9}  bar")
    rows = [
        ("Stepper made (first copy of shared)", made * 1e3, None),
        ("one step, median of all", statistics.median(every) * 1e3, BAR_MS),
        ("one step that changed shared, median", statistics.median(changing) * 1e3, BAR_MS),
        ("one step that changed shared, slowest", max(changing) * 1e3, None),
        ("before: deep copy + diff of all shared, median", statistics.median(before) * 1e3, None),
    ]
    for name, ms, bar in rows:
        verdict = "" if bar is None else f"<= {bar:g} ms  {'PASS' if ms <= bar else 'MISS'}"
        print(f"{name:52} {ms:9.2f}  {verdict}")


if __name__ == "__main__":
    main()
