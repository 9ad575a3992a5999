"""The graph model of a flow's wiring, its three text renderers and a run laid over it."""

from __future__ import annotations

import asyncio
import dataclasses
import doctest
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pocketflow.dot
import pocketflow.graph
from pocketflow import (
    AsyncBatchFlow,
    AsyncBatchNode,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    BaseNode,
    BatchFlow,
    BatchNode,
    Event,
    Flow,
    Node,
    observe,
    palette,
)
from pocketflow.display import mimebundle
from pocketflow.dot import to_dot
from pocketflow.graph import (
    KIND_NAMES,
    Graph,
    Overlay,
    build_graph,
    kind_of,
)
from pocketflow.mermaid import to_mermaid
from pocketflow.text import to_text

ROOT = Path(__file__).resolve().parents[2]

# -- the flows under test ----------------------------------------------------------------------


def data_science() -> Flow:
    """The documented nested flow: data_prep (load -> clean -> transform) >> analysis."""
    load, clean, transform = Node(name="load"), Node(name="clean"), Node(name="transform")
    load >> clean >> transform
    data_prep = Flow(start=load, name="data_prep")
    analyze, visualize = Node(name="analyze"), Node(name="visualize")
    analyze >> visualize
    analysis = Flow(start=analyze, name="analysis")
    data_prep >> analysis
    return Flow(start=data_prep, name="data_science")


class Decide(Node):
    """Searches until it has searched ``shared["searches"]`` times, then answers."""

    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
        shared["seen"] = shared.get("seen", 0) + 1
        return "search" if shared["seen"] <= shared["searches"] else "answer"


class Search(Node):
    def post(self, shared: Any, prep_res: Any, exec_res: Any) -> str:
        return "decide"


def agent() -> Flow:
    """decide -search-> search -decide-> decide, decide -answer-> answer."""
    decide, search, answer = Decide(name="decide"), Search(name="search"), Node(name="answer")
    decide - "search" >> search
    search - "decide" >> decide
    decide - "answer" >> answer
    return Flow(start=decide, name="agent")


def converging() -> Flow:
    """a -x-> b, a -y-> c, b >> d, c >> d: d is reached twice and appears once."""
    a, b, c, d = (Node(name=name) for name in "abcd")
    a - "x" >> b
    a - "y" >> c
    b >> d
    c >> d
    return Flow(start=a, name="branches")


def three_deep() -> Flow:
    """outer > middle > inner > (x >> y); inner >> z in middle; middle >> w in outer."""
    x, y, z, w = (Node(name=name) for name in "xyzw")
    x >> y
    inner = Flow(start=x, name="inner")
    inner >> z
    middle = Flow(start=inner, name="middle")
    middle >> w
    return Flow(start=middle, name="outer")


class PerFile(BatchFlow):
    """Runs its graph once per file."""

    def prep(self, shared: Any) -> list[dict[str, Any]]:
        return [{"file": name} for name in shared["files"]]


class Summarize(Node):
    def exec(self, prep_res: Any) -> str:
        return f"summary of {self.params['file']}"


def batch_in_flow() -> Flow:
    """setup >> per_file (a BatchFlow: read >> summarize) >> report."""
    setup, read, report = Node(name="setup"), Node(name="read"), Node(name="report")
    read >> Summarize(name="summarize")
    per_file = PerFile(start=read, name="per_file")
    setup >> per_file >> report
    return Flow(start=setup, name="pipeline")


class PerUser(AsyncParallelBatchFlow):
    async def prep_async(self, shared: Any) -> list[dict[str, Any]]:
        return [{"user": user} for user in shared["users"]]


class Fetch(AsyncParallelBatchNode):
    async def prep_async(self, shared: Any) -> list[int]:
        return list(range(shared["pages"]))

    async def exec_async(self, page: int) -> str:
        await asyncio.sleep(0)
        return f"{self.params['user']}:{page}"


def parallel() -> AsyncParallelBatchFlow:
    """An AsyncParallelBatchFlow of fetch (an AsyncParallelBatchNode) >> store."""
    fetch = Fetch(name="fetch", max_concurrency=2)
    fetch >> AsyncNode(name="store")
    return PerUser(start=fetch, name="per_user", max_concurrency=2)


def with_ends() -> Flow:
    """Declared ends (``- "done" >> None``), a duplicate name and a node in two flows."""
    check, retry = Node(name="check"), Node(name="retry")
    check - "again" >> retry
    check - "done" >> None
    check - "quit" >> None
    retry >> check
    shared_step = Node(name="shared_step")
    first = Flow(start=shared_step, name="step")
    second = Flow(start=shared_step, name="step")
    first >> second >> check
    return Flow(start=first, name="ends")


def lone_node() -> BaseNode:
    """A bare node (its successor is not part of its run)."""
    node = Node(name="solo")
    node >> Node(name="ignored")
    return node


def reentrant() -> Flow:
    """A node that leads back into the flow it belongs to."""
    inner_start = Node(name="inner_start")
    inner = Flow(start=inner_start, name="inner")
    inner_start >> inner
    return Flow(start=inner, name="outer")


def empty_inside() -> Flow:
    """A flow whose nested flow has no start node."""
    first = Node(name="first")
    first >> Flow(name="nothing")
    return Flow(start=first, name="holder")


ESCAPED_NAMES = [
    'say "hi"',
    "back\\slash",
    "two\nlines",
    "café ☕ 数据",
    "node",
    "graph",
    "end",
    "subgraph",
    "<b>bold</b> & #1",
    "`tick`",
    "tab\there",
    "trailing\\",
    "",
    "2nd",
    "LoadData",
]


