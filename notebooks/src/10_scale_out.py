# %% [markdown] tags=["claim:no-executor"]
# # Chapter 10 · Scaling out: batch items on threads, processes and a cluster
#
# > **Beyond the original PocketFlow:** `executor=` is an addition of this library. The
# > original takes no such argument (a `TypeError`) and runs every batch item in your process,
# > one after another (or, async, on one event loop).
#
# Chapter 6 said that `exec` never touches `shared`, and that this matters later. Here is
# later. An item's `exec` needs nothing but its item, so it can run anywhere: on another
# thread, in another process, on another machine. `prep` reads `shared` and `post` writes it,
# so those two stay home. A batch node with `executor=` does exactly that split: it sends each
# item's `exec` to an executor and waits for the results.
#
# An executor is anything that follows Python's `concurrent.futures.Executor` interface: a
# `ThreadPoolExecutor`, a `ProcessPoolExecutor`, or Dask's `client.get_executor()`, which
# sends work to a cluster.
#
# **What you will learn:**
#
# * how `executor=` runs a batch's items on threads, on processes or on a Dask cluster
# * why threads do not speed up computing, and why a process pool needs classes in a module
# * what a failure in a worker does to the batch
#
# **What you need:** Chapter 6 (batches), and Chapter 7 for the async part. Dask is optional:
# it comes with `make lab`.

# %%
import inspect
import logging
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from checksums import Checksums, checksum
from pocketflow import AsyncParallelBatchNode, Flow, observe

# %% [markdown]
# ## The batch
#
# The work in this chapter is arithmetic, not waiting: each item computes a checksum in pure
# Python for a few hundredths of a second. The node is an ordinary `BatchNode`:

# %%
print(inspect.getsource(Checksums))

# %% [markdown]
# It lives in `checksums.py`, beside this notebook, rather than in a cell; the section on
# processes says why. Sixteen jobs, run in this process first, give the answers every other
# run must match:

# %%
JOBS = [600_000 + job for job in range(16)]


def run_batch(node):
    """Run ``node`` over the jobs; return the checksums and the seconds it took."""
    shared = {"jobs": JOBS}
    started = time.perf_counter()
    node.run(shared)
    return shared["checksums"], time.perf_counter() - started


expected, seconds = {}, {}
expected, seconds["in process"] = run_batch(Checksums())
print(expected[:4])

# %% [markdown]
# ## Threads
#
# `executor=` takes the pool. Each item goes to a worker thread, at most `max_concurrency`
# items are handed over at a time (here: all of them), and `post` gets the results in the
# jobs' order, whatever order they finish in:

# %% tags=["full-kernel"]
threads = ThreadPoolExecutor(max_workers=2)
checksums, seconds["threads"] = run_batch(Checksums(executor=threads))
print(checksums == expected)

# %% [markdown]
# The same answers, and no faster. Python runs one thread's Python code at a time (the
# global interpreter lock), so two threads crunching numbers take turns. Threads pay off when
# the work *waits*, for a model, a web page or a disk, because a waiting thread lets the
# others run. For work that computes, you need more processes.

# %% [markdown]
# ## Processes
#
# A `ProcessPoolExecutor` starts worker processes, each with its own interpreter. It sends
# every item's work there with Python's `pickle`: the node (without its successors), then the
# item. `pickle` sends a class *by name*, and the worker imports it. That is why `Checksums`
# lives in a module: a worker process can import `checksums`, but it has no copy of this
# notebook's cells.

# %% tags=["full-kernel"]
processes = ProcessPoolExecutor(max_workers=2)
checksums, seconds["processes"] = run_batch(Checksums(executor=processes))
print(checksums == expected)


# %% [markdown]
# Here is what happens to a node class defined in a cell. The error says what went wrong,
# then what to do about it (printed here without the details of the worker's own error):


# %% tags=["full-kernel"]
class Remainders(Checksums):
    def exec(self, rounds):
        return checksum(rounds) % 1000


try:
    run_batch(Remainders(executor=processes))
except TypeError as error:
    what, _, advice = str(error).partition(" (")
    print(what)
    print(textwrap.fill(advice.partition("). ")[2], 88))

# %% [markdown]
# ## A Dask cluster
#
# [Dask](https://distributed.dask.org) runs work on a cluster of worker processes, on one
# machine or many, and comes with a dashboard. It is an optional extra of this project
# (`pip install -e '.[dask]'`; `make lab` and `make test` bring it). A `LocalCluster` starts
# a scheduler and workers on this machine; with a real cluster you would connect to its
# scheduler instead, `Client("tcp://host:8786")`, and change nothing else. (`silence_logs`
# keeps the workers' own log lines, such as "Compute Failed" for the failure further down,
# out of this notebook.)

# %% tags=["full-kernel"]
from distributed import Client, LocalCluster

cluster = LocalCluster(
    n_workers=2,
    threads_per_worker=1,
    processes=True,
    dashboard_address=":0",
    silence_logs=logging.CRITICAL,
)
client = Client(cluster)
dask = client.get_executor()

checksums, seconds["dask"] = run_batch(Checksums(executor=dask))
print(checksums == expected)

# %% [markdown]
# `client.dashboard_link` is the address of the cluster's live dashboard: open it in a
# browser tab to watch the workers while a batch runs.
#
# Dask sends functions and classes with `cloudpickle`, which sends a class defined in a cell
# *by value*, code and all. So the cell's `Remainders`, refused by the process pool, runs here:

