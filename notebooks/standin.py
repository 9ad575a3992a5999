"""A stand-in for the outside world the chapters talk to: an LLM, a web search, a recipe site.

Every function here is deterministic and answers at once (the async ones after a short,
simulated latency), so each chapter runs offline in seconds and prints the same thing every
time. The stand-in LLM recognises the prompts the chapters send:

- "Summarize ..."                          -> one short sentence taken from the text;
- "... decide the next action ..."         -> a small JSON decision for the research agent;
- "Suggest a recipe ..."                   -> one of the recipes listed in the prompt;
- "Answer the question ..."                -> an answer stitched from the context given;

and gives a stable, hash-derived reply to anything else.

Set ``POCKETFLOW_LLM=openai`` (with ``OPENAI_API_KEY``, and optionally ``OPENAI_BASE_URL`` and
``OPENAI_MODEL``) to send the prompts to an OpenAI-compatible chat completions endpoint instead.
The search and the recipe site stay built in either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "Document",
    "call_llm",
    "call_llm_async",
    "fetch_recipes",
    "flaky",
    "search_web",
    "search_web_async",
]

#: Seconds an async call pretends to wait for the network.
LATENCY: Final = 0.05

_WORD = re.compile(r"[a-z0-9']+")
#: What a prompt's context says when there is none.
_NO_CONTEXT: Final = ("", "(none)", "(nothing yet)")
_STOPWORDS: Final = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by do does each for from how in is it its of on or other that "
        "the their them they this to tell was what when where which who why with",
    )
)


# -- the LLM ------------------------------------------------------------------------------


def call_llm(prompt: str) -> str:
    """Reply to ``prompt``: from the stand-in rules, or from a real model if configured."""
    if os.environ.get("POCKETFLOW_LLM", "").lower() == "openai":
        return _call_openai(prompt)
    lowered = prompt.lower()
    for trigger, rule in _RULES:
        if trigger in lowered:
            return rule(prompt)
    return _generic_reply(prompt)


async def call_llm_async(prompt: str, delay: float = LATENCY) -> str:
    """:func:`call_llm` after ``delay`` seconds of simulated latency, without blocking the loop."""
    if os.environ.get("POCKETFLOW_LLM", "").lower() == "openai":
        return await asyncio.to_thread(_call_openai, prompt)
    await asyncio.sleep(delay)
    return call_llm(prompt)


def flaky(failures: int, llm: Callable[[str], str] = call_llm) -> Callable[[str], str]:
    """A version of ``llm`` whose first ``failures`` calls raise ``ConnectionError``.

    It stands in for a service that is briefly unavailable, to show retries.
    """
    calls = 0

    def call(prompt: str) -> str:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise ConnectionError(f"service unavailable (call {calls})")
        return llm(prompt)

    return call


def _summarize(prompt: str) -> str:
    text = _after_label(prompt, "text") or prompt.split(":", 1)[-1]
    sentence = _sentences(text)[0] if _sentences(text) else text.strip()
    words = sentence.split()
    if len(words) > 14:
        sentence = " ".join(words[:14]).rstrip(",;:") + " ..."
    return sentence


def _decide(prompt: str) -> str:
    question = _after_label(prompt, "question")
    context = _after_label(prompt, "context")
    if context not in _NO_CONTEXT:
        decision = {
            "action": "answer",
            "reason": "the context covers the question",
        }
    else:
        keywords = _keywords(question)
        decision = {
            "action": "search",
            "reason": "nothing is known yet",
            "queries": keywords[:3],
        }
    return json.dumps(decision)


def _suggest_recipe(prompt: str) -> str:
    ingredient = _after_label(prompt, "ingredient").strip() or "whatever is in the fridge"
    recipes = [r.strip() for r in _after_label(prompt, "recipes").split(",") if r.strip()]
    if not recipes:
        return f"Keep it simple: roast the {ingredient} with salt, oil and a hot oven."
    choice = recipes[_stable_index(ingredient, len(recipes))]
    return f"Try the {choice.lower()}: it makes the {ingredient} the star of the plate."


def _answer(prompt: str) -> str:
    question = _after_label(prompt, "question")
    context = _after_label(prompt, "context")
    if context in _NO_CONTEXT:
        return "I could not find anything to answer that with."
    wanted = set(_keywords(question))
    # Context lines may be "- Title: text"; the titles are not sentences of the answer.
    sentences = _sentences(re.sub(r"(?m)^\s*[-*]\s*[^:\n]{1,60}:\s+", "", context))
    overlap = [len(wanted & set(_keywords(s))) for s in sentences]
    chosen = sorted(range(len(sentences)), key=lambda i: -overlap[i])[:3]
    return " ".join(sentences[i] for i in sorted(chosen) if overlap[i] or i == chosen[0])


def _generic_reply(prompt: str) -> str:
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    openings = ["Noted.", "Interesting.", "Understood.", "Good question."]
    return (
        f"{openings[int(digest, 16) % len(openings)]} (stand-in reply {digest}: no rule "
        "matches this prompt; set POCKETFLOW_LLM=openai to ask a real model.)"
    )


_RULES: Final[tuple[tuple[str, Callable[[str], str]], ...]] = (
    ("decide the next action", _decide),
    ("suggest a recipe", _suggest_recipe),
    ("answer the question", _answer),
    ("summarize", _summarize),
)


def _call_openai(prompt: str) -> str:
    """Send ``prompt`` to an OpenAI-compatible ``/chat/completions`` endpoint."""
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise RuntimeError("POCKETFLOW_LLM=openai needs OPENAI_API_KEY to be set")
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    body = {
        "model": os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        "messages": [{"role": "user", "content": prompt}],
    }
    request = urllib.request.Request(
        f"{base}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        reply = json.load(response)
    return str(reply["choices"][0]["message"]["content"])


# -- the web ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One page of the built-in corpus."""

    title: str
    url: str
    text: str


