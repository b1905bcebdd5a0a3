"""Extending wann_plugin, part 2: a custom task.

Defines :class:`CurveFitTask`, a one-input regression task (fit ``y = f(x)`` from noisy
samples, score = minus the mean squared error), checks it with
:func:`wann_plugin.check_task`, registers it as ``curvefit`` and runs a short search
from ``custom_task.ini``, whose ``[WannTask]`` section names it.

Run it::

    python examples/extending/custom_task.py --generations 20

Shown (and explained) in ``docs/extending.rst``; ``tests/test_extending.py`` runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wann_plugin import (
    TASKS,
    Task,
    TaskError,
    WannNetwork,
    check_task,
    load_config,
    register_task,
    run_search,
)

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "custom_task.ini"


# [task]
#: Target functions by name: the ``target`` option of the task.
TARGETS = {
    "step": lambda x: (x > 0.0).astype(float),
    "abs": np.abs,
    "bump": lambda x: np.exp(-2.0 * x * x),
    "sin": lambda x: np.sin(np.pi * x),
}


class CurveFitTask(Task):
    """Fit ``y = f(x)`` on ``[-x_max, x_max]`` from noisy samples.

    Parameters
    ----------
    target : str, default="step"
        A key of :data:`TARGETS`.
    n_samples : int, default=64
        Samples per repetition.
    noise : float, default=0.05
        Standard deviation of the Gaussian noise added to the targets.
    x_max : float, default=2.0
        Half-width of the input interval.
    clip : float, default=10.0
        Predictions are clipped to ``[-clip, clip]`` before scoring, which bounds the
        score.

    Notes
    -----
    Observation
        One input, ``x``.
    Action
        One output, the prediction ``y_hat``.
    Reward
        ``-mean((clip(y_hat) - y)^2)`` over the samples of one repetition. Repetition
        ``r`` of a call with ``seed`` draws its samples from
        ``numpy.random.default_rng(seed + r)``, so every network and every shared weight
        sees the same samples.
    Episode end
        One batch of samples is one episode.
    Version history
        v0: first version.
    """

    n_inputs = 1
    n_outputs = 1

    def __init__(self, target: str = "step", n_samples: int = 64, noise: float = 0.05,
                 x_max: float = 2.0, clip: float = 10.0, *, name: str = "curvefit"):
        if target not in TARGETS:
            raise TaskError(f"[{name}] target == {target!r}, "
                            f"must be one of {sorted(TARGETS)}")
        if n_samples < 1 or noise < 0.0 or x_max <= 0.0 or clip <= 0.0:
            raise TaskError(f"[{name}] need n_samples >= 1, noise >= 0, x_max > 0, "
                            f"clip > 0; got {n_samples}, {noise}, {x_max}, {clip}")
        self.name = name
        self.target, self.n_samples = target, int(n_samples)
        self.noise, self.x_max, self.clip = float(noise), float(x_max), float(clip)
        # The worst real score: every clipped prediction as far as possible from the
        # target.
        x = np.linspace(-self.x_max, self.x_max, 1001)
        y_reach = float(np.max(np.abs(TARGETS[target](x)))) + 5.0 * self.noise
        self.worst_score = -((self.clip + y_reach) ** 2) - 1.0

    def samples(self, seed: int, n_repeats: int) -> tuple[np.ndarray, np.ndarray]:
        """Inputs and noisy targets of each repetition: two arrays
        ``(n_repeats, n_samples)``."""
        x = np.empty((n_repeats, self.n_samples))
        y = np.empty_like(x)
        for r in range(n_repeats):
            rng = np.random.default_rng(int(seed) + r)
            x[r] = rng.uniform(-self.x_max, self.x_max, self.n_samples)
            noise = self.noise * rng.standard_normal(self.n_samples)
            y[r] = TARGETS[self.target](x[r]) + noise
        return x, y

    def score(self, y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``-MSE`` over the last axis; :attr:`worst_score` where a prediction is not
        finite."""
        finite = np.all(np.isfinite(y_hat), axis=-1)
        err = np.clip(np.nan_to_num(y_hat), -self.clip, self.clip) - y
        return np.where(finite, -np.mean(err * err, axis=-1), self.worst_score)

    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """Scores ``(n_nets, n_weights, n_repeats)``: one forward per network over every
        weight, repetition and sample at once."""
        w = np.asarray(weights, dtype=float)
        x, y = self.samples(seed, n_repeats)
        out = np.empty((len(nets), len(w), n_repeats))
        for k, net in enumerate(nets):
            self.check_network(net)
            # x[..., None]: (n_repeats, n_samples, 1); weights as (n_weights, 1, 1)
            y_hat = net.activate(x[..., None], weight=w[:, None, None])[..., 0]
            out[k] = self.score(y_hat, y)
        return out

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """Scores ``(n_sets, n_repeats)`` under per-connection weights ``(n_sets,
        n_connections)``, for the tuning stage."""
        self.check_network(net)
        cw = np.asarray(conn_weights, dtype=float)
        x, y = self.samples(seed, n_repeats)
        y_hat = net.activate_weights(x[None, :, :, None], cw[:, None, None, :])[..., 0]
        return self.score(y_hat, y)
# [/task]


# [register]
if "curvefit" not in TASKS:
    register_task("curvefit", CurveFitTask)
# [/register]


@dataclass
class Result:
    """What :func:`main` found.

    Attributes
    ----------
    best_fitness : list of float
        Best mean score (``-MSE`` averaged over the shared weights) per generation.
    champion_mean : float
        The champion's mean score on fresh test batches.
    champion_connections : int
    champion_hidden : int
    """

    best_fitness: list
    champion_mean: float
    champion_connections: int
    champion_hidden: int


def main(argv: list[str] | None = None) -> Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--pop-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    # [run]
    check_task(CurveFitTask())         # the contract: shape, finiteness, determinism
    config = load_config(args.config)  # [WannTask] name = curvefit -> CurveFitTask
    if args.pop_size is not None:
        config.pop_size = args.pop_size
    generations = args.generations or config.wann.generations
    result = run_search(config, generations, seed=args.seed,
                        stream=None if args.quiet else sys.stdout, champion_episodes=8)
    # [/run]

    best = [row["best_mean"] for row in result.stats]
    if not args.quiet:
        print(f"best -MSE: {best[0]:.3f} in generation 0, {best[-1]:.3f} in generation "
              f"{len(best) - 1}; champion {result.network}")
    return Result(best, float(result.summary["mean"]), result.network.n_connections,
                  result.network.n_hidden)


if __name__ == "__main__":
    main()
