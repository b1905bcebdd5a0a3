"""Where one generation of a gym task spends its time: environment, encoder, network, ours.

Builds the initial population of ``examples/<task>/config.cfg`` (population and episode length
as given below), warms up (numba compile, the CarRacing encoder's fit or cache read, env
creation), then runs one generation through the evaluator, in-process, and splits its CPU
time (CPU time, not wall time: the split holds on a machine shared with other work):

* ``env``: the environment's own code (the unwrapped env's ``__init__``, ``reset`` and
  ``step``: physics, terrain, rendering);
* ``encoder``: observations to network inputs (CarRacing: the PCA of each frame);
* ``network``: the compiled forward of each step;
* ``ours``: everything else: gymnasium's wrappers and vector env as the task uses them,
  making environments, the per-step loop of ``GymTask._run_batch`` (finiteness checks,
  actions, returns), compiling genomes, the evaluator's bookkeeping.

Run it from any checkout (``PYTHONPATH=<checkout>``) to compare versions; the timers it reads
(``GymTask.last_timings``) exist in all of them.

Defaults are issue 10's settings: BipedalWalker population 480 with episodes cut to 200 steps,
CarRacing population 64 cut to 100 steps, 6 weights, one repetition. ``--profile N`` adds
cProfile's top N functions by own time.

    python benchmarks/bench_gym_generation.py [--task biped carracing] [--pop N] [--steps N]
        [--repeats R] [--max-envs N] [--profile N] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import pstats
import time
import types
from pathlib import Path

import neat

import wann_plugin.tasks.gym as gym_module
from wann_plugin.config import load_config, make_evaluator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DEFAULTS = {"biped": (480, 200), "carracing": (64, 100)}  # population, steps


class _EnvClock:
    """Adds the CPU time of an env class's own ``__init__``, ``reset`` and ``step`` (not
    nested calls of the same methods, as a subclass calling its base) while installed."""

    def __init__(self, cls: type):
        self.cls, self.seconds, self._depth, self._saved = cls, 0.0, 0, {}

    def __enter__(self):
        for name in ("__init__", "reset", "step"):
            fn = self._saved[name] = getattr(self.cls, name)
            setattr(self.cls, name, self._timed(fn))
        return self

    def __exit__(self, *exc):
        for name, fn in self._saved.items():
            setattr(self.cls, name, fn)

    def _timed(self, fn):
        def wrapper(*args, **kwargs):
            self._depth += 1
            t0 = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.thread_time() - t0
        return wrapper


def generation(task_name: str, pop: int, steps: int, repeats: int, profile: int,
               max_envs: int = 0) -> dict:
    config = load_config(EXAMPLES / task_name / "config.cfg")
    config.pop_size = pop
    settings = config.wann = dataclasses.replace(
        config.wann, n_repeats=repeats,
        task_options={**config.wann.task_options, "max_steps": str(steps),
                      **({"max_envs": str(max_envs)} if max_envs else {})})
    task = settings.make_task()
    population = neat.Population(config)
    genomes = list(population.population.items())
    evaluator = make_evaluator(config, task=task)
    evaluator(genomes[:1], config)  # warm-up: compile, encoder, envs
    env_cls = type(task._make_env().unwrapped)
    # the task's timers read this thread's CPU time instead of the wall clock
    gym_module.time = types.SimpleNamespace(perf_counter=time.thread_time)
    prof = cProfile.Profile(time.thread_time) if profile else None
    try:
        with _EnvClock(env_cls) as env_clock:
            t0 = time.thread_time()
            wall0 = time.perf_counter()
            if prof:
                prof.enable()
            evaluator(genomes, config)
            if prof:
                prof.disable()
            cpu = time.thread_time() - t0
            wall = time.perf_counter() - wall0
    finally:
        gym_module.time = time
    t = task.last_timings
    parts = {"env": env_clock.seconds, "encoder": t["encode_s"], "network": t["forward_s"]}
    parts["ours"] = cpu - sum(parts.values())
    out = {"task": task_name, "population": pop, "max_steps": steps, "repeats": repeats,
           "weights": len(settings.weights), "episodes": pop * len(settings.weights) * repeats,
           "cpu_s": cpu, "wall_s": wall,
           "seconds": parts, "share": {k: v / cpu for k, v in parts.items()}}
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(profile)
        out["profile"] = buf.getvalue()
    task.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", nargs="+", default=list(DEFAULTS), choices=list(DEFAULTS))
    ap.add_argument("--pop", type=int, default=0, help="population (default: per task)")
    ap.add_argument("--steps", type=int, default=0, help="episode cut (default: per task)")
    ap.add_argument("--repeats", type=int, default=1, help="repetitions (default 1)")
    ap.add_argument("--max-envs", type=int, default=0,
                    help="the task's max_envs (default: the task's own)")
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    results = [generation(name, args.pop or DEFAULTS[name][0], args.steps or DEFAULTS[name][1],
                          args.repeats, args.profile, args.max_envs) for name in args.task]
    if args.json:
        print(json.dumps(results))
        return 0
    for r in results:
        print(f"{r['task']}: population {r['population']}, {r['weights']} weights x "
              f"{r['repeats']} repetition(s) = {r['episodes']} episodes of <= {r['max_steps']} "
              f"steps; one generation: {r['cpu_s']:.2f} s of CPU ({r['wall_s']:.2f} s wall)")
        for key, sec in r["seconds"].items():
            print(f"  {key:12s} {sec:8.3f} s  {100 * r['share'][key]:5.1f} %")
        if "profile" in r:
            print(r["profile"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
