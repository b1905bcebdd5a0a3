"""Tuning a classification network: its samples scored on the fused pass against the old path.

Tuning (CMA-ES, PEPG, the safe-mutation GA) scores a generation's weight vectors with
``ClassifyTask.evaluate_weights``: ``samples`` vectors on ``batches`` batches of 1000 images
(``wann tune``'s defaults: 64 on 16), and now and then one vector on 64 validation batches.
Two paths side by side, in one process, one core:

* ``fused``: ``evaluate_weights`` with ``engine="numba"``: one compiled pass over (weight
  vectors x images), the log-softmax and cross-entropy on SIMD lanes
  (``classify_scores_conn`` in ``wann_plugin/tasks/_classify_kernel.py``);
* ``old``: the path before it, still taken by networks with custom activations: the generic
  compiled forward (``BatchedForward``) into an ``(n_vectors, n_images, n_outputs)`` array,
  then numpy's log-softmax (``ClassifyTask._evaluate_weights_forward``).

For each network it prints the CPU seconds of one generation's scoring and of one validation
on each path, their ratio, the largest difference of the scores, and a whole short tuning
(``--generations`` CMA-ES generations of ``tune_weights`` from the best weight's start, the
same generator seed) on each path, which must end at the same validation score.

    python benchmarks/bench_classify_conn.py [--generations 10] [--json]

Networks: our MNIST champion ``results/mnist/seed-0/champion.json`` (777 connections, 256
inputs) and our digits champion ``results/digits/seed-0/champion.json`` (64 inputs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: name -> (task, champion, start weight, CMA-ES step)
CASES = {
    "mnist": ("mnist", REPO / "results" / "mnist" / "seed-0" / "champion.json", 0.5, 0.1),
    "digits": ("digits", REPO / "results" / "digits" / "seed-0" / "champion.json", 0.5, 0.1),
}


def _old_path(task):
    """``task.evaluate_weights`` through the old path (the generic forward and numpy)."""
    def evaluate_weights(net, conn_weights, *, seed, n_repeats=1):
        cw = task.check_conn_weights(net, conn_weights)
        return task._evaluate_weights_forward(net, cw, task.batch_indices(seed, n_repeats))
    return evaluate_weights


def _cpu(fn, *args, **kwargs):
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return time.process_time() - t0, out


def run_case(name: str, generations: int, samples: int, batches: int) -> dict:
    from wann_plugin.io import load_network
    from wann_plugin.tasks import make_task
    from wann_plugin.tuning import tune_weights

    task_name, path, start, sigma = CASES[name]
    fused = make_task(task_name)
    old = make_task(task_name)
    old.evaluate_weights = _old_path(old)
    net = load_network(path, n_inputs=fused.n_inputs, n_outputs=fused.n_outputs).net
    cw = start + sigma * np.random.default_rng(0).standard_normal((samples, net.n_connections))
    for task in (fused, old):  # compile the kernels before timing
        task.evaluate_weights(net, cw[:2], seed=0, n_repeats=1)
    row = {"case": name, "connections": net.n_connections, "nodes": net.n_nodes,
           "samples": samples, "batches": batches}
    gen = {}
    val = {}
    for label, task in (("fused", fused), ("old", old)):
        gen[label] = _cpu(task.evaluate_weights, net, cw, seed=11, n_repeats=batches)
        val[label] = _cpu(task.evaluate_weights, net, cw[:1], seed=12, n_repeats=64)
    row["generation_s"] = {k: v[0] for k, v in gen.items()}
    row["validation_s"] = {k: v[0] for k, v in val.items()}
    row["generation_ratio"] = gen["old"][0] / max(gen["fused"][0], 1e-12)
    row["validation_ratio"] = val["old"][0] / max(val["fused"][0], 1e-12)
    row["max_score_difference"] = float(max(np.abs(gen["fused"][1] - gen["old"][1]).max(),
                                            np.abs(val["fused"][1] - val["old"][1]).max()))
    tune = {}
    for label, task in (("fused", fused), ("old", old)):
        seconds, r = _cpu(tune_weights, task, net, rng=np.random.default_rng(0), start=start,
                          generations=generations, options={"sigma": sigma})
        tune[label] = {"cpu_s": seconds, "validation": r.validation_score}
    row["tuning"] = {"generations": generations, **tune,
                     "ratio": tune["old"]["cpu_s"] / max(tune["fused"]["cpu_s"], 1e-12)}
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=10,
                    help="CMA-ES generations of the whole tuning on each path (default 10)")
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if min(args.generations, args.samples, args.batches) < 1:
        ap.error("--generations, --samples and --batches must be >= 1")
    rows = [run_case(n, args.generations, args.samples, args.batches) for n in args.cases]
    if args.json:
        print(json.dumps({"rows": rows}, indent=1))
        return 0
    for r in rows:
        g, v, t = r["generation_s"], r["validation_s"], r["tuning"]
        print(f"{r['case']}: {r['connections']} connections, {r['samples']} vectors on "
              f"{r['batches']} batches of 1000 images")
        print(f"  a generation's scoring  fused {g['fused']:7.3f} s  old {g['old']:7.3f} s  "
              f"{r['generation_ratio']:5.2f}x")
        print(f"  a validation (64 batches) fused {v['fused']:5.3f} s  old {v['old']:7.3f} s  "
              f"{r['validation_ratio']:5.2f}x")
        print(f"  {t['generations']} CMA-ES generations  fused {t['fused']['cpu_s']:6.2f} s  "
              f"old {t['old']['cpu_s']:6.2f} s  {t['ratio']:5.2f}x  validation "
              f"{t['fused']['validation']:.6f} / {t['old']['validation']:.6f}")
        print(f"  largest score difference {r['max_score_difference']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
