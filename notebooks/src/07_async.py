# %% [markdown]
# # Chapter 7 · Async: waiting without freezing
#
# Most of the time an LLM application spends is spent **waiting**: for a model to answer, a
# page to download, a database to reply. While a plain Python function waits, nothing else in
# the program can run. This chapter shows the async variants of nodes and flows. They wait in
# a way that lets other work go on, which makes it possible to wait for many things at once.

# %%
import asyncio
import time

from pocketflow import (
    AsyncBatchNode,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    Flow,
    Node,
)
from standin import call_llm, fetch_recipes

# %% [markdown]
# ## Blocking and non-blocking waits
#
# A notebook kernel runs an asyncio **event loop**. Tasks on the loop take turns, and a task
# gives up its turn only at an `await`. Here is a task that wants to print a line after
# 0.05 seconds, followed by a 0.2 second wait written two ways.
#
# `time.sleep` blocks. The loop is stuck inside it, so the task cannot run until the wait is
# over, even though its moment came long before:


# %%
async def tick():
    await asyncio.sleep(0.05)
    print("tick")


ticker = asyncio.create_task(tick())
time.sleep(0.2)
print("blocking wait over")
await ticker

# %% [markdown]
# `await asyncio.sleep` hands the loop back while it waits, so the task runs on time:

# %%
ticker = asyncio.create_task(tick())
await asyncio.sleep(0.2)
print("async wait over")
await ticker

# %% [markdown]
# (A cell can `await` at the top level because the kernel's loop is already running. More on
# that at the end of the chapter.)

# %% [markdown]
# ## `AsyncNode` and `AsyncFlow`: fetch, then suggest
#
# An `AsyncNode` has the same three phases, written as coroutines: `prep_async`,
# `exec_async` and `post_async`, plus `exec_fallback_async`. Retries work as before, but the
# pause between tries is an async wait.
#
# The example asks a (stand-in) recipe site for recipes with an ingredient. That is a network
# call, so it is awaited. Then a language model suggests one of the recipes. `fetch_recipes`
# from `standin.py` takes about 0.05 seconds, like a fast web service.


# %%
class FetchRecipes(AsyncNode):
    async def prep_async(self, shared):
        return shared["ingredient"]

    async def exec_async(self, ingredient):
        return await fetch_recipes(ingredient)

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"] = exec_res
        return "suggest"


class SuggestRecipe(Node):
    def prep(self, shared):
        return shared["ingredient"], shared["recipes"]

    def exec(self, inputs):
        ingredient, recipes = inputs
        prompt = f"Suggest a recipe.\nIngredient: {ingredient}\nRecipes: {', '.join(recipes)}"
        return call_llm(prompt)

    def post(self, shared, prep_res, exec_res):
        shared["suggestion"] = exec_res


# %% [markdown]
# `SuggestRecipe` is a plain `Node`. An `AsyncFlow` awaits its async nodes and simply calls
# the plain ones, so the two mix freely. Keep plain nodes for quick work, though: while one
# runs, it holds the loop like any plain function.

# %%
fetch = FetchRecipes()
fetch - "suggest" >> SuggestRecipe()
recipe_flow = AsyncFlow(start=fetch, name="recipes")
recipe_flow

# %% [markdown]
# An async flow is run with `await flow.run_async(shared)`:

# %%
shared = {"ingredient": "mushroom"}
await recipe_flow.run_async(shared)
print(shared["recipes"])
print(shared["suggestion"])

# %% [markdown]
# A plain `Flow` cannot run an async node, because it has no loop to await on. It says so,
# and what to use instead, here as soon as it is given an async node to start with:

# %%
try:
    Flow(start=FetchRecipes())
except RuntimeError as exc:
    print(exc)

