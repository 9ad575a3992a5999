"""Drive JupyterLab in Chromium: start and stop a server, open and run notebooks, inspect outputs.

Loaded by ``conftest.py`` (not imported by test files) and handed to tests through fixtures.

Two parts:

- Server processes: :func:`start_lab_server` runs ``jupyter lab`` isolated in a temporary
  directory (settings, workspaces, runtime and config files all live there) and
  :func:`stop_process_group` ends it. :func:`wait_for_server` polls ``/api/status``.
- :class:`JupyterLabPage`: a page object over one Playwright page. It opens a notebook, runs all
  its cells, and reports what a reader would see go wrong: error outputs, graphs that did not
  render (or that Mermaid drew as its own error diagram), widgets that show a placeholder instead
  of a view. Locators scoped to one cell (:meth:`JupyterLabPage.cell`,
  :meth:`JupyterLabPage.output_of_cell`) are the hooks for tests that click widgets;
  :meth:`JupyterLabPage.run_cell` runs one cell at a time,
  :meth:`JupyterLabPage.output_changes` records an output's changes while its cell runs, and
  :meth:`JupyterLabPage.kernel_value` asks the kernel what it holds, for tests to wait until the
  page shows the same.

Every wait is for a condition, with a deadline; nothing sleeps for a fixed time.

Error outputs look exactly like ``stderr`` text in the DOM (both are rendered with the mime type
``application/vnd.jupyter.stderr``), so :meth:`JupyterLabPage.cell_errors` reads output types and
cell tags from the notebook model through ``window.jupyterapp``, which the server exposes when
started with ``--LabApp.expose_app_in_browser=True`` (as :func:`start_lab_server` does).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

# Chromium flags: root needs --no-sandbox; the rest keep a headless run offline and quiet.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

VIEWPORT: dict[str, int] = {"width": 1280, "height": 900}

# User settings written before the server starts: no news or update prompts, and every cell kept
# in the DOM (JupyterLab otherwise virtualises cells that are scrolled out of view).
LAB_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

# Server options that keep JupyterLab from reaching the network on its own.
LAB_OFFLINE_ARGS: tuple[str, ...] = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
)

SERVER_START_TIMEOUT = 90.0
SERVER_STOP_TIMEOUT = 15.0


# --------------------------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def isolated_jupyter_env(home: Path) -> dict[str, str]:
    """Environment for a Jupyter server whose settings and state all live under ``home``.

    User settings are seeded with :data:`LAB_USER_SETTINGS`.
    """
    dirs = {
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "IPYTHONDIR": home / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for plugin, values in LAB_USER_SETTINGS.items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2), encoding="utf-8")
    env = dict(os.environ)
    env.update({name: str(path) for name, path in dirs.items()})
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning in kernel logs
    return env


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that it is missing."""
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def api_request(
    base_url: str, token: str, path: str, method: str = "GET", timeout: float = 5.0
) -> Any:
    """Call the Jupyter REST API and return the decoded JSON body (``None`` when empty)."""
    request = urllib.request.Request(
        f"{base_url}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


def wait_for_server(
    base_url: str,
    token: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = SERVER_START_TIMEOUT,
) -> None:
    """Poll ``/api/status`` until the server answers; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"the JupyterLab process exited with code {process.returncode} before "
                f"answering {base_url}/api/status; log:\n{log_tail(log_path)}"
            )
        try:
            api_request(base_url, token, "/api/status", timeout=2.0)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"JupyterLab did not answer {base_url}/api/status within {timeout:.0f} s; "
                f"log:\n{log_tail(log_path)}"
            )
        time.sleep(0.1)  # polling an external process, not ordering our own code


def stop_process_group(
    process: subprocess.Popen[bytes], timeout: float = SERVER_STOP_TIMEOUT
) -> None:
    """Send SIGTERM to the process group led by ``process``, then SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    pgid = os.getpgid(process.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=timeout)


def shut_down_sessions(base_url: str, token: str) -> None:
    """Delete every kernel session on the server, so each test starts with no kernels."""
    for session in api_request(base_url, token, "/api/sessions") or []:
        api_request(base_url, token, f"/api/sessions/{session['id']}", method="DELETE", timeout=30)


@dataclass
class LabServer:
    """A running ``jupyter lab`` process serving ``root``."""

    base_url: str
    token: str
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (which starts with ``/``) carrying the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{separator}token={self.token}"

    def notebook_url(self, name: str) -> str:
        """URL that opens the notebook ``name`` (relative to the root) in a fresh workspace."""
        return self.url(f"/lab/tree/{quote(name)}?reset")

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API at ``path`` (which starts with ``/api/``)."""
        return api_request(self.base_url, self.token, path, method=method)

    def stop(self) -> None:
        """Shut down kernels through the API, then end the process group."""
        if self.process.poll() is None:
            # The process is ended below either way.
            with suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                shut_down_sessions(self.base_url, self.token)
        stop_process_group(self.process)


def start_lab_server(home: Path, root: Path) -> LabServer:
    """Start ``jupyter lab`` from this interpreter's environment, serving ``root``.

    Listens on 127.0.0.1 at a free port with a random token; settings, workspaces and runtime
    files live under ``home``. Returns once ``/api/status`` answers.
    """
    port = free_port()
    token = secrets.token_hex(16)
    env = isolated_jupyter_env(home)
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [
        str(jupyter) if jupyter.exists() else shutil.which("jupyter") or "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
        *LAB_OFFLINE_ARGS,
    ]
    log_path = home / "jupyterlab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log_path, process)
    try:
        wait_for_server(server.base_url, token, process, log_path)
    except BaseException:
        stop_process_group(process)
        raise
    return server


# --------------------------------------------------------------------------------------------
# The page object
# --------------------------------------------------------------------------------------------

# Every in-page script starts with this: the NotebookPanel showing `path`, from the app's shell.
_FIND_PANEL = """
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const widget of app.shell.widgets('main')) {
    if (widget.context && widget.context.path === path && widget.content
        && widget.content.widgets) {
      return widget;
    }
  }
  return null;
};
const cellIndex = (panel, element) => {
  const cells = [...panel.node.querySelectorAll('.jp-Cell')];
  return cells.indexOf(element.closest('.jp-Cell'));
};
const cellRunKey = (path, index) => path + '#' + index;
// Whether the run of one cell started by start_cell() is over: the command settled and the
// prompt no longer shows [*].
const cellFinished = (panel, path, index) => {
  const runs = window.__labkitCells || {};
  const run = runs[cellRunKey(path, index)];
  const cell = panel.content.widgets[index];
  if (!run || !run.done || !cell) return false;
  const prompt = cell.node.querySelector('.jp-InputPrompt');
  return !(prompt && prompt.textContent.includes('[*]'));
};
"""


def _script(body: str) -> str:
    """An in-page function of one argument ``arg`` with :data:`_FIND_PANEL` in scope."""
    return f"(arg) => {{ {_FIND_PANEL}\n{body} }}"


_NOTEBOOK_READY = _script(
    """
