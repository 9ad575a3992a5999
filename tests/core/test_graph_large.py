"""Large flows display in bounded time: an overview decided by size, and ``dot`` on a budget.

Laying out a dense graph with loops costs ``dot`` seconds at 100 nodes and minutes at 200, and
Mermaid gives up at 50,000 characters. So what a notebook draws is decided first, from the
node and edge counts alone (the same on any machine): the graph, or an overview of it. These
tests assert on that decision and on what reaches ``dot``, never on wall time; ``dot`` itself is
faked where it has to fail or hang.
"""

from __future__ import annotations

import importlib.util
import itertools
import random
import shutil
import stat
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pocketflow.dot
from pocketflow import Flow, Node
from pocketflow.display import mimebundle
from pocketflow.dot import render_svg, to_dot
from pocketflow.graph import (
    MAX_DRAWN_NODES,
    MAX_EXTRA_EDGES,
    OUTLINE_NODES,
    Graph,
    Overlay,
    Overview,
    build_graph,
    what_to_draw,
)
from pocketflow.mermaid import to_mermaid
from pocketflow.text import to_text


def _graph_tests() -> ModuleType:
    """``test_graph.py``, for its flows and Mermaid checks (test folders are not packages)."""
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
check_mermaid = graph_tests.check_mermaid
parse_mermaid = graph_tests.parse_mermaid

#: Mermaid's default ``maxTextSize``: longer text is refused with an error.
MERMAID_MAX_TEXT = 50_000


def dense_flow(nodes: int, seed: int = 7) -> Flow:
    """``nodes`` nodes in a chain, each also wired to two random nodes: loops everywhere."""
    rng = random.Random(seed)
    steps = [Node(name=f"step {index}") for index in range(nodes)]
    for index, step in enumerate(steps):
        if index + 1 < nodes:
            step >> steps[index + 1]
        step - "retry" >> steps[rng.randrange(nodes)]
        step - "jump" >> steps[rng.randrange(nodes)]
    return Flow(start=steps[0], name="dense")


def nested_flow(groups: int, size: int, seed: int = 3) -> Flow:
    """``groups`` sub-flows of ``size`` nodes each, chained, with loops inside each sub-flow."""
    rng = random.Random(seed)
    flows = []
    for group in range(groups):
        steps = [Node(name=f"g{group} step {index}") for index in range(size)]
        for index, step in enumerate(steps[:-1]):
            step >> steps[index + 1]
            step - "again" >> steps[rng.randrange(index + 1)]
        flows.append(Flow(start=steps[0], name=f"group {group}"))
    for first, second in itertools.pairwise(flows):
        first >> second
    return Flow(start=flows[0], name="nested")


def extra_edges(graph: Graph) -> int:
    """Edges beyond a spanning tree: the loops and cross links that make layout slow."""
    return len(graph.edges) - len(graph.nodes) + 1


def node_statements(dot_text: str) -> int:
    """How many nodes a DOT text declares (markers included)."""
    lines = (line.strip() for line in dot_text.splitlines())
    return sum(1 for line in lines if line.startswith('"') and "->" not in line)


# -- the decision ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(graph_tests.FLOWS))
def test_ordinary_flows_are_drawn_in_full(name: str) -> None:
    graph = build_graph(graph_tests.FLOWS[name]())
    assert what_to_draw(graph) is graph


def test_the_limits_are_on_counts_of_nodes_and_edges() -> None:
    largest = build_graph(dense_flow(MAX_DRAWN_NODES - 1, seed=1))
    assert len(largest.nodes) == MAX_DRAWN_NODES
    assert extra_edges(largest) > MAX_EXTRA_EDGES  # two random edges per node: too many loops
    assert isinstance(what_to_draw(largest), Overview)
    steps = [Node(name=f"step {index}") for index in range(MAX_DRAWN_NODES - 1)]
    for index, step in enumerate(steps[:-1]):
        step >> steps[index + 1]
    for index in range(MAX_EXTRA_EDGES + 1):  # the flow holding them counts as one edge
        steps[index] - "back" >> steps[0]
    chain = build_graph(Flow(start=steps[0], name="chain"))
    assert (len(chain.nodes), extra_edges(chain)) == (MAX_DRAWN_NODES, MAX_EXTRA_EDGES)
    assert what_to_draw(chain) is chain
    steps[MAX_EXTRA_EDGES + 1] - "back" >> steps[0]
    assert isinstance(what_to_draw(Flow(start=steps[0], name="chain")), Overview)
    steps.append(Node(name="one more"))
    steps[-2] >> steps[-1]
    assert isinstance(what_to_draw(Flow(start=steps[0], name="chain")), Overview)