def escaping() -> Flow:
    """Names and actions that every renderer must quote."""
    nodes = [Node(name=name) for name in ESCAPED_NAMES]
    for index, (source, target) in enumerate(itertools.pairwise(nodes)):
        source - ("default" if index % 2 else f'act "{index}" <&> #') >> target
    return Flow(start=nodes[0], name='flow "quoted"\\')


FLOWS: dict[str, Callable[[], BaseNode]] = {
    "data_science": data_science,
    "agent": agent,
    "converging": converging,
    "three_deep": three_deep,
    "batch_in_flow": batch_in_flow,
    "parallel": parallel,
    "with_ends": with_ends,
    "lone_node": lone_node,
    "empty_inside": empty_inside,
    "reentrant": reentrant,
    "escaping": escaping,
}

# -- the model ---------------------------------------------------------------------------------


def node_rows(graph: Graph) -> list[tuple[Any, ...]]:
    """(id, name, kind, parent, is_start, ends_flow) per node, in walk order."""
    return [(n.id, n.name, n.kind, n.parent, n.is_start, n.ends_flow) for n in graph.nodes]


def edge_rows(graph: Graph) -> list[tuple[Any, ...]]:
    """(source, action, target, parent) per edge, in walk order."""
    return [(e.source, e.action, e.target, e.parent) for e in graph.edges]


def test_nested_data_science_flow() -> None:
    graph = build_graph(data_science())
    assert node_rows(graph) == [
        ("data_science", "data_science", "flow", None, False, False),
        ("data_prep", "data_prep", "flow", "data_science", True, False),
        ("load", "load", "node", "data_prep", True, False),
        ("clean", "clean", "node", "data_prep", False, False),
        ("transform", "transform", "node", "data_prep", False, True),
        ("analysis", "analysis", "flow", "data_science", False, True),
        ("analyze", "analyze", "node", "analysis", True, False),
        ("visualize", "visualize", "node", "analysis", False, True),
    ]
    assert edge_rows(graph) == [
        ("load", "default", "clean", "data_prep"),
        ("clean", "default", "transform", "data_prep"),
        ("data_prep", "default", "analysis", "data_science"),
        ("analyze", "default", "visualize", "analysis"),
    ]
    assert [(n.id, n.start) for n in graph.nodes if n.is_flow] == [
        ("data_science", "data_prep"),
        ("data_prep", "load"),
        ("analysis", "analyze"),
    ]
    assert [n.id for n in graph.children("data_science")] == ["data_prep", "analysis"]


def test_agent_loop() -> None:
    graph = build_graph(agent())
    assert node_rows(graph) == [
        ("agent", "agent", "flow", None, False, False),
        ("decide", "decide", "node", "agent", True, False),
        ("search", "search", "node", "agent", False, False),
        ("answer", "answer", "node", "agent", False, True),
    ]
    assert edge_rows(graph) == [
        ("decide", "search", "search", "agent"),
        ("decide", "answer", "answer", "agent"),
        ("search", "decide", "decide", "agent"),
    ]


def test_converging_branches_reach_a_node_once() -> None:
    graph = build_graph(converging())
    assert [n.id for n in graph.nodes] == ["branches", "a", "b", "c", "d"]
    assert [n.id for n in graph.nodes if n.ends_flow] == ["d"]
    assert edge_rows(graph) == [
        ("a", "x", "b", "branches"),
        ("a", "y", "c", "branches"),
        ("b", "default", "d", "branches"),
        ("c", "default", "d", "branches"),
    ]


def test_flow_nested_three_deep() -> None:
    graph = build_graph(three_deep())
    assert node_rows(graph) == [
        ("outer", "outer", "flow", None, False, False),
        ("middle", "middle", "flow", "outer", True, False),
        ("inner", "inner", "flow", "middle", True, False),
        ("x", "x", "node", "inner", True, False),
        ("y", "y", "node", "inner", False, True),
        ("z", "z", "node", "middle", False, True),
        ("w", "w", "node", "outer", False, True),
    ]
    assert edge_rows(graph) == [
        ("x", "default", "y", "inner"),
        ("inner", "default", "z", "middle"),
        ("middle", "default", "w", "outer"),
    ]


def test_batch_flow_inside_a_flow() -> None:
    graph = build_graph(batch_in_flow())
    assert node_rows(graph) == [
        ("pipeline", "pipeline", "flow", None, False, False),
        ("setup", "setup", "node", "pipeline", True, False),
        ("per_file", "per_file", "batch_flow", "pipeline", False, False),
        ("read", "read", "node", "per_file", True, False),
        ("summarize", "summarize", "node", "per_file", False, True),
        ("report", "report", "node", "pipeline", False, True),
    ]
    assert edge_rows(graph) == [
        ("setup", "default", "per_file", "pipeline"),
        ("read", "default", "summarize", "per_file"),
        ("per_file", "default", "report", "pipeline"),
    ]


def test_parallel_batch_flow_with_a_parallel_batch_node() -> None:
    graph = build_graph(parallel())
    assert node_rows(graph) == [
        ("per_user", "per_user", "parallel_flow", None, False, False),
        ("fetch", "fetch", "parallel", "per_user", True, False),
        ("store", "store", "async", "per_user", False, True),
    ]
    assert edge_rows(graph) == [("fetch", "default", "store", "per_user")]


