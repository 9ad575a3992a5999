# %% [markdown] tags=["claim:no-events", "claim:no-toolkit", "claim:no-resume"]
# # Chapter 9 · Checkpoints: pause a run, resume it, fork it
#
# > **Beyond the original PocketFlow:** everything in this chapter is an addition of this
# > library: checkpoints, resuming, forking, and the stepping session and traces they are
# > taken from. The original has no events to step through or record (no `observe`, `steps`
# > or traces); it runs a flow from its start to its end in one call, and a run that stops is
# > lost.
#
# A run of a flow is over in a fraction of a second when its nodes are plain Python. With a
# language model in it, a run takes longer and costs money, and some runs should not finish
# on their own at all: a newsletter should not go out before someone has read it. This
# chapter stops a run between two nodes, keeps where it stood, and picks it up later, as it
# was or changed.
#
# **What you will learn:**
#
# * what a checkpoint holds, and why a node boundary is the place to take one;
# * to take a checkpoint from a recorded run, resume it, and get the run's own result;
# * to save a checkpoint to a file and load it again, after a restart;
# * to pause a run before a review, look at it, and approve or edit before it goes on;
# * to let a node ask a person in the notebook, and take the answer after a restart;
# * to fork a run: change `shared` at a checkpoint and continue, next to the original;
# * what a checkpoint inside a parallel batch means.
#
# **What you need:** Chapters 1 to 5 (shared, nodes, actions, flows) and the traces of
# Chapter 8; the async flows of Chapter 7 come back towards the end. The model is the chapter's
# stand-in (`standin.py`), so everything runs offline in a few seconds. The small files it
# writes go to a temporary folder, removed at the end.

# %% [markdown]
# ## The idea
#
# A flow runs one node after another. Between two nodes, nothing is half done: the last
# node's `post` has written what it had to write, and the next node has not read anything
# yet. Everything the rest of the run depends on is then:
#
# * **the position**: which node comes next, or which node has just finished and with which
#   action;
# * **`shared`**, as it is at that moment;
# * **what the enclosing flows still need** to finish: for a node inside a sub-flow or a batch
#   flow, each flow's `prep` result, its params, the batch items already done, and how many
#   steps count against `max_steps`.
#
# That bundle is a **checkpoint**. It is taken at a *node boundary*: as a node starts (before
# its `prep`), or once its `post` has returned. Resuming a checkpoint runs the rest of the run
# from there. For nodes that do the same thing on the same input, the result is the same as
# that of the run that was never stopped. This is where Chapter 2's rule pays off: `exec`
# never touches `shared`, so all a node leaves behind is in `shared`, and a checkpoint has
# all of it.

# %%
from pocketflow import Flow, Node
from standin import call_llm

# %% [markdown]
# ## A newsletter desk
#
# Three nodes: `draft` asks the model to summarise some notes, `review` applies the house
# rules, and `publish` stores the approved text. A draft that breaks a rule goes back to its
# writer, which ends this run (a declared end, Chapter 4). Every model call goes through
# `ask_model`, which counts it: with a real model, each call is time and money, and the
# count shows which runs pay again.

# %%
MAX_WORDS = 14
model_calls = []


def ask_model(prompt):
    model_calls.append(prompt)
    return call_llm(prompt)


def house_rules(draft):
    """The problems the review finds in ``draft`` (none: it may be published)."""
    problems = []
    if draft.endswith("...") or not draft.endswith((".", "!", "?")):
        problems.append("it stops mid-sentence")
    if len(draft.split()) > MAX_WORDS:
        problems.append(f"it has {len(draft.split())} words (at most {MAX_WORDS})")
    return problems


class Draft(Node):
    def prep(self, shared):
        return shared["notes"]

    def exec(self, notes):
        return ask_model(f"Summarize these notes for the newsletter.\nText: {notes}")

    def post(self, shared, prep_res, exec_res):
        shared["draft"] = exec_res


class Review(Node):
    def prep(self, shared):
        return shared["draft"]

    def exec(self, draft):
        return house_rules(draft)

    def post(self, shared, prep_res, exec_res):
        shared["problems"] = exec_res
        return "revise" if exec_res else "approve"


class Publish(Node):
    def prep(self, shared):
        return shared["draft"]

    def post(self, shared, prep_res, exec_res):
        shared["published"] = prep_res
        return "published"


