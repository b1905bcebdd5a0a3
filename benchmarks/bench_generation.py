"""Where a generation's time goes, and one swing-up episode one at a time (issue 13).

Part 1 runs the packaged quick swing-up search (``wann_plugin.load_config()``: population 128,
6 shared weights x 3 episodes) through neat-python's ``Population.run`` and times, for every
generation, the evaluation (``WannEvaluator.__call__``: compile, episodes, write-back), the
reproduction (``WannReproduction.reproduce``: ranking, culling, tournaments, mutation) and the
speciation (``WannSpeciesSet.speciate``); what is left of the generation's wall time is
neat-python's own loop and reporting.

Part 2 times ONE 1000-step swing-up episode of the reference champion ``swing.out`` (29 nodes,
52 connections) at shared weight 1.0, one episode at a time, as the reference code runs its
episodes (it reports about 45 ms per such episode on this kind of machine): with our compiled
engine, our plain numpy path, and neat-python's ``FeedForwardNetwork`` stepping our gymnasium
env.

Usage::

    python benchmarks/bench_generation.py            # table
    python benchmarks/bench_generation.py --json     # one JSON object
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import neat  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_swingup import genome_config, load_champion, neat_genome  # noqa: E402

from wann_plugin import load_config, make_evaluator  # noqa: E402
from wann_plugin.tasks.swingup import CartPoleSwingUpEnv, SwingUpTask  # noqa: E402

REFERENCE_EPISODE_MS = 45.0  # the reference code, one 1000-step episode of a 29-node network


class _Timed:
    """Wrap ``obj.name`` so each call adds its wall seconds to ``sink[-1][label]``."""

    def __init__(self, obj, name: str, label: str, sink: list[dict]):
        self.inner, self.label, self.sink = getattr(obj, name), label, sink
        setattr(obj, name, self)

    def __call__(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.sink[-1][self.label] += time.perf_counter() - t0


class _Generations(neat.reporting.BaseReporter):
    def __init__(self, sink: list[dict]):
        self.sink = sink

    def start_generation(self, generation):
        self.sink.append({"generation": generation, "evaluate_s": 0.0, "reproduce_s": 0.0,
                          "speciate_s": 0.0, "t0": time.perf_counter()})

    def end_generation(self, config, population, species_set):
        row = self.sink[-1]
        row["total_s"] = time.perf_counter() - row.pop("t0")


def generation_parts(generations: int) -> list[dict]:
    config = load_config()
    evaluator = make_evaluator(config)
    population = neat.Population(config)
    population.add_reporter(evaluator)
    rows: list[dict] = []
    population.add_reporter(_Generations(rows))
    evaluator_call = _Timed(evaluator, "__call__", "evaluate_s", rows)
    _Timed(population.reproduction, "reproduce", "reproduce_s", rows)
    _Timed(population.species, "speciate", "speciate_s", rows)
    population.run(evaluator_call, generations)
    for row in rows:
        row["other_s"] = (row["total_s"] - row["evaluate_s"] - row["reproduce_s"]
                          - row["speciate_s"])
    return rows


def one_episode_ms(repeats: int = 5) -> dict:
    net = load_champion("swing.out")
    w = np.array([1.0])
    out = {"network_nodes": int(net.n_nodes), "network_connections": int(net.n_connections)}
    for label, task in (("engine", SwingUpTask()), ("numpy", SwingUpTask(engine="numpy"))):
        task.evaluate([net], w, seed=0)  # compile / warm up
        best = min(_seconds(lambda t=task: t.evaluate([net], w, seed=0)) for _ in range(repeats))
        out[f"{label}_ms"] = 1e3 * best
    cfg = genome_config()
    genome = neat_genome(net, cfg)
    ffn = neat.nn.FeedForwardNetwork.create(genome, SimpleNamespace(genome_config=cfg),
                                            unique_value=1.0)
    env = CartPoleSwingUpEnv()

    def neat_episode():
        obs, _ = env.reset(seed=0)
        for _ in range(1000):
            obs, _, terminated, _, _ = env.step(np.array(ffn.activate(list(obs) + [1.0])))
            if terminated:
                break

    out["neat_python_ms"] = 1e3 * min(_seconds(neat_episode) for _ in range(2))
    out["reference_ms"] = REFERENCE_EPISODE_MS
    out["steps"] = int(SwingUpTask().rollouts([net], w, seed=0).steps[0, 0, 0])
    return out


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--generations", type=int, default=30,
                        help="generations of the timed search (default 30)")
    args = parser.parse_args(argv)
    episode = one_episode_ms()
    rows = generation_parts(args.generations)
    result = {"one_episode": episode, "generations": rows}
    if args.json:
        print(json.dumps(result, indent=1))
        return result
    print(f"one 1000-step episode of swing.out ({episode['network_nodes']} nodes), one at a "
          f"time: engine {episode['engine_ms']:.2f} ms, numpy {episode['numpy_ms']:.1f} ms, "
          f"neat-python {episode['neat_python_ms']:.1f} ms, reference ~{REFERENCE_EPISODE_MS} ms")
    keys = ("evaluate_s", "reproduce_s", "speciate_s", "other_s", "total_s")
    print("gen  " + "  ".join(f"{k[:-2]:>9}" for k in keys))
    for row in rows:
        print(f"{row['generation']:3d}  " + "  ".join(f"{row[k]:9.3f}" for k in keys))
    return result


if __name__ == "__main__":
    main()
