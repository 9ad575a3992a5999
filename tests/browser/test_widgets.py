"""The toolkit's widgets, clicked in JupyterLab: Stepper (sync, async, failing), live run, replay.

Each test opens a fixture notebook from ``tests/browser/fixtures/``, runs its set-up cells one by
one, then works the widget as a reader would and checks what the page shows. Every wait is on a
condition with a timeout. The last test clicks **Step** in the Steppers of two chapter notebooks.

The graph in these widgets is the graph widget: a node's group in its SVG carries its run state
as ``data-state`` and in its accessible name, its outline is drawn with the state's look from
:mod:`pocketflow.palette` and the current and failed nodes have a mark before their name; an
edge the run took carries ``data-taken`` and writes the count under its label (``text.pf-count``).

The pictures in ``docs/img/`` are written when missing, or again with ``UPDATE_DOC_IMAGES=1``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from pocketflow.palette import STATES

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
DOC_IMAGES = REPO / "docs" / "img"

WAIT_MS = 15_000  # how long a click may take to show in the page

# What the live run's graph is recorded by while its cell runs: the status line, the title of the
# node drawn as current (its name and state word) and the count on the loop edge of the clock.
LIVE_WATCH = (
    ".pf-status, .pf-graph g[data-state='current'] > title,"
    " .pf-graph g#edge__tick__tick > text.pf-count"
)

# The counter flow of stepper_sync.ipynb and replay.ipynb, event by event:
# (step, node, phase).
COUNTER_EVENTS = [
    (1, "demo", "start"),
    (2, "demo", "prep"),
    (3, "count", "start"),
    (4, "count", "prep"),
    (5, "count", "exec"),
    (6, "count", "post"),
    (7, "count", "transition"),
    (8, "finish", "start"),
    (9, "finish", "prep"),
    (10, "finish", "exec"),
    (11, "finish", "post"),
    (12, "finish", "transition"),
    (13, "demo", "exec"),
    (14, "demo", "post"),
]


def status_pattern(step: int, node: str, phase: str) -> re.Pattern[str]:
    """What the status line of a Stepper or Replay reads at one event."""
    return re.compile(rf"^#{step} (.* › )?{re.escape(node)} · {phase}\b")


def rgb(colour: str) -> str:
    """``#rrggbb`` as the browser's computed style writes it."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def node_of(output: Locator, name: str) -> Locator:
    """The group of the node named ``name`` in the graph shown in ``output`` (the fixtures' names
    are words and spaces: the id is ``node__`` and the name with underscores)."""
    return output.locator(f".pf-graph svg g.node#node__{name.replace(' ', '_')}")


def edge_of(output: Locator, dom_id: str) -> Locator:
    """The group of one edge in the graph shown in ``output``."""
    return output.locator(f".pf-graph svg g.edge#{dom_id}")


def shape_of(output: Locator, name: str) -> Locator:
    """The outline (ellipse or box) of the node named ``name`` in the graph shown in ``output``."""
    return node_of(output, name).locator("ellipse, polygon, path").first


def expect_node(output: Locator, name: str, state: str) -> None:
    """Wait until the node named ``name`` is drawn in ``state``, then check every way it says so:
    ``data-state``, the fill and outline of its shape from the palette, the mark before its name
    (none for a state without one) and the state word in its accessible name."""
    node, look = node_of(output, name), STATES[state]
    expect(node).to_have_attribute("data-state", state, timeout=WAIT_MS)
    expect(shape_of(output, name)).to_have_css("fill", rgb(look.fill))
    expect(shape_of(output, name)).to_have_css("stroke", rgb(look.stroke))
    expect(node.locator("text").first).to_have_text(f"{look.icon} {name}" if look.icon else name)
    expect(node).to_have_attribute("aria-label", f"{name}: {look.word}")


def expect_taken(output: Locator, dom_id: str, label: str, times: int) -> None:
    """The edge ``dom_id`` (labelled ``label``) is marked as taken ``times`` times and writes the
    count in its own text under the label."""
    edge = edge_of(output, dom_id)
    expect(edge).to_have_attribute("data-taken", str(times), timeout=WAIT_MS)
    expect(edge.locator("text.pf-count")).to_have_text(f"×{times}")
    if label:
        expect(edge.locator("text").first).to_have_text(label)