# %% tags=["full-kernel"]
remainders, _ = run_batch(Remainders(executor=dask))
print(remainders[:4], remainders == [value % 1000 for value in expected])

# %% [markdown]
# How long did each take? The numbers depend on the machine and on what else it is doing, so
# this cell's output is not checked by the tests. On an idle machine with two cores, threads
# take as long as one process and two processes (of the pool or of Dask) about half as long.
# Dask adds a few milliseconds per item for its bookkeeping, which is why each item should be
# worth sending.

# %% tags=["nbval-ignore-output"]
for where, took in seconds.items():
    print(f"{where:>10}: {took:.2f} s, {seconds['in process'] / took:.1f}x")

# %% [markdown]
# ## Watching it
#
# The batch still reports an `"item"` event as each result comes back, so everything that
# listens to a run works as before: `observe`, traces, and `run_live`, which draws the
# flow and counts the items as they return from the cluster.

# %% tags=["full-kernel"]
from pocketflow_widgets import run_live

shared = {"jobs": JOBS}
run_live(Flow(start=Checksums(executor=dask, name="checksums"), name="on dask"), shared)

# %% tags=["full-kernel"]
print(shared["checksums"] == expected)

# %% [markdown]
# An executor says only when a result is back, not when a worker *started* the item; so the
# worker measures it and sends it back with the result (the `"item"` event's `ran`). A
# timeline of this run (`run_live(..., timeline=True)`) draws each item waiting from when it
# was handed over until a worker took it, then running for as long as it ran: this
# `BatchNode`'s items side by side, as the two workers ran them. An item whose result is not
# back yet is drawn waiting, since it may be queued or running: the executor does not say.
# Set `max_concurrency` to the number of workers, and the items beyond it wait in this
# process instead.

# %% [markdown]
# ## When an item fails
#
# An item's retries and its `exec_fallback` run in the worker, as one piece of work. When an
# item fails for good, the batch cancels the items that have not started and raises the
# item's exception, which says where it failed. Items already running in a worker cannot be
# stopped; their results are dropped, so `post` never runs and `shared` is untouched:


# %% tags=["full-kernel"]
class Fragile(Checksums):
    def exec(self, rounds):
        if rounds == JOBS[3]:
            raise ValueError(f"job {rounds} is cursed")
        return checksum(rounds)


shared = {"jobs": JOBS}
try:
    Fragile(executor=dask, max_retries=2).run(shared)
except ValueError as error:
    print(f"{error}; notes: {error.__notes__}")
print("checksums" in shared)

# %% [markdown]
# ## Cleaning up
#
# The executor belongs to you, not to the node: shut it down when you are done with it (a
# `with` block does it for you).

# %% tags=["full-kernel"]
client.close()
cluster.close()
threads.shutdown()
processes.shutdown()

# %% [markdown] tags=["exercise"]
# ## Try this
#
# An `AsyncParallelBatchNode` takes `executor=` too: it awaits the results, so the notebook's
# event loop stays free. Write `AsyncChecksums`, an async version of `Checksums` whose
# `exec_async` calls `checksum`, and run it on a fresh thread pool of two workers with
# `max_concurrency=2`. Count the `"item"` events with `observe`, and check the results against
# `expected`.
#
# Write your answer in the next cell, then run the check under it. Until the answer is right,
# the check says what it expected and what it saw: below, it speaks of the empty answer. One
# solution comes after it, its code folded away: click the `···` to unfold it.


# %%
class AsyncChecksums(AsyncParallelBatchNode):
    pass  # your answer: prep_async, exec_async and post_async


# %%
from exercises import check

check("async checksums", AsyncChecksums)

# %% [markdown]
# ### Solution
#
# One answer, folded; the check after it runs on it.


# %% tags=["solution", "full-kernel"]
class AsyncChecksums(AsyncParallelBatchNode):
    async def prep_async(self, shared):
        return shared["jobs"]

    async def exec_async(self, rounds):
        return checksum(rounds)

    async def post_async(self, shared, prep_res, exec_res):
        shared["checksums"] = exec_res


items = []
shared = {"jobs": JOBS}
with ThreadPoolExecutor(max_workers=2) as pool, observe(items.append):
    await AsyncChecksums(executor=pool, max_concurrency=2).run_async(shared)
print(len([event for event in items if event.kind == "item"]), shared["checksums"] == expected)

# %%
check("async checksums", AsyncChecksums)

# %% [markdown]
# ## Recap
#
# * `BatchNode(executor=...)` and `AsyncParallelBatchNode(executor=...)` run each item's
#   `exec`, with its retries and fallback, on any `concurrent.futures.Executor`. `prep` and
#   `post` stay in your process; results come back in the items' order.
# * Threads help work that waits; processes and clusters help work that computes.
# * A `ProcessPoolExecutor` needs node classes in a module; Dask also sends classes from cells.
# * `max_concurrency=` caps how many items are handed over at once. A failure cancels the
#   items not started.
# * Events, traces and `run_live` work unchanged.

# %% [markdown]
# ## Further reading
#
# * Python's documentation, *concurrent.futures*: the executors
# * Dask's documentation, *Futures*: `client.get_executor()`
