# %% [markdown]
# # Chapter 8 · A research agent
#
# An **agent**, in the sense used for LLM applications, is a loop in which a model decides
# what to do next. It might look something up, take another step, or stop and answer. In
# PocketFlow, that is nothing new: a node whose `post` returns the model's decision as an
# action, and edges that lead from each decision to the node that carries it out and back.
#
# This chapter builds a small research agent from the pieces of the previous seven, then uses
# the tools that make such a loop understandable: the graph, the `Stepper`, and a recorded
# trace that can be saved, loaded and replayed.
#
# **What you will learn:**
#
# * how an agent is a loop in which a model's reply becomes the next action
# * how to check a model's reply and retry, and how to cap an agent's budget
# * how to step an agent, record its run, save it and replay it
#
# **What you need:** Chapters 1 to 7.

# %%
import json

from pocketflow import AsyncFlow, AsyncNode, AsyncParallelBatchNode, Node, observe
from standin import call_llm, call_llm_async, search_web_async

# %% [markdown]
# ## The plan
#
# Given a question, the agent repeats two steps:
#
# 1. **Decide.** Show the model the question and what has been found so far, and ask it to
#    reply with a small JSON decision: `{"action": "search", "queries": [...]}` or
#    `{"action": "answer"}`.
# 2. **Search.** Run the queries, all at once (an `AsyncParallelBatchNode`, Chapter 7), and
#    add what they find to the context. Then decide again.
#
# When the decision is to answer, **Answer** writes the answer from the context. The layout of
# `shared` comes first, as Chapter 1 recommends:


# %%
def new_question(question):
    return {
        "question": question,
        "context": [],  # documents found so far
        "queries": [],  # what to search for next
        "searches": 0,  # search rounds so far
        "answer": None,
    }


# %% [markdown]
# ## Decide
#
# The model's reply is text, and text can be malformed. `exec_async` therefore checks the
# reply and raises if it is not a decision it can act on. Chapter 2's retries then ask again,
# up to three times. Because `exec` never touches `shared`, asking again is harmless.
#
# The decision becomes the action that `post_async` returns, so the graph follows the model's
# choice. `post_async` also enforces a budget: after `MAX_SEARCHES` rounds, the agent answers
# with what it has, whatever the model says. Limits belong in code, not in the prompt.

# %%
MAX_SEARCHES = 2


def format_context(documents):
    return "\n".join(f"- {d.title}: {d.text}" for d in documents) or "(nothing yet)"


