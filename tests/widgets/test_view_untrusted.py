"""The graph view and Replay put no hostile string into HTML or CSS as markup.

The graph and the trace come from a file or are built by hand, with ids, names, kinds, actions
and values that try to close the view's ``<style>`` block, open an element, or add CSS rules.
The widgets' HTML is parsed as a browser would: only the view's own elements may appear, and
every CSS rule must target one of the view's ids.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pocketflow.graph import to_mermaid
from pocketflow.trace import Trace, TraceStep
from pocketflow_widgets import Replay
from pocketflow_widgets.view import GraphView


def _untrusted() -> ModuleType:
    """The hostile graphs of ``tests/core/test_graph_untrusted.py`` (folders are no packages)."""
    name = "pocketflow_test_graph_untrusted"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "core" / "test_graph_untrusted.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


untrusted = _untrusted()
HOSTILE: list[str] = untrusted.HOSTILE
elements = untrusted.elements
check_mermaid = untrusted.check_mermaid

# What one rule of the view's <style> may look like: the view's scope, one safe id, a fixed
# tail naming the shapes, and declarations with no braces or markup.
RULE = re.compile(
    r"#pf-view-\d+ #[A-Za-z0-9_-]+"
    r"(?: > polygon| :is\(polygon, ellipse, path\)| path)? \{ [^{}<>]* \}"
)


def check_view_html(markup: str) -> list[str]:
    """Assert that ``markup`` is the view: one scoped ``<div>``, one ``<style>`` of well-formed
    rules, then Graphviz's SVG and nothing else; return the rules.
    """
    found = elements(markup)
    tags = [tag for tag, _ in found.tags]
    assert tags[:3] == ["div", "style", "svg"], tags[:3]
    assert set(tags[3:]) <= untrusted.SVG_ELEMENTS, set(tags[3:]) - untrusted.SVG_ELEMENTS
    for tag, attrs in found.tags:
        assert not any(name.startswith("on") or "href" in name for name in attrs), (tag, attrs)
    style = markup[markup.index("<style>") + len("<style>") : markup.index("</style>")]
    rules = [line for line in style.splitlines() if line]
    for rule in rules:
        assert RULE.fullmatch(rule), rule
    return rules


def test_the_view_styles_hostile_ids_with_scoped_rules_only(dot_path: str) -> None:
    graph = untrusted.hostile_graph()
    view = GraphView(graph)
    assert view.uses_svg
    overlay = untrusted.hostile_overlay(graph)
    view.update(overlay)
    rules = check_view_html(view.widget.value)
    # a rule per node (its state) and per edge taken: none was dropped
    assert len(rules) == len(graph.nodes) + len(graph.edges)
    # each rule targets a group that the SVG holds
    ids = {attrs.get("id") for _, attrs in elements(view.widget.value).tags}
    for rule in rules:
        target = rule.split()[1][1:]
        assert target in ids, rule
    # edge labels keep their counts, as text
    texts = "".join(elements(view.widget.value).text)
    assert f"{HOSTILE[0]} ×3" in texts


def test_the_mermaid_fallback_of_the_view_is_safe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz
    graph = untrusted.hostile_graph()
    view = GraphView(graph)
    assert not view.uses_svg
    overlay = untrusted.hostile_overlay(graph)
    view.update(overlay)
    (output,) = view.widget.outputs
    text = output["data"]["text/vnd.mermaid"]
    assert text == to_mermaid(graph, overlay)
    check_mermaid(text)


def hostile_trace() -> Trace:
    """A trace built in memory over the hostile graph, with hostile kinds, names and values."""
    graph = untrusted.hostile_graph()
    ids = [node.id for node in graph.nodes]
    steps = []
    kinds = ["start", HOSTILE[1], "prep", HOSTILE[0], "transition", HOSTILE[2], "error"]
    for number, kind in enumerate(kinds, 1):
        node_id = ids[number % len(ids)]
        value: Any = HOSTILE[(number + 3) % len(HOSTILE)]
        steps.append(
            TraceStep(
                step=number,
                kind=kind,
                node_id=node_id,
                name=graph[node_id].name,
                path=(HOSTILE[0], HOSTILE[number % len(HOSTILE)]),
                value=value,
                params={HOSTILE[1]: HOSTILE[2]},
                target_id=ids[(number + 1) % len(ids)] if kind == "transition" else None,
                shared={HOSTILE[number % len(HOSTILE)]: HOSTILE[1], HOSTILE[0]: [HOSTILE[2]]},
            )
        )
    return Trace(steps, graph)


def test_replay_of_a_hostile_trace_shows_every_string_as_text(dot_path: str) -> None:
    trace = hostile_trace()
    replay = Replay(trace)
    for step in range(1, len(trace) + 1):
        replay.show(step)
        record = trace.steps[step - 1]
        event = elements(replay.event.value)
        assert {tag for tag, _ in event.tags} <= {"div", "b", "code"}
        event_text = "".join(event.text)
        assert record.kind in event_text and record.name in event_text
        shared = elements(replay.shared.value)
        assert {tag for tag, _ in shared.tags} <= {"table", "tbody", "tr", "td", "code"}
        assert HOSTILE[1] in "".join(shared.text)
        check_view_html(replay.view.widget.value)
    assert replay.slider.value == len(trace)


def test_an_id_cannot_close_the_style_block_or_add_rules(dot_path: str) -> None:
    """Ids without quotes: valid DOT even when written raw, so they reach the view's CSS."""
    from pocketflow import BaseNode
    from pocketflow.graph import Graph, GraphNode, Overlay

    breakout, rules_out = "</style><img src=x onerror=alert(1)>", "} * { display:none } #x {"
    root = GraphNode(breakout, "root", "root", "flow", BaseNode(), None, False, False, rules_out)
    node = GraphNode(rules_out, "node", "node", "node", BaseNode(), breakout, True, True)
    view = GraphView(Graph([root, node], []))
    view.update(Overlay(visits={breakout: 1, rules_out: 1}, current=rules_out))
    assert view.uses_svg
    assert len(check_view_html(view.widget.value)) == 2