@pytest.mark.parametrize("nodes", [200, 2000])
def test_a_dense_flow_with_loops_is_drawn_as_an_outline(nodes: int) -> None:
    graph = build_graph(dense_flow(nodes))
    drawn = what_to_draw(graph)
    assert isinstance(drawn, Overview) and drawn.full is graph
    assert len(drawn.nodes) <= OUTLINE_NODES
    assert extra_edges(drawn) <= MAX_EXTRA_EDGES
    # the first nodes in walk order, then one node for the rest
    shown = [node.id for node in drawn.nodes if node.id != drawn.more]
    assert shown == [node.id for node in graph.nodes[: len(shown)]]
    assert drawn.more is not None
    assert f"{len(graph.nodes) - len(shown):,} more nodes" in drawn[drawn.more].label
    for text in (to_dot(drawn), to_mermaid(drawn)):
        assert f"the first {len(shown)} of {len(graph.nodes):,} nodes" in text
        assert "pocketflow.text.to_text(flow)" in text  # says where to find it


def test_a_flow_of_sub_flows_is_drawn_with_the_sub_flows_collapsed() -> None:
    graph = build_graph(nested_flow(groups=30, size=20))
    assert len(graph.nodes) > MAX_DRAWN_NODES
    drawn = what_to_draw(graph)
    assert isinstance(drawn, Overview)
    assert [node.id for node in drawn.nodes] == [node.id for node in graph.children(None)] + [
        node.id for node in graph.children("nested")
    ]
    assert drawn.more is None
    assert drawn.collapsed == {f"group_{group}": 20 for group in range(30)}
    assert "group 7 (Flow: 20 nodes)" in to_text(drawn)
    # the edges between sub-flows are kept, those inside them are not
    assert [(e.source, e.target) for e in drawn.edges] == [
        (f"group_{group}", f"group_{group + 1}") for group in range(29)
    ]
    dot = to_dot(drawn)
    assert "sub-flows are drawn as one box each" in dot
    assert "shape=folder" in dot


def test_only_the_deepest_levels_are_collapsed_when_that_is_enough() -> None:
    inner = [nested_flow(groups=4, size=30, seed=seed) for seed in range(3)]
    for first, second in itertools.pairwise(inner):
        first >> second
    graph = build_graph(Flow(start=inner[0], name="outer"))
    drawn = what_to_draw(graph)
    assert isinstance(drawn, Overview)
    # the three middle flows stay clusters; their twelve groups of thirty become boxes
    assert set(drawn.collapsed.values()) == {30}
    assert len(drawn.collapsed) == 12
    assert all(drawn[node.id].is_flow for node in graph.children("outer"))


def test_an_overlay_is_laid_over_the_overview() -> None:
    graph = build_graph(dense_flow(2000))
    drawn = what_to_draw(graph)
    assert isinstance(drawn, Overview) and drawn.more is not None
    first, second = graph.nodes[1].id, graph.nodes[2].id
    hidden = graph.nodes[-1].id
    overlay = Overlay(
        visits={first: 3, hidden: 2},
        edges={(first, "default", second): 2, (hidden, "retry", first): 1},
        current=hidden,
        failed=None,
    )
    shown = drawn.overlay(overlay)
    assert shown.current == drawn.more
    assert shown.visits == {first: 3, drawn.more: 2}
    assert shown.edges == {(first, "default", second): 2}  # edges from the hidden part: not drawn
    mermaid = to_mermaid(drawn, shown)
    check_mermaid(mermaid)
    assert f"class {drawn.more} s_current" in mermaid


def test_a_sub_flow_collapsed_takes_the_state_of_what_it_holds() -> None:
    graph = build_graph(nested_flow(groups=30, size=20))
    drawn = what_to_draw(graph)
    assert isinstance(drawn, Overview)
    inside = graph.children("group_4")[3].id
    shown = drawn.overlay(Overlay(visits={"group_4": 1, inside: 5}, current=inside))
    assert shown.current == "group_4"
    assert shown.visits == {"group_4": 5}


