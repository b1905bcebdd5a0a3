"""Options and helpers that ``wann tune`` and ``wann report`` share: the network, task,
tuning method (read from the tuning registry), budget and progress lines."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from wann_plugin.cli._common import (
    CliError,
    add_network_argument,
    add_task_arguments,
    parse_task_options,
)

__all__ = ["add_tuning_arguments", "load_task_and_network", "progress_printer",
           "tuning_kwargs"]


def tuning_methods() -> tuple[str, ...]:
    """The tuning methods the library knows (its registry)."""
    from wann_plugin.tuning import METHODS

    return tuple(METHODS)


def add_tuning_arguments(p: argparse.ArgumentParser) -> None:
    """Network, task and tuning options of ``wann tune`` and ``wann report``."""
    add_network_argument(p)
    add_task_arguments(p)
    p.add_argument("--method", choices=tuning_methods(), default="cma",
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


def load_task_and_network(args):
    """``(task, LoadedNetwork)`` from ``--task``, ``--task-option`` and ``NETWORK``."""
    from wann_plugin.io import load_network
    from wann_plugin.tasks import make_task

    task = make_task(args.task, **parse_task_options(args.task_option))
    loaded = load_network(args.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
    return task, loaded


def tuning_kwargs(args) -> dict:
    """``params``/``mutation`` keyword arguments of the tuning call for ``--method``."""
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
        raise CliError(str(exc)) from None
    for name in ("generations", "repeats", "validation_episodes"):
        if getattr(args, name) < (0 if name == "generations" else 1):
            raise CliError(f"--{name.replace('_', '-')} == {getattr(args, name)}, must be "
                         f">= {0 if name == 'generations' else 1}")
    return kw


def progress_printer(stream, label: str = ""):
    """A tuning ``callback`` printing one line per generation to ``stream``."""
    def show(rec) -> None:
        if rec.generation == 0:
            print(f"{label}start: validation {rec.validation:.4g}", file=stream, flush=True)
            return
        val = f"  validation {rec.validation:.4g}" if np.isfinite(rec.validation) else ""
        print(f"{label}gen {rec.generation:4d}  episodes {rec.n_episodes:7d}  best "
              f"{rec.best:.4g}  mean {rec.mean:.4g}{val}  ({rec.seconds:.1f} s)",
              file=stream, flush=True)
    return show
