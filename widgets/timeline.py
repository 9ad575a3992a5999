"""A run's timeline in the notebook: a Gantt chart of every node run and batch item.

:class:`Timeline` draws what :func:`pocketflow.timeline.build_timeline` lays out: a lane per node
run or batch item (nested flows indented under the flow that ran them), a bar per phase or try,
coloured by the node's kind and its state as the graph colours it (:mod:`pocketflow.palette`),
waiting drawn hatched with a dashed outline, and a time axis in ms or s. Hovering a bar shows
its phase, value and duration; the chart takes the keyboard focus, arrow keys move from bar to
bar, and Enter (or a click) picks a bar or a moment, whose details show in a line under the
chart and reach Python as :attr:`Timeline.selected`, :attr:`Timeline.selected_time` and
:attr:`Timeline.selected_step`, and through :meth:`Timeline.observe_selection`.

:class:`LiveTimeline` runs a flow with its timeline growing in the cell; :func:`timeline_replay`
shows a :class:`~pocketflow_widgets.Replay` and a timeline of the same trace, linked both ways.

Drawn as our own SVG by an anywidget ES module, not by a plotting library: it renders offline
in JupyterLab and in Pyodide with no extra dependency, and a live run grows it by sending only
the new and changed marks.

The protocol between Python and the browser: the traits below are the whole state (a view
made at any time, and the notebook's saved widget state, draw from them). A redraw that
changes little sends a custom message ``{"type": "patch", "base": r, "revision": r + 1,
"lanes": splices, "marks": splices}`` instead of the lists, where each splice ``[at, remove,
items]`` replaces ``remove`` entries from index ``at`` (applied in the order given, see
:func:`apply_splices`); a view whose model is not at revision ``r`` asks for the full state
with ``{"type": "resync"}``. The browser sends ``{"type": "pick", "index": i}`` or ``{"type":
"pick", "time": t}`` when a bar or a moment is picked. Strings reach the page only as text
nodes (``textContent``), never as markup, and every class name comes from a fixed set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Final, NamedTuple

import anywidget
import ipywidgets as widgets
import traitlets
from IPython.display import display

from pocketflow import AsyncNode, BaseNode, Event, observe
from pocketflow.events import ERROR, EXEC, POST, PREP
from pocketflow.graph import Graph, build_graph
from pocketflow.palette import INK, MARKER, STATES, TAKEN
from pocketflow.timeline import Bar, Lane, build_timeline
from pocketflow.timeline import Timeline as Layout
from pocketflow.trace import Recorder, Trace

from .replay import Replay
from .running import run_coroutine
from .state import short_repr

__all__ = ["LiveTimeline", "Pick", "Timeline", "TimelineReplay", "apply_splices", "timeline_replay"]

#: What a bar can be and be in, and what a lane holds (see :mod:`pocketflow.timeline`). The page
#: turns them into class names, so nothing else is ever sent.
BAR_KINDS: Final = ("prep", "exec", "post", "try", "wait", "busy")
BAR_STATES: Final = ("done", "failed", "running", "waiting")
LANE_KINDS: Final = ("run", "item", "items")
_PHASES: Final = frozenset({PREP, EXEC, POST})

#: The longest lane label and bar detail sent to the page, in characters.
MAX_LABEL: Final = 120
MAX_DETAIL: Final = 300

#: How many ticks the axis aims for.
_TICKS: Final = 6


@dataclass(frozen=True)
class Pick:
    """A moment picked on the chart: a bar (its index in :attr:`Timeline.bars`), or a time."""

    #: The bar picked, or ``None`` for a moment picked on the axis or between bars.
    index: int | None
    bar: Bar | None
    #: Nanoseconds since the run's first event: a bar's end (its start while it runs).
    time: int
    #: The step a replay should show: the last one at or before :attr:`time` (``None``: the
    #: trace has no steps).
    step: int | None


class _Drawing(NamedTuple):
    """Everything the chart shows, as the traits hold it."""

    lanes: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    bars: list[Bar]
    hidden_lanes: int


#: Each bar state drawn as the graph draws a node in that run state (pocketflow.palette).
PALETTE_STATES: Final = {
    "done": "visited",
    "running": "current",
    "failed": "failed",
    "waiting": "unvisited",
}

_CSS_TEMPLATE: Final = """
.pf-timeline { font: 12px var(--jp-ui-font-family, sans-serif);
  color: var(--jp-ui-font-color1, __INK__); outline: none; max-width: 100%; }
