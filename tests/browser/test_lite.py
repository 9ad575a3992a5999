"""The chapters anywhere: the JupyterLite edition (``make lite``) and the static book
(``make book``) in Chromium, served from 127.0.0.1, offline.

``build/`` is served by Python's ``http.server`` on 127.0.0.1 (the book links to the Lite edition
beside it), and nothing else is reachable: every request of the page to another address is
aborted by a Playwright route (and recorded, so that a test can say the page asked for nothing
outside the site), and Chromium sends what the route does not see, such as a service worker's
own requests, to a proxy that does not exist.

The Lite kernel is Pyodide, started anew in each page, so a chapter's first cell waits for it.
The time from loading the page to the end of the first chapter's first cell is printed and kept
in ``test-artifacts/browser/lite-timings.txt``, not asserted.

The site and the book are built by ``make lite`` and ``make book``, and by ``make test`` when
their sources changed; without them these tests are skipped (fail under ``CI``), saying so.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
SITE = BUILD / "lite"
BOOK = BUILD / "book"
NOTEBOOKS = REPO / "notebooks"
FIRST_CHAPTER = "01_shared_state.ipynb"
FULL_KERNEL_TAG = "full-kernel"  # cells that the Lite edition shows but does not run

#: Starting Pyodide in a page (its runtime, then IPython and the kernel installed from the
#: site) takes about half a minute on the 2-core machine; longer while it is busy.
KERNEL_START_TIMEOUT = 180.0
CHAPTER_TIMEOUT = 240.0
WAIT_MS = 20_000  # how long a click may take to show in the page

#: Where Chromium sends every request the route does not handle: nothing listens there. Chromium
#: sends no request for a loopback address (the site) through a proxy.
DEAD_PROXY = "http://127.0.0.1:9"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without writing a line per request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Served:
    """``build/`` served on 127.0.0.1."""

    base_url: str

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (which starts with ``/``)."""
        return f"{self.base_url}{path}"

    def inside(self, url: str) -> bool:
        """Whether ``url`` is on this server."""
        return url == self.base_url or url.startswith(f"{self.base_url}/")


@dataclass
class LiteSite(Served):
    """The Lite site at ``base_url``: what ``labkit.JupyterLabPage`` asks a server for."""

    def notebook_url(self, name: str) -> str:
        """URL that opens the notebook ``name`` in the site's JupyterLab."""
        return self.url(f"/lab/index.html?path={quote(name)}")


@dataclass
class OfflinePage:
    """A page whose requests outside the site are aborted, with the URLs they went to."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


def require_built(path: Path, command: str) -> None:
    """Skip (fail under ``CI``) unless ``path`` exists, saying to run ``command``."""
    if path.exists():
        return
    message = f"{path} is missing: build it with `{command}`"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """``build/`` served by ``http.server`` on 127.0.0.1 at a free port, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="build-site", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def lite_site(served: Served) -> LiteSite:
    """The Lite site in ``build/lite/``, served."""
    require_built(SITE / "jupyter-lite.json", "make lite")
    return LiteSite(served.url("/lite"))