def button(output: Locator, label: str) -> Locator:
    """The button reading ``label`` in ``output`` (its icon is left out)."""
    return output.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def write_doc_image(shot: Path, name: str) -> None:
    """Copy a widget's picture to ``docs/img/<name>`` if it is missing or an update is asked."""
    target = DOC_IMAGES / name
    if target.exists() and os.environ.get("UPDATE_DOC_IMAGES") != "1":
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, target)


def open_and_run(lab, notebook: str, cells: range) -> None:
    """Open ``notebook`` and run ``cells`` one after the other; each must succeed."""
    lab.open_notebook(notebook)
    for index in cells:
        assert lab.run_cell(index), f"cell {index} failed:\n{lab.report()}"
    assert lab.report() == ""


def test_sync_stepper_steps_highlights_and_diffs(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook("stepper_sync.ipynb"), range(1, 3))
    output = lab.output_of_cell(2)
    status = output.locator(".pf-status")
    diff = output.locator(".pf-diff")
    expect(status).to_have_text(re.compile("^Ready"), timeout=WAIT_MS)

    for step, node, phase in COUNTER_EVENTS[:8]:
        button(output, "Step").click()
        expect(status).to_have_text(status_pattern(step, node, phase), timeout=WAIT_MS)
        if step == 3:  # count started: it is the node highlighted, finish has not run yet
            expect_node(output, "count", "current")
            expect_node(output, "finish", "unvisited")
        if step == 5:  # exec computed 42 but post has not written it yet
            expect(status).to_contain_text("→ 42")
            expect(diff).to_have_text("shared: no change")
        if step == 6:  # post wrote the new count; the picture waits until the graph shows it
            expect(diff.locator("tr.pf-changed")).to_have_text(re.compile(r"~\s*count\s*41\s*42"))
            expect_node(output, "count", "current")
            shot = lab.screenshot_output(2, "stepper_sync-widget-step6")
            write_doc_image(shot, "stepper.png")
    # finish started: the highlight moved on, count is drawn as visited, the edge between them
    # was taken once
    expect_node(output, "finish", "current")
    expect_node(output, "count", "visited")
    expect(output.locator(".pf-graph g[data-state='current']")).to_have_count(1)
    expect_taken(output, "edge__count__finish", "next", 1)
    lab.screenshot("stepper_sync-stepped")

    button(output, "Continue").click()
    expect(status).to_contain_text("finished", timeout=WAIT_MS)
    expect(status).to_have_text(status_pattern(14, "demo", "post"))
    expect(diff.locator("tr.pf-added")).to_have_text(re.compile(r"\+\s*done\s*True"))
    expect(button(output, "Step")).to_be_disabled()
    expect(output.locator(".pf-error")).to_have_count(0)
    assert lab.report() == ""
    lab.screenshot("stepper_sync-finished")
    lab.screenshot_output(2, "stepper_sync-widget")


def test_async_stepper_leaves_the_kernel_free_while_a_step_waits(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook("stepper_async.ipynb"), range(1, 3))
    output = lab.output_of_cell(2)
    status = output.locator(".pf-status")

    for step, node, phase in [
        (1, "search", "start"),
        (2, "search", "prep"),
        (3, "fetch", "start"),
        (4, "fetch", "prep"),
    ]:
        button(output, "Step").click()
        expect(status).to_have_text(status_pattern(step, node, phase), timeout=WAIT_MS)

    # The next step is fetch's exec: after asyncio.sleep(0.2) it awaits the `release` event,
    # which only cell 4 sets.
    fetch_state = output.locator(".fetch-state")
    expect(fetch_state).to_have_text("idle")
    button(output, "Step").click()
    expect(fetch_state).to_have_text("waiting for release", timeout=WAIT_MS)
    # A kernel held by the waiting step would never run this cell.
    assert lab.run_cell(3, timeout=20), "1 + 1 failed while the Stepper's step was waiting"
    expect(lab.output_of_cell(3).locator(".jp-OutputArea-output")).to_have_text("2")
    # That cell ran while the step was still waiting: nothing has moved on.
    expect(fetch_state).to_have_text("waiting for release")
    expect(status).to_have_text(status_pattern(4, "fetch", "prep"))

    assert lab.run_cell(4)  # release.set(): the waiting step ends
    expect(fetch_state).to_have_text("released", timeout=WAIT_MS)
    expect(status).to_have_text(status_pattern(5, "fetch", "exec"), timeout=WAIT_MS)
    expect(status).to_contain_text("results for bees")
    lab.screenshot("stepper_async-exec")

    button(output, "Continue").click()
    expect(status).to_contain_text("finished", timeout=WAIT_MS)
    expect(output.locator(".pf-diff")).to_contain_text("RESULTS FOR BEES")
    expect(button(output, "Continue")).to_be_disabled()
    assert lab.report() == ""
    lab.screenshot("stepper_async-finished")
    lab.screenshot_output(2, "stepper_async-widget")


