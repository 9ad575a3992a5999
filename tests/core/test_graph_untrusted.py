"""Hostile strings in a graph never become markup, attributes or statements in a drawing.

A graph loaded from a trace file, or built by hand, can hold any text in its ids, names, kinds
and actions. Each test feeds such a graph to a renderer and checks what comes out by parsing
it: the DOT is valid and its SVG holds only drawing elements, the Mermaid follows the grammar
(and, when Node.js is set up, Mermaid's own parser finds no directive or error in it).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest

from pocketflow import BaseNode, Flow, Node
from pocketflow.display import mimebundle
from pocketflow.dot import to_dot
from pocketflow.graph import (
    Graph,
    GraphEdge,
    GraphNode,
    Overlay,
    build_graph,
)
from pocketflow.mermaid import to_mermaid
from pocketflow.text import to_text


def _graph_tests() -> ModuleType:
    """``test_graph.py``, for its Mermaid checks (test folders are not packages)."""
    name = "pocketflow_test_graph"
    if name not in sys.modules:
        path = Path(__file__).with_name("test_graph.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


check_mermaid = _graph_tests().check_mermaid
parse_mermaid = _graph_tests().parse_mermaid

#: Strings that break out of HTML, SVG attributes, CSS, DOT or Mermaid if written as they are.
HOSTILE = [
    "</style><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "} * { display:none } #x {",
    "```js\nalert(1)\n``` `tick`",
    "two\nlines\rand\r\nmore",
    "A-->B;click A call alert()",
    "%%{init: {'theme':'dark','themeCSS':'svg{display:none}'}}%%",
    'x" URL="javascript:alert(1)" id="y',
    'back\\"slash\\',
    "end",
    "click",
    "style",
    "pipe | and ; semicolon",
    "lone \ud800 surrogate",
]

#: The elements Graphviz draws a graph with; anything else came from the data.
SVG_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text"}
SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


def _stand_in(name: str) -> BaseNode:
    return BaseNode(name=name)


def hostile_graph() -> Graph:
    """A graph (as a trace file could describe it) whose ids, names and actions are hostile.

    The root flow holds a nested flow of two nodes, then a chain of the other nodes, a loop,
    and a declared end; every edge's action and DOM id are hostile too.
    """
    ids = HOSTILE
    names = HOSTILE[1:] + HOSTILE[:1]

    def node(index: int, kind: str, parent: str | None, **more: object) -> GraphNode:
        return GraphNode(
            id=ids[index],
            name=names[index],
            label=names[index],
            kind=kind,
            obj=_stand_in(names[index]),
            parent=parent,
            is_start=bool(more.pop("is_start", False)),
            ends_flow=bool(more.pop("ends_flow", False)),
            start=more.pop("start", None),  # type: ignore[arg-type]
        )

    kinds = ["node", "batch", "async", "async_batch", "parallel"]
    nodes = [
        node(0, "flow", None, start=ids[1]),
        node(1, "batch_flow", ids[0], is_start=True, start=ids[2]),
        node(2, "async", ids[1], is_start=True),
        node(3, "batch", ids[1], ends_flow=True),
    ]
    nodes += [
        node(i, kinds[i % len(kinds)], ids[0], ends_flow=i == len(ids) - 1)
        for i in range(4, len(ids))
    ]
    edges = [GraphEdge(ids[2], ids[3], HOSTILE[0], ids[1])]
    edges.append(GraphEdge(ids[1], ids[4], HOSTILE[5], ids[0]))
    edges += [
        GraphEdge(ids[i], ids[i + 1], HOSTILE[i % len(HOSTILE)], ids[0])
        for i in range(4, len(ids) - 1)
    ]
    edges.append(GraphEdge(ids[6], ids[6], HOSTILE[6], ids[0]))  # a loop
    edges.append(GraphEdge(ids[5], None, HOSTILE[3], ids[0]))  # a declared end
    # every DOM id hostile too, and distinct, as a file may give them
    edges = [
        dataclasses.replace(edge, dom_id=f"{HOSTILE[index % len(HOSTILE)]} {index}")
        for index, edge in enumerate(edges)
    ]
    return Graph(nodes, edges)


def hostile_overlay(graph: Graph) -> Overlay:
    """Every node visited, every edge taken, a current and a failed node, batch progress."""
    return Overlay(
        visits={node.id: 2 for node in graph.nodes},
        edges={(e.source, e.action, e.target): 3 for e in graph.edges},
        current=HOSTILE[4],
        failed=HOSTILE[7],
        items={HOSTILE[3]: (1, 2), HOSTILE[1]: (1, None)},
    )


def hostile_flow() -> Flow:
    """A flow built the ordinary way whose names and actions are hostile (its ids are slugs)."""
    nodes = [Node(name=name) for name in HOSTILE]
    for index, (source, target) in enumerate(itertools.pairwise(nodes)):
        source - HOSTILE[(index + 5) % len(HOSTILE)] >> target
    nodes[-1] - HOSTILE[0] >> nodes[0]
    inner = Flow(start=nodes[0], name=HOSTILE[1])
    return Flow(start=inner, name=HOSTILE[0])


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(markup: str) -> _Elements:
    parser = _Elements()
    parser.feed(markup)
    parser.close()
    return parser


def svg_of(dot_path: str, text: str) -> str:
    """The SVG Graphviz makes of ``text``; fails on any error or warning."""
    result = subprocess.run(
        [dot_path, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return result.stdout


def assert_only_drawing(svg: str) -> None:
    """The SVG has only Graphviz's drawing elements, no links or handlers, and safe ids."""
    found = elements(svg[svg.index("<svg") :])
    tags = {tag for tag, _ in found.tags}
    assert tags <= SVG_ELEMENTS, tags - SVG_ELEMENTS
    for tag, attrs in found.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert "href" not in name and name not in ("url", "target"), (tag, name, value)
        if "id" in attrs:
            assert SAFE_ID.fullmatch(attrs["id"] or ""), (tag, attrs["id"])


