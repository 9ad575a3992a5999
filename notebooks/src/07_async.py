# %% [markdown]
# # Chapter 7 · Async: waiting without freezing
#
# Most of the time an LLM application spends is spent **waiting**: for a model to answer, a
# page to download, a database to reply. While a plain Python function waits, nothing else in
# the program can run. This chapter shows the async variants of nodes and flows. They wait in
# a way that lets other work go on, which makes it possible to wait for many things at once.
#
# **What you will learn:**
#
# * why an `await` lets other work go on while a blocking call does not
# * `AsyncNode`, `AsyncFlow`, and the four async batches, in turn and in parallel
# * how to see concurrency on a timeline
# * what goes wrong: a blocking call, a shared key, a forgotten `await`, a failing item
# * how this library runs an async flow underneath
#
# **What you need:** Chapters 1 to 6, and Python's `async` and `await` at the level of "a
# coroutine is awaited".

# %%
import asyncio
import itertools
import time

from pocketflow import (
    AsyncBatchFlow,
    AsyncBatchNode,
    AsyncFlow,
    AsyncNode,
    AsyncParallelBatchFlow,
    AsyncParallelBatchNode,
    Flow,
    Node,
)
from standin import call_llm, call_llm_async, fetch_recipes

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

# %% [markdown] tags=["claim:async-cur-retry-unset"]
# ## `AsyncNode` and `AsyncFlow`: fetch, then suggest
#
# An `AsyncNode` has the same three phases, written as coroutines: `prep_async`,
# `exec_async` and `post_async`, plus `exec_fallback_async`. Retries work as before, but the
# pause between tries is an async wait.
#
# > **Beyond the original PocketFlow:** here `self.cur_retry` counts the tries of an async
# > node too, as it does for a plain one (Chapter 2). The original never sets it on async
# > nodes: reading it in `exec_async` raises `AttributeError` there.
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


# %% [markdown] tags=["claim:async-flow-runs-sync-nodes"]
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

# %% [markdown] tags=["claim:async-start-node-fails-when-run"]
# A plain `Flow` cannot run an async node. It runs each node by calling it, as plain code,
# and plain code cannot await: the phases of an async node are coroutines, and only an
# `AsyncFlow` (or your own `await`) runs them. An `AsyncNode` therefore refuses to be run the
# plain way, with `RuntimeError("Use run_async.")`. This library adds which node and which
# flow, and what to use instead, and says so as soon as an async node is wired as a plain
# flow's start:
#
# > **Beyond the original PocketFlow:** the original accepts `Flow(start=FetchRecipes())`
# > and fails only when the flow is run, with the bare message `Use run_async.`

# %%
try:
    Flow(start=FetchRecipes())
except RuntimeError as exc:
    print(exc)

# %% [markdown] tags=["claim:parallel-results-in-order"]
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

# %% [markdown] tags=["claim:no-toolkit"]
# ### Seeing the overlap: a timeline of the run
#
# > **Beyond the original PocketFlow:** `arecord` (which records a run) and `Timeline` (which
# > draws it in time) are additions of this library. The original PocketFlow keeps no record
# > of a run and draws nothing.
#
# Two totals say that one batch was quicker. A timeline shows where the time went.
# `trace = await arecord(flow, shared)` runs a flow and keeps each of its events together with
# the moment it happened, and `Timeline(trace)` draws them with time running from left to
# right: a lane for each node run, and under a batch node a lane for each item, with a bar
# from the moment the item started to the moment it finished.
#
# To put both batches on one time axis, the cell below chains them in a single flow. Look for:
#
# * under **in turn**, a staircase: each item's bar starts where the previous one ends;
# * under **at once**, six bars stacked on top of each other: they start and end together;
# * the whole of **at once** is about as wide as one step of the staircase.
#
# Hover over a bar to see what it was: the item, its result, how long it took.

# %%
from pocketflow.trace import arecord
from pocketflow_widgets import Timeline