CORPUS: Final = (
    Document(
        "The waggle dance",
        "https://example.org/bees/waggle-dance",
        "A forager honeybee that has found good flowers returns to the hive and performs a "
        "waggle dance on the vertical comb. The angle of the waggle run from straight up "
        "matches the angle between the food and the sun. The longer the waggle run lasts, "
        "the farther away the flowers are.",
    ),
    Document(
        "Karl von Frisch",
        "https://example.org/people/karl-von-frisch",
        "Karl von Frisch was an Austrian biologist who decoded the honeybee dance language. "
        "He shared the 1973 Nobel Prize in Physiology or Medicine with Konrad Lorenz and "
        "Nikolaas Tinbergen.",
    ),
    Document(
        "Life in a honeybee colony",
        "https://example.org/bees/colony",
        "A honeybee colony has one queen, a few hundred drones in summer and tens of "
        "thousands of workers. Older workers become foragers and collect nectar, pollen and "
        "water for the colony.",
    ),
    Document(
        "How bees make honey",
        "https://example.org/bees/honey",
        "Bees turn nectar into honey by adding enzymes and fanning it with their wings until "
        "most of the water evaporates. They store the honey in wax cells and cap them.",
    ),
    Document(
        "Scent and flower constancy",
        "https://example.org/bees/scent",
        "Dancing foragers carry the scent of the flowers they visited, and the bees that "
        "follow a dance smell it. Recruits use the distance, the direction and the scent "
        "together to find the same kind of flower.",
    ),
    Document(
        "Sourdough basics",
        "https://example.org/kitchen/sourdough",
        "A sourdough starter is flour and water colonised by wild yeast and lactic acid "
        "bacteria. Feeding it regularly keeps it active enough to raise bread.",
    ),
    Document(
        "The Moon",
        "https://example.org/space/moon",
        "The Moon orbits the Earth about once every 27.3 days and always shows the same face "
        "to it. Its gravity drives most of the ocean tides.",
    ),
)


def search_web(query: str, k: int = 2) -> list[Document]:
    """The ``k`` documents of the built-in corpus that share the most words with ``query``."""
    wanted = set(_keywords(query))
    scored = [(len(wanted & set(_keywords(f"{d.title} {d.text}"))), d) for d in CORPUS]
    ranked = sorted((pair for pair in scored if pair[0] > 0), key=lambda pair: -pair[0])
    return [document for _, document in ranked[:k]]


async def search_web_async(query: str, k: int = 2, delay: float = LATENCY) -> list[Document]:
    """:func:`search_web` after ``delay`` seconds of simulated latency."""
    await asyncio.sleep(delay)
    return search_web(query, k)


RECIPES: Final = {
    "chicken": ["Chicken curry", "Lemon roast chicken", "Chicken noodle soup"],
    "tomato": ["Tomato soup", "Shakshuka", "Panzanella"],
    "mushroom": ["Mushroom risotto", "Mushroom stroganoff", "Stuffed mushrooms"],
    "lentil": ["Red lentil dal", "Lentil shepherd's pie", "Lentil salad"],
    "egg": ["Spanish omelette", "Egg fried rice", "Devilled eggs"],
    "potato": ["Potato gratin", "Patatas bravas", "Potato leek soup"],
}


async def fetch_recipes(ingredient: str, delay: float = LATENCY) -> list[str]:
    """Recipes that use ``ingredient``, after ``delay`` seconds of simulated network time."""
    await asyncio.sleep(delay)
    return list(RECIPES.get(ingredient.lower().removesuffix("s"), []))


# -- text helpers -------------------------------------------------------------------------


def _after_label(prompt: str, label: str) -> str:
    """The text after a line starting ``Label:``, up to a blank line or the next label."""
    match = re.search(
        rf"^{label}:[ \t]*(.*?)(?=\n[ \t]*\n|\n[A-Za-z][A-Za-z ]*:|\Z)",
        prompt,
        re.IGNORECASE | re.MULTILINE | re.DOTALL,
    )
    return match.group(1).strip() if match else ""


def _sentences(text: str) -> list[str]:
    """The sentences of ``text`` (list bullets count as sentence breaks)."""
    flat = re.sub(r"(?:^|\s*\n)\s*(?:[-*]\s+)?", " ", text.strip()).strip()
    return [s for s in re.split(r"(?<=[.!?])\s+", flat) if s]


def _keywords(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        word = word.removesuffix("'s")
        if word not in _STOPWORDS and len(word) > 2:
            plural = len(word) > 4 and word.endswith("s") and not word.endswith("ss")
            seen.setdefault(word[:-1] if plural else word, None)
    return list(seen)


def _stable_index(key: str, size: int) -> int:
    """An index in ``range(size)`` that depends only on ``key``."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % size
