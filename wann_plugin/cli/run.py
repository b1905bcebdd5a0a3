"""``wann run``: a WANN search from a config file (thin shell over
:func:`wann_plugin.runner.run_search`)."""

from __future__ import annotations

from wann_plugin.cli._common import (
    CliError,
    add_seed_argument,
    add_task_arguments,
    check_threads_flag,
    flag_type,
    parse_settings,
    parse_task_options,
)
from wann_plugin.validation import Key

__all__ = ["add_parser"]


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
    if args.threads > 1:
        return None, None, f"in-process on {args.threads} threads"
    return None, None, "in-process"


def _name_overrides(message: str, overrides: dict) -> str:
    """Add which ``--set`` gave the value a config error is about."""
    for section, items in overrides.items():
        for key, value in items.items():
            if f"[{section}] {key}" in message or f"[{section}] unknown key {key!r}" in message:
                return f"{message} (from --set {section}.{key}={value})"
    return message


def _cmd_run(args) -> int:
    import shlex
    import sys
    from pathlib import Path

    from wann_plugin.checkpoint import CheckpointError, find_checkpoint
    from wann_plugin.config import ConfigError, load_config, make_evaluator
    from wann_plugin.evaluation import EvaluationError
    from wann_plugin.parallel import ProcessPool, SchedulerError, shutdown_executor
    from wann_plugin.runner import RunFolderError, prepare_run_folder, run_search

    if args.workers is not None and args.scheduler:
        raise CliError("--workers and --scheduler exclude each other: the Dask cluster's "
                       "workers do the work")
    if args.threads > 1 and (args.workers is not None or args.scheduler or args.mpi):
        raise CliError("--threads scores in-process; it excludes --workers, --scheduler and "
                       "--mpi (their workers do the work)")
    if args.task_option and not args.task and args.resume:
        raise CliError("--task-option with --resume: a resumed run keeps its task and options")
    overrides = parse_settings(args.set)
    executor = client = evaluator = None
    clean = False
    try:
        checkpoint = find_checkpoint(args.resume) if args.resume else None
        config_path = args.config
        if checkpoint is not None and config_path is None:
            config_path = checkpoint.path.parent / "config.cfg"
        try:
            config = load_config(config_path, overrides=overrides, task=args.task,
                                 task_options=parse_task_options(args.task_option))
        except ConfigError as exc:
            raise CliError(_name_overrides(str(exc), overrides)) from None
        out = Path(args.out or (str(checkpoint.path.parent) if checkpoint is not None
                                else "wann-out"))
        generations = args.generations or (checkpoint.generations if checkpoint is not None
                                           else config.wann.generations)
        if checkpoint is not None and generations < checkpoint.generation:
            raise CliError(f"--generations {generations}: {checkpoint.path} is already at "
                           f"generation {checkpoint.generation}; ask for at least that many")
        task = config.wann.make_task()
        check_threads_flag(task, args.threads)  # before any worker starts or --out changes
        executor, client, where = _run_executor(args, task)
        # everything is checked and the workers are reachable: only now may --out change
        prepare_run_folder(out, resumed_from=None if checkpoint is None else checkpoint.path.parent,
                           overwrite=args.overwrite)
        evaluator = make_evaluator(config, task=task, executor=executor, threads=args.threads)
        seed = args.seed if args.seed is not None else config.seed
        print(f"wann run: {config.wann_source}, task {config.wann.task_name}, population "
              f"{config.pop_size}, {generations} generations, seed {seed}, {where}"
              + (f", resuming {checkpoint.path}" if checkpoint is not None else ""), flush=True)
        try:
            run_search(config, generations, out_dir=out, seed=args.seed, evaluator=evaluator,
                       champion_episodes=args.champion_episodes,
                       checkpoint_every=args.checkpoint_every, resume=checkpoint,
                       run_info={"command": shlex.join(args.command_line)},
                       stream=sys.stdout)
            clean = True
        except BaseException:
            if isinstance(executor, ProcessPool):
                executor.terminate()  # do not wait for running batches on Ctrl-C or errors
            raise
    except (CheckpointError, SchedulerError, EvaluationError, RunFolderError) as exc:
        raise CliError(str(exc)) from None
    except ImportError as exc:
        if "wann-plugin[" in str(exc):
            raise CliError(str(exc)) from None
        raise
    finally:
        if evaluator is not None:
            evaluator.close()  # its threads (--threads); an executor given to it stays open
        if executor is not None:
            shutdown_executor(executor, wait=clean)
        if client is not None:
            client.close()
    return 0


