"""The search's classification pass over a real generation: equal nodes merged or not.

A generation's networks descend from a few parents, so most of their computed nodes equal a
node of another network (:class:`~wann_plugin.tasks._classify_kernel.SharedNodes`). Random
networks share nothing, so this benchmark grows real populations: it runs the digits and
MNIST searches of ``benchmarks/bench_search.py`` (population 960; digits with tournament 32
and 5 % initial connections, MNIST with the paper's settings) for ``--generations``
generations, keeps the networks the last generation scored, and times
:func:`~wann_plugin.tasks._classify_kernel.classify_scores` on that generation's batch
(1000 images, 6 weights) both ways in one process, one core, CPU seconds:

* ``merged``: equal nodes computed once (the default);
* ``plain``: every network's own nodes (``merge=False``) in the same pass. This is not the
  pass before the merge, which ran each network over its own tiles kept in the L2 cache and
  was faster than ``plain``; ``bench_search.py`` compares whole generations before and after.

Each time includes packing the networks (and, for ``merged``, merging their nodes). It
prints the node counts, the best of ``--repeats`` timings of each and their ratio, and checks
that both give the same scores bit for bit.

    python benchmarks/bench_classify_merge.py [--tasks digits mnist] [--generations 200]
                                              [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import task_config  # noqa: E402


def last_generation(name: str, generations: int):
    """The task and the networks, weights and seed of generation ``generations - 1`` of the
    benchmark search ``name``."""
    import neat

    from wann_plugin.config import make_evaluator

    config = task_config(name)
    evaluator = make_evaluator(config)
    task = evaluator.task
    seen: dict = {}
    evaluate = type(task).evaluate

    def keep(self, nets, weights, **kwargs):
        seen.update(nets=list(nets), weights=np.asarray(weights), kwargs=kwargs)
        return evaluate(self, nets, weights, **kwargs)

    type(task).evaluate = keep
    try:
        neat.Population(config).run(evaluator, generations)
    finally:
        type(task).evaluate = evaluate
    return task, seen


def run_one(name: str, generations: int, repeats: int) -> dict:
    from wann_plugin.tasks._classify_kernel import (
        PackedClassifiers,
        classify_scores,
        column_batch,
    )

    task, seen = last_generation(name, generations)
    nets, w = seen["nets"], seen["weights"]
    idx = task.batch_indices(seen["kwargs"]["seed"], 1)
    x_t, labels, _ = column_batch(task.X_train, task.y_train, idx)
    out, best = {}, {}
    for label, merge in (("merged", True), ("plain", False)):
        times = []
        for _ in range(repeats + 1):  # the first call compiles
            t = time.process_time()
            packed = PackedClassifiers(nets)
            res = classify_scores(packed, w, x_t, labels, 1, idx.shape[1],
                                  worst=task.worst_score, merge=merge)
            times.append(time.process_time() - t)
        out[label], best[label] = res, min(times[1:])
    same = all(np.array_equal(a, b) for a, b in zip(out["merged"], out["plain"]))
    packed = PackedClassifiers(nets)
    return {"task": name, "generation": generations - 1, "networks": len(nets),
            "computed_nodes": int(len(packed.acts)),
            "distinct_nodes": int(packed.shared.n_nodes),
            "network_outputs": int(len(packed.shared.out_rows)),
            "distinct_outputs": int(len(set(packed.shared.out_rows.tolist()))),
            "merged_seconds": best["merged"], "plain_seconds": best["plain"],
            "speedup": best["plain"] / best["merged"], "same_scores": bool(same)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["digits", "mnist"],
                    choices=["digits", "mnist"])
    ap.add_argument("--generations", type=int, default=200,
                    help="generations of the search before the timed one (default 200)")
    ap.add_argument("--repeats", type=int, default=5, help="timings of each (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    rows = [run_one(name, args.generations, args.repeats) for name in args.tasks]
    if args.json:
        print(json.dumps({"generations": args.generations, "rows": rows}, indent=1))
        return 0
    print(f"{'task':8s} {'gen':>4s} {'nets':>5s} {'nodes':>7s} {'distinct':>8s} "
          f"{'outputs':>8s} {'distinct':>8s} {'merged':>9s} {'plain':>9s} {'ratio':>6s} same")
    for r in rows:
        print(f"{r['task']:8s} {r['generation']:4d} {r['networks']:5d} "
              f"{r['computed_nodes']:7d} {r['distinct_nodes']:8d} {r['network_outputs']:8d} "
              f"{r['distinct_outputs']:8d} {1e3 * r['merged_seconds']:7.1f}ms "
              f"{1e3 * r['plain_seconds']:7.1f}ms {r['speedup']:5.2f}x {r['same_scores']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
