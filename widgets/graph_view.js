// The browser half of pocketflow_widgets.view.GraphWidget.
//
// The kernel sends the graph's SVG once (`svg`), then only what changed in the run laid over it
// (`patch`): the state of nodes, how often edges were taken, batch progress, each by the id of
// its group in the SVG. initialize() folds a model's patches into its whole state, kept on the
// model in the browser (`state`) so that a view made later starts from the picture as it is;
// each view restyles its own copy of the SVG, touching only the groups whose state changed.
//
// Everything from the kernel is data: the SVG is parsed as SVG and stripped of anything but
// drawing elements, ids are looked up (never built into selectors), names and counts are
// written as text, and style values go through the CSSOM one property at a time.

const SVG_NS = "http://www.w3.org/2000/svg";
const SECTIONS = ["nodes", "edges", "items"];
const STATES = new Set(["visited", "current", "failed"]);
const SAFE_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const PROGRESS = /^\d+\/(\d+|\?)$/;
// What Graphviz draws a graph with; any other element is dropped.
const DRAWING = new Set(["svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text"]);

function emptyState() {
  return { run: false, nodes: {}, edges: {}, items: {} };
}

function validEntry(section, value) {
  if (section === "nodes") return STATES.has(value);
  if (section === "edges") return Number.isInteger(value) && value > 0;
  return typeof value === "string" && PROGRESS.test(value);
}

// `state` with `patch` applied, as a new object (so that the model sees a change).
function merged(state, patch) {
  const base = patch && patch.reset ? emptyState() : state;
  const next = { run: base.run };
  for (const section of SECTIONS) next[section] = { ...base[section] };
  if (!patch || typeof patch !== "object") return next;
  if (typeof patch.run === "boolean") next.run = patch.run;
  for (const section of SECTIONS) {
    const changes = patch[section];
    if (!changes || typeof changes !== "object") continue;
    for (const [id, value] of Object.entries(changes)) {
      if (!SAFE_ID.test(id)) continue;
      if (value === null || !validEntry(section, value)) delete next[section][id];
      else next[section][id] = value;
    }
  }
  return next;
}

// A state given by the model (one saved with a notebook, say), checked entry by entry.
function checked(state) {
  if (!state || typeof state !== "object") return emptyState();
  return merged(emptyState(), { ...state, reset: true });
}

function initialize({ model }) {
  let state = checked(model.get("state"));
  const take = () => {
    state = merged(state, model.get("patch"));
    model.set("state", state);
  };
  take();
  model.on("change:patch", take);
}

// The SVG text as an element of this page, with only drawing elements and no event handler,
// link or inline style; `null` when it is not an SVG.
function parseSvg(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.namespaceURI !== SVG_NS || svg.localName !== "svg") return null;
  if (doc.getElementsByTagName("parsererror").length > 0) return null;
  for (const element of [svg, ...svg.querySelectorAll("*")]) {
    if (element.namespaceURI !== SVG_NS || !DRAWING.has(element.localName)) {
      element.remove();
      continue;
    }
    for (const { name } of [...element.attributes]) {
      const lower = name.toLowerCase();
      if (lower.startsWith("on") || lower.endsWith("href") || lower === "style") {
        element.removeAttribute(name);
      }
    }
  }
  return document.importNode(svg, true);
}

function setStyle(element, property, value) {
  if (value === undefined || value === null || value === "") element.style.removeProperty(property);
  else element.style.setProperty(property, String(value));
}

function texts(group) {
  return [...group.querySelectorAll(":scope > text")];
}

function px(width) {
  return width === undefined ? "" : `${width}px`;
}

// The SVG of one view, restyled from the model's state with the palette's looks (`styles`).
class Picture {
  constructor(svg, names, styles) {
    this.element = svg;
    this.styles = styles;
    this.nodes = new Map();
    this.edges = new Map();
    for (const group of svg.querySelectorAll("g[id]")) {
      const kind = group.getAttribute("class");
      if ((kind === "node" || kind === "cluster") && Object.hasOwn(names, group.id)) {
        const cluster = kind === "cluster";
        const shapes = [...group.querySelectorAll(":scope > :is(polygon, ellipse, path)")];
        const lines = cluster ? [] : texts(group);
        const node = {
          group,
          cluster,
          name: String(names[group.id]),
          // a flow's frame only: it keeps its fill, so that the nodes inside stay readable
          shapes: cluster ? shapes.slice(0, 1) : shapes,
          title: group.querySelector(":scope > title"),
          lines,
          bases: lines.map((line) => line.textContent),
          word: "",
          progress: "",
        };
        group.setAttribute("role", "img");
        this.nodes.set(group.id, node);
        this.describe(node);
      } else if (kind === "edge") {
        this.edges.set(group.id, { group, count: null, taken: 0, untaken: false });
      }
    }
  }

  show(state) {
    for (const [id, node] of this.nodes) {
      const word = state.nodes[id] || (state.run ? "unvisited" : "");
      const progress = state.items[id] || "";
      if (word === node.word && progress === node.progress) continue;
      if (word !== node.word) this.restyle(node, word);
      node.word = word;
      node.progress = progress;
      this.label(node);
      this.describe(node);
    }
    for (const [id, edge] of this.edges) {
      const taken = state.edges[id] || 0;
      if (taken !== edge.taken || (!taken && edge.untaken !== state.run)) {
        this.count(edge, taken, state.run);
      }
    }
  }

