"""The paper's classification table (Gaier & Ha 2019, MNIST) for one champion, on held-out images.

Usage::

    python experiments/classification_table.py CHAMPION.json --task digits --out DIR

Writes ``DIR/classification.json`` and prints the table. The four rows, all accuracies on the
task's held-out split (never trained on):

random weight
    one shared weight drawn from U(-2, 2), 100 draws: mean +- standard deviation;
ensemble
    the argmax of the softmax averaged over the search's weight series (-2, -1, -0.5, 0.5,
    1, 2);
tuned weight
    the best single shared weight, chosen on training batches
    (:func:`wann_plugin.tuning.best_shared_weight`);
trained weights
    every connection's weight trained by gradient descent from the tuned weight
    (``tune_weights(method="adam")``: cross-entropy, Adam, mini-batches of 128).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wann_plugin.io import load_network
from wann_plugin.tasks import make_task
from wann_plugin.tuning import best_shared_weight, tune_weights

SERIES = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
PAPER = {"random_weight": (82.0, 18.7), "ensemble": (91.6, None), "tuned_weight": (91.9, None),
         "trained_weights": (94.2, None)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("champion")
    p.add_argument("--task", default="digits")
    p.add_argument("--out", required=True)
    p.add_argument("--generations", type=int, default=None,
                   help="gradient-training generations (default: the adam preset's, 300)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    task = make_task(args.task)
    net = load_network(args.champion, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    random_w = rng.uniform(-2.0, 2.0, 100)
    acc_random = np.array(task.accuracy(net, random_w)["per_weight_accuracy"])
    ensemble = task.accuracy(net, np.array(SERIES))["ensemble_accuracy"]
    shared = best_shared_weight(task, net, seed=int(rng.integers(0, 2**31 - 10_000)),
                                n_repeats=4)
    tuned = task.accuracy(net, [shared.weight])["per_weight_accuracy"][0]
    t1 = time.perf_counter()
    res = tune_weights(task, net, method="adam", start=shared.weight,
                       generations=args.generations, rng=rng)
    trained = task.summary(net, [], conn_weights=res.conn_weights)["accuracy"]
    t2 = time.perf_counter()
    doc = {
        "task": task.name, "champion": str(args.champion), "n_connections": net.n_connections,
        "n_hidden": net.n_hidden, "n_train": int(len(task.y_train)),
        "n_test": int(len(task.y_test)),
        "rows": {
            "random_weight": {"mean": 100 * float(acc_random.mean()),
                              "std": 100 * float(acc_random.std())},
            "ensemble": {"mean": 100 * float(ensemble), "std": None},
            "tuned_weight": {"mean": 100 * float(tuned), "std": None,
                             "weight": shared.weight},
            "trained_weights": {"mean": 100 * float(trained), "std": None},
        },
        "paper": {k: {"mean": m, "std": s} for k, (m, s) in PAPER.items()},
        "training": {"method": "adam", "options": res.options,
                     "start_validation": res.start_score,
                     "validation": res.validation_score, "improved": res.improved},
        "seconds": {"conditions": round(t1 - t0, 1), "training": round(t2 - t1, 1)},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "classification.json").write_text(json.dumps(doc, indent=1) + "\n")
    for key, row in doc["rows"].items():
        std = "" if row["std"] is None else f" +- {row['std']:.1f}"
        paper = PAPER[key]
        print(f"{key:16s} {row['mean']:5.1f}{std:8s}  (paper {paper[0]}"
              + ("" if paper[1] is None else f" +- {paper[1]}") + ")")
    return doc


if __name__ == "__main__":
    main()
