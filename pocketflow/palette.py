"""One visual language for every drawing: a look per node kind, per run state, for lines.

A node's state in a run (:func:`~pocketflow.graph.node_state`) is never told by colour alone:
each state has its own outline (width and dash) and the current and failed nodes carry a mark
before their name. Every text is drawn on a fill chosen here, never on whatever background a
notebook theme has, and reads at a contrast of at least 4.5:1 (WCAG AA) in light and dark
themes alike; a test computes the ratios. The DOT and Mermaid renderers draw with these looks,
and a view in the browser can take :data:`STATES` as plain data, ``style._asdict()``.

>>> STATES["current"].icon, STATES["unvisited"].dash, STATES["failed"].word
('▶', 'dotted', 'failed')
>>> STATES["unvisited"]._asdict()["fill"], STATES["unvisited"].dasharray
('#f1f5f9', '2 3')
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

__all__ = [
    "BACKGROUND",
    "DASHARRAYS",
    "EDGE",
    "EMPTY",
    "INK",
    "KIND_LOOKS",
    "MARKER",
    "MORE",
    "NOTE",
    "STATES",
    "TAKEN",
    "UNTAKEN",
    "Dash",
    "Look",
    "StateStyle",
]

#: How an outline is drawn: "double" is two outlines, one inside the other.
Dash = Literal["solid", "dotted", "dashed", "double"]

#: Each dash as an SVG/CSS ``stroke-dasharray`` ("none": a solid line).
DASHARRAYS: Final[dict[Dash, str]] = {
    "solid": "none",
    "dotted": "2 3",
    "dashed": "6 4",
    "double": "none",
}

#: The text colour on the light fills of nodes and clusters.
INK: Final = "#1f2328"
#: Behind a whole Graphviz drawing, so that edge labels read in a dark notebook theme too.
BACKGROUND: Final = "#ffffff"


class Look(NamedTuple):
    """How a node, cluster or line is drawn: fill, outline, text, outline width and dash."""

    fill: str
    stroke: str
    text: str = INK
    width: float = 1.0
    dash: Dash = "solid"


class StateStyle(NamedTuple):
    """How a node in one run state is drawn, and how a reader is told which state it is."""

    #: The state in words, for legends, text forms and screen readers.
    word: str
    #: The mark drawn before the node's name ("" for none).
    icon: str
    #: What the state means, in a legend.
    meaning: str
    fill: str
    stroke: str
    text: str
    width: float
    dash: Dash

    @property
    def look(self) -> Look:
        """The state as a :class:`Look`."""
        return Look(self.fill, self.stroke, self.text, self.width, self.dash)

    @property
    def dasharray(self) -> str:
        """The dash as an SVG/CSS ``stroke-dasharray``."""
        return DASHARRAYS[self.dash]


#: Each run state (see :func:`~pocketflow.graph.node_state`) -> its style, in legend order.
STATES: Final[dict[str, StateStyle]] = {
    "current": StateStyle(
        "current", "▶", "running now, or where the run is paused",
        "#fef08a", "#a16207", INK, 3.0, "solid",
    ),
    "visited": StateStyle(
        "visited", "", "ran at least once",
        "#dbeafe", "#1d4ed8", INK, 2.0, "solid",
    ),
    "failed": StateStyle(
        "failed", "✗", "an exception escaped it",
        "#fee2e2", "#b91c1c", "#7f1d1d", 3.0, "double",
    ),
    "unvisited": StateStyle(
        "not run", "", "did not run (yet)",
        "#f1f5f9", "#94a3b8", "#475569", 1.0, "dotted",
    ),
}  # fmt: skip

#: Each kind's look when no run is laid over the graph (flows: their cluster, in any state).
KIND_LOOKS: Final[dict[str, Look]] = {
    "node": Look("#dbeafe", "#3b82f6"),
    "batch": Look("#dcfce7", "#16a34a"),
    "async": Look("#fef3c7", "#d97706"),
    "async_batch": Look("#ffedd5", "#ea580c"),
    "parallel": Look("#f3e8ff", "#9333ea"),
    "flow": Look("#f8fafc", "#64748b"),
    "batch_flow": Look("#f0fdf4", "#16a34a"),
    "async_flow": Look("#fffbeb", "#d97706"),
    "async_batch_flow": Look("#fff7ed", "#ea580c"),
    "parallel_flow": Look("#faf5ff", "#9333ea"),
}

#: A line when no run is laid over the graph (its label on :data:`BACKGROUND`).
EDGE: Final = Look("none", "#64748b", "#334155")
#: A line the run took: drawn heavier, and its label says how often.
TAKEN: Final = Look("none", "#2563eb", "#1d4ed8", 2.0)
#: A line the run did not take.
UNTAKEN: Final = Look("none", "#cbd5e1", "#64748b")
#: The small circles where a flow starts and ends: a mid grey, seen on light and dark.
MARKER: Final = Look("#64748b", "#64748b", "#64748b")
#: The node of an overview standing for the nodes left out.
MORE: Final = Look("#f8fafc", "#94a3b8", "#475569", 1.0, "dashed")
#: The note saying a drawing is an overview.
NOTE: Final = Look("#f8fafc", "#94a3b8", "#334155")
#: The stand-in for the nodes of a flow that has no start node.
EMPTY: Final = Look("#f8fafc", "#cbd5e1", "#475569", 1.0, "dotted")
