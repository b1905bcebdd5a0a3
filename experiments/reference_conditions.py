"""The paper's four conditions for a reference champion, with the reference's tuned weights.

Usage::

    python experiments/reference_conditions.py biped.out biped.wann.json --task biped \
        --weight-bias -1.87 --shared-repeats 4 --episodes 100 --out results/biped

``wann report --tuned`` does the same with a 32-episode shared-weight sweep (about 1,700
episodes); on tasks whose episodes cost seconds (BipedalWalker: 1,600 Box2D steps) this
script lets the sweep use fewer episodes per weight (``--shared-repeats``). The tuned-weights
condition is the reference's own tuned weights (``zoo/*.wann.json`` with its
``weight_bias``); nothing is tuned here. Writes ``OUT/conditions.json`` (the report, with the
seconds it took).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from reference_tuned_weights import load_reference, reference_parser

from wann_plugin.analysis import four_condition_report


def main(argv: list[str] | None = None) -> dict:
    p = reference_parser(__doc__.split("\n")[0])
    p.add_argument("--shared-repeats", type=int, default=32,
                   help="episodes per weight of the shared-weight sweep (default 32)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    task, net, weights, net_path, zoo_path = load_reference(args)
    t0 = time.perf_counter()
    report = four_condition_report(
        task, net, rng=np.random.default_rng(args.seed), label=net_path.name,
        conn_weights=weights, n_episodes=args.episodes, baseline=False,
        shared_options={"n_repeats": args.shared_repeats})
    doc = {**report.to_dict(), "zoo": zoo_path.name, "weight_bias": args.weight_bias,
           "shared_repeats": args.shared_repeats,
           "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conditions.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: doc[k] for k in ("task", "seconds")}))
    return doc


if __name__ == "__main__":
    main()