in_turn_batch, at_once_batch = FetchInTurn(name="in turn"), FetchAtOnce(name="at once")
in_turn_batch >> at_once_batch
batches = AsyncFlow(start=in_turn_batch, name="two batches")
trace = await arecord(batches, {"ingredients": INGREDIENTS})
Timeline(trace)

# %% [markdown]
# The chart is built from data that Python can read as well: `timeline.bars` lists every bar,
# with its kind (`"try"` for one try of a batch item), its start and end in nanoseconds from
# the beginning of the run, and the id of the node it belongs to. Two small helpers read
# them: the bars of one batch's items, and the largest number of them that overlap.


# %%
def item_bars(timeline, batch):
    """The bars of the items of the batch node named `batch`, in item order."""
    graph = timeline.trace.graph
    return [bar for bar in timeline.bars if bar.kind == "try" and graph[bar.node_id].label == batch]


def most_at_once(timeline, batch):
    """The largest number of `batch`'s items that the timeline shows running together."""
    bars = item_bars(timeline, batch)
    return max(sum(other.start <= bar.start < other.end for other in bars) for bar in bars)


timeline = Timeline(trace)
for batch in ["in turn", "at once"]:
    print(f"{batch}: at most {most_at_once(timeline, batch)} running at a time")

# %% [markdown] tags=["claim:no-max-concurrency"]
# ## Limiting concurrency: `max_concurrency`
#
# > **Beyond the original PocketFlow:** `max_concurrency` is an addition of this library. In
# > the original PocketFlow, a parallel batch always starts all of its items at once.
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
# ### Waiting for a slot, on the timeline
#
# On a timeline, the limit shows as a queue. With `max_concurrency=2`, look for:
#
# * items 0 and 1 running from the start, as in a batch of two;
# * items 2 to 5 **waiting** from the start (hatched bars) until a slot frees up: items 2 and
#   3 start when 0 and 1 finish, items 4 and 5 when 2 and 3 do;
# * the node lasting three rounds of 0.1 seconds: half as long as **in turn**, three times
#   as long as **at once**.
#
# The run reports when each item finishes, not when it leaves the queue. The timeline works
# that moment out from the limit: a queued item starts as soon as an earlier one ends.

# %%
two_at_a_time = FetchAtOnce(max_concurrency=2, name="two at a time")
timeline = Timeline(await arecord(two_at_a_time, {"ingredients": INGREDIENTS}))
waited = sum(bar.kind == "wait" for bar in timeline.bars)
print(f"at most {most_at_once(timeline, 'two at a time')} running at a time, {waited} waited")
timeline

# %% [markdown]
# ## A blocking call inside `exec_async`
#
# The first section showed that `time.sleep` holds the event loop. Inside a parallel batch,
# the damage is easy to miss: nothing fails and the results are right; the batch is just as
# slow as one that runs its items in turn. `exec_async` is a coroutine, but a coroutine that
# calls a blocking function does not give the loop back until that function returns, so no
# other item can make progress meanwhile. Any blocking call does this: a synchronous HTTP
# client, a database driver without async support, a long computation.
#
# Here the fetch is done by such a function, `fetch_recipes_blocking`. `FetchBlocking` is
# `FetchAtOnce` with this one call in place of the awaited fetch. The cell runs the two one
# after the other, on one axis. Look for:
#
# * every bar of **blocks** beginning at the left, like those of **awaits**: the batch did
#   start all six items together, and the timeline draws each from that moment;
# * their right ends forming a staircase, 0.1 seconds a step: each item could only run once
#   the one before had finished and handed the loop back;
# * **blocks** lasting six times as long as **awaits**, as long as **in turn** above.


# %%
def fetch_recipes_blocking(ingredient):
    """A stand-in for a synchronous client: it waits without letting anything else run."""
    time.sleep(0.1)
    return f"recipes with {ingredient}"


class FetchBlocking(FetchAtOnce):
    async def exec_async(self, ingredient):
        return fetch_recipes_blocking(ingredient)