draft, review, publish = Draft(name="draft"), Review(name="review"), Publish(name="publish")
draft >> review
review - "approve" >> publish
review - "revise" >> None  # back to the writer: this run ends
desk = Flow(start=draft, name="newsletter")
desk

# %% [markdown]
# The notes open with a long sentence, and the stand-in model summarises by keeping the first
# sentence, cut short:

# %%
NOTES = (
    "Honeybees that have found good flowers fly back to the hive and dance on the comb to "
    "show the others where the food is. The angle of the dance points to the flowers, and "
    "its length says how far away they are."
)

shared = {"notes": NOTES}
print(desk.run(shared), shared["problems"], f"model calls: {len(model_calls)}")
print(shared["draft"])

# %% [markdown]
# The review sent the draft back. Keep that in mind: a person will fix it further down.

# %% [markdown]
# ## Record a run, take a checkpoint, resume it
#
# A trace recorded with `snapshots=True` (Chapter 8) keeps a copy of `shared` at every step,
# so it holds a checkpoint at each of its node boundaries. `boundaries(trace)` lists their
# step numbers:

# %%
from pocketflow.checkpoints import boundaries
from pocketflow.trace import record

model_calls.clear()
full_run = {"notes": NOTES}
trace = record(desk, full_run, snapshots=True)

steps = {step.step: step for step in trace}
for number in boundaries(trace):
    when = "before" if steps[number].kind == "start" else "after"
    print(f"step {number:>2}: {when:>6} {steps[number].name}")

# %% [markdown]
# The flow itself has boundaries too: before it starts, and after its own `post`. Take the
# checkpoint as `review` starts. `trace.checkpoint(step)` gives it:

# %%
before_review = next(n for n in boundaries(trace) if steps[n].name == "review")
checkpoint = trace.checkpoint(before_review)
checkpoint

# %% [markdown]
# It holds `shared` as it was then (the draft is written, the review not yet made) and one
# *frame* per flow under way, here only the newsletter flow, which is at `review`, one node
# step in:

# %%
print(checkpoint.shared)
for frame in checkpoint.frames:
    print(f"flow {frame.flow!r} is at {frame.at!r} after {frame.used} node step(s)")

# %% [markdown]
# `flow.resume(checkpoint, shared)` runs the rest and returns what the run returns.
# `checkpoint.new_shared()` gives a fresh copy of the checkpoint's `shared` to run on, so the
# checkpoint itself stays as it is and can be resumed again. The result, and `shared` at the
# end, are those of the full run, and the model is not asked again:

# %%
from pocketflow import observe

model_calls.clear()
events = []
resumed = checkpoint.new_shared()
with observe(events.append):
    result = desk.resume(checkpoint, resumed)

print(result, result == trace.result, resumed == full_run, f"model calls: {len(model_calls)}")

# %% [markdown]
# The events of the resumed run are numbered as in the run the checkpoint came from, and they
# are the rest of that run, event for event:

# %%
rest = [(step.step, step.kind, step.name) for step in trace if step.step >= before_review]
print(rest == [(event.step, event.kind, event.node.name) for event in events])
print(rest[:3])

# %% [markdown]
# That holds at every boundary. Resuming from each in turn: the runs that start before
# `draft` ask the model again, all the others do not, and all of them end as the full run did:

# %%
for number in boundaries(trace):
    at = trace.checkpoint(number)
    model_calls.clear()
    resumed = at.new_shared()
    result = desk.resume(at, resumed)
    same = result == trace.result and resumed == full_run
    print(f"{at!r:<52} model calls: {len(model_calls)}  same end: {same}")

# %% [markdown]
# ## Keep it in a file
#
# A checkpoint is plain data, so it outlives the kernel. `checkpoint.save(path)` writes JSON
# lines, like a trace: a header with the position and the graph of the flow, a line per
# frame, and a line with `shared`. `Checkpoint.load(path)` reads it back.

# %%
import json
import tempfile
from pathlib import Path

from pocketflow.checkpoints import Checkpoint

workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name)

path = folder / "before-review.jsonl"
checkpoint.save(path)
for number, line in enumerate(path.read_text().splitlines(), 1):
    print(f"line {number}: {', '.join(json.loads(line))}")

# %%
loaded = Checkpoint.load(path)
resumed = loaded.new_shared()
print(loaded, loaded.source)
print(desk.resume(loaded, resumed), resumed == full_run)