def test_failing_node_shows_its_traceback_and_the_kernel_carries_on(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook("stepper_error.ipynb"), range(1, 2))
    output = lab.output_of_cell(1)
    error_box = output.locator(".pf-error")
    expect(error_box).to_have_count(0)

    button(output, "Continue").click()
    expect(error_box).to_be_visible(timeout=WAIT_MS)
    expect(error_box).to_contain_text("The run failed")
    expect(error_box).to_contain_text("Traceback")
    expect(error_box).to_contain_text("ValueError: the sensor is unplugged")
    status = output.locator(".pf-status")
    expect(status).to_contain_text("read sensor")
    expect(status).to_contain_text("failed")
    expect_node(output, "read sensor", "failed")

    lab.wait_for_kernel_idle()
    assert lab.run_cell(2), "the cell after the failed run did not succeed"
    printed = lab.output_of_cell(2).locator(".jp-OutputArea-output")
    expect(printed).to_have_text("the kernel still answers")
    lab.wait_for_kernel_idle()
    assert lab.cell_errors() == []  # the failure is shown in the widget, not as a cell error
    lab.screenshot("stepper_error")
    lab.screenshot_output(1, "stepper_error-widget")


def test_live_run_updates_while_the_cell_runs(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook("live_run.ipynb"), range(1, 2))
    # The status line, the current node and the loop's count, as one text, each time one changed.
    lab.start_cell(2, watch=LIVE_WATCH)
    seen = lab.output_changes(2, timeout=60)
    assert lab.wait_for_cell(2), f"the live run's cell failed:\n{lab.report()}"

    output = lab.output_of_cell(2)
    status = output.locator(".pf-status")
    # The run's last event is the flow's own post. The page may show it just before or just
    # after the cell's end, so the final state is waited for, not sampled.
    expect(status).to_have_text(re.compile(r"^step \d+: clock post$"), timeout=WAIT_MS)
    final_step = int(re.search(r"step (\d+)", status.inner_text())[1])

    statuses = [re.search(r"step (\d+)", text) for text in seen]
    steps = sorted({int(match[1]) for match in statuses if match})
    assert len(seen) >= 3, f"the live view changed {len(seen) - 1} times while running: {seen}"
    assert steps and max(steps) <= final_step, f"steps shown while running: {steps}"
    # Several steps before the last were shown while the cell ran: the view was live.
    earlier = [step for step in steps if step < final_step]
    assert len(earlier) >= 3, f"steps shown while running, before step {final_step}: {steps}"

    # The graph followed the run while the cell ran, not only at its end: tick was drawn as the
    # node running, and the loop's count went up one step after another.
    currents = {name for text in seen for name in re.findall(r"^(.+): current$", text, re.M)}
    assert "tick" in currents, f"nodes drawn as current while running: {currents}"
    assert currents <= {"clock", "tick", "report"}, (
        f"nodes drawn as current while running: {currents}"
    )
    loops = [int(found[1]) for text in seen if (found := re.search(r"^×(\d+)$", text, re.M))]
    assert len(set(loops)) >= 3, f"loop counts shown while running: {loops}"
    assert loops == sorted(loops) and max(loops) <= 8, f"loop counts shown while running: {loops}"

    # After the run the edges carry how often they were taken.
    expect_taken(output, "edge__tick__tick", "again", 8)
    expect_taken(output, "edge__tick__report", "done", 1)
    # The run has ended: no node is current any more, both are drawn as visited.
    expect_node(output, "report", "visited")
    expect_node(output, "tick", "visited")
    expect(output.locator(".pf-graph g[data-state='current']")).to_have_count(0)
    assert lab.report() == ""
    lab.screenshot("live_run")
    write_doc_image(lab.screenshot_output(2, "live_run-widget"), "live_run.png")


