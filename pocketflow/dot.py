"""The graph as Graphviz DOT, and ``dot`` run on a time budget to turn it into SVG.

:func:`to_dot` writes a flow's graph (flows as clusters, edges labelled with their actions, a run
laid over it) as DOT text, with no dependencies. :func:`render_svg` lays it out with Graphviz's
``dot`` when it is on PATH, in at most :data:`DOT_TIMEOUT` seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from collections import OrderedDict
from typing import Final

from .graph import Graph, GraphNode, Overlay, safe_dom_id
from .nodes import BaseNode
from .palette import BACKGROUND, EDGE, EMPTY, INK, MARKER, NOTE, Look
from .scene import (
    CloseCluster,
    DrawNode,
    Line,
    Link,
    Marker,
    OpenCluster,
    Scene,
    build_scene,
    clean,
    line_count,
    line_label,
    line_look,
)

__all__ = ["DOT_TIMEOUT", "ROOM_FOR_COUNT", "ROOM_FOR_ICON", "render_svg", "to_dot"]

_DOT_SHAPES: Final[dict[str, tuple[str, str]]] = {  # kind -> (shape, style)
    "node": ("box", "rounded,filled"),
    "batch": ("box3d", "filled"),
    "async": ("box", "rounded,filled,dashed"),
    "async_batch": ("box3d", "filled,dashed"),
    "parallel": ("component", "filled,dashed"),
    "collapsed": ("folder", "filled"),
    "more": ("note", "filled,dashed"),
}
#: Flows that run their graph once per run; the others (batch flows) get a dashed outline.
_ONCE_FLOWS: Final = frozenset({"flow", "async_flow"})
_DOT_MARKERS: Final[dict[str, str]] = {
    "start": 'label="", shape=circle, width=0.16, height=0.16',
    "end": 'label="", shape=doublecircle, width=0.12, height=0.12',
}
_DOT_HEADER: Final = (
    f'  graph [compound=true, bgcolor="{BACKGROUND}", fontname="Helvetica", fontsize=12, '
    'labeljust="l", nodesep=0.35, ranksep=0.45];\n'
    f'  node [fontname="Helvetica", fontsize=11, fontcolor="{INK}", height=0.35, '
    'margin="0.15,0.06"];\n'
    f'  edge [fontname="Helvetica", fontsize=10, color="{EDGE.stroke}", '
    f'fontcolor="{EDGE.text}", arrowsize=0.7];'
)
#: With ``room_for_run``, the text laid out under a line's action where a count will go: as
#: wide as ``×9999`` (figure spaces are as wide as a digit, and draw nothing).
ROOM_FOR_COUNT: Final = "\u2007" * 5
#: With ``room_for_run``, the text laid out before a node's name where a state's mark will go.
ROOM_FOR_ICON: Final = "\u2007 "


def _dot_str(text: str) -> str:
    """``text`` as a DOT quoted string (also safe for DOT keywords such as ``node``)."""
    escaped = clean(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot_look(look: Look, style: str, sep: str = ", ") -> str:
    """The style and colour attributes of ``look``, over the kind's ``style``: ``sep`` is
    ``", "`` in a node's list, ``"; "`` in a cluster. A dotted or dashed look replaces the
    kind's dash; a double one draws two outlines (which only nodes can).
    """
    styles = style.split(",")
    if look.dash in ("dotted", "dashed"):
        styles = [part for part in styles if part not in ("dotted", "dashed")] + [look.dash]
    attrs = [
        f'style="{",".join(styles)}"',
        f'fillcolor="{look.fill}"',
        f'color="{look.stroke}"',
        f'fontcolor="{look.text}"',
        f"penwidth={look.width:g}",
    ]
    if look.dash == "double" and sep == ", ":
        attrs.append("peripheries=2")
    return sep.join(attrs)


def to_dot(
    flow_or_graph: BaseNode | Graph,
    overlay: Overlay | None = None,
    *,
    room_for_run: bool = False,
) -> str:
    """The graph as Graphviz DOT: flows as clusters, edges labelled with their actions.

    With ``overlay``, each node is drawn in the look of its state (see
    :data:`~pocketflow.palette.STATES`: fill, outline and a mark before the name) and each line
    the run took shows its count on a line of its own under the action, laid out with it.

    ``room_for_run`` is for a view that lays the graph out once and draws runs over it: every
    line label gets a last line of :data:`ROOM_FOR_COUNT` and every node name starts with
    :data:`ROOM_FOR_ICON`, so that writing a count or a mark in their place later (the last
    ``<text>`` of an edge's group, the node's ``<text>``) moves nothing and overlaps nothing.
    """
    scene = build_scene(flow_or_graph, overlay)
    graph = scene.graph
    lines = [f"digraph {_dot_str(graph.root.label)} {{", _DOT_HEADER]
    if scene.overview is not None:
        note = f'label={_dot_str(scene.overview.note)}; labelloc="t"; fontcolor="{NOTE.text}";'
        lines.append(f"  {note}")
    for item in scene.outline(links_inside=False):
        indent = "  " * (item.depth + 1)
        match item:
            case OpenCluster(node=node):
                style = "rounded,filled" if node.kind in _ONCE_FLOWS else "rounded,filled,dashed"
                label = _marked(scene, node, scene.cluster_label(node), room_for_run)
                lines.append(f"{indent}subgraph {_dot_str('cluster_' + node.id)} {{")
                lines.append(f"{indent}  id={_dot_str(node.dom_id)};")
                lines.append(f"{indent}  label={_dot_str(label)};")
                lines.append(f"{indent}  {_dot_look(scene.look(node), style, '; ')};")
            case CloseCluster():
                lines.append(f"{indent}}}")
            case DrawNode(node=node):
                shape, style = _DOT_SHAPES[scene.kind(node)]
                label = _marked(scene, node, scene.labels[node.id], room_for_run)
                attrs = f"id={_dot_str(node.dom_id)}, shape={shape}, "
                attrs += _dot_look(scene.look(node), style)
                lines.append(f"{indent}{_dot_str(node.id)} [label={_dot_str(label)}, {attrs}];")
            case Marker(id=marker, role="empty"):
                attrs = f"id={_dot_str(safe_dom_id('marker__' + marker))}, "
                attrs += f'label="(no start node)", shape=plaintext, fontcolor="{EMPTY.text}"'
                lines.append(f"{indent}{_dot_str(marker)} [{attrs}];")
            case Marker(id=marker, role=role):
                attrs = f"id={_dot_str(safe_dom_id('marker__' + marker))}, {_DOT_MARKERS[role]}, "
                attrs += "fixedsize=true, "
                attrs += _dot_look(MARKER, "filled")
                lines.append(f"{indent}{_dot_str(marker)} [{attrs}];")
            case Link(line=line):
                lines.append(f"{indent}{_dot_edge(scene, line, room_for_run)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _marked(scene: Scene, node: GraphNode, label: str, room_for_run: bool) -> str:
    """``label`` after the mark of ``node``'s state, or after room for one."""
    if room_for_run and not scene.icon(node):
        return ROOM_FOR_ICON + label
    return scene.marked(node, label)


