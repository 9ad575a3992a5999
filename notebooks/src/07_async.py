# %% [markdown]
# # Chapter 7 · Async: waiting without freezing
#
# Most of the time an LLM application spends is spent **waiting**: for a model to answer, a
# page to download, a database to reply. While a plain Python function waits, nothing else in
# the program can run. This chapter shows the async variants of nodes and flows. They wait in
# a way that lets other work go on, which makes it possible to wait for many things at once.

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

# %% [markdown]
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


# %% [markdown]
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

# %% [markdown]
# ## When something fails
#
# If one item of a parallel batch raises, the batch has failed, and there is no point
# letting the rest finish. The other items are **cancelled**, and `run_async` waits until
# they have stopped before the exception reaches you. No stray task is left running in the
# background. To see it, this version notes how each fetch ended:
#
# > **Unlike the original PocketFlow:** there, the exception reaches the caller while the
# > other items go on running in the background.

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

# %% tags=["full-kernel"]
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
# * `AsyncBatchFlow` and `AsyncParallelBatchFlow` do the same with a whole flow per param
#   dict. Concurrent runs share `shared`, so each files its results under its own key.
# * `Timeline(await arecord(flow, shared))`, or `arun_live(flow, shared, timeline=True)`,
#   shows what ran when: items side by side, queued items waiting for a slot, and a parallel
#   batch that a blocking call inside `exec_async` has turned into a sequential one.
# * A failure cancels the other items, and cancelling the run cancels them all. Nothing keeps
#   running behind your back.
# * In Jupyter, use top-level `await`. From sync code, use `pocketflow_widgets.run`.

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Suppose `fetch_recipes_blocking` came from a library you cannot change. Write a parallel
# batch node that calls it and still overlaps its items. In `exec_async`, run it in a worker
# thread: `await asyncio.to_thread(function, argument)` hands the call to a thread and gives
# the loop back while it waits. Record a run over `INGREDIENTS` and check on its timeline
# that the items end together again, as those of **awaits** did.

# %% [markdown]
# ### Solution


# %% tags=["solution"]
class FetchInThreads(FetchAtOnce):
    async def exec_async(self, ingredient):
        return await asyncio.to_thread(fetch_recipes_blocking, ingredient)


shared = {"ingredients": INGREDIENTS}
timeline = Timeline(await arecord(FetchInThreads(name="in threads"), shared))
print(shared["recipes"]["egg"])
print("done in less than half the time blocks took:", timeline.end < 3e8)
timeline

# %% [markdown]
# The six bars end together, about 0.1 seconds after they start. Each call still blocks, but
# it blocks a worker thread rather than the event loop, so the other items run meanwhile. (The
# threads come from a pool that the whole program shares: at least five threads, more on a
# machine with more cores.)
