# %% [markdown]
# # Chapter 4 · Actions and transitions
#
# Every `post` so far returned an action, and so far nothing used it. A flow uses it to pick
# the next node. This chapter covers the two operators that wire nodes together, and what
# they let a flow do: branch, loop, and stop, either on purpose or because of a mistake.
#
# **What you will learn:**
#
# * how `>>` and `- "action" >>` wire nodes into branches and loops
# * what a flow does with an action that leads nowhere, and the warnings it gives
# * how to end a flow on purpose, and how to stop a loop that never ends
#
# **What you need:** Chapters 1 and 2.

# %%
from pocketflow import Flow, Node, observe

# %% [markdown]
# ## An editor's desk
#
# The example is a small editorial loop, written without a language model so that every
# decision is easy to follow:
#
# * `Draft` writes a draft.
# * `Review` checks it. A draft that promises too much is **rejected**, a long one is sent
#   back for **revision**, and a short one is **approved**.
# * `Revise` drops the last sentence, and the draft goes back to review.
# * `Publish` stores the approved text.
#
# Each decision is simply the string that `post` returns.

# %%
DRAFT = (
    "Honeybees share the way to food by dancing. "
    "The angle of the dance points to the flowers. "
    "The length of the dance tells how far they are. "
    "Other bees also smell the scent the dancer carries. "
    "Scientists first decoded the dance in the 1940s."
)


class Draft(Node):
    def post(self, shared, prep_res, exec_res):
        shared["draft"] = shared.get("text", DRAFT)
        shared["revisions"] = 0


class Review(Node):
    def __init__(self, max_words=30, **options):
        super().__init__(**options)
        self.max_words = max_words

    def prep(self, shared):
        return shared["draft"]

    def exec(self, draft):
        if "guaranteed" in draft.lower():
            return "reject"
        return "revise" if len(draft.split()) > self.max_words else "approve"

    def post(self, shared, prep_res, exec_res):
        return exec_res


class Revise(Node):
    def prep(self, shared):
        return shared["draft"]

    def exec(self, draft):
        sentences = draft.split(". ")
        return ". ".join(sentences[:-1]) + "." if len(sentences) > 1 else draft

    def post(self, shared, prep_res, exec_res):
        shared["draft"] = exec_res
        shared["revisions"] += 1


class Publish(Node):
    def post(self, shared, prep_res, exec_res):
        shared["published"] = shared["draft"]
        return "done"


# %% [markdown] tags=["claim:rshift-returns-right-node", "claim:none-action-means-default"]
# ## `>>` and `- "action" >>`
#
# `a >> b` wires `b` as the successor of `a` for the action `"default"`. A `post` that
# returns `None` (as `Draft`'s does) means `"default"` too. `a - "name" >> b` wires `b` for
# the action `"name"`. One node can have as many named successors as it has outcomes, and an
# edge may point back to an earlier node, which makes a loop.
#
# Both operators return their right-hand node. That is what makes a chain work: in
# `a >> b >> c`, `a >> b` wires the first edge and evaluates to `b`, and `b >> c` wires the
# second. (`name="desk"` below is this library's naming keyword, met in Chapter 1.)

# %%
draft, review, revise, publish = Draft(), Review(), Revise(), Publish()

draft >> review
review - "approve" >> publish
review - "revise" >> revise
revise >> review  # back to review: a loop

desk = Flow(start=draft, name="desk")
desk

# %% [markdown]
# Every edge in the drawing carries its action. To follow a run edge by edge, listen for
# `"transition"` events. Each one names the node, the action its `post` returned, and the
# node the flow goes to next (`target`, or `None` when the flow ends):


# %%
def print_transition(event):
    if event.kind == "transition":
        target = event.target.name if event.target else "(end)"
        print(f"{event.node.name:>7} --{event.value or 'default'}--> {target}")


shared = {}
with observe(print_transition):
    result = desk.run(shared)
print(f"{shared['revisions']} revisions, flow returned {result!r}")
print(shared["published"])

# %% [markdown] tags=["claim:flow-returns-last-action"]
# The draft went round the loop until it was short enough. The flow returned `"done"`: **a
# flow returns the action of the last node it ran.** That detail matters in Chapter 5, when a
# flow becomes a step inside a bigger flow.

# %% [markdown] tags=["claim:flow-ends-warning"]
# ## An action with nowhere to go
#
# `Review` can also return `"reject"`, and nothing is wired for it. When that happens the
# flow has no next node, so it stops. Because the node *does* have other successors, a
# missing one is probably a mistake (a typo in an action name, or a branch you forgot), and
# PocketFlow warns:

