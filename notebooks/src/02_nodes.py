# %% [markdown]
# # Chapter 2 · Nodes
#
# A node is one step of a flow. Chapter 1 wrote a few without explaining their shape: three
# methods, `prep`, `exec` and `post`, each with its own job. This chapter explains why the
# work is split three ways, and what the split buys: retries, a fallback when every retry
# fails, and a run you can walk through one phase at a time.
#
# **What you will learn:**
#
# * what `prep`, `exec` and `post` each do, and why `exec` never touches `shared`
# * retries with `max_retries` and `wait`, and `exec_fallback` when every try fails
# * how to walk a run one phase at a time, with `node.steps()` and the `Stepper`
#
# **What you need:** Chapter 1.

# %%
from pocketflow import Flow, Node
from standin import call_llm, flaky

# %% [markdown]
# ## Three phases, three jobs
#
# | phase | receives | job | returns |
# |---|---|---|---|
# | `prep(shared)` | the shared dict | read what the work needs | the input of `exec` |
# | `exec(prep_res)` | what `prep` returned | do the work | the result |
# | `post(shared, prep_res, exec_res)` | all of the above | write the result back | an *action* |
#
# Only `prep` and `post` see `shared`. The action that `post` returns is a string that tells
# a flow where to go next (Chapter 4). `node.run(shared)` runs the three phases in order and
# returns that action.


# %%
class Summarize(Node):
    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        return call_llm(f"Summarize this note in one sentence.\nText: {note}")

    def post(self, shared, prep_res, exec_res):
        shared["summary"] = exec_res
        return "summarized"


NOTE = (
    "The waggle dance tells other bees where flowers are. "
    "Its angle gives the direction and its length gives the distance."
)
shared = {"note": NOTE}
action = Summarize().run(shared)
print("action: ", action)
print("summary:", shared["summary"])

# %% [markdown]
# ## Why `exec` must not touch `shared`
#
# `exec` gets only what `prep` handed it, and it must leave `shared` alone. That rule is what
# makes the rest of this library safe:
#
# * `exec` is the phase that is **retried**. If it wrote to `shared` and then failed, the next
#   try would start from a half-changed state, and a write could happen twice.
# * In a batch (Chapter 6), `exec` runs **once per item**, and in a parallel batch (Chapter 7)
#   many `exec` calls run **at the same time**. Writes from all of them to one dictionary
#   would race.
# * An `exec` that depends only on its argument can be **tested alone**, with a plain value
#   and no dictionary at all:

# %%
Summarize().exec("Bees dance. Nobody knows why.")

# %% [markdown]
# ## Retries: `max_retries` and `wait`
#
# Calls to a model or a web service fail now and then: a timeout, a rate limit, a busy
# server. `Node(max_retries=n, wait=s)` tries `exec` up to `n` times in total, sleeping `s`
# seconds between tries. During each try, `self.cur_retry` holds the try's index, starting
# at 0.
#
# To see it happen, `standin.flaky(2)` wraps the stand-in model so that its first two calls
# raise `ConnectionError`. The model is passed to the node when it is built (configuration,
# not data, as Chapter 1 argued):


# %%
class Summarize(Node):
    def __init__(self, llm, **retry_options):
        super().__init__(**retry_options)
        self.llm = llm

    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        print(f"try {self.cur_retry}")
        return self.llm(f"Summarize this note in one sentence.\nText: {note}")

    def post(self, shared, prep_res, exec_res):
        shared["summary"] = exec_res
        return "summarized"


shared = {"note": NOTE}
Summarize(flaky(2), max_retries=3, wait=0.1).run(shared)
shared["summary"]

# %% [markdown] tags=["claim:only-exec-is-retried"]
# Two tries failed, the third succeeded, and `prep` and `post` each ran once. Retrying
# repeats the work, not the bookkeeping. With the default `max_retries=1` there is a single
# try and the first exception propagates. `wait` sleeps the whole thread: that is fine in a
# script, but in async code (Chapter 7) the waiting is done without blocking.

# %% [markdown] tags=["claim:fallback-result-goes-to-post"]
# ## When every try fails: `exec_fallback`
#
# After the last failed try, the node calls `exec_fallback(prep_res, exc)`. By default it
# re-raises `exc`. Override it to return something instead; whatever it returns is passed
# to `post` as if `exec` had returned it. That is how a flow degrades gracefully instead of
# stopping:


# %%
class SummarizeOrApologize(Summarize):
    def exec_fallback(self, note, exc):
        return f"(no summary: {exc})"


shared = {"note": NOTE}
SummarizeOrApologize(flaky(5), max_retries=3).run(shared)
shared["summary"]

