"""Build the static book of the chapters in ``build/book/``.

Each chapter notebook becomes one HTML page with its stored outputs (the graphs Graphviz drew
when the chapter was built) and its widget views, drawn in the page from the widget state the
notebook keeps, with no kernel. Each page links to the same chapter in the JupyterLite edition
(``build/lite/``, ``make lite``), and an API reference of ``pocketflow`` and
``pocketflow_widgets`` is generated from their docstrings.

Nothing is loaded from a CDN: the widget manager of static pages
(``@jupyter-widgets/html-manager``) and RequireJS come from npm, kept in ``.cache/book/``, and
served from the book's ``static/`` folder with ``scripts/book/anywidget-static.js``, which
draws anywidget views (the graph and the timeline) from the ES module in their state.

Usage (``make book`` runs it in ``.venv``)::

    python scripts/build_book.py [--output build/book]
"""

from __future__ import annotations

import argparse
import html
import importlib
import json
import pkgutil
import pydoc
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Final

from nbconvert import HTMLExporter

REPO: Final = Path(__file__).resolve().parents[1]
NOTEBOOKS: Final = REPO / "notebooks"
CACHE: Final = REPO / ".cache" / "book"
DEFAULT_OUTPUT: Final = REPO / "build" / "book"
SHIM: Final = Path(__file__).resolve().parent / "book" / "anywidget-static.js"

#: npm packages of the page's widget manager and its module loader, and the files taken from
#: each (a pattern on the path inside the package).
NPM_FILES: Final = {
    (
        "@jupyter-widgets/html-manager",
        "1.0.15",
    ): r"dist/(embed-amd\.js|[0-9a-f]+\.(woff2?|ttf|eot|svg))",
    ("requirejs", "2.3.8"): r"require\.js",
}

#: Where the Lite edition lies, seen from a page of the book (both live in ``build/``).
LITE_FROM_BOOK: Final = "../lite/lab/index.html"

#: The packages whose modules the API reference documents.
API_PACKAGES: Final = ("pocketflow", "pocketflow_widgets")

#: The page template: JupyterLab's, with RequireJS told where "anywidget" is and where the widget
#: manager's modules are (it loads its fonts from beside them), no MathJax (the chapters have no
#: formulas, and it would come from a CDN) and a bar of links on top.
TEMPLATE: Final = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}
<script src="{{ resources.require_js_url }}"></script>
<script>
require.config({paths: {anywidget: "static/anywidget-static", "@jupyter-widgets": "static"}});
</script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block body_header -%}
{{ super() }}
<nav class="pf-book-nav">{{ resources.book_nav }}</nav>
{%- endblock body_header -%}
"""

NAV_STYLE: Final = """<style>
.pf-book-nav { display: flex; gap: 1.5em; padding: 0.6em 1em; border-bottom: 1px solid #d0d7de;
  font-family: var(--jp-ui-font-family, sans-serif); }
</style>"""


def say(message: str) -> None:
    """Print one line of progress."""
    print(f"[book] {message}", flush=True)


def npm_package(name: str, version: str) -> Path:
    """The tarball of the npm package ``name@version``, from the cache or ``npm pack``."""
    folder = CACHE / "npm"
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tarball.exists():
        say(f"npm {name}@{version}: downloading")
        command = ["npm", "pack", f"{name}@{version}", "--pack-destination", str(folder)]
        subprocess.run(command, check=True, capture_output=True)
    if not tarball.exists():
        raise SystemExit(f"npm pack {name}@{version} did not write {tarball}")
    return tarball


def copy_static(target: Path) -> None:
    """The widget manager, RequireJS and the anywidget views into ``target``."""
    target.mkdir(parents=True)
    for (name, version), pattern in NPM_FILES.items():
        with tarfile.open(npm_package(name, version)) as archive:
            for member in archive.getmembers():
                path = member.name.removeprefix("package/")
                stream = archive.extractfile(member) if member.isfile() else None
                if stream is not None and re.fullmatch(pattern, path):
                    (target / Path(path).name).write_bytes(stream.read())
    shutil.copy2(SHIM, target / SHIM.name)


def nav(links: list[tuple[str, str]]) -> str:
    """The bar of links on top of a page."""
    return " ".join(f'<a href="{html.escape(url)}">{html.escape(text)}</a>' for text, url in links)


def chapter_page(notebook_path: Path, exporter: HTMLExporter) -> str:
    """The HTML page of one chapter, with its stored outputs and widget views."""
    links = [
        ("Contents", "index.html"),
        ("Run this chapter in your browser", f"{LITE_FROM_BOOK}?path={notebook_path.name}"),
        ("API reference", "api/index.html"),
    ]
    body, _ = exporter.from_filename(str(notebook_path), resources={"book_nav": nav(links)})
    return body.replace("</head>", f"{NAV_STYLE}\n</head>", 1)


def chapter_title(notebook_path: Path) -> str:
    """The first heading of a chapter, or its file name."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        match = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.MULTILINE)
        if cell["cell_type"] == "markdown" and match:
            return match.group(1).strip()
    return notebook_path.stem