# %%
desk.run({"text": "Our honey is guaranteed to cure everything."})

# %% [markdown] tags=["claim:flow-ends-warning", "claim:declared-end-warns"]
# The flow returned `"reject"`, and the warning names the action that was not found and the
# ones that exist. `Publish`, on the other hand, has no successors at all. It is plainly the
# last step, so the flow ends after it without a word.
#
# When stopping on an action is what you mean, say so by wiring it to `None`. That declares
# the end: in this library, the flow then stops there silently.
#
# > **Beyond the original PocketFlow:** declared ends. The original accepts
# > `review - "reject" >> None` but treats the `None` like a missing successor: the flow
# > still warns `Flow ends: 'reject' not found in [...]`, the declared end included in the
# > list. Code written for the original therefore runs here as there, one warning fewer.

# %%
review - "reject" >> None
result = desk.run({"text": "Our honey is guaranteed to cure everything."})
print("flow returned", repr(result))
desk

# %% [markdown]
# The declared end shows up in the drawing too, so the graph documents every way out of
# `Review`.

# %% [markdown] tags=["claim:overwriting-successor-warns", "claim:node-run-warns-about-successors"]
# ## Two more warnings
#
# Wiring an action that already has a successor replaces the old edge, and PocketFlow warns,
# since that is rarely meant in a finished graph. And running a node that has successors
# with `node.run(shared)` runs that one node only: following edges is a flow's job, so the
# node warns that its successors will not run.

# %%
review - "revise" >> Revise()  # replaces the edge to `revise`, and says so
review - "revise" >> revise  # the old edge back, with a second warning
draft.run({})  # only Draft runs: Review, its successor, does not

# %% [markdown] tags=["claim:no-max-steps"]
# ## A loop that never ends
#
# A loop must eventually take its exit. `Revise` drops sentences, but a draft of one long
# sentence cannot get any shorter, so `Review` keeps saying `"revise"` forever. Set
# `max_steps` on a flow to turn that hang into an error that names the node it stopped at.
#
# > **Beyond the original PocketFlow:** `max_steps` is an addition of this library. The
# > original `Flow` takes no such argument (a `TypeError`), and a loop without an exit runs
# > there until you interrupt it.

# %%
one_long_sentence = "Bees " + "really " * 40 + "like flowers."
guarded = Flow(start=draft, max_steps=25, name="guarded desk")
try:
    guarded.run({"text": one_long_sentence})
except RuntimeError as exc:
    print(f"{type(exc).__name__}: {exc}")

# %% [markdown]
# `max_steps` counts every node that one run of the flow starts, the nodes of its sub-flows
# included, so a loop hidden inside a sub-flow is stopped by the outer flow's limit too.
# Without it (the default), a flow runs as long as its actions lead somewhere.

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Editors give up eventually. Make a `Review` subclass, `PatientReview`, that returns
# `"give_up"` once `shared["revisions"]` reaches 3. Wire `"give_up"` to a new node
# `Escalate` that stores the draft in `shared["needs_human"]`. Run the one-long-sentence draft
# through it: the flow should now end without hitting any limit. Draw the new flow.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class PatientReview(Review):
    pass  # your answer


patient_desk = Flow(start=draft, max_steps=25, name="patient desk")  # your answer: rewire it

# %%
from exercises import check

check("patient desk", patient_desk)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class PatientReview(Review):
    def prep(self, shared):
        return shared["draft"], shared["revisions"]

    def exec(self, inputs):
        draft, revisions = inputs
        return "give_up" if revisions >= 3 else super().exec(draft)


class Escalate(Node):
    def post(self, shared, prep_res, exec_res):
        shared["needs_human"] = shared["draft"]


draft, review, revise = Draft(), PatientReview(), Revise()
draft >> review
review - "approve" >> Publish()
review - "revise" >> revise
review - "give_up" >> Escalate()
revise >> review

patient_desk = Flow(start=draft, max_steps=25, name="patient desk")
shared = {"text": one_long_sentence}
patient_desk.run(shared)
print(f"escalated after {shared['revisions']} revisions: {'needs_human' in shared}")
patient_desk

# %%
check("patient desk", patient_desk)

# %% [markdown]
# ## Recap
#
# * `post` returns an action; `None` means `"default"`.
# * `a >> b` wires the default action, and `a - "name" >> b` a named one. Edges can branch
#   and can point backwards to form loops.
# * An action with no successor ends the flow. If the node has other successors, you get a
#   `Flow ends` warning. Declare intended ends with `a - "name" >> None`.
# * A flow returns its last node's action. `max_steps` guards against loops with no exit.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Flow*: actions, branches and loops
