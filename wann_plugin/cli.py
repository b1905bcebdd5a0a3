"""The ``wann`` command: ``run``, ``evaluate``, ``tune``, ``report``.

Each subcommand is a thin shell over the library; the logic lives in the modules it calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "parse_task_options"]


class CliError(Exception):
    """A user error reported as one line on stderr with exit code 2."""


def parse_task_options(items: list[str] | None) -> dict:
    """``["fall_penalty=false", "max_steps=200"]`` -> ``{"fall_penalty": "false", ...}``."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--task-option {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _weights(text: str) -> np.ndarray:
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one weight")
    return np.asarray(vals)


def add_task_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--task`` and repeatable ``--task-option KEY=VALUE`` (shared by subcommands)."""
    parser.add_argument("--task", required=required, help="registered task name, e.g. swingup")
    parser.add_argument("--task-option", action="append", metavar="KEY=VALUE", default=[],
                        help="a task option (repeatable), e.g. fall_penalty=false")


# ----------------------------------------------------------------------------- run
def _cmd_run(args) -> int:
    from wann_plugin.config import load_config
    from wann_plugin.runner import run_search

    config = load_config(args.config)
    generations = args.generations or config.wann.generations
    print(f"wann run: {config.wann_source}, task {config.wann.task_name}, population "
          f"{config.pop_size}, {generations} generations, seed {args.seed if args.seed is not None else config.seed}",
          flush=True)
    run_search(config, generations, out_dir=args.out, seed=args.seed,
               champion_episodes=args.champion_episodes)
    return 0


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a WANN search from a config file",
                       description="Run a WANN search. Without CONFIG: the packaged quick "
                                   "swing-up config.")
    p.add_argument("config", nargs="?", default=None, help="neat-python config file")
    p.add_argument("--generations", type=int, default=None,
                   help="generations to run (default: [WannRun] generations of the config)")
    p.add_argument("--seed", type=int, default=None, help="overrides [NEAT] seed")
    p.add_argument("--out", default="wann-out", help="output folder (default: wann-out)")
    p.add_argument("--champion-episodes", type=int, default=16,
                   help="test episodes per weight to choose the champion (default 16)")
    p.set_defaults(func=_cmd_run)


# ----------------------------------------------------------------------------- evaluate
def _cmd_evaluate(args) -> int:
    from wann_plugin.io import load_network, load_tuned_zoo
    from wann_plugin.tasks import make_task

    task = make_task(args.task, **parse_task_options(args.task_option))
    loaded = load_network(args.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
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
    result = {"task": args.task, "episodes": args.episodes, "weights": [float(w) for w in weights],
              **summary}
    if conn_weights is not None:
        result["tuned"] = True
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{Path(args.network).name} on {args.task}: {net.n_connections} connections, "
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


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score a network (.out or our JSON) on a task")
    p.add_argument("network", help="a reference .out file or a wann_plugin JSON network")
    add_task_arguments(p)
    p.add_argument("--weights", type=_weights, default=_weights("-2,-1,-0.5,0.5,1,2"),
                   help="shared weights, comma-separated (default -2,-1,-0.5,0.5,1,2)")
    p.add_argument("--episodes", type=int, default=100, help="episodes per weight (default 100)")
    p.add_argument("--seed", type=int, default=0, help="episode r uses seed SEED + r (default 0)")
    p.add_argument("--tuned", default=None, metavar="ZOO.json",
                   help="reference tuned weights ([[params], score]) for this network")
    p.add_argument("--weight-bias", type=float, default=0.0,
                   help="added to each --tuned parameter (swing-up -1.5, biped -1.87)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_evaluate)


# ----------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wann", description="Weight Agnostic Neural Network search for neat-python.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    _add_evaluate(sub)
    try:
        from wann_plugin import _cli_tuning
    except ImportError:  # pragma: no cover - the tuning extras ship with the package
        _cli_tuning = None
    if _cli_tuning is not None:
        _cli_tuning.add_tune_parser(sub)
        _cli_tuning.add_report_parser(sub)
    return parser


_LIST_OPTIONS = ("--weights",)


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--weights -2,-1`` -> ``--weights=-2,-1`` (argparse takes ``-2,-1`` for an option)."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in _LIST_OPTIONS:
            nxt = next(it, None)
            if nxt is not None and nxt.startswith("-") and nxt[1:2].isdigit() or (
                    nxt is not None and nxt.startswith("-.")):
                out.append(f"{arg}={nxt}")
                continue
            out.append(arg)
            if nxt is not None:
                out.append(nxt)
            continue
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``wann`` console script."""
    from wann_plugin.config import ConfigError
    from wann_plugin.io import NetworkFileError
    from wann_plugin.network import NetworkError
    from wann_plugin.tasks.base import TaskError

    parser = build_parser()
    args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.func(args) or 0)
    except (CliError, ConfigError, NetworkFileError, NetworkError, TaskError) as exc:
        print(f"wann {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wann {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