def test_every_kind() -> None:
    kinds = [
        (Node(), "node"),
        (BatchNode(), "batch"),
        (AsyncNode(), "async"),
        (AsyncBatchNode(), "async_batch"),
        (AsyncParallelBatchNode(), "parallel"),
        (Flow(), "flow"),
        (BatchFlow(), "batch_flow"),
        (AsyncFlow(), "async_flow"),
        (AsyncBatchFlow(), "async_batch_flow"),
        (AsyncParallelBatchFlow(), "parallel_flow"),
    ]
    assert [kind_of(node) for node, _ in kinds] == [kind for _, kind in kinds]
    assert [kind for _, kind in kinds] == list(KIND_NAMES)


def test_declared_ends_duplicates_and_a_node_shared_by_two_flows() -> None:
    flow = with_ends()
    graph = build_graph(flow)
    assert node_rows(graph) == [
        ("ends", "ends", "flow", None, False, False),
        ("step", "step", "flow", "ends", True, False),
        ("shared_step", "shared_step", "node", "step", True, True),
        ("step_2", "step", "flow", "ends", False, False),
        ("check", "check", "node", "ends", False, False),
        ("retry", "retry", "node", "ends", False, False),
    ]
    assert [n.label for n in graph.nodes] == [
        "ends",
        "step",
        "shared_step",
        "step (2)",
        "check",
        "retry",
    ]
    # the second flow starts at the node drawn in the first one
    assert graph["step_2"].start == "shared_step"
    assert edge_rows(graph) == [
        ("step", "default", "step_2", "ends"),
        ("step_2", "default", "check", "ends"),
        ("check", "again", "retry", "ends"),
        ("check", "done", None, "ends"),
        ("check", "quit", None, "ends"),
        ("retry", "default", "check", "ends"),
    ]
    second = flow.start_node.successors["default"]  # type: ignore[union-attr]
    assert graph.id_of(second) == "step_2"
    assert graph.find(Node()) is None
    with pytest.raises(KeyError, match="not in the graph of 'ends'"):
        graph.id_of(Node(name="stranger"))


def test_a_lone_node_and_an_empty_nested_flow() -> None:
    lone = build_graph(lone_node())
    assert node_rows(lone) == [("solo", "solo", "node", None, False, False)]
    assert lone.edges == ()
    holder = build_graph(empty_inside())
    assert node_rows(holder) == [
        ("holder", "holder", "flow", None, False, False),
        ("first", "first", "node", "holder", True, False),
        ("nothing", "nothing", "flow", "holder", False, True),
    ]
    assert holder["nothing"].start is None
    assert "(no start node)" in to_text(holder)


def test_ids_are_slugs_of_names_and_never_collide() -> None:
    graph = build_graph(escaping())
    assert [n.id for n in graph.nodes] == [
        "flow_quoted",
        "say_hi",
        "back_slash",
        "two_lines",
        "cafe",
        "node",
        "graph_node",
        "end_node",
        "subgraph_node",
        "b_bold_b_1",
        "tick",
        "tab_here",
        "trailing",
        "node_2",  # an empty name means the class name, "Node", and "node" is taken
        "n_2nd",
        "load_data",
    ]
    for node in graph.nodes:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", node.id), node.id


def test_a_node_leading_back_into_its_own_flow() -> None:
    graph = build_graph(reentrant())
    assert node_rows(graph) == [
        ("outer", "outer", "flow", None, False, False),
        ("inner", "inner", "flow", "outer", True, True),
        ("inner_start", "inner_start", "node", "inner", True, False),
    ]
    assert edge_rows(graph) == [("inner_start", "default", "inner", "inner")]
    assert '"inner_start" -> "inner_start" [id="edge__inner_start__inner"];' in to_dot(
        graph
    )  # drawn inside, as a loop


# -- DOT --------------------------------------------------------------------------------------

_DOT_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->)|(?P<id>[\w.#-]+)|(?P<punct>[{}\[\];,=]))'
)


@dataclasses.dataclass
class ParsedDot:
    """A DOT text as data: the graph's attributes, its clusters, nodes and edges."""

    #: Attributes of the ``graph [...]`` statement and of ``key=value;`` at the top level.
    attrs: dict[str, str]
    #: Cluster name -> its ``key=value;`` attributes, plus "parent" (the enclosing cluster).
    clusters: dict[str, dict[str, str]]
    #: Node id -> its attributes, plus "cluster" (the cluster it is declared in, or "").
    nodes: dict[str, dict[str, str]]
    #: (tail, head, attributes), in order.
    edges: list[tuple[str, str, dict[str, str]]]
    #: The ``node [...]`` and ``edge [...]`` defaults.
    defaults: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    def edge(self, dom_id: str) -> dict[str, str]:
        """The attributes of the edge whose ``id`` is ``dom_id``."""
        return next(attrs for _, _, attrs in self.edges if attrs.get("id") == dom_id)


def _dot_unquote(token: str) -> str:
    if not token.startswith('"'):
        return token
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], token[1:-1])