awaits, blocks = FetchAtOnce(name="awaits"), FetchBlocking(name="blocks")
awaits >> blocks
await_or_block = AsyncFlow(start=awaits, name="await or block")
timeline = Timeline(await arecord(await_or_block, {"ingredients": INGREDIENTS}))
ends = [bar.end for bar in item_bars(timeline, "blocks")]
apart = all(later - earlier >= 1e8 for earlier, later in itertools.pairwise(ends))
print("each item of blocks ended 0.1 s or more after the one before:", apart)
timeline

# %% [markdown]
# The timeline makes the mistake visible at a glance. The fix is to keep blocking calls out of
# `exec_async`: use an async client (awaited, like `fetch_recipes`), or, for a library that has
# none, run the call in a worker thread. That is the exercise at the end of the chapter.

# %% [markdown]
# ## Whole flows per item: `AsyncBatchFlow` and `AsyncParallelBatchFlow`
#
# Chapter 6's `BatchFlow` runs a whole flow once per param dict. Its async versions differ as
# the batch nodes do: `AsyncBatchFlow` runs the flow for one param dict after another, and
# `AsyncParallelBatchFlow` runs it for all of them at once.
#
# The flow here fetches the recipes for one ingredient, then asks the (stand-in) model,
# asynchronously too, to suggest one of them. Both nodes take the ingredient from
# `self.params`, and file what they find under it in `shared`: concurrent runs share one
# `shared`, so writing to the same key would let them overwrite each other.


# %%
class FetchFor(AsyncNode):
    async def exec_async(self, _):
        return await fetch_recipes(self.params["ingredient"])

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"][self.params["ingredient"]] = exec_res


class SuggestFor(AsyncNode):
    async def prep_async(self, shared):
        ingredient = self.params["ingredient"]
        return ingredient, shared["recipes"][ingredient]

    async def exec_async(self, inputs):
        ingredient, recipes = inputs
        prompt = f"Suggest a recipe.\nIngredient: {ingredient}\nRecipes: {', '.join(recipes)}"
        return await call_llm_async(prompt)

    async def post_async(self, shared, prep_res, exec_res):
        shared["suggestions"][self.params["ingredient"]] = exec_res


class ForEachIngredient:
    """The batch flows' hook: one param dict per ingredient."""

    async def prep_async(self, shared):
        return [{"ingredient": ingredient} for ingredient in shared["ingredients"]]


class EachInTurn(ForEachIngredient, AsyncBatchFlow):
    pass


class EachAtOnce(ForEachIngredient, AsyncParallelBatchFlow):
    pass


def fetch_then_suggest(batch_flow, name):
    """A batch flow of the given class over fresh fetch and suggest nodes."""
    fetch = FetchFor(name="fetch")
    fetch >> SuggestFor(name="suggest")
    return batch_flow(start=fetch, name=name)


# %% [markdown] tags=["claim:no-toolkit"]
# > **Beyond the original PocketFlow:** `arun_live` and its `timeline=True` come from this
# > library's notebook toolkit, `pocketflow_widgets`. The two batch flows are the original's.
#
# This time the run is shown live: `await arun_live(flow, shared, timeline=True)` draws the
# graph, lights it up as the run goes, and grows the timeline under it. In the timeline, each
# batch flow has a lane per run (one per ingredient), with that run's two nodes under it.
# Look for:
#
# * under **in turn**, the runs following each other: fetch, suggest, then the next
#   ingredient's fetch, and so on;
# * under **at once**, the three fetches side by side, then the three suggestions: three runs
#   in the time of one.

# %%
from pocketflow_widgets import arun_live

in_turn_flow = fetch_then_suggest(EachInTurn, "in turn")
at_once_flow = fetch_then_suggest(EachAtOnce, "at once")
in_turn_flow >> at_once_flow
shared = {"ingredients": ["tomato", "egg", "potato"], "recipes": {}, "suggestions": {}}
await arun_live(AsyncFlow(start=in_turn_flow, name="two batch flows"), shared, timeline=True)
for ingredient in shared["ingredients"]:
    print(f"{ingredient:>7}: {shared['suggestions'][ingredient]}")

