"""The chapters' helpers: how ``build.py`` reads a source, and the stand-in LLM."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"notebooks_{name}", NOTEBOOKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load("build")
standin = _load("standin")


def _source(tmp_path: Path, text: str) -> Path:
    source = tmp_path / "99_chapter.py"
    source.write_text(text, encoding="utf-8")
    return source


def test_read_keeps_markdown_code_and_tags(tmp_path: Path) -> None:
    text = (
        "# %% [markdown]\n# # Title\n#\n# Prose.\n\n"
        "# %%\nx = 1\n\n\n"
        '# %% [markdown] tags=["exercise"]\n# Try it.\n\n'
        '# %% tags=["solution", "nbval-ignore-output"]\nprint(x)\n'
    )
    cells = [
        (c.cell_type, c.source, dict(c.metadata)) for c in build.read(_source(tmp_path, text)).cells
    ]
    assert cells == [
        ("markdown", "# Title\n\nProse.", {}),
        ("code", "x = 1", {}),
        ("markdown", "Try it.", {"tags": ["exercise"]}),
        (
            "code",
            "print(x)",
            {"tags": ["solution", "nbval-ignore-output"], "jupyter": {"source_hidden": True}},
        ),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("# %% tags=solution\n1\n", "incorrectly_encoded_metadata='tags=solution'"),
        ("# %% A title\n1\n", "title='A title'"),
    ],
)
def test_read_refuses_metadata_the_notebook_would_lose(
    tmp_path: Path, text: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        build.read(_source(tmp_path, text))


def test_read_gives_the_kernelspec_and_stable_ids(tmp_path: Path) -> None:
    notebook = build.read(_source(tmp_path, "# %%\n1\n# %% [markdown]\n# hi\n"))
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert [cell.id for cell in notebook.cells] == ["cell-00", "cell-01"]
    nbformat.validate(notebook)


def test_sanitize_names_a_cell_file_the_same_on_every_machine() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("warn()"))
    warning = "{}:1: UserWarning: Flow ends: 'x' not found in ['y']\n  warn()\n"
    notebook.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=warning.format(path))
        for path in ("/tmp/ipykernel_7879/4031828522.py", "/var/tmp/ipykernel_12/3.py")
    ]
    build.sanitize(notebook)
    assert [o.text for o in notebook.cells[0].outputs] == [warning.format("<cell>")] * 2


def test_sanitize_leaves_memory_addresses_out_of_reprs() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("timeline"))
    shown = {"text/plain": "<pocketflow_widgets.timeline.Timeline object at 0x7f8866bf1010>"}
    notebook.cells[0].outputs = [nbformat.v4.new_output("execute_result", data=shown)]
    build.sanitize(notebook)
    assert notebook.cells[0].outputs[0].data["text/plain"] == (
        "<pocketflow_widgets.timeline.Timeline object>"
    )


@pytest.fixture(autouse=True)
def _stand_in_llm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POCKETFLOW_LLM", raising=False)


def test_the_stand_in_recognises_the_chapters_prompts() -> None:
    summary = standin.call_llm("Summarize this note in one sentence.\nText: One. Two.")
    assert summary == "One."
    decision = json.loads(
        standin.call_llm(
            "Decide the next action.\nQuestion: How do honeybees find flowers?\n"
            "Context:\n(nothing yet)\n\nReply with JSON."
        )
    )
    assert decision["action"] == "search"
    assert decision["queries"]
    suggestion = standin.call_llm("Suggest a recipe.\nIngredient: egg\nRecipes: Omelette, Flan")
    assert "omelette" in suggestion or "flan" in suggestion


def test_the_stand_in_is_deterministic_and_answers_anything() -> None:
    prompt = "What is the airspeed of a swallow?"
    assert standin.call_llm(prompt) == standin.call_llm(prompt)
    assert standin.call_llm(prompt) != standin.call_llm(prompt + "!")


def test_search_ranks_the_corpus_by_shared_words() -> None:
    titles = [d.title for d in standin.search_web("waggle dance honeybee")]
    assert titles[0] == "The waggle dance"
    assert standin.search_web("quantum knitting") == []


def test_flaky_fails_the_first_calls_then_delegates() -> None:
    call = standin.flaky(2, llm=str.upper)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            call("hi")
    assert call("hi") == "HI"


def test_async_helpers_answer_like_the_sync_ones() -> None:
    async def both() -> tuple[str, list[str]]:
        reply = await standin.call_llm_async("Summarize.\nText: A. B.", delay=0)
        return reply, await standin.fetch_recipes("Eggs", delay=0)

    reply, recipes = asyncio.run(both())
    assert reply == "A."
    assert recipes == standin.RECIPES["egg"]


def test_openai_mode_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETFLOW_LLM", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        standin.call_llm("hello")
