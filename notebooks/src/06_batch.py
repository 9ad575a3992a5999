# %% [markdown]
# # Chapter 6 · Batches
#
# Much of the work in an LLM application is the same step applied to many things: summarise
# each document, classify each email, translate each paragraph. PocketFlow has two tools for
# this, and they differ in how much is repeated:
#
# * a **`BatchNode`** repeats one step, its `exec`, once per item;
# * a **`BatchFlow`** repeats a whole sub-flow once per set of params.
#
# **What you will learn:**
#
# * how a `BatchNode` repeats one step over many items
# * how a `BatchFlow` runs a whole flow once per set of params, and how batches nest
# * how to watch a batch advance with `run_live`
#
# **What you need:** Chapters 1 to 5, Chapter 3 (params) above all.

# %%
from pocketflow import BatchFlow, BatchNode, Node, observe
from standin import call_llm

FILES = {
    "bees.txt": "Bees find flowers by following a dance. The dance points the way.",
    "moon.txt": "The Moon shows Earth one face. Its pull raises the tides.",
    "bread.txt": "Sourdough rises thanks to wild yeast. The starter needs regular feeding.",
    "soup.txt": "A good stock takes hours. Bones and vegetables simmer slowly.",
}

# %% [markdown] tags=["claim:batch-node-exec-per-item", "claim:string-items-are-characters"]
# ## `BatchNode`: one step, many items
#
# A `BatchNode`'s `prep` returns a list of items (any iterable; `None` means none). `exec` is
# then called once per item, with retries per item if `max_retries` is set. `post` receives
# the list of results, in the same order as the items. `prep` and `post` still run once, so
# reading and writing `shared` happens in one place.
#
# > **Beyond the original PocketFlow:** a `prep` that returns a single string is refused here,
# > with a `TypeError` that names the node. In the original, a string is iterable, so each of
# > its characters becomes an item: one text summarised letter by letter.


# %%
class SummarizeAll(BatchNode):
    def prep(self, shared):
        return list(shared["files"].items())

    def exec(self, item):
        _, text = item
        return call_llm(f"Summarize this file in one sentence.\nText: {text}")

    def post(self, shared, prep_res, exec_res):
        filenames = [filename for filename, _ in prep_res]
        shared["summaries"] = dict(zip(filenames, exec_res, strict=True))


shared = {"files": FILES}
SummarizeAll().run(shared)
shared["summaries"]

# %% [markdown]
# `exec` still sees only its item, never `shared`. That is what allows Chapter 7 to run the
# items at the same time without changing this code. While a batch runs, it reports an
# `"item"` event as each item finishes, which is what a progress bar needs (events, like
# `observe`, are this library's addition; see Chapter 1):


# %%
def print_progress(event):
    if event.kind == "item":
        print(f"item {event.item + 1}/{event.total}: {event.value}")


with observe(print_progress):
    SummarizeAll().run({"files": FILES})

# %% [markdown]
# ## `BatchFlow`: a whole sub-flow per item
#
# Sometimes each item needs several steps, each with its own `prep` and `post`. In Chapter 3
# you ran a flow once per file by hand, changing its params each time. A `BatchFlow` is that
# loop: its `prep` returns a list of param dicts, and it runs its sub-flow from the start
# once for each dict, with those params.
#
# The nodes are the ones from Chapter 3. Each one reads its file name from `self.params`
# and files its result under that name, so the runs never get in each other's way:


# %%
class Summarize(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return call_llm(f"Summarize this file in one sentence.\nText: {text}")

    def post(self, shared, prep_res, exec_res):
        shared["summaries"][self.params["filename"]] = exec_res


class CountWords(Node):
    def prep(self, shared):
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return len(text.split())

    def post(self, shared, prep_res, exec_res):
        shared["word_counts"][self.params["filename"]] = exec_res


class EachFile(BatchFlow):
    def prep(self, shared):
        return [{"filename": filename} for filename in shared["files"]]


summarize = Summarize()
summarize >> CountWords()
each_file = EachFile(start=summarize, name="each file")
each_file

# %%
shared = {"files": FILES, "summaries": {}, "word_counts": {}}
print("each_file.run returned", each_file.run(shared))
shared["word_counts"]

# %% [markdown] tags=["claim:batch-flow-post-gets-none"]
# The results are in `shared`, where the nodes filed them. The batch flow itself returned
# `None`: its `post` receives the list of param dicts as `prep_res` and `None` as `exec_res`
# (the last actions of the runs are not collected), and by default returns that `None`. So a
# batch flow inside a bigger flow leaves by its `"default"` edge, unless you override `post`
# to return an action.
#
# Which to use? If one step is repeated, and the results are gathered in one `post`, use a
# `BatchNode`. If each item goes through a pipeline of its own, use a `BatchFlow`.

# %% [markdown] tags=["claim:batch-flow-params-merged"]
# ## Batches of batches
#
# A `BatchFlow` is a flow, and a flow can contain flows, so batches nest. Say the files are
# sorted into folders. An outer batch runs once per folder. The inner batch runs once per file
# *of that folder*, which it finds in `self.params`, set by the outer batch. The nodes at the
# bottom see the params of both levels merged:

# %%
LIBRARY = {"nature": ["bees.txt", "moon.txt"], "kitchen": ["bread.txt", "soup.txt"]}


class EachFolder(BatchFlow):
    def prep(self, shared):
        return [{"folder": folder} for folder in shared["library"]]


class EachFileInFolder(BatchFlow):
    def prep(self, shared):
        return [{"filename": filename} for filename in shared["library"][self.params["folder"]]]


class Index(Node):
    def prep(self, shared):
        print(f"Index sees {self.params}")
        return shared["files"][self.params["filename"]]

    def exec(self, text):
        return call_llm(f"Summarize this file in one sentence.\nText: {text}")

    def post(self, shared, prep_res, exec_res):
        folder = shared["index"].setdefault(self.params["folder"], {})
        folder[self.params["filename"]] = exec_res


files_in_folder = EachFileInFolder(start=Index(), name="files in folder")
each_folder = EachFolder(start=files_in_folder, name="each folder")

shared = {"files": FILES, "library": LIBRARY, "index": {}}
each_folder.run(shared)
shared["index"]

# %%
each_folder

# %% [markdown] tags=["claim:no-toolkit"]
# ## Watching a batch run
#
# > **Beyond the original PocketFlow:** `run_live`, like all of `pocketflow_widgets`, belongs
# > to this library's notebook toolkit. It runs the same flows; the original draws nothing.
#
# `run_live` from `pocketflow_widgets` shows the flow's graph in the cell and runs the flow,
# updating the picture as events arrive: the node running now and the nodes that have run,
# how many times the run took each edge (the count beside it), and how far each batch has got
# (hover over a batch flow's frame: its tooltip gives its runs done so far, such as `[1/2]`).
#
# The stand-in model answers instantly, so this version of `Index` waits a fifth of a second
# per file, as a real model call might. Run the cell and watch the batch advance file by
# file. When the run is over, the cell keeps the picture of how it ended: no node is current
# any more, and the counts beside the edges add up the whole run: `files in folder` was
# entered twice, once per folder, and `SlowIndex` ran four times, once per file.

# %%
import time

from pocketflow_widgets import run_live


class SlowIndex(Index):
    def exec(self, text):
        time.sleep(0.2)
        return super().exec(text)


files_in_folder = EachFileInFolder(start=SlowIndex(), name="files in folder")
each_folder = EachFolder(start=files_in_folder, name="each folder")

shared = {"files": FILES, "library": LIBRARY, "index": {}}
run_live(each_folder, shared)

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Re-running a batch over everything is wasteful when only a few items are new. Write
# `EachNewFile`, a `BatchFlow` whose `prep` returns params only for the files that have no
# summary yet. Run it on `shared` from the `EachFile` section, after adding one new file to
# `shared["files"]`, and count how many times `Summarize` ran (an observer counting `"start"`
# events of `Summarize` will do).
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class EachNewFile(BatchFlow):
    pass  # your answer: a prep that returns params for the new files only


# %%
from exercises import check

check("new files only", EachNewFile)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class EachNewFile(BatchFlow):
    def prep(self, shared):
        return [{"filename": name} for name in shared["files"] if name not in shared["summaries"]]


shared = {"files": dict(FILES), "summaries": {}, "word_counts": {}}
each_file.run(shared)
shared["files"]["tea.txt"] = "Green tea is steamed or pan-fired. Black tea is oxidised first."

runs = []
summarize = Summarize()
summarize >> CountWords()
with observe(lambda e: e.kind == "start" and e.node is summarize and runs.append(e)):
    EachNewFile(start=summarize).run(shared)
print(f"Summarize ran {len(runs)} time(s); summaries: {sorted(shared['summaries'])}")

# %%
check("new files only", EachNewFile)

# %% [markdown]
# ## Recap
#
# * `BatchNode`: `prep` returns items, `exec` runs per item (with its own retries), and `post`
#   gets the results in order.
# * `BatchFlow`: `prep` returns param dicts, and the sub-flow runs once per dict with those
#   params merged into the flow's own.
# * Batch flows nest. Inner levels read the outer level's params in their `prep`.
# * Each item reports an `"item"` event. `run_live` turns them into a live picture.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Batch*
