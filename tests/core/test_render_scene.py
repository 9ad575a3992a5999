"""The scene every renderer writes out: typed outline items, in drawing order."""

from __future__ import annotations

from pocketflow import Flow, Node
from pocketflow.graph import build_graph
from pocketflow.scene import CloseCluster, DrawNode, Link, Marker, OpenCluster, build_scene


def nested() -> Flow:
    """outer: inner (a >> b) >> c."""
    a, b, c = Node(name="a"), Node(name="b"), Node(name="c")
    a >> b
    inner = Flow(start=a, name="inner")
    inner >> c
    return Flow(start=inner, name="outer")


def shape(item: object) -> tuple[object, ...]:
    """An outline item as plain data: its type's name, depth and what it is about."""
    match item:
        case OpenCluster(depth=depth, node=node) | CloseCluster(depth=depth, node=node):
            return (type(item).__name__, depth, node.id)
        case DrawNode(depth=depth, node=node):
            return ("DrawNode", depth, node.id)
        case Marker(depth=depth, id=marker, role=role):
            return ("Marker", depth, marker, role)
        case Link(depth=depth, index=index, line=line):
            return ("Link", depth, index, line.source, line.target, line.role)
    raise AssertionError(item)


def test_the_outline_with_lines_at_the_end() -> None:
    scene = build_scene(build_graph(nested()), None)
    assert [shape(item) for item in scene.outline(links_inside=False)] == [
        ("OpenCluster", 0, "outer"),
        ("Marker", 1, "outer__start", "start"),
        ("OpenCluster", 1, "inner"),
        ("Marker", 2, "inner__start", "start"),
        ("DrawNode", 2, "a"),
        ("DrawNode", 2, "b"),
        ("Marker", 2, "b__end", "end"),
        ("CloseCluster", 1, "inner"),
        ("DrawNode", 1, "c"),
        ("Marker", 1, "c__end", "end"),
        ("CloseCluster", 0, "outer"),
        ("Link", 0, 0, "outer__start", "inner", "start"),
        ("Link", 0, 1, "inner__start", "a", "start"),
        ("Link", 0, 2, "a", "b", "edge"),
        ("Link", 0, 3, "inner", "c", "edge"),
        ("Link", 0, 4, "b", "b__end", "exit"),
        ("Link", 0, 5, "c", "c__end", "exit"),
    ]


def test_the_outline_with_lines_inside_their_clusters() -> None:
    scene = build_scene(build_graph(nested()), None)
    links = [
        shape(item)[:3] + shape(item)[3:5]
        for item in scene.outline(links_inside=True)
        if isinstance(item, Link)
    ]
    assert links == [
        ("Link", 2, 1, "inner__start", "a"),
        ("Link", 2, 2, "a", "b"),
        ("Link", 2, 4, "b", "b__end"),
        ("Link", 1, 0, "outer__start", "inner"),
        ("Link", 1, 3, "inner", "c"),
        ("Link", 1, 5, "c", "c__end"),
    ]
    items = [item for item in scene.outline(links_inside=True) if isinstance(item, Link)]
    assert all(item.line is scene.lines[item.index] for item in items)