def parse_dot(text: str) -> ParsedDot:
    """Parse the DOT we write (statements, attribute lists, nested subgraphs) into data,
    failing on anything else, so that tests assert on attributes rather than on substrings.
    """
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        match = _DOT_TOKEN.match(text, position)
        assert match is not None, f"not DOT at {text[position : position + 40]!r}"
        tokens.append(match.group(match.lastgroup or ""))
        position = match.end()
    values = iter(tokens)
    parsed = ParsedDot({}, {}, {}, [])

    def attr_list() -> dict[str, str]:
        attrs: dict[str, str] = {}
        for token in values:
            if token == "]":
                return attrs
            if token == ",":
                continue
            assert next(values) == "=", token
            attrs[token] = _dot_unquote(next(values))
        raise AssertionError("unclosed [")

    def body(cluster: str) -> None:
        for token in values:
            if token == "}":
                return
            if token in ("graph", "node", "edge"):
                assert next(values) == "["
                attrs = attr_list()
                if token == "graph":
                    parsed.attrs.update(attrs)
                else:
                    parsed.defaults.setdefault(token, {}).update(attrs)
                assert next(values) == ";"
                continue
            if token == "subgraph":
                name = _dot_unquote(next(values))
                assert next(values) == "{"
                parsed.clusters[name] = {"parent": cluster}
                body(name)
                continue
            name = _dot_unquote(token)
            following = next(values)
            if following == "=":
                value = _dot_unquote(next(values))
                (parsed.clusters[cluster] if cluster else parsed.attrs)[name] = value
                assert next(values) == ";"
            elif following == "->":
                head = _dot_unquote(next(values))
                assert next(values) == "["
                parsed.edges.append((name, head, attr_list()))
                assert next(values) == ";"
            else:
                assert following == "[", following
                parsed.nodes[name] = {**attr_list(), "cluster": cluster}
                assert next(values) == ";"
        raise AssertionError("unclosed {")

    assert next(values) == "digraph"
    parsed.attrs["name"] = _dot_unquote(next(values))
    assert next(values) == "{"
    body("")
    assert next(values, None) is None, "text after the graph"
    return parsed


def test_parse_dot_reads_what_to_dot_writes() -> None:
    parsed = parse_dot(to_dot(escaping()))
    assert parsed.attrs["name"] == 'flow "quoted"\\'
    assert parsed.clusters["cluster_flow_quoted"]["label"] == 'flow "quoted"\\ (Flow)'
    assert [parsed.nodes[n.id]["label"] for n in build_graph(escaping()).nodes[1:]] == [
        name.replace("\t", " ") or "Node" for name in ESCAPED_NAMES
    ]
    with pytest.raises(AssertionError):
        parse_dot('digraph "x" { "a" [label="b"] }')  # no ';': not what we write