# %% [markdown] tags=["claim:no-events", "claim:no-name-keyword"]
# ## One node, phase by phase
#
# > **Beyond the original PocketFlow:** `node.steps(shared)` (and `asteps` for async nodes
# > and flows), the events it yields, and the `Stepper` further down are additions of this
# > library, as is the `name=` keyword that names a flow in its drawing. The original runs a
# > node or a flow only whole, with `run`, and its nodes have no names.
#
# `run` goes through the phases in one go. `node.steps(shared)` goes through the same phases
# but stops after each one and hands you an **event** describing it: which node, which kind of
# phase, and the value it produced. Nothing happens until you ask for the next event, so you
# can stop anywhere, look at `shared`, and carry on.


# %%
def show(event):
    value = repr(event.value)
    print(f"#{event.step} {event.kind:<5} {value if len(value) < 50 else value[:46] + ' ...'}")


shared = {"note": NOTE}
node = Summarize(flaky(1), max_retries=2)
for event in node.steps(shared):
    show(event)

# %% [markdown]
# The kinds follow the table above. `start` means the node is entered. `prep` carries what
# `prep` returned. Each `retry` carries the exception of a failed try. `exec` carries the
# result and `post` the action. (The `try 0` and `try 1` lines are the node's own `print`.)
# The same events drive the tools in the rest of these chapters. They are also handy on
# their own: pull one with `next`, check `shared`, pull the next:

# %%
shared = {"note": NOTE}
steps = Summarize(call_llm).steps(shared)
next(steps), next(steps), next(steps)

# %%
print("after exec, summary stored?", "summary" in shared)
next(steps)
print("after post, summary stored?", "summary" in shared)

# %% [markdown]
# ## The Stepper
#
# The `Stepper` from `pocketflow_widgets` puts the same walk in a panel. **Step** pulls one
# event, **Next node** runs to the start of the next node, **Continue** runs to the end or
# to a breakpoint, and **Reset** starts over with a fresh copy of the original `shared`. It
# shows the graph with the current node highlighted, the value of the last phase, and what
# changed in `shared`.
#
# The drawing marks each node with its state in the run. This is what the looks mean (the
# tour of the toolkit draws the same legend as a picture):

# %%
from pocketflow.display import legend

print(legend())

# %% [markdown]
# Here the Stepper walks the two-node flow of Chapter 1: a note is loaded, then summarised.


# %%
class LoadNote(Node):
    def prep(self, shared):
        return shared["filename"]

    def exec(self, filename):
        return {"bees.txt": NOTE}[filename]

    def post(self, shared, prep_res, exec_res):
        shared["note"] = exec_res


load = LoadNote()
load >> Summarize(call_llm)
note_flow = Flow(start=load, name="note summary")
note_flow

# %%
from pocketflow_widgets import Stepper

stepper = Stepper(note_flow, {"filename": "bees.txt"})
stepper

# %% [markdown]
# Click the buttons in a running notebook. The panel can also be driven from code, which is
# what this cell does, so that the panel above shows the flow paused after `LoadNote` wrote
# its note:

# %%
stepper.next_node()  # into the flow
stepper.next_node()  # to the start of LoadNote
stepper.next_node()  # through LoadNote, to the start of Summarize
print(stepper.last)
print(stepper.shared)

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Write a node `SummarizeWithSource` that always leaves a summary in `shared["summary"]`. It
# should also record where the summary came from in `shared["source"]`: `"model"` if a try
# succeeded, `"fallback"` if every try failed, in which case the summary is the note's first
# eight words, a space and `...`. Run it with `flaky(1)` and then with `flaky(5)`, both with
# `max_retries=3`.
#
# Hint: `post` cannot tell `exec` and `exec_fallback` apart, unless what they return says so.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class SummarizeWithSource(Node):
    def __init__(self, llm, **retry_options):
        super().__init__(**retry_options)
        self.llm = llm

    # your answer: prep, exec, exec_fallback and post


# %%
from exercises import check

check("summary with source", SummarizeWithSource)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class SummarizeWithSource(Node):
    def __init__(self, llm, **retry_options):
        super().__init__(**retry_options)
        self.llm = llm

    def prep(self, shared):
        return shared["note"]

    def exec(self, note):
        return "model", self.llm(f"Summarize this note in one sentence.\nText: {note}")

    def exec_fallback(self, note, exc):
        return "fallback", " ".join(note.split()[:8]) + " ..."

    def post(self, shared, prep_res, exec_res):
        shared["source"], shared["summary"] = exec_res


for failures in (1, 5):
    shared = {"note": NOTE}
    SummarizeWithSource(flaky(failures), max_retries=3).run(shared)
    print(f"{failures} failures -> {shared['source']}: {shared['summary']}")

# %%
check("summary with source", SummarizeWithSource)

# %% [markdown]
# ## Recap
#
# * `prep` reads, `exec` works, `post` writes and chooses the next action.
# * `exec` sees only its argument, never `shared`. That is what makes it safe to retry, to run
#   per item, to run concurrently, and to test alone.
# * `max_retries` and `wait` retry `exec`, and `self.cur_retry` tells each try which it is.
#   `exec_fallback` turns a final failure into a result.
# * `node.steps(shared)` yields one event per phase, and the `Stepper` puts that in a panel.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Node*: retries and the fallback