# %% [markdown]
# The graph in the header is there so that a checkpoint is resumed only on the flow it came
# from. A flow whose nodes or edges differ (here `review` was renamed) is refused, and the
# error names the differences:

# %%
import textwrap

other_draft, fact_check = Draft(name="draft"), Review(name="fact check")
other_draft >> fact_check
fact_check - "approve" >> Publish(name="publish")
try:
    Flow(start=other_draft, name="newsletter").resume(loaded, loaded.new_shared())
except ValueError as error:
    print(textwrap.fill(str(error), 96))

# %% [markdown]
# And `shared` must hold what JSON can hold (Chapter 1 said so for other reasons). A value it
# cannot hold, say a lock, is saved as a placeholder, its `repr`. Resuming on a placeholder
# would go on with the wrong value, so a loaded checkpoint refuses and names the key:

# %%
import threading

with_lock = checkpoint.fork({**checkpoint.new_shared(), "lock": threading.Lock()})
with_lock.save(folder / "with-lock.jsonl")
try:
    Checkpoint.load(folder / "with-lock.jsonl").new_shared()
except ValueError as error:
    print(textwrap.fill(str(error), 96))

# %% [markdown]
# ## A review pause
#
# Now the person. The newsletter should stop before `review` every time, show the draft to an
# editor, and go on only once the editor has answered. A **stepping session** (the plain
# Python model of the `Stepper` of Chapters 2 and 8) runs a flow until a breakpoint:
# `halt_before=["review"]` stops it as `review` starts.

# %%
from pocketflow.stepping import Session

session = Session(desk, {"notes": NOTES}, halt_before=["review"])
event = session.continue_()
print(f"halted: {event.kind} of {event.node.name!r} (step {event.step})")
print("draft:", session.shared["draft"])

# %% [markdown]
# The run waits, holding nothing but a paused generator. An editor may answer in a minute, or
# tomorrow, after the kernel has been restarted. So first keep a checkpoint of the pause in a
# file; `session.take_checkpoint()` takes it where the session halted:

# %%
session.take_checkpoint().save(folder / "review-pending.jsonl")

# %% [markdown]
# If the editor answers while the kernel still runs, nothing more is needed. To approve, call
# `session.continue_()`. To edit, change `session.shared` first, then continue: the nodes
# still to run read the edited draft. This editor rewrites the cut-off sentence:

# %%
REWRITE = "Honeybees dance on the comb to show the others where the food is."

session.shared["draft"] = REWRITE
session.continue_()
print(session.finished, session.result, "|", session.shared["published"])

# %% [markdown]
# If the kernel was restarted meanwhile, the file has the pause. Load it, look at the draft,
# and resume with the answer. To let the draft go on as it is, resume the checkpoint
# unchanged; here the house rules then send it back, since they apply after the editor too:

# %%
pending = Checkpoint.load(folder / "review-pending.jsonl")
print(pending)
print("draft:", pending.shared["draft"])

approved = pending.new_shared()
print(desk.resume(pending, approved), approved["problems"])

# %% [markdown]
# Editing means resuming on a changed `shared`. `checkpoint.fork(shared)` makes that a
# checkpoint of its own, which records where it came from (and anything you add, such as a
# note); the original is unchanged:

# %%
edited = pending.new_shared()
edited["draft"] = REWRITE
fixed = pending.fork(edited, note="draft rewritten by the editor")
print(fixed.source)

published = fixed.new_shared()
print(desk.resume(fixed, published), "|", published["published"])
print("the pause still holds:", pending.shared["draft"])

# %% [markdown]
# A session can pick a checkpoint up too, to walk the rest of the run with breakpoints:
# `Session(flow, shared, checkpoint=...)`. This one halts once `review` has given its verdict
# on the editor's fork, before anything is published:

# %%
walk = Session(desk, fixed.new_shared(), checkpoint=fixed, halt_after=["review"])
event = walk.continue_()
print(f"halted: {event.kind} of {event.node.name!r}, action {event.value!r}")
walk.continue_()
print(walk.finished, walk.shared["published"])

# %% [markdown]
# ## A person in the loop, in the notebook
#
# The session above waits for code: the editor answers by changing `session.shared` in a
# cell. The toolkit can ask the person instead. A node awaits
# `ask(question, choices=[...])` in its `exec_async`; the question shows as buttons under the
# run's live view, and the click is the answer. Here the editor is asked in place of the
# house rules:

