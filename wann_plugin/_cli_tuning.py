"""``wann tune`` and ``wann report``: thin shells over :mod:`wann_plugin.tuning` and
:mod:`wann_plugin.analysis`.

``wann_plugin.cli`` builds the ``wann`` parser and calls :func:`add_tune_parser` and
:func:`add_report_parser` with its subparsers; each sets ``func`` to :func:`run_tune` or
:func:`run_report`, which return the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_report_parser", "add_tune_parser", "run_report", "run_tune"]

_METHODS = ("pepg", "cma", "ga", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so")


class _UsageError(Exception):
    """Raised for bad command-line input; converted to the cli's error type when available."""


def _error(message: str) -> Exception:
    try:
        from wann_plugin.cli import CliError
    except ImportError:  # pragma: no cover
        return _UsageError(message)
    return CliError(message)


def _task_options(items: list[str] | None) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _error(f"--task-option {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="a reference .out file or a wann_plugin JSON network")
    p.add_argument("--task", required=True, help="registered task name, e.g. swingup")
    p.add_argument("--task-option", action="append", metavar="KEY=VALUE", default=[],
                   help="a task option (repeatable), e.g. max_steps=200")
    p.add_argument("--method", choices=_METHODS, default="cma",
                   help="tuning method (default cma)")
    p.add_argument("--generations", type=int, default=150,
                   help="tuning generations (default 150)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--weight-bias", type=float, default=None, metavar="W",
                   help="start every connection at shared weight W (the reference: -1.5 for "
                        "swing-up); default: the best shared weight")
    p.add_argument("--repeats", type=int, default=4,
                   help="training episodes per candidate (default 4, as the reference; 16 "
                        "gives more robust swing-up controllers)")
    p.add_argument("--popsize", type=int, default=None,
                   help="samples per generation (pepg 64, cma 32) or GA population (32)")
    p.add_argument("--sigma", type=float, default=None,
                   help="initial step size (pepg 0.1, cma 0.5) or mutation size (GA: 0.1)")
    p.add_argument("--target-divergence", type=float, default=0.01,
                   help="sm-r: mean squared output change per mutation (default 0.01)")
    p.add_argument("--validation-episodes", type=int, default=64,
                   help="episodes that pick the best checkpoint, every 5 generations "
                        "(default 64)")


def _load(args):
    from wann_plugin.io import load_network
    from wann_plugin.tasks import make_task

    task = make_task(args.task, **_task_options(args.task_option))
    loaded = load_network(args.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
    return task, loaded


def _tuning_kwargs(args) -> dict:
    from wann_plugin.tuning import CmaParams, GaParams, Mutation, PepgParams

    kw: dict[str, Any] = {}
    try:
        if args.method == "pepg":
            p = {k: v for k, v in (("popsize", args.popsize), ("sigma_init", args.sigma))
                 if v is not None}
            kw["params"] = PepgParams(**p)
        elif args.method == "cma":
            p = {k: v for k, v in (("popsize", args.popsize), ("sigma_init", args.sigma))
                 if v is not None}
            kw["params"] = CmaParams(**p)
        else:
            if args.popsize is not None:
                kw["params"] = GaParams(pop_size=args.popsize,
                                        tournament_size=min(5, args.popsize))
            m = {"target_divergence": args.target_divergence}
            if args.sigma is not None:
                m["sigma"] = args.sigma
            kw["mutation"] = Mutation(**m)
    except (TypeError, ValueError) as exc:
        raise _error(str(exc)) from None
    for name in ("generations", "repeats", "validation_episodes"):
        if getattr(args, name) < (0 if name == "generations" else 1):
            raise _error(f"--{name.replace('_', '-')} == {getattr(args, name)}, must be "
                         f">= {0 if name == 'generations' else 1}")
    return kw


def _progress(stream, label: str = ""):
    def show(rec) -> None:
        if rec.generation == 0:
            print(f"{label}start: validation {rec.validation:.4g}", file=stream, flush=True)
            return
        val = f"  validation {rec.validation:.4g}" if np.isfinite(rec.validation) else ""
        print(f"{label}gen {rec.generation:4d}  episodes {rec.n_episodes:7d}  best "
              f"{rec.best:.4g}  mean {rec.mean:.4g}{val}  ({rec.seconds:.1f} s)",
              file=stream, flush=True)
    return show


# ----------------------------------------------------------------------------- tune
def run_tune(args) -> int:
    """``wann tune``: tune per-connection weights and save the network with them."""
    from wann_plugin.io import save_network
    from wann_plugin.tuning import tune_weights

    task, loaded = _load(args)
    net = loaded.net
    kw = _tuning_kwargs(args)
    if args.test_episodes < 0:
        raise _error(f"--test-episodes == {args.test_episodes}, must be >= 0")
    if args.weight_bias is not None:
        start, start_note = float(args.weight_bias), f"shared weight {args.weight_bias:+g}"
    elif loaded.conn_weights is not None:
        start, start_note = loaded.conn_weights, "the file's tuned weights"
    else:
        start, start_note = None, "the best shared weight"
    stream = sys.stderr if args.json else sys.stdout
    print(f"wann tune: {Path(args.network).name} on {task.name}, {net.n_connections} "
          f"connections, method {args.method}, {args.generations} generations, start from "
          f"{start_note}, seed {args.seed}", file=stream, flush=True)
    try:
        result = tune_weights(task, net, rng=np.random.default_rng(args.seed),
                              method=args.method, start=start, generations=args.generations,
                              n_repeats=args.repeats, n_validation=args.validation_episodes,
                              callback=_progress(stream), **kw)
    except (TypeError, ValueError) as exc:
        if type(exc).__name__ in ("TaskError", "UnknownTaskError"):
            raise
        raise _error(str(exc)) from None
    summary: dict[str, Any] = {
        "network": str(args.network), "task": task.name, "method": args.method,
        "generations": args.generations, "seed": args.seed, "repeats": args.repeats,
        "start": ("best shared weight" if start is None else
                  "given weights" if np.ndim(start) else float(start)),
        "start_validation_score": result.start_score,
        "validation_score": result.validation_score,
        "training_episodes": result.n_episodes,
    }
    if result.shared is not None:
        summary["best_shared_weight"] = result.shared.weight
    if args.test_episodes:
        scores = np.asarray(task.evaluate_weights(net, result.conn_weights[None], seed=0,
                                                  n_repeats=args.test_episodes))[0]
        summary["test"] = {"episodes": args.test_episodes, "seeds": f"0..{args.test_episodes - 1}",
                           "mean": float(scores.mean()), "std": float(scores.std())}
    out = Path(args.out) if args.out else Path(f"{Path(args.network).stem}.{args.method}.json")
    meta = dict(loaded.meta or {})
    meta.update({"tuning": {**summary, "task_options": _task_options(args.task_option),
                            "history": [r.to_dict() for r in result.history]}})
    save_network(out, net, conn_weights=result.conn_weights, meta=meta)
    summary["out"] = str(out)
    if args.json:
        print(json.dumps(summary))
    else:
        line = (f"tuned: validation {result.validation_score:.4g} (start "
                f"{result.start_score:.4g})")
        if "test" in summary:
            t = summary["test"]
            line += f"; test {t['mean']:.4g} +/- {t['std']:.3g} over {t['episodes']} episodes"
        print(line)
        print(f"saved {out} (score it with: wann evaluate {out} --task {task.name})")
    return 0


def add_tune_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``wann tune NETWORK --task T --method M ...`` to the ``wann`` subparsers."""
    p = subparsers.add_parser(
        "tune", help="tune each connection's weight of a network on a task",
        description="Tune per-connection weights (PEPG, CMA-ES, or a steady-state GA with "
                    "Gaussian or safe mutations) and save the network with them as JSON. "
                    "Progress is printed per generation.")
    _common(p)
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to save the tuned network (default NETWORK_STEM.METHOD.json)")
    p.add_argument("--test-episodes", type=int, default=100,
                   help="score the result on episodes 0..N-1 at the end (default 100; 0 skips)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON summary on stdout (progress goes to stderr)")
    p.set_defaults(func=run_tune)
    return p


# ----------------------------------------------------------------------------- report
def run_report(args) -> int:
    """``wann report``: the four-condition table (Markdown, JSON) and plots."""
    from wann_plugin.analysis import four_condition_report
    from wann_plugin.io import atomic_write_text, load_tuned_zoo
    from wann_plugin.plots import draw_network, plot_shared_weight, plot_tuning_curve

    task, loaded = _load(args)
    net = loaded.net
    kw = _tuning_kwargs(args)
    if args.episodes < 1:
        raise _error(f"--episodes == {args.episodes}, must be >= 1")
    given = loaded.conn_weights
    if args.tuned is not None:
        given = load_tuned_zoo(args.tuned, net, args.weight_bias or 0.0)
    label = f"{Path(args.network).stem} (WANN)"
    print(f"wann report: {Path(args.network).name} on {task.name}: shared-weight sweep, "
          + ("given tuned weights" if given is not None else
             f"{args.method} tuning ({args.generations} generations)")
          + ("" if args.no_baseline else f", fixed-topology baseline ({args.hidden} tanh)")
          + f", {args.episodes} test episodes", flush=True)
    try:
        report = four_condition_report(
            task, net, rng=np.random.default_rng(args.seed), label=label, method=args.method,
            generations=args.generations, n_repeats=args.repeats, start=args.weight_bias,
            conn_weights=given, n_episodes=args.episodes, baseline=not args.no_baseline,
            baseline_hidden=args.hidden,
            tune_options={"n_validation": args.validation_episodes, **kw},
            callback=lambda lab, rec: (_progress(sys.stdout, f"[{lab}] ")(rec)
                                       if rec.generation % 10 == 0 else None))
    except (TypeError, ValueError) as exc:
        if type(exc).__name__ in ("TaskError", "UnknownTaskError"):
            raise
        raise _error(str(exc)) from None
    out = Path(args.out)
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


def add_report_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``wann report NETWORK --task T [--episodes N] [--out DIR] ...``."""
    p = subparsers.add_parser(
        "report", help="the four-condition table of a network against a fixed topology",
        description="Judge a network under the paper's four conditions (random weights, "
                    "random shared weight, tuned shared weight, tuned weights) next to a "
                    "fully connected one-hidden-layer network tuned the same way; writes "
                    "report.md, report.json and plots to --out.")
    _common(p)
    p.add_argument("--episodes", type=int, default=100,
                   help="test episodes per condition, seeds 0..N-1 (default 100)")
    p.add_argument("--out", default="wann-report", metavar="DIR",
                   help="output folder (default wann-report)")
    p.add_argument("--hidden", type=int, default=10,
                   help="hidden nodes of the fixed-topology baseline (default 10)")
    p.add_argument("--no-baseline", action="store_true", help="leave the baseline row out")
    p.add_argument("--tuned", default=None, metavar="ZOO.json",
                   help="use reference tuned weights ([[params], score]) for the network "
                        "instead of tuning it (with --weight-bias)")
    p.set_defaults(func=run_report)
    return p
