"""Running a whole search: neat-python's ``Population`` loop with our classes, progress,
statistics, checkpoints, and the champion written to disk.

``wann run`` is a thin shell over :func:`run_search`. With an output folder, the run writes a
checkpoint every ``checkpoint_every`` generations and whenever it stops early (Ctrl-C, an
error); ``run_search(..., resume=folder)`` continues it and ends exactly where the
uninterrupted run would have (:mod:`wann_plugin.checkpoint`).
"""

from __future__ import annotations

import copy
import csv
import gc
import heapq
import io as _io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import neat
import numpy as np
from neat.reporting import BaseReporter

from wann_plugin._genes import ConnectionGenes, NodeGenes
from wann_plugin._run_folder import (
    RunFolderError,
    prepare_run_folder,
    read_run_info,
    write_curves,
    write_run_info,
)
from wann_plugin.checkpoint import (
    Checkpoint,
    Checkpointer,
    CheckpointError,
    config_differences,
    find_checkpoint,
    restore_population,
)
from wann_plugin.config import config_text, make_evaluator, save_config
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.io import atomic_write_text, save_network
from wann_plugin.network import WannNetwork
from wann_plugin.validation import Key, validate_params

__all__ = ["STATS_FIELDS", "ProgressReporter", "RunFolderError", "SearchResult", "metric_lines",
           "prepare_run_folder", "run_search", "select_champion"]

#: The arguments of :func:`run_search` checked before anything starts.
#:
#: :meta hide-value:
_RUN_SEARCH_KEYS = (
    Key("generations", int, None, low=1, optional=True),
    Key("checkpoint_every", int, None, low=1, optional=True),
    Key("seed", int, None, low=0, optional=True),
    Key("champion_episodes", int, 16, low=1),
)

STATS_FIELDS = ("generation", "best_mean", "best_max", "mean_fitness", "median_fitness",
                "median_connections", "best_connections", "seconds")
_STATS_HEADER = ",".join(STATS_FIELDS) + "\r\n"  # csv.DictWriter's header line


class _FreezeHeap(BaseReporter):
    """Moves every live object out of the garbage collector's sight at the start of each
    generation (:func:`gc.freeze`), and pauses the collector from the end of each evaluation
    to the start of the next generation (reproduction, speciation, the reporters).

    A population holds hundreds of thousands of small gene objects; without the freeze every
    full collection walks all of them again (about 10 % of a digits generation at population
    960). Without the pause, collections of the young generations walk every child, gene
    dict and table that reproduction makes (about 6 ms of a late MNIST generation at
    population 960, most of it objects that live on in the next population); with it they are
    frozen unwalked at the next start. Objects still die by reference counting as usual.
    Reference cycles among frozen objects, or made while the collector is paused (a task's
    simulator, a reporter's figure), are freed by a full collection of the unfrozen heap at a
    generation's start, run once the time since the last one is :attr:`collect_ratio` times
    what that one cost: at most about 1 % of a run, and garbage cycles are never kept for
    long (a CarRacing generation of a minute collects every time; a full collection of the
    state of MNIST's generation 2048 takes about 40 ms, so a 0.25 s MNIST generation
    collects about every 16th time).
    """

    #: A full collection runs once the time since the last one is this many times its cost.
    collect_ratio = 100.0

    def __init__(self) -> None:
        self._paused = False
        self._last_collect: float | None = None  # perf_counter() at the end of the last one
        self._collect_cost = 0.0

    def post_evaluate(self, config, population, species, best_genome) -> None:
        if gc.isenabled():
            gc.disable()
            self._paused = True

    def start_generation(self, generation: int) -> None:
        now = time.perf_counter()
        if self._last_collect is None or \
                now - self._last_collect >= self.collect_ratio * self._collect_cost:
            gc.unfreeze()
            gc.collect()
            self._last_collect = time.perf_counter()
            self._collect_cost = self._last_collect - now
        gc.freeze()
        self._resume()

    def _resume(self) -> None:
        if self._paused:
            gc.enable()
            self._paused = False

    def release(self) -> None:
        """Resume the collector if this paused it, and unfreeze the heap."""
        self._resume()
        gc.unfreeze()


def _keep_copy(genome):
    """A copy of an evaluated genome that later generations cannot change.

    With the library's gene mappings the genes are shared copy-on-write (microseconds, not a
    deep copy of every gene object); any other genome is deep-copied.
    """
    nodes, conns = genome.nodes, genome.connections
    if isinstance(nodes, NodeGenes) and isinstance(conns, ConnectionGenes):
        new = copy.copy(genome)
        new.nodes, new.connections = nodes.copy(), conns.copy()
        return new
    return copy.deepcopy(genome)


