"""The graph as a Mermaid ``flowchart``, which JupyterLab 4.1+ draws offline."""

from __future__ import annotations

import re
from typing import Final

from .graph import _RESERVED_IDS, FLOW_KINDS, Graph, Overlay, _digest, _slug
from .nodes import BaseNode
from .palette import DASHARRAYS, EDGE, EMPTY, KIND_LOOKS, MARKER, MORE, NOTE, STATES, Look
from .scene import (
    CloseCluster,
    DrawNode,
    Link,
    Marker,
    OpenCluster,
    build_scene,
    clean,
    line_label,
    line_look,
)

__all__ = ["to_mermaid"]

_MERMAID_SHAPES: Final[dict[str, tuple[str, str]]] = {
    "node": ("[", "]"),
    "batch": ("[[", "]]"),
    "async": ("([", "])"),
    "async_batch": ("{{", "}}"),
    "parallel": ("[/", "/]"),
    "start": ("((", "))"),
    "end": ("(((", ")))"),
    "empty": ("[", "]"),
    "collapsed": ("[(", ")]"),
    "more": (">", "]"),
}
_MERMAID_ESCAPES: Final = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
    # Mermaid reads ``%%{...}%%`` as a directive wherever it is, even inside a quoted label.
    "%": "#37;",
    "\n": "<br>",
}
_MERMAID_ID: Final = re.compile(r"[a-z][a-z0-9_]*")


def _mermaid_str(text: str) -> str:
    """``text`` as a quoted Mermaid label."""
    return '"' + "".join(_MERMAID_ESCAPES.get(c, c) for c in clean(text)) + '"'


def _mermaid_id(ident: str) -> str:
    """``ident`` as a Mermaid node id: itself when it is a plain identifier that is no keyword
    (as :func:`build_graph` makes them), else a slug of it with a hash of the whole, so that an
    id from a file can never add statements.
    """
    if _MERMAID_ID.fullmatch(ident) and ident not in _RESERVED_IDS:
        return ident
    return f"{_slug(ident) or 'n'}_{_digest(ident)}"


def _mermaid_style(look: Look) -> str:
    """``look`` as Mermaid style properties (two outlines are drawn as one: CSS has no double
    outline for SVG shapes; the mark before the name still tells the state).
    """
    style = f"fill:{look.fill},stroke:{look.stroke},color:{look.text},"
    style += f"stroke-width:{look.width:g}px"
    if DASHARRAYS[look.dash] != "none":
        style += f",stroke-dasharray:{DASHARRAYS[look.dash]}"
    return style


def to_mermaid(flow_or_graph: BaseNode | Graph, overlay: Overlay | None = None) -> str:
    """The graph as a Mermaid ``flowchart``: flows as subgraphs, edges labelled with actions.

    Node shapes and ``classDef`` styles follow the kind; with ``overlay``, classes mark nodes as
    visited, unvisited, current or failed (in the looks of :data:`~pocketflow.palette.STATES`,
    marks included) and taken edges show their counts. Edge labels keep the colours of the
    notebook's Mermaid theme, which draws them on a background of its own.
    """
    scene = build_scene(flow_or_graph, overlay)
    lines = ["flowchart TD"]
    classes: dict[str, list[str]] = {}  # class name -> its members, in order
    if scene.overview is not None:  # a node of its own: flowcharts have no title
        lines.append(f"  {_MERMAID_NOTE}[{_mermaid_str(scene.overview.note)}]")
        classes["note"] = [_MERMAID_NOTE]
    styles: list[str] = []
    link_styles: dict[Look, list[int]] = {}  # look -> the indexes of its lines
    for item in scene.outline(links_inside=False):
        indent = "  " * (item.depth + 1)
        match item:
            case OpenCluster(node=node):
                name, label = (
                    _mermaid_id(node.id),
                    _mermaid_str(scene.marked(node, scene.cluster_label(node))),
                )
                lines.append(f"{indent}subgraph {name}[{label}]")
                styles.append(f"  style {name} {_mermaid_style(scene.look(node))}")
            case CloseCluster():
                lines.append(f"{indent}end")
            case DrawNode(node=node):
                name, kind = _mermaid_id(node.id), scene.kind(node)
                opening, closing = _MERMAID_SHAPES[kind]
                label = _mermaid_str(scene.marked(node, scene.labels[node.id]))
                lines.append(f"{indent}{name}{opening}{label}{closing}")
                classes.setdefault(f"k_{kind}", []).append(name)
                if scene.states[node.id] != "plain":
                    classes.setdefault(f"s_{scene.states[node.id]}", []).append(name)
            case Marker(id=marker, role=role):
                name = _mermaid_id(marker)
                opening, closing = _MERMAID_SHAPES[role]
                label = "(no start node)" if role == "empty" else " "
                lines.append(f"{indent}{name}{opening}{_mermaid_str(label)}{closing}")
                classes.setdefault("empty" if role == "empty" else "marker", []).append(name)
            case Link(index=index, line=line):
                arrow = "-.->" if line.role == "exit" else "-->"
                label = line_label(line)
                text = f"|{_mermaid_str(label)}|" if label else ""
                source, target = _mermaid_id(line.source), _mermaid_id(line.target)
                lines.append(f"{indent}{source} {arrow}{text} {target}")
                look = line_look(line)
                if look != EDGE:
                    link_styles.setdefault(look, []).append(index)
    # kinds first, then states: a later classDef wins where both set a property
    for name in sorted(classes, key=lambda name: (name[:2] == "s_", name)):
        lines.append(f"  classDef {name} {_MERMAID_CLASSES[name]}")
        lines.append(f"  class {','.join(classes[name])} {name}")
    lines.extend(styles)
    for look, indices in link_styles.items():
        colours = f"stroke:{look.stroke},stroke-width:{look.width:g}px"
        lines.append(f"  linkStyle {','.join(map(str, indices))} {colours}")
    return "\n".join(lines) + "\n"


_MERMAID_CLASSES: Final[dict[str, str]] = {
    **{
        f"k_{kind}": _mermaid_style(look)
        for kind, look in KIND_LOOKS.items()
        if kind not in FLOW_KINDS
    },
    **{f"s_{state}": _mermaid_style(style.look) for state, style in STATES.items()},
    "k_collapsed": _mermaid_style(KIND_LOOKS["flow"]),
    "k_more": _mermaid_style(MORE),
    "marker": _mermaid_style(MARKER),
    "empty": _mermaid_style(EMPTY),
    "note": _mermaid_style(NOTE),
}
#: The id of an overview's note (node ids never hold ``__``; marker ids end with a role).
_MERMAID_NOTE: Final = "pf__note"
