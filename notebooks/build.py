"""Build the chapter notebooks from their sources in ``src/`` and execute them.

Each source ``src/NN_name.py`` is a Python file in jupytext's "percent" format: a line ``# %%``
starts a code cell, ``# %% [markdown]`` a markdown cell whose lines are ``# ``-comments, and
either may carry tags, as in ``# %% tags=["solution"]``. jupytext reads it; the notebook is
executed by nbclient in this folder (so ``import standin`` works), its consecutive writes to a
stream joined by nbconvert, and written next to the source as ``NN_name.ipynb``, outputs included.

    python notebooks/build.py          # every chapter
    python notebooks/build.py 03 07    # chapters whose file name starts with 03 or 07
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Final

import jupytext
import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

HERE: Final = Path(__file__).resolve().parent
SOURCES: Final = HERE / "src"
FORMAT: Final = "py:percent"
KERNELSPEC: Final = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
CELL_TIMEOUT: Final = 60

#: The tag of a code cell that solves an exercise: its source is hidden until the reader asks.
SOLUTION: Final = "solution"

#: Where the kernel keeps the code of a cell, as a warning raised in that cell names it: a
#: temporary file such as ``/tmp/ipykernel_1234/567.py`` (the kernel's process id and a hash).
KERNEL_CELL_FILE: Final = re.compile(r"(?:[A-Za-z]:)?[^\s\"']*ipykernel_\d+[/\\]\d+\.py")
#: How a stored output names such a file: the same in every build and on every machine.
CELL_FILE: Final = "<cell>"
#: Where an object lives in memory, as a default repr shows it (``<... object at 0x7f...>``).
ADDRESS: Final = re.compile(r"( object) at 0x[0-9a-fA-F]+>")

#: What jupytext notes about a source's layout (blank lines after a cell) so that it can write
#: the text back; a notebook has no use for it.
JUPYTEXT_LAYOUT: Final = frozenset({"lines_to_next_cell"})


def read(source: Path) -> nbformat.NotebookNode:
    """The unexecuted notebook of ``source``: its cells with their tags, stable ids, the kernel.

    A cell tagged ``solution`` also gets ``jupyter.source_hidden``, so that its code is folded.

    Raises ``ValueError`` for cell metadata other than tags: the notebook would lose it, and
    jupytext keeps a malformed marker such as ``# %% tags=solution`` as metadata, not an error.
    """
    cells = jupytext.read(source, fmt=FORMAT).cells
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(cells):
        unknown = sorted(set(cell.metadata) - JUPYTEXT_LAYOUT - {"tags"})
        if unknown:
            first_line = cell.source.partition("\n")[0]
            raise ValueError(
                f"{source.name}: cell {index} ({first_line!r}) has metadata other than tags: "
                + ", ".join(f"{key}={cell.metadata[key]!r}" for key in unknown)
            )
        cell.id = f"cell-{index:02d}"
        cell.metadata = nbformat.NotebookNode(
            {key: value for key, value in cell.metadata.items() if key == "tags"}
        )
        if SOLUTION in cell.metadata.get("tags", ()):
            # JupyterLab shows the cell's output and folds its code away until clicked.
            cell.metadata["jupyter"] = nbformat.NotebookNode({"source_hidden": True})
        notebook.cells.append(cell)
    return notebook


def build(source: Path) -> Path:
    """Read, execute and write the notebook for ``source``; return the notebook's path."""
    notebook = read(source)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNELSPEC["name"],
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
    )
    client.execute()
    # Each flush of a stream arrives as its own output; a reader sees them as one.
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
    sanitize(notebook)
    target = HERE / f"{source.stem}.ipynb"
    nbformat.validate(notebook)
    nbformat.write(notebook, target)
    return target


def sanitize(notebook: nbformat.NotebookNode) -> None:
    """Keep what differs from one machine or run to the next out of the stored outputs.

    A warning printed by the kernel starts with the file it was raised in, which for a cell is
    a temporary file of that kernel: it is stored as ``<cell>``. The plain-text form of a
    widget (what a reader without widgets sees) is a default repr with a memory address: it is
    stored without it. ``sanitize.cfg`` masks both for nbval, which compares a fresh run.
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = KERNEL_CELL_FILE.sub(CELL_FILE, output["text"])
            elif "text/plain" in output.get("data", {}):
                output["data"]["text/plain"] = ADDRESS.sub(r"\1>", output["data"]["text/plain"])


def select(prefixes: list[str]) -> list[Path]:
    """The sources whose names start with one of ``prefixes`` (all of them if none)."""
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    chosen = [s for s in sources if not prefixes or s.name.startswith(tuple(prefixes))]
    if prefixes and not chosen:
        raise SystemExit(f"no source matches {prefixes} (sources: {[s.name for s in sources]})")
    return chosen


def main(argv: list[str]) -> None:
    """Build the chapters named on the command line, or all of them."""
    if shutil.which("dot") is None:  # the graphs would come out as Mermaid, not the stored SVG
        raise SystemExit("Graphviz's `dot` is not on PATH: install it (Debian: graphviz) first")
    for source in select(argv):
        print(f"building {source.name} ...", flush=True)
        print(f"  wrote {build(source).relative_to(HERE.parent)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
