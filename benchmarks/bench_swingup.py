"""Swing-up evaluation speed (issue 3): the project's evaluator against what a neat-python user
writes today, on one core.

Population: 192 fixed, seeded networks: the reference champions ``swing.out`` and
``sample_best.out`` (from ``../shared/reference/wann/``) plus 190 grown from the minimal
topology by seeded WANN mutations (``WannGenome.mutate``) to sizes spread evenly over 5..300
enabled connections. Each runs 6 shared weights x 3 repetitions of full episodes (1000 steps
unless the cart leaves the track).

Measured, side by side, in environment steps per second (one step = one network forward plus
one physics step):

(a) the project's evaluator: ``SwingUpTask().rollouts`` (compiled engine), whole population;
(b) neat-python 2.0: ``neat.nn.FeedForwardNetwork.create(genome, config, unique_value=w)`` and
    ``CartPoleSwingUpEnv.step`` one step at a time, on a subsample (one repetition);
(c) the project's plain reference path, ``SwingUpTask(engine="numpy")``, on the same subsample;
(d) the evaluator with ``exact_math=True`` (libm for sin, cos, gaussian, tanh, sigmoid), whole
    population.

Also: one generation's seconds with (a) (wall clock, best of 3, and the process's CPU time:
the machine may be shared), peak memory, the engine's load time (``--cold`` also times a first
compile, in a subprocess with an empty numba cache), (a)'s cost by network size, and (a)'s
time for 48 / 96 / 192 networks.

Usage::

    python benchmarks/bench_swingup.py            # table
    python benchmarks/bench_swingup.py --json     # one JSON object
    python benchmarks/bench_swingup.py --cold     # also the first compile (about 10 s more)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import neat  # noqa: E402
import numpy as np  # noqa: E402

from wann_plugin.genome import WannGenome  # noqa: E402
from wann_plugin.network import WannNetwork  # noqa: E402
from wann_plugin.tasks.swingup import CartPoleSwingUpEnv, SwingUpTask  # noqa: E402

REF = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "wann"
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
N_REPEATS = 3
SEED = 1234  # episode seeds SEED .. SEED + 2


def genome_config():
    cfg = WannGenome.parse_config({"num_inputs": "5", "num_outputs": "1"})
    cfg.innovation_tracker = neat.InnovationTracker()
    return cfg


def load_champion(name: str) -> WannNetwork:
    m = np.loadtxt(REF / name, delimiter=",")
    return WannNetwork.from_matrix(m[:, :-1], m[:, -1], 5, 1, key=name)


def grow_population(n_grown: int, *, lo: int = 5, hi: int = 300, n_lineages: int = 10,
                    seed: int = 0) -> list[WannNetwork]:
    """Networks of evenly spread sizes: lineage j keeps mutating one genome (seeded) and takes
    a snapshot each time it reaches its next target size."""
    cfg = genome_config()
    targets = np.round(np.linspace(lo, hi, n_grown)).astype(int)
    nets = []
    for j in range(n_lineages):
        rng = np.random.default_rng([seed, j])
        g = WannGenome(j)
        g.configure_new(cfg, rng=rng)
        for target in targets[j::n_lineages]:
            while sum(c.enabled for c in g.connections.values()) < target:
                g.mutate(cfg, rng=rng)
            nets.append(WannNetwork.from_genome(g, cfg))
    return nets


def neat_genome(net: WannNetwork, cfg) -> WannGenome:
    """A neat-python genome equal to ``net``: inputs -1..-5, bias -6 (fed 1.0), output 0."""
    keys = [cfg.bias_key] + [-(i + 1) for i in range(5)]
    keys += list(range(1, net.n_hidden + 1)) + [0]
    g = WannGenome(0)
    from wann_plugin.activations import activation_by_id
    for pos in range(6, net.n_nodes):
        g.nodes[keys[pos]] = WannGenome.make_node(
            cfg, keys[pos], activation_by_id(int(net.activations[pos])).name)
    for i, (s, d) in enumerate(zip(net.conn_src, net.conn_dst, strict=True)):
        key = (keys[s], keys[d])
        g.connections[key] = WannGenome.make_connection(cfg, key, i, 1.0, True)
    return g


def run_neat_python(nets, cfg) -> tuple[int, float]:
    """(b): what a neat-python user writes; one episode per network and weight."""
    config = SimpleNamespace(genome_config=cfg)
    env = CartPoleSwingUpEnv()
    steps, t0 = 0, time.perf_counter()
    for net in nets:
        genome = neat_genome(net, cfg)
        for w in WEIGHTS:
            ffn = neat.nn.FeedForwardNetwork.create(genome, config, unique_value=float(w))
            obs, _ = env.reset(seed=SEED)
            for _ in range(1000):
                out = ffn.activate(list(obs) + [1.0])
                obs, _, terminated, _, _ = env.step(np.array(out))
                steps += 1
                if terminated:
                    break
    return steps, time.perf_counter() - t0


def timed(task, nets, n_repeats=N_REPEATS, best_of=1, cpu=False):
    """(steps, best wall seconds) or, with ``cpu``, (steps, best wall, best CPU seconds)."""
    best = best_cpu = None
    for _ in range(best_of):
        t0, c0 = time.perf_counter(), time.process_time()
        roll = task.rollouts(nets, WEIGHTS, seed=SEED, n_repeats=n_repeats)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = dc if best_cpu is None else min(best_cpu, dc)
    if cpu:
        return int(roll.steps.sum()), best, best_cpu
    return int(roll.steps.sum()), best


COLD = """
import time, numpy as np
t0 = time.perf_counter()
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.swingup import SwingUpTask
t1 = time.perf_counter()
net = WannNetwork.from_edges(5, 1, [1] * 7, [(0, 6)])
SwingUpTask(max_steps=10).evaluate([net], np.ones(1), seed=0)
print(time.perf_counter() - t1)
"""


def cold_compile_seconds() -> float:
    """The engine's first compile: a fresh interpreter with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", COLD], env=env, capture_output=True,
                             text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--subsample", type=int, default=8,
                        help="networks in the (b)/(c) subsample (default 8)")
    parser.add_argument("--cold", action="store_true",
                        help="also time the engine's first compile (empty numba cache)")
    args = parser.parse_args(argv)
    say = (lambda *a: None) if args.json else print

    t0 = time.perf_counter()
    pop = [load_champion("swing.out"), load_champion("sample_best.out")] + grow_population(190)
    n_conns = np.array([n.n_connections for n in pop])
    say(f"population: {len(pop)} networks, {n_conns.min()}..{n_conns.max()} connections "
        f"(mean {n_conns.mean():.0f}), built in {time.perf_counter() - t0:.1f} s")

    fast = SwingUpTask()
    t0 = time.perf_counter()
    fast.evaluate(pop[:1], WEIGHTS[:1], seed=0)  # compile or load the engine
    ready_s = time.perf_counter() - t0
    say(f"engine ready in {ready_s:.2f} s (compile on first use, then cached)")
    cold_s = cold_compile_seconds() if args.cold else None
    if cold_s is not None:
        say(f"first compile (empty cache) {cold_s:.2f} s")

    # (a) one generation, best of 3
    steps_a, gen_s, gen_cpu_s = timed(fast, pop, best_of=3, cpu=True)
    rate_a = steps_a / gen_s

    # (d) the same with libm for the transcendental activations
    exact = SwingUpTask(exact_math=True)
    exact.evaluate(pop[:1], WEIGHTS[:1], seed=0)
    steps_d, time_d = timed(exact, pop)
    rate_d = steps_d / time_d

    # subsample spread over sizes, champions included
    order = np.argsort(n_conns)
    sub_idx = sorted(set(order[np.linspace(0, len(pop) - 1, args.subsample).astype(int)])
                     | {0, 1})
    sub = [pop[i] for i in sub_idx]
    steps_b, time_b = run_neat_python(sub, genome_config())
    rate_b = steps_b / time_b
    steps_c, time_c = timed(SwingUpTask(engine="numpy"), sub, n_repeats=1)
    rate_c = steps_c / time_c

    by_size = []
    edges = [5, 50, 100, 150, 200, 250, 301]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        part = [n for n, c in zip(pop, n_conns, strict=True) if lo <= c < hi]
        s, dt = timed(fast, part, best_of=2)
        by_size.append({"connections": f"{lo}-{hi - 1}", "n_nets": len(part),
                        "mean_connections": float(np.mean([n.n_connections for n in part])),
                        "mean_hidden": float(np.mean([n.n_hidden for n in part])),
                        "steps": s, "seconds": dt, "steps_per_s": s / dt,
                        "ns_per_step": 1e9 * dt / s})
    by_pop = []
    shuffled = [pop[i] for i in np.random.default_rng(0).permutation(len(pop))]
    for k in (48, 96, 192):
        s, dt = timed(fast, shuffled[:k], best_of=2)
        by_pop.append({"n_nets": k, "steps": s, "seconds": dt, "steps_per_s": s / dt})

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "steps_per_s": rate_a,
        "ratio_vs_neat_python": rate_a / rate_b,
        "ratio_vs_reference_path": rate_a / rate_c,
        "generation_s": gen_s,
        "peak_rss_mb": peak_mb,
        "steps_per_generation": steps_a,
        "steps_per_cpu_s": steps_a / gen_cpu_s,
        "generation_cpu_s": gen_cpu_s,
        "neat_python_steps_per_s": rate_b,
        "reference_path_steps_per_s": rate_c,
        "exact_math_steps_per_s": rate_d,
        "ratio_vs_exact_math": rate_a / rate_d,
        "engine_ready_s": ready_s,
        "cold_compile_s": cold_s,
        "subsample_networks": len(sub),
        "by_connections": by_size,
        "by_population_size": by_pop,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return result
    say(f"\none generation: {len(pop)} nets x {len(WEIGHTS)} weights x {N_REPEATS} reps = "
        f"{steps_a} steps (episodes end when the cart leaves the track)")
    say(f"(a) project evaluator        {rate_a:12,.0f} steps/s   generation {gen_s:.3f} s "
        f"({steps_a / gen_cpu_s:,.0f} steps per CPU second)")
    say(f"(b) neat-python FFN + env    {rate_b:12,.0f} steps/s   ({len(sub)} nets, "
        f"{steps_b} steps)")
    say(f"(c) plain reference path     {rate_c:12,.0f} steps/s   (same subsample)")
    say(f"(d) evaluator, exact_math    {rate_d:12,.0f} steps/s   (libm; whole population)")
    say(f"a/b = {rate_a / rate_b:,.0f}x    a/c = {rate_a / rate_c:,.0f}x    "
        f"a/d = {rate_a / rate_d:.1f}x    peak RSS {peak_mb:.0f} MB")
    say("\n(a) by network size")
    say(f"{'connections':>12} {'nets':>5} {'mean conns':>10} {'mean hidden':>11} "
        f"{'steps/s':>12} {'ns/step':>8}")
    for row in by_size:
        say(f"{row['connections']:>12} {row['n_nets']:>5} {row['mean_connections']:>10.0f} "
            f"{row['mean_hidden']:>11.0f} {row['steps_per_s']:>12,.0f} "
            f"{row['ns_per_step']:>8.0f}")
    say("\n(a) by population size")
    say(f"{'networks':>9} {'steps':>9} {'seconds':>8} {'steps/s':>12}")
    for row in by_pop:
        say(f"{row['n_nets']:>9} {row['steps']:>9} {row['seconds']:>8.3f} "
            f"{row['steps_per_s']:>12,.0f}")
    return result


if __name__ == "__main__":
    main()