# %%
from pocketflow import AsyncFlow, AsyncNode
from pocketflow_widgets import answers, ask, start

QUESTION = "Publish this draft?"


class AskEditor(AsyncNode):
    async def prep_async(self, shared):
        return shared["draft"]

    async def exec_async(self, draft):
        return await ask(QUESTION, choices=["publish", "send back"])

    async def post_async(self, shared, prep_res, exec_res):
        shared["editor"] = exec_res
        return "approve" if exec_res == "publish" else "revise"


asking_draft, editor = Draft(name="draft"), AskEditor(name="editor")
asking_draft >> editor
editor - "approve" >> Publish(name="publish")
editor - "revise" >> None
asking_desk = AsyncFlow(start=asking_draft, name="asking desk")

# %% [markdown]
# How such a run is started follows from how Jupyter works. While a cell executes, even a cell
# that only awaits, the kernel does not handle the messages a click sends: they wait until
# the cell has ended. A run that asks, awaited by its own cell, would wait for a click the
# kernel cannot take before the run ends, that is, forever. `ask` sees that and says so
# instead of hanging:

# %%
try:
    await asking_desk.run_async({"notes": NOTES})
except RuntimeError as error:
    print(textwrap.fill(str(error), 96))

# %% [markdown]
# So the run goes to the background. `start(flow, shared)` shows the run's live view, starts
# the run as a task of the kernel's event loop, and returns at once. The cell ends, and the
# kernel is free for the click, and for other cells: while the question waits, look at
# `run.shared["draft"]` in the next one.

# %%
run = start(asking_desk, {"notes": NOTES})

# %% [markdown]
# In your copy of this chapter, click **publish** or **send back** under the graph, and the
# run goes on. (This page was executed without anyone to click; the cells below do what a
# restart would.) A question can wait a long time, so take a checkpoint of the waiting run:
# `run.checkpoint()` is taken at its last node boundary, the start of `editor`, and resuming
# it asks again.

# %%
import asyncio

while not run.pending:  # the question appears once the model has drafted
    await asyncio.sleep(0.01)
print(run)
waiting = run.checkpoint()
waiting.save(folder / "waiting-for-the-editor.jsonl")
print(waiting)

# %% [markdown]
# Now suppose the kernel is restarted. The background run is gone with it (here it is
# cancelled, which is what a restart does to it: its view above shows it interrupted in
# `editor`), and nobody can click in that view any more. The checkpoint in the file is what
# is left. Resume it in a cell, with the editor's answer given in advance by
# `answers({question: answer})`, so that `ask` returns at once instead of waiting. This
# editor also fixed the draft, so the resumed run is a fork:

# %%
run.cancel()

after_restart = Checkpoint.load(folder / "waiting-for-the-editor.jsonl")
rewritten = after_restart.fork({**after_restart.new_shared(), "draft": REWRITE})
shared = rewritten.new_shared()
with answers({QUESTION: "publish"}):
    print(await asking_desk.resume_async(rewritten, shared), "|", shared["published"])

# %% [markdown]
# ## Forks, side by side
#
# The editor's rewrite made a second future for one run. Forks are how to compare futures:
# from the same moment, or from different ones, each continued with its own change. Here are
# three: the run as the model drafted it, the editor's rewrite (both from the pause before
# `review`), and a fork from *before* `draft` with shorter notes, for which the model is asked
# again.

# %%
SHORT_NOTES = "Honeybees dance on the comb to tell the others where food is. The angle matters."

before_draft = next(n for n in boundaries(trace) if steps[n].name == "draft")
shorter = trace.checkpoint(before_draft).new_shared()
shorter["notes"] = SHORT_NOTES

forks = {
    "as drafted": pending,
    "edited": fixed,
    "shorter notes": trace.checkpoint(before_draft).fork(shorter),
}
print(f"{'fork':<14} {'from':<15} {'ends':<10} model calls")
for name, fork in forks.items():
    model_calls.clear()
    shared = fork.new_shared()
    ends = desk.resume(fork, shared)
    where = f"{'after' if fork.after else 'before'} {fork.graph[fork.node].name}"
    print(f"{name:<14} {where:<15} {ends:<10} {len(model_calls)}")
    print(f"{'':<14} {shared['draft']}")

