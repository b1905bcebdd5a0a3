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
def _run_executor(args, task):
    """``(executor, client, description)`` for ``--workers`` / ``--scheduler`` / ``--mpi``."""
    from wann_plugin.parallel import (
        ProcessPool,
        connect_dask,
        dask_executor,
        mpi_executor,
        n_workers,
    )

    if args.scheduler:
        if args.workers:
            raise CliError("--workers and --scheduler exclude each other: the Dask cluster's "
                           "workers do the work")
        client = connect_dask(args.scheduler, timeout=args.scheduler_timeout)
        executor = dask_executor(client)
        return executor, client, f"Dask scheduler {args.scheduler} ({n_workers(executor)} threads)"
    if args.mpi:
        executor = mpi_executor(args.workers or None, tasks=[task])
        return executor, None, f"MPI ({n_workers(executor)} workers)"
    if args.workers:
        return ProcessPool(args.workers, tasks=[task]), None, f"{args.workers} local processes"
    return None, None, "in-process"


def _cmd_run(args) -> int:
    from wann_plugin.checkpoint import CheckpointError, find_checkpoint
    from wann_plugin.config import load_config, make_evaluator
    from wann_plugin.evaluation import EvaluationError
    from wann_plugin.parallel import ProcessPool, SchedulerError, shutdown_executor
    from wann_plugin.runner import run_search

    for flag, value, low in (("--workers", args.workers, 0), ("--generations", args.generations, 1),
                             ("--checkpoint-every", args.checkpoint_every, 1)):
        if value is not None and value < low:
            raise CliError(f"{flag} {value}: must be >= {low}")
    if args.scheduler_timeout <= 0:
        raise CliError(f"--scheduler-timeout {args.scheduler_timeout:g}: must be > 0")
    executor = client = None
    clean = False
    try:
        checkpoint = find_checkpoint(args.resume) if args.resume else None
        config_path = args.config
        if checkpoint is not None and config_path is None:
            config_path = checkpoint.path.parent / "config.cfg"
        config = load_config(config_path)
        out = args.out or (str(checkpoint.path.parent) if checkpoint is not None else "wann-out")
        generations = args.generations or (checkpoint.generations if checkpoint is not None
                                           else config.wann.generations)
        task = config.wann.make_task()
        executor, client, where = _run_executor(args, task)
        evaluator = make_evaluator(config, task=task, executor=executor)
        seed = args.seed if args.seed is not None else config.seed
        print(f"wann run: {config.wann_source}, task {config.wann.task_name}, population "
              f"{config.pop_size}, {generations} generations, seed {seed}, {where}"
              + (f", resuming {checkpoint.path}" if checkpoint is not None else ""), flush=True)
        try:
            run_search(config, generations, out_dir=out, seed=args.seed, evaluator=evaluator,
                       champion_episodes=args.champion_episodes,
                       checkpoint_every=args.checkpoint_every, resume=checkpoint)
            clean = True
        except BaseException:
            if isinstance(executor, ProcessPool):
                executor.terminate()  # do not wait for running batches on Ctrl-C or errors
            raise
    except (CheckpointError, SchedulerError, EvaluationError) as exc:
        raise CliError(str(exc)) from None
    except ImportError as exc:
        if "wann-plugin[" in str(exc):
            raise CliError(str(exc)) from None
        raise
    finally:
        if executor is not None:
            shutdown_executor(executor, wait=clean)
        if client is not None:
            client.close()
    return 0


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run a WANN search from a config file",
                       description="Run a WANN search. Without CONFIG: the packaged quick "
                                   "swing-up config (with --resume: the run folder's config.cfg).")
    p.add_argument("config", nargs="?", default=None, help="neat-python config file")
    p.add_argument("--generations", type=int, default=None,
                   help="generations the run has (default: [WannRun] generations of the config; "
                        "with --resume: the checkpointed run's)")
    p.add_argument("--seed", type=int, default=None, help="overrides [NEAT] seed")
    p.add_argument("--out", default=None,
                   help="output folder (default: wann-out; with --resume: the checkpoint's folder)")
    p.add_argument("--champion-episodes", type=int, default=16,
                   help="test episodes per weight to choose the champion (default 16)")
    par = p.add_argument_group("parallel evaluation (docs: parallel)")
    par.add_argument("--workers", type=int, default=None, metavar="N",
                     help="evaluate on N local worker processes (default: in-process); "
                          "with --mpi: the number of MPI workers to spawn")
    par.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="evaluate on a Dask cluster, e.g. tcp://10.0.0.5:8786 "
                          "(pip install 'wann-plugin[dask]')")
    par.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="give up connecting to --scheduler after this long (default 10)")
    par.add_argument("--mpi", action="store_true",
                     help="evaluate on mpi4py.futures workers; run as `mpiexec -n N python -m "
                          "mpi4py.futures -m wann_plugin.cli run ... --mpi` "
                          "(pip install 'wann-plugin[mpi]')")
    ck = p.add_argument_group("checkpoints")
    ck.add_argument("--checkpoint-every", type=int, default=None, metavar="K",
                    help="write OUT/checkpoint-NNNNNN.wann every K generations (Ctrl-C always "
                         "writes one)")
    ck.add_argument("--resume", default=None, metavar="DIR",
                    help="continue the run in DIR from its newest checkpoint (or a checkpoint "
                         "file); the config must be unchanged")
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


def _take_imports(argv: list[str]) -> tuple[list[str], list[str]]:
    """Pull every ``--import MODULE`` (or ``--import=MODULE``) out of ``argv``."""
    rest, modules = [], []
    it = iter(argv)
    for arg in it:
        if arg == "--import":
            value = next(it, None)
            if value is None:
                raise CliError("--import needs a MODULE (a dotted name or a .py file)")
            modules.append(value)
        elif arg.startswith("--import="):
            modules.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, modules


def import_user_code(spec: str) -> None:
    """Import a module by dotted name, or a ``.py`` file by path, so that the tasks,
    activations and classes it registers or defines are known to this run."""
    import importlib
    import importlib.util

    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise CliError(f"--import {spec}: no such file")
        name = f"wann_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        sys.path.insert(0, str(path.parent.resolve()))
        module_spec.loader.exec_module(module)
        return
    try:
        importlib.import_module(spec)
    except ImportError as exc:
        raise CliError(f"--import {spec}: {exc}") from None


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

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, modules = _take_imports(argv)
        for spec in modules:
            import_user_code(spec)
    except CliError as exc:
        print(f"wann: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    parser.epilog = ("Every subcommand also takes --import MODULE (repeatable): a dotted module "
                     "name or a .py file defining your own tasks, activations or classes.")
    args = parser.parse_args(_join_negative_values(argv))
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
