"""Long runs stay in constant memory: peak memory of a 1,000,000-step loop against 10,000 steps.

Run from the repository root::

    python bench/memory.py            # 10,000 and 1,000,000 steps, sync and async
    python bench/memory.py --steps 200000

Each run happens in a fresh interpreter (so one run's peak cannot hide another's), which
reports its peak resident memory; the figure is the ratio long / short for the same kind of
flow. A run that kept anything per step would grow about a hundredfold.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import asyncio, resource, sys
sys.path.insert(0, {root!r})
from pocketflow import AsyncFlow, AsyncNode, Flow, Node

steps = {steps}

class Count(Node):
    def post(self, shared, prep_res, exec_res):
        shared["n"] += 1
        return "again" if shared["n"] < steps else "done"

class ACount(AsyncNode):
    async def post_async(self, shared, prep_res, exec_res):
        shared["n"] += 1
        return "again" if shared["n"] < steps else "done"

node = ACount() if {is_async} else Count()
node - "again" >> node
node - "done" >> None
flow = (AsyncFlow if {is_async} else Flow)(start=node)
shared = {{"n": 0}}
if {is_async}:
    asyncio.run(flow.run_async(shared))
else:
    flow.run(shared)
assert shared["n"] == steps
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""


def peak_kib(steps: int, is_async: bool) -> int:
    """Peak resident memory, in KiB, of a fresh interpreter running a loop of ``steps``."""
    code = CHILD.format(root=str(ROOT), steps=steps, is_async=is_async)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--short", type=int, default=10_000)
    options = parser.parse_args()
    print(f"peak memory: {options.steps:,} steps against {options.short:,} steps")
    for is_async in (False, True):
        short = peak_kib(options.short, is_async)
        long = peak_kib(options.steps, is_async)
        kind = "async" if is_async else "sync"
        verdict = "PASS" if long / short <= 1.1 else "MISS"
        print(
            f"{kind:5} flow: {short / 1024:6.1f} MiB -> {long / 1024:6.1f} MiB, "
            f"ratio {long / short:.3f}  (bar <= 1.10: {verdict})"
        )


if __name__ == "__main__":
    main()
