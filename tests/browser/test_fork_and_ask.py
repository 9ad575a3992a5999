"""Forks and a person in the loop, in JupyterLab.

- A Replay's **Continue from here**, after editing ``shared``, opens a Stepper on the fork under
  the replay, which steps from the boundary it was forked at.
- A run started with ``start`` asks; the kernel stays free; a click on the answer's button makes
  the run go on to its end. ``button.click()`` from Python cannot show this: the kernel takes a
  click's message only when no cell executes, so only a real front end proves that the run
  waits without holding a cell.

The notebooks are written into the server's folder by each test. Every wait is on a condition
with a timeout.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Locator, expect

pytestmark = pytest.mark.browser

WAIT_MS = 15_000

ASKING = """\
from pocketflow import AsyncFlow, AsyncNode, Node
from pocketflow_widgets import ask, start


class Quote(Node):
    def exec(self, prep_res):
        return 3 * 12

    def post(self, shared, prep_res, exec_res):
        shared["price"] = exec_res


class Approve(AsyncNode):
    async def prep_async(self, shared):
        return shared["price"]

    async def exec_async(self, price):
        return await ask(f"Approve the order for {price} EUR?", choices=["yes", "no"])

    async def post_async(self, shared, prep_res, answer):
        shared["approved"] = answer == "yes"


quote = Quote(name="quote")
quote >> Approve(name="approve")
flow = AsyncFlow(start=quote, name="ordering")
"""

SUMMING = """\
from pocketflow import Flow, Node
from pocketflow.trace import record
from pocketflow_widgets import Replay, Stepper


class Add(Node):
    def post(self, shared, prep_res, exec_res):
        shared["total"] = shared.get("total", 0) + 1
        shared.setdefault("seen", []).append(self.name)


first, second, third = Add(name="first"), Add(name="second"), Add(name="third")
first >> second >> third
flow = Flow(start=first, name="sum")
"""

REPLAY = """\
trace = record(flow, {}, snapshots=True)
replay = Replay(trace, flow)
replay
"""


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """A notebook of ``cells`` (a title, then code) under the server's root; its server path."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.cells = [nbformat.v4.new_markdown_cell(f"# {name}")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    folder = root / "browser-tests"
    folder.mkdir(exist_ok=True)
    nbformat.write(notebook, folder / name)
    return f"browser-tests/{name}"


def button(scope: Locator, label: str) -> Locator:
    """The button reading ``label`` in ``scope``."""
    return scope.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def open_editor_at(output: Locator, key: str, shown: str) -> Locator:
    """Open the fork editor in ``output``; the text area of ``key``, once it shows ``shown``."""
    button(output, "Edit shared").first.click()
    row = output.locator(".pf-fork-editor .widget-hbox").filter(has_text=f"'{key}'")
    area = row.locator("textarea")
    expect(area).to_have_value(shown, timeout=WAIT_MS)
    return area


def test_clicking_the_answer_lets_the_background_run_finish(lab, lab_server) -> None:
    path = write_notebook(lab_server.root, "ask.ipynb", [ASKING, "run = start(flow, {})", "1 + 1"])
    lab.open_notebook(path)
    assert lab.run_cell(1), lab.report()
    assert lab.run_cell(2), lab.report()  # start() returns at once: the cell ends
    output = lab.output_of_cell(2)
    question = output.locator(".pf-ask")
    expect(question).to_contain_text("Approve the order for 36 EUR?", timeout=WAIT_MS)
    status = output.locator(".pf-status")
    expect(status).to_have_text(re.compile(r"^step \d+: ordering › approve prep$"))

    # The run waits for its answer and the kernel is free: another cell runs meanwhile.
    assert lab.run_cell(3, timeout=20), "a cell could not run while the run waited"
    expect(lab.output_of_cell(3).locator(".jp-OutputArea-output")).to_have_text("2")
    assert lab.kernel_value("run.done") == "False"
    asked = ast.literal_eval(lab.kernel_value("[q.question for q in run.pending]"))
    assert asked == ["Approve the order for 36 EUR?"]

    button(question, "yes").click()

    expect(question).to_contain_text("answered: yes", timeout=WAIT_MS)
    expect(button(question, "yes")).to_have_count(0)
    expect(status).to_have_text(re.compile(r"^step \d+: ordering post$"), timeout=WAIT_MS)
    assert lab.kernel_value("run.done, run.error") == "(True, None)"
    assert ast.literal_eval(lab.kernel_value("run.shared")) == {"price": 36, "approved": True}
    assert lab.report() == ""
    lab.screenshot_output(2, "ask-answered")