@pytest.mark.parametrize("name", FLOWS)
def test_dot_renders_with_graphviz(name: str, dot_path: str) -> None:
    text = to_dot(FLOWS[name]())
    result = subprocess.run(
        [dot_path, "-Tsvg"], input=text, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning either (e.g. about lhead/ltail)
    assert "<svg" in result.stdout


def test_dot_structure_of_the_nested_flow() -> None:
    text = to_dot(data_science())
    assert text.startswith('digraph "data_science" {\n')
    assert "compound=true" in text
    for cluster in ("data_science", "data_prep", "analysis"):
        assert f'subgraph "cluster_{cluster}" {{' in text
    assert 'label="data_prep (Flow)";' in text
    # the edge between the two nested flows runs from cluster to cluster
    assert (
        '"transform__end" -> "analyze" [id="edge__data_prep__analysis", '
        'ltail="cluster_data_prep", lhead="cluster_analysis"];'
    ) in text
    # start markers: the outer one points at the nested flow, drawn to its border
    assert (
        '"data_science__start" -> "load" '
        '[id="edge__data_science__start__data_prep", lhead="cluster_data_prep"' in text
    )
    assert '"data_prep__start" -> "load"' in text
    # dangling exits lead to end markers
    assert (
        '"transform" -> "transform__end" [id="edge__transform__transform__end", style=dashed]'
        in text
    )
    assert text.count("shape=doublecircle") == 3


def test_dot_labels_actions_but_not_the_default_one() -> None:
    text = to_dot(agent())
    assert '"decide" -> "search" [id="edge__decide__search", label="search"];' in text
    assert '"search" -> "decide" [id="edge__search__decide", label="decide"];' in text
    assert '"decide" -> "answer" [id="edge__decide__answer", label="answer"];' in text
    assert '"answer" -> "answer__end" [id="edge__answer__answer__end", style=dashed];' in text
    text = to_dot(with_ends())
    assert '"check" -> "check__end" [id="edge__check__check__end", label="done"];' in text
    assert '"check" -> "check__end" [id="edge__check__check__end__2", label="quit"];' in text
    # step_2 starts at a node drawn in step: its edges end at its own start marker
    assert (
        '"shared_step__end" -> "step_2__start" '
        '[id="edge__step__step_2", ltail="cluster_step", lhead="cluster_step_2"];' in text
    )
    assert '"step_2__start" -> "shared_step" [id="edge__step_2__start__shared_step", ' in text


def test_dot_edges_out_of_a_flow_three_deep() -> None:
    text = to_dot(three_deep())
    assert '"outer__start" -> "x" [id="edge__outer__start__middle", lhead="cluster_middle"' in text
    assert '"middle__start" -> "x" [id="edge__middle__start__inner", lhead="cluster_inner"' in text
    assert '"y__end" -> "z" [id="edge__inner__z", ltail="cluster_inner"];' in text
    assert '"z__end" -> "w" [id="edge__middle__w", ltail="cluster_middle"];' in text


def test_dot_shapes_and_colours_follow_the_kind() -> None:
    text = to_dot(parallel())
    assert re.search(
        r'"fetch" \[label="fetch", id="node__fetch", shape=component, style="filled,dashed"', text
    )
    assert re.search(
        r'"store" \[label="store", id="node__store", shape=box, style="rounded,filled,dashed"', text
    )
    assert 'label="per_user (AsyncParallelBatchFlow)";' in text
    node_fills = set(re.findall(r'shape=\w+, style="[^"]*", fillcolor="(#\w+)"', text))
    assert len(node_fills) == 2  # two kinds, two fills


@pytest.mark.parametrize("name", ["data_science", "with_ends", "escaping"])
def test_svg_groups_carry_the_dom_ids_of_nodes_and_edges(name: str, dot_path: str) -> None:
    graph = build_graph(FLOWS[name]())
    svg = subprocess.run(
        [dot_path, "-Tsvg"], input=to_dot(graph), capture_output=True, text=True, timeout=60
    ).stdout
    groups = re.findall(r'<g id="([^"]+)" class="(node|edge|cluster)">', svg)
    ids = dict(groups)
    assert len(ids) == len(groups)  # unique
    for node in graph.nodes:
        assert ids[node.dom_id] == ("cluster" if node.is_flow else "node")
    for edge in graph.edges:
        assert ids[edge.dom_id] == "edge"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", dom_id) for dom_id in ids)  # CSS-safe, as is


def test_dot_quotes_every_name(dot_path: str) -> None:
    text = to_dot(escaping())
    assert 'digraph "flow \\"quoted\\"\\\\" {' in text
    assert '[label="say \\"hi\\"",' in text
    assert '[label="back\\\\slash",' in text
    assert '[label="two\\nlines",' in text
    assert '[label="trailing\\\\",' in text
    assert '[label="tab here",' in text
    assert '"node" [label="node",' in text
    assert '"graph_node" [label="graph",' in text
    svg = subprocess.run(
        [dot_path, "-Tsvg"], input=text, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for expected in (
        "say &quot;hi&quot;",
        "back\\slash",
        "two",
        "lines",
        "café ☕ 数据",
        "&lt;b&gt;bold&lt;/b&gt; &amp; #1",
        "`tick`",
        "trailing\\",
        "act &quot;0&quot; &lt;&amp;&gt; #",
        "flow &quot;quoted&quot;\\ (Flow)",
    ):
        assert expected in texts, expected


# -- Mermaid ----------------------------------------------------------------------------------

_ID = r"[a-z][a-z0-9_]*"
_LABEL = r'"[^"]*"'
_SHAPES = {"[": "]", "[[": "]]", "([": "])", "{{": "}}", "[/": "/]", "((": "))", "(((": ")))"}
_SHAPES |= {"[(": ")]", ">": "]"}  # in overviews: a collapsed sub-flow, the nodes left out
_MERMAID_LINES = {
    "node": re.compile(
        rf"(?P<id>{_ID})(?P<open>[\[({{/>]+)(?P<label>{_LABEL})(?P<close>[\])}}/]+)"
    ),
    "subgraph": re.compile(rf"subgraph (?P<id>{_ID})\[(?P<label>{_LABEL})\]"),
    "end": re.compile(r"end"),
    "edge": re.compile(
        rf"(?P<source>{_ID}) (-->|-\.->)(\|(?P<label>{_LABEL})\|)? (?P<target>{_ID})"
    ),
    "classDef": re.compile(r"classDef (?P<id>\w+) [\w:#.,-]+( [\w.]+)*"),
    "class": re.compile(rf"class (?P<members>{_ID}(,{_ID})*) (?P<cls>\w+)"),
    "style": re.compile(rf"style (?P<id>{_ID}) [\w:#.,-]+( [\w.]+)*"),
    "linkStyle": re.compile(r"linkStyle (?P<indices>\d+(,\d+)*) [\w:#.,-]+"),
}


def check_mermaid(text: str) -> dict[str, list[re.Match[str]]]:
    """Assert that ``text`` follows the flowchart grammar we emit; return its lines by kind."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    found: dict[str, list[re.Match[str]]] = {kind: [] for kind in _MERMAID_LINES}
    depth = 0
    for line in lines[1:]:
        stripped = line.strip()
        matches = [
            (kind, m)
            for kind, pattern in _MERMAID_LINES.items()
            if (m := pattern.fullmatch(stripped)) is not None
        ]
        assert len(matches) == 1, f"not one flowchart statement: {line!r}"
        kind, match = matches[0]
        found[kind].append(match)
        depth += {"subgraph": 1, "end": -1}.get(kind, 0)
        assert depth >= 0, "'end' without 'subgraph'"
        if kind == "node":
            assert _SHAPES.get(match["open"]) == match["close"], line
    assert depth == 0, "unclosed subgraph"
    declared = [m["id"] for m in found["node"] + found["subgraph"]]
    assert len(declared) == len(set(declared)), "an id declared twice"
    for edge in found["edge"]:
        assert edge["source"] in declared and edge["target"] in declared, edge.group(0)
    for match in found["class"]:
        assert set(match["members"].split(",")) <= set(declared)
        assert match["cls"] in {m["id"] for m in found["classDef"]}
    for match in found["style"]:
        assert match["id"] in {m["id"] for m in found["subgraph"]}
    for match in found["linkStyle"]:
        assert all(int(i) < len(found["edge"]) for i in match["indices"].split(","))
    return found


@pytest.mark.parametrize("name", FLOWS)
def test_mermaid_is_well_formed(name: str) -> None:
    flow = FLOWS[name]()
    found = check_mermaid(to_mermaid(flow))
    graph = build_graph(flow)
    declared = {m["id"] for m in found["node"] + found["subgraph"]}
    assert {n.id for n in graph.nodes} <= declared
    assert {m["id"] for m in found["subgraph"]} == {n.id for n in graph.nodes if n.is_flow}
    wired = {(e.source, e.target) for e in graph.edges if e.target is not None}
    assert wired <= {(m["source"], m["target"]) for m in found["edge"]}


def test_mermaid_of_the_agent_loop() -> None:
    text = to_mermaid(agent())
    assert 'subgraph agent["agent (Flow)"]' in text
    assert '    decide["decide"]' in text
    assert 'decide -->|"search"| search' in text
    assert 'search -->|"decide"| decide' in text
    assert "answer -.-> answer__end" in text
    assert "agent__start --> decide" in text
    assert "classDef k_node " in text
    assert "class decide,search,answer k_node" in text


def test_mermaid_shapes_and_edges_to_subgraphs() -> None:
    text = to_mermaid(batch_in_flow())
    assert "setup --> per_file" in text
    assert "per_file --> report" in text
    assert 'subgraph per_file["per_file (BatchFlow)"]' in text
    text = to_mermaid(parallel())
    assert 'fetch[/"fetch"/]' in text
    assert 'store(["store"])' in text


def test_mermaid_escapes_labels() -> None:
    text = to_mermaid(escaping())
    check_mermaid(text)
    assert 'say_hi["say #quot;hi#quot;"]' in text
    assert 'two_lines["two<br>lines"]' in text
    assert 'b_bold_b_1["#lt;b#gt;bold#lt;/b#gt; #amp; #35;1"]' in text
    assert 'tick["#96;tick#96;"]' in text
    assert 'cafe["café ☕ 数据"]' in text
    assert 'end_node["end"]' in text
    assert '-->|"act #quot;0#quot; #lt;#amp;#gt; #35;"|' in text


def mermaid_dir() -> Path | None:
    """A directory where ``npm install mermaid jsdom`` was run, if there is one."""
    candidates = [os.environ.get("PF_MERMAID_DIR"), str(ROOT)]
    for candidate in filter(None, candidates):
        modules = Path(candidate) / "node_modules"
        if (modules / "mermaid").is_dir() and (modules / "jsdom").is_dir():
            return Path(candidate)
    return None


MERMAID_PARSE = """
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const require = createRequire(process.argv[2] + "/");
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const mermaid = (await import(pathToFileURL(require.resolve("mermaid")).href)).default;
mermaid.initialize({ startOnLoad: false });
const results = [];
for (const text of JSON.parse(readFileSync(0, "utf8"))) {
  try { const parsed = await mermaid.parse(text); results.push([null, parsed.config ?? {}]); }
  catch (error) { results.push([String(error.message ?? error), null]); }
}
process.stdout.write(JSON.stringify(results));
"""


def parse_mermaid(texts: list[str], tmp_path: Path) -> list[tuple[str | None, Any]]:
    """Each text through Mermaid's own parser: (its error or ``None``, the configuration its
    directives or front matter set). Skips the test when the parser is not installed.
    """
    node = shutil.which("node")
    folder = mermaid_dir()
    if node is None or folder is None:
        pytest.skip(
            "no Mermaid parser: needs Node.js and `npm install --no-save mermaid jsdom` in the "
            "repository (or in $PF_MERMAID_DIR); the structural checks still ran"
        )
    script = tmp_path / "parse.mjs"
    script.write_text(MERMAID_PARSE)
    result = subprocess.run(
        [node, str(script), str(folder)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [(error, config) for error, config in json.loads(result.stdout)]


def test_mermaid_parses_with_the_real_parser(tmp_path: Path) -> None:
    texts = [to_mermaid(make()) for make in FLOWS.values()]
    texts += [to_mermaid(flow, overlay) for flow, overlay in overlays()]
    texts.append("flowchart TD\n  a --> end\n")  # the parser must reject this one
    errors = [error for error, _ in parse_mermaid(texts, tmp_path)]
    assert errors[-1] is not None
    assert errors[:-1] == [None] * (len(texts) - 1)


# -- plain text -------------------------------------------------------------------------------


def test_text_outline_of_the_nested_flow() -> None:
    assert to_text(data_science()) == (
        "data_science (Flow)\n"
        "  data_prep (Flow)\n"
        "    load (Node)\n"
        "    clean (Node)\n"
        "    transform (Node)\n"
        "    (start) --> load\n"
        "    load --> clean\n"
        "    clean --> transform\n"
        "    transform --> (end)\n"
        "  analysis (Flow)\n"
        "    analyze (Node)\n"
        "    visualize (Node)\n"
        "    (start) --> analyze\n"
        "    analyze --> visualize\n"
        "    visualize --> (end)\n"
        "  (start) --> data_prep\n"
        "  data_prep --> analysis\n"
        "  analysis --> (end)\n"
    )


def test_text_outline_with_declared_ends_and_duplicates() -> None:
    text = to_text(with_ends())
    assert "  step (2) (Flow)\n" in text
    assert "  check --done--> (end)\n" in text
    assert "  check --again--> retry\n" in text
    assert "    (start) --> shared_step\n" in text
    lines = to_text(escaping()).splitlines()
    assert len(lines) == 2 * len(ESCAPED_NAMES) + 2  # each node and each edge on one line


# -- determinism ------------------------------------------------------------------------------

RENDER_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import test_graph as t
from pocketflow.dot import to_dot
from pocketflow.mermaid import to_mermaid
from pocketflow.text import to_text
for name, make in t.FLOWS.items():
    for render in (to_dot, to_mermaid, to_text):
        sys.stdout.write(render(make()))
"""


def test_output_is_byte_identical_across_processes() -> None:
    script = RENDER_SCRIPT.format(tests=str(Path(__file__).parent))
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            env=env,
            check=True,
            cwd=ROOT,
            timeout=120,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    here = "".join(
        render(make()) for make in FLOWS.values() for render in (to_dot, to_mermaid, to_text)
    )
    assert outputs[0] == here.encode()
    assert b"0x" not in outputs[0]  # no memory address anywhere


# -- overlays from real runs ------------------------------------------------------------------


def recorded(flow: BaseNode, shared: dict[str, Any]) -> list[Event]:
    """The events of ``flow.run(shared)`` (or ``run_async``), even when it fails."""
    events: list[Event] = []
    with observe(events.append):
        try:
            if isinstance(flow, AsyncNode):
                asyncio.run(flow.run_async(shared))
            else:
                flow.run(shared)
        except RuntimeError:
            pass
    return events


def test_overlay_of_the_agent_loop() -> None:
    flow = agent()
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, recorded(flow, {"searches": 3}))
    assert overlay.visits == {"agent": 1, "decide": 4, "search": 3, "answer": 1}
    assert overlay.edges == {
        ("decide", "search", "search"): 3,
        ("search", "decide", "decide"): 3,
        ("decide", "answer", "answer"): 1,
        ("answer", "default", None): 1,
    }
    assert overlay.current is None  # the run has ended
    assert overlay.root == "agent"
    assert overlay.failed is None
    assert overlay.items == {}


