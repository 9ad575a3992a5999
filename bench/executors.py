"""What ``executor=`` buys and costs: a CPU-bound batch on a Dask cluster, and the per-item
overhead of the executor path.

Run from the repository root (needs the ``dask`` extra: ``pip install -e '.[dask]'``)::

    python bench/executors.py            # three rounds
    python bench/executors.py --rounds 5

1. **Speed-up.** One ``BatchNode`` over 64 items, each about 50 ms of pure-Python arithmetic
   (calibrated on this machine first), run in process and on a warm Dask ``LocalCluster`` of
   two worker processes (one thread each), alternately, swapping which goes first every round.
   The figure is the median of the per-round speed-ups (in-process time / cluster time). Two
   workers can at best halve the time; the target is 1.5x on an idle machine. Each round also
   times the bare executor (``submit`` per item) on the same items: on a shared machine the
   cores' speed varies, and the ratio of the two says what the executor path itself keeps.
2. **Overhead per item.** 64 trivial items (``exec`` returns its item) through a two-thread
   ``ThreadPoolExecutor`` against the same batch in process: the extra time per item is the
   price of the executor path itself (a copy of the node, a future, the hand-back). The same
   for the Dask cluster, whose price includes the trip to a worker process.

Timings are data, not a test: the exit status is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))  # ours must win over any installed ``pocketflow``

from pocketflow import BatchNode  # noqa: E402

ITEMS: Final = 64
ITEM_SECONDS: Final = 0.05
TARGET: Final = 1.5


def crunch(steps: int) -> int:
    """Pure-Python arithmetic: holds the GIL the whole time, as CPU-bound Python code does."""
    total = 0
    for number in range(steps):
        total = (total + number * number) % 1_000_003
    return total


def calibrate(seconds: float) -> int:
    """How many steps of :func:`crunch` take ``seconds`` here (the median of five tries)."""
    probe = 200_000
    took = []
    for _ in range(5):
        started = time.perf_counter()
        crunch(probe)
        took.append(time.perf_counter() - started)
    return max(1, round(probe * seconds / statistics.median(took)))


class Crunch(BatchNode):
    """Each item is a number of :func:`crunch` steps; the results are the checksums."""

    def prep(self, shared: dict[str, Any]) -> list[int]:
        return shared["items"]  # type: ignore[no-any-return]

    def exec(self, steps: int) -> int:
        return crunch(steps)

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: list[int]) -> None:
        shared["results"] = exec_res


class Echo(BatchNode):
    """Trivial items: what is left to time is the batch's own machinery."""

    def prep(self, shared: dict[str, Any]) -> list[int]:
        return shared["items"]  # type: ignore[no-any-return]

    def exec(self, item: int) -> int:
        return item

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: list[int]) -> None:
        shared["results"] = exec_res


def timed(node: BatchNode, items: list[int]) -> tuple[float, list[int]]:
    """Seconds one run of ``node`` over ``items`` takes, and its results."""
    shared: dict[str, Any] = {"items": items}
    gc.collect()
    started = time.perf_counter()
    node.run(shared)
    return time.perf_counter() - started, shared["results"]


def bare(executor: Executor, items: list[int]) -> float:
    """Seconds the executor alone takes to run :func:`crunch` over ``items``: the baseline."""
    gc.collect()
    started = time.perf_counter()
    for future in [executor.submit(crunch, steps) for steps in items]:
        future.result()
    return time.perf_counter() - started


def speed_up(
    executor: Executor, steps: int, rounds: int
) -> tuple[float, list[float], float, float]:
    """The median speed-up of the cluster over in-process, each round's, the median
    in-process time of the batch, and the median speed-up of the bare executor in the same
    rounds (what the machine allows now: the shared cores vary from minute to minute).

    The items differ by a step each: Dask computes calls with equal arguments only once.
    """
    items = [steps + offset for offset in range(ITEMS)]
    here, there = Crunch(), Crunch(executor=executor)
    expected = [crunch(item) for item in items[:1]]
    timed(there, items[:4])  # warm: the node's class reaches every worker once
    ratios, local_times, bare_ratios = [], [], []
    for round_ in range(rounds):
        if round_ % 2 == 0:
            local, local_results = timed(here, items)
            remote, remote_results = timed(there, items)
        else:
            remote, remote_results = timed(there, items)
            local, local_results = timed(here, items)
        assert local_results == remote_results and local_results[:1] == expected
        ratios.append(local / remote)
        local_times.append(local)
        bare_ratios.append(local / bare(executor, items))
    return (
        statistics.median(ratios),
        ratios,
        statistics.median(local_times),
        statistics.median(bare_ratios),
    )


def overhead_per_item(executor: Executor, repeats: int) -> tuple[float, float, float]:
    """Microseconds per trivial item: the executor path over in-process, the in-process cost,
    and the executor's own cost for a bare function (``submit`` then ``result``, no node),
    each the median of ``repeats`` alternating rounds.
    """
    items = list(range(ITEMS))
    here, there = Echo(), Echo(executor=executor)
    timed(there, items)
    extra, local, bare = [], [], []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            here_time, there_time = timed(here, items)[0], timed(there, items)[0]
        else:
            there_time, here_time = timed(there, items)[0], timed(here, items)[0]
        local.append(here_time)
        extra.append(there_time - here_time)
        started = time.perf_counter()
        assert [f.result() for f in [executor.submit(abs, i) for i in items]] == items
        bare.append(time.perf_counter() - started)
    per_item = 1e6 / ITEMS
    return (
        statistics.median(extra) * per_item,
        statistics.median(local) * per_item,
        statistics.median(bare) * per_item,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    rounds = parser.parse_args().rounds
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit("needs Dask: pip install -e '.[dask]'") from None

    steps = calibrate(ITEM_SECONDS)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}; {ITEMS} items x "
        f"{ITEM_SECONDS * 1000:.0f} ms ({steps:,} steps of pure-Python arithmetic each), "
        f"{rounds} rounds"
    )
    with ThreadPoolExecutor(2) as pool:
        threads_extra, local_cost, threads_bare = overhead_per_item(pool, repeats=201)
    with (
        LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0")
        as cluster,
        Client(cluster) as client,
    ):
        executor = client.get_executor()
        median, ratios, local_time, bare_median = speed_up(executor, steps, rounds)
        dask_extra, _, dask_bare = overhead_per_item(executor, repeats=21)

    verdict = "meets" if median >= TARGET else "misses"
    print(
        f"speed-up, Dask LocalCluster (2 worker processes) over in-process: {median:.2f}x "
        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; in process {local_time:.2f} s); "
        f"{verdict} the {TARGET}x target; the bare executor, in the same rounds: "
        f"{bare_median:.2f}x, so the executor path keeps {median / bare_median:.0%} of it"
    )
    print(f"in process, per trivial item: {local_cost:.1f} us")
    print(
        f"executor path over in-process, per item: ThreadPoolExecutor(2) {threads_extra:.0f} us "
        f"(a bare submit/result costs {threads_bare:.0f} us), Dask LocalCluster "
        f"{dask_extra:.0f} us (a bare submit/result costs {dask_bare:.0f} us)"
    )


if __name__ == "__main__":
    main()
