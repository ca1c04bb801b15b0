"""Where a sweep's points are evaluated: inline (this process, chunk after chunk) or as
Dask tasks on a local scheduler (threads, processes), a LocalCluster spattenc starts and
stops (local:N) or an existing cluster (tcp://HOST:PORT).

A task evaluates a range of points and returns its columns.  Every point draws from its
own random stream (sim.py's `generators`), so the results are bit-identical whatever the
scheduler, the worker count and the task size.  Tasks are handed out a window at a time
and their results consumed in point order, so memory stays bounded on both sides.
While a distributed cluster starts, this process evaluates the first chunks itself.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import sys
import threading
from collections.abc import Iterator

from spattenc.ir.errors import SpecError
from spattenc.run.sweep import Chunk, Evaluation, join_chunks

SCHEDULERS = "inline, threads, processes, local:N or tcp://HOST:PORT"
# Trial-evaluations per task: large enough that a task's overhead (shipping it, rebuilding
# the simulator on a worker) is small against its work, small enough to spread a sweep.
_TASK_ELEMENTS = 1 << 19
# A task takes at most this share (1 / (workers x this)) of the points still to hand out,
# so tasks shrink towards the end of a sweep and the workers finish together.
_TASKS_PER_WORKER = 4
# Tasks out (running, queued or finished but not yet yielded) per worker.
_WINDOW_PER_WORKER = 3
# How long a LocalCluster may take to start, and a remote scheduler to answer (seconds):
# generous, since a loaded machine starts worker processes slowly.
_CONNECT_TIMEOUT = 120
# The workers of a LocalCluster are forked from this process where the platform forks.
_FORK = sys.platform.startswith("linux")


def parse_scheduler(text: str) -> str:
    """A --scheduler value, checked: inline, threads, processes, local:N, tcp://HOST:PORT."""
    text = text.strip()
    if text in ("inline", "threads", "processes"):
        return text
    m = re.fullmatch(r"local:(\d+)", text)
    if m:
        if not 1 <= int(m[1]) <= 1024:
            raise ValueError(f"local:N needs 1 <= N <= 1024 workers, got {text!r}")
        return text
    if re.fullmatch(r"tcp://[^\s/:]+:\d{1,5}", text):
        return text
    raise ValueError(f"expected {SCHEDULERS}, got {text!r}")


def chunks(ev: Evaluation, scheduler: str = "inline", on_done=None, overlap: bool = True) -> Iterator[Chunk]:
    """Every point of `ev`, as chunks in point order, evaluated where `scheduler` says;
    `on_done(n)` is told the trial-evaluations of each chunk as it arrives.  With a
    distributed scheduler, this process evaluates the first chunk itself (it measures the
    memory per element); with `overlap`, a remote cluster or one whose workers start as
    fresh interpreters is started meanwhile and this process goes on evaluating chunks
    until it is up, so its start-up costs no wall time."""
    if scheduler == "inline":
        yield from ev.chunks(0, ev.points, on_done)
        return
    dask = _import_dask(scheduler)
    if scheduler in ("threads", "processes"):
        start = yield from _calibrate(ev, on_done)
        if start < ev.points:
            yield from _counted(_local(dask, ev, scheduler, start), ev, on_done)
        return
    if overlap and not _forks(scheduler):
        with _Starting(scheduler) as starting:
            start = yield from _until(ev, starting.ready, on_done)
            if start < ev.points:
                yield from _counted(_distributed(ev, starting.wait(), start), ev, on_done)
        return
    start = yield from _calibrate(ev, on_done)
    with _Starting(scheduler) as starting:
        if start < ev.points:
            yield from _counted(_distributed(ev, starting.wait(), start), ev, on_done)


def _forks(scheduler: str) -> bool:
    """Whether `scheduler` is a LocalCluster whose workers are forked from this process
    (see _worker_config).  Such a cluster is up a fraction of a second after it starts,
    most of it work on this process's event loop thread, which chunks evaluated here at
    the same time would starve (the GIL) and delay several-fold; and a worker forked
    while the first chunk has tracemalloc on would trace its allocations for good."""
    return scheduler.startswith("local:") and _FORK


def _calibrate(ev: Evaluation, on_done) -> Iterator[Chunk]:
    """The first chunk, evaluated here: it measures the memory per element once, and the
    tasks carry the figure instead of each tracing a chunk of its own.  Returns the next
    point."""
    if ev.rng == "legacy" or ev.element_bytes is not None or ev.points == 0:
        return 0
    first = next(ev.chunks(0, ev.points, on_done))
    yield first
    return first.hi


def _until(ev: Evaluation, ready, on_done) -> Iterator[Chunk]:
    """Chunks evaluated here, from point 0, until `ready()` or the last point; returns
    the next point."""
    start = 0
    for chunk in ev.chunks(0, ev.points, on_done):
        yield chunk
        start = chunk.hi
        if ready():
            break
    return start


def _counted(results: Iterator[Chunk], ev: Evaluation, on_done) -> Iterator[Chunk]:
    """`results`, telling `on_done` each chunk's trial-evaluations."""
    for chunk in results:
        if on_done is not None:
            on_done(chunk.size * ev.trials)
        yield chunk


def _import_dask(scheduler: str):
    """The dask package, or a clear error naming the extra to install."""
    try:
        import dask
    except ImportError:
        raise SpecError(f"--scheduler {scheduler}: needs Dask, which is not installed "
                        "(pip install 'spattenc[dask]'); --scheduler inline runs without it") from None
    return dask


