# %% [markdown] tags=["claim:no-toolkit", "claim:no-name-keyword", "claim:no-events"]
# # A tour of the toolkit
#
# `pocketflow_widgets` is the notebook side of this project: it draws a flow, runs it while the
# drawing lights up, walks a run one phase at a time, replays a recorded run, and lays a run
# out in time. This page
# shows each tool once, on one small flow. The chapters that follow explain the ideas behind
# them; come back here when you want the tool itself.
#
# > **Beyond the original PocketFlow:** everything on this page is an addition of this
# > library: the toolkit, and the `name=` keyword, the events and the traces of the core that
# > it is built on. The flows themselves (`Node`, `Flow`, `>>`, actions) are the original's,
# > and each chapter marks an addition where it first uses one.
#
# **What you will learn:**
#
# * how to draw a flow, watch it run, and step through it phase by phase
# * how to record a run, save it, and replay it
# * how to run async flows in a notebook, and lay a run out in time
#
# **What you need:** Python, and a first look at PocketFlow's nodes and flows. The chapters
# explain the ideas; this page only shows the tools.

# %%
import asyncio

from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode, Flow, Node
from pocketflow.trace import Trace, arecord, record
from pocketflow_widgets import Replay, Stepper, Timeline, arun_live, run, run_live, show

# %% [markdown]
# ## The flow
#
# A tiny research loop: `decide` looks at how many notes there are and either asks `search`
# for another one or hands over to `answer`. Evaluating a flow in a cell draws it: Graphviz
# when it is installed, Mermaid otherwise.


# %%
class Decide(Node):
    def prep(self, shared):
        return len(shared["notes"])

    def exec(self, count):
        return "answer" if count >= 2 else "search"

    def post(self, shared, prep_res, exec_res):
        return exec_res


class Search(Node):
    def post(self, shared, prep_res, exec_res):
        shared["notes"].append(f"note {len(shared['notes']) + 1}")
        return "decide"


class Answer(Node):
    def post(self, shared, prep_res, exec_res):
        shared["answer"] = " + ".join(shared["notes"])


decide, search, answer = Decide(name="decide"), Search(name="search"), Answer(name="answer")
decide - "search" >> search
search - "decide" >> decide
decide - "answer" >> answer
research = Flow(start=decide, name="research")
research

# %% [markdown]
# ## `run_live`: watch a run
#
# `run_live(flow, shared)` shows the graph and runs the flow; visited nodes fill in, taken edges
# count their trips, and a failure turns its node red. What the nodes print still lands here.

# %%
shared = {"notes": []}
run_live(research, shared)
shared["answer"]

# %% [markdown]
# ## What the drawing says
#
# Every view of a run marks each node with its state: running now (or paused at), visited,
# failed, or not run yet; under an edge, how many times the run took it. `legend()` draws one
# node in each state, in the same colours and outlines as the views; `print(legend())` says it
# in words.

# %%
from pocketflow.display import legend

legend()

# %% [markdown]
# ## `Stepper`: one phase at a time
#
# **Step** pulls the next event (a node starts, `prep` returns, `exec` returns, `post` picks an
# action, the flow follows an edge), **Next node** runs on to the next node, **Continue** runs
# to the end or to a breakpoint, **Reset** starts over. Below the graph: the event, and what
# the step changed in `shared`. Here the Stepper is driven from code, as a click would.

# %%
stepper = Stepper(research, {"notes": []}, breakpoints=["answer"])
stepper.continue_()  # runs until the breakpoint: answer is about to start
stepper

# %% [markdown]
# ## `record`, `show` and `Replay`: a run to keep
#
# `record` runs a flow and returns its trace, which saves to JSON lines and loads back. A
# trace is a list of steps; the `"start"` steps, in order, are the path the run took, loops
# included (`trace.visited` lists each node once, in the order it first ran). `show` lays a
# trace over the graph; `Replay` browses it step by step with a slider.

# %%
trace = record(research, {"notes": []}, snapshots=True)
trace.save("research_trace.jsonl")
loaded = Trace.load("research_trace.jsonl")
path = [step.name for step in loaded if step.kind == "start"]  # every node entered, in order
print(len(loaded), "steps; path:", " -> ".join(path))
show(research, loaded)

# %%
replay = Replay(loaded, research)
replay.show(12)  # the moment the first note was written
replay

# %% [markdown]
# ## Async flows in Jupyter
#
# The kernel already runs an event loop, so a cell can simply `await flow.run_async(shared)`.
# `await arun_live(...)` is the live view of the same, and the Stepper steps async flows too,
# scheduling each step on the kernel's loop so that the kernel never blocks.


# %%
class Fetch(AsyncNode):
    async def prep_async(self, shared):
        return shared["topic"]

    async def exec_async(self, topic):
        await asyncio.sleep(0.05)  # stands in for a network call
        return f"three facts about {topic}"

    async def post_async(self, shared, prep_res, exec_res):
        shared["facts"] = exec_res


fetch_flow = AsyncFlow(start=Fetch(name="fetch"), name="fetch_flow")
facts = {"topic": "owls"}
await arun_live(fetch_flow, facts)
facts

# %% [markdown]
# Code that cannot `await` (a plain function, a widget callback) uses `run(flow, shared)`. It
# runs any flow, sync or async, whether or not an event loop is already running; inside a
# running loop it patches that loop with `nest_asyncio2` the first time it needs to.

# %% tags=["full-kernel"]
more = {"topic": "bats"}
run(fetch_flow, more)
more

# %% [markdown] tags=["claim:no-toolkit"]
# ## `Timeline`: a run in time
#
# > **Beyond the original PocketFlow:** timelines, the recorded runs they draw (`record`,
# > `arecord`) and the `max_concurrency` limit used below are additions of this library.
#
# `Timeline(trace)` draws a recorded run against a time axis: a lane per node run and per
# batch item, a bar per phase or try in the colours of the graph, and a hatched bar where an
# item waits for a free slot. Hover over a bar for its value and duration; a click (or Enter)
# picks it and sets `timeline.selected_step`, the step a replay would show. With
# `timeline=True`, `run_live` and `arun_live` grow a timeline under the graph as the flow runs,
# and `timeline_replay(trace, flow)` links one to a `Replay`. Here three fetches run at most
# two at a time, so the third waits until one of the first two is done.


# %%
class FetchAll(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["topics"]

    async def exec_async(self, topic):
        await asyncio.sleep(0.05)  # stands in for a network call
        return f"three facts about {topic}"


fetch_all = FetchAll(max_concurrency=2, name="fetch_all")
timeline = Timeline(await arecord(fetch_all, {"topics": ["owls", "bats", "moths"]}))
waited = [timeline.lanes[bar.lane]["label"] for bar in timeline.bars if bar.kind == "wait"]
print("lanes:", [lane["label"] for lane in timeline.lanes], "waited:", waited)
timeline

# %% [markdown]
# ## Further reading
#
# * this library's `docs/divergences.md`: where it differs from the original PocketFlow, and
#   why
# * the original's documentation, *Core Abstraction*: the pages *Node* and *Flow*