  restyle(node, word) {
    const look = (word && this.styles[word]) || {};
    if (word) node.group.dataset.state = word;
    else delete node.group.dataset.state;
    for (const shape of node.shapes) {
      setStyle(shape, "fill", node.cluster ? "" : look.fill);
      setStyle(shape, "stroke", look.stroke);
      setStyle(shape, "stroke-width", px(look.width));
      setStyle(shape, "stroke-dasharray", look.dash);
    }
    for (const line of node.lines) setStyle(line, "fill", look.text);
  }

  // The node's text: the state's mark before its name, batch progress after it.
  label(node) {
    const icon = (node.word && (this.styles[node.word] || {}).icon) || "";
    node.lines.forEach((line, index) => {
      let text = node.bases[index];
      if (index === 0 && icon) text = `${icon} ${text}`;
      if (index === node.lines.length - 1 && node.progress) text += ` [${node.progress}]`;
      line.textContent = text;
    });
  }

  // The node's name, progress and state in words: its accessible name and its tooltip.
  describe(node) {
    const look = (node.word && this.styles[node.word]) || {};
    let text = node.name;
    if (node.progress) text += ` [${node.progress}]`;
    if (node.word) text += `: ${look.word || node.word}`;
    node.group.setAttribute("aria-label", text);
    if (node.title) node.title.textContent = text;
  }

  count(edge, taken, run) {
    edge.taken = taken;
    edge.untaken = !taken && run;
    const look = taken ? this.styles.taken || {} : edge.untaken ? this.styles.untaken || {} : {};
    if (taken) edge.group.dataset.taken = String(taken);
    else delete edge.group.dataset.taken;
    for (const shape of edge.group.querySelectorAll(":scope > :is(path, polygon)")) {
      if (shape.localName === "polygon") setStyle(shape, "fill", look.stroke);
      else setStyle(shape, "stroke-width", px(look.width));
      setStyle(shape, "stroke", look.stroke);
    }
    for (const line of texts(edge.group)) setStyle(line, "fill", look.text);
    if (!edge.count && taken) edge.count = this.addCount(edge);
    if (edge.count) edge.count.textContent = taken ? `×${taken}` : "";
  }

  // Where an edge's count is written: on a line of its own under the action, or beside the
  // middle of a line drawn without a label.
  addCount(edge) {
    const count = document.createElementNS(SVG_NS, "text");
    count.setAttribute("class", "pf-count");
    count.setAttribute("font-size", "10");
    count.setAttribute("font-family", "Helvetica,sans-Serif");
    const labels = texts(edge.group);
    const label = labels[labels.length - 1];
    if (label) {
      count.setAttribute("text-anchor", label.getAttribute("text-anchor") || "middle");
      count.setAttribute("x", label.getAttribute("x") || "0");
      count.setAttribute("y", String(Number(label.getAttribute("y") || 0) + 12));
    } else {
      const path = edge.group.querySelector(":scope > path");
      if (!path) return null;
      let point;
      try {
        point = path.getPointAtLength(path.getTotalLength() / 2);
      } catch {
        return null;
      }
      count.setAttribute("x", String(point.x + 5));
      count.setAttribute("y", String(point.y + 3));
    }
    setStyle(count, "fill", (this.styles.taken || {}).text);
    edge.group.append(count);
    return count;
  }
}

// Without a layout: the state as one line of text.
class StatusLine {
  constructor(names, styles) {
    this.names = names;
    this.styles = styles;
    this.element = document.createElement("p");
    this.element.className = "pf-graph-status";
  }

  show(state) {
    const name = (id) => (Object.hasOwn(this.names, id) ? String(this.names[id]) : id);
    const all = Object.keys(this.names).length;
    if (!state.run) {
      this.element.textContent = `${all} nodes, not run yet`;
      return;
    }
    const marked = Object.entries(state.nodes);
    const parts = [`${marked.length} of ${all} nodes ran`];
    for (const word of ["current", "failed"]) {
      const found = marked.filter(([, value]) => value === word).map(([id]) => name(id));
      if (found.length) parts.push(`${(this.styles[word] || {}).word || word}: ${found.join(", ")}`);
    }
    for (const [id, progress] of Object.entries(state.items).slice(0, 3)) {
      parts.push(`${name(id)} [${progress}]`);
    }
    this.element.textContent = parts.join(" · ");
  }
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "pf-graph";
  root.tabIndex = 0;
  root.setAttribute("role", "figure");
  root.setAttribute("aria-label", String(model.get("label") || "graph"));
  const names = model.get("names") || {};
  const styles = model.get("styles") || {};
  const svg = parseSvg(String(model.get("svg") || ""));
  const picture = svg ? new Picture(svg, names, styles) : new StatusLine(names, styles);
  root.append(picture.element);
  el.append(root);
  const show = () => picture.show(model.get("state") || merged(emptyState(), model.get("patch")));
  show();
  model.on("change:state", show);
  return () => model.off("change:state", show);
}

export default { initialize, render };
