"""What a notebook shows: the mime bundle honours IPython's include and exclude (and runs no
``dot`` for a picture nobody asked for), and a legend says what each look means.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import pocketflow.display
from pocketflow import Flow, Node
from pocketflow.display import MERMAID, PLAIN, SVG, legend, mimebundle
from pocketflow.dot import to_dot
from pocketflow.mermaid import to_mermaid
from pocketflow.palette import STATES
from pocketflow.text import to_text


def _graph_tests() -> ModuleType:
    """``test_graph.py``, for its DOT parser (test folders are not packages)."""
    name = "pocketflow_test_graph"
    if name not in sys.modules:
        path = Path(__file__).with_name("test_graph.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


graph_tests = _graph_tests()


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DOT texts the display asks ``dot`` to lay out (each laid out as an empty SVG)."""
    asked: list[str] = []

    def fake_render(dot_text: str) -> str:
        asked.append(dot_text)
        return "<svg></svg>"

    monkeypatch.setattr(pocketflow.display, "render_svg", fake_render)
    return asked


def flow() -> Flow:
    return Flow(start=Node(name="only"), name="shown")


@pytest.mark.parametrize(
    ("include", "exclude", "expected", "runs_dot"),
    [
        (None, None, {SVG, PLAIN}, True),
        (None, {SVG}, {MERMAID, PLAIN}, False),
        ({PLAIN}, None, {PLAIN}, False),
        ({MERMAID, PLAIN}, None, {MERMAID, PLAIN}, False),
        ({SVG}, None, {SVG}, True),
        ({SVG, MERMAID}, {SVG}, {MERMAID}, False),
        (None, {SVG, MERMAID, PLAIN}, set(), False),
    ],
)
def test_the_bundle_holds_what_is_included_and_not_excluded(
    include: set[str] | None,
    exclude: set[str] | None,
    expected: set[str],
    runs_dot: bool,
    layouts: list[str],
) -> None:
    shown = flow()
    bundle = mimebundle(shown, include=include, exclude=exclude)
    assert set(bundle) == expected
    assert bool(layouts) == runs_dot
    if MERMAID in bundle:
        assert bundle[MERMAID] == to_mermaid(shown)
    if PLAIN in bundle:
        assert bundle[PLAIN] == to_text(shown)


def test_a_flow_in_a_cell_passes_include_and_exclude_on(layouts: list[str]) -> None:
    shown = flow()
    assert set(shown._repr_mimebundle_(exclude={SVG})) == {MERMAID, PLAIN}
    assert set(shown._repr_mimebundle_(include=[PLAIN])) == {PLAIN}
    assert layouts == []
    assert set(shown._repr_mimebundle_()) == {SVG, PLAIN}
    assert len(layouts) == 1


def test_the_picture_falls_back_on_mermaid_when_dot_gives_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pocketflow.display, "render_svg", lambda dot_text: None)
    assert set(mimebundle(flow(), include={SVG, PLAIN})) == {PLAIN}
    assert set(mimebundle(flow())) == {MERMAID, PLAIN}


# -- the legend ---------------------------------------------------------------------------------


def test_the_legend_draws_a_node_in_each_state() -> None:
    shown = legend()
    dot = graph_tests.parse_dot(to_dot(shown.graph, shown.overlay))
    labels = {node: attrs["label"] for node, attrs in dot.nodes.items()}
    assert labels == {
        "current": "▶ current",
        "visited": "visited",
        "failed": "✗ failed",
        "unvisited": "not run",
    }
    for state, style in STATES.items():
        assert dot.nodes[state]["fillcolor"] == style.fill
    counts = [attrs["label"] for _, _, attrs in dot.edges]
    assert counts == ["taken\n×2", "taken\n×1", "not taken"]


def test_the_legend_shows_a_picture_and_says_what_each_look_means(layouts: list[str]) -> None:
    bundle = legend()._repr_mimebundle_()
    assert set(bundle) == {SVG, PLAIN}
    text = bundle[PLAIN]
    for style in STATES.values():
        assert style.word in text and style.meaning in text
    assert "▶ current" in text and "✗ failed" in text
    assert repr(legend()) == text


def test_the_legend_as_mermaid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pocketflow.display, "render_svg", lambda dot_text: None)
    text = legend()._repr_mimebundle_(exclude={PLAIN})[MERMAID]
    found = graph_tests.check_mermaid(text)
    classes = {match["cls"]: match["members"] for match in found["class"]}
    assert {state: classes[f"s_{state}"] for state in STATES} == {state: state for state in STATES}


def test_the_legend_with_the_real_dot(dot_path: str) -> None:
    svg = legend()._repr_mimebundle_(include={SVG})[SVG]
    assert "▶ current" in svg and "✗ failed" in svg
