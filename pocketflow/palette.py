"""The colours of every drawing: one look per node kind, per run state, for edges and markers."""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = ["CURRENT", "DIM", "EDGE", "FAILED", "KIND_LOOKS", "MARKER", "MORE", "Look"]


class Look(NamedTuple):
    """Colours of a node or cluster: fill, outline, text, outline width."""

    fill: str
    stroke: str
    text: str = "#1f2328"
    width: float = 1.0


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
DIM: Final = Look("#f1f5f9", "#cbd5e1", "#94a3b8")
FAILED: Final = Look("#fee2e2", "#dc2626", "#7f1d1d", 3.0)
CURRENT: Final = "#2563eb"
EDGE: Final = Look("none", "#64748b", "#334155")
MARKER: Final = Look("#334155", "#334155", "#334155")
#: The node of an outline standing for the nodes left out.
MORE: Final = Look("#f8fafc", "#94a3b8", "#475569")
