"""The graph widget in JupyterLab: drawn once, then restyled from what each update sends.

The fixture notebook ``graph_widget_update.ipynb`` shows a flow's ``GraphView``, then updates it
from later cells. The page must keep the SVG it drew first (the same element, marked before the
updates), move each node to its new state (its ``data-state``, its look from the palette, its
accessible name) and write the edges' counts; the widget shown again later starts from the
state as it is. Without Graphviz the graph is drawn once in Mermaid, with a line of text that
follows the updates. Every wait is on a condition.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, expect

from pocketflow.palette import STATES

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
NOTEBOOK = "graph_widget_update.ipynb"


def rgb(colour: str) -> str:
    """``#rrggbb`` as the browser's computed style writes it."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def shape(output: Locator, dom_id: str) -> Locator:
    """The outline of one node of the graph shown in ``output``."""
    return output.locator(f"svg #{dom_id}").locator("polygon, ellipse, path").first


def run(lab, index: int) -> None:
    assert lab.run_cell(index), f"cell {index} failed:\n{lab.report()}"


def test_the_graph_is_drawn_once_and_restyled_by_each_update(lab, fixture_notebook, page) -> None:
    lab.open_notebook(fixture_notebook(NOTEBOOK))
    run(lab, 1)
    output = lab.output_of_cell(1)
    picture = output.locator(".pf-graph")
    expect(picture).to_have_count(1, timeout=WAIT_MS)
    # drawn: one SVG with the flow's nodes, named for screen readers, focusable as a whole
    expect(picture.locator("svg")).to_have_count(1)
    expect(picture).to_have_attribute("aria-label", "Graph of the Flow clock")
    expect(picture).to_have_attribute("tabindex", "0")
    tick, report = picture.locator("g#node__tick"), picture.locator("g#node__report")
    expect(tick).to_have_attribute("role", "img")
    expect(tick).to_have_attribute("aria-label", "tick")
    expect(tick).not_to_have_attribute("data-state", re.compile(".*"))
    picture.focus()
    expect(picture).to_be_focused()
    # a mark on the drawn SVG: an update that drew it again would lose it
    picture.locator("svg").evaluate("svg => { svg.dataset.drawnOnce = 'yes'; }")

    run(lab, 2)  # tick current, the loop taken twice
    current = STATES["current"]
    expect(tick).to_have_attribute("data-state", "current", timeout=WAIT_MS)
    expect(tick).to_have_attribute("aria-label", f"tick: {current.word}")
    expect(shape(output, "node__tick")).to_have_css("fill", rgb(current.fill))
    expect(tick.locator("text").first).to_have_text(f"{current.icon} tick")
    expect(report).to_have_attribute("data-state", "unvisited")
    loop = picture.locator("g#edge__tick__tick")
    expect(loop).to_have_attribute("data-taken", "2")
    expect(loop.locator("text.pf-count")).to_have_text("×2")
    expect(loop.locator("text").first).to_have_text("again")

    run(lab, 3)  # report current, the loop taken three times, done once
    expect(report).to_have_attribute("data-state", "current", timeout=WAIT_MS)
    expect(tick).to_have_attribute("data-state", "visited")
    expect(tick).to_have_attribute("aria-label", f"tick: {STATES['visited'].word}")
    expect(shape(output, "node__tick")).to_have_css("fill", rgb(STATES["visited"].fill))
    expect(tick.locator("text").first).to_have_text("tick")
    expect(loop.locator("text.pf-count")).to_have_text("×3")
    expect(picture.locator("g#edge__tick__report text.pf-count")).to_have_text("×1")
    # still the SVG drawn first, and only it
    expect(picture.locator("svg")).to_have_count(1)
    expect(picture.locator("svg")).to_have_attribute("data-drawn-once", "yes")

    run(lab, 5)  # the same widget shown again: it starts from the state as it is now
    again = lab.output_of_cell(5).locator(".pf-graph")
    expect(again.locator("g#node__report")).to_have_attribute(
        "data-state", "current", timeout=WAIT_MS
    )
    expect(again.locator("g#node__tick")).to_have_attribute("data-state", "visited")
    expect(again.locator("g#edge__tick__tick text.pf-count")).to_have_text("×3")

    run(lab, 7)  # without Graphviz: Mermaid drawn once, and a line of text
    plain = lab.output_of_cell(7)
    mermaid = plain.locator(".jp-RenderedMermaid")
    expect(mermaid).to_have_count(1, timeout=WAIT_MS)
    expect(mermaid.locator("img")).to_have_count(1)  # JupyterLab draws the diagram as an image
    status = plain.locator(".pf-graph-status")
    expect(status).to_have_text("3 nodes, not run yet", timeout=WAIT_MS)
    run(lab, 8)
    expect(status).to_have_text(f"2 of 3 nodes ran · {current.word}: tick", timeout=WAIT_MS)
    assert lab.report() == ""
    lab.screenshot("graph_widget")
    lab.screenshot_output(1, "graph_widget-updated")