def _ranges(ev: Evaluation, workers: int, start: int) -> list[tuple[int, int]]:
    """The point ranges of the tasks, from point `start` on: at most _TASK_ELEMENTS
    trial-evaluations each, and shrinking towards the end (each a share of the points
    left, down to an eighth of the largest), so the workers finish together."""
    n = ev.points
    size = max(1, _TASK_ELEMENTS // max(1, ev.trials))
    least = max(1, size // 8)
    out, lo = [], start
    while lo < n:
        k = min(size, max(least, math.ceil((n - lo) / (workers * _TASKS_PER_WORKER))))
        out.append((lo, min(n, lo + k)))
        lo += k
    return out


def run_task(ev: Evaluation, lo: int, hi: int) -> Chunk:
    """A task: points [lo, hi) of `ev` as one chunk (runs on a worker)."""
    with ev.portable_errors():
        return join_chunks(list(ev.chunks(lo, hi)))


def _local(dask, ev: Evaluation, scheduler: str, start: int) -> Iterator[Chunk]:
    """Tasks on dask's threaded or multiprocessing scheduler, a window of them per
    dask.compute (one pool for the whole sweep), results in point order."""
    import concurrent.futures as cf
    import multiprocessing
    import os

    workers = os.cpu_count() or 1
    ranges = _ranges(ev, workers, start)
    window = workers * _TASKS_PER_WORKER
    if scheduler == "threads":
        pool = cf.ThreadPoolExecutor(workers)
    else:  # spawned workers: no state of this process (threads, open files) is forked into them
        pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    with pool:
        for i in range(0, len(ranges), window):
            tasks = [dask.delayed(run_task, pure=False)(ev, lo, hi) for lo, hi in ranges[i:i + window]]
            yield from dask.compute(*tasks, scheduler=scheduler, pool=pool)


def _distributed(ev: Evaluation, client, start: int) -> Iterator[Chunk]:
    """Tasks on a dask.distributed cluster, results in point order; a new task goes out as
    soon as any finishes, and at most three per worker are out or waiting to be yielded.
    The evaluation (with its simulator's source) is sent to each worker once."""
    from distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    shared = client.scatter(ev, broadcast=True, hash=False)
    ranges = _ranges(ev, workers, start)
    window = _WINDOW_PER_WORKER * workers
    done: dict[int, Chunk] = {}
    sent = given = 0
    running = as_completed()

    def send() -> None:
        nonlocal sent
        while sent < len(ranges) and sent - given < window:
            running.add(client.submit(run_task, shared, *ranges[sent], pure=False))
            sent += 1
    try:
        send()
        for future in running:
            chunk = future.result()
            future.release()
            done[chunk.lo] = chunk
            while given < len(ranges) and ranges[given][0] in done:
                yield done.pop(ranges[given][0])
                given += 1
            send()
    finally:
        running.clear()


class _Starting:
    """A dask.distributed client started, held and shut down on a thread of its own
    (importing distributed and starting a LocalCluster take seconds; a Client is left in
    the thread it entered): `ready()` polls, `wait()` returns the client or raises what
    starting it raised; leaving shuts it down."""

    def __init__(self, scheduler: str):
        self.scheduler = scheduler
        self.client = None
        self.error: BaseException | None = None
        self.started, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, name="spattenc-dask", daemon=True)

    def _hold(self) -> None:
        try:
            with _client(self.scheduler) as client:
                self.client = client
                self.started.set()
                self.done.wait()
        except BaseException as e:  # handed to the caller's thread by wait()
            self.error = e
        finally:
            self.started.set()

    def ready(self) -> bool:
        return self.started.is_set()

    def wait(self):
        self.started.wait()
        if self.error is not None:
            raise self.error
        return self.client

    def __enter__(self) -> _Starting:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


@contextlib.contextmanager
def _worker_config():
    """Dask settings for the workers of a LocalCluster spattenc starts:

    - forked (where the platform forks): a worker then starts with this process's
      modules already imported, instead of a fresh interpreter importing numpy, Dask and
      spattenc again, which on two cores costs as much CPU as a second of the sweep;
    - without the statistical profiler, which samples every thread's stack every 10 ms
      and cost a worker about a second of CPU per four of work;
    - without Dask's MALLOC_TRIM_THRESHOLD_: setting it turns off glibc's adaptive mmap
      threshold, so each of a chunk's large arrays is mapped and unmapped afresh and page
      faults cost a worker about as much as the work itself;
    - with the event-loop health check, the memory monitors and the system monitor run
      every 1 s, 1 s and 2 s instead of Dask's 20 ms, 100 ms and 500 ms: at those rates
      they cost an idle two-worker cluster about 5% of a core, most of it in this process
      (which runs the scheduler and the nannies) and all of it taken from the workers."""
    import dask.config

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    settings = {"distributed.nanny.pre-spawn-environ": environ, "distributed.worker.profile.enabled": False,
                "distributed.admin.tick.interval": "1s", "distributed.worker.memory.monitor-interval": "1s",
                "distributed.admin.system-monitor.interval": "2s"}
    if _FORK:
        settings["distributed.worker.multiprocessing-method"] = "fork"
    with dask.config.set(settings):
        yield


@contextlib.contextmanager
def _client(scheduler: str):
    """A dask.distributed Client: of a LocalCluster on 127.0.0.1 (local:N, shut down
    afterwards) or of the scheduler at tcp://HOST:PORT."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SpecError(f"--scheduler {scheduler}: needs dask.distributed, which is not installed "
                        "(pip install 'spattenc[dask]')") from None
    if scheduler.startswith("local:"):
        n = int(scheduler.split(":", 1)[1])
        with _worker_config(), LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR, timeout=_CONNECT_TIMEOUT) as cluster, \
                Client(cluster, timeout=_CONNECT_TIMEOUT) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
    except OSError as e:
        raise SpecError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e})") from None
    with client:
        yield client
