"""Classification throughput: genomes per second on a 1000-image 16x16 MNIST batch.

Each genome is scored at 6 shared weights on the same 1000 images, as one generation of the
reference's mnist256 task does. Three paths side by side, in one run:

* ``fused``: ``ClassifyTask.evaluate`` with ``engine="numba"``: one compiled pass over every
  genome, weight and image, softmax, cross-entropy and accuracy included
  (``wann_plugin/tasks/_classify_kernel.py``);
* ``old``: the path before it: a compiled forward per genome into a (6, 1000, n_outputs)
  array, then numpy's log-softmax and argmax (``ClassifyTask._evaluate_plain`` with the
  numba engine);
* ``numpy``: the plain reference path (``engine="numpy"``).

Times are CPU seconds of this process (one core). The last line times a whole population
(``--generation``, default 960) of initial genomes (5 % of the 257 x 10 possible
connections) as one ``evaluate`` call, as a generation does.

    python benchmarks/bench_classify.py [--nets 20] [--generation 960] [--json]
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
PATHS = ("fused", "old", "numpy")

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


def _run(path: str, tasks: dict, nets: list[WannNetwork], seed: int) -> None:
    if path == "old":
        task = tasks["old"]
        task._evaluate_plain(nets, WEIGHTS, task.batch_indices(seed, 1))
    else:
        tasks[path].evaluate(nets, WEIGHTS, seed=seed)


def measure(path: str, tasks: dict, nets: list[WannNetwork], seed: int = 0) -> float:
    """CPU seconds of one call over ``nets`` (after a warm-up call that compiles): CPU time,
    so that figures taken on a machine shared with other work still count one core's work."""
    _run(path, tasks, nets[:1], seed)
    t0 = time.process_time()
    _run(path, tasks, nets, seed + 1)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", type=int, default=20, help="genomes per size (default 20)")
    ap.add_argument("--generation", type=int, default=960,
                    help="initial genomes timed as one population (default 960; 0: skip)")
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    tasks = {"fused": make_task("mnist", batch_size=1000),
             "old": make_task("mnist", batch_size=1000),
             "numpy": make_task("mnist", batch_size=1000, engine="numpy")}
    rows = {}
    for label, n_hidden, p in SIZES:
        nets = [random_net(n_hidden, p, seed) for seed in range(args.nets)]
        row = {"hidden": n_hidden,
               "mean_connections": float(np.mean([n.n_connections for n in nets]))}
        for path in args.paths:
            row[f"genomes_per_s_{path}"] = len(nets) / measure(path, tasks, nets)
        rows[label] = row
    generation = {}
    if args.generation:
        nets = [random_net(0, 0.05, 1000 + seed) for seed in range(args.generation)]
        for path in args.paths:
            if path != "numpy":
                generation[f"seconds_{path}"] = measure(path, tasks, nets)
    if args.json:
        print(json.dumps({"task": "mnist 16x16", "batch": 1000, "weights": WEIGHTS.tolist(),
                          "results": rows, "generation": {"n_genomes": args.generation,
                                                          **generation}}))
        return 0
    print(f"MNIST 16x16, batch 1000, {len(WEIGHTS)} weights; genomes per second (one core)")
    head = "".join(f"{p:>10s}" for p in args.paths)
    ratio = "fused/old" if {"fused", "old"} <= set(args.paths) else ""
    print(f"{'network':32s} {'conns':>7s}{head}{ratio:>11s}")
    for label, r in rows.items():
        vals = "".join(f"{r[f'genomes_per_s_{p}']:10.1f}" for p in args.paths)
        x = (f"{r['genomes_per_s_fused'] / r['genomes_per_s_old']:10.1f}x" if ratio else "")
        print(f"{label:32s} {r['mean_connections']:7.0f}{vals}{x}")
    if generation:
        parts = ", ".join(f"{k[8:]} {v:.3f} s" for k, v in generation.items())
        print(f"one generation of {args.generation} initial genomes (p=0.05): {parts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