# %% [markdown] tags=["claim:parallel-items-run-on-after-failure"]
# ## When something fails
#
# If one item of a parallel batch raises, the batch has failed, and there is no point
# letting the rest finish. In this library, the other items are **cancelled**, and
# `run_async` waits until they have stopped before the exception reaches you. No stray task
# is left running in the background. To see it, this version notes how each fetch ended:
#
# > **Beyond the original PocketFlow:** in the original, the exception reaches you while the
# > other items go on running in the background: they finish later, and may still write to
# > `shared` after you have seen the failure.

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
# Cancelling from the outside works the same way. Here a timeout gives up on the batch node's
# run after 0.03 seconds, while every fetch still needs 0.1, and all six are cancelled:

# %%
outcomes.clear()
try:
    await asyncio.wait_for(FetchOrExplode().run_async({"ingredients": INGREDIENTS}), 0.03)
except asyncio.TimeoutError:
    print("gave up after 0.03 s")
print(dict(sorted(outcomes.items())))

# %% [markdown]
# ## Two quieter mistakes
#
# A blocking call at least shows on a timeline. Two other mistakes of async code give no
# error at all, only wrong results.
#
# ### Runs that share one key
#
# Chapter 3 promised a race: concurrent runs that keep "the current item" in `shared`. Here
# each run of the batch flow notes its ingredient under one key, `"current"`, awaits the
# fetch, then files the recipes under whatever `"current"` says when it comes back. Run in
# turn, that works. Run at once, every run has noted its ingredient before any fetch comes
# back, so the last one noted wins:


# %%
class FetchCurrent(AsyncNode):
    async def prep_async(self, shared):
        shared["current"] = self.params["ingredient"]  # one key for every run

    async def exec_async(self, _):
        return await fetch_recipes(self.params["ingredient"])  # the other runs go on meanwhile

    async def post_async(self, shared, prep_res, exec_res):
        shared["recipes"][shared["current"]] = exec_res  # whose ingredient is current now?


for batch_flow in [EachInTurn, EachAtOnce]:
    shared = {"ingredients": ["tomato", "egg", "potato"], "recipes": {}}
    await batch_flow(start=FetchCurrent()).run_async(shared)
    print(f"{batch_flow.__name__}: recipes filed under {sorted(shared['recipes'])}")

# %% [markdown]
# Three fetches, one key: the tomato's and the egg's recipes were written under "potato" and
# overwritten there. Nothing failed. The fix is the one this chapter used above: each run
# reads its item from `self.params`, which belong to that run alone, and writes under a key of
# its own.
#
# ### A forgotten `await`
#
# Calling a coroutine function does not run it: it returns a coroutine object, which does
# nothing until it is awaited. Leave out the `await`, and `exec_async` returns that object as
# its result, at once. The batch "succeeds" in no time, with no recipes in it:


# %%
class FetchForgetful(FetchAtOnce):
    async def exec_async(self, ingredient):
        return fetch_recipes(ingredient)  # no await: the fetch never runs


shared = {"ingredients": ["egg"]}
await FetchForgetful().run_async(shared)
print({ingredient: type(found).__name__ for ingredient, found in shared["recipes"].items()})

# %% [markdown]
# Python notices only when the forgotten coroutine is thrown away: it then warns that it was
# never awaited. Here that happens when `shared` lets go of it:

# %%
import gc
import warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    del shared["recipes"]
    gc.collect()
print(*(f"{w.category.__name__}: {w.message}" for w in caught), sep="\n")

# %% [markdown]
# The warning says which coroutine, but not where it was created. Run the loop in debug mode
# (`PYTHONASYNCIODEBUG=1`, or `asyncio.run(main(), debug=True)` in a script) and it says that
# too; it also reports every callback that holds the loop for more than 0.1 s, which finds
# blocking calls.

# %% [markdown] tags=["claim:parallel-items-run-on-after-failure"]
# ## Underneath: how this library runs an async flow
#
# There is no magic in an `AsyncFlow`: a loop that runs one node after another. For each node
# it awaits the async hooks (`prep_async`, `exec_async`, `post_async`) and calls the plain
# ones (`prep`, `exec`, `post`). These are the lines of this library's node runner that make
# that choice for `prep`; `post`, and `exec` inside the retry loop, go the same way:

