"""The Timeline widget in JupyterLab: it draws its bars, hovers and keyboard picks show their
details, a live timeline grows while its cell runs, and a linked replay follows picks.

The fixture notebook ``timeline_runs.ipynb`` records a parallel batch of four pages, two at a
time, whose node is named with markup that must stay text (cell 1); runs six slow async steps
with a live timeline (cell 2); and links a replay to the first timeline (cell 3). What the page
shows is compared with what the kernel's widget holds, read with ``kernel_value``.
"""

from __future__ import annotations

import ast
import re

import pytest
from playwright.sync_api import Locator, expect

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
NOTEBOOK = "timeline_runs.ipynb"
HOSTILE = '</text><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
# crawl's and the batch node's phases (3 + 3), a try for each of the four items, and a wait
# for each of the two items queued behind the first two.
BARS = 12


def kernel(lab, expression: str) -> object:
    """The value of ``expression`` in the notebook's kernel (a literal: str, int, list...)."""
    return ast.literal_eval(lab.kernel_value(expression))


def open_and_run(lab, notebook: str, cells: range) -> None:
    lab.open_notebook(notebook)
    for index in cells:
        assert lab.run_cell(index), f"cell {index} failed:\n{lab.report()}"
    assert lab.report() == ""


def bars_of(output: Locator) -> Locator:
    return output.locator(".pf-timeline rect.pf-tl-bar")


