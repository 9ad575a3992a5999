"""Notebook toolkit for PocketFlow: inline graphs, live runs, a stepper, trace replay, timelines.

Imported as ``pocketflow_widgets``:

- :func:`show` draws a flow's graph, with a recorded run laid over it.
- :func:`run_live` / :func:`arun_live` run a flow while its graph lights up in the cell.
- :class:`Stepper` walks a run one phase at a time, without blocking the kernel.
- :class:`Replay` browses a recorded :class:`pocketflow.trace.Trace` step by step; given the
  flow, it continues the run from any step in a Stepper (a fork, after editing ``shared``).
- :func:`start` runs a flow in the background, its view in the cell; a node in it can
  ``await ask(...)`` a person, whose answer :func:`answers` can also give in advance.
- :class:`Timeline` draws a run in time; :class:`LiveTimeline` grows one as a flow runs, and
  :func:`timeline_replay` links one to a replay.
- :func:`run` runs any flow, async ones included, from synchronous code.
- :func:`to_graphviz` gives a flow's graph as a ``graphviz.Source``, to render to a file.
"""

from .asking import answers, ask
from .background import BackgroundRun, start
from .graphviz_object import to_graphviz
from .live import LiveRun, arun_live, run_live
from .replay import Replay
from .running import run, run_coroutine
from .show import GraphPicture, show
from .stepper import Stepper
from .timeline import LiveTimeline, Timeline, TimelineReplay, timeline_replay
from .view import GraphView

__all__ = [
    "BackgroundRun",
    "GraphPicture",
    "GraphView",
    "LiveRun",
    "LiveTimeline",
    "Replay",
    "Stepper",
    "Timeline",
    "TimelineReplay",
    "answers",
    "arun_live",
    "ask",
    "run",
    "run_coroutine",
    "run_live",
    "show",
    "start",
    "timeline_replay",
    "to_graphviz",
]
