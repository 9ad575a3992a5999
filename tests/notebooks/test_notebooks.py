"""The chapter notebooks: built from their sources, complete, and reproducible.

Each chapter is executed in a fresh kernel by nbval and its outputs compared with the ones stored
in the ``.ipynb`` (after ``notebooks/sanitize.cfg`` masks what legitimately varies). nbval runs
in a subprocess: it collects ``.ipynb`` files only when given ``--nbval`` and the notebooks on
its command line, which the project's own test run does not do.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"
NBVAL_TIMEOUT = 240  # seconds for all chapters; together they take well under 90


def _load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load_build()
SOURCES = build.select([])
#: The lessons, which end with an exercise; ``00_`` is a tour of the toolkit, not a lesson.
LESSONS = [source for source in SOURCES if not source.name.startswith("00_")]
chapters = pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
lessons = pytest.mark.parametrize("source", LESSONS, ids=[s.stem for s in LESSONS])


def _notebook(source: Path) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{source.stem}.ipynb", as_version=4)


def test_every_source_has_a_notebook_and_every_notebook_a_source() -> None:
    notebooks = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert notebooks == [s.stem for s in SOURCES]


@chapters
def test_source_is_exactly_what_jupytext_writes_back(source: Path) -> None:
    """jupytext reads each source as it was meant: no marker or tag is taken for something else."""
    text = source.read_text(encoding="utf-8")
    assert jupytext.writes(jupytext.reads(text, fmt=build.FORMAT), fmt=build.FORMAT) == text


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, str, dict[str, object]]]:
    return [(c.id, c.cell_type, c.source, dict(c.metadata)) for c in notebook.cells]


@chapters
def test_notebook_cells_equal_their_source(source: Path) -> None:
    assert _cells(_notebook(source)) == _cells(build.read(source)), (
        f"{source.stem}.ipynb differs from src/{source.name}: "
        f"rebuild it with `make notebooks CHAPTERS={source.name[:2]}`"
    )


@chapters
def test_notebook_was_executed_and_has_no_error_output(source: Path) -> None:
    notebook = _notebook(source)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{cell.id} was not executed"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"{cell.id} is tagged raises-exception but raised nothing"
        else:
            assert not errors, f"{cell.id} raised {errors[0].ename}: {errors[0].evalue}"


def test_there_are_lessons() -> None:
    assert len(LESSONS) >= 8


CHECK_CALL = re.compile(r'^check\("(?P<name>[^"]+)", ', re.MULTILINE)


@lessons
def test_chapter_has_an_exercise_and_its_solution(source: Path) -> None:
    cells = _notebook(source).cells
    tagged = [(cell.cell_type, cell.metadata.get("tags", [])) for cell in cells]
    exercise = next(i for i, (_, tags) in enumerate(tagged) if "exercise" in tags)
    solutions = [i for i, (kind, tags) in enumerate(tagged) if "solution" in tags]
    assert solutions, "no cell is tagged 'solution'"
    assert all(tagged[i][0] == "code" for i in solutions), "a solution is a code cell"
    assert min(solutions) > exercise, "the solution comes after the exercise"
    assert all(cells[i].metadata.get("jupyter", {}).get("source_hidden") for i in solutions), (
        "a solution's code is folded (jupyter.source_hidden) so that the reader tries first"
    )


def _check_outputs(cells: list[nbformat.NotebookNode]) -> list[tuple[str, str]]:
    """Each cell that calls ``check(...)``: the exercise's name and the text of what it shows."""
    found = []
    for cell in cells:
        if cell.cell_type == "code" and (call := CHECK_CALL.search(cell.source)):
            shown = [o.get("data", {}).get("text/plain", "") for o in cell.outputs]
            found.append((call["name"], "".join(shown)))
    return found


@lessons
def test_an_exercise_is_checked_before_and_after_its_solution(source: Path) -> None:
    """The reader's attempt is checked (the stored output: a ✗ for the empty answer), then the
    hidden solution is, with a ✓: so nbval runs both the solution and its check.
    """
    cells = _notebook(source).cells
    tags = [cell.metadata.get("tags", []) for cell in cells]
    first_solution = next(i for i, cell_tags in enumerate(tags) if "solution" in cell_tags)
    before, after = _check_outputs(cells[:first_solution]), _check_outputs(cells[first_solution:])
    assert before and after, "a check(...) cell before the solution and one after it"
    assert before[-1][1].startswith(f"✗ {before[-1][0]}: not yet."), before[-1]
    assert after[-1][1].startswith(f"✓ {after[-1][0]}: "), after[-1]


def _requested_chapters(session: pytest.Session) -> list[Path]:
    """The chapters whose nbval test this session runs (all of them, unless deselected)."""
    chosen = {
        item.callspec.params["source"]
        for item in session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_chapter_runs_and_reproduces_its_outputs"
    }
    return sorted(chosen)


