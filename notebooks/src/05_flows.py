# %% [markdown] tags=["claim:flow-exec-never-called"]
# # Chapter 5 · Flows inside flows
#
# A flow is run like a node: `prep`, then the work, then `post`, whose result is what the run
# returns. Its `prep` and `post` work like any node's. The work in the middle is the walk
# through its graph, which takes the place of `exec`: a flow's `exec` is never called. So a
# flow **is** a node, and you can put it anywhere a node can go, including inside another
# flow. That is how a large workflow stays
# readable: each part is a small flow with a name, and the top level shows how the parts
# connect.
#
# **What you will learn:**
#
# * why a flow can be a node of another flow, and how its result picks the edge out
# * how to give a flow its own `prep` and `post`
# * how params and events reach the nodes of a sub-flow, and how stepping goes into it
#
# **What you need:** Chapters 1 to 4.

# %%
from pocketflow import Flow, Node, observe
from standin import search_web

# %% [markdown]
# ## A blog pipeline in two layers
#
# The outer flow researches a topic, hands the writing to a sub-flow, and then either
# publishes the post or archives it. The sub-flow, `writing`, outlines, writes and checks the
# post. `Check` approves a post that is backed by at least one source and rejects one that
# is not.


# %%
class Research(Node):
    def prep(self, shared):
        return shared["topic"]

    def exec(self, topic):
        return search_web(topic)

    def post(self, shared, prep_res, exec_res):
        shared["sources"] = exec_res


class Outline(Node):
    def prep(self, shared):
        return shared["sources"]

    def exec(self, sources):
        return [source.title for source in sources]

    def post(self, shared, prep_res, exec_res):
        shared["outline"] = exec_res


class Write(Node):
    def prep(self, shared):
        return shared["topic"], shared["outline"], shared["sources"]

    def exec(self, inputs):
        topic, outline, sources = inputs
        lines = [f"# {topic.title()}"]
        for title, source in zip(outline, sources, strict=True):
            lines.append(f"{title}: {source.text.split('. ')[0]}.")
        return "\n".join(lines)

    def post(self, shared, prep_res, exec_res):
        shared["post"] = exec_res


class Check(Node):
    def prep(self, shared):
        return shared["sources"]

    def exec(self, sources):
        return "approve" if sources else "reject"

    def post(self, shared, prep_res, exec_res):
        return exec_res


class Publish(Node):
    def post(self, shared, prep_res, exec_res):
        shared["published"] = shared["post"]


class Archive(Node):
    def post(self, shared, prep_res, exec_res):
        shared["archived"] = shared["post"]


# %% [markdown]
# The sub-flow is wired like any flow. Then it is wired into the outer flow like any node:
# `research >> writing` enters it, and its outcomes lead on to `Publish` or `Archive`.

# %%
outline = Outline()
outline >> Write() >> Check()
writing = Flow(start=outline, name="writing")

research = Research()
research >> writing
writing - "approve" >> Publish()
writing - "reject" >> Archive()
blog = Flow(start=research, name="blog")
blog

# %% [markdown]
# The drawing shows `writing` as a box inside `blog`, its own nodes inside the box, and the
# two edges out of the box labelled with the actions the sub-flow can end on.

# %% [markdown] tags=["claim:subflow-result-picks-edge"]
# ## The sub-flow's result picks the outer edge
#
# Recall from Chapter 4 that a flow returns the action of the last node it ran. For
# `writing`, that is whatever `Check` decided. The outer flow treats that value as the
# sub-flow's action and follows the matching edge out of `writing`. Two topics, two ways out:

# %%
runs = {}
for topic in ["honeybee dance", "quantum knitting"]:
    runs[topic] = shared = {"topic": topic}
    blog.run(shared)
    outcome = "published" if "published" in shared else "archived"
    print(f"{topic!r}: {outcome}, {len(shared['sources'])} sources")

print()
print(runs["honeybee dance"]["published"])

# %% [markdown]
# ## Where am I? Paths
#
# Each event carries a `path`: the names of the flows the node runs inside, outermost first.
# Printing the path of every node that starts shows the nesting of the run:


# %%
def print_start(event):
    if event.kind == "start":
        print(" / ".join((*event.path, event.node.name)))


