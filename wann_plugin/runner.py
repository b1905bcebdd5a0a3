"""Running a whole search: neat-python's ``Population`` loop with our classes, progress,
statistics, and the champion written to disk.

``wann run`` is a thin shell over :func:`run_search`.
"""

from __future__ import annotations

import copy
import csv
import io as _io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import neat
import numpy as np
from neat.reporting import BaseReporter

from wann_plugin.config import make_evaluator, save_config
from wann_plugin.evaluation import WannEvaluator
from wann_plugin.io import atomic_write_text, save_network
from wann_plugin.network import WannNetwork

__all__ = ["ProgressReporter", "SearchResult", "run_search", "select_champion"]

STATS_FIELDS = ("generation", "best_mean", "best_max", "mean_fitness", "median_connections",
                "best_connections", "seconds")


class ProgressReporter(BaseReporter):
    """One line per generation and a ``stats.csv`` rewritten (atomically) every generation.

    It also keeps copies of the top genomes of the last evaluated generation, which
    :func:`run_search` re-evaluates to pick the champion.
    """

    def __init__(self, stream: TextIO | None = sys.stdout, stats_path: Path | None = None,
                 keep_top: int = 5):
        self.stream = stream
        self.stats_path = stats_path
        self.keep_top = keep_top
        self.rows: list[dict] = []
        self.top: list = []
        self._generation = 0
        self._start = time.perf_counter()

    def start_generation(self, generation: int) -> None:
        self._generation = generation
        self._start = time.perf_counter()

    def post_evaluate(self, config, population, species, best_genome) -> None:
        genomes = list(population.values())
        ranked = sorted(genomes, key=lambda g: (-g.fitness, g.key))
        self.top = [copy.deepcopy(g) for g in ranked[: self.keep_top]]
        best_max = max(g.objectives.max for g in genomes)
        conns = [g.objectives.n_connections for g in genomes]
        row = {
            "generation": self._generation,
            "best_mean": ranked[0].fitness,
            "best_max": best_max,
            "mean_fitness": float(np.mean([g.fitness for g in genomes])),
            "median_connections": float(np.median(conns)),
            "best_connections": ranked[0].objectives.n_connections,
            "seconds": time.perf_counter() - self._start,
        }
        self.rows.append(row)
        if self.stream is not None:
            self.stream.write(
                f"gen {row['generation']:4d}  best mean {row['best_mean']:9.2f}  "
                f"best max {row['best_max']:9.2f}  median conns {row['median_connections']:6.1f}"
                f"  {row['seconds']:6.2f} s\n"
            )
            self.stream.flush()
        if self.stats_path is not None:
            self.write_stats(self.stats_path)

    def write_stats(self, path: Path) -> None:
        buf = _io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=STATS_FIELDS)
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        atomic_write_text(path, buf.getvalue())


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


def run_search(
    config: neat.Config,
    generations: int,
    *,
    out_dir: str | Path | None = None,
    seed: int | None = None,
    evaluator: WannEvaluator | None = None,
    stream: TextIO | None = sys.stdout,
    champion_episodes: int = 16,
    reporters: list | None = None,
) -> SearchResult:
    """Run a WANN search with neat-python's ``Population`` and save what it found.

    Parameters
    ----------
    config : neat.Config
        From :func:`~wann_plugin.load_config` (fresh: neat-python keeps run state on it).
    generations : int
        Generations to run.
    out_dir : path-like, optional
        Where ``champion.json``, ``stats.csv`` and ``config.cfg`` go.
    seed : int, optional
        Overrides ``[NEAT] seed``.
    evaluator : WannEvaluator, optional
        Default: built from the config (:func:`~wann_plugin.make_evaluator`).
    stream : file, optional
        Progress lines go here (``None`` for silence).
    champion_episodes : int, default=16
        Test episodes per weight when choosing the champion.
    """
    if int(generations) != generations or generations < 1:
        raise ValueError(f"generations == {generations!r}, must be an int >= 1")
    if seed is not None:
        config.seed = int(seed)
    out = Path(out_dir) if out_dir is not None else None
    paths: dict = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"champion": out / "champion.json", "stats": out / "stats.csv",
                 "config": out / "config.cfg"}
        save_config(config, paths["config"])
    evaluator = evaluator or make_evaluator(config)
    population = neat.Population(config)
    progress = ProgressReporter(stream, paths.get("stats"))
    population.add_reporter(evaluator)
    population.add_reporter(progress)
    for r in reporters or []:
        population.add_reporter(r)
    population.run(evaluator, int(generations))
    candidates = [population.best_genome, *progress.top]
    champion, net, summary = select_champion(candidates, config, evaluator,
                                             n_episodes=champion_episodes)
    if out is not None:
        save_network(
            paths["champion"], net, genome=champion,
            meta={
                "task": config.wann.task_name,
                "task_options": config.wann.task_options,
                "weights": list(evaluator.weights),
                "summary": summary,
                "champion_episodes": champion_episodes,
                "generations": int(generations),
                "seed": config.seed,
                "fitness": champion.fitness,
            },
        )
    if stream is not None:
        per_w = "  ".join(f"{w:+g}: {m:.1f}" for w, m in zip(evaluator.weights,
                                                             summary["per_weight_mean"]))
        stream.write(
            f"champion: genome {champion.key}, {net.n_connections} connections, "
            f"{net.n_hidden} hidden nodes\n"
            f"  score per shared weight over {champion_episodes} episodes: {per_w}\n"
            f"  mean {summary['mean']:.1f}\n"
        )
        if out is not None:
            stream.write(f"saved to {paths['champion']}\n")
        stream.flush()
    return SearchResult(champion, net, summary, progress.rows, paths)
