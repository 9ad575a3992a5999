"""The browser checks can fail: each broken fixture notebook trips exactly the check meant for it.

The fixture notebooks live in ``tests/browser/fixtures/`` and are served under
``browser-fixtures/``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_good_notebook_passes_every_check(lab, fixture_notebook) -> None:
    lab.open_notebook(fixture_notebook("good_outputs.ipynb"))
    lab.run_all()
    lab.screenshot("fixture-good_outputs")

    assert lab.report() == ""
    graphs = lab.graph_outputs()
    assert sorted((graph.cell, graph.kind) for graph in graphs) == [
        (2, "svg"),
        (3, "mermaid"),
        (4, "mermaid"),
    ]
    assert all(graph.width > 0 and graph.height > 0 for graph in graphs)
    # The slider is a rendered view, not a placeholder.
    expect(lab.output_of_cell(1).locator(".widget-slider")).to_be_visible()

    # The cell tagged raises-exception did fail, and cell_errors() leaves it out.
    expected = lab.cell_errors(include_expected=True)
    assert [(error.cell, error.ename, error.evalue) for error in expected] == [
        (5, "ValueError", "raised on purpose")
    ]
    assert "raised on purpose" in expected[0].text
    assert lab.cell_errors() == []
    # Run All went on past it; what the next cell wrote to stderr is not an error.
    expect(lab.output_of_cell(6)).to_contain_text("a warning written to stderr")


def test_failing_cell_is_reported(lab, fixture_notebook) -> None:
    lab.open_notebook(fixture_notebook("broken_cell.ipynb"))
    assert lab.run_all() is False

    errors = lab.cell_errors()
    assert [(error.cell, error.ename, error.evalue) for error in errors] == [
        (2, "RuntimeError", "this cell fails")
    ]
    assert "RuntimeError" in errors[0].text
    assert "cell 2: RuntimeError: this cell fails" in lab.report()
    # Run All stopped at the failure.
    assert lab.output_of_cell(3).inner_text().strip() == ""


def test_widget_without_a_view_is_reported(lab, fixture_notebook) -> None:
    lab.open_notebook(fixture_notebook("broken_widget.ipynb"))
    lab.run_all()

    problems = lab.widget_problems()
    assert [problem.cell for problem in problems] == [1]
    assert "widget: cell 1" in lab.report()
    assert lab.cell_errors() == []


def test_diagram_that_does_not_render_is_reported(lab, fixture_notebook) -> None:
    lab.open_notebook(fixture_notebook("broken_graph.ipynb"))
    lab.run_all()

    graphs = lab.graph_outputs()
    assert [(graph.cell, graph.kind, graph.visible) for graph in graphs] == [(1, "mermaid", False)]
    assert graphs[0].problem.startswith("render error: Error: Parse error on line 2")
    assert "graph: cell 1" in lab.report()


def test_mermaid_error_rendering_is_reported(lab, fixture_notebook) -> None:
    # What Mermaid shows when it fails is not a drawn graph: JupyterLab's warning box with
    # Mermaid's message, or an image of Mermaid's own error diagram (a diagram reading "Maximum
    # text size in diagram exceeded" for a source too long, "Syntax error in text" otherwise).
    lab.open_notebook(fixture_notebook("mermaid_errors.ipynb"))
    lab.run_all()
    lab.screenshot("fixture-mermaid_errors")

    graphs = {graph.cell: graph for graph in lab.graph_outputs()}
    assert sorted((graph.cell, graph.kind, graph.visible) for graph in graphs.values()) == [
        (1, "mermaid", False),
        (2, "mermaid", False),
        (3, "mermaid", False),
        (4, "mermaid", False),
        (5, "mermaid", True),
    ]
    assert graphs[1].problem.startswith("render error: Error: Parse error on line 2")
    assert graphs[2].problem == "Mermaid error diagram: Maximum text size in diagram exceeded"
    assert graphs[3].problem.startswith("Mermaid error diagram: Syntax error in text")
    assert graphs[4].problem.startswith("render error: Error: Parse error on line 2")
    # Each error image is drawn and loaded like a good diagram: only what it shows tells.
    assert all(graphs[cell].width > 0 and graphs[cell].height > 0 for cell in (2, 3, 5))

    report = lab.report()
    for cell in (1, 2, 3, 4):
        assert f"graph: cell {cell}: mermaid" in report
    assert "graph: cell 5" not in report
    assert lab.cell_errors() == []


def test_notebook_without_kernelspec_fails_clearly(lab, fixture_notebook) -> None:
    with pytest.raises(AssertionError, match="a dialog appeared"):
        lab.open_notebook(fixture_notebook("no_kernelspec.ipynb"))