const dialog = document.querySelector('.jp-Dialog');
if (dialog) return {dialog: dialog.innerText};
if (document.querySelector('.jp-LabShell') && !window.jupyterapp) {
  return {error: 'window.jupyterapp is missing: start JupyterLab with '
                 + '--LabApp.expose_app_in_browser=True'};
}
const panel = findPanel(arg);
if (!panel || panel.isHidden) return null;
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
if (!panel.sessionContext.isReady || !kernel) return null;
if (kernel.connectionStatus !== 'connected' || kernel.status !== 'idle') return null;
return {ready: panel.id};
"""
)

_START_RUN_ALL = _script(
    """
const panel = findPanel(arg);
if (!panel) throw new Error('no notebook panel for ' + arg);
window.jupyterapp.shell.activateById(panel.id);
const run = {done: false, ok: null, error: null};
window.__labkitRunAll = run;
window.jupyterapp.commands.execute('notebook:run-all-cells').then(
  (ok) => { run.ok = ok; run.done = true; },
  (error) => { run.error = String(error); run.done = true; });
"""
)

_RUN_ALL_FINISHED = _script(
    """
const dialog = document.querySelector('.jp-Dialog');
if (dialog) return {dialog: dialog.innerText};
const run = window.__labkitRunAll;
const panel = findPanel(arg);
if (!run || !run.done || !panel) return false;
const prompts = [...panel.node.querySelectorAll('.jp-InputPrompt')];
if (prompts.some((prompt) => prompt.textContent.includes('[*]'))) return false;
const indicator = panel.node.querySelector('.jp-Notebook-ExecutionIndicator');
if (indicator && indicator.dataset.status !== 'idle') return false;
return {ok: run.ok, error: run.error};
"""
)

# Outputs that render asynchronously after their cell finished: widget views and Mermaid, in
# outputs and in Markdown (each ```mermaid block of a Markdown cell becomes a diagram or an error).
_OUTPUTS_SETTLED = _script(
    """
