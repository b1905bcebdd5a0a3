"""Generation time of BipedalWalker-sized work: serially, on 2 local processes
(:class:`wann_plugin.ProcessPool`) and on a 2-worker Dask ``LocalCluster`` (loopback).

The paper's generation (Gaier & Ha 2019, BipedalWalker) is 480 genomes x 6 shared weights x
4 repeats (24 episodes) of up to 1600 steps. Scaled here so the whole benchmark runs in about
a minute or two on 2 cores (override with the options):

===============  =======  ==========
                 paper    default
===============  =======  ==========
genomes          480      48
shared weights   6        6
repeats          4        2
max steps        1600     250
===============  =======  ==========

The networks are random WANN-like topologies (24 inputs, 4 outputs, 0-6 hidden nodes, about
half of the possible input connections): they fall or stand in roughly the mix an early
generation has, so episodes end at different times as in a real run.

Figures
    ``seconds``: wall time of one generation, the fastest of ``--generations`` timed ones
    (after a warm-up generation that starts the workers and builds the environments; the
    engines take turns generation by generation, so other programs on the machine disturb
    them alike; ``seconds_mean`` is the mean); ``speedup``: serial / engine, where ``serial`` is
    the default in-process evaluation (the whole population in one batch);
    ``speedup_same_batches``: ``serial-b`` / engine, where ``serial-b`` runs the parallel
    engines' batches one after the other in-process (a batch's vector environment steps until
    its slowest episode ends, so batching alone changes the time). ``overhead_ms``: per
    batch, the time the workers were not scoring, ``(wall * n_workers - sum of worker scoring
    time) / n_batches`` (transport, scheduling, idle tail). ``noop_ms``: round trip of a batch
    that unpacks its networks and does not score them, measured on 64 such batches run
    ``n_workers`` at a time.

Usage::

    python benchmarks/bench_parallel.py            # a table
    python benchmarks/bench_parallel.py --json     # one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import wait

import numpy as np

from wann_plugin.evaluation import WannEvaluator
from wann_plugin.network import WannNetwork
from wann_plugin.parallel import (
    ProcessPool,
    TaskRef,
    _noop_batch,
    dask_executor,
    n_workers,
    ship_task,
    submit_batch,
)
from wann_plugin.tasks.biped import BipedTask
from wann_plugin.transport import NetworkBatch  # noqa: E402


def random_population(n: int, n_inputs: int = 24, n_outputs: int = 4, seed: int = 0) -> dict:
    """``n`` random feed-forward WANN topologies keyed 1..n."""
    rng = np.random.default_rng(seed)
    nets = {}
    for key in range(1, n + 1):
        n_hidden = int(rng.integers(0, 7))
        first_out = 1 + n_inputs + n_hidden
        acts = [1] * (1 + n_inputs) + list(rng.integers(1, 11, size=n_hidden + n_outputs))
        edges = set()
        for d in range(1 + n_inputs, first_out + n_outputs):
            for s in range(min(d, first_out)):
                if rng.random() < (0.5 if s <= n_inputs else 0.7) / (1 + 0.1 * n_hidden):
                    edges.add((s, d))
        for o in range(first_out, first_out + n_outputs):  # every output wired
            edges.add((int(rng.integers(0, first_out)), o))
        nets[key] = WannNetwork.from_edges(n_inputs, n_outputs, acts, sorted(edges), key=key)
    return nets


def _generation(evaluator: WannEvaluator, nets: dict, generation: int) -> tuple[float, dict]:
    t = time.perf_counter()
    scores, failures = evaluator.score(nets, 1000 + generation)
    wall = time.perf_counter() - t
    if failures:
        raise RuntimeError(f"task failed on genomes {sorted(failures)}")
    return wall, scores


def _noop_ms(executor, task, nets: dict, n: int = 64) -> float:
    """Mean round trip of a batch that is unpacked but not scored, n_workers at a time."""
    shipped = ship_task(executor, TaskRef.of(task))
    batch = NetworkBatch.pack(list(nets.values())[:4])
    wait([submit_batch(executor, _noop_batch, shipped, batch) for _ in range(8)])  # warm
    t = time.perf_counter()
    wait([submit_batch(executor, _noop_batch, shipped, batch) for _ in range(n)])
    return (time.perf_counter() - t) * n_workers(executor) / n * 1000.0


def run(args) -> dict:
    import dask
    from distributed import Client, LocalCluster

    task = BipedTask(fall_penalty=False, max_steps=args.max_steps)
    nets = random_population(args.genomes, seed=args.seed)
    results: dict = {
        "work": {"genomes": args.genomes, "weights": 6, "repeats": args.repeats,
                 "max_steps": args.max_steps, "generations_timed": args.generations,
                 "cpus": os.cpu_count()},
        "engines": {},
    }
    if not args.json:
        print(f"BipedalWalker: {args.genomes} genomes x 6 weights x {args.repeats} repeats, "
              f"up to {args.max_steps} steps; {args.generations} generation(s) timed per "
              "engine, engines taking turns", flush=True)
    # the workers' statistical profiler samples every 10 ms and holds the GIL meanwhile,
    # which slows pure-Python tasks; off here as docs/parallel.rst recommends for real runs
    dask.config.set({"distributed.worker.profile.enabled": args.dask_profile})
    batch = -(-args.genomes // (4 * args.workers))
    with ProcessPool(args.workers, tasks=[task]) as pool, \
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, host="127.0.0.1") as cluster, \
            Client(cluster) as client:
        profiling = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
        results["work"]["dask_worker_profiler"] = bool(any(profiling.values()))
        engines = {
            "serial": (None, None),
            # the parallel engines' batches one after the other: separates the effect of
            # batching (a vector env steps until its slowest episode ends) from parallelism
            "serial-b": (None, batch),
            "processes": (pool, None),
            "dask": (dask_executor(client), None),
        }
        evaluators = {name: WannEvaluator(task, n_repeats=args.repeats, executor=ex,
                                          batch_size=size)
                      for name, (ex, size) in engines.items()}
        for ev in evaluators.values():  # warm-up: workers start, environments are built
            _generation(ev, nets, -1)
        runs: dict = {name: [] for name in engines}
        scores: dict = {}
        # engines take turns, so load from other programs hits them alike; the fastest of the
        # timed generations is reported (the least disturbed)
        for g in range(args.generations):
            for name, ev in evaluators.items():
                wall, scores[name] = _generation(ev, nets, g)
                runs[name].append((wall, dict(ev.last_stats), n_workers(engines[name][0])))
        for name, timed in runs.items():
            wall, stats, workers = min(timed, key=lambda t: t[0])
            entry = {
                "seconds": wall,
                "seconds_mean": float(np.mean([t[0] for t in timed])),
                "n_workers": workers,
                "n_batches": stats["n_batches"],
                "overhead_ms": (wall * workers - stats["worker_seconds"])
                / stats["n_batches"] * 1000.0,
                "same_scores_as_serial": all(np.array_equal(scores["serial"][k], scores[name][k])
                                             for k in nets),
            }
            executor = engines[name][0]
            if executor is not None:
                entry["noop_ms"] = _noop_ms(executor, task, nets)
            results["engines"][name] = entry
    # other programs on the machine skew every figure: say how busy it was
    results["work"]["load_average_1min_after"] = os.getloadavg()[0]
    serial = results["engines"]["serial"]["seconds"]
    batched = results["engines"]["serial-b"]["seconds"]
    for entry in results["engines"].values():
        entry["speedup"] = serial / entry["seconds"]
        entry["speedup_same_batches"] = batched / entry["seconds"]
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--genomes", type=int, default=32)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--generations", type=int, default=3, help="generations timed per engine")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dask-profile", action="store_true",
                   help="keep the Dask workers' statistical profiler on (default off)")
    args = p.parse_args(argv)
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    res = run(args)
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"\n{'engine':<10} {'s/gen':>7} {'speed-up':>9} {'vs serial-b':>11} {'batches':>8} "
          f"{'overhead ms/batch':>18} {'no-op ms/batch':>15} {'same scores':>12}")
    for name, e in res["engines"].items():
        noop = f"{e['noop_ms']:15.2f}" if "noop_ms" in e else f"{'-':>15}"
        print(f"{name:<10} {e['seconds']:7.2f} {e['speedup']:9.2f} "
              f"{e['speedup_same_batches']:11.2f} {e['n_batches']:8d} "
              f"{e['overhead_ms']:18.1f} {noop} {str(e['same_scores_as_serial']):>12}")
    print("\nspeed-up: serial (one batch) / engine; vs serial-b: the same batches run serially / "
          "engine.\nsame scores: every genome's scores equal the serial run's, bit for bit.\n"
          f"1-minute load average at the end: {res['work']['load_average_1min_after']:.2f} on "
          f"{res['work']['cpus']} CPUs (the benchmark itself keeps about 2 busy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
