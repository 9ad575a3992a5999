"""Build the chapter notebooks from their sources in ``src/`` and execute them.

Each source ``src/NN_name.py`` is a Python file in "percent" format: a line ``# %%`` starts a
code cell, ``# %% [markdown]`` a markdown cell whose lines are ``# ``-comments, and either may
carry tags, as in ``# %% tags=["solution"]``. The notebook is executed in this folder (so
``import standin`` works) and written next to it as ``NN_name.ipynb``, outputs included.

    python notebooks/build.py          # every chapter
    python notebooks/build.py 03 07    # chapters whose file name starts with 03 or 07
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import nbformat
from nbclient import NotebookClient

HERE: Final = Path(__file__).resolve().parent
SOURCES: Final = HERE / "src"
KERNELSPEC: Final = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}
CELL_TIMEOUT: Final = 60

_MARKER = re.compile(r"^# %%(?P<markdown> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


@dataclass
class Cell:
    """One cell of a source file."""

    kind: str  # "code" or "markdown"
    source: str
    tags: list[str] = field(default_factory=list)


def parse(text: str, name: str = "<source>") -> list[Cell]:
    """The cells of a percent-format source, in order.

    Raises ``ValueError`` for text before the first cell marker, a markdown line that is not a
    comment, or a malformed marker.
    """
    cells: list[Cell] = []
    lines: list[str] = []

    def close() -> None:
        if cells:
            cells[-1].source = "\n".join(lines).strip("\n")
        lines.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            match = _MARKER.match(line)
            if match is None:
                raise ValueError(f"{name}:{number}: malformed cell marker: {line!r}")
            close()
            tags = json.loads(match["tags"]) if match["tags"] else []
            cells.append(Cell("markdown" if match["markdown"] else "code", "", tags))
        elif not cells:
            if line.strip():
                raise ValueError(f"{name}:{number}: text before the first cell marker")
        elif cells[-1].kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"{name}:{number}: a markdown line must be a '# ' comment")
            lines.append(line[2:] if line.startswith("# ") else line[1:])
        else:
            lines.append(line)
    close()
    return cells


def to_notebook(cells: list[Cell]) -> nbformat.NotebookNode:
    """An unexecuted notebook of ``cells`` with stable cell ids."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(cells):
        if cell.kind == "markdown":
            made = nbformat.v4.new_markdown_cell(cell.source, id=f"cell-{index:02d}")
        else:
            made = nbformat.v4.new_code_cell(cell.source, id=f"cell-{index:02d}")
        if cell.tags:
            made.metadata["tags"] = list(cell.tags)
        notebook.cells.append(made)
    return notebook


def merge_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """``outputs`` with consecutive writes to one stream joined, as a reader sees them."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.output_type == previous.output_type == "stream"
            and output.name == previous.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def build(source: Path) -> Path:
    """Parse, execute and write the notebook for ``source``; return the notebook's path."""
    cells = parse(source.read_text(encoding="utf-8"), source.name)
    notebook = to_notebook(cells)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNELSPEC["name"],
        resources={"metadata": {"path": str(HERE)}},
        record_timing=False,
    )
    client.execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    target = HERE / f"{source.stem}.ipynb"
    nbformat.validate(notebook)
    nbformat.write(notebook, target)
    return target


def select(prefixes: list[str]) -> list[Path]:
    """The sources whose names start with one of ``prefixes`` (all of them if none)."""
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    chosen = [s for s in sources if not prefixes or s.name.startswith(tuple(prefixes))]
    if prefixes and not chosen:
        raise SystemExit(f"no source matches {prefixes} (sources: {[s.name for s in sources]})")
    return chosen


def main(argv: list[str]) -> None:
    """Build the chapters named on the command line, or all of them."""
    for source in select(argv):
        print(f"building {source.name} ...", flush=True)
        print(f"  wrote {build(source).relative_to(HERE.parent)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
