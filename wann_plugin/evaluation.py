"""The evaluator neat-python calls each generation: ``Population.run(evaluator, n)``.

Data flow of one call (DESIGN.md, "Data flow of one generation"):

1. each genome is compiled once into a :class:`~wann_plugin.WannNetwork`;
2. the networks are grouped into batches and each batch goes to the task, in-process or
   through a :class:`concurrent.futures.Executor`;
3. the task scores every network at every shared weight over the repetitions, all with the
   generation's one seed (common random numbers);
4. the results are written back here, and only here: ``genome.fitness`` (mean over weights,
   the scalar neat-python reports and stops on) and ``genome.objectives``.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from neat.reporting import BaseReporter

from wann_plugin._rng import generation_seed
from wann_plugin.network import WannNetwork
from wann_plugin.ranking import Objectives
from wann_plugin.tasks.base import Task

__all__ = ["DEFAULT_WEIGHTS", "EvaluationError", "WannEvaluator", "evaluate_batch"]

#: The reference's shared weight series (``alg_wDist = "standard"``, 6 values).
DEFAULT_WEIGHTS = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)

_ON_ERROR = ("fail", "worst")


class EvaluationError(RuntimeError):
    """A task failed on a genome; names the genome and the task."""


@dataclass(frozen=True)
class _Batch:
    keys: tuple
    nets: tuple


def evaluate_batch(task: Task, nets: Sequence[WannNetwork], weights: np.ndarray, seed: int,
                   n_repeats: int) -> np.ndarray:
    """Score one batch (the unit of work sent to an executor); non-finite -> worst.

    Returns
    -------
    ndarray of shape (n_nets, n_weights, n_repeats)
    """
    scores = np.asarray(task.evaluate(list(nets), weights, seed=seed, n_repeats=n_repeats),
                        dtype=float)
    expected = (len(nets), len(weights), n_repeats)
    if scores.shape != expected:
        raise EvaluationError(
            f"task {task.name!r} returned scores of shape {scores.shape}, expected {expected}"
        )
    return np.where(np.isfinite(scores), scores, task.worst_score)


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
    executor : concurrent.futures.Executor, optional
        Where batches run (a ``ProcessPoolExecutor``, a Dask client's executor, ...).
        In-process when omitted.
    batch_size : int, optional
        Genomes per batch. Default: the whole population in-process, or enough batches to
        give every worker of ``executor`` about four.
    seed : int, optional
        The run's seed; by default neat-python's ``[NEAT] seed`` (``config.seed``).
    on_error : {"fail", "worst"}, default="fail"
        What a task exception on a batch does: ``"fail"`` raises :class:`EvaluationError`
        naming the genome(s) after every other batch of the generation finished;
        ``"worst"`` scores those genomes as the task's worst value and goes on.

    Notes
    -----
    The generation number (which picks the generation's seed) comes from neat-python: add
    the evaluator as a reporter too (``population.add_reporter(evaluator)``; ``wann run``
    does) so that a run restored from a checkpoint continues with the right seeds. Without
    that, it counts its own calls from ``generation``.

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
        executor: Executor | None = None,
        batch_size: int | None = None,
        seed: int | None = None,
        on_error: str = "fail",
        generation: int = 0,
    ):
        if not isinstance(task, Task):
            raise TypeError(f"task must be a wann_plugin Task, got {type(task).__name__}")
        w = np.asarray(weights, dtype=float).ravel()
        if w.size == 0 or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be a non-empty sequence of finite numbers, got {weights!r}")
        if int(n_repeats) != n_repeats or n_repeats < 1:
            raise ValueError(f"n_repeats == {n_repeats!r}, must be an int >= 1")
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"batch_size == {batch_size!r}, must be an int >= 1")
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error == {on_error!r}, must be one of {_ON_ERROR}")
        self.task = task
        self.weights = w
        self.n_repeats = int(n_repeats)
        self.executor = executor
        self.batch_size = batch_size
        self.seed = seed
        self.on_error = on_error
        self.generation = int(generation)
        self.last_seconds = 0.0

    # neat-python reporter hook: keeps the generation number right (also after a restore)
    def start_generation(self, generation: int) -> None:
        self.generation = int(generation)

    def seed_for(self, config, generation: int) -> int:
        """The episode seed of ``generation``: from the run seed and the generation only."""
        run_seed = self.seed if self.seed is not None else getattr(config, "seed", None)
        return generation_seed(run_seed, generation)

    # ------------------------------------------------------------------ neat-python entry
    def __call__(self, genomes, config) -> None:
        """Evaluate ``genomes`` (neat-python's list of ``(genome_id, genome)``) in place."""
        start = time.perf_counter()
        genomes = list(genomes)
        seed = self.seed_for(config, self.generation)
        nets = {}
        for gid, genome in genomes:
            net = WannNetwork.from_genome(genome, config.genome_config)
            self.task.check_network(net)
            nets[gid] = net
        scores, failures = self.score(nets, seed)
        for gid, genome in genomes:
            self.write_back(genome, nets[gid], scores[gid])
        self.generation += 1
        self.last_seconds = time.perf_counter() - start
        if failures and self.on_error == "fail":
            details = "; ".join(f"genomes {list(keys)}: {exc!r}" for keys, exc in failures)
            raise EvaluationError(
                f"task {self.task.name!r} failed at generation {self.generation - 1}: {details} "
                "(the other genomes' results were written; set on_error='worst' to go on)"
            ) from failures[0][1]

    def score(self, nets: dict, seed: int):
        """Scores ``{key: (n_weights, n_repeats)}`` for ``{key: net}``, and the failures.

        Failed batches are scored as the task's worst value and listed as
        ``[(keys, exception), ...]``.
        """
        batches = self._batches(nets)
        results: dict = {}
        failures = []
        worst = np.full((len(self.weights), self.n_repeats), float(self.task.worst_score))
        if self.executor is None:
            outcomes = []
            for b in batches:
                try:
                    outcomes.append(evaluate_batch(self.task, b.nets, self.weights, seed,
                                                   self.n_repeats))
                except Exception as exc:  # noqa: BLE001 - reported per genome below
                    outcomes.append(exc)
        else:
            futures = [self.executor.submit(evaluate_batch, self.task, b.nets, self.weights,
                                            seed, self.n_repeats) for b in batches]
            outcomes = []
            for fut in futures:
                try:
                    outcomes.append(fut.result())
                except Exception as exc:  # noqa: BLE001
                    outcomes.append(exc)
        for b, out in zip(batches, outcomes):
            if isinstance(out, BaseException):
                failures.append((b.keys, out))
                for k in b.keys:
                    results[k] = worst
            else:
                for k, s in zip(b.keys, out):
                    results[k] = s
        return results, failures

    def _batches(self, nets: dict) -> list[_Batch]:
        keys = list(nets)
        if self.batch_size is not None:
            size = self.batch_size
        elif self.executor is None:
            size = max(1, len(keys))
        else:
            workers = getattr(self.executor, "_max_workers", None) or 2
            size = max(1, math.ceil(len(keys) / (4 * workers)))
        return [
            _Batch(tuple(keys[i:i + size]), tuple(nets[k] for k in keys[i:i + size]))
            for i in range(0, len(keys), size)
        ]

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