with observe(print_start):
    blog.run({"topic": "honeybee dance"})

# %% [markdown]
# Notice that `writing` *starts* like any node, then its own nodes run, one level deeper.

# %% [markdown]
# ## A flow's own `prep` and `post`
#
# Since a flow is a node, you can subclass `Flow` and give it a `prep` and a `post`. `prep`
# runs before the first node of the flow and `post` after the last one. `post` receives the
# last action as `exec_res`, and whatever `post` returns becomes the flow's result. The
# default `post` returns the last action unchanged. Here the sub-flow counts how many
# posts it has written and turns a rejection into a request for more research:


# %%
class WritingDesk(Flow):
    def prep(self, shared):
        shared["drafts_written"] = shared.get("drafts_written", 0) + 1

    def post(self, shared, prep_res, exec_res):
        return "research more" if exec_res == "reject" else exec_res


outline = Outline()
outline >> Write() >> Check()
desk = WritingDesk(start=outline, name="desk")

shared = {"topic": "quantum knitting", "sources": []}
print("result:", desk.run(shared))
print("drafts written:", shared["drafts_written"])

# %% [markdown] tags=["claim:nested-flow-params-replaced"]
# ## A sub-flow's params come from its parent
#
# Chapter 3 showed that a flow replaces the params of each node it runs. A sub-flow is one of
# those nodes, so its own params are replaced by its parent's too, and those are what it
# hands down to its nodes. Params set on a sub-flow count only when it runs on its own:


# %%
class ShowParams(Node):
    def prep(self, shared):
        print(f"{self.name} sees {self.params}")


inner = Flow(start=ShowParams(), name="inner")
inner.set_params({"style": "short"})
outer = Flow(start=inner, name="outer")
outer.set_params({"topic": "bees"})
outer.run({})
inner.run({})

# %% [markdown]
# ## Stepping into a sub-flow
#
# Stepping does not treat a sub-flow as one opaque step: `blog.steps(shared)` yields the
# events of the nodes inside `writing` too, with their path. The `Stepper` therefore walks
# into the sub-flow. Breakpoints can be set on nodes at any depth. This one stops
# when `Check`, inside `writing`, is about to start:

# %%
from pocketflow_widgets import Stepper

stepper = Stepper(blog, {"topic": "honeybee dance"}, breakpoints=["Check"])
stepper.continue_()
stepper

# %%
print(stepper.last)
print("outline so far:", stepper.shared["outline"])

# %% [markdown]
# Press **Step** in a running notebook to watch `Check` decide, the sub-flow end, and the
# outer flow take the `approve` edge.

# %% [markdown] tags=["exercise"]
# ## Try this
#
# Nest one level deeper. Build a flow `daily` whose start is the whole `blog` flow, followed
# by a node `Notify` that prints `published: <title>` or `archived: <title>`, where the title
# is the first line of the post without its leading `# `. Run it for `"honeybee dance"`,
# printing the path of every node that starts. What is the path of `Check` now? Draw `daily`.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class Notify(Node):
    pass  # your answer


daily = Flow(start=blog, name="daily")  # your answer: with Notify after blog

# %%
from exercises import check

check("daily", daily)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution"]
class Notify(Node):
    def prep(self, shared):
        outcome = "published" if "published" in shared else "archived"
        return outcome, shared[outcome].splitlines()[0].lstrip("# ")

    def post(self, shared, prep_res, exec_res):
        outcome, headline = prep_res
        print(f"{outcome}: {headline}")


blog >> Notify()
daily = Flow(start=blog, name="daily")
with observe(print_start):
    daily.run({"topic": "honeybee dance"})
daily

# %%
check("daily", daily)

# %% [markdown]
# ## Recap
#
# * A flow is a node, so it can be the start or a successor inside another flow, at any depth.
# * The sub-flow's result (by default its last node's action) selects the edge out of it.
# * Subclass `Flow` to give a flow its own `prep` and `post`. `post` can rewrite the result.
# * Events carry the path of enclosing flows. Stepping and the `Stepper` go into sub-flows.

# %% [markdown]
# ## Further reading
#
# * the original's documentation, *Core Abstraction › Flow*: the part on nested flows