def test_nothing_is_current_once_the_run_ends() -> None:
    flow = agent()
    graph = build_graph(flow)
    overlay = Overlay()
    seen = []
    for event in flow.steps({"searches": 1}):
        overlay.add(graph, event)
        seen.append((event.kind, event.node.name, overlay.current))
    last_start = None
    for kind, name, current in seen[:-1]:
        last_start = name if kind == "start" else last_start
        assert current == last_start, (kind, name)
    assert seen[-1] == ("post", "agent", None)
    # a nested flow's post does not end the run; a lone node's post does
    nested = Flow(start=Flow(start=Node(name="inside"), name="inner"), name="outer")
    events = recorded(nested, {})
    inner_post = next(
        i for i, e in enumerate(events) if e.kind == "post" and e.node.name == "inner"
    )
    assert Overlay.from_events(build_graph(nested), events[: inner_post + 1]).current == "inside"
    assert Overlay.from_events(build_graph(nested), events).current is None
    lone = Node(name="lone")
    assert Overlay.from_events(build_graph(lone), recorded(lone, {})).current is None


def test_overlay_rendered_in_all_three_forms() -> None:
    flow = agent()
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, recorded(flow, {"searches": 3}))
    dot = parse_dot(to_dot(graph, overlay))
    # each count on a line of its own, under the action
    assert {attrs["id"]: attrs.get("label") for _, _, attrs in dot.edges} == {
        "edge__agent__start__decide": "×1",  # decide's 3 other visits: edges
        "edge__decide__search": "search\n×3",
        "edge__decide__answer": "answer\n×1",
        "edge__search__decide": "decide\n×3",
        "edge__answer__answer__end": "×1",
    }
    taken = dot.edge("edge__decide__search")
    assert (taken["color"], taken["fontcolor"], taken["penwidth"]) == (
        palette.TAKEN.stroke,
        palette.TAKEN.text,
        "2",
    )
    mermaid = to_mermaid(graph, overlay)
    check_mermaid(mermaid)
    assert 'decide -->|"search<br>×3"| search' in mermaid
    assert "class decide,search,answer s_visited" in mermaid
    assert "s_current" not in mermaid  # the run has ended
    text = to_text(graph, overlay)
    assert "  decide (Node)  [ran ×4]\n" in text
    assert "  answer (Node)  [ran ×1]\n" in text
    assert "  decide --search ×3--> search\n" in text
    assert "  answer --×1--> (end)\n" in text


