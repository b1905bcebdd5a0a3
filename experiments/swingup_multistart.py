"""Random starts tuned on short swing-up episodes, the fastest swing-up tuned on full ones.

Usage (from the repository root)::

    python experiments/swingup_multistart.py ../shared/reference/wann/swing.out \\
        --out results/swingup/swing-out/multistart.json

``--starts`` weight vectors are drawn from ``normal(--center, --spread)`` (generator
``--draw-seed``); start ``i`` is tuned by CMA-ES (step 0.3, weight decay 1, 200 generations,
128 validation episodes, generator seed ``i``) on episodes cut to ``--steps`` steps, where the
return measures how fast the pole comes up. The start that validated best there is tuned on
full 1000-step episodes (CMA-ES, step 0.2, weight decay 1, 600 generations, 256 validation
episodes, generator seed 0). With ``--keep K`` the ``K`` best short starts race instead: each
is tuned on full episodes for ``--race-gens`` generations (the same settings), and the one
that validated best there goes on, from its best weights with step 0.1, for the rest of the
600. Prints and writes one JSON document: every start's short
validation, the chosen start, and the result's test score over episodes 0..99, its score
over 1000 fresh episodes (seeds ``7 * 10**6 + r``), its return over the first 150 steps of
the test episodes, and the time taken.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from emit import emit

from wann_plugin.io import load_network
from wann_plugin.tasks.swingup.task import SwingUpTask
from wann_plugin.tuning import tune_weights

FRESH_SEED = 7 * 10**6


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("network")
    p.add_argument("--starts", type=int, default=40)
    p.add_argument("--center", type=float, default=-1.5)
    p.add_argument("--spread", type=float, default=1.6)
    p.add_argument("--draw-seed", type=int, default=123)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--short-gens", type=int, default=200)
    p.add_argument("--full-gens", type=int, default=600)
    p.add_argument("--keep", type=int, default=1)
    p.add_argument("--race-gens", type=int, default=150)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    full = SwingUpTask()
    net = load_network(a.network, n_inputs=full.n_inputs, n_outputs=full.n_outputs).net
    short = SwingUpTask(max_steps=a.steps)
    t0, c0 = time.perf_counter(), time.process_time()
    draws = np.random.default_rng(a.draw_seed)
    found = []
    for i in range(a.starts):
        start = draws.normal(a.center, a.spread, size=net.n_connections)
        r = tune_weights(short, net, rng=np.random.default_rng(i), start=start,
                         generations=a.short_gens, n_validation=128,
                         options={"sigma": 0.3, "weight_decay": 1.0})
        found.append((r.validation_score, i, r.conn_weights))
    full_opts = {"sigma": 0.2, "weight_decay": 1.0}
    order = sorted(range(len(found)), key=lambda i: (-found[i][0], i))[:max(1, a.keep)]
    raced = []
    if len(order) == 1:
        best = order[0]
        r = tune_weights(full, net, rng=np.random.default_rng(0), start=found[best][2],
                         generations=a.full_gens, n_validation=256, options=full_opts)
    else:
        for i in order:
            ri = tune_weights(full, net, rng=np.random.default_rng(0), start=found[i][2],
                              generations=a.race_gens, n_validation=256, options=full_opts)
            raced.append((ri.validation_score, i, ri))
        _, best, r0 = max(raced, key=lambda f: (f[0], -f[1]))
        r = tune_weights(full, net, rng=np.random.default_rng(1), start=r0.conn_weights,
                         generations=a.full_gens - a.race_gens, n_validation=256,
                         options={**full_opts, "sigma": 0.1})
    best_score = found[best][0]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    w = r.conn_weights[None]
    test = np.asarray(full.evaluate_weights(net, w, seed=0, n_repeats=100))[0]
    fresh = np.asarray(full.evaluate_weights(net, w, seed=FRESH_SEED, n_repeats=1000))[0]
    first = np.asarray(SwingUpTask(max_steps=150).evaluate_weights(net, w, seed=0,
                                                                   n_repeats=100))[0]
    doc = {"network": Path(a.network).name, "args": vars(a) | {"out": None},
           "short_validations": [round(f[0], 1) for f in found], "chosen": best,
           "race": [{"start": i, "short": round(found[i][0], 1), "full": round(v, 1)}
                    for v, i, _ in raced],
           "chosen_short_validation": round(best_score, 1),
           "validation": round(r.validation_score, 1),
           "test": round(float(test.mean()), 1), "test_std": round(float(test.std()), 1),
           "fresh1000": round(float(fresh.mean()), 1),
           "fresh1000_std": round(float(fresh.std()), 1),
           "first150": round(float(first.mean()), 1),
           "wall": round(wall, 1), "cpu": round(cpu, 1)}
    return emit(doc, a.out)


if __name__ == "__main__":
    main()