@pytest.fixture(scope="module")
def offline_browser(
    playwright_driver: Playwright, chromium_path: str, labkit_module: ModuleType
) -> Iterator[Browser]:
    """Headless Chromium whose requests to anywhere but loopback go to a dead proxy."""
    chromium = playwright_driver.chromium.launch(
        executable_path=chromium_path,
        args=[*labkit_module.CHROMIUM_ARGS, f"--proxy-server={DEAD_PROXY}"],
        headless=True,
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def offline(
    offline_browser: Browser,
    served: Served,
    request: pytest.FixtureRequest,
    artifacts_dir: Path,
    labkit_module: ModuleType,
) -> Iterator[OfflinePage]:
    """A fresh page whose requests outside ``served`` are aborted and recorded.

    Afterwards its console messages are kept in the artifacts folder.
    """
    context = offline_browser.new_context(viewport=labkit_module.VIEWPORT)
    offline_page = OfflinePage(context.new_page())

    def only_the_site(route: Route) -> None:
        if served.inside(route.request.url):
            route.continue_()
        else:
            offline_page.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    context.route("**/*", only_the_site)
    offline_page.page.on(
        "console", lambda message: offline_page.console.append(f"[{message.type}] {message.text}")
    )
    try:
        yield offline_page
    finally:
        name = labkit_module.safe_name(f"lite-{request.node.name}")
        (artifacts_dir / f"{name}.console.txt").write_text("\n".join(offline_page.console) + "\n")
        context.close()


@pytest.fixture
def lite(
    offline: OfflinePage,
    lite_site: LiteSite,
    artifacts_dir: Path,
    labkit_module: ModuleType,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A ``labkit.JupyterLabPage`` on the Lite site, in the ``offline`` page; afterwards, a
    screenshot of the notebook it opened, every cell in view."""
    driver = labkit_module.JupyterLabPage(offline.page, lite_site, artifacts_dir)
    try:
        yield driver
    finally:
        if driver.notebook is not None and not offline.page.is_closed():
            driver.screenshot(f"lite-{request.node.name}")


def code_cells(chapter: str) -> list[int]:
    """Indexes of the code cells of ``chapter`` that run in the Lite edition."""
    cells = json.loads((NOTEBOOKS / chapter).read_text(encoding="utf-8"))["cells"]
    return [
        index
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and FULL_KERNEL_TAG not in cell.get("metadata", {}).get("tags", [])
    ]


def milliseconds_since_load(page: Page) -> float:
    """Milliseconds since the page's navigation started."""
    elapsed: float = page.evaluate("() => performance.now()")
    return elapsed


def test_requests_outside_the_site_are_blocked(offline: OfflinePage, lite_site: LiteSite) -> None:
    # The check the other tests rely on: the page cannot reach anything but the site.
    offline.page.goto(lite_site.url("/jupyter-lite.json"))
    reached = offline.page.evaluate(
        """async (urls) => Promise.all(urls.map((url) =>
             fetch(url).then(() => 'reached', () => 'failed')))""",
        ["https://pypi.org/simple/", "http://192.0.2.1/", lite_site.url("/jupyter-lite.json")],
    )
    assert reached == ["failed", "failed", "reached"]
    assert offline.blocked == ["https://pypi.org/simple/", "http://192.0.2.1/"]


def test_first_chapter_runs_offline_and_draws_its_graph(
    lite: Any, offline: OfflinePage, artifacts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, *rest = code_cells(FIRST_CHAPTER)
    lite.open_notebook(FIRST_CHAPTER, timeout=KERNEL_START_TIMEOUT)
    kernel_ready = milliseconds_since_load(offline.page)
    assert lite.run_cell(first, timeout=KERNEL_START_TIMEOUT), lite.report()
    first_cell_done = milliseconds_since_load(offline.page)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    line = (
        f"{FIRST_CHAPTER}: kernel ready {kernel_ready / 1000:.1f} s, first cell done "
        f"{first_cell_done / 1000:.1f} s after the page started loading (load average {load})"
    )
    with capsys.disabled():
        print(f"\n[lite] {line}")
    with (artifacts_dir / "lite-timings.txt").open("a", encoding="utf-8") as timings:
        timings.write(line + "\n")

    assert lite.cell_errors() == []
    for index in rest:
        assert lite.run_cell(index, timeout=CHAPTER_TIMEOUT), lite.report()
    assert lite.report() == ""
    graphs = lite.graph_outputs()
    assert graphs, "no graph drawn"
    # No `dot` in Pyodide: a flow draws itself as Mermaid, and JupyterLite renders it.
    assert {graph.kind for graph in graphs} == {"mermaid"}
    assert all(graph.visible for graph in graphs), [str(graph) for graph in graphs]
    assert offline.blocked == []


#: Chapters run by the tests above; every other one runs in the test below.
STEPPER_CHAPTERS = ("02_nodes.ipynb", "08_agent.ipynb")
OTHER_CHAPTERS = sorted(
    path.name
    for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
    if path.name not in {FIRST_CHAPTER, *STEPPER_CHAPTERS}
)


@pytest.mark.parametrize("chapter", OTHER_CHAPTERS)
def test_chapter_runs_in_the_browser(lite: Any, offline: OfflinePage, chapter: str) -> None:
    lite.open_notebook(chapter, timeout=KERNEL_START_TIMEOUT)
    for index in code_cells(chapter):
        assert lite.run_cell(index, timeout=CHAPTER_TIMEOUT), f"cell {index}:\n{lite.report()}"
    assert lite.report() == ""
    assert all(graph.visible for graph in lite.graph_outputs())
    assert offline.blocked == []


@pytest.mark.parametrize(
    "chapter",
    [
        pytest.param("02_nodes.ipynb", id="sync-02_nodes"),
        pytest.param("08_agent.ipynb", id="async-08_agent"),
    ],
)
def test_stepper_clicks_advance_in_a_chapter(lite: Any, offline: OfflinePage, chapter: str) -> None:
    lite.open_notebook(chapter, timeout=KERNEL_START_TIMEOUT)
    for index in code_cells(chapter):
        assert lite.run_cell(index, timeout=CHAPTER_TIMEOUT), lite.report()
    assert lite.report() == ""
    output = lite.output_with_button("Step")
    status = output.locator(".pf-status")
    # The status line is the kernel's Stepper state as the page received it (the Pyodide
    # kernel answers no user_expressions, so it is not asked directly).
    expect(status).to_have_text(re.compile(r"^#\d+ "), timeout=WAIT_MS)
    before = int(re.match(r"#(\d+)", status.inner_text())[1])  # type: ignore[index]
    step = output.locator("button").filter(has_text=re.compile(r"^\s*Step\s*$"))
    expect(step).to_be_enabled()

    step.click()
    expect(status).to_have_text(re.compile(rf"^#{before + 1} "), timeout=WAIT_MS)
    lite.wait_for_kernel_idle()
    assert lite.report() == ""
    assert offline.blocked == []


# --------------------------------------------------------------------------------------------
# The static book
# --------------------------------------------------------------------------------------------

BOOK_CHAPTERS = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
GRAPH_WIDGET = "pocketflow_widgets.view.GraphWidget"
TIMELINE_WIDGET = "pocketflow_widgets.timeline.Timeline"

#: Whether the page is done drawing: each widget view the html-manager put in place of its
#: script, and every image loaded.
_BOOK_DRAWN = f"""() => {{
  const views = [...document.querySelectorAll('script[type="{VIEW_MIME}"]')];
  const drawn = views.every((view) => {{
    const area = view.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.children.length > 0;
  }});
  return drawn && [...document.images].every((image) => image.complete);
}}"""

_BOOK_SHOWS = f"""() => {{
  const shown = (element) => {{
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }};
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
  return {{
    views: document.querySelectorAll('script[type="{VIEW_MIME}"]').length,
    widget_errors: outputs.filter((output) =>
      /Error displaying widget|Loading widget/.test(output.textContent)).length,
    broken_images: [...document.images].filter((image) => !image.naturalWidth).length,
    svg_images: [...document.querySelectorAll('img[src^="data:image/svg+xml"]')]
      .filter(shown).length,
    graph_views: [...document.querySelectorAll('.pf-graph svg')].filter(shown).length,
    timelines: [...document.querySelectorAll('.pf-timeline')].filter(shown).length,
  }};
}}"""


def shown_in_book(chapter: str) -> dict[str, int]:
    """What the book page of ``chapter`` should show, from its notebook: the widget views, the
    graph and timeline widgets inside them, and the SVG images among its outputs."""
    notebook = json.loads((NOTEBOOKS / chapter).read_text(encoding="utf-8"))
    state = notebook["metadata"].get("widgets", {}).get(STATE_MIME, {})
    models = state.get("state", {})
    outputs = [output for cell in notebook["cells"] for output in cell.get("outputs", [])]
    views = [
        output["data"][VIEW_MIME]["model_id"]
        for output in outputs
        if VIEW_MIME in output.get("data", {})
    ]
    reached: list[str] = []
    pending = list(views)
    while pending:  # a view and the models it holds (a box's children), by IPY_MODEL_ links
        model_id = pending.pop()
        reached.append(model_id)
        text = json.dumps(models.get(model_id, {}).get("state", {}))
        pending.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", text))
    kinds = [models.get(model_id, {}).get("state", {}).get("_anywidget_id") for model_id in reached]
    return {
        "views": len(views),
        "widget_errors": 0,
        "broken_images": 0,
        "svg_images": sum("image/svg+xml" in output.get("data", {}) for output in outputs),
        "graph_views": kinds.count(GRAPH_WIDGET),
        "timelines": kinds.count(TIMELINE_WIDGET),
    }


@pytest.fixture(scope="module")
def book(served: Served) -> Served:
    """The server of ``build/``, once the book is there."""
    require_built(BOOK / "index.html", "make book")
    return served


@pytest.mark.parametrize("chapter", BOOK_CHAPTERS)
def test_book_page_draws_its_graphs_and_widget_views_offline(
    book: Served, offline: OfflinePage, chapter: str, artifacts_dir: Path, labkit_module: ModuleType
) -> None:
    page = offline.page
    page.goto(book.url(f"/book/{Path(chapter).stem}.html"))
    page.wait_for_function(_BOOK_DRAWN, timeout=WAIT_MS, polling=100)
    labkit_module.save_screenshot(page, artifacts_dir, f"book-{Path(chapter).stem}")
    assert page.evaluate(_BOOK_SHOWS) == shown_in_book(chapter)
    assert offline.blocked == []
    # Its link to the same chapter in the Lite edition leads to a page of the site.
    lite_link = page.get_by_role("link", name="Run this chapter in your browser")
    target = book.url(f"/lite/lab/index.html?path={chapter}")
    assert page.evaluate("(link) => link.href", lite_link.element_handle()) == target


def test_book_contents_and_api_reference(book: Served, offline: OfflinePage) -> None:
    page = offline.page
    page.goto(book.url("/book/index.html"))
    chapters = page.locator("ol > li > a:first-child")
    expect(chapters).to_have_count(len(BOOK_CHAPTERS))
    page.get_by_role("link", name="API reference").click()
    page.get_by_role("link", name="pocketflow_widgets.running", exact=True).click()
    # Generated from the docstrings: the helper's own words.
    expect(page.locator("body")).to_contain_text("Run ``flow`` (any node or flow, sync or async)")
    assert offline.blocked == []
