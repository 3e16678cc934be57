"""Running benchmark jobs and grid searches locally or on a Dask cluster, through joblib.

Everything parallel in beatdetect goes through joblib, so one switch moves it from local
processes to a cluster: with a scheduler address, :func:`parallel_backend` connects a
``distributed.Client`` and activates ``joblib.parallel_config(backend="dask")``; without one,
joblib's local backend runs ``n_jobs`` processes. Each job keeps PyTorch and the BLAS
libraries to one thread (:func:`limit_threads`): jobs are the unit of parallelism, and
several multi-threaded jobs on one machine only oversubscribe its cores. One thread also
makes training bit-for-bit reproducible, so a cluster run gives the same numbers as a local
one.

Dask is optional (``pip install "beatdetect[distributed]"``); it is imported only when a
scheduler is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

__all__ = [
    "limit_threads",
    "parallel_backend",
    "run_jobs",
]


@contextlib.contextmanager
def limit_threads(n_threads: int = 1):
    """Limit PyTorch's intra-op threads and the BLAS / OpenMP pools; restore them on exit.

    Parameters
    ----------
    n_threads : int, default=1
        Threads allowed inside the block.

    Examples
    --------
    >>> import torch
    >>> from beatdetect.parallel import limit_threads
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    """
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    previous = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous)


def _single_thread_plugin_class():
    """Build :class:`SingleThreadPlugin` on first use: Dask is optional, import it late."""
    cls = globals().get("_SingleThreadPlugin")
    if cls is not None:
        return cls
    from distributed.diagnostics.plugin import WorkerPlugin

    class SingleThreadPlugin(WorkerPlugin):
        """Dask worker plugin: at most ``n_threads`` PyTorch / BLAS threads per worker.

        Registered by :func:`parallel_backend` on every worker of the cluster (workers that
        join later included), so tasks that do not limit threads themselves (the fits of a
        ``GridSearchCV``) do not oversubscribe a worker's cores either.
        """

        name = "beatdetect-single-thread"
        idempotent = True

        def __init__(self, n_threads: int = 1):
            self.n_threads = n_threads

        def setup(self, worker=None):
            import torch
            from threadpoolctl import threadpool_limits

            torch.set_num_threads(self.n_threads)
            self._limits = threadpool_limits(limits=self.n_threads)  # for the worker's life

        def teardown(self, worker=None):
            limits = getattr(self, "_limits", None)
            if limits is not None:
                limits.restore_original_limits()

    # Pickled by reference (module + name) and found again through the module __getattr__.
    SingleThreadPlugin.__module__ = __name__
    SingleThreadPlugin.__qualname__ = "SingleThreadPlugin"
    globals()["_SingleThreadPlugin"] = SingleThreadPlugin
    return SingleThreadPlugin


def __getattr__(name):
    # The plugin subclasses distributed's WorkerPlugin, so it exists only once asked for
    # (by name here, or when a pickled plugin is loaded on a worker).
    if name == "SingleThreadPlugin":
        return _single_thread_plugin_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _connect(scheduler):
    """A ``distributed.Client`` for an address, a ``Client`` or a cluster object."""
    try:
        from distributed import Client
    except ImportError as err:
        raise ImportError(
            "Running on a Dask cluster needs dask.distributed: "
            'pip install "beatdetect[distributed]" (or dask[distributed]).'
        ) from err
    if isinstance(scheduler, Client):
        return scheduler, False
    try:
        return Client(scheduler), True
    except (OSError, TimeoutError) as err:
        raise OSError(
            f"Could not connect to the Dask scheduler at {scheduler!r}: {err}. Start one "
            "(dask scheduler / dask worker), or drop the scheduler to run locally."
        ) from err


@contextlib.contextmanager
def parallel_backend(scheduler=None, n_jobs=None, *, threads_per_worker: int = 1):
    """Make joblib (and scikit-learn's ``n_jobs``) run on a Dask cluster or local processes.

    Parameters
    ----------
    scheduler : str, distributed.Client or cluster, optional
        Address of a Dask scheduler (``"tcp://10.0.0.5:8786"``), a connected ``Client``,
        or a cluster object such as ``distributed.LocalCluster``. None runs locally.
    n_jobs : int, optional
        Local processes (joblib's ``n_jobs``; -1 = all cores). Ignored with a scheduler,
        where every worker thread of the cluster is used.
    threads_per_worker : int, default=1
        PyTorch / BLAS threads inside each Dask worker (see :class:`SingleThreadPlugin`).

    Yields
    ------
    n_jobs : int
        The ``n_jobs`` to pass to ``joblib.Parallel`` or a scikit-learn estimator.

    Examples
    --------
    >>> from joblib import Parallel, delayed
    >>> from beatdetect.parallel import parallel_backend
    >>> with parallel_backend(None, n_jobs=1) as n_jobs:
    ...     Parallel(n_jobs=n_jobs)(delayed(abs)(x) for x in (-1, -2))
    [1, 2]
    """
    from joblib import parallel_config

    if scheduler is None:
        n_jobs = 1 if n_jobs is None else int(n_jobs)
        with parallel_config(n_jobs=n_jobs):
            yield n_jobs
        return
    if hasattr(scheduler, "scheduler_address") and not hasattr(scheduler, "submit"):
        scheduler = scheduler.scheduler_address  # a cluster object, e.g. LocalCluster
    client, owned = _connect(scheduler)
    try:
        client.register_plugin(_single_thread_plugin_class()(threads_per_worker))
        with parallel_config(backend="dask", n_jobs=-1):
            yield -1
    finally:
        if owned:
            client.close()


def _call_indexed(index, func, args, kwargs):
    return index, func(*args, **kwargs)


def run_jobs(func: Callable, tasks: Sequence[tuple], *, n_jobs=None, scheduler=None,
             threads_per_job: int = 1) -> Iterator[tuple[int, object]]:
    """Run ``func(*args)`` for each task; yield ``(index, result)`` as each one finishes.

    Results come back in completion order, so a caller can save each one as soon as it
    exists (that is what makes an interrupted benchmark resumable). Every call runs
    inside :func:`limit_threads`.

    Parameters
    ----------
    func : callable
        Importable by the workers (a module-level function) when running on a cluster.
    tasks : sequence of tuple
        Positional arguments of each call. Large arrays shared between tasks are sent once:
        joblib memory-maps them for local processes, Dask scatters them to the workers.
    n_jobs : int, optional
        Local processes (default 1: in this process, one after the other).
    scheduler : str, Client or cluster, optional
        Run on this Dask cluster instead (see :func:`parallel_backend`).
    threads_per_job : int, default=1

    Yields
    ------
    index, result : int, object

    Examples
    --------
    >>> from beatdetect.parallel import run_jobs
    >>> sorted(run_jobs(pow, [(2, 3), (3, 2)]))
    [(0, 8), (1, 9)]
    """
    from joblib import Parallel, delayed

    tasks = list(tasks)
    if not tasks:
        return
    with parallel_backend(scheduler, n_jobs, threads_per_worker=threads_per_job) as jobs:
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        yield from parallel(
            delayed(_call_indexed)(i, _threaded, (func, threads_per_job, args), {})
            for i, args in enumerate(tasks)
        )


def _threaded(func, n_threads, args):
    with limit_threads(n_threads):
        return func(*args)