.pf-timeline:focus-visible { outline: 2px solid __FOCUS__; outline-offset: 2px; }
.pf-timeline .pf-tl-scroll { max-height: 480px; overflow-y: auto; overflow-x: hidden; }
.pf-timeline .pf-tl-axis { position: sticky; top: 0; display: block; z-index: 1;
  background: var(--jp-layout-color0, #fff); cursor: crosshair; }
.pf-timeline .pf-tl-chart { display: block; }
.pf-timeline .pf-tl-label { dominant-baseline: central; fill: currentColor; }
.pf-timeline .pf-tl-lane-items { font-style: italic; }
.pf-timeline .pf-tl-ground { fill: transparent; cursor: crosshair; }
.pf-timeline .pf-tl-stripe { fill: currentColor; fill-opacity: 0.04; pointer-events: none; }
.pf-timeline .pf-tl-grid { stroke: currentColor; stroke-opacity: 0.12; pointer-events: none; }
.pf-timeline .pf-tl-axis-line, .pf-timeline .pf-tl-tick { stroke: currentColor; }
.pf-timeline .pf-tl-tick-label { fill: currentColor; text-anchor: middle; font-size: 11px; }
.pf-timeline .pf-tl-bar { cursor: pointer; }
__STATE_RULES__
.pf-timeline .pf-tl-prep, .pf-timeline .pf-tl-post { fill-opacity: 0.6; }
.pf-timeline .pf-tl-hatch-ground { fill: __WAIT_FILL__; }
.pf-timeline .pf-tl-hatch-line { stroke: __WAIT_STROKE__; stroke-width: 2px; }
.pf-timeline .pf-tl-phase { font-size: 10px; dominant-baseline: central; pointer-events: none; }
.pf-timeline .pf-tl-bar.pf-tl-cursor { stroke: __INK__; stroke-width: 2px;
  stroke-dasharray: 4 2; }
.pf-timeline .pf-tl-bar.pf-tl-selected { stroke: __INK__; stroke-width: 3px;
  stroke-dasharray: none; }
.pf-timeline .pf-tl-moment { stroke: __FOCUS__; stroke-width: 1.5px; pointer-events: none; }
.pf-timeline .pf-tl-marker { stroke: __MARKER__; stroke-dasharray: 4 3; pointer-events: none; }
.pf-timeline .pf-tl-more { font-style: italic; opacity: 0.75; }
.pf-timeline .pf-tl-summary { margin-bottom: 2px; opacity: 0.85; }
.pf-timeline .pf-tl-detail { margin-top: 4px; min-height: 1.4em; white-space: pre-wrap;
  overflow-wrap: anywhere; font-family: var(--jp-code-font-family, monospace); }
"""


def _css() -> str:
    """The chart's style: each bar state in the look of the same run state in the graph."""
    rules = []
    for state, name in PALETTE_STATES.items():
        style = STATES[name]
        rules.append(
            f".pf-timeline .pf-tl-bar.pf-tl-{state} {{ fill: {style.fill}; "
            f"stroke: {style.stroke}; stroke-width: {style.width}px; "
            f"stroke-dasharray: {style.dasharray}; }}\n"
            f".pf-timeline .pf-tl-phase.pf-tl-{state} {{ fill: {style.text}; }}"
        )
    waiting = STATES[PALETTE_STATES["waiting"]]
    replacements = {
        "__STATE_RULES__": "\n".join(rules),
        "__INK__": INK,
        "__FOCUS__": TAKEN.stroke,
        "__MARKER__": MARKER.stroke,
        "__WAIT_FILL__": waiting.fill,
        "__WAIT_STROKE__": waiting.stroke,
    }
    text = _CSS_TEMPLATE
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


_ESM_TEMPLATE: Final = r"""
const SVG_NS = "http://www.w3.org/2000/svg";
const BAR_KINDS = new Set(__BAR_KINDS__);
const BAR_STATES = new Set(__BAR_STATES__);
const LANE_KINDS = new Set(__LANE_KINDS__);
const ICONS = __ICONS__;
const PHASES = new Set(["prep", "exec", "post"]);
const LANE = 20, BAR = 14, AXIS = 26, INDENT = 12, GAP = 26, CHAR = 6.6;
const HINT = "Hover a bar for its details, or focus the chart: arrow keys move from bar " +
  "to bar, Enter picks one. A click on the axis picks a moment.";
let views = 0;

function node(name, attrs, parent) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

// Class names only ever come from these fixed sets: a hostile value falls back.
function token(value, allowed, fallback) {
  return allowed.has(value) ? value : fallback;
}

function clip(text, room) {
  const most = Math.max(1, Math.floor(room));
  return text.length <= most ? text : text.slice(0, Math.max(1, most - 1)) + "\u2026";
}

function applySplices(items, splices) {
  const next = items.slice();
  for (const [at, remove, inserted] of splices) next.splice(at, remove, ...inserted);
  return next;
}

function initialize({ model }) {
  // Once per model (not per view): apply the patches a live run sends.
  const onMessage = (message) => {
    if (!message || message.type !== "patch") return;
    if (model.get("revision") !== message.base) {
      model.send({ type: "resync" });
      return;
    }
    for (const name of ["lanes", "marks"]) {
      if (!Array.isArray(message[name])) continue;
      model.set(name, applySplices(model.get(name), message[name]));
    }
    model.set("revision", message.revision);
  };
  model.on("msg:custom", onMessage);
  return () => model.off("msg:custom", onMessage);
}

function render({ model, el }) {
  views += 1;
  const hatch = `pf-tl-hatch-${views}-${Math.random().toString(36).slice(2, 8)}`;
  const root = document.createElement("div");
  root.className = "pf-timeline";
  root.tabIndex = 0;
  root.setAttribute("role", "group");
  root.setAttribute("aria-roledescription", "timeline");
  const scroller = document.createElement("div");
  scroller.className = "pf-tl-scroll";
  const axis = node("svg", { class: "pf-tl-axis" });
  const chart = node("svg", { class: "pf-tl-chart" });
  const summary = document.createElement("div");
  summary.className = "pf-tl-summary";
  const more = document.createElement("div");
  more.className = "pf-tl-more";
  const line = document.createElement("div");
  line.className = "pf-tl-detail";
  line.setAttribute("role", "status");
  line.setAttribute("aria-live", "polite");
  scroller.append(axis, chart);
  root.append(summary, scroller, more, line);
  el.appendChild(root);

  let cursor = null;  // the bar the arrow keys are on
  let rects = [];
  let geometry = null;
  let drawnWidth = 0;
  let hovered = null;  // the bar under the pointer

  function measure() {
    const lanes = model.get("lanes");
    const width = Math.max(360, Math.floor(el.getBoundingClientRect().width) || 720);
    let longest = 40;
    for (const lane of lanes) {
      longest = Math.max(longest, lane.depth * INDENT + Math.min(lane.label.length, 36) * CHAR);
    }
    const left = Math.round(Math.min(width * 0.35, longest + 16));
    const end = Math.max(1, model.get("end"));
    const plot = Math.max(40, width - left - GAP);
    const x = (t) => left + (Math.min(Math.max(t, 0), end) / end) * plot;
    const at = (px) => Math.round(((px - left) / plot) * end);
    return { width, left, end, plot, x, at };
  }

  function draw() {
    const lanes = model.get("lanes");
    const marks = model.get("marks");
    geometry = measure();
    drawnWidth = geometry.width;
    const { width, left, x } = geometry;
    const height = Math.max(1, lanes.length) * LANE;
    axis.replaceChildren();
    chart.replaceChildren();
    node("title", {}, axis).textContent = "Click to pick a moment";
    axis.setAttribute("width", width);
    axis.setAttribute("height", AXIS);
    chart.setAttribute("width", width);
    chart.setAttribute("height", height);
    const defs = node("defs", {}, chart);
    const pattern = node("pattern", {
      id: hatch, width: 6, height: 6, patternUnits: "userSpaceOnUse",
      patternTransform: "rotate(45)",
    }, defs);
    node("rect", { class: "pf-tl-hatch-ground", width: 6, height: 6 }, pattern);
    node("line", { class: "pf-tl-hatch-line", x1: 0, y1: 0, x2: 0, y2: 6 }, pattern);
    lanes.forEach((lane, row) => {
      if (!(row % 2)) return;
      node("rect", { class: "pf-tl-stripe", x: 0, y: row * LANE, width, height: LANE }, chart);
    });
    node("rect", { class: "pf-tl-ground", x: left, y: 0, width: geometry.plot, height }, chart);
    node("line", {
      class: "pf-tl-axis-line", x1: left, x2: left + geometry.plot, y1: AXIS - 0.5, y2: AXIS - 0.5,
    }, axis);
    for (const tick of model.get("ticks")) {
      const at = x(tick.at);
      node("line", { class: "pf-tl-tick", x1: at, x2: at, y1: AXIS - 5, y2: AXIS }, axis);
      const label = node("text", { class: "pf-tl-tick-label", x: at, y: AXIS - 10 }, axis);
      label.textContent = String(tick.label);
      node("line", { class: "pf-tl-grid", x1: at, x2: at, y1: 0, y2: height }, chart);
    }
    lanes.forEach((lane, row) => {
      const indent = 4 + lane.depth * INDENT;
      const label = node("text", {
        class: `pf-tl-label pf-tl-lane-${token(lane.kind, LANE_KINDS, "run")}`,
        x: indent, y: row * LANE + LANE / 2,
      }, chart);
      label.textContent = clip(String(lane.label), (left - indent - 6) / CHAR);
      node("title", {}, label).textContent = String(lane.label);
    });
    const busiest = new Map();
    for (const mark of marks) {
      if (mark.kind !== "busy") continue;
      busiest.set(mark.lane, Math.max(busiest.get(mark.lane) || 1, mark.running));
    }
    rects = marks.map((mark, index) => {
      const lane = lanes[mark.lane];
      if (!lane) return null;
      const kind = token(mark.kind, BAR_KINDS, "exec");
      const state = token(mark.state, BAR_STATES, "done");
      const start = x(mark.start);
      const stop = x(mark.end === null ? geometry.end : mark.end);
      const y = mark.lane * LANE + (LANE - BAR) / 2;
      const rect = node("rect", {
        class: `pf-tl-bar pf-tl-${kind} pf-tl-${state}`,
        x: start, y, width: Math.max(2, stop - start), height: BAR, rx: 2, "data-index": index,
      }, chart);
      if (state === "waiting") rect.style.fill = `url(#${hatch})`;
      if (kind === "busy") {
        rect.style.fillOpacity = String(0.25 + (0.75 * mark.running) / busiest.get(mark.lane));
      }
      node("title", {}, rect).textContent = String(mark.detail);
      // The state's mark and the phase, where there is room: not told by colour alone.
      const words = `${ICONS[state] || ""}${PHASES.has(kind) ? kind : ""}`.trim();
      if (words && stop - start >= 12 + words.length * 6) {
        const at = { class: `pf-tl-phase pf-tl-${state}`, x: start + 4, y: y + BAR / 2 };
        node("text", at, chart).textContent = words;
      }
      return rect;
    });
    for (const [name, css] of [["marker", "pf-tl-marker"], ["selected_time", "pf-tl-moment"]]) {
      const time = model.get(name);
      if (time === null || time === undefined) continue;
      const at = x(time);
      node("line", { class: css, x1: at, x2: at, y1: 0, y2: height }, chart);
      node("line", { class: css, x1: at, x2: at, y1: 0, y2: AXIS }, axis);
    }
    const hidden = model.get("hidden_lanes");
    more.textContent = hidden ? `\u2026 and ${hidden} more lanes, not drawn` : "";
    const drawn = rects.filter((rect) => rect !== null).length;
    const end = geometry.end;
    const took = end >= 1e9 ? `${(end / 1e9).toFixed(2)} s` : `${(end / 1e6).toFixed(1)} ms`;
    summary.textContent = lanes.length
      ? `${model.get("running") ? "Running: " : ""}${drawn} bars on ${lanes.length} lanes, ${took}`
      : "Nothing to draw yet: no timed events.";
    root.setAttribute("aria-label", `Timeline of the run: ${summary.textContent}`);
    if (hovered !== null && hovered >= marks.length) hovered = null;
    if (cursor !== null && cursor >= marks.length) cursor = null;
    restyle();
  }

  function restyle() {
    const selected = model.get("selected");
    rects.forEach((rect, index) => {
      if (!rect) return;
      rect.classList.toggle("pf-tl-selected", index === selected);
      rect.classList.toggle("pf-tl-cursor", index === cursor && index !== selected);
    });
    const marks = model.get("marks");
    if (hovered !== null && hovered !== selected && marks[hovered]) {
      line.textContent = marks[hovered].detail;
    } else if (cursor !== null && cursor !== selected && marks[cursor]) {
      line.textContent = `${marks[cursor].detail} (Enter picks it)`;
    } else {
      line.textContent = model.get("selection_text") || HINT;
    }
  }

  function pick(message) {
    model.send(Object.assign({ type: "pick" }, message));
  }

  function moment(event, svg) {
    const box = svg.getBoundingClientRect();
    const px = event.clientX - box.left;
    if (px < geometry.left) return;  // the lane labels: no moment there
    pick({ time: Math.min(geometry.end, Math.max(0, geometry.at(px))) });
  }

  function onChartClick(event) {
    const bar = event.target.closest("[data-index]");
    if (bar) {
      cursor = Number(bar.getAttribute("data-index"));
      pick({ index: cursor });
    } else {
      moment(event, chart);
    }
  }

  function nearestOnLane(from, direction) {
    const marks = model.get("marks");
    const lanes = model.get("lanes");
    const here = marks[from];
    for (let lane = here.lane + direction; lane >= 0 && lane < lanes.length; lane += direction) {
      let best = null;
      marks.forEach((mark, index) => {
        if (mark.lane !== lane) return;
        const distance = Math.abs(mark.start - here.start);
        if (best === null || distance < Math.abs(marks[best].start - here.start)) best = index;
      });
      if (best !== null) return best;
    }
    return from;
  }

  function onKey(event) {
    const count = model.get("marks").length;
    if (!count) return;
    const selected = model.get("selected");
    const from = cursor !== null ? cursor : selected;
    let next = null;
    switch (event.key) {
      case "ArrowRight": next = from === null ? 0 : Math.min(count - 1, from + 1); break;
      case "ArrowLeft": next = from === null ? 0 : Math.max(0, from - 1); break;
      case "ArrowDown": next = from === null ? 0 : nearestOnLane(from, 1); break;
      case "ArrowUp": next = from === null ? 0 : nearestOnLane(from, -1); break;
      case "Home": next = 0; break;
      case "End": next = count - 1; break;
      case "Enter":
      case " ":
        if (from !== null) pick({ index: from });
        break;
      case "Escape": cursor = null; restyle(); break;
      default: return;
    }
    // Keys the chart uses are not JupyterLab's (moving between cells, entering edit mode).
    event.preventDefault();
    event.stopPropagation();
    if (next !== null) {
      cursor = next;
      restyle();
      if (rects[cursor]) rects[cursor].scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  chart.addEventListener("click", onChartClick);
  // The hovered bar's details also show in the line under the chart, beside its tooltip.
  chart.addEventListener("mouseover", (event) => {
    const bar = event.target.closest("[data-index]");
    hovered = bar ? Number(bar.getAttribute("data-index")) : null;
    restyle();
  });
  chart.addEventListener("mouseleave", () => {
    hovered = null;
    restyle();
  });
  axis.addEventListener("click", (event) => moment(event, axis));
  root.addEventListener("keydown", onKey);
  const redraws = [
    "lanes", "marks", "end", "ticks", "running", "hidden_lanes", "marker", "selected_time",
  ];
  // A pick (from this view, another one, or Python) is where the arrow keys go on from.
  const picked = () => {
    cursor = null;
  };
  const picks = ["selected", "selected_time"];
  for (const name of picks) model.on(`change:${name}`, picked);
  for (const name of redraws) model.on(`change:${name}`, draw);
  for (const name of ["selected", "selection_text"]) model.on(`change:${name}`, restyle);
  const resized = new ResizeObserver(() => {
    if (Math.floor(el.getBoundingClientRect().width) !== drawnWidth) draw();
  });
  resized.observe(el);
  draw();
  return () => {
    resized.disconnect();
    for (const name of picks) model.off(`change:${name}`, picked);
    for (const name of redraws) model.off(`change:${name}`, draw);
    for (const name of ["selected", "selection_text"]) model.off(`change:${name}`, restyle);
  };
}

export default { initialize, render };
"""


def _esm() -> str:
    """The chart's ES module, with the sets of names it accepts as class names."""
    replacements = {
        "__BAR_KINDS__": json.dumps(BAR_KINDS),
        "__BAR_STATES__": json.dumps(BAR_STATES),
        "__LANE_KINDS__": json.dumps(LANE_KINDS),
        "__ICONS__": json.dumps(
            {state: f"{STATES[name].icon} " for state, name in PALETTE_STATES.items()}
        ),
    }
    text = _ESM_TEMPLATE
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


class Timeline(anywidget.AnyWidget):
    """A recorded run as a Gantt chart: ``Timeline(trace)``; :meth:`update` draws another.

    Pass the ``flow`` a trace loaded from a file was recorded from, so that its nodes' kinds
    and limits are known. A batch with more than ``max_items`` items shows that many lanes and
    folds the rest into one lane of at most ``bins`` bars; past ``max_lanes`` lanes the rest
    are counted, not drawn (:attr:`hidden_lanes`).

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.trace import record
    >>> first = Node(name="first")
    >>> _ = first >> Node(name="second")
    >>> timeline = Timeline(record(Flow(start=first, name="main"), {}))
    >>> [(lane["label"], lane["depth"]) for lane in timeline.lanes]
    [('main', 0), ('first', 1), ('second', 1)]
    >>> [mark["kind"] for mark in timeline.marks if mark["lane"] == 1]
    ['prep', 'exec', 'post']
    >>> timeline.pick(4).step == timeline.selected_step  # first's exec: the step that ended it
    True
    >>> timeline.selection_text
    'Picked first: exec (...) → None · step 5'
    """

    _esm = _esm()
    _css = _css()

    #: The rows: ``{"label", "depth", "kind"}``, kind ``"run"`` (a node run), ``"item"`` (a
    #: batch item) or ``"items"`` (many items folded into one lane).
    lanes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The bars, in drawing order: ``{"lane", "kind", "start", "end", "state", "detail",
    #: "running"}``, times in nanoseconds since the run's first event (``end`` is ``None``
    #: while it runs: drawn up to :attr:`end`). See :class:`pocketflow.timeline.Bar`.
    marks = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Where the axis ends: the last event, or now while the run goes on.
    end = traitlets.Int(0).tag(sync=True)
    #: The axis ticks: ``{"at": nanoseconds, "label": "20 ms"}``.
    ticks = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Whether the run is still going on.
    running = traitlets.Bool(False).tag(sync=True)
    #: Lanes left out past ``max_lanes``.
    hidden_lanes = traitlets.Int(0).tag(sync=True)
    #: The picked bar (its index in :attr:`marks` and :attr:`bars`), or ``None``.
    selected = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: The picked moment (a picked bar's end, or its start while it runs), or ``None``.
    selected_time = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: The step of the trace at the picked moment: where a replay goes.
    selected_step = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: What the line under the chart says about the pick.
    selection_text = traitlets.Unicode("").tag(sync=True)
    #: A moment marked with a dashed line (a linked replay's step), or ``None``.
    marker = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: Counts the drawings, so a patch applies only to the drawing it was made from.
    revision = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        trace: Trace | None = None,
        flow: BaseNode | None = None,
        *,
        max_items: int = 20,
        bins: int = 60,
        max_lanes: int = 150,
    ) -> None:
        self.max_items = max_items
        self.bins = bins
        self.max_lanes = max_lanes
        self.graph: Graph | None = build_graph(flow) if flow is not None else None
        self.trace: Trace = trace if trace is not None else Trace([], None)
        #: The layout drawn (lanes and bars as :mod:`pocketflow.timeline` made them).
        self.layout_data: Layout = Layout()
        #: The bars drawn, one per entry of :attr:`marks`.
        self.bars: list[Bar] = []
        #: How many redraws went out as patches rather than whole lists.
        self.patches = 0
        self._drawn_steps = -1
        self._quiet: frozenset[str] = frozenset()
        self._picked: tuple[str, int, str, int] | None = None
        self._callbacks: list[Callable[[Pick], Any]] = []
        drawing = self._draw(self.trace)
        now = self.layout_data.end
        super().__init__(
            lanes=drawing.lanes,
            marks=drawing.marks,
            hidden_lanes=drawing.hidden_lanes,
            end=now,
            ticks=ticks_for(now),
        )
        self.on_msg(self._on_message)

    # -- drawing -----------------------------------------------------------------------------

    def update(self, trace: Trace, *, now: int | None = None) -> None:
        """Draw ``trace``. With ``now`` (nanoseconds since its first event) the run is still
        going on: bars that have not ended reach to ``now``.

        Only what changed is sent: a trace with no new steps moves the axis end alone, and a
        redraw that changes a few bars sends them as a patch.
        """
        if trace is not self.trace or len(trace.steps) != self._drawn_steps:
            self.trace = trace
            drawing = self._draw(trace)
            with self.hold_sync():
                self._send_drawing(drawing)
                self.hidden_lanes = drawing.hidden_lanes
                self._reselect()
                self._set_end(now)
        else:
            with self.hold_sync():
                self._set_end(now)

    def _set_end(self, now: int | None) -> None:
        end = max(self.layout_data.end, now or 0)
        self.running = now is not None
        if end != self.end:
            self.end = end
            self.ticks = ticks_for(end)

    def _draw(self, trace: Trace) -> _Drawing:
        graph = self.graph
        if not trace.steps:  # nothing recorded yet, and no graph to lay out over
            layout = Layout()
        else:
            graph = graph if graph is not None else trace.graph
            layout = build_timeline(trace, graph, max_items=self.max_items, bins=self.bins)
        self.layout_data = layout
        self._drawn_steps = len(trace.steps)
        drawing = drawing_of(layout, trace, graph, self.max_lanes)
        self.bars = drawing.bars
        return drawing

    def _send_drawing(self, drawing: _Drawing) -> None:
        """Set :attr:`lanes` and :attr:`marks`: as a patch when that is much smaller."""
        lane_splices = splices(self.lanes, drawing.lanes)
        mark_splices = splices(self.marks, drawing.marks)
        if not lane_splices and not mark_splices:
            return
        patched = sum(len(items) + 1 for _, _, items in (*lane_splices, *mark_splices))
        if 2 * patched >= len(drawing.lanes) + len(drawing.marks):
            self.lanes, self.marks = drawing.lanes, drawing.marks
        else:
            self.send(
                {
                    "type": "patch",
                    "base": self.revision,
                    "revision": self.revision + 1,
                    "lanes": lane_splices,
                    "marks": mark_splices,
                }
            )
            with self._sent_as_patch("lanes", "marks"):
                self.lanes, self.marks = drawing.lanes, drawing.marks
            self.patches += 1
        self.revision += 1

    @contextlib.contextmanager
    def _sent_as_patch(self, *names: str) -> Iterator[None]:
        self._quiet = frozenset(names)
        try:
            yield
        finally:
            self._quiet = frozenset()

    def _should_send_property(self, key: str, value: Any) -> bool:
        """ipywidgets asks this before sending a changed trait: not the lists a patch carried."""
        if key in self._quiet:
            return False
        return bool(super()._should_send_property(key, value))

    # -- picking -----------------------------------------------------------------------------

    def pick(self, index: int | None = None, *, time: int | None = None) -> Pick:
        """Pick bar ``index`` (as a click or Enter does), or the moment ``time`` (a click on
        the axis): set the ``selected*`` traits and tell :meth:`observe_selection`'s callbacks.
        """
        bar: Bar | None = None
        if index is not None:
            if not 0 <= index < len(self.bars):
                raise IndexError(
                    f"no bar {index}: the timeline draws {len(self.bars)} bars"
                    + (f" (0 to {len(self.bars) - 1})" if self.bars else "")
                )
            bar = self.bars[index]
            moment = bar.end if bar.end is not None else bar.start
            lane = self.layout_data.lanes[bar.lane]
            self._picked = (lane.label, lane.depth, bar.kind, bar.start)
        elif time is not None:
            moment = min(max(int(time), 0), self.end)
            self._picked = None
        else:
            raise TypeError("pick(index) picks a bar, pick(time=nanoseconds) a moment")
        steps = self.trace.steps
        step = self.layout_data.step_at(steps, moment) if steps else None
        picked = Pick(index, bar, moment, step)
        with self.hold_sync():
            self.selected = index
            self.selected_time = moment
            self.selected_step = step
            self.selection_text = self._describe(picked)
        for callback in list(self._callbacks):
            callback(picked)
        return picked

    def observe_selection(self, callback: Callable[[Pick], Any], *, remove: bool = False) -> None:
        """Call ``callback(pick)`` with each :class:`Pick` made on the chart or by
        :meth:`pick` (``remove=True`` stops it).

        >>> from pocketflow import Node
        >>> from pocketflow.trace import record
        >>> timeline = Timeline(record(Node(name="alone"), {}))
        >>> timeline.observe_selection(lambda pick: print("step", pick.step))
        >>> _ = timeline.pick(time=0)
        step 1
        """
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def show_step(self, step: int | None) -> None:
        """Mark the moment of ``step`` of the trace with a dashed line (``None``: no line)."""
        steps = self.trace.steps
        if step is None or not steps:
            self.marker = None
            return
        entry = steps[max(0, min(len(steps), step) - 1)]
        self.marker = entry.time

    def _describe(self, picked: Pick) -> str:
        where = (
            self.marks[picked.index]["detail"]
            if picked.index is not None
            else f"the moment {format_time(picked.time, self.end)}"
        )
        step = f" · step {picked.step}" if picked.step is not None else ""
        return f"Picked {where}{step}"

    def _reselect(self) -> None:
        """Keep the picked bar selected when a redraw moves it to another index."""
        if self._picked is None:
            return
        lanes = self.layout_data.lanes
        for index, bar in enumerate(self.bars):
            lane = lanes[bar.lane]
            if (lane.label, lane.depth, bar.kind, bar.start) == self._picked:
                self.selected = index
                return
        self.selected = None

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A message from the page: a pick, or a request for the whole state."""
        if not isinstance(content, dict):
            return
        if content.get("type") == "resync":
            self.send_state()
        elif content.get("type") == "pick":
            index, moment = content.get("index"), content.get("time")
            if type(index) is int and 0 <= index < len(self.bars):
                self.pick(index)
            elif (
                isinstance(moment, (int, float))
                and type(moment) is not bool
                and math.isfinite(moment)
            ):
                self.pick(time=int(moment))


# -- what is drawn -----------------------------------------------------------------------------


def drawing_of(layout: Layout, trace: Trace, graph: Graph | None, max_lanes: int) -> _Drawing:
    """The lanes and marks of ``layout``, as the page gets them: every string cleaned and cut,
    every bar's detail with its value and the node it belongs to, at most ``max_lanes`` lanes.
    """
    kept = layout.lanes[:max_lanes]
    values = _phase_values(trace)
    lanes = [
        {
            "label": clean(lane.label, MAX_LABEL),
            "depth": lane.depth,
            "kind": _checked(lane.kind, LANE_KINDS, "lane kind"),
        }
        for lane in kept
    ]
    bars = [bar for bar in layout.bars if bar.lane < len(kept)]
    marks = [
        {
            "lane": bar.lane,
            "kind": _checked(bar.kind, BAR_KINDS, "bar kind"),
            "start": bar.start,
            "end": bar.end,
            "state": _checked(bar.state, BAR_STATES, "bar state"),
            "detail": clean(_detail(bar, kept[bar.lane], graph, values), MAX_DETAIL),
            "running": bar.running,
        }
        for bar in bars
    ]
    return _Drawing(lanes, marks, bars, len(layout.lanes) - len(kept))


def _phase_values(trace: Trace) -> dict[tuple[str | None, str, int], Any]:
    """What each phase returned (or raised), by node, kind and time: a bar's value."""
    return {
        (entry.node_id, entry.kind, entry.time): entry.value
        for entry in trace.steps
        if entry.time is not None and entry.kind in (PREP, EXEC, POST, ERROR)
    }


def _detail(
    bar: Bar, lane: Lane, graph: Graph | None, values: dict[tuple[str | None, str, int], Any]
) -> str:
    """A bar's detail as the reader sees it: which node, the phase, the value, how long."""
    text = bar.detail
    if bar.kind in _PHASES and bar.end is not None:
        failed = bar.state == "failed"
        key = (bar.node_id, ERROR if failed else bar.kind, bar.end)
        if key in values:
            text += (" failed: " if failed else " → ") + short_repr(values[key], 60)
    if lane.kind != "run" and graph is not None and bar.node_id in graph:
        text = f"{graph[bar.node_id].label} › {text}"  # type: ignore[index]
    return text


def _checked(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r} (must be one of {list(allowed)})")
    return value


def clean(text: str, limit: int) -> str:
    """``text`` as the page may get it: valid UTF-8 (a lone surrogate becomes ``?``), at most
    ``limit`` characters. It reaches the page as text, never as markup.

    >>> clean("</text><script>alert(1)</script>", 12)
    '</text><scr…'
    """
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def splices(old: Sequence[Any], new: Sequence[Any]) -> list[list[Any]]:
    """The splices ``[at, remove, items]`` that turn ``old`` into ``new``, last first (so that
    each applies to indexes the ones before it left alone). Entries are dicts of plain values.

    >>> splices([{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 3}, {"a": 4}])
    [[1, 1, [{'a': 3}, {'a': 4}]]]
    """
    matcher = SequenceMatcher(
        None, [_key(item) for item in old], [_key(item) for item in new], autojunk=False
    )
    found = [
        [first, last - first, list(new[start:stop])]
        for tag, first, last, start, stop in matcher.get_opcodes()
        if tag != "equal"
    ]
    return found[::-1]


def _key(item: Any) -> Any:
    return tuple(item.items()) if isinstance(item, dict) else item


def apply_splices(items: Sequence[Any], found: Sequence[Sequence[Any]]) -> list[Any]:
    """``items`` with ``found`` (from :func:`splices`) applied, as the page applies a patch.

    >>> old, new = [1, 2, 3], [0, 1, 3, 4]
    >>> apply_splices(old, splices(old, new)) == new
    True
    """
    result = list(items)
    for at, remove, inserted in found:
        result[at : at + remove] = inserted
    return result


# -- the axis ----------------------------------------------------------------------------------


def ticks_for(end: int, count: int = _TICKS) -> list[dict[str, Any]]:
    """About ``count`` round ticks from 0 to ``end`` nanoseconds, labelled in ms, or in s for a
    run of a second or more.

    >>> [tick["label"] for tick in ticks_for(50_000_000)]
    ['0 ms', '10 ms', '20 ms', '30 ms', '40 ms', '50 ms']
    >>> [tick["label"] for tick in ticks_for(2_500_000_000)][:3]
    ['0 s', '0.5 s', '1 s']
    """
    if end <= 0:
        return [{"at": 0, "label": "0 ms"}]
    rough = end / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(magnitude * factor for factor in (1, 2, 5, 10) if magnitude * factor >= rough)
    unit, scale = ("s", 1e9) if end >= 1e9 else ("ms", 1e6)
    decimals = max(0, -math.floor(math.log10(step / scale) + 1e-9))
    found = []
    at = 0.0
    while at <= end + 1e-6:
        value = round(at / scale, decimals)
        label = f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:.0f}"
        found.append({"at": round(at), "label": f"{label} {unit}"})
        at += step
    return found


def format_time(nanoseconds: int, end: int) -> str:
    """A moment as a reader sees it, in the unit of the axis of a chart ending at ``end``.

    >>> format_time(12_345_678, 50_000_000), format_time(1_500_000_000, 3_000_000_000)
    ('12.3 ms', '1.500 s')
    """
    if end >= 1e9:
        return f"{nanoseconds / 1e9:.3f} s"
    value = nanoseconds / 1e6
    digits = 1 if value >= 1 else 3
    return f"{value:.{digits}f} ms"


# -- a run drawn as it goes ---------------------------------------------------------------------


class LiveTimeline:
    """Run ``flow`` with its timeline growing in the cell: :meth:`run` (sync code, any flow)
    or ``await`` :meth:`run_async`.

    The timeline is redrawn at most every ``interval`` seconds while events arrive, and, for
    async flows, also while a step awaits, so running bars grow. After the run :attr:`trace`
    holds what happened (also when it failed: the exception is re-raised) and :attr:`timeline`
    shows all of it.

    >>> from pocketflow import Flow, Node
    >>> live = LiveTimeline(Flow(start=Node(name="hello"), name="main"), display_widget=False)
    >>> live.run({})
    >>> [lane["label"] for lane in live.timeline.lanes], live.timeline.running
    (['main', 'hello'], False)
    """

    def __init__(
        self,
        flow: BaseNode,
        *,
        interval: float = 0.1,
        display_widget: bool = True,
        max_items: int = 20,
        bins: int = 60,
    ) -> None:
        self.flow = flow
        self.interval = interval
        self.display_widget = display_widget
        self.timeline = Timeline(max_items=max_items, bins=bins)
        self.recorder = Recorder()
        self.error: BaseException | None = None
        #: How many times the timeline was redrawn during the last run.
        self.updates = 0
        self._origin: int | None = None  # the first event's clock, in nanoseconds
        self._last_update = -math.inf

    @property
    def widget(self) -> Timeline:
        """What the cell shows: the timeline."""
        return self.timeline

    @property
    def trace(self) -> Trace:
        """The events of the last run."""
        return self.recorder.trace

    def __call__(self, event: Event) -> None:
        """Take one event of the run (this object is the run's observer)."""
        self.recorder(event)
        if self._origin is None:
            self._origin = event.time
        if time.monotonic() - self._last_update >= self.interval:
            self.refresh()

    def refresh(self) -> None:
        """Redraw the timeline now, the run still going on."""
        if self._origin is None:
            return
        self._last_update = time.monotonic()
        self.updates += 1
        self.timeline.update(self.recorder.trace, now=time.perf_counter_ns() - self._origin)

    def run(self, shared: Any) -> Any:
        """Run the flow on ``shared`` with the timeline live, from sync code (an async flow
        runs in the event loop, the running one in a notebook)."""
        __tracebackhide__ = True
        if isinstance(self.flow, AsyncNode):
            return run_coroutine(self.run_async(shared))
        self.start()
        try:
            with observe(self):
                result = self.flow.run(shared)
        except BaseException as exc:
            self.finish(exc)
            raise
        self.finish()
        return result

    async def run_async(self, shared: Any) -> Any:
        """``await`` the flow on ``shared`` with the timeline live."""
        __tracebackhide__ = True
        self.start()
        ticker = asyncio.ensure_future(self._tick())
        try:
            with observe(self):
                if isinstance(self.flow, AsyncNode):
                    result = await self.flow.run_async(shared)
                else:
                    result = self.flow.run(shared)
        except BaseException as exc:
            self.finish(exc)
            raise
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        self.finish()
        return result

    async def _tick(self) -> None:
        """While an async run awaits, move the axis on so the running bars grow."""
        while True:
            await asyncio.sleep(self.interval)
            if time.monotonic() - self._last_update >= self.interval:
                self.refresh()

    def start(self) -> None:
        """Begin a new run: an empty timeline, shown in the cell unless ``display_widget`` is
        false. :meth:`run` and :meth:`run_async` call it; code that drives the run itself
        calls it, attaches this object as an observer, then calls :meth:`finish`.
        """
        self.recorder = Recorder()
        self.error = None
        self.updates = 0
        self._origin = None
        self._last_update = -math.inf
        self.timeline.update(Trace([], None))
        if self.display_widget:
            display(self.timeline)

    def finish(self, error: BaseException | None = None) -> None:
        """End the run (``error``: the exception that ended it): draw all of it."""
        self.error = error
        self.timeline.update(self.recorder.trace)


# -- a timeline linked to a replay ----------------------------------------------------------------


class TimelineReplay(widgets.VBox):
    """A :class:`~pocketflow_widgets.Replay` of ``trace`` above its :class:`Timeline`, linked:
    picking a bar or a moment moves the replay to that step, and the replay's step is marked on
    the timeline.

    >>> from pocketflow import Flow, Node
    >>> from pocketflow.trace import record
    >>> flow = Flow(start=Node(name="hello"), name="main")
    >>> linked = TimelineReplay(record(flow, {}), flow)
    >>> _ = linked.timeline.pick(3)  # hello's prep
    >>> linked.replay.slider.value == linked.timeline.selected_step
    True
    """

    def __init__(self, trace: Trace, flow: BaseNode | None = None) -> None:
        self.replay = Replay(trace, flow)
        self.timeline = Timeline(trace, flow)
        self.timeline.observe_selection(self._picked)
        self.replay.slider.observe(self._moved, names="value")
        self.timeline.show_step(self.replay.slider.value)
        super().__init__([self.replay, self.timeline])

    def _picked(self, picked: Pick) -> None:
        if picked.step is not None:
            self.replay.show(picked.step)

    def _moved(self, change: dict[str, Any]) -> None:
        self.timeline.show_step(change["new"])


def timeline_replay(trace: Trace, flow: BaseNode | None = None) -> TimelineReplay:
    """Show ``trace`` as a :class:`~pocketflow_widgets.Replay` and a :class:`Timeline`, linked:
    see :class:`TimelineReplay`.

    >>> from pocketflow import Node
    >>> from pocketflow.trace import record
    >>> linked = timeline_replay(record(Node(name="hello"), {}))
    >>> linked.children == (linked.replay, linked.timeline)
    True
    """
    return TimelineReplay(trace, flow)
