"""Where the build's map-shaped stages run: this process, local worker processes or Dask.

A build opens one `session` (jobs, Dask address or local cluster size, from the config) and
the stages call `map_ordered(function, items)`, or `stream_ordered` to read the results as
they arrive (the workers start at once, so the caller can work meanwhile). Without a
session, with one job, or with few items, the items are mapped in this process. Otherwise
they go out in batches (one task per batch, a few batches per worker, of near-equal `weight`
when the items' costs differ) to a process pool forked for that call (this process taking
every jobs-th batch itself, so that N jobs fork N - 1 workers), or to a Dask
distributed cluster: a running one (`dask="tcp://host:8786"`) or a LocalCluster started on
127.0.0.1 for the session (`dask_local=N`). Nothing is started before a stage needs it, so
small builds pay nothing. `shared`, an object every call needs (e.g. the whole Site), reaches
each worker once: inherited through fork, or broadcast to every Dask worker. Results come
back in the order of the items; a worker's exception re-raises here with its message.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import pickle
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from site_src.config import ConfigError
from site_src.stores import frozen_heap

# Batches per worker: enough to even out slow batches, few enough to keep task overhead low.
BATCHES_PER_WORKER = 8
# How long to wait for a Dask scheduler to answer and for its first worker to join.
CONNECT_TIMEOUT = 30
INSTALL_HINT = 'pip install -e ".[dask]"'

T = TypeVar("T")
_CURRENT: ContextVar[_Runner | None] = ContextVar("site_src_executor", default=None)
_SHARED: Any = None  # in a pool worker: the shared object, inherited through fork


class WorkerError(RuntimeError):
    """A worker failed with an exception that cannot travel back as itself."""


class _Runner:
    """Maps in this process (the base of the parallel runners)."""

    workers = 1

    def start(self, function: Callable, items: list, shared: Any,
              on_done: Callable[[int], None] | None,
              weight: Callable[[Any], float] | None) -> Iterator:
        """Return the results of function over items, in order, each made when read."""
        return _run_lazily(function, items, shared, on_done)

    def close(self) -> None:
        """Release whatever the runner started."""


class _PoolRunner(_Runner):
    """Maps in local worker processes, a pool per call (forked where the platform can)."""

    def __init__(self, jobs: int) -> None:
        self.workers = jobs

    def start(self, function: Callable, items: list, shared: Any,
              on_done: Callable[[int], None] | None,
              weight: Callable[[Any], float] | None) -> Iterator:
        """Start a fresh pool whose workers hold `shared` from their start, submit their
        batches, and return the results in order as they arrive.

        This process is one of the jobs: it runs every `workers`-th batch itself when the
        reader reaches it (the others run meanwhile), so one worker fewer is forked and the
        memory pages a worker would copy from this process are not copied."""
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        pool = ProcessPoolExecutor(max_workers=self.workers - 1, mp_context=context,
                                   initializer=_set_shared, initargs=(shared,))
        try:
            with frozen_heap():  # forked workers then leave the parent's objects' pages shared
                pool.submit(int).result()  # starts every worker now
            batches = split_batches(items, self.workers * BATCHES_PER_WORKER, weight)
            results = [functools.partial(run_batch, function, shared, batch)
                       if number % self.workers == 0
                       else pool.submit(_run_pool_batch, function, batch).result
                       for number, batch in enumerate(batches)]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        return _primed(_drain(results, on_done,
                              lambda: pool.shutdown(wait=True, cancel_futures=True)))


class _DaskRunner(_Runner):
    """Maps on a Dask distributed cluster: a running one, or a LocalCluster of this session."""

    def __init__(self, address: str, local: int) -> None:
        self.address, self.local = address, local
        self.workers = max(local, 2)  # a remote cluster's size is known once connected
        self.client: Any = None
        self.cluster: Any = None

    def connect(self) -> Any:
        """Return the session's client, starting the local cluster or connecting first."""
        if self.client is not None:
            return self.client
        distributed = _import_distributed()
        if self.local:
            self.cluster = distributed.LocalCluster(
                n_workers=self.local, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.CRITICAL)
            self.client = distributed.Client(self.cluster, set_as_default=False,
                                             timeout=CONNECT_TIMEOUT)
            return self.client
        try:
            self.client = distributed.Client(self.address, set_as_default=False,
                                             timeout=CONNECT_TIMEOUT)
        except OSError as error:
            raise ConfigError(f"cannot reach the Dask scheduler at {self.address}: "
                              f"{error}") from error
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError as error:
            raise ConfigError(f"no Dask worker joined the scheduler at {self.address} within "
                              f"{CONNECT_TIMEOUT} s") from error
        _check_worker_code(self.client, self.address)
        return self.client

    def start(self, function: Callable, items: list, shared: Any,
              on_done: Callable[[int], None] | None,
              weight: Callable[[Any], float] | None) -> Iterator:
        """Broadcast shared once, submit a few batches per worker, return results in order."""
        client = self.connect()
        threads = sum(client.nthreads().values())
        batches = split_batches(items, max(threads, 1) * BATCHES_PER_WORKER, weight)
        handle = None  # (scattered inside a list: a shared list or dict stays one object)
        if shared is not None:
            handle = client.scatter([shared], broadcast=True, hash=False)[0]
        futures = [client.submit(run_batch, function, handle, batch, pure=False)
                   for batch in batches]
        held = [*futures, *([handle] if handle is not None else [])]
        return _primed(_drain([f.result for f in futures], on_done,
                              lambda: client.cancel(held)))

    def close(self) -> None:
        """Close the client, and the local cluster when this session started one."""
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None


