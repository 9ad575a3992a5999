"""Compare this project's ``pocketflow`` core with the reference release, as ratios in one run.

Run from the repository root::

    python bench/core.py            # the full run, under a minute on 2 cores
    python bench/core.py --quick    # a few seconds' worth of rounds, for a smoke check
    python bench/core.py --json     # the same figures, machine-readable

Both implementations run the same flows, built through their common API. The two sides are
timed alternately (ours then the reference, then the reference then ours, and so on) and each
figure is the median of the per-round ratios, so that drifts in machine speed hit both sides
alike. ``bench/README.md`` explains each figure and its bar.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):
    sys.path.insert(0, str(ROOT))  # ours must win over any installed ``pocketflow``

import pocketflow  # noqa: E402
from bench.reference import VERSION, load_reference  # noqa: E402
from pocketflow.trace import arecord, record  # noqa: E402

Sample = Callable[[], float]
"""Runs a workload once and returns the seconds it took."""


@dataclass(frozen=True)
class Settings:
    """How long to measure."""

    rounds: int
    """Alternating rounds for each per-step figure."""
    cycles: int
    """Trips around the three-node loop per flow run (each run is ``3 * cycles + 1`` steps)."""
    repeats: int
    """Flow runs per timed sample."""
    parallel_rounds: int
    """Alternating rounds for the parallel batch figures."""
    items: int = 10_000
    """Items in the parallel batch."""
    delay: float = 0.05
    """Seconds each parallel item awaits."""
    concurrency: int = 1000
    """``max_concurrency`` for the bounded parallel batch."""

    @property
    def steps(self) -> int:
        """Node steps in one flow run."""
        return 3 * self.cycles + 1

    @property
    def ideal(self) -> float:
        """Wall time of the bounded batch with no overhead at all: full waves of ``delay``."""
        return -(-self.items // self.concurrency) * self.delay


FULL: Final = Settings(rounds=41, cycles=1000, repeats=5, parallel_rounds=9)
QUICK: Final = Settings(rounds=5, cycles=300, repeats=2, parallel_rounds=2)


@dataclass(frozen=True)
class Figure:
    """One line of the table: our measure, the reference's, their ratio and the bar it must meet."""

    key: str
    label: str
    unit: str
    ours: float
    reference: float
    ratio: float
    ratio_q1: float
    ratio_q3: float
    bar: float
    reference_label: str = ""

    @property
    def passed(self) -> bool:
        """Whether the ratio meets the bar."""
        return self.ratio <= self.bar


# --- workloads, built the same way from either implementation -------------------------------


def build_sync_flow(lib: ModuleType, cycles: int) -> Any:
    """A flow that loops over three trivial nodes ``cycles`` times, then ends on a fourth.

    Every node adds one to ``shared["count"]``, so a run leaves it at ``3 * cycles + 1``.
    """
    limit = 3 * cycles

    class Count(lib.Node):  # type: ignore[name-defined,misc]
        def prep(self, shared: dict[str, int]) -> int:
            return shared["count"]

        def exec(self, count: int) -> int:
            return count + 1

        def post(self, shared: dict[str, int], prep_res: int, exec_res: int) -> str | None:
            shared["count"] = exec_res
            return None

    class Turn(Count):
        def post(self, shared: dict[str, int], prep_res: int, exec_res: int) -> str | None:
            shared["count"] = exec_res
            return "again" if exec_res < limit else "stop"

    first, turn = Count(), Turn()
    first >> Count() >> turn
    turn - "again" >> first
    turn - "stop" >> Count()
    return lib.Flow(start=first)


def build_async_flow(lib: ModuleType, cycles: int) -> Any:
    """The loop of :func:`build_sync_flow` made of async nodes in an async flow."""
    limit = 3 * cycles

    class Count(lib.AsyncNode):  # type: ignore[name-defined,misc]
        async def prep_async(self, shared: dict[str, int]) -> int:
            return shared["count"]

        async def exec_async(self, count: int) -> int:
            return count + 1

        async def post_async(
            self, shared: dict[str, int], prep_res: int, exec_res: int
        ) -> str | None:
            shared["count"] = exec_res
            return None

    class Turn(Count):
        async def post_async(
            self, shared: dict[str, int], prep_res: int, exec_res: int
        ) -> str | None:
            shared["count"] = exec_res
            return "again" if exec_res < limit else "stop"

    first, turn = Count(), Turn()
    first >> Count() >> turn
    turn - "again" >> first
    turn - "stop" >> Count()
    return lib.AsyncFlow(start=first)