const panel = findPanel(arg);
if (!panel) return false;
for (const output of panel.node.querySelectorAll('.jp-OutputArea-output')) {
  if (output.textContent.trim() === 'Loading widget...') return false;
}
for (const graph of panel.node.querySelectorAll('.jp-RenderedMermaid, .jp-RenderedSVG')) {
  if (graph.classList.contains('jp-mod-warning')) continue;
  const image = graph.querySelector('img');
  if (image && !image.complete) return false;
  if (!image && graph.classList.contains('jp-RenderedMermaid')) return false;
}
for (const cell of panel.content.widgets) {
  if (cell.model.type !== 'markdown' || !cell.rendered) continue;
  const source = cell.model.sharedModel.getSource();
  const blocks = source.match(/^[ \\t]*(```|~~~)[ \\t]*mermaid\\b/gm) || [];
  if (cell.node.querySelectorAll('.jp-RenderedMermaid').length < blocks.length) return false;
}
return true;
"""
)

_CELL_ERRORS = _script(
    """
const panel = findPanel(arg);
if (!panel) throw new Error('no notebook panel for ' + arg);
const found = [];
panel.content.widgets.forEach((cell, index) => {
  if (cell.model.type !== 'code') return;
  const tags = cell.model.getMetadata('tags') || [];
  const outputs = cell.model.outputs;
  for (let i = 0; i < outputs.length; i++) {
    const output = outputs.get(i);
    if (output.type !== 'error') continue;
    const json = output.toJSON();
    const child = cell.outputArea.widgets[i];
    found.push({
      cell: index,
      ename: json.ename || '',
      evalue: json.evalue || '',
      text: child ? child.node.innerText : '',
      expected: tags.includes('raises-exception'),
    });
  }
});
return found;
"""
)

_START_CELL = _script(
    """
const panel = findPanel(arg.path);
if (!panel) throw new Error('no notebook panel for ' + arg.path);
const notebook = panel.content;
if (arg.index < 0 || arg.index >= notebook.widgets.length) {
  throw new Error('no cell ' + arg.index + ' in ' + arg.path);
}
const key = cellRunKey(arg.path, arg.index);
window.__labkitWatches = window.__labkitWatches || {};
if (window.__labkitWatches[key]) window.__labkitWatches[key].observer.disconnect();
delete window.__labkitWatches[key];
if (arg.watch) {
  // Every text that `arg.watch` shows in the cell's output, recorded by a MutationObserver
  // as the page renders it (not sampled), each with whether the cell had finished by then.
  // Attributes are observed too: a selector on one (`g[data-state="current"]`) matches other
  // elements when only an attribute changed.
  const cell = notebook.widgets[arg.index];
  const watch = {values: [], last: null, observer: null};
  const record = () => {
    const found = [...cell.node.querySelectorAll('.jp-OutputArea ' + arg.watch)];
    const value = found.length ? found.map((element) => element.textContent).join('\\n') : null;
    if (value === null || value === watch.last) return;
    watch.last = value;
    watch.values.push({value, finished: cellFinished(panel, arg.path, arg.index)});
  };
  watch.observer = new MutationObserver(record);
  watch.observer.observe(
    cell.node, {childList: true, subtree: true, characterData: true, attributes: true});
  window.__labkitWatches[key] = watch;
}
window.jupyterapp.shell.activateById(panel.id);
notebook.activeCellIndex = arg.index;
notebook.deselectAll();
const run = {done: false, ok: null, error: null};
window.__labkitCells = window.__labkitCells || {};
window.__labkitCells[key] = run;
window.jupyterapp.commands.execute('notebook:run-cell').then(
  (ok) => { run.ok = ok; run.done = true; },
  (error) => { run.error = String(error); run.done = true; });
"""
)

_CELL_FINISHED = _script(
    """
const panel = findPanel(arg.path);
if (!panel || !cellFinished(panel, arg.path, arg.index)) return false;
const run = window.__labkitCells[cellRunKey(arg.path, arg.index)];
return {ok: run.ok, error: run.error};
"""
)

# What the watch set up by _START_CELL recorded, once the cell finished: the texts shown while
# it ran, in order. The observer is disconnected.
_WATCHED_OUTPUT = _script(
    """
const key = cellRunKey(arg.path, arg.index);
const watch = (window.__labkitWatches || {})[key];
if (!watch) throw new Error('no watch on cell ' + arg.index + ': start it with watch=...');
watch.observer.disconnect();
delete window.__labkitWatches[key];
return watch.values.filter((entry) => !entry.finished).map((entry) => entry.value);
"""
)

# Evaluates `arg.expression` in the notebook's kernel, silently: nothing shows in the notebook.
_KERNEL_VALUE = _script(
    """
const panel = findPanel(arg.path);
const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
if (!kernel) throw new Error('no kernel for ' + arg.path);
const future = kernel.requestExecute({
  code: '', silent: true, store_history: false, user_expressions: {value: arg.expression},
});
const late = new Promise((resolve) => setTimeout(
  () => resolve({error: 'no reply within ' + arg.timeout / 1000 + ' s'}), arg.timeout));
const answer = future.done.then((reply) => {
  const result = reply.content.user_expressions && reply.content.user_expressions.value;
  if (!result) return {error: 'the kernel returned no value (' + reply.content.status + ')'};
  if (result.status !== 'ok') return {error: result.ename + ': ' + result.evalue};
  return {value: result.data['text/plain']};
});
return Promise.race([answer, late]);
"""
)

_KERNEL_STATUS = _script(
    """
const panel = findPanel(arg);
const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
return kernel ? kernel.status : 'no kernel';
"""
)

# Mermaid draws some failures as a diagram of its own, which JupyterLab then shows like any
# other (an <img> of the SVG): its "error" diagram (a bomb, "Syntax error in text", the version),
# and, for a source longer than maxTextSize, a one-node flowchart reading the message below.
_MERMAID_ERROR = """
const MERMAID_ERROR_TEXTS = ['Syntax error in text', 'Maximum text size in diagram exceeded'];
// The SVG element an <img> shows from a data: URL (or an inline <svg>), parsed; else null.
const svgOf = (image) => {
  if (image.localName === 'svg') return image;
  const src = image.getAttribute('src') || '';
  const head = /^data:image\\/svg\\+xml(;[^,]*)?,/i.exec(src);
  if (!head) return null;
  let text;
  try {
    const body = src.slice(head[0].length);
    text = /;base64/i.test(head[1] || '')
      ? new TextDecoder().decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)))
      : decodeURIComponent(body);
  } catch (error) {
    return null;
  }
  const root = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
  return root.localName === 'svg' ? root : null;
};
// What a Mermaid error diagram says (its texts, outside <style>), or '' for any other SVG.
const mermaidError = (svg) => {
  if (!svg) return '';
  const texts = [];
  const walker = svg.ownerDocument.createTreeWalker(svg, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !node.parentNode.closest('style, script')) texts.push(text);
  }
  const isError = svg.getAttribute('aria-roledescription') === 'error'
    || svg.querySelector('.error-icon, .error-text') !== null
    || texts.some((text) => MERMAID_ERROR_TEXTS.includes(text));
  return isError ? texts.join(' ').slice(0, 300) || 'an error diagram' : '';
};
"""

_GRAPH_OUTPUTS = _script(
    _MERMAID_ERROR
    + """
const panel = findPanel(arg);
if (!panel) throw new Error('no notebook panel for ' + arg);
const graphs = panel.node.querySelectorAll('.jp-RenderedSVG, .jp-RenderedMermaid');
return [...graphs].map((graph) => {
  const kind = graph.classList.contains('jp-RenderedSVG') ? 'svg' : 'mermaid';
  const image = graph.querySelector('img, svg');
  let problem = '';
  if (graph.classList.contains('jp-mod-warning')) {
    // JupyterLab's box for a diagram Mermaid refused: the source, then Mermaid's message.
    const message = graph.querySelector('.jp-RenderedMermaid-Details > pre');
    const text = message && message.textContent.trim() ? message.textContent : graph.innerText;
    problem = 'render error: ' + text.trim().slice(0, 300);
  } else if (!image) {
    problem = 'no image: ' + graph.innerText.slice(0, 300);
  } else if (image.tagName === 'IMG' && !(image.complete && image.naturalWidth > 0)) {
    problem = 'image did not load';
  } else {
    const error = mermaidError(svgOf(image));
    if (error) problem = 'Mermaid error diagram: ' + error;
  }
  const box = (image || graph).getBoundingClientRect();
  const shown = (image || graph).checkVisibility({visibilityProperty: true, opacityProperty: true});
  if (!problem && !(box.width > 0 && box.height > 0)) problem = 'zero-size bounding box';
  if (!problem && !shown) problem = 'hidden by CSS';
  return {cell: cellIndex(panel, graph), kind, width: box.width, height: box.height, problem};
});
"""
)

_WIDGET_PROBLEMS = _script(
    """
const panel = findPanel(arg);
if (!panel) throw new Error('no notebook panel for ' + arg);
const problems = [];
for (const output of panel.node.querySelectorAll('.jp-OutputArea-output')) {
  const text = output.textContent.trim();
  if (text === 'Loading widget...' || text.startsWith('Error displaying widget')) {
    problems.push({cell: cellIndex(panel, output), text});
  }
}
for (const error of panel.node.querySelectorAll('.jupyter-widgets-error-widget')) {
  problems.push({
    cell: cellIndex(panel, error),
    text: 'the widget view failed to render (error placeholder)',
  });
}
return problems;
"""
)

# How many more pixels the notebook's scroller needs to show its last cell without scrolling
# (the blank space JupyterLab adds past the end does not count); scrolls it to the top first.
_NOTEBOOK_OVERFLOW = _script(
    """
const panel = findPanel(arg);
const scroller = panel && panel.node.querySelector('.jp-WindowedPanel-outer');
const cells = panel ? panel.node.querySelectorAll('.jp-Cell') : [];
if (!scroller || cells.length === 0) return 0;
scroller.scrollTop = 0;
const bottom = cells[cells.length - 1].getBoundingClientRect().bottom;
return Math.ceil(bottom - scroller.getBoundingClientRect().bottom);
"""
)


@dataclass(frozen=True)
class CellError:
    """An error output: the cell's index (from 0), the exception and the traceback as shown."""

    cell: int
    ename: str
    evalue: str
    text: str
    expected: bool  # the cell is tagged ``raises-exception``

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.ename}: {self.evalue}\n{self.text}"


@dataclass(frozen=True)
class GraphOutput:
    """An SVG image or Mermaid diagram in the notebook, its size on screen, and any problem."""

    cell: int
    kind: str
    width: float
    height: float
    problem: str

    @property
    def visible(self) -> bool:
        """Whether the graph was drawn (not as Mermaid's error box or error diagram) with a
        non-zero size, and nothing hides it."""
        return not self.problem

    def __str__(self) -> str:
        state = self.problem or "visible"
        return f"cell {self.cell}: {self.kind} {self.width:.0f}x{self.height:.0f} ({state})"


@dataclass(frozen=True)
class WidgetProblem:
    """A widget output that shows a placeholder or an error instead of its view."""

    cell: int
    text: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.text}"


def safe_name(name: str) -> str:
    """A file name made of ``name``'s letters, digits, dots, dashes and underscores."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "page"


class JupyterLabPage:
    """One browser page on a JupyterLab server, working on one open notebook at a time.

    The methods mirror what a reader does and sees: :meth:`open_notebook`, :meth:`run_all` (or
    :meth:`run_cell` one cell at a time), then :meth:`cell_errors`, :meth:`graph_outputs`,
    :meth:`widget_problems` and :meth:`screenshot`.
    """

    def __init__(self, page: Page, server: LabServer, artifacts: Path) -> None:
        self.page = page
        self.server = server
        self.artifacts = artifacts
        self.notebook: str | None = None
        self._panel_id: str | None = None

    def _path(self) -> str:
        if self.notebook is None:
            raise AssertionError("no notebook is open: call open_notebook(name) first")
        return self.notebook

    def open_notebook(self, name: str, timeout: float = 90.0) -> None:
        """Open ``name`` (relative to the server root) and wait until its kernel is idle.

        The workspace is reset first, so no notebook of an earlier test is restored. Fails if a
        dialog shows up instead (a notebook without ``metadata.kernelspec`` asks for a kernel).
        """
        self.notebook = name
        self._panel_id = None
        self.page.goto(self.server.notebook_url(name))
        try:
            handle = self.page.wait_for_function(
                _NOTEBOOK_READY, arg=name, timeout=timeout * 1000, polling=100
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{name}: the notebook or its kernel was not ready within {timeout:.0f} s"
            ) from None
        state = handle.json_value()
        if "dialog" in state:
            raise AssertionError(
                f"{name}: a dialog appeared while opening the notebook (does it have "
                f"metadata.kernelspec?):\n{state['dialog']}"
            )
        if "error" in state:
            raise AssertionError(f"{name}: {state['error']}")
        self._panel_id = state["ready"]

    def run_all(self, timeout: float = 150.0, settle_timeout: float = 20.0) -> bool:
        """Run all cells and wait until each finished and the kernel is idle.

        Then waits up to ``settle_timeout`` seconds for outputs that render after their cell
        finished (widget views, Mermaid diagrams); whatever has not rendered by then is reported
        by the checks. Returns JupyterLab's own verdict: ``False`` if a cell failed.
        """
        path = self._path()
        self.page.evaluate(_START_RUN_ALL, path)
        try:
            handle = self.page.wait_for_function(
                _RUN_ALL_FINISHED, arg=path, timeout=timeout * 1000, polling=100
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{path}: cells were still running after {timeout:.0f} s"
            ) from None
        result = handle.json_value()
        if "dialog" in result:
            raise AssertionError(f"{path}: a dialog appeared while running:\n{result['dialog']}")
        if result["error"]:
            raise AssertionError(f"{path}: 'Run All Cells' failed: {result['error']}")
        # What has not rendered in time is reported by widget_problems() and graph_outputs().
        with suppress(PlaywrightTimeoutError):
            self.page.wait_for_function(
                _OUTPUTS_SETTLED, arg=path, timeout=settle_timeout * 1000, polling=100
            )
        return bool(result["ok"])

    def cell_errors(self, include_expected: bool = False) -> list[CellError]:
        """Error outputs, in cell order; those of cells tagged ``raises-exception`` only when
        ``include_expected`` is true. ``stderr`` text is not an error."""
        found = [CellError(**entry) for entry in self.page.evaluate(_CELL_ERRORS, self._path())]
        return [error for error in found if include_expected or not error.expected]

    def graph_outputs(self) -> list[GraphOutput]:
        """Every SVG image and Mermaid diagram (outputs and Markdown), with any problem.

        Mermaid's failures are problems: JupyterLab's warning box for a diagram Mermaid refused
        (``render error: ...``, with Mermaid's message), and an image of Mermaid's own error
        diagram ("Syntax error in text") or of its "Maximum text size in diagram exceeded" stand-in
        (``Mermaid error diagram: ...``).
        """
        return [GraphOutput(**entry) for entry in self.page.evaluate(_GRAPH_OUTPUTS, self._path())]

    def widget_problems(self) -> list[WidgetProblem]:
        """Widget outputs showing "Loading widget...", "Error displaying widget..." or an error
        placeholder instead of their view."""
        entries = self.page.evaluate(_WIDGET_PROBLEMS, self._path())
        return [WidgetProblem(**entry) for entry in entries]

    def cell(self, index: int) -> Locator:
        """The cell at ``index`` (from 0) of the open notebook."""
        return self._panel().locator(".jp-Cell").nth(index)

    def output_of_cell(self, index: int) -> Locator:
        """The output area of the cell at ``index`` (from 0): scope widget clicks to it.

        Only the cell's own output area: an ``Output`` widget inside it has one of its own.
        """
        return self.cell(index).locator(".jp-Cell-outputArea")

    def start_cell(self, index: int, watch: str | None = None) -> None:
        """Start running the cell at ``index`` (from 0) alone, without waiting for it.

        With ``watch`` (a CSS selector), every text that what it matches in the cell's output
        shows from now on is recorded as the page renders it: see :meth:`output_changes`. The
        selector is matched again whenever the output changes, an attribute included, so one
        on a state (``g[data-state="current"] > title``) follows the state.
        """
        self.page.evaluate(_START_CELL, {"path": self._path(), "index": index, "watch": watch})

    def wait_for_cell(
        self, index: int, timeout: float = 60.0, settle_timeout: float = 20.0
    ) -> bool:
        """Wait until the cell started by :meth:`start_cell` finished; ``False`` if it failed.

        Then waits up to ``settle_timeout`` seconds for outputs that render after their cell
        finished, as :meth:`run_all` does.
        """
        path = self._path()
        try:
            handle = self.page.wait_for_function(
                _CELL_FINISHED,
                arg={"path": path, "index": index},
                timeout=timeout * 1000,
                polling=50,
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{path}: cell {index} was still running after {timeout:.0f} s"
            ) from None
        result = handle.json_value()
        if result["error"]:
            raise AssertionError(f"{path}: running cell {index} failed: {result['error']}")
        # What has not rendered in time is reported by widget_problems() and graph_outputs().
        with suppress(PlaywrightTimeoutError):
            self.page.wait_for_function(
                _OUTPUTS_SETTLED, arg=path, timeout=settle_timeout * 1000, polling=100
            )
        return bool(result["ok"])

    def run_cell(self, index: int, timeout: float = 60.0) -> bool:
        """Run the cell at ``index`` (from 0) alone and wait until it finished and its outputs
        rendered. Returns JupyterLab's verdict: ``False`` if the cell raised.
        """
        self.start_cell(index)
        return self.wait_for_cell(index, timeout)

    def output_changes(self, index: int, timeout: float = 60.0) -> list[str]:
        """Wait until the cell at ``index``, started with ``start_cell(index, watch=...)``,
        finished; return each text the watched elements showed while it ran.

        The texts are recorded in the page by a ``MutationObserver`` as they are rendered, so
        none is missed however busy the machine is. Each text is the texts of all the elements
        the selector matched, in document order, joined by line breaks. Successive texts
        differ; a text first shown once the cell had finished is not included.
        """
        path = self._path()
        self.wait_for_cell(index, timeout)
        seen: list[str] = self.page.evaluate(_WATCHED_OUTPUT, {"path": path, "index": index})
        return seen

    def kernel_value(self, expression: str, timeout: float = 30.0) -> str:
        """The ``repr`` of ``expression`` evaluated in the open notebook's kernel.

        Evaluated silently (as a ``user_expressions`` entry): nothing appears in the notebook.
        Fails if the expression raises.
        """
        path = self._path()
        result = self.page.evaluate(
            _KERNEL_VALUE, {"path": path, "expression": expression, "timeout": timeout * 1000}
        )
        if "error" in result:
            raise AssertionError(f"{path}: evaluating {expression!r} failed: {result['error']}")
        value: str = result["value"]
        return value

    def kernel_status(self) -> str:
        """The status of the open notebook's kernel as the page knows it (``"idle"``, ...)."""
        status: str = self.page.evaluate(_KERNEL_STATUS, self._path())
        return status

    def wait_for_kernel_idle(self, timeout: float = 30.0) -> None:
        """Wait until the open notebook's kernel reports ``idle``."""
        path = self._path()
        try:
            self.page.wait_for_function(
                f"(arg) => ({_KERNEL_STATUS})(arg) === 'idle'",
                arg=path,
                timeout=timeout * 1000,
                polling=50,
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{path}: the kernel was {self.kernel_status()!r}, not idle, after {timeout} s"
            ) from None

    def output_with_button(self, label: str) -> Locator:
        """The output area of the first cell whose output has a button labelled ``label``.

        Matched on the button's text: an icon's glyph is not part of it.
        """
        text = re.compile(rf"^\s*{re.escape(label)}\s*$")
        button = self.page.locator("button").filter(has_text=text)
        return self._panel().locator(".jp-Cell-outputArea").filter(has=button).first

    def screenshot_output(self, index: int, name: str) -> Path:
        """Save a PNG of the output area of the cell at ``index`` as ``<artifacts>/<name>.png``."""
        return self.screenshot_element(self.output_of_cell(index), name)

    def screenshot_element(self, element: Locator, name: str) -> Path:
        """Save a PNG of ``element`` alone (scrolled into view) as ``<artifacts>/<name>.png``."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        target = self.artifacts / f"{safe_name(name)}.png"
        element.screenshot(path=str(target))
        return target

    def _panel(self) -> Locator:
        if self._panel_id is None:
            raise AssertionError("no notebook is open: call open_notebook(name) first")
        return self.page.locator(f"#{self._panel_id}")

    def screenshot(self, name: str) -> Path:
        """Save a PNG of the whole page as ``<artifacts>/<name>.png``, every cell in view."""
        return save_screenshot(self.page, self.artifacts, name, notebook=self.notebook)

    def report(self) -> str:
        """Everything the checks found, one problem per line (empty when all is well)."""
        lines = [f"error output: {error}" for error in self.cell_errors()]
        lines += [f"graph: {graph}" for graph in self.graph_outputs() if not graph.visible]
        lines += [f"widget: {problem}" for problem in self.widget_problems()]
        return "\n".join(lines)


MAX_SCREENSHOT_HEIGHT = 16000


def save_screenshot(page: Page, folder: Path, name: str, notebook: str | None = None) -> Path:
    """Save a full-page PNG of ``page`` as ``<folder>/<name>.png`` and return its path.

    JupyterLab scrolls inside the notebook, not the page; with ``notebook`` (its server path)
    the viewport is first made tall enough to show all of that notebook's cells.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{safe_name(name)}.png"
    with _viewport_fitting(page, notebook):
        page.screenshot(path=str(target), full_page=True)
    return target


@contextmanager
def _viewport_fitting(page: Page, notebook: str | None) -> Iterator[None]:
    """Grow the viewport so the open notebook needs no scrolling; restore it afterwards."""
    original = page.viewport_size
    overflow = page.evaluate(_NOTEBOOK_OVERFLOW, notebook) if notebook and original else 0
    if not original or overflow <= 0:
        yield
        return
    height = min(original["height"] + overflow, MAX_SCREENSHOT_HEIGHT)
    page.set_viewport_size({"width": original["width"], "height": height})
    try:
        # Wait for JupyterLab's layout to follow the resize. A notebook taller than the cap
        # never fits, and a partly cut-off screenshot is still worth having.
        if height < MAX_SCREENSHOT_HEIGHT:
            with suppress(PlaywrightTimeoutError):
                page.wait_for_function(
                    f"(arg) => ({_NOTEBOOK_OVERFLOW})(arg) <= 1", arg=notebook, timeout=15_000
                )
        yield
    finally:
        page.set_viewport_size(original)


def copy_tree(source: Path, target: Path, skip: Sequence[str] = (".ipynb_checkpoints",)) -> None:
    """Copy ``source`` into ``target`` (created if needed), leaving out ``skip`` and caches."""
    if not source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(*skip, "__pycache__", "*.pyc"),
    )
