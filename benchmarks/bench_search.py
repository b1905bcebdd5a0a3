"""Whole generations of real searches, one core: where a generation's time goes.

Each task runs as ``wann run --out`` runs it (neat-python's ``Population``, our evaluator,
the progress reporter and a checkpointer without ``--checkpoint-every``), in its own process
(so peak memory is the task's own), pinned to one thread. After ``--warmup`` generations,
``--generations`` generations are timed and split into

evaluation
    the task's forward passes and episodes (``Task.evaluate``);
compile
    the rest of the evaluator: compiling genomes to networks, checks, writing results back;
reproduction
    copying and mutating children (``WannReproduction.reproduce`` without its ranking);
ranking
    the Pareto sort of the population (``WannReproduction.rank``);
bookkeeping
    everything else in the generation: the checkpoint snapshot, speciation, progress and
    statistics reporters.

It prints seconds per generation, each part's share, the peak memory (max RSS) and the
projected time of the paper's full run: generations x seconds per generation, with the
evaluation part scaled by full / cut episode length where episodes are cut here; with
``--threads N`` also each task in-process on N threads (``wann run --threads N``: wall
seconds, the whole generation's speed-up against one thread; there evaluation is the
evaluator's call less its own compile clock, the write-back included); with
``--workers N`` also the measured speed-up of the evaluator call (compile and evaluation:
CPU seconds in-process against wall seconds on N worker processes) and the projection on N
cores. With ``--detail`` each task also runs once more with the steps of its
children timed one by one (see :data:`DETAIL`): calls and microseconds a call per
generation, where the reproduction and compile parts go (these figures include about 0.3 us
a call of timing; the main figures come from the run without it).

    python benchmarks/bench_search.py [--tasks digits mnist] [--generations 3] [--warmup 1]
                                      [--workers 2] [--threads 2] [--detail] [--json]

Tasks: swingup (population 192), digits (960, tournament 32, 5% initial connections),
mnist (960, the paper's settings), biped (480, episodes cut to 200 steps), carracing (64,
episodes cut to 100 steps).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: name -> (config, overrides, task options, paper generations, full episode steps, cut steps)
TASKS = {
    "swingup": ("examples/swingup/config.cfg", {"pop_size": 192}, {}, 1024, None, None),
    "digits": ("examples/digits/config.cfg",
               {"pop_size": 960, "tournament_size": 32, "initial_connection_prob": 0.05},
               {}, 4096, None, None),
    "mnist": ("examples/mnist/config.cfg", {"pop_size": 960}, {}, 4096, None, None),
    "biped": ("examples/biped/config.cfg", {"pop_size": 480}, {"max_steps": "200"}, 2048,
              1600, 200),
    "carracing": ("examples/carracing/config.cfg", {"pop_size": 64}, {"max_steps": "100"},
                  1024, 1000, 100),
}
PARTS = ("evaluation", "compile", "reproduction", "ranking", "bookkeeping")

#: ``--detail``: (label, module, owner in the module or None, attribute) of each timed step.
#: Module-level functions are replaced in their module (their callers look them up there).
DETAIL = (
    ("copy", "wann_plugin.genome", "WannGenome", "copy_of"),
    ("choose operator", "wann_plugin.genome", None, "choose_operator"),
    ("add connection", "wann_plugin.genome", "WannGenome", "mutate_add_connection"),
    ("add node", "wann_plugin.genome", "WannGenome", "mutate_add_node"),
    ("enable", "wann_plugin.genome", "WannGenome", "mutate_enable"),
    ("change activation", "wann_plugin.genome", "WannGenome", "mutate_change_activation"),
    ("ancestry", "wann_plugin._ancestors", "AncestorLog", "__setitem__"),
    ("compile (all)", "wann_plugin._compile_cache", "NetworkCache", "compile"),
    ("compile: patch", "wann_plugin._compile_cache", None, "patch_network"),
    ("equal networks", "wann_plugin.evaluation", None, "_distinct_networks"),
    ("write back", "wann_plugin.evaluation", "WannEvaluator", "write_back_all"),
)


class _Clock:
    """Accumulates the seconds spent inside wrapped callables, by part: CPU seconds of this
    process (robust on a shared machine), or wall seconds when workers do the evaluation."""

    def __init__(self, now=time.process_time):
        self.seconds = dict.fromkeys(("eval_call", "forward", "reproduce", "rank", "wall",
                                      "compile_wall"), 0.0)
        self.now = now
        self._start = None

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            t = self.now()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += self.now() - t
        return timed


def _time_steps(calls: dict, now=time.perf_counter) -> None:
    """Wrap every step of :data:`DETAIL`, adding ``[seconds, calls]`` to ``calls[label]``."""
    import importlib

    for label, module_name, owner_name, attr in DETAIL:
        module = importlib.import_module(module_name)
        owner = getattr(module, owner_name) if owner_name else module
        raw = owner.__dict__[attr] if owner_name else getattr(module, attr)
        fn = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
        acc = calls.setdefault(label, [0.0, 0])

        def timed(*args, _fn=fn, _acc=acc, **kwargs):
            t = now()
            try:
                return _fn(*args, **kwargs)
            finally:
                _acc[0] += now() - t
                _acc[1] += 1
        setattr(owner, attr, classmethod(timed) if isinstance(raw, classmethod)
                else staticmethod(timed) if isinstance(raw, staticmethod) else timed)


def _edges(clock: _Clock):
    from neat.reporting import BaseReporter

    class First(BaseReporter):
        def start_generation(self, generation):
            clock._start = clock.now()

    class Last(BaseReporter):
        def end_generation(self, config, population, species_set):
            clock.seconds["wall"] += clock.now() - clock._start

    return First(), Last()


def task_config(name: str):
    """The neat-python config of benchmark task ``name`` (:data:`TASKS`: the example config
    with the benchmark's population, tournament, initial connections and task options)."""
    from wann_plugin.config import load_config

    path, overrides, options = TASKS[name][:3]
    config = load_config(REPO / path)
    config.pop_size = overrides.get("pop_size", config.pop_size)
    if "tournament_size" in overrides:
        config.reproduction_config.tournament_size = overrides["tournament_size"]
    if "initial_connection_prob" in overrides:
        config.genome_config.initial_connection_prob = overrides["initial_connection_prob"]
    config.wann.task_options.update(options)
    return config


def run_reporters(population, config, evaluator, generations: int) -> list:
    """What ``wann run --out`` adds to ``population`` besides the evaluator, in its order: the
    progress reporter, a checkpointer without ``--checkpoint-every`` (attached, writing to a
    temporary folder) and, in trees that have it, the heap freeze. Not added: each caller
    places its own clocks around them."""
    from wann_plugin.checkpoint import Checkpointer
    from wann_plugin.config import config_text
    from wann_plugin.runner import ProgressReporter

    progress = ProgressReporter(None, None)
    folder = tempfile.mkdtemp(prefix="bench-search-")
    checkpointer = Checkpointer(folder, None, config_text=config_text(config),
                                generations=generations, evaluator=evaluator,
                                progress=progress)
    checkpointer.attach(population)
    reporters = [progress, checkpointer]
    try:  # what run_search adds (newer trees)
        from wann_plugin.runner import _FreezeHeap
    except ImportError:
        pass
    else:
        reporters.append(_FreezeHeap())
    return reporters


def run_one(name: str, generations: int, warmup: int, workers: int, threads: int = 1,
            detail: bool = False) -> dict:
    """Time ``generations`` generations of task ``name`` in this process (with ``detail``,
    also each step of :data:`DETAIL`)."""
    import neat

    from wann_plugin.config import make_evaluator

    paper_gens, full_steps, cut_steps = TASKS[name][3:]
    config = task_config(name)
    executor = None
    if workers > 1:
        from wann_plugin.parallel import ProcessPool
        executor = ProcessPool(workers)
    evaluator = make_evaluator(config, executor=executor, threads=threads)
    # wall seconds when others work too (process_time would add up the threads' CPU time)
    clock = _Clock(time.perf_counter if executor is not None or threads > 1
                   else time.process_time)
    t = clock.now()
    population = neat.Population(config)
    first_seconds = clock.now() - t
    first, last = _edges(clock)
    progress, checkpointer, *freeze = run_reporters(population, config, evaluator,
                                                     warmup + generations)
    for r in (first, evaluator, progress, checkpointer, last, *freeze):
        population.add_reporter(r)
    # patched on the classes (this process runs one task): instances stay picklable for the
    # checkpointer
    repro_type, task_type = type(population.reproduction), type(evaluator.task)
    repro_type.reproduce = clock.wrap("reproduce", repro_type.reproduce)
    repro_type.rank = clock.wrap("rank", repro_type.rank)
    task_type.evaluate = clock.wrap("forward", task_type.evaluate)
    timed_call = clock.wrap("eval_call", evaluator)

    def fitness(genomes, config):
        timed_call(genomes, config)
        clock.seconds["compile_wall"] += evaluator.last_stats.get("compile_seconds", 0.0)
    population.run(fitness, warmup)
    clock.seconds = dict.fromkeys(clock.seconds, 0.0)
    steps: dict = {}
    if detail:
        _time_steps(steps)
    population.run(fitness, generations)
    evaluator.close()
    s = clock.seconds
    per_gen = {
        "evaluation": s["forward"] if executor is None else s["eval_call"],
        "compile": 0.0 if executor is None else 0.0,
        "reproduction": s["reproduce"] - s["rank"],
        "ranking": s["rank"],
    }
    if executor is None and threads > 1:
        # the threads' task calls overlap: the evaluator's own compile clock splits its call
        per_gen["compile"] = s["compile_wall"]
        per_gen["evaluation"] = s["eval_call"] - s["compile_wall"]
    elif executor is None:
        per_gen["compile"] = s["eval_call"] - s["forward"]
    per_gen["bookkeeping"] = s["wall"] - s["eval_call"] - s["reproduce"]
    per_gen = {k: v / generations for k, v in per_gen.items()}
    wall = s["wall"] / generations
    row = {
        "task": name, "pop_size": config.pop_size, "generations": generations,
        "warmup": warmup, "workers": workers, "threads": threads,
        "seconds_per_generation": wall,
        "parts": per_gen, "initial_population_seconds": first_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "paper_generations": paper_gens, "full_steps": full_steps, "cut_steps": cut_steps,
        "mean_connections": sum(g.size()[1] for g in population.population.values())
        / len(population.population),
    }
    if detail:
        row["steps"] = {label: {"ms_per_generation": 1e3 * sec / generations,
                                "calls_per_generation": n / generations,
                                "us_per_call": 1e6 * sec / max(n, 1)}
                        for label, (sec, n) in steps.items()}
    return row


def _child(name: str, args) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, __file__, "--one", name, "--generations", str(args.generations),
           "--warmup", str(args.warmup), "--workers", str(args.workers_of_child),
           "--threads", str(args.threads_of_child)]
    if args.detail_of_child:
        cmd.append("--detail")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def projection(row: dict, speedup: float | None = None) -> float:
    """Seconds of the paper's full run: generations x seconds per generation, evaluation
    scaled to full episodes; with ``speedup`` the evaluation is divided by it."""
    parts = dict(row["parts"])
    if row["full_steps"]:
        parts["evaluation"] *= row["full_steps"] / row["cut_steps"]
    if speedup:  # the evaluator call (evaluation + compile) is what the workers share
        parts["evaluation"] = (parts["evaluation"] + parts["compile"]) / speedup
        parts["compile"] = 0.0
    return row["paper_generations"] * sum(parts.values())


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--generations", type=int, default=3, help="timed generations (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed generations first (default 1)")
    ap.add_argument("--workers", type=int, default=0,
                    help="also run each task on N worker processes to measure the speed-up")
    ap.add_argument("--threads", type=int, default=1,
                    help="also run each task in-process on N threads (wann run --threads N) "
                         "to measure the speed-up of a whole generation, wall clock")
    ap.add_argument("--detail", action="store_true",
                    help="also run each task with its children's steps timed one by one")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generations < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--generations and --threads must be >= 1 and --warmup >= 0")
    if args.one:
        print(json.dumps(run_one(args.one, args.generations, args.warmup, args.workers,
                                 args.threads, args.detail)))
        return 0
    rows = []
    for name in args.tasks:
        args.workers_of_child, args.threads_of_child, args.detail_of_child = 0, 1, False
        row = _child(name, args)
        if args.detail:
            args.detail_of_child = True
            det = _child(name, args)
            args.detail_of_child = False
            row["detail"] = {"seconds_per_generation": det["seconds_per_generation"],
                             "parts": det["parts"], "steps": det["steps"]}
        if args.threads > 1:
            args.threads_of_child = args.threads
            thr = _child(name, args)
            args.threads_of_child = 1
            row["on_threads"] = {"n": args.threads, "row": thr,
                                 "speedup": row["seconds_per_generation"]
                                 / max(thr["seconds_per_generation"], 1e-12),
                                 "projected_seconds": projection(thr)}
        if args.workers > 1:
            args.workers_of_child = args.workers
            par = _child(name, args)
            # the evaluator call on both sides: in-process it is evaluation + compile (CPU);
            # on workers the compile happens inside the wall time counted as evaluation
            serial = row["parts"]["evaluation"] + row["parts"]["compile"]
            row["speedup"] = serial / max(par["parts"]["evaluation"], 1e-12)
            row["projected_seconds_n_cores"] = projection(row, row["speedup"])
        row["projected_seconds"] = projection(row)
        rows.append(row)
    if args.json:
        print(json.dumps({"rows": rows, "generations": args.generations,
                          "warmup": args.warmup}, indent=1))
        return 0
    head = (f"{'task':10s} {'pop':>4s} {'s/gen':>7s} " + " ".join(f"{p[:7]:>7s}" for p in PARTS)
            + f" {'outside':>7s} {'peak MB':>7s} {'paper run':>10s}")
    print(head)
    for r in rows:
        total = r["seconds_per_generation"]
        shares = " ".join(f"{100 * r['parts'][p] / total:6.1f}%" for p in PARTS)
        outside = 100 * (1 - r["parts"]["evaluation"] / total)
        print(f"{r['task']:10s} {r['pop_size']:4d} {total:7.3f} {shares} {outside:6.1f}% "
              f"{r['peak_rss_mb']:7.0f} {_hours(r['projected_seconds']):>10s}")
        if "speedup" in r:
            print(f"{'':10s} evaluator call on {args.workers} workers: {r['speedup']:.2f}x, paper run "
                  f"{_hours(r['projected_seconds_n_cores'])}")
        if "on_threads" in r:
            t = r["on_threads"]
            print(f"{'':10s} on {t['n']} threads: {t['row']['seconds_per_generation']:.3f} s a "
                  f"generation (wall), {t['speedup']:.2f}x, paper run "
                  f"{_hours(t['projected_seconds'])}")
        if "detail" in r:
            print(f"{'':10s} {'step (timed run)':18s} {'ms/gen':>7s} {'calls':>6s} {'us/call':>8s}")
            for label, v in r["detail"]["steps"].items():
                print(f"{'':10s} {label:18s} {v['ms_per_generation']:7.2f} "
                      f"{v['calls_per_generation']:6.0f} {v['us_per_call']:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