class ProgressReporter(BaseReporter):
    """Progress per generation and a ``stats.csv`` rewritten (atomically) every generation.

    On a terminal the progress is a tqdm bar with the time left; otherwise one plain line per
    generation (with the time left once ``total`` is known).

    It also keeps copies of the top genomes of the last evaluated generation, which
    :func:`run_search` re-evaluates to pick the champion. ``rows`` and ``top`` restore a
    resumed run's history (checkpoints keep both).

    Parameters
    ----------
    stream : file or None
        Where progress goes; ``None`` for silence.
    stats_path : Path, optional
        ``stats.csv`` to rewrite every generation.
    keep_top : int, default=5
        Genomes kept for the champion's re-evaluation.
    rows, top : list, optional
        A resumed run's history.
    total : int, optional
        Generations of the whole run (for the bar and the time left).
    """

    def __init__(self, stream: TextIO | None = sys.stdout, stats_path: Path | None = None,
                 keep_top: int = 5, *, rows: list | None = None, top: list | None = None,
                 total: int | None = None):
        self.stream = stream
        self.stats_path = stats_path
        self.keep_top = keep_top
        self.rows: list[dict] = [dict(r) for r in rows or []]
        self.top: list = list(top or [])
        self.total = total
        self._generation = 0
        self._start = time.perf_counter()
        self._run_start = time.perf_counter()
        self._first = len(self.rows)
        self._lines: list = []  # (row, its CSV line) as last written, see write_stats
        self._bar = None
        isatty = getattr(stream, "isatty", None)
        self._tty = bool(stream is not None and total and callable(isatty) and isatty())

    def start_generation(self, generation: int) -> None:
        self._generation = generation
        self._start = time.perf_counter()
        if self._tty and self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=generation, file=self.stream,
                             unit="gen", dynamic_ncols=True, desc="wann run")

    def post_evaluate(self, config, population, species, best_genome) -> None:
        genomes = list(population.values())
        # the first of sorted(genomes, key=...): only the top ones are needed
        ranked = heapq.nsmallest(max(self.keep_top, 1), genomes, key=lambda g: (-g.fitness, g.key))
        self.top = [_keep_copy(g) for g in ranked[: self.keep_top]]
        best_max = max(g.objectives.max for g in genomes)
        conns = [g.objectives.n_connections for g in genomes]
        fitness = [g.fitness for g in genomes]
        row = {
            "generation": self._generation,
            "best_mean": ranked[0].fitness,
            "best_max": best_max,
            "mean_fitness": float(np.mean(fitness)),
            "median_fitness": float(np.median(fitness)),
            "median_connections": float(np.median(conns)),
            "best_connections": ranked[0].objectives.n_connections,
            "seconds": time.perf_counter() - self._start,
        }
        self.rows.append(row)
        if self._bar is not None:
            self._bar.set_postfix_str(f"best {row['best_mean']:.4g}, median conns "
                                      f"{row['median_connections']:.0f}", refresh=False)
            self._bar.update(1)
        elif self.stream is not None:
            self.stream.write(
                f"gen {row['generation']:4d}  best mean {row['best_mean']:9.2f}  "
                f"best max {row['best_max']:9.2f}  median conns {row['median_connections']:6.1f}"
                f"  {row['seconds']:6.2f} s{self._eta()}\n"
            )
            self.stream.flush()
        if self.stats_path is not None:
            self.write_stats(self.stats_path)

    def _eta(self) -> str:
        done = len(self.rows) - self._first
        if not self.total or done < 1:
            return ""
        left = self.total - (self._generation + 1)
        per = (time.perf_counter() - self._run_start) / done
        return f"  (about {_duration(left * per)} left)" if left > 0 else ""

    def close(self) -> None:
        """End the progress bar (if any)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def elapsed(self) -> float:
        """Seconds since this reporter was made (this process's part of the run)."""
        return time.perf_counter() - self._run_start

    def write_stats(self, path: Path) -> None:
        """Write every row to ``path`` as CSV (atomically).

        Each row is formatted once and its line kept (a row is looked up by identity, so a
        replaced row is formatted again): a generation formats its own row, not the run's
        thousands (at MNIST's generation 4000 that was 8 % of a generation)."""
        lines = self._lines
        n_same = 0
        for row, (kept, _) in zip(self.rows, lines):
            if row is not kept:
                break
            n_same += 1
        del lines[n_same:]
        for row in self.rows[n_same:]:
            buf = _io.StringIO()
            csv.DictWriter(buf, fieldnames=STATS_FIELDS, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
            lines.append((row, buf.getvalue()))
        atomic_write_text(path, _STATS_HEADER + "".join(line for _, line in lines))


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class SearchResult:
    """What :func:`run_search` returns.

    Attributes
    ----------
    champion : genome
        The re-evaluated best genome.
    network : WannNetwork
        The champion compiled.
    summary : dict
        The champion's test scores (``per_weight_mean``, ``per_weight_std``, ``mean``).
    stats : list of dict
        One row per generation (the rows of ``stats.csv``).
    paths : dict
        ``champion``, ``stats``, ``config`` file paths (when an output folder was given).
    """

    champion: object
    network: WannNetwork
    summary: dict
    stats: list
    paths: dict = field(default_factory=dict)


def select_champion(candidates, config, evaluator: WannEvaluator, *, n_episodes: int = 16,
                    seed: int = 0):
    """Re-evaluate candidate genomes on ``n_episodes`` test episodes; best mean wins.

    Like the reference's ``checkBest``: a genome's training fitness comes from a few episodes
    with one generation's seed and is noisy, so the champion is chosen on fresh episodes.
    Ties go to the smaller genome key.

    Returns
    -------
    (genome, WannNetwork, dict)
    """
    best = None
    seen = set()
    for g in candidates:
        if g is None or g.key in seen:
            continue
        seen.add(g.key)
        net = WannNetwork.from_genome(g, config.genome_config)
        summary = evaluator.task.summary(net, evaluator.weights, seed=seed, n_episodes=n_episodes)
        rank = (summary["mean"], -g.key if isinstance(g.key, int) else 0)
        if best is None or rank > best[0]:
            best = (rank, g, net, summary)
    if best is None:
        raise ValueError("no candidate genome to choose a champion from")
    return best[1], best[2], best[3]


def metric_lines(summary: dict, weights) -> list[str]:
    """The task's own metrics from a ``task.summary`` dict, one line each (accuracy for
    classification); empty when the task reports only scores."""
    lines = []
    if "per_weight_accuracy" in summary:
        acc = "  ".join(f"{w:+g}: {a:.3f}" for w, a in zip(weights, summary["per_weight_accuracy"]))
        lines.append(f"accuracy per shared weight (held-out): {acc}")
    if "ensemble_accuracy" in summary:
        lines.append(f"ensemble accuracy (held-out): {summary['ensemble_accuracy']:.4f}")
    if "accuracy" in summary:
        lines.append(f"accuracy (held-out): {summary['accuracy']:.4f}")
    return lines


def _log(stream: TextIO | None, text: str) -> None:
    if stream is not None:
        stream.write(text)
        stream.flush()


def _check_resume(checkpoint: Checkpoint, config: neat.Config, generations: int) -> None:
    source = getattr(config, "wann_source", "the config")
    diffs = config_differences(checkpoint.config_text, config_text(config))
    if diffs:
        raise CheckpointError(
            f"{source} differs from the config checkpoint {checkpoint.path} was made with: "
            + "; ".join(diffs[:8]) + (f"; and {len(diffs) - 8} more" if len(diffs) > 8 else "")
            + ". A resumed run must use the same config (only [WannEvaluation] on_error, "
            "batch_size and [WannRun] generations may change); start a new run in another "
            "--out folder to use the new one."
        )
    if generations < checkpoint.generation:
        raise CheckpointError(
            f"{checkpoint.path} is at generation {checkpoint.generation}; cannot resume to "
            f"{generations} generations (ask for at least {checkpoint.generation})"
        )


def run_search(
    config: neat.Config,
    generations: int | None = None,
    *,
    out_dir: str | Path | None = None,
    seed: int | None = None,
    evaluator: WannEvaluator | None = None,
    executor=None,
    stream: TextIO | None = sys.stdout,
    champion_episodes: int = 16,
    reporters: list | None = None,
    checkpoint_every: int | None = None,
    resume: str | Path | Checkpoint | None = None,
    overwrite: bool = False,
    run_info: dict | None = None,
) -> SearchResult:
    """Run a WANN search with neat-python's ``Population`` and save what it found.

    Parameters
    ----------
    config : neat.Config
        From :func:`~wann_plugin.load_config` (fresh: neat-python keeps run state on it).
    generations : int, optional
        Generations the whole run has (a resumed run continues up to it). Default:
        ``[WannRun] generations``, or a resumed checkpoint's target.
    out_dir : path-like, optional
        Where ``champion.json``, ``stats.csv``, ``config.cfg`` and the checkpoints go. A
        resumed run defaults to the checkpoint's folder.
    seed : int, optional
        Overrides ``[NEAT] seed``.
    evaluator : WannEvaluator, optional
        Default: built from the config (:func:`~wann_plugin.make_evaluator`).
    executor : Executor or callable, optional
        Where the default evaluator runs batches (see :class:`~wann_plugin.WannEvaluator`).
    stream : file, optional
        Progress lines go here (``None`` for silence).
    champion_episodes : int, default=16
        Test episodes per weight when choosing the champion.
    reporters : list, optional
        More neat-python reporters (their state is not checkpointed).
    checkpoint_every : int, optional
        Write ``out_dir/checkpoint-NNNNNN.wann`` every this many generations and at the end.
        With an ``out_dir``, a checkpoint is also written when the run stops early
        (``KeyboardInterrupt`` / Ctrl-C, an error), with the results finished so far.
    resume : path-like or Checkpoint, optional
        A run folder (its newest checkpoint) or a checkpoint file to continue from. The
        config must equal the checkpoint's (only ``on_error``, ``batch_size`` and
        ``generations`` may differ). The resumed run ends as the uninterrupted one would, and
        keeps the ``checkpoint_every`` it was started with unless given.
    overwrite : bool, default=False
        Replace a run already in ``out_dir`` (its results and checkpoints are deleted).
        Without it, a fresh run refuses a folder holding a run.
    run_info : dict, optional
        More to record in ``out_dir/run.json`` (``wann run`` records its command line).

    Raises
    ------
    RunFolderError
        For an output folder that holds a run (without ``overwrite``), another run's folder
        for a resumed run, or a folder that cannot be written; raised before anything runs.
    CheckpointError
        For an unusable checkpoint or a changed config; raised before anything is written.
    EvaluationError
        When the task fails on genomes (``on_error = fail``); a checkpoint is written first.
    """
    checked = validate_params("run_search", _RUN_SEARCH_KEYS, {
        "generations": generations, "checkpoint_every": checkpoint_every, "seed": seed,
        "champion_episodes": champion_episodes})
    generations, checkpoint_every = checked["generations"], checked["checkpoint_every"]
    seed, champion_episodes = checked["seed"], checked["champion_episodes"]
    if seed is not None:
        config.seed = int(seed)
    checkpoint = None
    state = partial = None
    if resume is not None:
        checkpoint = resume if isinstance(resume, Checkpoint) else find_checkpoint(resume)
        if generations is None:
            generations = checkpoint.generations
        _check_resume(checkpoint, config, int(generations))
        state, partial = checkpoint.state()
        if out_dir is None:
            out_dir = checkpoint.path.parent
    if generations is None:
        generations = getattr(getattr(config, "wann", None), "generations", None) or 100
    generations = int(generations)
    out = Path(out_dir) if out_dir is not None else None
    paths: dict = {}
    if out is not None:
        prepare_run_folder(out, resumed_from=None if checkpoint is None else checkpoint.path.parent,
                           overwrite=bool(overwrite))
        if checkpoint is not None and checkpoint_every is None:
            checkpoint_every = read_run_info(checkpoint.path.parent).get("checkpoint_every")
        paths = {"champion": out / "champion.json", "stats": out / "stats.csv",
                 "config": out / "config.cfg", "curves": out / "curves.png"}
    if evaluator is None:
        evaluator = make_evaluator(config, **({"executor": executor} if executor is not None else {}))
    if out is not None:
        if checkpoint is None or not paths["config"].exists():
            save_config(config, paths["config"])
        write_run_info(out, {**(run_info or {}), "checkpoint_every": checkpoint_every,
                             "champion_episodes": champion_episodes, "generations": generations})
    if state is not None:
        population = restore_population(state, config)
        saved = state.get("progress") or {}
        progress = ProgressReporter(stream, paths.get("stats"), rows=saved.get("rows"),
                                    top=saved.get("top"), total=generations)
        evaluator.restore_partial_results(partial)
        _log(stream, f"resuming from {checkpoint.path} ({checkpoint.reason}): generation "
                     f"{population.generation} of {generations}\n")
    else:
        population = neat.Population(config)
        progress = ProgressReporter(stream, paths.get("stats"), total=generations)
    checkpointer = None
    if out is not None:
        checkpointer = Checkpointer(out, checkpoint_every, config_text=config_text(config),
                                    generations=generations, evaluator=evaluator,
                                    progress=progress)
        checkpointer.attach(population)
    population.add_reporter(evaluator)
    population.add_reporter(progress)
    if checkpointer is not None:
        population.add_reporter(checkpointer)
    for r in reporters or []:
        population.add_reporter(r)
    freezer = _FreezeHeap()
    population.add_reporter(freezer)
    remaining = generations - population.generation
    try:
        if remaining > 0:
            population.run(evaluator, remaining)
    except BaseException as exc:
        freezer.release()
        progress.close()
        if checkpointer is not None:
            interrupted = isinstance(exc, KeyboardInterrupt)
            try:
                path = checkpointer.save("interrupted" if interrupted else "error")
            except Exception as save_exc:  # noqa: BLE001 - the original error matters more
                sys.stderr.write(f"could not write a checkpoint: {save_exc}\n")
            else:
                if path is not None:
                    what = "interrupted" if interrupted else f"stopped by {type(exc).__name__}"
                    sys.stderr.write(f"{what} at generation {population.generation}: checkpoint "
                                     f"written to {path}; continue with: wann run --resume {out}\n")
                    sys.stderr.flush()
        raise
    freezer.release()
    progress.close()
    final_written = False
    if checkpointer is not None and checkpoint_every is not None and remaining > 0 \
            and population.generation == generations:
        try:
            checkpointer.save_now("final")
            final_written = True
        except OSError as exc:  # the search is done: the champion matters more
            sys.stderr.write(f"could not write the final checkpoint ({exc.strerror or exc}); "
                             "choosing and saving the champion anyway\n")
    if population.best_genome is None:
        raise ValueError("no generation was evaluated: nothing to choose a champion from")
    candidates = [population.best_genome, *progress.top]
    n_candidates = len({g.key for g in candidates if g is not None})
    _log(stream, f"choosing the champion: {n_candidates} candidates, each on "
                 f"{champion_episodes} fresh episodes per shared weight\n")
    try:
        champion, net, summary = select_champion(candidates, config, evaluator,
                                                 n_episodes=champion_episodes)
    except KeyboardInterrupt:
        if checkpointer is not None and not final_written and remaining > 0 \
                and population.generation == generations:
            try:  # the search is done; only the champion is not
                path = checkpointer.save_now("final")
            except OSError as exc:
                sys.stderr.write(f"could not write a checkpoint ({exc.strerror or exc})\n")
            else:
                sys.stderr.write(f"interrupted while choosing the champion: checkpoint written "
                                 f"to {path}; continue with: wann run --resume {out}\n")
        raise
    if out is not None:
        save_network(
            paths["champion"], net, genome=champion,
            meta={
                "task": config.wann.task_name,
                "task_options": config.wann.task_options,
                "weights": list(evaluator.weights),
                "summary": summary,
                "champion_episodes": champion_episodes,
                "generations": generations,
                "seed": config.seed,
                "fitness": champion.fitness,
            },
        )
    if out is not None and progress.rows:  # after the champion: it matters more
        try:
            write_curves(progress.rows, paths["curves"])
        except OSError as exc:
            sys.stderr.write(f"could not write {paths['curves']} ({exc.strerror or exc})\n")
    if stream is not None:
        per_w = "  ".join(f"{w:+g}: {m:.1f}" for w, m in zip(evaluator.weights,
                                                             summary["per_weight_mean"]))
        stream.write(
            f"champion: genome {champion.key}, {net.n_connections} connections, "
            f"{net.n_hidden} hidden nodes\n"
            f"  score per shared weight over {champion_episodes} episodes: {per_w}\n"
            f"  mean {summary['mean']:.1f}\n"
        )
        for line in metric_lines(summary, evaluator.weights):
            stream.write(f"  {line}\n")
        if out is not None:
            stream.write(f"saved to {paths['champion']} (learning curves: {paths['curves']})\n")
        stream.write(f"done in {_duration(progress.elapsed())}\n")
        stream.flush()
    return SearchResult(champion, net, summary, progress.rows, paths)