def _dot_edge(scene: Scene, link: Line, room_for_run: bool) -> str:
    attrs = [f"id={_dot_str(link.dom_id)}"]
    label = line_label(link)
    if room_for_run and not line_count(link):
        label = f"{label}\n{ROOM_FOR_COUNT}" if label else ROOM_FOR_COUNT
    if label:
        attrs.append(f"label={_dot_str(label)}")
    tail, head = link.source, link.target
    if _is_cluster(scene, tail):
        tail = _anchor(scene, tail, leaving=True)
        if not _inside(scene, link.target, link.source):
            attrs.append(f"ltail={_dot_str('cluster_' + link.source)}")
    if _is_cluster(scene, head):
        head = _anchor(scene, head, leaving=False)
        if not _inside(scene, link.source, link.target):
            attrs.append(f"lhead={_dot_str('cluster_' + link.target)}")
    if link.role == "exit":
        attrs.append("style=dashed")
    look = line_look(link)
    if look != EDGE:
        attrs.append(f'color="{look.stroke}", fontcolor="{look.text}", penwidth={look.width:g}')
    return f"{_dot_str(tail)} -> {_dot_str(head)} [{', '.join(attrs)}];"


def _is_cluster(scene: Scene, node_id: str) -> bool:
    return node_id in scene.graph and scene.graph[node_id].is_flow