@pytest.fixture(scope="module")
def nbval_failures(
    request: pytest.FixtureRequest, dot_path: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[str]]:
    """Run nbval once over the requested chapters; each chapter's failed cells, by stem.

    One nbval process for all chapters: starting pytest and importing nbformat costs seconds,
    so one per chapter would dominate the time. ``dot_path``: the stored graphs are SVG drawn
    by Graphviz; without it they come out as Mermaid and cannot match.
    """
    chapters = _requested_chapters(request.session)
    report = tmp_path_factory.mktemp("nbval") / "report.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "--nbval-current-env",
        f"--nbval-sanitize-with={SANITIZE}",
        f"--junitxml={report}",
        "-p",
        "no:cacheprovider",
        "--color=no",
        "-q",
        *(str(NOTEBOOKS / f"{source.stem}.ipynb") for source in chapters),
    ]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=NBVAL_TIMEOUT, check=False
    )
    failures: dict[str, list[str]] = {source.stem: [] for source in chapters}
    ran: set[str] = set()
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            stem = case.get("classname", "").removeprefix("notebooks.").removesuffix(".ipynb")
            ran.add(stem)
            for problem in [*case.iter("failure"), *case.iter("error")]:
                detail = problem.text or problem.get("message", "")
                failures.setdefault(stem, []).append(f"{case.get('name')}: {detail}")
    for stem, found in failures.items():
        if stem not in ran:  # nbval never got to it: show everything it said
            found.append(f"no cell of {stem}.ipynb was run:\n{done.stdout}{done.stderr}")
    return failures


@chapters
@pytest.mark.timeout(NBVAL_TIMEOUT + 30)
def test_chapter_runs_and_reproduces_its_outputs(
    source: Path, nbval_failures: dict[str, list[str]]
) -> None:
    failed = nbval_failures[source.stem]
    assert not failed, f"nbval: {source.stem}.ipynb does not reproduce:\n" + "\n\n".join(failed)


#: How a chapter marks what the original PocketFlow does not have, or does differently.
CALLOUT = "> **Beyond the original PocketFlow:**"

#: This library's additions: a pattern that finds a use in a code cell, and the words that a
#: callout about it contains.
ADDITIONS = {
    "name=": (r"\bname=", "`name=`"),
    "observe": (r"\bobserve\(", "`observe`"),
    "steps": (r"\.a?steps\(", ".steps("),
    "Stepper": (r"\bStepper\(", "`Stepper`"),
    "declared end": (r">>\s*None\b", "declared end"),
    "max_steps": (r"\bmax_steps=", "`max_steps`"),
    "max_concurrency": (r"\bmax_concurrency=", "`max_concurrency`"),
    "run_live": (r"\ba?run_live\(", "run_live`"),
    "traces": (r"\ba?record\(", "record`"),
    "Timeline": (r"\bTimeline\(", "`Timeline`"),
    "executor": (r"\bexecutor=", "`executor=`"),
}


@pytest.mark.parametrize("addition", ADDITIONS)
def test_an_addition_is_marked_where_the_lessons_first_use_it(addition: str) -> None:
    """The first lesson cell that uses an addition has a callout about it before it."""
    use, words = ADDITIONS[addition]
    for source in LESSONS:
        cells = build.read(source).cells
        first = next(
            (i for i, c in enumerate(cells) if c.cell_type == "code" and re.search(use, c.source)),
            None,
        )
        if first is None:
            continue
        callouts = [
            c.source for c in cells[:first] if c.cell_type == "markdown" and CALLOUT in c.source
        ]
        assert any(words in text for text in callouts), (
            f"{source.stem}/{cells[first].id} is the first use of {addition} in the lessons, and "
            f"no callout before it in {source.name} names it ({words!r} in a '{CALLOUT}' quote)"
        )
        return
    pytest.fail(f"no lesson uses {addition}: drop it from ADDITIONS")


@chapters
def test_callouts_about_the_original_have_one_form(source: Path) -> None:
    """A quote that compares with the original opens with the callout's words, and nothing else."""
    for cell in build.read(source).cells:
        for line in cell.source.splitlines():
            if line.startswith("> **") and "original" in line.lower():
                assert line.startswith(CALLOUT), f"{source.stem}/{cell.id}: {line!r}"


@chapters
def test_chapter_says_what_it_teaches_and_where_to_read_on(source: Path) -> None:
    """The first cell says what you will learn and what you need; the last, where to read on;
    and a lesson recaps just before it.
    """
    cells = build.read(source).cells
    assert "**What you will learn:**" in cells[0].source, "the first cell lists what you learn"
    assert "**What you need:**" in cells[0].source, "the first cell says what you need"
    assert cells[-1].source.startswith("## Further reading"), "the last cell: further reading"
    if source in LESSONS:
        assert cells[-2].source.startswith("## Recap"), "a lesson recaps before reading on"
