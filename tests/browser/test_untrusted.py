"""A crafted trace, replayed in JupyterLab, draws its graph and runs nothing.

``fixtures/untrusted_replay.ipynb`` builds a trace whose ids, names, actions and step kinds are
markup (``<img onerror=...>`` that would record itself in ``window.__pwned``), CSS that would
hide the page, and Mermaid statements and directives. It shows the trace in ``Replay`` with
Graphviz, then in ``Replay`` and ``show`` with the Mermaid fallback. A control cell proves that
markup in a widget's HTML does run in this page, so an absent ``window.__pwned`` means something.
"""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser

import pytest
from playwright.sync_api import expect

from pocketflow.graph import safe_dom_id

pytestmark = pytest.mark.browser

WAIT_MS = 15_000
CURRENT_FILL = "rgb(254, 240, 138)"  # #fef08a, the palette's current fill: the step shown


def payload(name: str) -> str:
    """The notebook's markup that would record ``name`` in ``window.__pwned`` if it ran."""
    record = f"window.__pwned = (window.__pwned || []).concat('{name}')"
    return f'<img src=x class=pwned onerror="{record}">'


FIRST_ID = "} * { display: none !important } #x {"
SECOND_ID = '"' + ">" + payload("attribute")


class _Drawing(HTMLParser):
    """What a Mermaid diagram drawn as an ``<img>`` holds: its elements, text and CSS."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text = ""
        self.style = ""
        self._in_style = False

    @classmethod
    def of(cls, src: str) -> _Drawing:
        prefix = "data:image/svg+xml,"
        assert src.startswith(prefix), src[:80]
        svg = urllib.parse.unquote(src[len(prefix) :])
        drawing = cls()
        drawing.feed(svg[svg.index("<svg") :])
        drawing.close()
        return drawing

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text += data


def test_a_crafted_trace_is_drawn_and_runs_nothing(lab, fixture_notebook, page) -> None:
    lab.open_notebook(fixture_notebook("untrusted_replay.ipynb"))
    for index in range(1, 5):
        assert lab.run_cell(index), f"cell {index} failed:\n{lab.report()}"

    # The control ran: markup in a widget's HTML is live here.
    page.wait_for_function("() => window.__control === 1", timeout=WAIT_MS)
    replay, fallback = lab.output_of_cell(3), lab.output_of_cell(4)
    status = replay.locator(".pf-status")
    expect(status).to_be_visible(timeout=WAIT_MS)
    expect(fallback.locator(".pf-status")).to_be_visible(timeout=WAIT_MS)

    # Nothing the data carried became an element, nor ran.
    expect(page.locator("img.pwned")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None

    # Graphviz: the graph is drawn and restyled, the crafted strings show as text.
    first = replay.locator(f"svg #{safe_dom_id('node__' + FIRST_ID)}")
    expect(first).to_be_visible(timeout=WAIT_MS)
    expect(first).to_contain_text(payload("label"))
    second = replay.locator(f"svg #{safe_dom_id('node__' + SECOND_ID)}")
    current = second.locator("ellipse, polygon, path")
    expect(current.first).to_have_css("fill", CURRENT_FILL)
    expect(status).to_contain_text(payload("kind"))
    expect(replay.locator(".pf-shared")).to_contain_text(payload("key"))

    # Mermaid: the Replay's view and the picture both render, with the labels as text.
    diagrams = fallback.locator(".jp-RenderedMermaid img")
    expect(diagrams).to_have_count(2, timeout=WAIT_MS)
    for index in range(2):
        drawing = _Drawing.of(diagrams.nth(index).get_attribute("src") or "")
        assert "click A call alert()" in drawing.text  # the id's statements, as a label
        assert payload("label") in drawing.text
        assert "img" not in drawing.tags and "script" not in drawing.tags
        # the directive's CSS was not applied
        assert "display:none" not in drawing.style.replace(" ", "")

    assert lab.report() == ""
    graphs = lab.graph_outputs()
    assert [graph.kind for graph in graphs] == ["mermaid", "mermaid"], graphs
    expect(page.locator("img.pwned")).to_have_count(0)
    assert page.evaluate("() => window.__pwned") is None
    lab.screenshot("untrusted_replay")