# -- what reaches dot and Mermaid ---------------------------------------------------------------


@pytest.mark.parametrize("nodes", [200, 2000])
def test_the_picture_of_a_large_flow_never_lays_out_the_whole_graph(
    nodes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    laid_out: list[str] = []

    def fake_dot(dot: str, dot_text: str) -> str:
        laid_out.append(dot_text)
        return "<svg></svg>"

    monkeypatch.setattr(pocketflow.dot, "_run_dot", fake_dot)
    monkeypatch.setattr(pocketflow.dot.shutil, "which", lambda name: "/fake/dot")
    flow = dense_flow(nodes, seed=nodes)
    graph = build_graph(flow)
    bundle = mimebundle(flow)
    assert laid_out == [to_dot(what_to_draw(graph))]
    assert node_statements(laid_out[0]) <= OUTLINE_NODES + 2  # with the start marker
    assert bundle["text/plain"] == to_text(graph)  # the text form keeps every node


@pytest.mark.parametrize("nodes", [200, 2000])
def test_the_mermaid_of_a_large_flow_stays_small(
    nodes: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz
    graph = build_graph(dense_flow(nodes))
    bundle = mimebundle(graph, Overlay(visits={graph.nodes[1].id: 1}))
    text = bundle["text/vnd.mermaid"]
    assert len(text) < MERMAID_MAX_TEXT // 5
    check_mermaid(text)


def test_mermaid_of_overviews_parses(tmp_path: Path) -> None:
    texts = [
        to_mermaid(what_to_draw(build_graph(dense_flow(2000)))),
        to_mermaid(what_to_draw(build_graph(nested_flow(groups=30, size=20)))),
    ]
    errors = [error for error, _ in parse_mermaid(texts, tmp_path)]
    assert errors == [None, None]


def test_the_overview_is_laid_out_by_dot(dot_path: str) -> None:
    for flow in (dense_flow(2000), nested_flow(groups=30, size=20)):
        svg = render_svg(to_dot(what_to_draw(flow)))
        assert svg is not None and "Overview" in svg


# -- dot on a budget ---------------------------------------------------------------------------


def fake_dot(folder: Path, script: str) -> Path:
    """A ``dot`` in ``folder`` running ``script`` (sh), first on PATH."""
    path = folder / "dot"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_failed_layout_is_not_remembered(
    dot_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fails the first time it runs, then is the real dot
    marker = tmp_path / "ran-once"
    fake_dot(tmp_path, f'[ -e "{marker}" ] || {{ : >"{marker}"; exit 1; }}\nexec {dot_path} "$@"')
    monkeypatch.setenv("PATH", str(tmp_path))
    text = to_dot(build_graph(Flow(start=Node(name="flaky dot"), name="not cached")))
    assert render_svg(text) is None
    assert marker.exists()
    svg = render_svg(text)
    assert svg is not None and "flaky dot" in svg
    assert render_svg(text) == svg


def test_a_layout_that_runs_out_of_time_is_stopped_and_not_remembered(
    dot_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pocketflow.dot, "DOT_TIMEOUT", 0.5)
    # a wrapper whose child would hold the pipes open for ten minutes
    fake_dot(tmp_path, f"{shutil.which('sleep')} 600")
    monkeypatch.setenv("PATH", str(tmp_path))
    text = to_dot(build_graph(Flow(start=Node(name="slow dot"), name="not cached either")))
    started = time.monotonic()
    assert render_svg(text) is None
    assert time.monotonic() - started < 60  # stopped, not waited for (the child sleeps 600 s)
    fake_dot(tmp_path, f'exec {dot_path} "$@"')
    svg = render_svg(text)
    assert svg is not None and "slow dot" in svg


def test_a_successful_layout_is_remembered(dot_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pocketflow.dot._run_dot

    def counting(dot: str, dot_text: str) -> Any:
        calls.append(dot_text)
        return real(dot, dot_text)

    monkeypatch.setattr(pocketflow.dot, "_run_dot", counting)
    flow = Flow(start=Node(name="remembered"), name="cache test")
    first = mimebundle(flow)
    assert mimebundle(flow) == first
    assert len(calls) == 1


def test_without_dot_nothing_is_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("dot") is None
    assert render_svg("digraph { a }") is None
