"""Score a reference champion with the reference's own tuned weights over test episodes.

Usage::

    python experiments/reference_tuned_weights.py swing.out cartpole_swingup.wann.json \
        --task swingup --weight-bias -1.5 --episodes 100 --out results/swingup/swing-out

Writes ``OUT/reference-weights.json``: mean and standard deviation over episodes
``0 .. episodes-1`` and the time taken (the paper's "tuned weights" row is 932 +- 6 for
swing-up, 332 +- 1 for BipedalWalker).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from wann_plugin.io import load_network, load_tuned_zoo
from wann_plugin.tasks import make_task

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "wann"


def reference_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every reference-champion script takes (network, zoo, task, bias, out)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("network", help="file name under the reference folder, or a path")
    p.add_argument("zoo", help="zoo/*.wann.json file name, or a path")
    p.add_argument("--task", required=True)
    p.add_argument("--weight-bias", type=float, required=True)
    p.add_argument("--episodes", type=int, default=100, help="test episodes (seeds 0..N-1)")
    p.add_argument("--out", required=True)
    return p


def load_reference(args: argparse.Namespace):
    """``(task, net, weights, net_path, zoo_path)``: the champion and its tuned weights."""
    net_path = Path(args.network) if Path(args.network).exists() else REFERENCE / args.network
    zoo_path = Path(args.zoo) if Path(args.zoo).exists() else REFERENCE / "zoo" / args.zoo
    task = make_task(args.task)
    net = load_network(net_path, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    return task, net, load_tuned_zoo(zoo_path, net, args.weight_bias), net_path, zoo_path


def main(argv: list[str] | None = None) -> dict:
    args = reference_parser(__doc__.split("\n")[0]).parse_args(argv)
    task, net, weights, net_path, zoo_path = load_reference(args)
    t0 = time.perf_counter()
    scores = np.asarray(task.evaluate_weights(net, weights[None], seed=0,
                                              n_repeats=args.episodes))[0]
    doc = {"network": net_path.name, "zoo": zoo_path.name, "task": task.name,
           "weight_bias": args.weight_bias, "episodes": args.episodes,
           "mean": float(scores.mean()), "std": float(scores.std()),
           "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference-weights.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc))
    return doc


if __name__ == "__main__":
    main()
