"""``wann evaluate``: score a network on a task over shared weights (or its tuned
weights)."""

from __future__ import annotations

import json
from pathlib import Path

from wann_plugin.cli._common import (
    add_network_argument,
    add_seed_argument,
    add_task_arguments,
    add_weights_argument,
    flag_type,
    task_and_network,
)
from wann_plugin.validation import Key

__all__ = ["add_parser"]


def _cmd_evaluate(args) -> int:
    from wann_plugin.io import load_tuned_zoo

    task, loaded, task_name, _ = task_and_network(args)
    net = loaded.net
    conn_weights = loaded.conn_weights
    if args.tuned is not None:
        conn_weights = load_tuned_zoo(args.tuned, net, args.weight_bias)
    weights = args.weights
    if conn_weights is not None:
        summary = task.summary(net, weights, seed=args.seed, n_episodes=args.episodes,
                               conn_weights=conn_weights)
    else:
        summary = task.summary(net, weights, seed=args.seed, n_episodes=args.episodes)
    result = {"task": task_name, "episodes": args.episodes, "weights": [float(w) for w in weights],
              **summary}
    if conn_weights is not None:
        result["tuned"] = True
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{Path(args.network).name} on {task_name}: {net.n_connections} connections, "
          f"{net.n_hidden} hidden nodes, {args.episodes} episodes from seed {args.seed}")
    if conn_weights is not None:
        print(f"  tuned weights: mean {result['mean']:.2f} +/- {result['std']:.2f}")
    else:
        for i, w in enumerate(weights):
            mean, std = result["per_weight_mean"][i], result["per_weight_std"][i]
            line = f"  weight {w:+6.2f}: {mean:10.2f} +/- {std:.2f}"
            if "per_weight_accuracy" in result:
                line += f"   accuracy {result['per_weight_accuracy'][i]:.4f}"
            print(line)
        print(f"  mean over weights: {result['mean']:.2f}")
        if "ensemble_accuracy" in result:
            print(f"  ensemble accuracy: {result['ensemble_accuracy']:.4f}")
    return 0


def add_parser(sub):
    """Add ``wann evaluate`` to the ``wann`` subparsers."""
    p = sub.add_parser("evaluate", help="score a network (.out or our JSON) on a task")
    add_network_argument(p)
    add_task_arguments(p, required=False,
                       default_note=" (default: the task the network file records)")
    add_weights_argument(p)
    p.add_argument("--episodes", type=flag_type(Key("--episodes", int, 100, low=1)), default=100,
                   help="episodes per weight (default 100)")
    add_seed_argument(p, 0, "episode r uses seed SEED + r (default 0)")
    p.add_argument("--tuned", default=None, metavar="ZOO.json",
                   help="reference tuned weights ([[params], score]) for this network")
    p.add_argument("--weight-bias", type=flag_type(Key("--weight-bias", float, 0.0)), default=0.0,
                   help="added to each --tuned parameter (swing-up -1.5, biped -1.87)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_evaluate)
    return p