# %% [markdown]
# Each fork ran on its own copy of `shared`, so the three results do not mix, and nothing ran
# twice that did not need to: only the fork that starts before `draft` called the model.

# %% [markdown]
# The toolkit forks without code too. `Replay(trace, flow)` (Chapter 8) browses a recorded
# run; given the flow and a trace with snapshots, its **Continue from here** takes the
# checkpoint at the step shown, lets you edit `shared` key by key (as Python literals or
# JSON), and opens a `Stepper` on the fork under the replay. Here it is at the pause before
# `review`:

# %%
from pocketflow_widgets import Replay, Stepper

replay = Replay(trace, desk)
replay.show(before_review)
replay

# %% [markdown]
# `Stepper(flow, None, checkpoint=...)` opens a stepper on a checkpoint (a loaded one
# included), and its **Fork** button forks the run wherever it halts at a node boundary. This
# one continues the pause from the file to the end:

# %%
stepper = Stepper(desk, None, checkpoint=pending)
stepper.continue_()
print(stepper.finished, stepper.shared["problems"])
stepper

# %% [markdown]
# ## A checkpoint inside a parallel batch
#
# A checkpoint is a single position in a run. A *parallel* batch flow (Chapter 7) is in
# several positions at once: one per item under way. So a checkpoint taken inside it stops at
# the batch flow and records which items had **finished**, with what they left in `shared`.
# Resuming runs every unfinished item again **from its start**, and does not run the finished
# ones again.
#
# An issue of the newsletter drafts three stories at once, then counts each draft's words.
# The stand-in model takes a different time for each, so they finish in a known order:

# %%
from pocketflow import AsyncNode, AsyncParallelBatchFlow
from pocketflow.trace import arecord
from standin import call_llm_async

STORIES = {
    "bees": ("Honeybees dance on the comb to show the others where food is.", 0.01),
    "moon": ("The Moon always shows the same face to the Earth.", 0.10),
    "bread": ("A sourdough starter is flour and water full of wild yeast.", 0.20),
}


class DraftStory(AsyncNode):
    async def prep_async(self, shared):
        return self.params["story"]

    async def exec_async(self, story):
        text, seconds = STORIES[story]
        model_calls.append(story)
        return await call_llm_async(f"Summarize this.\nText: {text}", delay=seconds)

    async def post_async(self, shared, prep_res, exec_res):
        shared["drafts"][prep_res] = exec_res


class CountWords(Node):
    def prep(self, shared):
        return shared["drafts"][self.params["story"]]

    def exec(self, story_draft):
        return len(story_draft.split())

    def post(self, shared, prep_res, exec_res):
        shared["words"][self.params["story"]] = exec_res


class Issue(AsyncParallelBatchFlow):
    async def prep_async(self, shared):
        return [{"story": story} for story in shared["stories"]]


draft_story = DraftStory(name="draft story")
draft_story >> CountWords(name="count words")
issue = Issue(start=draft_story, name="issue")

model_calls.clear()
whole_issue = {"stories": list(STORIES), "drafts": {}, "words": {}}
issue_trace = await arecord(issue, whole_issue, snapshots=True)
print(whole_issue["words"], f"model calls: {model_calls}")
issue

# %% [markdown]
# Take the checkpoint just after the moon's draft came back, before its words are counted. By
# then the bees' item had finished; the moon's had not, and the bread's was still waiting for
# the model:

# %%
moon_drafted = next(
    step.step
    for step in issue_trace
    if step.kind == "post" and step.name == "draft story" and step.params == {"story": "moon"}
)
inside = issue_trace.checkpoint(moon_drafted)
batch = inside.frames[-1]
print(inside)
print("finished items:", [whole_issue["stories"][item] for item in batch.done])
print("drafts at the checkpoint:", list(inside.shared["drafts"]))

# %% [markdown]
# Resume it and watch which nodes start. The moon's draft had come back before the
# checkpoint, but its item had not finished, so it is drafted again; the bees are not:


# %%
def print_starts(event):
    if event.kind == "start" and event.node is not issue:
        print(f"  {event.node.name} of {event.params['story']}")


model_calls.clear()
resumed_issue = inside.new_shared()
with observe(print_starts):
    await issue.resume_async(inside, resumed_issue)

