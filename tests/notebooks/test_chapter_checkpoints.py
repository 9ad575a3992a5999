"""Every run of a flow in the chapters resumes from each of its node boundaries as it ran whole.

Each chapter is executed in a real kernel (nbclient) with two cells added: one at the top that
notes every top-level ``run`` / ``run_async`` of a flow with a copy of the ``shared`` it got,
and one at the end that records each noted run again with snapshots and resumes it from every
``start`` and ``post`` step, through a checkpoint written to JSON lines and read back (kept in
memory when ``shared`` holds objects JSON cannot, which a checkpoint from a file refuses). A run
whose nodes are not deterministic (two whole runs end differently: a timing, a random draw) is
left out and counted as such; at least one run per chapter that has any must be compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"

#: Chapter 10 runs its batch on process pools and a Dask cluster: its runs are checked by the
#: executor tests; resuming them here would start the cluster again for every boundary.
CHAPTERS = sorted(
    path for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if not path.name.startswith("10_")
)

NOTE_RUNS = r"""
import copy as _copy
import pocketflow.nodes as _nodes
from pocketflow.flows import Flow as _Flow

_NOTED = []


def _note(flow, shared):
    if isinstance(flow, _Flow):
        try:
            _NOTED.append((flow, _copy.deepcopy(shared)))
        except Exception:
            pass  # a shared that cannot be copied cannot be run again the same way


def _noting(method):
    def noted(self, shared):
        _note(self, shared)
        return method(self, shared)

    return noted


_ORIGINAL_RUN, _ORIGINAL_RUN_ASYNC = _nodes.BaseNode._run, _nodes.AsyncNode._run_async
_nodes.BaseNode._run = _noting(_nodes.BaseNode._run)
_nodes.AsyncNode._run_async = _noting(_nodes.AsyncNode._run_async)
"""

CHECK_RUNS = r"""
import json as _json
import warnings as _warnings
from pocketflow import observe as _observe
from pocketflow.checkpoints import Checkpoint as _Checkpoint, boundaries as _boundaries
from pocketflow.trace import Recorder as _Recorder, to_json as _to_json
from pocketflow_widgets.asking import answers as _answers


async def _whole(flow, shared):
    recorder = _Recorder(snapshots=True, shared=shared)
    with _observe(recorder):
        try:
            if flow._is_async:
                await _ORIGINAL_RUN_ASYNC(flow, shared)
            else:
                _ORIGINAL_RUN(flow, shared)
        except Exception as exc:
            return recorder, (type(exc).__name__, str(exc))
    return recorder, None


def _steps(steps):
    return [
        _json.dumps(_to_json((s.step, s.kind, s.node_id, s.path, s.value, s.item, s.scope)))
        for s in steps
    ]


async def _check(flow, start):
    first, error = await _whole(flow, _copy.deepcopy(start))
    second, again = await _whole(flow, _copy.deepcopy(start))
    if _to_json(first.shared) != _to_json(second.shared) or error != again:
        return "not deterministic", 0
    trace = first.trace
    compared = 0
    for step in _boundaries(trace):
        checkpoint = trace.checkpoint(step)
        if any(frame.parallel for frame in checkpoint.frames):
            continue
        try:  # through a file, unless shared holds what JSON cannot (then it must refuse)
            checkpoint = _Checkpoint.from_jsonl(checkpoint.to_jsonl())
            shared = checkpoint.new_shared()
        except ValueError as exc:
            if "placeholder" not in str(exc):
                raise
            checkpoint = trace.checkpoint(step)
            shared = checkpoint.new_shared()
        recorder = _Recorder(snapshots=True, shared=shared, root=flow)
        with _observe(recorder):
            try:
                if flow._is_async:
                    await flow.resume_async(checkpoint, shared)
                else:
                    flow.resume(checkpoint, shared)
                resumed_error = None
            except Exception as exc:
                resumed_error = (type(exc).__name__, str(exc))
        if resumed_error != error or _to_json(shared) != _to_json(first.shared):
            return f"step {step}: resumed to another end", compared
        rest = [s for s in trace.steps if s.step > step or (s.step == step and s.kind == "start")]
        if _steps(recorder.trace.steps) != _steps(rest):
            return f"step {step}: other events", compared
        compared += 1
    return "ok", compared


_results = []
with _warnings.catch_warnings():
    _warnings.simplefilter("ignore")
    for _flow, _start in _NOTED:
        with _answers({}):
            _results.append((_flow.name, *(await _check(_flow, _start))))
print("CHECKPOINTS " + _json.dumps(_results))
"""


def _with_checks(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook.cells.insert(0, nbformat.v4.new_code_cell(NOTE_RUNS))
    notebook.cells.append(nbformat.v4.new_code_cell(CHECK_RUNS))
    return notebook


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_every_run_in_the_chapter_resumes_from_each_boundary_as_it_ran_whole(path: Path) -> None:
    notebook = _with_checks(nbformat.read(path, as_version=4))
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
    )
    client.execute()
    printed = "".join(
        output.get("text", "")
        for output in notebook.cells[-1].outputs
        if output.get("output_type") == "stream"
    )
    line = next(text for text in printed.splitlines() if text.startswith("CHECKPOINTS "))
    results = json.loads(line.removeprefix("CHECKPOINTS "))
    failures = [r for r in results if r[1] not in ("ok", "not deterministic")]
    assert failures == [], failures
    if results:
        assert sum(compared for _, _, compared in results) > 0, results