def add_parser(sub):
    """Add ``wann run`` to the ``wann`` subparsers."""
    p = sub.add_parser(
        "run", help="run a WANN search from a config file",
        description="Run a WANN search. Without CONFIG: the packaged quick swing-up config "
                    "(with --resume: the run folder's config.cfg). Writes champion.json, "
                    "stats.csv, curves.png, config.cfg and run.json to --out.")
    p.add_argument("config", nargs="?", default=None, help="neat-python config file")
    p.add_argument("--generations", type=flag_type(Key("--generations", int, None, low=1)),
                   default=None,
                   help="generations the run has (default: [WannRun] generations of the config; "
                        "with --resume: the checkpointed run's)")
    add_seed_argument(p, None, "overrides [NEAT] seed (a whole number >= 0)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: wann-out; with --resume: the checkpoint's "
                        "folder); a folder holding a run is refused without --overwrite")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (its results and checkpoints are deleted)")
    p.add_argument("--champion-episodes",
                   type=flag_type(Key("--champion-episodes", int, 16, low=1)), default=16,
                   help="test episodes per weight to choose the champion (default 16)")
    cfg = p.add_argument_group("configure from the command line")
    add_task_arguments(cfg, required=False,
                       default_note="; replaces the config's [WannTask] and fits the genome's "
                                    "inputs and outputs to the task")
    cfg.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override any config key (repeatable), e.g. NEAT.pop_size=64 or "
                          "WannRun.generations=20")
    par = p.add_argument_group("parallel evaluation (docs: parallel)")
    par.add_argument("--workers", type=flag_type(Key("--workers", int, None, low=1)),
                     default=None, metavar="N",
                     help="evaluate on N local worker processes (default: in-process); "
                          "with --mpi: the number of MPI workers to spawn")
    par.add_argument("--threads", type=flag_type(Key("--threads", int, 1, low=1)), default=1,
                     metavar="N",
                     help="score in-process on N threads (default 1): the swing-up and "
                          "classification kernels release the GIL, so N cores share a "
                          "generation without worker processes; the same results")
    par.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="evaluate on a Dask cluster, e.g. tcp://10.0.0.5:8786 "
                          "(pip install 'wann-plugin[dask]')")
    par.add_argument("--scheduler-timeout",
                     type=flag_type(Key("--scheduler-timeout", float, 10.0, low=0,
                                        low_open=True)),
                     default=10.0, metavar="SECONDS",
                     help="give up connecting to --scheduler after this long (default 10)")
    par.add_argument("--mpi", action="store_true",
                     help="evaluate on mpi4py.futures workers; run as `mpiexec -n N python -m "
                          "mpi4py.futures -m wann_plugin.cli run ... --mpi` "
                          "(pip install 'wann-plugin[mpi]')")
    ck = p.add_argument_group("checkpoints")
    ck.add_argument("--checkpoint-every",
                    type=flag_type(Key("--checkpoint-every", int, None, low=1)), default=None,
                    metavar="K",
                    help="write OUT/checkpoint-NNNNNN.wann every K generations (Ctrl-C always "
                         "writes one); a resumed run keeps the K it was started with")
    ck.add_argument("--resume", default=None, metavar="DIR",
                    help="continue the run in DIR from its newest checkpoint (or a checkpoint "
                         "file); the config must be unchanged")
    p.set_defaults(func=_cmd_run)
    return p