# %%
import inspect
import textwrap

from pocketflow.nodes import BaseNode

lines = inspect.getsource(BaseNode._steps).splitlines()
at = next(i for i, line in enumerate(lines) if "prep_async(" in line)
print(textwrap.dedent("\n".join(lines[at - 1 : at + 3])))

# %% [markdown] tags=["claim:parallel-batch-uses-gather"]
# (`yield from` is how this library awaits inside the generator that also hands out the
# events of Chapter 2's stepping.) A parallel batch starts one task per item and waits for all
# of them. This is the function that does it, and that cancels the other items when one
# fails:
#
# > **Beyond the original PocketFlow:** the original hands the items to `asyncio.gather`,
# > which returns at the first failure and leaves the other items running.

# %%
from pocketflow import runners

print(inspect.getsource(runners._all_or_none))

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

# %% tags=["full-kernel"]
from pocketflow_widgets import run


def suggest_for(ingredient):
    """A plain function: no `await` allowed in here."""
    shared = {"ingredient": ingredient}
    run(recipe_flow, shared)
    return shared["suggestion"]


suggest_for("lentils")

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Suppose `fetch_recipes_blocking` came from a library you cannot change. Write a parallel
# batch node that calls it and still overlaps its items. In `exec_async`, run it in a worker
# thread: `await asyncio.to_thread(function, argument)` hands the call to a thread and gives
# the loop back while it waits. Record a run over `INGREDIENTS` and check on its timeline
# that the items end together again, as those of **awaits** did.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class FetchInThreads(FetchBlocking):
    pass  # your answer: an exec_async that runs fetch_recipes_blocking in a worker thread


# %%
from exercises import check

check("in threads", FetchInThreads)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class FetchInThreads(FetchAtOnce):
    async def exec_async(self, ingredient):
        return await asyncio.to_thread(fetch_recipes_blocking, ingredient)


shared = {"ingredients": INGREDIENTS}
timeline = Timeline(await arecord(FetchInThreads(name="in threads"), shared))
print(shared["recipes"]["egg"])
print("done in less than half the time blocks took:", timeline.end < 3e8)
timeline

# %%
check("in threads", FetchInThreads)

# %% [markdown]
# The six bars end together, about 0.1 seconds after they start. Each call still blocks, but
# it blocks a worker thread rather than the event loop, so the other items run meanwhile. (The
# threads come from a pool that the whole program shares: at least five threads, more on a
# machine with more cores.)

# %% [markdown] tags=["claim:parallel-items-run-on-after-failure"]
# ## Recap
#
# * A blocking wait stops everything. An `await` lets other tasks run meanwhile.
# * `AsyncNode` has async hooks. `AsyncFlow` runs async and plain nodes together, with
#   `await flow.run_async(shared)`.
# * `AsyncBatchNode` awaits items in turn. `AsyncParallelBatchNode` overlaps them, with
#   results in input order. `max_concurrency` caps how many run at once.
# * `AsyncBatchFlow` and `AsyncParallelBatchFlow` do the same with a whole flow per param
#   dict. Concurrent runs share `shared`, so each files its results under its own key.
# * `Timeline(await arecord(flow, shared))`, or `arun_live(flow, shared, timeline=True)`,
#   shows what ran when: items side by side, queued items waiting for a slot, and a parallel
#   batch that a blocking call inside `exec_async` has turned into a sequential one.
# * Concurrent runs that share a key overwrite each other without an error: keep each run's
#   item in its params. A missing `await` returns a coroutine that never runs: Python warns
#   only when it is thrown away.
# * Here, a failure cancels the other items, and cancelling the run cancels them all. Nothing
#   keeps running behind your back (in the original, the other items run on).
# * In Jupyter, use top-level `await`. From sync code, use `pocketflow_widgets.run`.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › (Advanced) Async* and *(Advanced)
#   Parallel*
# * Python's documentation, *asyncio: Developing with asyncio*: blocking calls and debug mode