def test_overlay_of_a_partial_run_dims_what_did_not_run() -> None:
    flow = agent()
    graph = build_graph(flow)
    events = []
    for event in flow.steps({"searches": 3}):
        events.append(event)
        if event.kind == "start" and event.node.name == "search":
            break  # paused as the first search starts
    overlay = Overlay.from_events(graph, events)
    assert overlay.visits == {"agent": 1, "decide": 1, "search": 1}
    assert overlay.current == "search"
    dot = parse_dot(to_dot(graph, overlay))
    looks = {
        node: (attrs["label"], attrs["fillcolor"], attrs["style"])
        for node, attrs in dot.nodes.items()
        if node in graph
    }
    assert looks == {
        "decide": ("decide", palette.STATES["visited"].fill, "rounded,filled"),
        "search": ("▶ search", palette.STATES["current"].fill, "rounded,filled"),
        "answer": ("answer", palette.STATES["unvisited"].fill, "rounded,filled,dotted"),
    }
    untaken = dot.edge("edge__decide__answer")
    assert (untaken["label"], untaken["color"]) == ("answer", palette.UNTAKEN.stroke)
    assert "class answer s_unvisited" in to_mermaid(graph, overlay)
    assert "  answer (Node)  [not run]\n" in to_text(graph, overlay)


class Boom(Node):
    def exec(self, prep_res: Any) -> None:
        raise RuntimeError("boom")