print(f"model calls: {model_calls}", resumed_issue == whole_issue)

# %% [markdown]
# So write a batch item's nodes to be safe to run twice, as these are: `post` *sets* a key
# for its item rather than appending to a list, and the moon's second draft simply replaces
# its first. The same holds for a run that is stopped (or fails) while an item's `exec` is
# under way: there is no boundary inside `exec`, so the node starts again.

# %% [markdown]
# ## Cleaning up
#
# The files were only examples; the temporary folder goes.

# %%
workdir.cleanup()
print(folder.exists())

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Fork a recorded run at another boundary: **after** `draft`'s `post` (the draft is written;
# the review has not begun). Write `fork_after_draft(trace, text)`, which returns the fork of
# `trace`'s run at that boundary with `text` in place of the model's draft, leaving the trace
# as it was. `check` calls it with drafts of its own, resumes each fork on `desk`, and says
# whether each draft was published, or what it expected and what it saw.


# %%
def fork_after_draft(trace, text):
    return None  # your answer: the fork after draft's post, with text as the draft


# %%
from exercises import check

check("fork after draft", fork_after_draft, trace, desk)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
def fork_after_draft(trace, text):
    steps = {step.step: step for step in trace}
    after_draft = next(
        n for n in boundaries(trace) if steps[n].kind == "post" and steps[n].name == "draft"
    )
    checkpoint = trace.checkpoint(after_draft)
    shared = checkpoint.new_shared()  # a copy: the trace keeps its own
    shared["draft"] = text
    return checkpoint.fork(shared)


mine = fork_after_draft(trace, "Bees dance on the comb to tell each other where flowers are.")
model_calls.clear()
shared = mine.new_shared()
print(mine, desk.resume(mine, shared), f"model calls: {len(model_calls)}")
print(shared["published"])

# %%
check("fork after draft", fork_after_draft, trace, desk)

# %% [markdown]
# ## Recap
#
# * A **checkpoint** is the state of a run at a node boundary (as a node starts, or after its
#   `post`): the position, `shared`, and what the enclosing flows need to finish.
# * Take one from a trace recorded with `snapshots=True` (`trace.checkpoint(step)`, with the
#   steps from `boundaries(trace)`), or from a `Session` halted at a breakpoint
#   (`session.take_checkpoint()`).
# * `flow.resume(checkpoint, checkpoint.new_shared())` (`await flow.resume_async(...)` for an
#   async flow) runs the rest, with the same result as the run that was never stopped, and
#   without running again what was done.
# * `checkpoint.save(path)` and `Checkpoint.load(path)` keep it across restarts; a checkpoint
#   refuses a flow with another graph, and a `shared` value that was saved as a placeholder.
# * A review pause is a session halted before the review node: inspect `shared`, then
#   approve (continue) or edit (change `shared`, then continue), now or from the file later.
# * A node can `await ask(question, choices=[...])` a person. Start such a run with
#   `start(flow, shared)`, so that the kernel is free for the click; `run.checkpoint()` keeps
#   the wait, and `answers({...})` gives the answer in advance to a resumed run.
# * `checkpoint.fork(shared)` is the same moment with a changed `shared`; it records where it
#   came from. Forks run side by side without mixing. In the notebook, `Replay`'s **Continue
#   from here** and the `Stepper`'s **Fork** make them without code.
# * Inside a parallel batch, a checkpoint keeps the finished items; the others run again from
#   their start, so make an item's nodes safe to run twice.

# %% [markdown]
# ## Further reading
#
# * `pocketflow/checkpoints.py` and `pocketflow/stepping.py`: the module docstrings describe
#   what a checkpoint holds and how a session halts, with small examples.
# * Chapter 8, for traces; Chapter 2, for stepping a run with the `Stepper`.
# * `pocketflow/recordings.py`: `with replaying(trace):` runs a flow again with each node's
#   `exec` result taken from a recorded run, another way not to pay for the model twice.
# * Other libraries that pause and resume graphs of LLM calls:
#   [LangGraph's persistence](https://docs.langchain.com/oss/python/langgraph/persistence)
#   (checkpointers, interrupts and "time travel"),
#   [Burr's state persistence](https://burr.apache.org/concepts/state-persistence/)
#   (forking an application from an earlier step), and
#   [pydantic-graph's persistence](https://ai.pydantic.dev/graph/#state-persistence).
