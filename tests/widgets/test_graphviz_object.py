"""A flow's graph as a ``graphviz.Source`` that renders with the real ``dot``, and the inline
picture from ``show`` honouring IPython's include and exclude.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest

import pocketflow.display
from pocketflow import Flow, Node
from pocketflow.dot import to_dot
from pocketflow.graph import Overlay, build_graph
from pocketflow_widgets import show, to_graphviz

SVG = "{http://www.w3.org/2000/svg}"


def agent() -> Flow:
    decide, search = Node(name="decide"), Node(name="search")
    decide - "search" >> search >> decide
    decide - "answer" >> Node(name="answer")
    return Flow(start=decide, name="agent")


def test_to_graphviz_is_the_dot_of_the_whole_graph() -> None:
    flow = agent()
    overlay = Overlay(visits={"agent": 1, "decide": 1}, current="decide")
    source = to_graphviz(flow, overlay)
    assert isinstance(source, graphviz.Source)
    assert source.source == to_dot(build_graph(flow), overlay)
    assert source.filename == "agent.gv"


def test_to_graphviz_renders_svg_with_the_real_dot(dot_path: str) -> None:
    svg = to_graphviz(agent()).pipe(format="svg", encoding="utf-8")
    titles = {
        group.get("id"): group.findtext(f"{SVG}title")
        for group in ET.fromstring(svg).iter(f"{SVG}g")
        if group.get("class") == "node"
    }
    assert {titles["node__decide"], titles["node__search"], titles["node__answer"]} == {
        "decide",
        "search",
        "answer",
    }


def test_to_graphviz_renders_a_file(dot_path: str, tmp_path: Path) -> None:
    written = to_graphviz(agent()).render(directory=tmp_path, format="png")
    assert Path(written).read_bytes().startswith(b"\x89PNG")


def test_show_passes_include_and_exclude_on(monkeypatch: pytest.MonkeyPatch) -> None:
    laid_out: list[str] = []
    monkeypatch.setattr(pocketflow.display, "render_svg", lambda text: laid_out.append(text))
    picture = show(agent())
    assert set(picture._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(picture._repr_mimebundle_(exclude={"image/svg+xml"})) == {
        "text/vnd.mermaid",
        "text/plain",
    }
    assert laid_out == []
