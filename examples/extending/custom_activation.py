"""Extending wann_plugin, part 1: a custom activation function.

Registers ``sinc`` (the normalised ``sin(pi x) / (pi x)``) with its derivative, runs a
short swing-up search whose config lists ``sinc`` in ``activation_options``, and checks
that an evolved network using ``sinc`` computes the same outputs through
:meth:`wann_plugin.WannNetwork.activate` and through neat-python's own
``neat.nn.FeedForwardNetwork``.

Run it::

    python examples/extending/custom_activation.py --generations 6

Shown (and explained) in ``docs/extending.rst``; ``tests/test_extending.py`` runs it.
"""

from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neat
import numpy as np

from wann_plugin import (
    ACTIVATIONS,
    Activation,
    WannNetwork,
    load_config,
    make_evaluator,
    register_activation,
)

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "custom_activation.ini"


# [register]
def sinc(x):
    """Normalised sinc, ``sin(pi x) / (pi x)`` with ``sinc(0) = 1``, element-wise."""
    return np.sinc(np.asarray(x, dtype=float))


def d_sinc(x):
    """Derivative of :func:`sinc`: ``(cos(pi x) - sinc(x)) / x``, and ``-pi^2 x / 3``
    near 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    slope = (np.cos(np.pi * safe) - np.sinc(safe)) / safe
    return np.where(small, -(np.pi**2) * x / 3.0, slope)


def sinc_compiled(v):
    """The same function of one float, for the compiled kernels (numba compiles it):
    the operations of ``np.sinc``."""
    y = math.pi * (1e-20 if v == 0.0 else v)
    return math.sin(y) / y


# Register once per process, like a gymnasium environment id: a config file can only
# name activations that are registered before it is loaded. One call gives both forms:
# numpy's for the reference path and gradients, the compiled one for the fast kernels.
if "sinc" not in ACTIVATIONS:
    register_activation("sinc", sinc, derivative=d_sinc, compiled=sinc_compiled)
SINC: Activation = ACTIVATIONS["sinc"]
# [/register]


# [compare]
def neat_inputs(x: np.ndarray, genome_config) -> list[float]:
    """One input row in neat-python's order: ``input_keys`` with 1.0 at ``bias_key``."""
    keys = [k for k in genome_config.input_keys if k != genome_config.bias_key]
    by_key = dict(zip(keys, x))
    by_key[genome_config.bias_key] = 1.0
    return [float(by_key[k]) for k in genome_config.input_keys]


def compare_forward_passes(genome, config: neat.Config, weights: np.ndarray,
                           x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs of ``genome`` for every shared weight and input row, computed twice.

    Returns
    -------
    ours, neats : ndarray of shape (n_weights, n_samples, n_outputs)
        :meth:`WannNetwork.activate` (every weight in one call) and neat-python's
        ``FeedForwardNetwork`` (one network per weight, one call per row).
    """
    net = WannNetwork.from_genome(genome, config.genome_config)
    ours = net.activate(x[None, :, :], weight=weights[:, None])
    neats = np.empty_like(ours)
    for i, w in enumerate(weights):
        weighted = copy.deepcopy(genome)  # neat-python reads the weight from each gene
        for gene in weighted.connections.values():
            gene.weight = float(w)
        ffn = neat.nn.FeedForwardNetwork.create(weighted, config)
        for j, row in enumerate(x):
            neats[i, j] = ffn.activate(neat_inputs(row, config.genome_config))
    return ours, neats


def uses_sinc(genome, genome_config) -> bool:
    """True if a node that reaches an output applies ``sinc``."""
    net = WannNetwork.from_genome(genome, genome_config)
    return bool(np.any(net.activations[net.required_nodes()] == SINC.id))
# [/compare]


@dataclass
class Result:
    """What :func:`main` found.

    Attributes
    ----------
    best_fitness : list of float
        Best mean score over the shared weights, per generation.
    n_with_sinc : int
        Genomes of the final population with ``sinc`` on a node that reaches an output.
    pop_size : int
    checked_genome : WannGenome or None
        The genome whose two forward passes were compared.
    max_abs_difference : float
        Largest ``|ours - neat's|`` over weights, inputs and outputs (nan if none
        checked).
    config : neat.Config
        The run's config.
    """

    best_fitness: list
    n_with_sinc: int
    pop_size: int
    checked_genome: Any
    max_abs_difference: float
    config: neat.Config


class _BestPerGeneration(neat.reporting.BaseReporter):
    def __init__(self):
        self.best: list[float] = []

    def post_evaluate(self, config, population, species, best_genome):
        self.best.append(float(best_genome.fitness))


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--pop-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    # [run]
    config = load_config(args.config)  # "sinc" is registered: the file may name it
    if args.pop_size is not None:
        config.pop_size = args.pop_size
    if args.seed is not None:
        config.seed = args.seed
    evaluator = make_evaluator(config)  # task, weights: [WannTask], [WannEvaluation]
    population = neat.Population(config)
    population.add_reporter(evaluator)  # keeps the generation number (and seeds) right
    best = _BestPerGeneration()
    population.add_reporter(best)
    population.run(evaluator, args.generations or config.wann.generations)
    # [/run]

    # [check]
    genomes = sorted(population.population.values(), key=lambda g: g.key)
    with_sinc = [g for g in genomes if uses_sinc(g, config.genome_config)]
    diff, checked = float("nan"), None
    if with_sinc:
        genome = max(with_sinc, key=lambda g: (len(g.nodes), g.key))  # the largest one
        n_inputs = config.genome_config.num_inputs
        x = np.random.default_rng(0).uniform(-2.0, 2.0, size=(8, n_inputs))
        weights = np.asarray(config.wann.weights)
        ours, neats = compare_forward_passes(genome, config, weights, x)
        diff, checked = float(np.max(np.abs(ours - neats))), genome
    # [/check]

    if not args.quiet:
        print("best mean score per generation:",
              " ".join(f"{b:.1f}" for b in best.best))
        print(f"{len(with_sinc)} of {len(genomes)} genomes use sinc on a node that "
              "reaches an output")
        if checked is not None:
            print(f"genome {checked.key}: WannNetwork.activate and neat's "
                  f"FeedForwardNetwork differ by at most {diff:.2e}")
    return Result(best.best, len(with_sinc), len(genomes), checked, diff, config)


if __name__ == "__main__":
    main()
