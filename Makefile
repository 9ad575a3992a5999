# The two commands a newcomer needs: `make lab` and `make test`.
#
# Both create (once) and reuse the virtual environment $(VENV) with a Python >= 3.10, and
# re-install the project into it only when pyproject.toml (or this Makefile) changes.
#
#   make lab                     start JupyterLab on notebooks/
#   make lab LAB_ARGS=--port=9999
#   make test                    system packages, ruff, mypy, then pytest on tests/
#   make test PYTEST_ARGS="-k stepper -x"
#   make test PYTEST_ARGS="-m 'not browser'"    (markers: browser, notebooks, slow)
#   make notebooks               rebuild and execute the chapter notebooks from notebooks/src/
#   make notebooks CHAPTERS="03 07"
#   make lite                    build the offline JupyterLite edition in build/lite/
#   make book                    build the static book in build/book/
#   make PYTHON=python3.12 ...   choose the interpreter used to create $(VENV)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?=
PYTEST_ARGS ?=
CHAPTERS ?=
# No browser to open without a display. Jupyter refuses to run as root unless told it may,
# so that flag is kept apart from LAB_ARGS and survives overriding it.
LAB_ARGS ?= $(if $(DISPLAY),,--no-browser)
LAB_ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

BIN := $(VENV)/bin

.PHONY: help lab test notebooks lite book lint typecheck pytest system-deps mermaid-parser clean

help:
	@echo "make lab    start JupyterLab on notebooks/ (LAB_ARGS=... for extra options)"
	@echo "make test   system packages, ruff, mypy and pytest (PYTEST_ARGS=... for pytest)"
	@echo "make notebooks  rebuild the chapter notebooks (CHAPTERS=\"03 07\" for some)"
	@echo "make lite   build the offline JupyterLite edition in build/lite/"
	@echo "make book   build the static book in build/book/"
	@echo "make clean  remove $(VENV)"

$(BIN)/python:
	@interpreter=$$(PYTHON="$(PYTHON)" bash scripts/find_python.sh) && \
	echo "creating $(VENV) with $$interpreter" && \
	"$$interpreter" -m venv "$(VENV)"

# One stamp per install flavour, each an extra of pyproject.toml: `lab` adds JupyterLab and a
# kernel to the library and the toolkit; `test` adds to that the test tools and what the
# notebook build uses. Each is redone only when pyproject.toml or this file (which says what to
# install) is newer than its stamp.
$(VENV)/.installed-lab: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[lab]'
	@touch $@

$(VENV)/.installed-test: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	@touch $@

# The JupyterLite tooling lives in an environment of its own: installed beside JupyterLab, the
# Pyodide kernel's extension would join JupyterLab's. It is created with the same interpreter
# search as $(VENV).
LITE_VENV ?= .venv-lite
$(LITE_VENV)/bin/python:
	@interpreter=$$(PYTHON="$(PYTHON)" bash scripts/find_python.sh) && \
	echo "creating $(LITE_VENV) with $$interpreter" && \
	"$$interpreter" -m venv "$(LITE_VENV)"

$(LITE_VENV)/.installed-lite: pyproject.toml Makefile | $(LITE_VENV)/bin/python
	$(LITE_VENV)/bin/python -m pip install --quiet --editable '.[lite]'
	@touch $@

# Offline from the package registries; downloads are kept in .cache/lite/. Built again only
# when something that goes into the site changed (the stamp is written once a build passed).
LITE_STAMP := build/.lite-built
LITE_SOURCES := pyproject.toml Makefile scripts/build_lite.py \
	$(wildcard notebooks/*.ipynb notebooks/*.py notebooks/README.md) \
	$(wildcard pocketflow/*.py widgets/*.py widgets/*.js widgets/*.css)
$(LITE_STAMP): $(LITE_VENV)/.installed-lite $(LITE_SOURCES)
	$(LITE_VENV)/bin/python scripts/build_lite.py
	@touch $@

lite: $(LITE_STAMP)

# The static book: the chapters as HTML with their stored outputs and widget views, linked to
# the Lite edition beside it in build/, and an API reference; npm downloads in .cache/book/.
BOOK_STAMP := build/.book-built
BOOK_SOURCES := pyproject.toml Makefile scripts/build_book.py scripts/book/anywidget-static.js \
	$(wildcard notebooks/*.ipynb pocketflow/*.py widgets/*.py)
$(BOOK_STAMP): $(VENV)/.installed-test $(BOOK_SOURCES)
	$(BIN)/python scripts/build_book.py
	@touch $@

book: $(BOOK_STAMP)

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks/ $(LAB_ROOT_ARGS) $(LAB_ARGS)

# The stored graphs are drawn by Graphviz, so the build needs `dot` as the tests do.
notebooks: $(VENV)/.installed-test system-deps
	$(BIN)/python notebooks/build.py $(CHAPTERS)

system-deps:
	bash scripts/system_deps.sh

# Mermaid's real parser, for the graph tests (skipped there when Node.js is missing).
export PF_MERMAID_DIR ?= $(CURDIR)/.cache/mermaid
mermaid-parser:
	bash scripts/mermaid_parser.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Prerequisites of a rule run left to right (and in parallel only under -j).
# The JupyterLite site and the book are built before pytest for the tests that open them.
test: $(VENV)/.installed-test system-deps mermaid-parser lint typecheck $(LITE_STAMP) $(BOOK_STAMP) \
	pytest

clean:
	rm -rf "$(VENV)"