def build_parallel_node(lib: ModuleType, items: int, delay: float, **options: Any) -> Any:
    """A parallel batch node whose ``items`` items each await ``delay`` seconds.

    ``post`` stores the number of results in ``shared["done"]``.
    """

    class Wait(lib.AsyncParallelBatchNode):  # type: ignore[name-defined,misc]
        async def prep_async(self, shared: dict[str, int]) -> list[int]:
            return list(range(items))

        async def exec_async(self, item: int) -> int:
            await asyncio.sleep(delay)
            return item

        async def post_async(
            self, shared: dict[str, int], prep_res: list[int], exec_res: list[int]
        ) -> None:
            shared["done"] = len(exec_res)

    return Wait(**options)


# --- timing -----------------------------------------------------------------------------------


def check(ok: bool, what: str) -> None:
    """Stop the benchmark when a workload did not do what it should: its timing would lie."""
    if not ok:
        raise RuntimeError(f"benchmark workload misbehaved: {what}")


def sync_sample(lib: ModuleType, settings: Settings, observed: bool) -> Sample:
    """Time ``settings.repeats`` runs of the looping sync flow."""
    flow = build_sync_flow(lib, settings.cycles)

    def sample() -> float:
        total = 0.0
        for _ in range(settings.repeats):
            shared: dict[str, int] = {"count": 0}
            start = time.perf_counter()
            if observed:
                trace = record(flow, shared)  # as a user records a run: the trace is returned
            else:
                flow.run(shared)
            total += time.perf_counter() - start
            check(shared["count"] == settings.steps, f"sync count {shared['count']}")
            if observed:
                check(len(trace) > 4 * settings.steps, f"sync flow recorded {len(trace)} events")
        return total

    return sample


def async_sample(
    lib: ModuleType, loop: asyncio.AbstractEventLoop, settings: Settings, observed: bool
) -> Sample:
    """Time ``settings.repeats`` runs of the looping async flow, each inside ``loop``."""
    flow = build_async_flow(lib, settings.cycles)

    async def once() -> float:
        shared: dict[str, int] = {"count": 0}
        start = time.perf_counter()
        if observed:
            trace = await arecord(flow, shared)
        else:
            await flow.run_async(shared)
        elapsed = time.perf_counter() - start
        check(shared["count"] == settings.steps, f"async count {shared['count']}")
        if observed:
            check(len(trace) > 4 * settings.steps, f"async flow recorded {len(trace)} events")
        return elapsed

    def sample() -> float:
        return sum(loop.run_until_complete(once()) for _ in range(settings.repeats))

    return sample


def parallel_sample(
    lib: ModuleType, loop: asyncio.AbstractEventLoop, settings: Settings, **options: Any
) -> Sample:
    """Time one run of the parallel batch node inside ``loop``."""
    node = build_parallel_node(lib, settings.items, settings.delay, **options)

    async def once() -> float:
        shared: dict[str, int] = {}
        start = time.perf_counter()
        await node.run_async(shared)
        elapsed = time.perf_counter() - start
        check(shared.get("done") == settings.items, f"parallel batch finished {shared}")
        return elapsed

    return lambda: loop.run_until_complete(once())


