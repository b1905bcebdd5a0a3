"""Extending wann_plugin, part 3: a tweak to WannReproduction.

:class:`HiddenBudgetReproduction` adds a hard budget on network size: genomes with more
than ``max_hidden_nodes`` hidden nodes are still evaluated and reported, but never
become parents or elites. WANN's Pareto ranking already prefers fewer connections (a
soft pressure); a hard budget is what you want when the network must fit a fixed size,
e.g. for deployment on a microcontroller or for a size-matched comparison.

The script runs the same short swing-up search twice from ``hidden_budget.ini``, once
with the stock :class:`~wann_plugin.reproduction.WannReproduction` and once with the
subclass, and prints the largest hidden-node count per generation of each.

Run it::

    python examples/extending/hidden_budget.py --generations 12

Shown (and explained) in ``docs/extending.rst``; ``tests/test_extending.py`` runs it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neat
import numpy as np
from neat.reporting import BaseReporter

from wann_plugin import (
    REPRODUCTION_KEYS,
    Key,
    WannReproduction,
    load_config,
    run_search,
)

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "hidden_budget.ini"


# [class]
class HiddenBudgetReproduction(WannReproduction):
    """WannReproduction with a hard budget on hidden nodes; section
    ``[HiddenBudgetReproduction]``.

    Each group is ranked as usual; then the genomes over budget are left out before
    culling, elitism and the tournaments (if every genome is over budget, nothing is
    left out). Every child gets exactly one structural mutation, which adds at most one
    hidden node, so no genome of any generation has more than ``max_hidden_nodes + 1``
    hidden nodes.
    """

    #: WannReproduction's keys plus the budget; unknown keys and bad values still raise.
    config_keys = REPRODUCTION_KEYS + (
        Key("max_hidden_nodes", int, 4, 0,
            doc="genomes with more hidden nodes than this never breed"),
    )

    def breed(self, ranked: Sequence[Any], n_offspring: int, config,
              rng: np.random.Generator) -> dict[int, Any]:
        """Breed from the genomes within budget, in their ranked order."""
        budget = self.reproduction_config.max_hidden_nodes
        gc = config.genome_config
        within = [g for g in ranked if len(g.hidden_keys(gc)) <= budget]
        return super().breed(within or ranked, n_offspring, config, rng)
# [/class]


# [sizes]
class SizeReporter(BaseReporter):
    """Records the largest hidden-node count and the best fitness of each generation."""

    def __init__(self):
        self.max_hidden: list[int] = []
        self.best_fitness: list[float] = []

    def post_evaluate(self, config, population, species, best_genome):
        gc = config.genome_config
        self.max_hidden.append(max(len(g.hidden_keys(gc)) for g in population.values()))
        self.best_fitness.append(float(best_genome.fitness))
# [/sizes]


# [run]
def make_config(reproduction_type: type, path: Path = CONFIG) -> neat.Config:
    """A fresh config for one run with ``reproduction_type``, from the file at ``path``.

    The file holds both reproduction sections, so the class is named explicitly; a file
    with only ``[HiddenBudgetReproduction]`` loads with plain ``load_config(path)`` (and
    with ``wann run --import hidden_budget.py path``), since the section names the
    subclass.
    """
    return load_config(path, reproduction_type=reproduction_type)


def search(config: neat.Config, generations: int, *,
           seed: int | None = None) -> SizeReporter:
    """A short search (``run_search``); the sizes and best scores of each generation."""
    sizes = SizeReporter()
    run_search(config, generations, seed=seed, stream=None, champion_episodes=2,
               reporters=[sizes])
    return sizes
# [/run]


@dataclass
class Result:
    """What :func:`main` found: per-generation figures of both runs.

    Attributes
    ----------
    budget : int
        ``max_hidden_nodes`` of the file.
    stock_max_hidden, budget_max_hidden : list of int
        Largest hidden-node count per generation, with WannReproduction and with
        HiddenBudgetReproduction.
    stock_best, budget_best : list of float
        Best mean score per generation.
    """

    budget: int
    stock_max_hidden: list
    budget_max_hidden: list
    stock_best: list
    budget_best: list


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--generations", type=int, default=12)
    parser.add_argument("--pop-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    runs = {}
    for reproduction_type in (WannReproduction, HiddenBudgetReproduction):
        config = make_config(reproduction_type, args.config)
        if args.pop_size is not None:
            config.pop_size = args.pop_size
        runs[reproduction_type] = search(config, args.generations, seed=args.seed)
    stock, capped = runs[WannReproduction], runs[HiddenBudgetReproduction]
    budget = config.reproduction_config.max_hidden_nodes
    if not args.quiet:
        print("largest hidden-node count per generation")
        stock_sizes = " ".join(f"{n:2d}" for n in stock.max_hidden)
        capped_sizes = " ".join(f"{n:2d}" for n in capped.max_hidden)
        print("  WannReproduction:         ", stock_sizes)
        print("  HiddenBudgetReproduction: ", capped_sizes,
              f"  (max_hidden_nodes = {budget})")
        print(f"best mean score in the last generation: {stock.best_fitness[-1]:.1f} "
              f"(stock), {capped.best_fitness[-1]:.1f} (budget)")
    return Result(budget, stock.max_hidden, capped.max_hidden, stock.best_fitness,
                  capped.best_fitness)


if __name__ == "__main__":
    main()
