"""Is the reference's faster swing-up a matter of its few large weights?

Usage::

    python experiments/swingup_reference_offsets.py swing.out cartpole_swingup.wann.json \
        --task swingup --weight-bias -1.5 --k 1 3 8 --generations 600 \
        --out results/swingup/swing-out

The reference's tuned weights of ``swing.out`` sit close to their bias of -1.5 (RMS offset
1.6) except for a few (offsets up to 7.1). For each ``K`` this scores, on test episodes
``0 .. episodes-1``:

- the reference's weights with their ``K`` largest offsets set back to the bias (does the
  solution need those weights?);
- CMA-ES (``wann tune``'s default options, generator seed ``--seed``, ``--generations``
  generations) started from the bias everywhere except those ``K`` weights, which start at
  the reference's values (do they lead the tuner to the reference's basin?), with its score
  on 1000 fresh episodes and the return over the first 150 steps (how fast the pole comes
  up: the reference's weights score 82.4 there, our default's 65.2).

Writes ``OUT/reference-offsets.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from emit import emit
from reference_tuned_weights import load_reference, reference_parser

from wann_plugin.tasks.swingup.task import SwingUpTask
from wann_plugin.tuning import tune_weights

FRESH_SEED = 7 * 10**6


def main(argv: list[str] | None = None) -> dict:
    p = reference_parser(__doc__.split("\n")[0])
    p.add_argument("--k", type=int, nargs="+", default=[1, 3, 8])
    p.add_argument("--generations", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    task, net, ref, net_path, zoo_path = load_reference(args)
    early = SwingUpTask(max_steps=150)

    def score(w, seed=0, n=None, on=task):
        n = args.episodes if n is None else n
        return float(np.asarray(on.evaluate_weights(net, np.asarray(w)[None], seed=seed,
                                                    n_repeats=n))[0].mean())

    bias = args.weight_bias
    order = np.argsort(-np.abs(ref - bias), kind="stable")
    rows = []
    for k in args.k:
        largest = order[:k]
        without = ref.copy()
        without[largest] = bias
        start = np.full(net.n_connections, bias)
        start[largest] = ref[largest]
        t0 = time.perf_counter()
        r = tune_weights(task, net, rng=np.random.default_rng(args.seed), start=start,
                         generations=args.generations)
        w = r.conn_weights
        rows.append({
            "k": k, "connections": [list(net.conn_keys[i]) for i in largest.tolist()],
            "reference_values": [round(float(ref[i]), 2) for i in largest.tolist()],
            "reference_without_them": round(score(without), 1),
            "start_score": round(score(start), 1),
            "tuned": {"validation": round(r.validation_score, 1), "test": round(score(w), 1),
                      "fresh1000": round(score(w, FRESH_SEED, 1000), 1),
                      "first150": round(score(w, on=early), 1),
                      "episodes": int(r.n_episodes),
                      "seconds": round(time.perf_counter() - t0, 1)},
        })
        print(json.dumps(rows[-1]), flush=True)
    doc = {"network": net_path.name, "zoo": zoo_path.name, "weight_bias": bias,
           "episodes": args.episodes, "generations": args.generations, "seed": args.seed,
           "reference": {"test": round(score(ref), 1), "first150": round(score(ref, on=early), 1)},
           "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return emit(doc, out / "reference-offsets.json")


if __name__ == "__main__":
    main()
