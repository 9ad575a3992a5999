"""The CPU-bound batch of chapter 10, in a module of its own.

A ``ProcessPoolExecutor`` sends a node to its worker processes with the standard pickle, which
sends a class by name: each worker imports the class's module. A class defined in a notebook
cell lives in the kernel's ``__main__``, which the workers do not have, so the chapter's node
lives here, where any process started in this folder can import it.
"""

from __future__ import annotations

from typing import Any

from pocketflow import BatchNode


def checksum(rounds: int) -> int:
    """Pure-Python arithmetic, ``rounds`` steps of it: it holds the GIL all the time it runs."""
    total = 0
    for number in range(rounds):
        total = (total + number * number) % 1_000_003
    return total


class Checksums(BatchNode):
    """One checksum per job: ``prep`` reads the jobs, ``exec`` computes one checksum (never
    touching ``shared``), ``post`` stores them all, in the jobs' order.
    """

    def prep(self, shared: dict[str, Any]) -> list[int]:
        return shared["jobs"]  # type: ignore[no-any-return]

    def exec(self, rounds: int) -> int:
        return checksum(rounds)

    def post(self, shared: dict[str, Any], prep_res: Any, exec_res: list[int]) -> None:
        shared["checksums"] = exec_res
