"""``wann tune``: tune per-connection weights of a network and save it with them (thin shell
over :func:`wann_plugin.tuning.tune_weights`)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from wann_plugin.cli._common import CliError, flag_type
from wann_plugin.cli._tuning_options import (
    add_tuning_arguments,
    differentiable_note,
    load_task_and_network,
    output_path,
    progress_printer,
    tuning_kwargs,
)
from wann_plugin.validation import Key

__all__ = ["add_parser", "run_tune"]


def run_tune(args) -> int:
    """``wann tune``: tune per-connection weights and save the network with them."""
    from wann_plugin.io import save_network
    from wann_plugin.tuning import tune_weights

    task, loaded, task_name, task_options = load_task_and_network(args)
    net = loaded.net
    kw = tuning_kwargs(args)
    network = Path(args.network)
    out = output_path(args, network.with_name(f"{network.stem}.{args.method}.json"), "the file")
    if args.weight_bias is not None:
        start, start_note = float(args.weight_bias), f"shared weight {args.weight_bias:+g}"
    elif loaded.conn_weights is not None:
        start, start_note = loaded.conn_weights, "the file's tuned weights"
    else:
        start, start_note = None, "the best shared weight"
    stream = sys.stderr if args.json else sys.stdout
    print(f"wann tune: {Path(args.network).name} on {task.name}, {net.n_connections} "
          f"connections, method {args.method} (preset {args.preset}"
          + "".join(f", {k}={v}" for k, v in kw["options"].items())
          + f"), start from {start_note}, seed {args.seed}"
          + (f", on {args.threads} threads" if args.threads > 1 else ""), file=stream, flush=True)
    note = differentiable_note(args, task)
    if note:
        print(note, file=stream, flush=True)
    t0 = time.perf_counter()
    try:
        result = tune_weights(task, net, rng=np.random.default_rng(args.seed), start=start,
                              callback=progress_printer(stream), **kw)
    except (TypeError, ValueError) as exc:
        if type(exc).__name__ in ("TaskError", "UnknownTaskError"):
            raise
        raise CliError(str(exc)) from None
    seconds = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "network": str(args.network), "task": task_name, "method": args.method,
        "preset": args.preset, "options": result.options,
        "generations": result.options["generations"], "seed": args.seed,
        "repeats": result.options["n_repeats"],
        "start": (result.start_label if start is None else
                  "given weights" if np.ndim(start) else float(start)),
        "start_validation_score": result.start_score,
        "validation_score": result.validation_score,
        "improved": result.improved,
        "training_episodes": result.n_episodes,
        "seconds": round(seconds, 1),
        "threads": args.threads,
    }
    if result.shared is not None:
        summary["best_shared_weight"] = result.shared.weight
    if result.probes:
        summary["probes"] = list(result.probes)
    if args.test_episodes:
        scores = np.asarray(task.evaluate_weights(net, result.conn_weights[None], seed=0,
                                                  n_repeats=args.test_episodes))[0]
        summary["test"] = {"episodes": args.test_episodes, "seeds": f"0..{args.test_episodes - 1}",
                           "mean": float(scores.mean()), "std": float(scores.std())}
    meta = dict(loaded.meta or {})
    meta.update({"task": task_name, "task_options": task_options,
                 "tuning": {**summary, "task_options": task_options,
                            "history": [r.to_dict() for r in result.history]}})
    save_network(out, net, conn_weights=result.conn_weights, meta=meta)
    summary["out"] = str(out)
    if args.json:
        print(json.dumps(summary))
    else:
        if result.improved:
            line = (f"tuned in {seconds:.0f} s: validation {result.validation_score:.4g} "
                    f"(start {result.start_score:.4g})")
        else:
            line = (f"tuning found nothing better than the start in {seconds:.0f} s "
                    f"(validation {result.start_score:.4g}): kept the start's weights")
        if "test" in summary:
            t = summary["test"]
            line += f"; test {t['mean']:.4g} +/- {t['std']:.3g} over {t['episodes']} episodes"
        print(line)
        print(f"saved {out} (score it with: wann evaluate {shlex.quote(str(out))})")
    return 0


def add_parser(subparsers):
    """Add ``wann tune NETWORK --task T --method M ...`` to the ``wann`` subparsers."""
    p = subparsers.add_parser(
        "tune", help="tune each connection's weight of a network on a task",
        description="Tune per-connection weights (CMA-ES by default; PEPG, a steady-state "
                    "GA with Gaussian or safe mutations, or gradient training for "
                    "classification: see --list-methods) and save the network with them as "
                    "JSON. Progress is printed per generation; the result never validates "
                    "worse than the start.")
    add_tuning_arguments(p)
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to save the tuned network (default: beside the network, "
                        "NETWORK_STEM.METHOD.json)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--test-episodes", type=flag_type(Key("--test-episodes", int, 100, low=0)),
                   default=100,
                   help="score the result on episodes 0..N-1 at the end (default 100; 0 skips)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON summary on stdout (progress goes to stderr)")
    p.set_defaults(func=run_tune)
    return p
