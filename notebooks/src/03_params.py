# %% [markdown]
# # Chapter 3 · Params
#
# `shared` holds the data a flow works on. A node often needs one more thing: which part of
# that data it should work on *this time*. Take a node that summarises a file. The files and
# the summaries are data and live in `shared`, but the name of the file to summarise now is
# an instruction. PocketFlow calls such instructions **params**: a small dict on each node,
# `self.params`, set by whoever runs the node.
#
# **What you will learn:**
#
# * what params are for, and how they differ from `shared`
# * how a flow hands one params dict to every node of a run
# * why a node's own params are replaced inside a flow
#
# **What you need:** Chapters 1 and 2.

# %%
from pocketflow import Flow, Node
from standin import call_llm

FILES = {
    "bees.txt": "Bees find flowers by following a dance. The dance points the way.",
    "moon.txt": "The Moon shows Earth one face. Its pull raises the tides.",
    "bread.txt": "Sourdough rises thanks to wild yeast. The starter needs regular feeding.",
}

# %% [markdown]
# ## Params say *which*, `shared` says *what*
#
# This node reads the file name from `self.params` and everything else from `shared`:


# %%
class Summarize(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return call_llm(f"Summarize this file in one sentence.\nText: {text}")

    def post(self, shared, prep_res, exec_res):
        shared["summaries"][self.params["filename"]] = exec_res


# %% [markdown]
# On its own, a node runs with the params you give it with `set_params`. One node, two runs,
# two different files:

# %%
shared = {"files": FILES, "summaries": {}}
summarize = Summarize()
for filename in ["bees.txt", "moon.txt"]:
    summarize.set_params({"filename": filename})
    summarize.run(shared)
shared["summaries"]

# %% [markdown]
# Why not put `"current_file"` in `shared` instead? Because `shared` is one dictionary for the
# whole run. Two runs in progress at the same time would overwrite each other's "current"
# file, and Chapter 7, which runs many at once, shows exactly that. Params belong to one run,
# so two runs cannot collide.

# %% [markdown] tags=["claim:one-params-dict-per-run"]
# ## A flow hands its params down
#
# A flow has params too. When a run of the flow starts, the flow copies its own params into
# one new dict, and before each node runs, it hands that same dict to the node. So every node
# of the run works on the same item. Here a second node counts the words of the same file,
# and a `Report` node prints what it was given:


# %%
class CountWords(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return len(text.split())

    def post(self, shared, prep_res, exec_res):
        shared["word_counts"][self.params["filename"]] = exec_res


class Report(Node):
    def prep(self, shared):
        print(f"{self.name} sees params {self.params}")


summarize = Summarize()
summarize >> CountWords() >> Report()
flow = Flow(start=summarize, name="one file")
flow

# %%
shared = {"files": FILES, "summaries": {}, "word_counts": {}}
flow.set_params({"filename": "bread.txt"})
flow.run(shared)
print(shared["summaries"])
print(shared["word_counts"])

# %% [markdown] tags=["claim:flow-replaces-node-params"]
# ## Inside a flow, a node's own params are replaced
#
# A flow does not merge its params into the node's. It **replaces** them. Whatever you set on
# a node before wiring it into a flow is not what the node sees during the run:

# %%
report = Report()
report.set_params({"filename": "bees.txt", "style": "short"})
flow = Flow(start=report)
flow.set_params({"filename": "moon.txt"})
flow.run({})

# %% [markdown] tags=["claim:no-error-note"]
# `"style"` is gone and `"filename"` is the flow's. With a flow that has no params, the node
# gets an empty dict, which is why this run fails in `prep`. The error carries a note that
# says which phase of which node raised it.
#
# > **Beyond the original PocketFlow:** the note is an addition of this library. The original
# > lets the same `KeyError` through with nothing attached, so the traceback alone has to say
# > which node of the graph failed.

# %%
summarize = Summarize()
summarize.set_params({"filename": "bees.txt"})
try:
    Flow(start=summarize).run({"files": FILES, "summaries": {}})
except KeyError as exc:
    print(f"KeyError: {exc}")
    for note in exc.__notes__:
        print(note)

# %% [markdown] tags=["claim:flow-replaces-node-params"]
# This is deliberate. A flow is a template that may run many times with different params:
# Chapter 6's `BatchFlow` runs the same nodes once per file. Each of those runs must see
# exactly its own params, with nothing left over from the previous run or from something set
# on the node earlier. So the rule is: **params come from whoever runs the node.** Inside a
# flow, that is the flow.
#
# The flow also never changes the node you wired. It runs a fresh copy of the node each time,
# and it is the copy whose params are replaced. The object you hold keeps what you set:

# %%
summarize.params

# %% [markdown] tags=["claim:one-params-dict-per-run"]
# So a setting that belongs to the node itself, and should hold in every run, is not a
# param. It is configuration, and it goes to the constructor, as Chapter 1's
# `Summarize(call_llm, max_words=6)` received its model and its word limit. Keep params for
# what identifies the item.
#
# And treat them as read-only inside the node. The dict a node receives is not its own: it is
# the one dict of this run of the flow, and the nodes after it receive the very same object.
# A node that writes to `self.params` changes what every later node of the run sees (the
# flow's own params, which were copied when the run started, are left alone):


# %%
class Stamp(Node):
    def prep(self, shared):
        self.params["stamped_by"] = self.name  # a write that the next node will see


stamp = Stamp()
stamp >> Report()
stamped = Flow(start=stamp)
stamped.set_params({"filename": "bees.txt"})
stamped.run({})
print("the flow's own params:", stamped.params)

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Summarise and count *every* file in `FILES` with the `Summarize >> CountWords` flow, by
# running it once per file with different params. Then print each file name with its word
# count and summary.
#
# (You have just written by hand the loop that Chapter 6's `BatchFlow` runs for you.)
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.

# %%
shared = {"files": FILES, "summaries": {}, "word_counts": {}}
# your answer: run the Summarize >> CountWords flow once per file, on this shared

# %%
from exercises import check

check("every file", shared)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.

# %% tags=["solution"]
summarize = Summarize()
summarize >> CountWords()
flow = Flow(start=summarize)

shared = {"files": FILES, "summaries": {}, "word_counts": {}}
for filename in FILES:
    flow.set_params({"filename": filename})
    flow.run(shared)

for filename in FILES:
    count, summary = shared["word_counts"][filename], shared["summaries"][filename]
    print(f"{filename:<10} {count:>2} words  {summary}")

# %%
check("every file", shared)

# %% [markdown]
# ## Recap
#
# * `self.params` says which item a node works on. `shared` holds the items and the results.
# * Running a node alone, you set its params with `set_params`. Inside a flow, the flow sets
#   them: each run copies the flow's params once, and hands that one dict to every node it
#   runs, in place of the node's own.
# * Settings that must survive that replacement are configuration: constructor arguments.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Communication*: the part on params
# * the original's documentation, *Core Abstraction › Batch*, where params earn their keep