def test_timeline_draws_its_bars_and_shows_details_on_hover_and_keys(
    lab, fixture_notebook, page
) -> None:
    open_and_run(lab, fixture_notebook(NOTEBOOK), range(1, 2))
    output = lab.output_of_cell(1)
    chart = output.locator(".pf-timeline")
    bars = bars_of(output)
    line = chart.locator(".pf-tl-detail")

    assert kernel(lab, "len(timeline.marks)") == BARS
    expect(bars).to_have_count(BARS, timeout=WAIT_MS)
    waits = chart.locator("rect.pf-tl-wait.pf-tl-waiting")
    expect(waits).to_have_count(2)
    expect(waits.first).to_have_attribute("style", re.compile(r"fill: url\(\"?#pf-tl-hatch-"))
    expect(chart.locator(".pf-tl-summary")).to_have_text(re.compile(rf"^{BARS} bars on 6 lanes"))
    expect(chart.locator(".pf-tl-tick-label").first).to_have_text("0 ms")

    # The node named with markup: its name is the lane's text, nothing ran or was added.
    assert chart.locator(".pf-tl-label title").nth(1).text_content() == HOSTILE
    expect(chart.locator("script, img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None

    # Hovering a bar: its tooltip and the line under the chart tell its details.
    details = kernel(lab, "[mark['detail'] for mark in timeline.marks]")
    assert isinstance(details, list)
    item_try = kernel(lab, "[m['kind'] for m in timeline.marks].index('try')")
    assert isinstance(item_try, int)
    assert bars.nth(item_try).locator("title").text_content() == details[item_try]
    bars.nth(item_try).hover()
    expect(line).to_have_text(details[item_try], timeout=WAIT_MS)
    assert "› item 0, try 1 → 'A' (" in details[item_try]
    page.mouse.move(1, 1)
    expect(line).to_have_text(re.compile(r"^Hover a bar"), timeout=WAIT_MS)

    # The keyboard: focus the chart, move four bars on, Enter picks it.
    chart.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(line).to_have_text(f"{details[3]} (Enter picks it)", timeout=WAIT_MS)
    expect(chart.locator("rect.pf-tl-cursor")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(line).to_have_text(re.compile(r"^Picked .* · step \d+$"), timeout=WAIT_MS)
    lab.wait_for_kernel_idle()
    assert kernel(lab, "timeline.selected") == 3
    assert line.text_content() == kernel(lab, "timeline.selection_text")
    expect(chart.locator("rect.pf-tl-selected")).to_have_count(1)
    assert bars.nth(3).get_attribute("class").split().count("pf-tl-selected") == 1
    # Up and down go to the nearest bar in time on the next lane with bars; Home and End to
    # the first and last bar; Escape back to what was picked. Bars: 0-2 crawl, 3-5 the batch
    # node, 6 item 0, 7 item 1, 8-9 item 2 (wait, try), 10-11 item 3.
    for key, cursor in [("ArrowDown", 6), ("ArrowDown", 7), ("ArrowDown", 8), ("ArrowUp", 7),
                        ("End", 11), ("Home", 0)]:  # fmt: skip
        page.keyboard.press(key)
        expect(line).to_have_text(f"{details[cursor]} (Enter picks it)", timeout=WAIT_MS)
    page.keyboard.press("Escape")
    expect(line).to_have_text(re.compile(r"^Picked "), timeout=WAIT_MS)
    # The keys were the chart's, not JupyterLab's: the chart kept the focus, and Enter did not
    # open a cell for editing.
    expect(chart).to_be_focused()
    expect(page.locator(".jp-Notebook.jp-mod-editMode")).to_have_count(0)
    assert lab.report() == ""
    lab.screenshot_output(1, "timeline-picked")


def test_a_live_timeline_grows_while_its_cell_runs(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook(NOTEBOOK), range(1, 2))
    lab.start_cell(2, watch=".pf-tl-summary")
    seen = lab.output_changes(2, timeout=60)
    assert lab.wait_for_cell(2), f"the live run's cell failed:\n{lab.report()}"

    output = lab.output_of_cell(2)
    final = kernel(lab, "len(live.timeline.marks)")
    assert final == 3 * 7  # the flow and its six steps, three phases each
    # The last drawing arrives just before or just after the cell ends: waited for.
    summary = output.locator(".pf-tl-summary")
    expect(summary).to_have_text(re.compile(rf"^{final} bars on 7 lanes"), timeout=WAIT_MS)
    expect(bars_of(output)).to_have_count(final)

    running = [int(m[1]) for text in seen if (m := re.match(r"Running: (\d+) bars", text))]
    assert len(set(running)) >= 3, f"bar counts shown while the cell ran: {seen}"
    assert running == sorted(running) and running[0] < final and max(running) <= final
    assert lab.report() == ""
    lab.screenshot_output(2, "timeline-live")


def test_picking_on_a_linked_timeline_moves_the_replay(lab, fixture_notebook) -> None:
    open_and_run(lab, fixture_notebook(NOTEBOOK), range(1, 2))
    assert lab.run_cell(3), f"the linked replay's cell failed:\n{lab.report()}"
    output = lab.output_of_cell(3)
    readout = output.locator(".widget-readout")
    steps = kernel(lab, "len(trace.steps)")
    expect(readout).to_have_text(str(steps), timeout=WAIT_MS)

    item_try = kernel(lab, "[m['kind'] for m in linked.timeline.marks].index('try')")
    assert isinstance(item_try, int)
    bars_of(output).nth(item_try).click()
    expect(output.locator(".pf-tl-detail")).to_have_text(re.compile(r"^Picked "), timeout=WAIT_MS)
    lab.wait_for_kernel_idle()
    step = kernel(lab, "linked.timeline.selected_step")
    assert isinstance(step, int) and step < steps
    expect(readout).to_have_text(str(step), timeout=WAIT_MS)
    assert kernel(lab, "trace.steps[linked.timeline.selected_step - 1].kind") == "item"

    # A click on the axis picks a moment: no bar, and the replay goes to the step before it.
    axis = output.locator(".pf-tl-axis")
    box = axis.bounding_box()
    assert box is not None
    axis.click(position={"x": box["width"] * 0.9, "y": box["height"] / 2})
    expect(output.locator(".pf-tl-detail")).to_have_text(
        re.compile(r"^Picked the moment "), timeout=WAIT_MS
    )
    lab.wait_for_kernel_idle()
    assert kernel(lab, "linked.timeline.selected") is None
    moment_step = kernel(lab, "linked.timeline.selected_step")
    assert isinstance(moment_step, int) and moment_step > step
    expect(readout).to_have_text(str(moment_step), timeout=WAIT_MS)
    assert lab.report() == ""
    lab.screenshot_output(3, "timeline-replay")