@contextmanager
def session(jobs: int, dask: str = "", dask_local: int = 0) -> Iterator[_Runner]:
    """Make a runner current for the block: Dask when asked, else `jobs` local processes."""
    if dask and dask_local:
        raise ConfigError("choose one of dask (a running cluster's address) and dask_local "
                          "(start a local cluster), not both")
    if dask or dask_local:
        _import_distributed()  # fail now, with the install hint, not in the middle of a build
        runner: _Runner = _DaskRunner(dask, dask_local)
    elif jobs > 1:
        runner = _PoolRunner(jobs)
    else:
        runner = _Runner()
    token = _CURRENT.set(runner)
    try:
        yield runner
    finally:
        _CURRENT.reset(token)
        runner.close()


def ensure_session(jobs: int) -> AbstractContextManager:
    """Return the open session's runner as a context, or a new session(jobs) when none is open."""
    runner = _CURRENT.get()
    return nullcontext(runner) if runner is not None else session(jobs)


def wrap_in_session(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate a function of (config, ...) to run inside its config's session."""

    @functools.wraps(function)
    def wrapped(config: Any, *args: Any, **kwargs: Any) -> T:
        with session(config.jobs, config.dask, config.dask_local):
            return function(config, *args, **kwargs)

    return wrapped


def current() -> _Runner | None:
    """Return the runner of the innermost open session, if any."""
    return _CURRENT.get()


def map_ordered(function: Callable, items: Iterable, *, shared: Any = None, min_items: int = 2,
                on_done: Callable[[int], None] | None = None,
                weight: Callable[[Any], float] | None = None) -> list:
    """Return [function(item)] (or function(shared, item)) for items, in order.

    Runs on the current session's runner when there are at least min_items items, else here.
    on_done(n) is called in this process as each run of n results arrives, in order.
    weight(item), when given, is the item's relative cost: batches get near-equal sums.
    """
    with closing(stream_ordered(function, items, shared=shared, min_items=min_items,
                                on_done=on_done, weight=weight)) as results:
        return list(results)


def stream_ordered(function: Callable, items: Iterable, *, shared: Any = None,
                   min_items: int = 2, on_done: Callable[[int], None] | None = None,
                   weight: Callable[[Any], float] | None = None) -> Generator[Any, None, None]:
    """Like map_ordered, but yield the results in order as they arrive.

    The workers start (and get every batch) before this returns, so the caller can do other
    work before reading; a batch's results are let go once read. Close the stream (e.g.
    with contextlib.closing) to stop the workers early. Without workers, each result is made
    when it is read.
    """
    items = list(items)
    runner = _CURRENT.get()
    if runner is None or runner.workers <= 1 or len(items) < max(min_items, 2):
        return _run_lazily(function, items, shared, on_done)
    return runner.start(function, items, shared, on_done, weight)


def split_batches(items: list, count: int,
                  weight: Callable[[Any], float] | None = None) -> list[list]:
    """Split items into at most count consecutive batches of near-equal size, or of
    near-equal total weight(item) when weight is given."""
    count = max(1, min(count, len(items)))
    if weight is not None:
        return _split_weighted(items, count, [max(float(weight(i)), 0.0) for i in items])
    size, extra = divmod(len(items), count)
    batches, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        batches.append(items[start:end])
        start = end
    return [b for b in batches if b]


def _split_weighted(items: list, count: int, weights: list[float]) -> list[list]:
    """Cut items into at most count consecutive batches, each closed once the running
    weight reaches its share of the total."""
    total = sum(weights)
    if total <= 0:
        return split_batches(items, count)
    batches: list[list] = [[]]
    running, number = 0.0, 1
    for item, item_weight in zip(items, weights, strict=True):
        batches[-1].append(item)
        running += item_weight
        if number < count and running >= total * number / count:
            batches.append([])
            while number < count and running >= total * number / count:
                number += 1
    return [b for b in batches if b]


def run_batch(function: Callable, shared: Any, items: list) -> list:
    """Map function over one batch (the task a Dask worker runs); errors stay portable."""
    try:
        return list(_run_lazily(function, items, shared, None))
    except Exception as error:  # noqa: BLE001 - re-raised as itself when it can travel
        raise _portable(error) from None


def _run_lazily(function: Callable, items: list, shared: Any,
                on_done: Callable[[int], None] | None) -> Generator[Any, None, None]:
    """Yield function's result for each item in turn, made in this process when read."""
    for item in items:
        yield function(item) if shared is None else function(shared, item)
        if on_done is not None:
            on_done(1)


def _run_pool_batch(function: Callable, items: list) -> list:
    """Map one batch in a pool worker, with the shared object the worker started with."""
    return run_batch(function, _SHARED, items)


def _set_shared(shared: Any) -> None:
    """Pool worker initializer: keep the shared object for every batch."""
    global _SHARED
    _SHARED = shared


def _drain(results: list[Callable[[], list] | None], on_done: Callable[[int], None] | None,
           stop: Callable[[], None]) -> Generator[Any, None, None]:
    """Yield batch results item by item, in order, letting each batch go once read, and
    report progress after each batch; stop() runs when the stream ends or is closed."""
    try:
        yield None  # primed (see _primed): closing the stream from here on runs stop()
        for number, result in enumerate(results):
            part = result()  # type: ignore[misc]
            results[number] = None  # the batch's future (and its results) can go
            if on_done is not None:
                on_done(len(part))
            yield from part
            del part
    finally:
        stop()


def _primed(stream: Generator[Any, None, None]) -> Generator[Any, None, None]:
    """Run a stream to its first (priming) yield, so that closing it always cleans up."""
    next(stream)
    return stream


def _portable(error: Exception) -> Exception:
    """Return the error itself if it survives pickling, else a WorkerError with its message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any failure to round-trip
        return WorkerError(f"{type(error).__name__}: {error}")
    return error


def _import_distributed() -> Any:
    """Import dask.distributed, or explain how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ConfigError(f"Dask builds need dask[distributed]: {INSTALL_HINT}") from error
    return distributed


def _check_worker_code(client: Any, address: str) -> None:
    """Refuse a cluster whose workers run other code: the output would differ."""
    from site_src.cache import code_version

    try:
        versions = client.run(_code_version)
    except ImportError as error:
        raise ConfigError(f"the Dask workers at {address} cannot import site_src ({error}); "
                          "install this project on every worker") from error
    here = code_version()
    other = sorted(worker for worker, version in versions.items() if version != here)
    if other:
        raise ConfigError(f"Dask worker(s) {', '.join(other)} run a different version of "
                          "site_src or its libraries; install the same version everywhere")


def _code_version() -> str:
    """Return the code version as a worker sees it."""
    from site_src.cache import code_version

    return code_version()