def modules_of(package: str) -> list[str]:
    """``package`` and its modules, by name."""
    root = importlib.import_module(package)
    names = [package]
    for module in pkgutil.iter_modules(root.__path__, prefix=f"{package}."):
        names.append(module.name)
    return names


def write_api(target: Path) -> list[str]:
    """One page per module of :data:`API_PACKAGES`, from their docstrings, and an index."""
    target.mkdir(parents=True)
    renderer = pydoc.HTMLDoc()
    names = [name for package in API_PACKAGES for name in modules_of(package)]
    for name in names:
        module = importlib.import_module(name)
        page = renderer.page(name, renderer.docmodule(module))
        # pydoc links each module to its file on this machine, which a reader cannot open.
        page = re.sub(r'<a href="file:[^"]*">([^<]*)</a>', r"\1", page)
        (target / f"{name}.html").write_text(page, encoding="utf-8")
    items = "\n".join(f'<li><a href="{name}.html">{name}</a></li>' for name in names)
    index = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>API reference</title></head><body><p><a href='../index.html'>Contents</a></p>"
        f"<h1>API reference</h1><ul>\n{items}\n</ul></body></html>\n"
    )
    (target / "index.html").write_text(index, encoding="utf-8")
    return names


def write_index(target: Path, chapters: list[Path]) -> None:
    """The book's contents page."""
    items = "\n".join(
        f'<li><a href="{chapter.stem}.html">{html.escape(chapter_title(chapter))}</a> '
        f'(<a href="{LITE_FROM_BOOK}?path={chapter.name}">run it in your browser</a>)</li>'
        for chapter in chapters
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>PocketFlow Notebooks</title></head><body><h1>PocketFlow Notebooks</h1>"
        "<p>The chapters with their outputs as they were when built. Each also runs in your "
        "browser, with nothing installed (the JupyterLite edition).</p>"
        f"<ol>\n{items}\n</ol><p><a href='api/index.html'>API reference</a></p></body></html>\n"
    )
    (target / "index.html").write_text(page, encoding="utf-8")


def build(output: Path) -> None:
    """Build the book into ``output``."""
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    copy_static(output / "static")
    templates = output.with_name(output.name + "-templates")
    if templates.exists():
        shutil.rmtree(templates)
    (templates / "pocketflow_book").mkdir(parents=True)
    (templates / "pocketflow_book" / "index.html.j2").write_text(TEMPLATE)
    (templates / "pocketflow_book" / "conf.json").write_text('{"base_template": "lab"}\n')
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]  # nbconvert's __init__ is untyped
        template_name="pocketflow_book",
        extra_template_basedirs=[str(templates)],
        require_js_url="static/require.js",
        widget_renderer_url="static/embed-amd.js",
    )
    chapters = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for chapter in chapters:
        (output / f"{chapter.stem}.html").write_text(
            chapter_page(chapter, exporter), encoding="utf-8"
        )
    say(f"chapters: {', '.join(chapter.stem for chapter in chapters)}")
    write_index(output, chapters)
    modules = write_api(output / "api")
    say(f"API reference: {len(modules)} modules")
    size = sum(path.stat().st_size for path in output.rglob("*") if path.is_file())
    say(f"built {output}: {size / 1e6:.1f} MB")


def main(argv: list[str]) -> None:
    """Build the book where ``--output`` says."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the book's folder")
    build(parser.parse_args(argv).output.resolve())


if __name__ == "__main__":
    main(sys.argv[1:])