def test_replay_moves_back_through_the_trace(lab, fixture_notebook, page) -> None:
    open_and_run(lab, fixture_notebook("replay.ipynb"), range(1, 3))
    output = lab.output_of_cell(2)
    event = output.locator(".pf-status")
    shared = output.locator(".pf-shared")
    readout = output.locator(".widget-readout")

    # It opens at the last step, the flow's post: the run has ended, no node is current.
    expect(event).to_have_text(status_pattern(14, "demo", "post"), timeout=WAIT_MS)
    expect(readout).to_have_text("14")
    expect_node(output, "finish", "visited")
    expect_node(output, "count", "visited")
    expect(output.locator(".pf-graph g[data-state='current']")).to_have_count(0)
    expect_taken(output, "edge__count__finish", "next", 1)
    expect(shared).to_contain_text(re.compile(r"done\s*True"))

    # One step back the run goes on: finish, the last node to start, is highlighted.
    button(output, "Previous").click()
    expect(event).to_have_text(status_pattern(13, "demo", "exec"), timeout=WAIT_MS)
    expect(readout).to_have_text("13")
    expect_node(output, "finish", "current")
    expect_node(output, "count", "visited")

    # The keyboard moves the slider: from 13 back to 5, count's exec.
    output.locator(".noUi-handle").focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    expect(readout).to_have_text("5", timeout=WAIT_MS)
    expect(event).to_have_text(status_pattern(5, "count", "exec"), timeout=WAIT_MS)
    expect(event).to_contain_text("→ 42")
    expect_node(output, "count", "current")
    expect_node(output, "finish", "unvisited")
    # count has not handed on to finish yet: that edge lost its count. Only the flow's start
    # edge, taken at step 1, still carries one.
    next_edge = edge_of(output, "edge__count__finish")
    expect(next_edge).not_to_have_attribute("data-taken", re.compile(".*"))
    expect(next_edge.locator("text.pf-count").filter(has_text="×")).to_have_count(0)
    expect(output.locator(".pf-graph g.edge[data-taken]")).to_have_count(1)
    expect_taken(output, "edge__demo__start__count", "", 1)
    # shared as of step 5: post has not run yet
    expect(shared).to_contain_text("41")
    expect(shared).not_to_contain_text("done")

    button(output, "Next").click()
    expect(event).to_have_text(status_pattern(6, "count", "post"), timeout=WAIT_MS)
    expect(shared).to_contain_text("42")
    assert lab.report() == ""
    lab.screenshot("replay")
    lab.screenshot_output(2, "replay-widget")


@pytest.mark.parametrize(
    "chapter",
    [
        pytest.param("02_nodes.ipynb", id="sync-02_nodes"),
        pytest.param("08_agent.ipynb", id="async-08_agent"),
    ],
)
def test_step_button_in_a_chapter_notebook(lab, chapter: str) -> None:
    lab.open_notebook(chapter)
    lab.run_all()
    assert lab.report() == ""
    output = lab.output_with_button("Step")
    status = output.locator(".pf-status")
    # The notebook steps its Stepper from code after showing it: the page catches up with the
    # kernel's Stepper, whose step is read from the kernel rather than from the page.
    before = int(lab.kernel_value("stepper.last.step"))
    expect(status).to_have_text(re.compile(rf"^#{before} "), timeout=WAIT_MS)
    expect(button(output, "Step")).to_be_enabled()

    button(output, "Step").click()
    expect(status).to_have_text(re.compile(rf"^#{before + 1} "), timeout=WAIT_MS)
    lab.wait_for_kernel_idle()
    assert int(lab.kernel_value("stepper.last.step")) == before + 1
    assert lab.report() == ""
    lab.screenshot(f"{Path(chapter).stem}-stepped")
    lab.screenshot_element(output, f"{Path(chapter).stem}-stepper-widget")
