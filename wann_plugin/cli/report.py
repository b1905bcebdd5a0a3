"""``wann report``: the paper's four-condition table of a network next to a fixed topology,
with plots (thin shell over :func:`wann_plugin.analysis.four_condition_report`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from wann_plugin.cli._common import CliError, flag_type
from wann_plugin.cli._tuning_options import (
    add_tuning_arguments,
    load_task_and_network,
    output_path,
    progress_printer,
    tuning_kwargs,
)
from wann_plugin.validation import Key

__all__ = ["add_parser", "run_report"]


def run_report(args) -> int:
    """``wann report``: the four-condition table (Markdown, JSON) and plots."""
    from wann_plugin.analysis import four_condition_report
    from wann_plugin.io import atomic_write_text, load_tuned_zoo
    from wann_plugin.plots import draw_network, plot_shared_weight, plot_tuning_curve

    task, loaded, task_name, _ = load_task_and_network(args)
    net = loaded.net
    kw = tuning_kwargs(args)
    network = Path(args.network)
    out = output_path(args, network.with_name(f"{network.stem}-report"), "the folder")
    given = loaded.conn_weights
    if args.tuned is not None:
        given = load_tuned_zoo(args.tuned, net, args.weight_bias or 0.0)
    label = f"{Path(args.network).stem} (WANN)"
    print(f"wann report: {Path(args.network).name} on {task.name}: shared-weight sweep, "
          + ("given tuned weights" if given is not None else
             f"{args.method} tuning (preset {args.preset})")
          + ("" if args.no_baseline else f", fixed-topology baseline ({args.hidden} tanh)")
          + f", {args.episodes} test episodes", flush=True)
    try:
        report = four_condition_report(
            task, net, rng=np.random.default_rng(args.seed), label=label, method=kw["method"],
            preset=kw["preset"], options=kw["options"], generations=kw.get("generations"),
            n_repeats=kw.get("n_repeats"), start=args.weight_bias,
            conn_weights=given, n_episodes=args.episodes, baseline=not args.no_baseline,
            baseline_hidden=args.hidden,
            tune_options={k: v for k, v in kw.items()
                          if k in ("n_validation", "validate_every", "restarts", "threads")},
            callback=lambda lab, rec: (progress_printer(sys.stdout, f"[{lab}] ")(rec)
                                       if rec.generation % 10 == 0 else None))
    except (TypeError, ValueError) as exc:
        if type(exc).__name__ in ("TaskError", "UnknownTaskError"):
            raise
        raise CliError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    md = report.to_markdown()
    atomic_write_text(out / "report.md", md)
    atomic_write_text(out / "report.json", json.dumps(report.to_dict(), indent=1) + "\n")
    plot_shared_weight({r.label: r.shared for r in report.rows},
                       path=out / "shared_weight.png")
    draw_network(net, path=out / "network.png")
    draw_network(net, conn_weights=report.rows[0].conn_weights, path=out / "network_tuned.png",
                 title=f"{net.key}: tuned weights (red > 0, blue < 0)")
    curves = {r.label: r.tuning for r in report.rows if r.tuning is not None}
    if curves:
        plot_tuning_curve(curves, path=out / "tuning.png")
    print(md)
    print(f"wrote {out}/report.md, report.json and plots")
    return 0


def add_parser(subparsers):
    """Add ``wann report NETWORK --task T [--episodes N] [--out DIR] ...``."""
    p = subparsers.add_parser(
        "report", help="the four-condition table of a network against a fixed topology",
        description="Judge a network under the paper's four conditions (random weights, "
                    "random shared weight, tuned shared weight, tuned weights) next to a "
                    "fully connected one-hidden-layer network tuned the same way; writes "
                    "report.md, report.json and plots to --out.")
    add_tuning_arguments(p)
    p.add_argument("--episodes", type=flag_type(Key("--episodes", int, 100, low=1)), default=100,
                   help="test episodes per condition, seeds 0..N-1 (default 100)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: beside the network, NETWORK_STEM-report)")
    p.add_argument("--overwrite", action="store_true", help="write into an existing --out folder")
    p.add_argument("--hidden", type=flag_type(Key("--hidden", int, 10, low=1)), default=10,
                   help="hidden nodes of the fixed-topology baseline (default 10)")
    p.add_argument("--no-baseline", action="store_true", help="leave the baseline row out")
    p.add_argument("--tuned", default=None, metavar="ZOO.json",
                   help="use reference tuned weights ([[params], score]) for the network "
                        "instead of tuning it (with --weight-bias)")
    p.set_defaults(func=run_report)
    return p
