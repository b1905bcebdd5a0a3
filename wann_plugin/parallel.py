"""Running batches of networks on other processes: what travels, what runs there, and the
executors we plug into.

:class:`~wann_plugin.WannEvaluator` talks to any :class:`concurrent.futures.Executor`. This
module holds the pieces both sides of that interface share:

What travels
    A batch is a :class:`~wann_plugin.transport.NetworkBatch`: the compact arrays of its
    networks (activations by name, CSR pointers, connection sources) concatenated into a few
    flat arrays, plus the genome keys. Activations travel by name because custom activation
    ids are handed out per process in registration order. No genome and no config cross the
    wire.
The task, once per worker
    The task is pickled once in the parent into a :class:`TaskRef` (a content token and the
    bytes). Each worker process keeps the tasks it has unpickled in a registry keyed by that
    token, so a task is built once per worker and keeps what it caches (gymnasium
    environments, compiled kernels, data) from batch to batch. Executors that install the
    task up front -- :class:`ProcessPool` and :func:`mpi_executor` through their initializer,
    a Dask cluster through ``client.scatter(..., broadcast=True)`` (see
    :meth:`ship_task`) -- get a reference without the bytes; any other executor gets the
    bytes with every batch and the registry still builds the task only once per process.
What runs there
    :func:`run_batch` scores one batch. If the task raises, it scores the batch's networks
    one by one, so the failure is pinned on the genome(s) that caused it and the other
    networks' scores are kept; a task draws everything from the seed, so a network scores
    the same alone as in a batch. Non-finite scores become the task's worst value.
The engines
    :class:`ProcessPool` (local processes; rebuilds itself after a worker is killed),
    :func:`connect_dask` / :func:`dask_executor` (``dask.distributed``, extra
    ``wann-plugin[dask]``) and :func:`mpi_executor` (``mpi4py.futures``, extra
    ``wann-plugin[mpi]``).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import signal
import socket
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wann_plugin.tasks.base import Task
from wann_plugin.transport import NetworkBatch
from wann_plugin.validation import Key

__all__ = [
    "BatchResult",
    "ProcessPool",
    "SchedulerError",
    "TaskRef",
    "WorkerSetupError",
    "connect_dask",
    "dask_executor",
    "is_worker_lost",
    "mpi_executor",
    "n_workers",
    "run_batch",
    "ship_task",
]


class SchedulerError(ConnectionError):
    """A Dask scheduler that cannot be reached; names the address."""


class WorkerSetupError(RuntimeError):
    """A worker could not build the task (e.g. the task's module is not importable there)."""


# ----------------------------------------------------------------------------- what travels
@dataclass(frozen=True)
class TaskRef:
    """A task as it travels to workers: a content token, and its pickled bytes or ``None``
    when the receiving executor has the task installed already.

    Build one with :meth:`of`.
    """

    token: str
    name: str
    blob: bytes | None = field(default=None, repr=False)

    @classmethod
    def of(cls, task: Task) -> TaskRef:
        """Pickle ``task`` (with cloudpickle when available, so tasks defined in a script's
        ``__main__`` travel too) and name it by a hash of its bytes."""
        try:
            import cloudpickle

            blob = cloudpickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        except ImportError:  # pragma: no cover - cloudpickle ships with gymnasium
            blob = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(f"task {task.name!r} ({type(task).__name__}) cannot be pickled to "
                            f"send it to workers: {exc}") from exc
        token = hashlib.sha256(blob).hexdigest()[:20]
        return cls(token=token, name=str(task.name), blob=blob)

    def without_blob(self) -> TaskRef:
        return TaskRef(self.token, self.name, None)


# ----------------------------------------------------------------------------- worker side
# (token, thread id) -> task: a worker thread never shares a task object with another
# thread (tasks cache environments that are not thread-safe, e.g. Dask workers with
# --nthreads > 1); a process pool worker has one thread, so one task per process.
_REGISTRY: OrderedDict[tuple[str, int], Task] = OrderedDict()
_REGISTRY_LOCK = threading.Lock()
_REGISTRY_SIZE = 64
_BLOBS: dict[str, bytes] = {}  # bytes of the tasks an initializer installed, for other threads


def worker_id() -> str:
    """``host:pid`` of the calling process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _resolve_task(ref: TaskRef | Task) -> Task:
    if isinstance(ref, Task):
        return ref
    slot = (ref.token, threading.get_ident())
    with _REGISTRY_LOCK:
        task = _REGISTRY.get(slot)
        if task is not None:
            _REGISTRY.move_to_end(slot)
            return task
        blob = ref.blob if ref.blob is not None else _BLOBS.get(ref.token)
        if blob is None:
            raise WorkerSetupError(
                f"task {ref.name!r} (token {ref.token}) is not installed on worker {worker_id()} "
                "and was sent without its bytes"
            )
        try:
            task = pickle.loads(blob)
        except Exception as exc:
            raise WorkerSetupError(
                f"worker {worker_id()} cannot load task {ref.name!r}: {type(exc).__name__}: {exc} "
                "(the task's class must be importable on every worker)"
            ) from exc
        _REGISTRY[slot] = task
        while len(_REGISTRY) > _REGISTRY_SIZE:
            _REGISTRY.popitem(last=False)
        return task


def install_tasks(refs: Sequence[TaskRef], ignore_sigint: bool = True) -> None:
    """Worker initializer: build ``refs``' tasks now; ignore SIGINT (Ctrl-C in a terminal
    reaches the whole process group; the parent handles it and writes a checkpoint)."""
    if ignore_sigint:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # pragma: no cover - not the main thread
            pass
    for ref in refs:
        if ref.blob is not None:
            _BLOBS[ref.token] = ref.blob
        _resolve_task(ref)


def installed_tokens() -> list[str]:
    """Tokens of the tasks built in this process (for tests and diagnostics)."""
    with _REGISTRY_LOCK:
        return sorted({token for token, _ in _REGISTRY})


@dataclass(frozen=True)
class BatchResult:
    """What :func:`run_batch` returns.

    Attributes
    ----------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
        Finite scores; rows of failed networks hold the task's worst value.
    errors : dict
        ``{position in batch: "ExceptionType: message\\n<traceback>"}`` for networks the task
        raised on.
    seconds : float
        Time spent scoring on the worker.
    worker : str
        ``host:pid`` of the worker.
    """

    scores: np.ndarray
    errors: dict
    seconds: float
    worker: str


def _evaluate(task: Task, nets: list, weights: np.ndarray, seed: int, n_repeats: int):
    scores = np.asarray(task.evaluate(nets, weights, seed=seed, n_repeats=n_repeats), dtype=float)
    expected = (len(nets), len(weights), n_repeats)
    if scores.shape != expected:
        raise ValueError(f"task {task.name!r} returned scores of shape {scores.shape}, "
                         f"expected (n_nets, n_weights, n_repeats) = {expected}")
    return scores


def _describe(exc: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4,
                                            chain=False))
    return f"{type(exc).__name__}: {exc}\n{tb}"


def score_networks(task: Task, nets: list, weights: np.ndarray, seed: int,
                   n_repeats: int) -> tuple[np.ndarray, dict]:
    """Score ``nets``; on a task exception, score them one by one to find the culprit(s).

    Returns
    -------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
        Non-finite values and failed networks replaced by ``task.worst_score``.
    errors : dict
        ``{position: description}`` of the networks the task raised on.
    """
    weights = np.asarray(weights, dtype=float)
    errors: dict[int, str] = {}
    try:
        scores = _evaluate(task, nets, weights, seed, n_repeats)
    except Exception as batch_exc:  # noqa: BLE001 - narrowed to genomes below
        if len(nets) == 1:
            errors[0] = _describe(batch_exc)
            scores = np.full((1, len(weights), n_repeats), np.nan)
        else:
            rows = []
            for i, net in enumerate(nets):
                try:
                    rows.append(_evaluate(task, [net], weights, seed, n_repeats)[0])
                except Exception as exc:  # noqa: BLE001
                    errors[i] = _describe(exc)
                    rows.append(np.full((len(weights), n_repeats), np.nan))
            scores = np.stack(rows)
    worst = float(task.worst_score)
    return np.where(np.isfinite(scores), scores, worst), errors


def run_batch(ref: TaskRef | Task, batch: NetworkBatch, weights: np.ndarray, seed: int,
              n_repeats: int) -> BatchResult:
    """Score one batch on a worker (the function submitted to executors).

    Parameters
    ----------
    ref : TaskRef or Task
        The task, as shipped (see :meth:`TaskRef.of`).
    batch : NetworkBatch
    weights : ndarray of shape (n_weights,)
    seed : int
        The generation's seed, shared by every network (common random numbers).
    n_repeats : int

    Raises
    ------
    WorkerSetupError
        When the task cannot be built on this worker. Exceptions of the task itself are
        not raised but reported per network in :attr:`BatchResult.errors`.
    """
    start = time.perf_counter()
    task = _resolve_task(ref)
    scores, errors = score_networks(task, batch.unpack(), weights, seed, n_repeats)
    return BatchResult(scores, errors, time.perf_counter() - start, worker_id())


def _noop_batch(ref: TaskRef | Task, batch: NetworkBatch) -> int:
    """Resolve the task and unpack the batch, no scoring (measures per-batch overhead)."""
    _resolve_task(ref)
    return len(batch.unpack())


# ----------------------------------------------------------------------------- engines
_LOST_NAMES = {"KilledWorker", "FutureCancelledError", "CommClosedError", "StreamClosedError"}


def is_worker_lost(exc: BaseException) -> bool:
    """True for errors that mean "the worker (or the pool) went away", not "the task failed":
    a broken process or MPI pool, Dask's ``KilledWorker``, a cancelled future, a closed
    connection. Their batches are submitted again."""
    if isinstance(exc, (BrokenExecutor, CancelledError, EOFError, ConnectionError)):
        return True
    return any(cls.__name__ in _LOST_NAMES for cls in type(exc).__mro__)


class ProcessPool(Executor):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` that can be rebuilt after a worker
    dies, with tasks installed once per worker process.

    When a worker process is killed, a ``ProcessPoolExecutor`` fails every pending future with
    ``BrokenProcessPool`` and accepts no more work. :class:`~wann_plugin.WannEvaluator` then
    calls :meth:`restart` and submits the batches that had not finished.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default ``os.cpu_count()``.
    tasks : sequence of Task, optional
        Tasks to build in every worker as it starts (the evaluator then sends only a token
        per batch). Others are sent with each batch and built once per worker on first use.
    mp_context : str, optional
        multiprocessing start method; default ``forkserver`` where the platform has it (it
        starts and restarts workers quickly without forking a parent that may run threads),
        else ``spawn``.

    Examples
    --------
    >>> from wann_plugin import WannEvaluator, make_task
    >>> task = make_task("swingup")                                    # doctest: +SKIP
    >>> with ProcessPool(2, tasks=[task]) as pool:                     # doctest: +SKIP
    ...     evaluator = WannEvaluator(task, n_repeats=3, executor=pool)
    """

    def __init__(self, n_workers: int | None = None, *, tasks: Sequence[Task] = (),
                 mp_context: str | None = None):
        n = (os.cpu_count() or 1) if n_workers is None else n_workers
        n = Key("n_workers", int, None, low=1).validate("ProcessPool", n)
        methods = multiprocessing.get_all_start_methods()
        if mp_context is None:
            mp_context = "forkserver" if "forkserver" in methods else "spawn"
        if mp_context not in methods:
            raise ValueError(f"mp_context == {mp_context!r}, must be one of "
                             f"{multiprocessing.get_all_start_methods()}")
        self.n_workers = int(n)
        self.mp_context = mp_context
        self._refs = tuple(TaskRef.of(t) for t in tasks)
        self.installed_tokens = frozenset(r.token for r in self._refs)
        self.restarts = 0
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._shutdown = False

    @property
    def _max_workers(self) -> int:  # the attribute ProcessPoolExecutor users look for
        return self.n_workers

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._pool is None:
                ctx = multiprocessing.get_context(self.mp_context)
                if self.mp_context == "forkserver":
                    ctx.set_forkserver_preload(["wann_plugin.parallel"])
                self._pool = ProcessPoolExecutor(self.n_workers, mp_context=ctx,
                                                 initializer=install_tasks,
                                                 initargs=(self._refs,))
            return self._pool

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` on a worker process (starting the pool if needed).

        A pool broken while idle (a worker died between generations) is replaced here, so
        the submit itself never raises ``BrokenProcessPool``; a worker that dies after the
        submit fails the future, which the evaluator retries.
        """
        for attempt in range(3):
            pool = self._ensure()
            if not getattr(pool, "_broken", False):
                try:
                    return pool.submit(fn, *args, **kwargs)
                except BrokenExecutor:
                    if attempt == 2:
                        raise
            self._replace_broken(pool)
        raise BrokenExecutor("the process pool broke three times while submitting")

    def _replace_broken(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not pool:  # another thread replaced it already
                return
            self._pool = None
            self.restarts += 1
        _terminate(pool)

    def restart(self) -> None:
        """Drop the current (broken) pool; the next :meth:`submit` starts a fresh one."""
        with self._lock:
            old, self._pool = self._pool, None
            self.restarts += 1
        if old is not None:
            _terminate(old)

    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes (starting all of them if needed)."""
        pool = self._ensure()
        if len(getattr(pool, "_processes", None) or {}) < self.n_workers:
            # workers start on demand: keep n_workers of them busy at once
            for fut in [pool.submit(time.sleep, 0.2) for _ in range(self.n_workers)]:
                fut.result()
        return sorted(pid for pid, p in (pool._processes or {}).items() if p.is_alive())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def terminate(self) -> None:
        """Stop now: cancel queued batches and kill the worker processes (used on Ctrl-C)."""
        with self._lock:
            self._shutdown = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _terminate(pool)

    def __repr__(self) -> str:
        return f"ProcessPool(n_workers={self.n_workers}, mp_context={self.mp_context!r})"


def _terminate(pool: ProcessPoolExecutor) -> None:
    processes = dict(getattr(pool, "_processes", None) or {})
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes.values():
        if p.is_alive():
            p.kill()
    for p in processes.values():
        p.join(timeout=5)


def connect_dask(address: str, *, timeout: float = 10.0):
    """A ``dask.distributed.Client`` connected to the scheduler at ``address``.

    Raises
    ------
    ImportError
        Without ``dask.distributed`` (``pip install 'wann-plugin[dask]'``).
    SchedulerError
        When no scheduler answers at ``address`` within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError("a Dask scheduler needs dask.distributed: "
                          "pip install 'wann-plugin[dask]'") from exc
    if not isinstance(address, str) or not address.strip():
        raise SchedulerError(f"scheduler address == {address!r}, expected e.g. tcp://host:8786")
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s "
            f"({type(exc).__name__}: {exc}); start one with `dask scheduler` and workers with "
            f"`dask worker {address}`, and check the address"
        ) from None


def dask_executor(client) -> Executor:
    """``client.get_executor(pure=False)``: batches are never deduplicated, so a batch that
    failed on a dead worker can be submitted again."""
    return client.get_executor(pure=False)


def mpi_executor(max_workers: int | None = None, *, tasks: Sequence[Task] = (), **kwargs: Any):
    """An ``mpi4py.futures.MPIPoolExecutor`` whose workers build ``tasks`` once at start.

    Under ``mpiexec -n N python -m mpi4py.futures ...`` it uses the N - 1 worker ranks
    started by ``mpiexec``; otherwise it spawns ``max_workers`` processes (needs an MPI
    with dynamic process management).

    Raises
    ------
    ImportError
        Without ``mpi4py`` (``pip install 'wann-plugin[mpi]'`` and an MPI library).
    """
    try:
        from mpi4py.futures import MPIPoolExecutor
    except ImportError as exc:
        raise ImportError("MPI needs mpi4py and an MPI library: pip install 'wann-plugin[mpi]' "
                          "(Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin)") from exc
    refs = tuple(TaskRef.of(t) for t in tasks)
    pool = MPIPoolExecutor(max_workers, initializer=install_tasks, initargs=(refs,), **kwargs)
    pool.installed_tokens = frozenset(r.token for r in refs)
    return pool


def _dask_client(executor: Executor):
    return getattr(executor, "_client", None) if type(executor).__name__ == "ClientExecutor" else None


def n_workers(executor: Executor | None) -> int:
    """How many batches ``executor`` runs at once (1 for ``None``)."""
    if executor is None:
        return 1
    n = getattr(executor, "n_workers", None)
    if isinstance(n, int) and n > 0:
        return n
    client = _dask_client(executor)
    if client is not None:
        try:
            return max(1, int(sum(client.nthreads().values())))
        except Exception:  # noqa: BLE001 - a scheduler hiccup just means a default
            return 1
    for attr in ("num_workers", "_max_workers"):
        n = getattr(executor, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    return 1


def ship_task(executor: Executor, ref: TaskRef) -> Any:
    """What to pass to :func:`run_batch` as the task on ``executor``.

    - executors that built the task at start (``installed_tokens``): the token alone;
    - a Dask ``ClientExecutor``: a future of the :class:`TaskRef`, scattered once to every
      worker (``broadcast=True``), so each batch carries only its key;
    - any other executor: the token and the bytes (still built once per worker process).
    """
    if ref.token in getattr(executor, "installed_tokens", ()):
        return ref.without_blob()
    client = _dask_client(executor)
    if client is not None:
        return client.scatter(ref, broadcast=True, hash=False)
    return ref


def shutdown_executor(executor: Executor, *, wait: bool = True) -> None:
    """``executor.shutdown``; without waiting, queued batches are cancelled where the
    executor supports it (Dask's ``ClientExecutor`` takes only ``wait``)."""
    try:
        executor.shutdown(wait=wait, cancel_futures=not wait)
    except TypeError:
        executor.shutdown(wait=wait)


def submit_batch(executor: Executor, fn: Callable, *args: Any) -> Future:
    """``executor.submit(fn, *args)``; on Dask never deduplicated (``pure=False``)."""
    if _dask_client(executor) is not None:
        return executor.submit(fn, *args, pure=False)
    return executor.submit(fn, *args)