def warm_up(*samples: Sample) -> None:
    """Run each sample once untimed; any warning would be timed too, so it is an error here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sample in samples:
            sample()


def alternate(ours: Sample, reference: Sample, rounds: int) -> tuple[list[float], list[float]]:
    """Time both sides ``rounds`` times each, swapping which goes first every round."""
    warm_up(ours, reference)
    ours_times: list[float] = []
    reference_times: list[float] = []
    for round_index in range(rounds):
        if round_index % 2 == 0:
            ours_times.append(collected(ours))
            reference_times.append(collected(reference))
        else:
            reference_times.append(collected(reference))
            ours_times.append(collected(ours))
    return ours_times, reference_times


def collected(sample: Sample) -> float:
    """Run ``sample`` after a full garbage collection, so no side inherits the other's garbage."""
    gc.collect()
    return sample()


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """First quartile, median and third quartile (all three the value itself for one value)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def compare(
    key: str,
    label: str,
    ours: Sample,
    reference: Sample,
    *,
    rounds: int,
    per: float,
    unit: str,
    bar: float,
) -> Figure:
    """Alternate ``ours`` and ``reference`` and summarise them as one figure.

    ``per`` divides a sample's seconds into the reported unit (e.g. steps per sample times 1e-6
    for microseconds per step).
    """
    ours_times, reference_times = alternate(ours, reference, rounds)
    ratios = [mine / theirs for mine, theirs in zip(ours_times, reference_times, strict=True)]
    q1, median, q3 = quartiles(ratios)
    return Figure(
        key=key,
        label=label,
        unit=unit,
        ours=statistics.median(ours_times) / per,
        reference=statistics.median(reference_times) / per,
        ratio=median,
        ratio_q1=q1,
        ratio_q3=q3,
        bar=bar,
    )


def against_ideal(
    key: str, label: str, ours: Sample, ideal: float, *, rounds: int, bar: float
) -> Figure:
    """Time ``ours`` ``rounds`` times and compare it with a fixed ideal wall time."""
    warm_up(ours)
    ratios = [collected(ours) / ideal for _ in range(rounds)]
    q1, median, q3 = quartiles(ratios)
    return Figure(
        key=key,
        label=label,
        unit="s",
        ours=median * ideal,
        reference=ideal,
        ratio=median,
        ratio_q1=q1,
        ratio_q3=q3,
        bar=bar,
        reference_label="ideal",
    )


# --- the run ----------------------------------------------------------------------------------


def measure(settings: Settings, reference: ModuleType) -> Iterator[Figure]:
    """Yield every figure, measuring as it goes."""
    ours = pocketflow
    per_step = settings.steps * settings.repeats * 1e-6
    step_options: dict[str, Any] = {"rounds": settings.rounds, "per": per_step, "unit": "us"}
    yield compare(
        "sync_step",
        "per step, sync flow",
        sync_sample(ours, settings, observed=False),
        sync_sample(reference, settings, observed=False),
        bar=0.8,
        **step_options,
    )
    loop = asyncio.new_event_loop()
    try:
        yield compare(
            "async_step",
            "per step, async flow",
            async_sample(ours, loop, settings, observed=False),
            async_sample(reference, loop, settings, observed=False),
            bar=0.8,
            **step_options,
        )
        yield compare(
            "sync_step_recorded",
            "per step, sync flow, record()",
            sync_sample(ours, settings, observed=True),
            sync_sample(reference, settings, observed=False),
            bar=2.5,
            **step_options,
        )
        yield compare(
            "async_step_recorded",
            "per step, async flow, arecord()",
            async_sample(ours, loop, settings, observed=True),
            async_sample(reference, loop, settings, observed=False),
            bar=2.5,
            **step_options,
        )
        batch = f"{settings.items} x {settings.delay * 1000:g} ms"
        yield compare(
            "parallel_batch",
            f"parallel batch, {batch}",
            parallel_sample(ours, loop, settings),
            parallel_sample(reference, loop, settings),
            rounds=settings.parallel_rounds,
            per=1.0,
            unit="s",
            bar=1.1,
        )
        yield against_ideal(
            "parallel_batch_bounded",
            f"max_concurrency={settings.concurrency}, {batch}",
            parallel_sample(ours, loop, settings, max_concurrency=settings.concurrency),
            settings.ideal,
            rounds=settings.parallel_rounds,
            bar=1.2,
        )
    finally:
        loop.close()


def format_value(value: float, unit: str) -> str:
    """A measure with its unit, to a precision that suits the unit."""
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.2f} {unit}"


def print_table(figures: list[Figure], settings: Settings, elapsed: float) -> None:
    """Print the figures as a table with their bars and PASS/MISS."""
    print(
        f"pocketflow ({Path(pocketflow.__file__).parent}) vs pocketflow=={VERSION}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{settings.rounds} rounds x {settings.repeats} runs x {settings.steps} steps, "
        f"{settings.parallel_rounds} parallel rounds"
    )
    header = ("figure", "ours", "reference", "ratio", "q1-q3", "bar", "")
    rows = [header]
    for figure in figures:
        theirs = format_value(figure.reference, figure.unit)
        if figure.reference_label:
            theirs = f"{figure.reference_label} {theirs}"
        rows.append(
            (
                figure.label,
                format_value(figure.ours, figure.unit),
                theirs,
                f"{figure.ratio:.2f}",
                f"{figure.ratio_q1:.2f}-{figure.ratio_q3:.2f}",
                f"<= {figure.bar:.2f}",
                "PASS" if figure.passed else "MISS",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    passed = sum(figure.passed for figure in figures)
    print(f"{passed}/{len(figures)} bars met in {elapsed:.0f} s")


def report_json(figures: list[Figure], settings: Settings, elapsed: float) -> str:
    """The figures, settings and environment as a JSON document."""
    document = {
        "reference_version": VERSION,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "settings": asdict(settings),
        "elapsed_s": elapsed,
        "figures": [{**asdict(figure), "passed": figure.passed} for figure in figures],
        "passed": all(figure.passed for figure in figures),
    }
    return json.dumps(document, indent=2)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, measure, and print the table (or JSON). Returns 0: misses are data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few short rounds, a smoke check")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    options = parser.parse_args(argv)
    settings = QUICK if options.quick else FULL
    if not Path(pocketflow.__file__).resolve().is_relative_to(ROOT):
        parser.error(f"imported pocketflow from {pocketflow.__file__}, not from {ROOT}")
    reference = load_reference()
    started = time.perf_counter()
    figures = list(measure(settings, reference))
    elapsed = time.perf_counter() - started
    if options.json:
        print(report_json(figures, settings, elapsed))
    else:
        print_table(figures, settings, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
