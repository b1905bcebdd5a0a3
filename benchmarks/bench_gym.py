"""The network's share of a BipedalWalker step.

All episodes of one network (6 shared weights x repetitions) run as one vector-env batch with
one batched network forward per step. This prints, per network and forward engine, the
forward time and the env step time per batch step, and their ratio (the network's cost as a
share of the env's).

    python benchmarks/bench_gym.py [--steps 400] [--repeats 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import BipedTask

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
CHAMPION = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "wann" / "biped.out"


def random_net(n_in: int, n_out: int, n_hidden: int, p: float, seed: int) -> WannNetwork:
    """Bias, inputs, ``n_hidden`` hidden nodes (random WANN activations), outputs; each
    feed-forward pair connected with probability ``p``."""
    rng = np.random.default_rng(seed)
    n_fixed = 1 + n_in
    n_nodes = n_fixed + n_hidden + n_out
    acts = [1] * n_fixed + list(rng.integers(1, 11, size=n_hidden)) + [1] * n_out
    edges = [(s, d) for d in range(n_fixed, n_nodes) for s in range(min(d, n_nodes - n_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, acts, edges)


def networks() -> dict[str, WannNetwork]:
    nets = {
        "minimal (24->4, all 100 links)": random_net(24, 4, 0, 1.0, 0),
        "random, 20 hidden": random_net(24, 4, 20, 0.15, 1),
    }
    if CHAMPION.is_file():
        M = np.loadtxt(CHAMPION, delimiter=",")
        nets["biped.out champion"] = WannNetwork.from_matrix(M[:, :-1], M[:, -1], 24, 4)
    return nets


def measure(net: WannNetwork, engine: str, steps: int, repeats: int) -> dict:
    task = BipedTask(fall_penalty=False, max_steps=steps, engine=engine)
    task.evaluate([net], WEIGHTS, seed=0, n_repeats=1)  # warm-up (compile, env creation)
    t0 = time.perf_counter()
    task.evaluate([net], WEIGHTS, seed=1, n_repeats=repeats)
    wall = time.perf_counter() - t0
    t = task.last_timings
    n = max(1.0, t["steps"])
    return {
        "nodes": net.n_nodes, "connections": net.n_connections, "engine": engine,
        "episodes": int(t["n_envs"]), "batch_steps": int(t["steps"]),
        "forward_ms_per_step": 1e3 * t["forward_s"] / n,
        "env_ms_per_step": 1e3 * t["env_s"] / n,
        "encode_ms_per_step": 1e3 * t["encode_s"] / n,
        "network_share_of_env": t["forward_s"] / t["env_s"],
        "wall_s": wall,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400, help="episode length (default 400)")
    ap.add_argument("--repeats", type=int, default=4, help="repetitions per weight (default 4)")
    ap.add_argument("--engines", nargs="+", default=["numba", "numpy"])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    rows = {f"{name} [{engine}]": measure(net, engine, args.steps, args.repeats)
            for name, net in networks().items() for engine in args.engines}
    if args.json:
        print(json.dumps({"env": "BipedalWalker-v3", "weights": WEIGHTS.tolist(),
                          "repeats": args.repeats, "results": rows}))
        return 0
    print(f"BipedalWalker-v3: {len(WEIGHTS)} weights x {args.repeats} repetitions = "
          f"{len(WEIGHTS) * args.repeats} episodes per batch, up to {args.steps} steps")
    print(f"{'network':44s} {'nodes':>5s} {'conns':>5s} {'forward ms':>10s} {'env ms':>8s} "
          f"{'net/env':>8s}")
    for name, r in rows.items():
        print(f"{name:44s} {r['nodes']:5d} {r['connections']:5d} "
              f"{r['forward_ms_per_step']:10.3f} {r['env_ms_per_step']:8.2f} "
              f"{100 * r['network_share_of_env']:7.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