# %% [markdown]
# ## Many waits at once: `AsyncBatchNode` and `AsyncParallelBatchNode`
#
# Fetching recipes for six ingredients one after another takes six waits. Since the waits do
# not depend on each other, they can overlap. The two async batch nodes share their hooks
# and differ only in that:
#
# * `AsyncBatchNode` awaits the items **one after another**;
# * `AsyncParallelBatchNode` starts them **all at once** and waits for all of them. Results
#   still come back in input order.
#
# So the hooks are written once, in a small base class, and combined with either:


# %%
class FetchEach:
    """The hooks: one fetch per ingredient, results stored by ingredient."""

    async def prep_async(self, shared):
        return shared["ingredients"]

    async def exec_async(self, ingredient):
        return await fetch_recipes(ingredient, delay=0.1)

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"] = dict(zip(prep_res, exec_res, strict=True))


class FetchInTurn(FetchEach, AsyncBatchNode):
    pass


class FetchAtOnce(FetchEach, AsyncParallelBatchNode):
    pass


INGREDIENTS = ["chicken", "tomato", "mushroom", "lentil", "egg", "potato"]


async def seconds_to_run(node, shared):
    started = time.perf_counter()
    await node.run_async(shared)
    return time.perf_counter() - started


in_turn, at_once = {"ingredients": INGREDIENTS}, {"ingredients": INGREDIENTS}
slow = await seconds_to_run(FetchInTurn(), in_turn)
fast = await seconds_to_run(FetchAtOnce(), at_once)
print("same results:", in_turn["recipes"] == at_once["recipes"])

# %% tags=["nbval-ignore-output"]
# Measured times vary a little from run to run, so this cell's output is not compared in tests.
print(f"one after another: {slow:.1f} s, all at once: {fast:.1f} s")
print(f"about {slow / fast:.0f}x faster")

# %% [markdown]
# Six waits of 0.1 seconds take about 0.6 seconds in turn and about 0.1 seconds together.

# %% [markdown]
# ## Limiting concurrency: `max_concurrency`
#
# "All at once" is not always polite. An API may allow only a few requests at a time, and a
# thousand items would open a thousand connections. `max_concurrency=n` keeps at most `n`
# items in flight. As soon as one finishes, the next starts. To see the limit hold, this
# version counts how many fetches are running at any moment:


# %%
class FetchCounted(FetchAtOnce):
    def __init__(self, **options):
        super().__init__(**options)
        self.running = self.peak = 0

    async def exec_async(self, ingredient):
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await super().exec_async(ingredient)
        finally:
            self.running -= 1


for limit in [None, 2]:
    node = FetchCounted(max_concurrency=limit)
    await node.run_async({"ingredients": INGREDIENTS})
    print(f"max_concurrency={limit}: at most {node.peak} fetches at a time")

# %% [markdown]
# ## When something fails
#
# If one item of a parallel batch raises, the batch has failed, and there is no point
# letting the rest finish. The other items are **cancelled**, and `run_async` waits until
# they have stopped before the exception reaches you. No stray task is left running in the
# background. To see it, this version notes how each fetch ended:

# %%
outcomes = {}


class FetchOrExplode(FetchAtOnce):
    async def exec_async(self, ingredient):
        try:
            if ingredient == "plutonium":
                await asyncio.sleep(0.01)
                raise LookupError(f"no recipes with {ingredient}, and please do not try")
            result = await super().exec_async(ingredient)
        except asyncio.CancelledError:
            outcomes[ingredient] = "cancelled"
            raise
        except LookupError:
            outcomes[ingredient] = "failed"
            raise
        outcomes[ingredient] = "done"
        return result


try:
    await FetchOrExplode().run_async({"ingredients": ["egg", "plutonium", "tomato"]})
except LookupError as exc:
    print("LookupError:", exc)
print(dict(sorted(outcomes.items())))

# %% [markdown]
# Cancelling from the outside works the same way. Here a timeout gives up on a whole flow
# after 0.03 seconds, while every fetch still needs 0.1:

# %%
outcomes.clear()
try:
    await asyncio.wait_for(FetchOrExplode().run_async({"ingredients": INGREDIENTS}), 0.03)
