"""``wann run``: a WANN search from a config file (thin shell over
:func:`wann_plugin.runner.run_search`)."""

from __future__ import annotations

from wann_plugin.cli._common import CliError

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


def add_parser(sub):
    """Add ``wann run`` to the ``wann`` subparsers."""
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
    return p
