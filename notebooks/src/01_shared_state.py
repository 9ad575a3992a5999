# %% [markdown]
# # Chapter 1 · Shared state
#
# A flow is a few small steps that hand work to one another. Each step needs somewhere to leave
# what it produced, so that a later step can pick it up. In PocketFlow that place is an ordinary
# Python dictionary. Every step of a run receives the same one, and by convention it is called
# `shared`.
#
# This chapter is about that dictionary: how steps use it, what belongs in it, and what is
# better kept somewhere else.
#
# **What you will learn:**
#
# * how nodes pass work to one another through one dictionary, `shared`
# * how to lay out `shared` before writing the nodes
# * what does not belong in it: configuration and clients
#
# **What you need:** Python: classes, methods and dictionaries. No model and no network:
# `standin.py` answers for them.

# %%
from pocketflow import Flow, Node, observe
from standin import call_llm

# %% [markdown]
# ## Two steps that never meet
#
# Below are two nodes. `LoadNote` looks up a note by file name and stores its text under
# `"note"`. `Summarize` reads `"note"`, asks a language model for a one-line summary, and
# stores the reply under `"summary"`.
#
# Neither node refers to the other. All they agree on is two key names. That is what lets you
# reorder steps, swap one out, or test one alone: the dictionary is the whole interface.
#
# Each node splits its work into three methods. `prep` reads from `shared`, `exec` does the
# work, `post` writes the result back. Chapter 2 explains why. (`call_llm` comes from
# `standin.py` in this folder: a stand-in model that answers instantly and always the same
# way, so this notebook runs offline.)

# %%
NOTES = {
    "bees.txt": (
        "Honeybees tell each other where food is by dancing on the comb. "
        "The dance encodes both the direction and the distance of the flowers."
    ),
}


class LoadNote(Node):
    def prep(self, shared):
        return shared["filename"]

    def exec(self, filename):
        return NOTES[filename]

    def post(self, shared, prep_res, exec_res):
        shared["note"] = exec_res


class Summarize(Node):
    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        return call_llm(f"Summarize this note in one sentence.\nText: {note}")

    def post(self, shared, prep_res, exec_res):
        shared["summary"] = exec_res


# %% [markdown]
# `load >> summarize` says "after `load`, run `summarize`", and `Flow(start=load)` makes a
# runnable flow out of the chain. A flow left as the last line of a cell draws itself:

# %%
load = LoadNote()
summarize = Summarize()
load >> summarize
flow = Flow(start=load)
flow

# %% [markdown]
# To run it, pass in a dictionary holding the input, then look at the dictionary afterwards:

# %%
shared = {"filename": "bees.txt"}
flow.run(shared)
shared

# %% [markdown] tags=["claim:shared-is-not-copied"]
# The flow did not return the summary, and it did not need to. It wrote into the very
# dictionary we passed in, which is not copied at any point. After the run, `shared` *is* the
# result: the input we gave, plus everything the steps added.

# %% [markdown] tags=["claim:no-events", "claim:no-name-keyword"]
# ## Watching it fill up
#
# > **Beyond the original PocketFlow:** `observe`, the events it delivers, and node names
# > (`node.name`, the class name unless you pass `name=`) are additions of this library. The
# > original reports nothing while a flow runs, and its nodes have no name: `name=` is a
# > `TypeError` there.
#
# `pocketflow.observe` lets you listen to a run without changing its code. Each callback
# receives an event for every phase of every node. Later chapters use this for live views and
# traces. Here we only print the keys of `shared` each time a node finishes (`"post"`):


# %%
def print_keys(event):
    if event.kind == "post" and event.node is not flow:
        print(f"after {event.node.name:<9} shared has {sorted(shared)}")


shared = {"filename": "bees.txt"}
with observe(print_keys):
    flow.run(shared)

# %% [markdown]
# ## Give it a shape before you write the nodes
#
# With two nodes, two keys are easy to follow. With ten nodes, loose keys such as `"text"`,
# `"text2"` and `"result"` are not. Write the layout of `shared` down first, as a comment or a
# literal, then write nodes against it. A layout that separates what came in, what the flow
# works on, and what it produces reads well:

# %%
shared = {
    "input": {"filename": "bees.txt"},  # given by the caller
    "note": None,  # filled by LoadNote
    "output": {"summary": None},  # what the caller wants back
}

# %% [markdown]
# The nodes in this chapter use the flat layout, which is enough for them; the point is to
# decide, not to nest.

# %% [markdown]
# ## What stays out of `shared`
#
# `shared` holds **data**: what the flow works on and what it produces. Two other kinds of
# things tend to creep in, and both have better homes.
#
# * **Configuration**, meaning how a step behaves: which model to use, how many words a
#   summary may have, how many search results to fetch. It is not the subject of the work, so
#   give it to the node when you build it (constructor arguments). Values that identify
#   *which* item a step works on, such as a file name in a batch, are *params*, the topic of
#   Chapter 3.
# * **Clients and handles**: an open file, a database connection, an HTTP session, a lock.
#   They are tools, not data. They usually cannot be copied or saved, and the tools in this
#   project copy and save `shared` all the time. The stepper of Chapter 2 keeps a copy so
#   that it can start over. The traces of Chapter 8 store snapshots as JSON.
#
# Here is what happens to a dictionary that holds a lock:

# %%
import copy
import threading

cluttered = {"note": NOTES["bees.txt"], "lock": threading.Lock()}
try:
    copy.deepcopy(cluttered)
except TypeError as exc:
    print("cannot copy it:", exc)

# %% [markdown]
# So the configuration and the client go into the node. This `Summarize` takes the model call
# (any function from prompt to reply) and a word limit when it is built, and keeps them as
# attributes. `shared` stays plain data, which copies and serialises without fuss:

# %%
import json


class Summarize(Node):
    def __init__(self, llm, max_words=12):
        super().__init__()
        self.llm = llm
        self.max_words = max_words

    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        reply = self.llm(f"Summarize this note in one sentence.\nText: {note}")
        return " ".join(reply.split()[: self.max_words])

    def post(self, shared, prep_res, exec_res):
        shared["summary"] = exec_res


load = LoadNote()
load >> Summarize(call_llm, max_words=6)
shared = {"filename": "bees.txt"}
Flow(start=load).run(shared)
print(json.dumps(shared, indent=2))

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Add a node `CountWords` after the summary. It should store the number of words in the note
# and in the summary as `shared["stats"] = {"note": ..., "summary": ...}`. Wire it after
# `Summarize`, run the flow on `{"filename": "bees.txt"}` and print `shared["stats"]`.
#
# Hint: `prep` can return both texts as a tuple. Only `post` writes to `shared`.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class CountWords(Node):
    pass  # your answer: prep, exec and post


# %%
from exercises import check

check("count words", CountWords)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class CountWords(Node):
    def prep(self, shared):
        return shared["note"], shared["summary"]

    def exec(self, texts):
        note, summary = texts
        return {"note": len(note.split()), "summary": len(summary.split())}

    def post(self, shared, prep_res, exec_res):
        shared["stats"] = exec_res


load = LoadNote()
load >> Summarize(call_llm) >> CountWords()
shared = {"filename": "bees.txt"}
Flow(start=load).run(shared)
print(shared["stats"])

# %%
check("count words", CountWords)

# %% [markdown]
# ## Recap
#
# * Nodes talk to each other only through `shared`, one dictionary that the whole run passes
#   around and never copies. After a run, it holds the results.
# * Decide its keys up front; they are the contract between your nodes.
# * Put data in it. Keep configuration on the node (or in params), and keep clients and
#   handles out of it altogether.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Communication*: the shared store