def test_overlay_marks_the_failed_node(dot_path: str) -> None:
    first, boom = Node(name="first"), Boom(name="boom")
    first >> boom >> Node(name="never")
    flow = Flow(start=Flow(start=first, name="inner"), name="outer")
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, recorded(flow, {}))
    assert overlay.failed == "boom"
    assert overlay.current is None  # the exception ended the run
    assert overlay.visits == {"outer": 1, "inner": 1, "first": 1, "boom": 1}
    dot = to_dot(graph, overlay)
    boom_attrs = parse_dot(dot).nodes["boom"]
    failed = palette.STATES["failed"]
    assert (boom_attrs["label"], boom_attrs["peripheries"]) == ("✗ boom", "2")  # not colour alone
    assert (boom_attrs["fillcolor"], boom_attrs["color"]) == (failed.fill, failed.stroke)
    result = subprocess.run(
        [dot_path, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == ""
    assert "class boom s_failed" in to_mermaid(graph, overlay)
    assert "boom (Node)  [ran ×1, failed]" in to_text(graph, overlay)


def test_overlay_shows_batch_progress() -> None:
    class Load(BatchNode):
        def prep(self, shared: Any) -> list[int]:
            return list(range(10))

    load = Load(name="load")
    load >> Node(name="after")
    flow = Flow(start=load, name="batch")
    graph = build_graph(flow)
    events = []
    for event in flow.steps({}):
        events.append(event)
        if sum(e.kind == "item" for e in events) == 3:
            break
    overlay = Overlay.from_events(graph, events)
    assert overlay.items == {"load": (3, 10)}
    load_attrs = parse_dot(to_dot(graph, overlay)).nodes["load"]
    assert (load_attrs["label"], load_attrs["shape"]) == ("▶ load [3/10]", "box3d")
    assert 'load[["▶ load [3/10]"]]' in to_mermaid(graph, overlay)
    assert "  load [3/10] (BatchNode)  [ran ×1, current]\n" in to_text(graph, overlay)
    # when the node starts again, its count starts again
    overlay.add(graph, next(e for e in events if e.node is load and e.kind == "start"))
    assert "load" not in overlay.items


def test_overlay_of_a_batch_flow_and_a_parallel_flow() -> None:
    flow = batch_in_flow()
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, recorded(flow, {"files": ["a", "b", "c"]}))
    assert overlay.items == {"per_file": (3, 3)}
    assert overlay.visits["summarize"] == 3
    assert overlay.edges[("read", "default", "summarize")] == 3
    assert overlay.edges[("per_file", "default", "report")] == 1
    dot = to_dot(graph, overlay)
    assert "per_file [3/3] (BatchFlow)" in dot
    # the batch flow started its graph once per file; no edge leads to its start node
    assert '"per_file__start" -> "read" [id="edge__per_file__start__read", label="×3"' in dot
    assert '"pipeline__start" -> "setup" [id="edge__pipeline__start__setup", label="×1"' in dot

    flow = parallel()
    graph = build_graph(flow)
    overlay = Overlay.from_events(graph, recorded(flow, {"users": ["ann", "bob"], "pages": 4}))
    assert overlay.visits == {"per_user": 1, "fetch": 2, "store": 2}
    assert overlay.items["per_user"] == (2, 2)
    assert overlay.items["fetch"][1] == 4  # the two runs of fetch overlap: done is a mix
    assert overlay.edges == {("fetch", "default", "store"): 2, ("store", "default", None): 2}


def test_overlay_ignores_events_of_nodes_outside_the_graph() -> None:
    class RunsAnother(Node):
        def exec(self, prep_res: Any) -> None:
            Flow(start=Node(name="elsewhere")).run({})

    flow = Flow(start=RunsAnother(name="outer_node"), name="main")
    graph = build_graph(flow)
    events = recorded(flow, {})
    assert any(e.node.name == "elsewhere" for e in events)
    overlay = Overlay.from_events(graph, events)
    assert overlay.visits == {"main": 1, "outer_node": 1}
    assert overlay.root == "main"  # the other run's nodes, and its end, are not this run's


def overlays() -> Iterator[tuple[Graph, Overlay]]:
    """Overlays of real runs, for the parser checks."""
    for make, shared in ((agent, {"searches": 2}), (batch_in_flow, {"files": ["a"]})):
        graph = build_graph(make())
        yield graph, Overlay.from_events(graph, recorded(graph.root.obj, shared))
    graph = build_graph(Flow(start=Boom(name="boom"), name="failing"))
    yield graph, Overlay.from_events(graph, recorded(graph.root.obj, {}))


# -- notebooks --------------------------------------------------------------------------------


def test_mimebundle_with_graphviz(dot_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    real_run = pocketflow.dot._run_dot

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        runs.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(pocketflow.dot, "_run_dot", counting_run)
    flow = Flow(start=Node(name="cached_once"), name="mimebundle_test")
    bundle = mimebundle(flow)
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert "<svg" in bundle["image/svg+xml"]
    assert "Generated by graphviz" not in bundle["image/svg+xml"]
    assert "<title>cached_once</title>" in bundle["image/svg+xml"]
    assert bundle["text/plain"] == to_text(flow)
    assert mimebundle(flow) == bundle
    assert len(runs) == 1  # the second display reused the rendering


def test_mimebundle_without_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pocketflow.dot.shutil, "which", lambda name: None)
    flow = agent()
    assert mimebundle(flow) == {"text/vnd.mermaid": to_mermaid(flow), "text/plain": to_text(flow)}


def test_mimebundle_when_graphviz_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pocketflow.dot.shutil, "which", lambda name: "/bin/false")
    bundle = mimebundle(agent())
    assert set(bundle) == {"text/vnd.mermaid", "text/plain"}


def test_mimebundle_is_usable_as_repr_mimebundle() -> None:
    class Shown(Flow):
        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
            return mimebundle(self)

    flow = Shown(start=Node(name="a"), name="shown")
    plain = flow._repr_mimebundle_()["text/plain"]
    assert plain == "shown (Flow)\n  a (Node)\n  (start) --> a\n  a --> (end)\n"


def test_module_doctests() -> None:
    results = doctest.testmod(pocketflow.graph)
    assert results.attempted > 0
    assert results.failed == 0