def test_continue_from_a_replay_after_editing_shared_and_step_the_fork(
    lab, lab_server, page
) -> None:
    lab.open_notebook(write_notebook(lab_server.root, "fork.ipynb", [SUMMING, REPLAY]))
    assert lab.run_cell(1) and lab.run_cell(2), lab.report()
    output = lab.output_of_cell(2)
    readout = output.locator(".widget-readout")
    expect(readout).to_have_text("19", timeout=WAIT_MS)  # the flow's post, the last step

    # Back to step 9, second's prep: not a node boundary, so the fork starts at step 8.
    output.locator(".noUi-handle").focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    expect(readout).to_have_text("9", timeout=WAIT_MS)
    where = output.locator(".pf-fork-where")
    expect(where).to_have_text(
        "from step 8: second as it starts (the last node boundary before step 9)"
    )

    total = open_editor_at(output, "total", "1")
    total.fill("one hundred")
    button(output, "Continue from here").click()
    error = output.locator(".pf-fork .pf-error")
    expect(error).to_contain_text("Cannot fork", timeout=WAIT_MS)
    expect(error).to_contain_text("'total'")
    forks = output.locator(".pf-forks .pf-stepper")
    expect(forks).to_have_count(0)  # nothing ran

    total.fill("100")
    button(output, "Continue from here").click()
    expect(forks).to_have_count(1, timeout=WAIT_MS)
    fork = forks.first
    expect(fork.locator(".pf-fork-source")).to_have_text(
        "Forked from step 8 of 'sum' in a Replay (edited: 'total')"
    )
    expect(error).to_have_count(0)
    status = fork.locator(".pf-status:not(.pf-fork-source)")
    expect(status).to_have_text(re.compile("^Ready"))

    button(fork, "Step").click()
    expect(status).to_have_text(re.compile(r"^#8 sum › second · start"), timeout=WAIT_MS)
    button(fork, "Continue").click()
    expect(status).to_contain_text("finished", timeout=WAIT_MS)
    assert ast.literal_eval(lab.kernel_value("replay.fork_controls.forks[0].shared")) == {
        "total": 102,
        "seen": ["first", "second", "third"],
    }
    assert ast.literal_eval(lab.kernel_value("trace.shared_at(8)")) == {
        "total": 1,
        "seen": ["first"],
    }
    assert lab.report() == ""
    lab.screenshot("fork-from-replay")


def test_fork_a_stepper_where_it_halted_and_run_the_fork(lab, lab_server) -> None:
    cells = [SUMMING, "stepper = Stepper(flow, {}, breakpoints=['third'])\nstepper"]
    lab.open_notebook(write_notebook(lab_server.root, "fork-stepper.ipynb", cells))
    assert lab.run_cell(1) and lab.run_cell(2), lab.report()
    output = lab.output_of_cell(2)
    expect(button(output, "Fork")).to_be_disabled(timeout=WAIT_MS)  # not started yet

    button(output, "Continue").click()
    status = output.locator(".pf-status").first
    expect(status).to_have_text(re.compile(r"^#13 sum › third · start"), timeout=WAIT_MS)
    expect(button(output, "Fork")).to_be_enabled()
    open_editor_at(output, "total", "2").fill("40")
    button(output, "Fork").click()

    fork = output.locator(".pf-forks .pf-stepper")
    expect(fork).to_have_count(1, timeout=WAIT_MS)
    expect(fork.locator(".pf-fork-source")).to_have_text(
        "Forked from step 13 of 'sum' in a Stepper (edited: 'total')"
    )
    # The fork's graph shows the path that led there.
    expect(fork.locator(".pf-graph g.node#node__first")).to_have_attribute(
        "data-state", "visited", timeout=WAIT_MS
    )
    button(fork, "Continue").click()
    expect(fork.locator(".pf-status:not(.pf-fork-source)")).to_contain_text(
        "finished", timeout=WAIT_MS
    )
    forked = ast.literal_eval(lab.kernel_value("stepper.fork_controls.forks[0].shared"))
    assert forked == {"total": 41, "seen": ["first", "second", "third"]}
    assert ast.literal_eval(lab.kernel_value("stepper.shared['total']")) == 2  # still halted
    assert lab.report() == ""
    lab.screenshot("fork-from-stepper")
