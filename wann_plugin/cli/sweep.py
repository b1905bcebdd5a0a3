"""``wann sweep``: one search per seed, then the four conditions over the seeds (thin shell
over :func:`wann_plugin.sweep.run_sweep` and :func:`wann_plugin.sweep.summarize_sweep`)."""

from __future__ import annotations

import sys

from wann_plugin.cli._common import CliError, check_threads_flag, parse_task_options

__all__ = ["add_parser"]


def _cmd_sweep(args) -> int:
    from wann_plugin.checkpoint import CheckpointError
    from wann_plugin.cli.run import _run_executor
    from wann_plugin.config import load_config
    from wann_plugin.evaluation import EvaluationError
    from wann_plugin.parallel import SchedulerError, shutdown_executor
    from wann_plugin.sweep import parse_seeds, run_sweep, summarize_sweep
    from wann_plugin.tasks import make_task
    from wann_plugin.tuning import get_tuning_method, parse_option_value

    try:
        seeds = parse_seeds(args.seeds)
    except ValueError as exc:
        raise CliError(f"--seeds: {exc}") from None
    for flag, value, low in (("--workers", args.workers, 0), ("--generations", args.generations, 1),
                             ("--checkpoint-every", args.checkpoint_every, 1),
                             ("--episodes", args.episodes, 1), ("--threads", args.threads, 1)):
        if value is not None and value < low:
            raise CliError(f"{flag} {value}: must be >= {low}")
    if args.parallel_seeds and not (args.workers or args.scheduler):
        raise CliError("--parallel-seeds needs --workers N or --scheduler ADDRESS: the workers "
                       "that run one whole search each")
    if args.threads > 1 and (args.workers or args.scheduler):
        raise CliError("--threads scores in-process; it excludes --workers and --scheduler "
                       "(summarise on threads afterwards with --summary-only --threads N)")
    method = get_tuning_method(args.method)
    options = {}
    try:
        for key, text in parse_task_options(args.option, flag="--option").items():
            known = method.options()
            if key not in known:
                method.split({key: None}, where="--option")
                raise CliError(f"--option {key}: not an option of method {args.method}")
            options[key] = parse_option_value(known[key], text)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    config = load_config(args.config)
    task_options = parse_task_options(args.task_option)
    task = (make_task(args.task, **task_options) if args.task else config.wann.make_task())
    check_threads_flag(task, args.threads, instead="sweep without --threads, or on --workers N")
    executor = client = None
    clean = False
    try:
        if not args.summary_only:
            executor, client, where = _run_executor(args, task)
            print(f"wann sweep: {args.config}, seeds {', '.join(map(str, seeds))}, "
                  f"{'whole searches on ' if args.parallel_seeds else ''}{where}", flush=True)
            run_sweep(args.config, seeds, args.out, generations=args.generations,
                      executor=executor, parallel_seeds=args.parallel_seeds,
                      champion_episodes=args.champion_episodes,
                      checkpoint_every=args.checkpoint_every, stream=sys.stdout,
                      threads=args.threads)
        clean = True
    except (CheckpointError, SchedulerError, EvaluationError) as exc:
        raise CliError(str(exc)) from None
    finally:
        if executor is not None:
            shutdown_executor(executor, wait=clean)
        if client is not None:
            client.close()
    if args.no_summary:
        return 0
    report_options = {"method": args.method, "preset": args.preset, "options": options}
    if args.tune_generations is not None:
        if args.tune_generations < 0:
            raise CliError(f"--tune-generations {args.tune_generations}: must be >= 0")
        report_options["generations"] = args.tune_generations
    try:
        summarize_sweep(args.out, seeds, task, n_episodes=args.episodes, tune_seed=args.tune_seed,
                        report_options=report_options, stream=sys.stdout,
                        threads=args.threads)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {args.out}/summary.md, summary.json and learning_curves.png")
    return 0


def add_parser(sub):
    """Add ``wann sweep CONFIG --seeds 0-4 ...`` to the ``wann`` subparsers."""
    from wann_plugin.cli._common import add_task_arguments
    from wann_plugin.cli._tuning_options import tuning_methods

    p = sub.add_parser(
        "sweep", help="one search per seed, then the four conditions over the seeds",
        description="Run the search of CONFIG once per seed into OUT/seed-S (resumable: "
                    "finished seeds are skipped, interrupted ones continue from their newest "
                    "checkpoint), then judge every champion under the paper's four conditions "
                    "and write OUT/summary.md, summary.json and learning_curves.png.")
    p.add_argument("config", help="neat-python config file of the search")
    p.add_argument("--seeds", default="0-4", help="seeds, e.g. 0-4 or 0,2,7-9 (default 0-4)")
    p.add_argument("--out", default="wann-sweep", help="output folder (default wann-sweep)")
    p.add_argument("--generations", type=int, default=None,
                   help="generations per search (default: [WannRun] generations)")
    p.add_argument("--champion-episodes", type=int, default=16,
                   help="test episodes per weight to choose each champion (default 16)")
    p.add_argument("--checkpoint-every", type=int, default=64, metavar="K",
                   help="checkpoint every K generations, what a rerun resumes from (default 64)")
    par = p.add_argument_group("parallel evaluation (as wann run)")
    par.add_argument("--workers", type=int, default=None, metavar="N",
                     help="N local worker processes")
    par.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    par.add_argument("--scheduler-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="give up connecting to --scheduler after this long (default 10)")
    par.add_argument("--threads", type=int, default=1, metavar="N",
                     help="score in-process on N threads (default 1): each search's networks "
                          "and the tuning of the summary, the same results; the swing-up and "
                          "classification tasks")
    par.add_argument("--parallel-seeds", action="store_true",
                   help="run whole searches side by side, one per worker (default: one search "
                        "at a time, its batches on the workers)")
    p.set_defaults(mpi=False)
    summ = p.add_argument_group("summary")
    add_task_arguments(summ, required=False,
                       default_note=" (default: the config's [WannTask])")
    summ.add_argument("--episodes", type=int, default=100,
                      help="test episodes per condition (default 100)")
    summ.add_argument("--method", choices=tuning_methods(), default="cma",
                      help="tuning method of the tuned-weights condition (default cma)")
    summ.add_argument("--preset", default="default", help="the method's preset")
    summ.add_argument("--option", action="append", metavar="KEY=VALUE", default=[],
                      help="a method option (repeatable)")
    summ.add_argument("--tune-generations", type=int, default=None, metavar="N",
                      help="tuning generations (default: the preset's)")
    summ.add_argument("--tune-seed", type=int, default=0,
                      help="seed of the tuning and random conditions (default 0)")
    summ.add_argument("--summary-only", action="store_true",
                      help="do not search: summarise the seeds already in OUT")
    summ.add_argument("--no-summary", action="store_true", help="search only")
    p.set_defaults(func=_cmd_sweep)
    return p
