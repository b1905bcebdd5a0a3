"""Tuning on one thread and on N, side by side: ``tune_weights(threads=N)``.

Runs the same short CMA-ES tuning (``wann tune``'s default options, generator seed 0, a fixed
start so that no shared-weight sweep is timed) of a swing-up network and of a classification
network on 1 and on N threads, one after the other in this process, and prints the wall
seconds, the CPU seconds, the speed-up and whether both ended at the same weights (they must).

    python benchmarks/bench_tune_threads.py [--threads 2] [--generations 60] [--json]

Networks: the reference's ``swing.out`` (52 connections, 1000-step episodes, 16 a sample) and
our MNIST champion ``results/mnist/seed-0/champion.json`` (777 connections, 1000-image
batches, 16 a sample), both from the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CASES = {
    "swingup": (REPO.parent / "shared" / "reference" / "wann" / "swing.out", -1.0, 1.0),
    "mnist": (REPO / "results" / "mnist" / "seed-0" / "champion.json", 0.5, 0.1),
}


def run_case(name: str, threads: int, generations: int) -> dict:
    """Time the case's tuning on 1 and on ``threads`` threads."""
    from wann_plugin.io import load_network
    from wann_plugin.tasks import make_task
    from wann_plugin.tuning import tune_weights

    path, start, scale = CASES[name]
    task = make_task(name)
    net = load_network(path, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    # compile the kernels (and, on threads, their thread-safe variants) before timing
    warm = np.full((4, net.n_connections), start)
    tune_weights(task, net, rng=np.random.default_rng(1), start=start, generations=1,
                 n_validation=1, threads=threads)
    task.evaluate_weights(net, warm, seed=0, n_repeats=1)
    runs = {}
    for n in (1, threads):
        t0, c0 = time.perf_counter(), time.process_time()
        r = tune_weights(task, net, rng=np.random.default_rng(0), start=start,
                         generations=generations, options={"sigma": scale}, threads=n)
        runs[n] = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                   "validation": r.validation_score, "weights": r.conn_weights}
    one, many = runs[1], runs[threads]
    return {"case": name, "connections": net.n_connections, "generations": generations,
            "threads": threads, "wall_1": one["wall"], "cpu_1": one["cpu"],
            "wall_n": many["wall"], "cpu_n": many["cpu"],
            "speedup": one["wall"] / max(many["wall"], 1e-12),
            "same_weights": bool(np.array_equal(one["weights"], many["weights"])),
            "validation": one["validation"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--generations", type=int, default=60)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.threads < 2 or args.generations < 1:
        ap.error("--threads must be >= 2 and --generations >= 1")
    rows = [run_case(name, args.threads, args.generations) for name in args.cases]
    if args.json:
        print(json.dumps({"rows": rows}, indent=1))
        return 0
    print(f"{'case':8s} {'conns':>5s} {'gens':>5s} {'1 thread':>16s} {'N threads':>18s} "
          f"{'speed-up':>8s} same")
    for r in rows:
        print(f"{r['case']:8s} {r['connections']:5d} {r['generations']:5d} "
              f"{r['wall_1']:6.1f} s ({r['cpu_1']:5.1f} CPU) "
              f"{r['wall_n']:6.1f} s on {r['threads']} ({r['cpu_n']:5.1f}) "
              f"{r['speedup']:7.2f}x {r['same_weights']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
