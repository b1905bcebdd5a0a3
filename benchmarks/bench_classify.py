"""Classification throughput: genomes per second on a 1000-image 16x16 MNIST batch.

Each genome is scored at 6 shared weights on the same 1000 images (one forward over
6 x 1000 rows per network), as one generation of the reference's mnist256 task does.

    python benchmarks/bench_classify.py [--nets 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import make_task

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
CLASSIFY_ACTS = (1, 3, 4, 5, 6, 7, 8, 9, 10)

# (label, hidden nodes, connection probability between feed-forward node pairs)
SIZES = [
    ("initial (p=0.05, no hidden)", 0, 0.05),
    ("dense (p=0.5, no hidden)", 0, 0.5),
    ("50 hidden (p=0.02)", 50, 0.02),
    ("200 hidden (p=0.02)", 200, 0.02),
]


def random_net(n_hidden: int, p: float, seed: int) -> WannNetwork:
    rng = np.random.default_rng(seed)
    n_in, n_out = 256, 10
    n_fixed = 1 + n_in
    n_nodes = n_fixed + n_hidden + n_out
    acts = [1] * n_fixed + list(rng.choice(CLASSIFY_ACTS, size=n_hidden)) + [1] * n_out
    src = np.arange(n_nodes - n_out)
    edges = [(int(s), d) for d in range(n_fixed, n_nodes)
             for s in src[:min(d, n_nodes - n_out)][rng.random(min(d, n_nodes - n_out)) < p]]
    return WannNetwork.from_edges(n_in, n_out, acts, edges)


def measure(task, nets: list[WannNetwork], seed: int = 0) -> float:
    task.evaluate(nets[:1], WEIGHTS, seed=seed)  # warm-up (compile)
    t0 = time.perf_counter()
    task.evaluate(nets, WEIGHTS, seed=seed + 1)
    return len(nets) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=20, help="genomes per size (default 20)")
    ap.add_argument("--engines", nargs="+", default=["numba", "numpy"])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    tasks = {e: make_task("mnist", batch_size=1000, engine=e) for e in args.engines}
    rows = {}
    for label, n_hidden, p in SIZES:
        nets = [random_net(n_hidden, p, seed) for seed in range(args.nets)]
        row = {"hidden": n_hidden,
               "mean_connections": float(np.mean([n.n_connections for n in nets]))}
        for engine, task in tasks.items():
            row[f"genomes_per_s_{engine}"] = measure(task, nets)
        rows[label] = row
    if args.json:
        print(json.dumps({"task": "mnist 16x16", "batch": 1000, "weights": WEIGHTS.tolist(),
                          "results": rows}))
        return 0
    print(f"MNIST 16x16, batch 1000, {len(WEIGHTS)} weights; genomes per second")
    head = "".join(f"{e:>10s}" for e in args.engines)
    print(f"{'network':32s} {'conns':>7s}{head}")
    for label, r in rows.items():
        vals = "".join(f"{r[f'genomes_per_s_{e}']:10.1f}" for e in args.engines)
        print(f"{label:32s} {r['mean_connections']:7.0f}{vals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