def _anchor(scene: Scene, flow_id: str, *, leaving: bool) -> str:
    """A node inside the cluster ``flow_id`` for an edge to end at (its start node, at any
    depth) or, for an edge ``leaving`` it, to start from (where the flow ends, if it can).
    """
    markers = scene.markers.get(flow_id, [])
    if leaving:
        ends = [marker for marker, role in markers if role == "end"]
        if ends:
            return ends[-1]
    graph = scene.graph
    node = graph[flow_id]
    seen = set()
    while node.is_flow and node.start is not None and node.id not in seen:
        seen.add(node.id)
        node = graph[node.start]
    if not node.is_flow and _inside(scene, node.id, flow_id):
        return node.id
    return markers[0][0]  # the start marker, or the placeholder of a flow with no start


def _inside(scene: Scene, node_id: str, cluster: str) -> bool:
    """Whether ``node_id`` (a node or a marker) is drawn inside the cluster ``cluster``."""
    graph = scene.graph
    current = node_id if node_id in graph else scene.marker_parents[node_id]
    while current is not None:
        if current == cluster:
            return True
        current = graph[current].parent
    return False


#: safety net (what :func:`what_to_draw` keeps lays out in well under a second).
DOT_TIMEOUT: Final = 5.0


def render_svg(dot_text: str) -> str | None:
    """SVG for the DOT text ``dot_text`` from Graphviz's ``dot``; ``None`` when ``dot`` is not
    on PATH, fails or takes more than :data:`DOT_TIMEOUT` seconds.

    A rendering is remembered, so re-displaying the same graph runs no process; a failure is
    not, so the next display tries again.
    """
    dot = shutil.which("dot")
    if dot is None:
        return None
    key = (dot_text, dot)
    with _SVG_LOCK:
        svg = _SVGS.get(key)
        if svg is not None:
            _SVGS.move_to_end(key)
            return svg
    svg = _run_dot(dot, dot_text)
    if svg is not None:
        with _SVG_LOCK:
            _SVGS[key] = svg
            while len(_SVGS) > _SVGS_KEPT:
                _SVGS.popitem(last=False)
    return svg


#: Renderings by (DOT text, ``dot`` binary), least recently used first.
_SVGS: Final[OrderedDict[tuple[str, str], str]] = OrderedDict()
_SVGS_KEPT: Final = 128
_SVG_LOCK: Final = threading.Lock()
_VERSION_COMMENT: Final = re.compile(r"<!-- Generated by graphviz.*?-->\n?", re.DOTALL)


def _run_dot(dot: str, dot_text: str) -> str | None:
    """SVG for ``dot_text`` from the ``dot`` binary, without its version comment; ``None`` when
    it fails or runs out of time.

    The ``graphviz`` package's ``pipe`` has no timeout, hence a process of our own. It runs in a
    session of its own, so that on timeout a wrapper script is killed with its children (which
    would otherwise hold the pipes open).
    """
    try:
        process = subprocess.Popen(
            [dot, "-Tsvg"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError:
        return None
    with process:
        try:
            output, _ = process.communicate(
                dot_text.encode("utf-8", "replace"), timeout=DOT_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            _kill(process)
            return None
    if process.returncode != 0:
        return None
    return _VERSION_COMMENT.sub("", output.decode("utf-8", "replace"), count=1)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and its session (just the process where sessions do not exist)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (AttributeError, OSError):  # no killpg (Windows), or the group is gone
        process.kill()
    process.communicate()
