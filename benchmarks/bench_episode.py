"""One swing-up episode, one at a time, against neat-python and the reference (issue 13).

Times ONE 1000-step swing-up episode of the reference champion ``swing.out`` (29 nodes, 52
connections) at shared weight 1.0, one episode per call, as the reference code runs its
episodes (it reports about 45 ms per such episode on this kind of machine): with our compiled
engine, our plain numpy path, and neat-python's ``FeedForwardNetwork`` stepping our gymnasium
env. Best of 5 (neat-python: of 2), wall clock, one thread. Whole generations, split into
their parts, are ``bench_search.py``'s.

Usage::

    python benchmarks/bench_episode.py            # one line
    python benchmarks/bench_episode.py --json     # one JSON object
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

from wann_plugin.tasks.swingup import CartPoleSwingUpEnv, SwingUpTask  # noqa: E402

REFERENCE_EPISODE_MS = 45.0  # the reference code, one 1000-step episode of a 29-node network


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
    args = parser.parse_args(argv)
    result = one_episode_ms()
    if args.json:
        print(json.dumps(result, indent=1))
        return result
    print(f"one 1000-step episode of swing.out ({result['network_nodes']} nodes), one at a "
          f"time: engine {result['engine_ms']:.2f} ms, numpy {result['numpy_ms']:.1f} ms, "
          f"neat-python {result['neat_python_ms']:.1f} ms, "
          f"reference ~{REFERENCE_EPISODE_MS:.0f} ms")
    return result


if __name__ == "__main__":
    main()
