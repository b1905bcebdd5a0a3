"""The evaluator neat-python calls each generation: ``Population.run(evaluator, n)``.

Data flow of one call (DESIGN.md, "Data flow of one generation"):

1. each genome is compiled once into a :class:`~wann_plugin.WannNetwork`;
2. the networks are grouped into batches and each batch goes to the task, in-process or
   through a :class:`concurrent.futures.Executor` (a batch travels as the networks' compact
   arrays, the task once per worker: see :mod:`wann_plugin.parallel`);
3. the task scores every network at every shared weight over the repetitions, all with the
   generation's one seed (common random numbers), so a genome's scores do not depend on the
   batch or the worker that ran it;
4. the results are written back here, and only here: ``genome.fitness`` (mean over weights,
   the scalar neat-python reports and stops on) and ``genome.objectives``.

Faults: a batch whose worker died is submitted again (a broken process pool is rebuilt
first); a task exception is pinned on the genome(s) that raised it, the others keep their
scores, and ``on_error`` decides whether the generation then fails or goes on with the
failed genomes at the worst value. Non-finite scores are the worst value.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, ThreadPoolExecutor, as_completed

import numpy as np
from neat.reporting import BaseReporter

from wann_plugin._compile_cache import NetworkCache
from wann_plugin._rng import generation_seed
from wann_plugin.network import WannNetwork
from wann_plugin.parallel import (
    TaskRef,
    is_worker_lost,
    n_workers,
    run_batch,
    score_networks,
    ship_task,
    shutdown_executor,
    submit_batch,
)
from wann_plugin.ranking import Objectives
from wann_plugin.tasks.base import Task
from wann_plugin.transport import NetworkBatch
from wann_plugin.validation import Key, validate_params

__all__ = ["DEFAULT_WEIGHTS", "ON_ERROR_CHOICES", "EvaluationError", "EvaluationWarning",
           "WannEvaluator"]

#: The reference's shared weight series (``alg_wDist = "standard"``, 6 values).
DEFAULT_WEIGHTS = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)

#: Values of ``on_error``: raise on a failing genome, or score it as the task's worst.
ON_ERROR_CHOICES = ("fail", "worst")
#: The constructor arguments of :class:`WannEvaluator` checked with the validation vocabulary.
#:
#: :meta hide-value:
_EVALUATOR_KEYS = (Key("n_repeats", int, 1, low=1), Key("max_retries", int, 3, low=0),
                   Key("batch_size", int, None, low=1, optional=True),
                   Key("on_error", str, "fail", choices=ON_ERROR_CHOICES),
                   Key("threads", int, 1, low=1))
#: Chunks per thread of an in-process generation scored on threads: enough to even out
#: chunks of unequal cost.
CHUNKS_PER_THREAD = 2
#: Batches per worker when ``batch_size`` is not given: enough to even out slow batches.
BATCHES_PER_WORKER = 4


class EvaluationError(RuntimeError):
    """A task failed on some genomes, or their batches could not be run.

    Attributes
    ----------
    task_name : str
    generation : int
    errors : dict
        ``{genome id: description}`` (exception type, message, worker traceback).
    """

    def __init__(self, message: str, *, task_name: str = "", generation: int | None = None,
                 errors: dict | None = None):
        super().__init__(message)
        self.task_name = task_name
        self.generation = generation
        self.errors = dict(errors or {})

    @property
    def genome_ids(self) -> list:
        return sorted(self.errors, key=str)


class EvaluationWarning(UserWarning):
    """Genomes the task raised on were scored as the worst value (``on_error="worst"``)."""


class WannEvaluator(BaseReporter):
    """Scores a population of WANN genomes; pass it to ``Population.run``.

    Parameters
    ----------
    task : Task
        What networks are judged on.
    weights : sequence of float, default=(-2, -1, -0.5, 0.5, 1, 2)
        Shared weight values each genome is scored on.
    n_repeats : int, default=1
        Episodes (or batches) per genome and weight; the reference uses 3 for swing-up.
    executor : Executor or callable, optional
        Where batches run: a :class:`concurrent.futures.Executor` (a
        :class:`~wann_plugin.ProcessPool`, a ``ProcessPoolExecutor``, a Dask client's
        ``client.get_executor()``, an ``mpi4py.futures.MPIPoolExecutor``), used as given and
        left open; or a zero-argument factory returning one, which the evaluator calls when
        it first needs workers, calls again to replace a pool broken by a dead worker, and
        shuts down in :meth:`close`. In-process when omitted.
    batch_size : int, optional
        Genomes per batch. Default: the whole population in-process, otherwise
        ``ceil(n_genomes / (4 * n_workers))`` so that every worker gets about four batches.
    seed : int, optional
        The run's seed; by default neat-python's ``[NEAT] seed`` (``config.seed``).
    on_error : {"fail", "worst"}, default="fail"
        What a task exception on a genome does. Either way the task is retried on that
        batch's networks one by one, so only the genome(s) that raise are affected and every
        other result of the generation is kept (written to its genome). ``"fail"`` then
        raises :class:`EvaluationError` naming the genome id(s) and the task; ``"worst"``
        scores them as the task's worst value, warns (:class:`EvaluationWarning`) and goes on.
    max_retries : int, default=3
        Times per generation that batches lost with their worker (a killed process, Dask's
        ``KilledWorker``) are submitted again before giving up with :class:`EvaluationError`.
    generation : int, default=0
        The first generation number, when not driven by neat-python's reporter hook.
    threads : int, default=1
        In-process only: score a generation's networks on this many threads, in chunks of
        about equal work (connections plus nodes; of ``batch_size`` genomes if given). The
        compiled kernels of the built-in swing-up and classification tasks release the GIL,
        so the threads run on as many cores, without the round trip of worker processes
        (the networks are not sent anywhere); the scores are the same as on one thread.
        Only for tasks that are :attr:`~wann_plugin.tasks.base.Task.thread_safe`.

    Notes
    -----
    The generation number (which picks the generation's seed) comes from neat-python: add
    the evaluator as a reporter too (``population.add_reporter(evaluator)``; ``wann run``
    does) so that a run restored from a checkpoint continues with the right seeds. Without
    that, it counts its own calls from ``generation``.

    Genomes whose networks are equal (the same activations and connections, as children of
    one parent often are) face the same episodes, so the task scores each distinct network
    of a generation once and every such genome gets its result (``last_stats["duplicates"]``
    counts the genomes that were not scored themselves); the search is the same as scoring
    each. Tasks whose scores depend on more than the network set
    :attr:`Task.deterministic <wann_plugin.tasks.base.Task.deterministic>` to False.

    Examples
    --------
    >>> from wann_plugin import make_task
    >>> evaluator = WannEvaluator(make_task("swingup"), n_repeats=3)   # doctest: +SKIP
    >>> population.add_reporter(evaluator)                             # doctest: +SKIP
    >>> population.run(evaluator, 100)                                 # doctest: +SKIP
    """

    def __init__(
        self,
        task: Task,
        weights: Sequence[float] = DEFAULT_WEIGHTS,
        n_repeats: int = 1,
        *,
        executor: Executor | Callable[[], Executor] | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        on_error: str = "fail",
        max_retries: int = 3,
        generation: int = 0,
        threads: int = 1,
    ):
        if not isinstance(task, Task):
            raise TypeError(f"task must be a wann_plugin Task, got {type(task).__name__}")
        if not np.isfinite(float(task.worst_score)):
            raise ValueError(f"task {task.name!r} has worst_score == {task.worst_score!r}; "
                             "it must be a finite number")
        w = np.asarray(weights, dtype=float).ravel()
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a non-empty sequence of finite numbers, got {weights!r}")
        validate_params("WannEvaluator", _EVALUATOR_KEYS, {
            "n_repeats": n_repeats, "max_retries": max_retries, "batch_size": batch_size,
            "on_error": on_error, "threads": threads})
        if executor is not None and not (hasattr(executor, "submit") or callable(executor)):
            raise TypeError(f"executor must be a concurrent.futures.Executor or a factory "
                            f"returning one, got {type(executor).__name__}")
        self.task = task
        self.weights = w
        self.n_repeats = int(n_repeats)
        self.batch_size = batch_size
        self.seed = seed
        self.on_error = on_error
        self.max_retries = int(max_retries)
        self.generation = int(generation)
        self.threads = int(threads)
        if self.threads > 1 and executor is not None:
            raise ValueError(f"threads={self.threads} with an executor: threads score "
                             "in-process; with an executor its workers do the work")
        check_threads(task, self.threads)
        self._thread_pool: ThreadPoolExecutor | None = None
        self.last_seconds = 0.0
        #: Per-generation figures of the last call: batches, worker seconds, retries, genomes
        #: whose results were reused (``"reused"``) or copied from an equal network
        #: (``"duplicates"``).
        self.last_stats: dict = {}
        #: ``{genome id: description}`` of the genomes the task raised on in the last call.
        self.last_failures: dict = {}
        if executor is None or hasattr(executor, "submit"):
            self._factory, self._executor = None, executor
        else:
            self._factory, self._executor = executor, None
        self._task_ref: TaskRef | None = None
        self._shipped = None
        self._partial: dict = {"generation": None, "seed": None, "results": {}}
        self._networks = NetworkCache()

    # ------------------------------------------------------------------ executor
    @property
    def executor(self) -> Executor | None:
        """The executor batches go to (built from the factory on first use); ``None``
        in-process."""
        if self._executor is None and self._factory is not None:
            self._executor = self._factory()
            if not hasattr(self._executor, "submit"):
                raise TypeError(f"executor factory returned {type(self._executor).__name__}, "
                                "not a concurrent.futures.Executor")
        return self._executor

    def close(self) -> None:
        """Shut down an executor this evaluator built from a factory (others stay open) and
        the threads of ``threads``."""
        if self._thread_pool is not None:
            pool, self._thread_pool = self._thread_pool, None
            pool.shutdown(wait=True)
        if self._factory is not None and self._executor is not None:
            ex, self._executor = self._executor, None
            terminate = getattr(ex, "terminate", None)
            if callable(terminate):
                terminate()
            else:
                shutdown_executor(ex, wait=False)
        self._shipped = None

    def __enter__(self) -> WannEvaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ship(self, executor: Executor):
        if self._shipped is None or self._shipped[0] is not executor:
            if self._task_ref is None:
                self._task_ref = TaskRef.of(self.task)
            self._shipped = (executor, ship_task(executor, self._task_ref))
        return self._shipped[1]

    def _recover(self, lost: dict, keys_of: Callable) -> None:
        """Make the executor usable again after workers were lost."""
        self._shipped = None  # re-send the task: replacement workers do not have it
        if not any(isinstance(exc, BrokenExecutor) for exc in lost.values()):
            return  # e.g. Dask: the cluster replaced the worker, the client still works
        ex = self._executor
        restart = getattr(ex, "restart", None)
        if callable(restart):
            restart()
        elif self._factory is not None:
            self._executor = None
            try:
                shutdown_executor(ex, wait=False)
            except Exception:  # noqa: BLE001 - it is broken already
                pass
        else:
            genomes = _sorted_keys(k for i in lost for k in keys_of(i))
            first = next(iter(lost.values()))
            raise EvaluationError(
                f"the executor {type(ex).__name__} broke ({type(first).__name__}: {first}) while "
                f"running task {self.task.name!r} on genomes {_some(genomes)} at generation "
                f"{self.generation}; it cannot be rebuilt: pass a wann_plugin.ProcessPool or a "
                "factory (e.g. lambda: ProcessPoolExecutor(n)) as executor to have lost batches "
                "re-run", task_name=self.task.name, generation=self.generation,
                errors={k: f"{type(first).__name__}: {first}" for k in genomes},
            ) from first

    # neat-python reporter hook: keeps the generation number right (also after a restore)
    def start_generation(self, generation: int) -> None:
        self.generation = int(generation)

    def seed_for(self, config, generation: int) -> int:
        """The episode seed of ``generation``: from the run seed and the generation only."""
        run_seed = self.seed if self.seed is not None else getattr(config, "seed", None)
        return generation_seed(run_seed, generation)

    # ------------------------------------------------------------------ partial results
    def partial_results(self) -> dict:
        """The results of the generation in progress (or last finished) that a checkpoint
        keeps: ``{"generation", "seed", "results": {genome id: (fingerprint, scores)}}``."""
        results = {gid: (_fingerprint(net), s) for gid, (net, s) in
                   self._partial["results"].items()}
        return {"generation": self._partial["generation"], "seed": self._partial["seed"],
                "results": results}

    def restore_partial_results(self, partial: dict | None) -> None:
        """Reuse a checkpoint's finished results: a genome whose compiled network and
        generation seed match is not scored again (its scores would be the same)."""
        if partial and partial.get("generation") is not None:
            self._partial = {"generation": partial["generation"], "seed": partial["seed"],
                             "results": dict(partial["results"])}

    # ------------------------------------------------------------------ neat-python entry
    def __call__(self, genomes, config) -> None:
        """Evaluate ``genomes`` (neat-python's list of ``(genome_id, genome)``) in place."""
        start = time.perf_counter()
        genomes = list(genomes)
        generation = self.generation
        seed = self.seed_for(config, generation)
        nets = {}
        compile_start = time.perf_counter()
        for gid, genome in genomes:
            net = self._networks.compile(genome, config.genome_config)
            self.task.check_network(net)
            nets[gid] = net
        compiled = dict(self._networks.counts)
        self._networks.advance()
        compile_seconds = time.perf_counter() - compile_start
        if (self._partial["generation"], self._partial["seed"]) != (generation, seed):
            self._partial = {"generation": generation, "seed": seed, "results": {}}
        done = self._partial["results"]
        scores = {gid: done[gid][1] for gid in nets
                  if gid in done and _same_network(done[gid][0], nets[gid])}
        todo = {gid: net for gid, net in nets.items() if gid not in scores}
        # genomes whose networks are equal score the same (the task's episodes come from the
        # seed alone, Task.deterministic): one of them is scored, the others get its result
        distinct, copies = _distinct_networks(todo) if self.task.deterministic else (todo, {})

        def keep(gid, s):
            for g in copies.get(gid, (gid,)):
                scores[g] = s
                done[g] = (nets[g], s)  # the fingerprint is taken if a checkpoint keeps it

        failures = self._score_into(distinct, seed, keep)
        for gid in list(failures):
            for g in copies.get(gid, ()):
                failures[g] = failures[gid]
        worst = np.full((len(self.weights), self.n_repeats), float(self.task.worst_score))
        self.write_back_all([g for _, g in genomes], [nets[gid] for gid, _ in genomes],
                            [scores.get(gid, worst) for gid, _ in genomes])
        self.generation = generation + 1
        self.last_seconds = time.perf_counter() - start
        self.last_stats["reused"] = len(nets) - len(todo)
        self.last_stats["duplicates"] = len(todo) - len(distinct)
        self.last_stats["compile_seconds"] = compile_seconds
        self.last_stats["networks"] = compiled
        self.last_failures = failures
        if failures:
            ids = sorted(failures, key=str)
            first = failures[ids[0]]
            more = f" (and {len(ids) - 1} more: {ids[1:]})" if len(ids) > 1 else ""
            head = (f"task {self.task.name!r} raised for genome {ids[0]!r}{more} at generation "
                    f"{generation}")
            if self.on_error == "fail":
                raise EvaluationError(
                    f"{head}: {first.rstrip()}\nThe other {len(nets) - len(ids)} genomes' results "
                    "were kept; set [WannEvaluation] on_error = worst to score failing genomes "
                    "as the worst value and go on.",
                    task_name=self.task.name, generation=generation, errors=failures)
            warnings.warn(f"{head}: {first.splitlines()[0]}; scored as the worst value "
                          f"{self.task.worst_score:g}", EvaluationWarning, stacklevel=2)

    def score(self, nets: dict, seed: int) -> tuple[dict, dict]:
        """Score ``{key: net}``.

        Returns
        -------
        scores : dict
            ``{key: ndarray of shape (n_weights, n_repeats)}`` for the networks that scored.
        failures : dict
            ``{key: description}`` for the networks the task raised on.
        """
        scores: dict = {}
        failures = self._score_into(nets, seed, scores.__setitem__)
        return scores, failures

    def _batches(self, keys: list) -> list[list]:
        if not keys:
            return []
        if self.batch_size is not None:
            size = int(self.batch_size)
        elif self.executor is None:
            size = len(keys)
        else:
            size = max(1, math.ceil(len(keys) / (BATCHES_PER_WORKER * n_workers(self.executor))))
        return [keys[i:i + size] for i in range(0, len(keys), size)]

    def _score_into(self, nets: dict, seed: int, keep: Callable) -> dict:
        """Score ``nets``, calling ``keep(key, scores)`` as each batch finishes (so an
        interrupted generation keeps what finished). Returns the failures."""
        batches = self._batches(list(nets))
        failures: dict = {}
        stats = {"n_batches": len(batches), "worker_seconds": 0.0, "retries": 0,
                 "lost_batches": 0}
        self.last_stats = stats
        wall = time.perf_counter()

        def record(keys, batch_scores, errors):
            for pos, key in enumerate(keys):
                if pos in errors:
                    failures[key] = errors[pos]
                else:
                    keep(key, batch_scores[pos])

        if self.executor is None:
            if self.threads > 1:
                if self.batch_size is None:  # chunks of equal work, not of equal count
                    batches = _cost_chunks(list(nets), [_cost(net) for net in nets.values()],
                                           self.threads * CHUNKS_PER_THREAD)
                    stats["n_batches"] = len(batches)
                self._score_on_threads(nets, batches, seed, record, stats)
                stats["wall_seconds"] = time.perf_counter() - wall
                return failures
            for keys in batches:
                t = time.perf_counter()
                batch_scores, errors = score_networks(self.task, [nets[k] for k in keys],
                                                      self.weights, seed, self.n_repeats)
                stats["worker_seconds"] += time.perf_counter() - t
                record(keys, batch_scores, errors)
            stats["wall_seconds"] = time.perf_counter() - wall
            return failures

        packed = [NetworkBatch.pack([nets[k] for k in keys]) for keys in batches]
        pending = list(range(len(batches)))
        rounds = 0
        while pending:
            executor = self.executor
            task_arg = self._ship(executor)
            futures = {submit_batch(executor, run_batch, task_arg, packed[i], self.weights, seed,
                                    self.n_repeats): i for i in pending}
            lost: dict = {}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - sorted below
                        if is_worker_lost(exc):
                            lost[i] = exc
                            continue
                        raise EvaluationError(
                            f"task {self.task.name!r} could not run on {type(executor).__name__} "
                            f"for genomes {_some(_sorted_keys(batches[i]))} at generation "
                            f"{self.generation}: "
                            f"{type(exc).__name__}: {exc}", task_name=self.task.name,
                            generation=self.generation,
                            errors={k: f"{type(exc).__name__}: {exc}" for k in batches[i]},
                        ) from exc
                    stats["worker_seconds"] += res.seconds
                    record(batches[i], res.scores, res.errors)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
            if lost:
                rounds += 1
                stats["retries"] = rounds
                stats["lost_batches"] += len(lost)
                if rounds > self.max_retries:
                    genomes = _sorted_keys(k for i in lost for k in batches[i])
                    last = next(iter(lost.values()))
                    raise EvaluationError(
                        f"workers were lost {rounds} times while running task "
                        f"{self.task.name!r} on genomes {_some(genomes)} at generation "
                        f"{self.generation} "
                        f"(last: {type(last).__name__}: {last}); giving up after max_retries = "
                        f"{self.max_retries}", task_name=self.task.name,
                        generation=self.generation,
                        errors={k: f"{type(last).__name__}: {last}" for k in genomes})
                self._recover(lost, lambda i: batches[i])
            pending = sorted(lost)
        stats["wall_seconds"] = time.perf_counter() - wall
        return failures

    def _score_on_threads(self, nets: dict, chunks: list[list], seed: int, record: Callable,
                          stats: dict) -> None:
        """Score ``nets`` in ``chunks`` (lists of their keys) on :attr:`threads` threads;
        each chunk's results are recorded (in this thread) as it finishes."""
        if self._thread_pool is None:
            self._thread_pool = ThreadPoolExecutor(self.threads, thread_name_prefix="wann-eval")

        def run(keys):
            t = time.perf_counter()
            out = score_networks(self.task, [nets[k] for k in keys], self.weights, seed,
                                 self.n_repeats)
            return out, time.perf_counter() - t

        futures = {self._thread_pool.submit(run, keys): keys for keys in chunks}
        try:
            for fut in as_completed(futures):
                (batch_scores, errors), seconds = fut.result()
                stats["worker_seconds"] += seconds
                record(futures[fut], batch_scores, errors)
        except BaseException:
            for fut in futures:
                fut.cancel()  # chunks not started yet; running ones finish their kernel
            raise

    @staticmethod
    def write_back(genome, net: WannNetwork, scores: np.ndarray) -> None:
        """The one place results land on a genome: ``fitness`` and ``objectives``."""
        per_weight = np.asarray(scores, dtype=float).mean(axis=-1)
        genome.objectives = Objectives(
            mean=float(per_weight.mean()),
            max=float(per_weight.max()),
            n_connections=int(net.n_connections),
            per_weight=tuple(float(v) for v in per_weight),
        )
        genome.fitness = genome.objectives.mean

    def write_back_all(self, genomes: Sequence, nets: Sequence[WannNetwork],
                       scores: Sequence[np.ndarray]) -> None:
        """:meth:`write_back` for a population at once (the same values, one numpy pass).

        A subclass that overrides :meth:`write_back` has it called genome by genome.
        """
        if type(self).write_back is not WannEvaluator.write_back or not genomes:
            for genome, net, s in zip(genomes, nets, scores, strict=True):
                self.write_back(genome, net, s)
            return
        per_weight = np.array(scores, dtype=float).mean(axis=-1)  # (n, n_weights)
        means = per_weight.mean(axis=1).tolist()
        maxes = per_weight.max(axis=1).tolist()
        new = object.__new__
        for genome, net, row, mean, top in zip(genomes, nets, per_weight.tolist(), means, maxes,
                                               strict=True):
            # Objectives(mean, top, n, row) without the frozen dataclass's field-by-field
            # __init__ (it has no __post_init__; a test holds the two equal)
            obj = new(Objectives)
            obj.__dict__.update(mean=mean, max=top, n_connections=net.n_connections,
                                per_weight=tuple(row))
            genome.objectives = obj
            genome.fitness = mean


def check_threads(task: Task, threads: int, setting: str | None = None,
                  instead: str | None = None) -> None:
    """Raise ``ValueError`` when ``threads`` > 1 and ``task`` cannot be scored from several
    threads at once (:attr:`Task.thread_safe <wann_plugin.tasks.base.Task.thread_safe>`);
    the message names the setting as ``setting`` (default ``threads=N``) and what to do
    ``instead`` (default: worker processes)."""
    if threads > 1 and not task.thread_safe:
        raise ValueError(
            f"{setting or f'threads={threads}'}: task {task.name!r} is not thread-safe "
            f"({type(task).__name__}.thread_safe is False); "
            + (instead or f"score it on worker processes instead (an executor, wann run "
                          f"--workers {threads})"))


def _cost(net: WannNetwork) -> int:
    """A network's share of a chunk's work: its connections and nodes (each step of an
    episode and each image computes every node over its incoming connections)."""
    return net.n_connections + net.n_nodes


def _cost_chunks(keys: list, costs: list[int], n: int) -> list[list]:
    """``keys`` in order, cut into at most ``n`` runs of about equal total cost."""
    if not keys:
        return []
    n = max(1, min(n, len(keys)))
    bounds = np.cumsum(costs)
    targets = bounds[-1] * np.arange(1, n) / n
    cuts = np.searchsorted(bounds, targets, side="left") + 1
    edges = sorted({0, len(keys), *(int(c) for c in cuts if 0 < c < len(keys))})
    return [keys[a:b] for a, b in zip(edges, edges[1:])]


def _content_key(net: WannNetwork) -> tuple:
    """What a network computes, as a dict key: equal for networks with equal shape,
    activations and connections (the content of :attr:`WannNetwork.fingerprint`, a third of
    its cost: no hash over copies of the arrays)."""
    acts, src, dst = net.activations, net.conn_src, net.conn_dst
    return (net.n_inputs, net.n_outputs, acts.dtype.str, acts.tobytes(), src.dtype.str,
            src.tobytes(), dst.dtype.str, dst.tobytes())


def _distinct_networks(nets: dict) -> tuple[dict, dict]:
    """``nets`` without repeats: ``({key: net}`` of the first genome of each distinct network,
    ``{that key: [every key with that network, in order]}``, the latter only for networks more
    than one genome has)."""
    first: dict = {}
    distinct: dict = {}
    copies: dict = {}
    for gid, net in nets.items():
        owner = first.setdefault(_content_key(net), gid)
        if owner == gid:
            distinct[gid] = net
        else:
            copies.setdefault(owner, [owner]).append(gid)
    return distinct, copies


def _fingerprint(net) -> str:
    """A kept result's network as its fingerprint (restored results already are one)."""
    return net if isinstance(net, str) else net.fingerprint


def _same_network(kept, net: WannNetwork) -> bool:
    """Whether a kept result (its network or a restored fingerprint) belongs to ``net``."""
    return kept is net or _fingerprint(kept) == net.fingerprint


def _sorted_keys(keys) -> list:
    """Genome keys in order: integers by value, then the others by their text."""
    return sorted(keys, key=lambda k: (0, k, "") if isinstance(k, int) else (1, 0, str(k)))


def _some(keys: list, limit: int = 10) -> str:
    """``keys`` for a one-line message: all of them up to ``limit``, else the first ``limit``
    and how many more (the exception's ``errors`` still names every one)."""
    if len(keys) <= limit:
        return str(list(keys))
    return f"{list(keys[:limit])} and {len(keys) - limit} more"
