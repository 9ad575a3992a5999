"""Browser-test fixtures: JupyterLab served once per session, Chromium driven by Playwright.

- ``lab_server``: one ``jupyter lab`` for the session, serving a temporary copy of ``notebooks/``
  with this folder's ``fixtures/`` notebooks under ``browser-fixtures/``.
- ``browser``: one headless Chromium for the session; ``page``: a fresh context and page per test.
- ``lab``: a :class:`labkit.JupyterLabPage` on that page (open, run, check, screenshot). Kernels
  started by a test are shut down after it.
- ``make_lab``: the README's ``make lab``, started in the repository on a free port.

Screenshots (every notebook run, and the page of any failed test, with its console errors) go to
``test-artifacts/browser/`` at the repository root; the summary prints where.

The helpers live in ``labkit.py`` beside this file, loaded here by path: test files are imported
with ``--import-mode=importlib`` and reach the helpers only through these fixtures.
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
FIXTURES_DIR = HERE / "fixtures"
FIXTURES_FOLDER = "browser-fixtures"  # where the fixture notebooks live on the server
ARTIFACTS_DIR = REPO / "test-artifacts" / "browser"

BROWSER_MARKER = "browser: drives JupyterLab in a real Chromium (needs /usr/bin/chromium)"

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_ARTIFACTS_USED = pytest.StashKey[bool]()


def _load_labkit() -> ModuleType:
    """Import ``labkit.py`` from this folder under a name no other module uses."""
    name = "pocketflow_browser_labkit"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "labkit.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HERE / 'labkit.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


labkit = _load_labkit()
collect_ignore_glob = ["fixtures/*"]  # notebooks that fail on purpose: not for nbval
LabServer = labkit.LabServer
JupyterLabPage = labkit.JupyterLabPage


# --------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``browser`` marker (``--strict-markers`` rejects unknown ones)."""
    config.addinivalue_line("markers", BROWSER_MARKER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the total time of the browser tests and where their screenshots are."""
    config = terminalreporter.config
    reports = [
        report
        for category in terminalreporter.stats.values()
        for report in category
        if isinstance(report, pytest.TestReport) and "browser" in report.keywords
    ]
    if reports:
        total = sum(report.duration for report in reports)
        terminalreporter.write_line(f"browser tests: {total:.1f} s in total")
    if config.stash.get(_ARTIFACTS_USED, False):
        terminalreporter.write_line(f"browser test artifacts: {ARTIFACTS_DIR}")


def _failed(request: pytest.FixtureRequest) -> bool:
    """Whether the requesting test's setup or call failed so far."""
    reports = request.node.stash.get(_REPORTS, {})
    return any(reports[when].failed for when in ("setup", "call") if when in reports)


# --------------------------------------------------------------------------------------------
# Session fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """``test-artifacts/browser/``, emptied once per session."""
    if ARTIFACTS_DIR.exists():
        shutil.rmtree(ARTIFACTS_DIR)
    ARTIFACTS_DIR.mkdir(parents=True)
    request.config.stash[_ARTIFACTS_USED] = True
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver process (sync API) for the session."""
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str, playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless Chromium (Debian's, Playwright's own download needs the network)."""
    chromium = playwright_driver.chromium.launch(
        executable_path=chromium_path, args=list(labkit.CHROMIUM_ARGS), headless=True
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def lab_server(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 serving a copy of ``notebooks/`` plus the fixture notebooks.

    Depends on ``browser`` only so that a missing Chromium skips before a server starts.
    """
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    labkit.copy_tree(NOTEBOOKS_DIR, root)
    labkit.copy_tree(FIXTURES_DIR, root / FIXTURES_FOLDER)
    server = labkit.start_lab_server(home, root)
    try:
        yield server
    finally:
        server.stop()
        shutil.copy(server.log_path, artifacts_dir / "jupyterlab-server.log")


@pytest.fixture(scope="session")
def labkit_module() -> ModuleType:
    """The helpers of ``labkit.py``, for tests that drive a site other than ``lab_server`` (the
    JupyterLite edition): :class:`labkit.JupyterLabPage` works with any server object that has
    ``notebook_url(name)``."""
    return labkit


# --------------------------------------------------------------------------------------------
# Per-test fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """A page in a fresh browser context; on failure, a screenshot and the console errors."""
    context = browser.new_context(viewport=labkit.VIEWPORT)
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda message: console.append(f"[{message.type}] {message.text}"))
    try:
        yield new_page
    finally:
        if _failed(request):
            name = labkit.safe_name(f"FAILED-{request.node.name}")
            if not new_page.is_closed():
                labkit.save_screenshot(new_page, artifacts_dir, name)
            (artifacts_dir / f"{name}.console.txt").write_text("\n".join(console) + "\n")
        context.close()


@pytest.fixture
def lab(
    page: Page, lab_server: LabServer, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[JupyterLabPage]:
    """A :class:`labkit.JupyterLabPage` on ``lab_server``; its kernels are shut down afterwards.

    On failure the screenshot is taken here, with the notebook fitted to the page, before the
    page is closed and the kernels are shut down.
    """
    driver = labkit.JupyterLabPage(page, lab_server, artifacts_dir)
    try:
        yield driver
    finally:
        if _failed(request):
            driver.screenshot(f"FAILED-{request.node.name}")
        page.close()
        labkit.shut_down_sessions(lab_server.base_url, lab_server.token)


@pytest.fixture
def screenshot(artifacts_dir: Path) -> Callable[[Page, str], Path]:
    """``screenshot(page, name)``: a full-page PNG in the artifacts folder; returns its path."""

    def take(page: Page, name: str) -> Path:
        return labkit.save_screenshot(page, artifacts_dir, name)

    return take


@pytest.fixture
def fixture_notebook(lab_server: LabServer) -> Callable[[str], str]:
    """Server path of a notebook in ``tests/browser/fixtures/``: ``fixture_notebook("x.ipynb")``."""

    def server_path(name: str) -> str:
        if not (FIXTURES_DIR / name).is_file():
            raise FileNotFoundError(f"no fixture notebook {FIXTURES_DIR / name}")
        return f"{FIXTURES_FOLDER}/{name}"

    return server_path


@pytest.fixture
def make_lab(browser: Browser, tmp_path: Path) -> Iterator[LabServer]:
    """``make lab`` run in the repository, as the README says, on a free port with a token.

    Only ``LAB_ARGS`` is overridden; settings, workspaces and runtime files go to ``tmp_path``.
    The process group (make and JupyterLab) is ended afterwards if the test did not end it.
    """
    port = labkit.free_port()
    token = secrets.token_hex(16)
    lab_args = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    env = labkit.isolated_jupyter_env(tmp_path)
    for variable in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # when run from `make test`
        env.pop(variable, None)
    log_path = tmp_path / "make-lab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["make", "lab", f"LAB_ARGS={' '.join(lab_args)}"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = labkit.LabServer(f"http://127.0.0.1:{port}", token, NOTEBOOKS_DIR, log_path, process)
    try:
        # The first `make lab` after pyproject.toml changed re-installs the project first.
        labkit.wait_for_server(server.base_url, token, process, log_path, timeout=240)
        yield server
    finally:
        labkit.stop_process_group(process)