except asyncio.TimeoutError:
    print("gave up after 0.03 s")
print(dict(sorted(outcomes.items())))

# %% [markdown]
# ## Async inside Jupyter
#
# Outside a notebook, a script starts a loop itself, with `asyncio.run(main())`. Inside a
# notebook, the loop is already running, which has two consequences.
#
# * Top-level `await`, as used throughout this chapter, just works. It is the simplest way
#   to run an async flow in a cell.
# * `asyncio.run` does not work, because a loop cannot be started inside a running one:

# %%
coroutine = recipe_flow.run_async({"ingredient": "egg"})
try:
    asyncio.run(coroutine)
except RuntimeError as exc:
    coroutine.close()  # it never ran; closing it avoids a "never awaited" warning
    print("RuntimeError:", exc)

# %% [markdown]
# That matters when the code that wants to run a flow cannot `await`: a plain function, a
# library callback, a button handler. For those, `pocketflow_widgets.run(flow, shared)` runs
# any flow, sync or async, from sync code, whether or not a loop is running. (In a
# notebook it re-enters the kernel's loop with `nest_asyncio2`, the first time it needs to.)

# %%
from pocketflow_widgets import run


def suggest_for(ingredient):
    """A plain function: no `await` allowed in here."""
    shared = {"ingredient": ingredient}
    run(recipe_flow, shared)
    return shared["suggestion"]


suggest_for("lentils")

# %% [markdown]
# ## Summary
#
# * A blocking wait stops everything. An `await` lets other tasks run meanwhile.
# * `AsyncNode` has async hooks. `AsyncFlow` runs async and plain nodes together, with
#   `await flow.run_async(shared)`.
# * `AsyncBatchNode` awaits items in turn. `AsyncParallelBatchNode` overlaps them, with
#   results in input order. `max_concurrency` caps how many run at once.
# * A failure cancels the other items, and cancelling the run cancels them all. Nothing keeps
#   running behind your back.
# * In Jupyter, use top-level `await`. From sync code, use `pocketflow_widgets.run`.

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Suggest a recipe for each of `["tomato", "egg", "potato"]` at once, by running the whole
# fetch-then-suggest flow per ingredient with an `AsyncParallelBatchFlow` (Chapter 6's
# `BatchFlow`, made async and concurrent). Its `prep_async` returns one param dict per
# ingredient. The nodes then take the ingredient from `self.params` and file their results
# under it in `shared["suggestions"]`, so the concurrent runs do not overwrite each other.

# %% [markdown]
# ### Solution


# %% tags=["solution"]
class FetchFor(AsyncNode):
    async def exec_async(self, _):
        return await fetch_recipes(self.params["ingredient"])

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"][self.params["ingredient"]] = exec_res


class SuggestFor(Node):
    def prep(self, shared):
        ingredient = self.params["ingredient"]
        return ingredient, shared["recipes"][ingredient]

    def exec(self, inputs):
        ingredient, recipes = inputs
        prompt = f"Suggest a recipe.\nIngredient: {ingredient}\nRecipes: {', '.join(recipes)}"
        return call_llm(prompt)

    def post(self, shared, prep_res, exec_res):
        shared["suggestions"][self.params["ingredient"]] = exec_res


class EachIngredient(AsyncParallelBatchFlow):
    async def prep_async(self, shared):
        return [{"ingredient": ingredient} for ingredient in shared["ingredients"]]


fetch_for = FetchFor()
fetch_for >> SuggestFor()
each_ingredient = EachIngredient(start=fetch_for, name="each ingredient")

shared = {"ingredients": ["tomato", "egg", "potato"], "recipes": {}, "suggestions": {}}
await each_ingredient.run_async(shared)
for ingredient in shared["ingredients"]:
    print(f"{ingredient:>7}: {shared['suggestions'][ingredient]}")
each_ingredient