def parse_decision(reply):
    """The decision in the model's reply; raises ValueError if there is none."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    decision = json.loads(text)
    if decision.get("action") not in ("search", "answer"):
        raise ValueError(f"unknown action in {reply!r}")
    if decision["action"] == "search" and not decision.get("queries"):
        raise ValueError(f"a search needs queries: {reply!r}")
    return decision


class Decide(AsyncNode):
    async def prep_async(self, shared):
        return shared["question"], shared["context"]

    async def exec_async(self, inputs):
        question, context = inputs
        prompt = (
            "You are a research assistant. Decide the next action.\n"
            f"Question: {question}\n"
            f"Context:\n{format_context(context)}\n\n"
            'Reply with JSON only: {"action": "search", "queries": ["...", "..."]} '
            'to look things up, or {"action": "answer"} when the context is enough.'
        )
        return parse_decision(await call_llm_async(prompt))

    async def post_async(self, shared, prep_res, exec_res):
        if shared["searches"] >= MAX_SEARCHES:
            return "answer"
        shared["queries"] = exec_res.get("queries", [])
        return exec_res["action"]


# %% [markdown]
# ## Search, in parallel
#
# One item per query. Each `exec_async` sees one query and returns the documents it found.
# `post_async` merges them into the context without duplicates and counts the round:


# %%
class Search(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["queries"]

    async def exec_async(self, query):
        return await search_web_async(query)

    async def post_async(self, shared, prep_res, exec_res):
        known = {document.url for document in shared["context"]}
        for documents in exec_res:
            for document in documents:
                if document.url not in known:
                    shared["context"].append(document)
                    known.add(document.url)
        shared["searches"] += 1


# %% [markdown]
# ## Answer
#
# A plain node: it runs once, at the end, and a single call needs no concurrency.


# %%
class Answer(Node):
    def prep(self, shared):
        return shared["question"], shared["context"]

    def exec(self, inputs):
        question, context = inputs
        prompt = (
            "Answer the question using only the context.\n"
            f"Question: {question}\n"
            f"Context:\n{format_context(context)}"
        )
        return call_llm(prompt)

    def post(self, shared, prep_res, exec_res):
        shared["answer"] = exec_res


# %% [markdown]
# ## Wiring the loop
#
# `Decide` has two ways out, `Search` leads back to `Decide`, and `Answer` ends the run.
# `max_steps` (Chapter 4) is a second safety net. Even if a bug broke the budget, the loop
# could not run away.

# %%
decide, search, answer = Decide(max_retries=3), Search(), Answer()
decide - "search" >> search
decide - "answer" >> answer
search >> decide
agent = AsyncFlow(start=decide, name="research agent", max_steps=10)
agent

# %% [markdown]
# ## A first run

# %%
QUESTION = "How do honeybees tell each other where flowers are?"

shared = new_question(QUESTION)
await agent.run_async(shared)
print(shared["answer"])
print()
print(f"{shared['searches']} search round(s); sources:")
for document in shared["context"]:
    print(f"  {document.title} <{document.url}>")

# %% [markdown]
# ## Watching the decisions
#
# The answer alone does not show *how* the agent got there. The transitions do. Each one
# records a decision and where it led:


# %%
def print_transition(event):
    if event.kind == "transition" and event.node is not agent:
        target = event.target.name if event.target else "(end)"
        print(f"{event.node.name:>7} --{event.value or 'default'}--> {target}")


with observe(print_transition):
    await agent.run_async(new_question(QUESTION))

# %% [markdown]
# ## Stepping through it
#
# The `Stepper` works for async flows too. Each button press schedules the next step on the
# notebook's event loop and returns at once, so the kernel never blocks while the agent
# waits. Driving it from code, `await stepper.wait()` waits until the scheduled step is done.
# Here it runs until the start of `Search`, then takes one more step, so that the panel shows
# the queries `Decide` chose:

# %%
from pocketflow_widgets import Stepper

stepper = Stepper(agent, new_question(QUESTION), breakpoints=[search])
stepper.continue_()
await stepper.wait()
stepper.step()
await stepper.wait()
stepper

# %%
print(stepper.last)
print("queries:", stepper.shared["queries"])

# %% [markdown]
# Press **Step** to watch each query come back as an `item` of the batch, or **Continue** to
# run to the answer.

# %% [markdown]
# ## Recording a trace
#
# A `Recorder` is an observer that keeps every event of a run, optionally with a snapshot of
# `shared` at each step. `arecord(flow, shared)` attaches one for the length of a run and
# returns what it recorded: a `Trace`. A trace knows which nodes ran and which edges were
# taken how often, and it can be drawn over the graph:

# %%
from pocketflow.trace import Trace, arecord
from pocketflow_widgets import show

trace = await arecord(agent, new_question(QUESTION), snapshots=True)
print(f"{len(trace)} steps recorded; edges taken:")
for (source, action, target), count in trace.edge_counts.items():
    print(f"  {source} --{action}--> {target or '(end)'}  x{count}")
show(agent, trace=trace)

# %% [markdown]
# ## Saving, loading, replaying
#
# A trace saves as JSON lines, one event per line, so it can be kept with a bug report,
# compared between two versions of a prompt, or loaded elsewhere. Values that JSON cannot
# hold, such as the `Document` objects here, are stored as their `repr`.

# %%
import tempfile
from pathlib import Path

path = Path(tempfile.mkdtemp()) / "agent.jsonl"
trace.save(path)
loaded = Trace.load(path)
print(f"{path.name}: {len(path.read_text().splitlines())} lines, {len(loaded.steps)} steps")

# %% [markdown]
# `Replay` browses a loaded trace with a slider: the graph, the event and `shared` as they
# were at any step. A loaded trace holds names, not node objects. It can draw a graph from
# those names alone, or, as here, be laid over the flow it was recorded from. Move the
# slider, or set it from code, as here, to the step where `Answer` started:

# %%
from pocketflow_widgets import Replay

replay = Replay(loaded, agent)
answer_starts = [step.step for step in loaded if step.kind == "start" and step.name == "Answer"]
replay.show(answer_starts[0])
replay

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Ask the agent something its corpus knows nothing about, such as *"Who won the 1998 chess
# olympiad?"*. It searches, finds nothing, searches again, and then answers from an empty
# context. Make it give up honestly instead. When a search round adds no new document,
# `Search` should return `"give_up"`, wired to a new node `GiveUp` that stores
# `"I could not find that."` as the answer. Record the run with `arecord` and print the
# names of the nodes it started, in order.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class GiveUpEarly(Search):
    pass  # your answer: return "give_up" when a search round found nothing new


honest_agent = agent  # your answer: the agent rewired, with GiveUpEarly and GiveUp

# %%
from exercises import check

check("honest agent", honest_agent)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class GiveUpEarly(Search):
    async def post_async(self, shared, prep_res, exec_res):
        before = len(shared["context"])
        await super().post_async(shared, prep_res, exec_res)
        return "give_up" if len(shared["context"]) == before else "default"


class GiveUp(Node):
    def post(self, shared, prep_res, exec_res):
        shared["answer"] = "I could not find that."


decide, search = Decide(max_retries=3), GiveUpEarly(name="Search")
decide - "search" >> search
decide - "answer" >> Answer()
search >> decide
search - "give_up" >> GiveUp()
honest_agent = AsyncFlow(start=decide, name="honest agent", max_steps=10)

shared = new_question("Who won the 1998 chess olympiad?")
trace = await arecord(honest_agent, shared)
print(shared["answer"])
print([step.name for step in trace if step.kind == "start"])
honest_agent

# %%
check("honest agent", honest_agent)

# %% [markdown]
# ## Recap
#
# * An agent is a flow in which a model's decision is the action: `Decide` picks the edge.
# * Everything from the earlier chapters is used. Validation in `exec` plus retries copes with
#   malformed replies. A parallel batch runs the searches. Rules in `post` and `max_steps`
#   keep the loop bounded. `shared` holds only data.
# * The graph shows the possible paths, the `Stepper` walks one run, and a `Trace` keeps a run
#   to save, load, draw and replay.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Design Pattern › Agent*