@pytest.mark.parametrize("overlay", [False, True], ids=["plain", "overlay"])
def test_dot_of_hostile_ids_is_valid_and_draws_only_shapes(dot_path: str, overlay: bool) -> None:
    graph = hostile_graph()
    svg = svg_of(dot_path, to_dot(graph, hostile_overlay(graph) if overlay else None))
    assert_only_drawing(svg)
    # the names are drawn as text, every one of them
    texts = " ".join(elements(svg).text)
    for name in ("</style><script>alert(1)</script>", '"><img src=x onerror=alert(1)>'):
        assert name in texts


def test_dot_of_hostile_names_and_actions(dot_path: str) -> None:
    flow = hostile_flow()
    graph = build_graph(flow)
    svg = svg_of(dot_path, to_dot(graph, hostile_overlay(graph)))
    assert_only_drawing(svg)
    assert 'x" URL="javascript:alert(1)" id="y' in " ".join(elements(svg).text)


def test_dom_ids_in_the_svg_are_safe_and_distinct(dot_path: str) -> None:
    graph = hostile_graph()
    svg = svg_of(dot_path, to_dot(graph))
    groups = [attrs for tag, attrs in elements(svg).tags if tag == "g" and "id" in attrs]
    ids = [attrs["id"] for attrs in groups]
    assert len(ids) == len(set(ids))
    assert {node.dom_id for node in graph.nodes} <= set(ids)
    assert all(SAFE_ID.fullmatch(node.dom_id) for node in graph.nodes)


@pytest.mark.parametrize("overlay", [False, True], ids=["plain", "overlay"])
def test_mermaid_of_hostile_ids_follows_the_grammar(overlay: bool) -> None:
    graph = hostile_graph()
    text = to_mermaid(graph, hostile_overlay(graph) if overlay else None)
    found = check_mermaid(text)
    assert len(found["node"]) + len(found["subgraph"]) >= len(graph.nodes)
    assert len(found["edge"]) >= len(graph.edges)
    assert "%%" not in text  # no comment, no directive
    assert "`" not in text  # no Markdown string


def test_mermaid_of_hostile_names_and_actions() -> None:
    text = to_mermaid(hostile_flow())
    check_mermaid(text)
    assert "%%" not in text and "`" not in text


def test_mermaid_parser_finds_no_error_and_no_directive(tmp_path: Path) -> None:
    graph = hostile_graph()
    texts = [
        to_mermaid(graph),
        to_mermaid(graph, hostile_overlay(graph)),
        to_mermaid(hostile_flow()),
    ]
    results = parse_mermaid(texts, tmp_path)
    for text, (error, config) in zip(texts, results, strict=True):
        assert error is None, f"{error}\n{text}"
        assert config == {}, f"the text set Mermaid's configuration: {config}"


def test_unknown_kinds_are_drawn_as_plain_nodes(dot_path: str) -> None:
    root = GraphNode("root", "root", "root", "flow", _stand_in("root"), None, False, False, "x")
    odd = GraphNode("x", "x", "x", "<b>kind</b>", _stand_in("x"), "root", True, True)
    graph = Graph([root, odd], [])
    assert_only_drawing(svg_of(dot_path, to_dot(graph)))
    check_mermaid(to_mermaid(graph))
    assert "x (<b>kind</b>)" in to_text(graph)


def test_the_notebook_picture_of_a_hostile_graph(dot_path: str) -> None:
    graph = hostile_graph()
    bundle = mimebundle(graph, hostile_overlay(graph))
    assert_only_drawing(bundle["image/svg+xml"])
    assert HOSTILE[0] in bundle["text/plain"]
