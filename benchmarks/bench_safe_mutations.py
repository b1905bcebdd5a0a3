"""Safe mutations against plain Gaussian mutation on a deep network (Lehman et al. 2018).

The claim (SAFE_MUTATIONS.md): in a deep network the weights differ by orders of magnitude in
how much they move the outputs, so one Gaussian mutation size is at once too large for the
sensitive weights (children whose behaviour breaks) and too small for the insensitive ones
(no progress). SM-R rescales each perturbation to a target output divergence; SM-G divides it
by each weight's output sensitivity.

The task: imitate a deep teacher network (``--depth`` fully connected relu layers of
``--width``, He initialisation ``N(0, 2 / fan_in)``, output scaled to unit variance); the
student has the same topology and starts from other random weights (also scaled to unit
output variance); score = -mean squared error over a batch of inputs in [-1, 1]. Divergences
are therefore in units of the output variance. Three measurements:

1. **Offspring divergence at one size**: every operator at the same ``sigma`` (and SM-R at
   the target), 200 children of the starting weights: median divergence and the fraction
   past the threshold (``--threshold``, mean squared output change).
2. **Offspring divergence at equal median**: each operator's size calibrated so that the
   median child diverges by exactly ``--target``; then the fraction past the threshold says
   how often a typical-sized mutation still breaks the network (the tail).
3. **GA progress**: the steady-state GA (population 32, 8 children per round, tournaments of
   5) with each calibrated operator, ``--evaluations`` children, ``--seeds`` runs; the test
   score (-MSE on unseen batches) of the best individual at checkpoints.

Run: ``python benchmarks/bench_safe_mutations.py`` (about a minute on one core);
``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tuning import (
    GaParams,
    Mutation,
    SteadyStateGA,
    evaluate_candidates,
    output_divergence,
    output_sensitivity,
)

OPERATORS = ("gaussian", "sm-r", "sm-g-sum", "sm-g-abs", "sm-g-so")


class TeacherTask(Task):
    """-MSE against a teacher network over ``batch`` inputs drawn from ``seed + r``."""

    name = "deep-teacher"
    worst_score = -1e9

    def __init__(self, net: WannNetwork, teacher_weights: np.ndarray, batch: int = 64):
        self.net, self.teacher_weights, self.batch = net, teacher_weights, batch
        self.n_inputs, self.n_outputs = net.n_inputs, net.n_outputs

    def _inputs(self, seed, n_repeats):
        return np.stack([np.random.default_rng(seed + r).uniform(-1, 1, (self.batch,
                                                                          self.n_inputs))
                         for r in range(n_repeats)])

    def evaluate(self, nets, weights, *, seed, n_repeats=1):  # not used here
        raise NotImplementedError

    def evaluate_weights(self, net, conn_weights, *, seed, n_repeats=1):
        x = self._inputs(seed, n_repeats)
        target = net.activate_weights(x, self.teacher_weights)
        out = net.activate_weights(x[None], np.asarray(conn_weights)[:, None, None, :])
        with np.errstate(all="ignore"):
            mse = ((out - target) ** 2).mean(axis=(-1, -2))
        return np.where(np.isfinite(mse), -mse, self.worst_score)

    def sample_inputs(self, net, conn_weights, *, seed, n):
        return np.random.default_rng(seed).uniform(-1, 1, (n, self.n_inputs))


def deep_network(depth: int, width: int, n_inputs: int = 2, act: int = 9) -> WannNetwork:
    """inputs -> depth x (width relu) -> 1 linear output, fully connected, bias everywhere."""
    acts = [1] * (1 + n_inputs)
    layers = [list(range(1, 1 + n_inputs))]
    nxt = 1 + n_inputs
    for _ in range(depth):
        layers.append(list(range(nxt, nxt + width)))
        acts += [act] * width
        nxt += width
    layers.append([nxt])
    acts.append(1)
    edges = [(s, d) for prev, cur in zip(layers[:-1], layers[1:]) for d in cur
             for s in [0, *prev]]
    return WannNetwork.from_edges(n_inputs, 1, acts, edges)


def random_weights(net: WannNetwork, gain: float, rng: np.random.Generator) -> np.ndarray:
    """``N(0, gain^2 / fan_in)`` per connection, then the output layer rescaled and its bias
    shifted so the output has mean 0 and standard deviation 1 over inputs in [-1, 1]."""
    fan_in = np.diff(net.in_ptr)[net.conn_dst]
    w = rng.normal(0.0, gain / np.sqrt(fan_in))
    x = np.random.default_rng(12345).uniform(-1, 1, (2000, net.n_inputs))
    out = net.activate_weights(x, w)[:, 0]
    into_output = net.conn_dst == net.n_nodes - 1
    w[into_output] /= out.std() if out.std() > 0 else 1.0
    w[into_output & (net.conn_src == 0)] -= net.activate_weights(x, w).mean()  # centre
    return w


def make_operator(name: str, size: float, target: float) -> Mutation:
    if name == "sm-r":
        return Mutation("sm-r", target_divergence=size, sigma=0.1)
    return Mutation(name, sigma=size, target_divergence=target)


def divergences(net, w, x, op: Mutation, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    children = np.array([op(net, w, x, rng=rng) for _ in range(n)])
    return output_divergence(net, w, children, x)


def calibrate(net, w, x, name: str, target: float, n: int, seed: int) -> float:
    """Operator size whose median child divergence is ``target`` (bisection on log size)."""
    if name == "sm-r":
        return target
    lo, hi = 1e-5, 10.0
    for _ in range(30):
        mid = math.sqrt(lo * hi)
        med = np.median(divergences(net, w, x, make_operator(name, mid, target), n, seed))
        if med < target:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1.05:
            break
    return math.sqrt(lo * hi)


def ga_run(task, net, w0, op: Mutation, evaluations: int, seed: int,
           checkpoints: list[int]) -> list[float]:
    params = GaParams(pop_size=32, n_offspring=8, tournament_size=5)
    ga = SteadyStateGA(net, op, params,
                       experience_fn=lambda w, s: task.sample_inputs(net, w, seed=s, n=100))
    rng = np.random.default_rng(seed)
    state = ga.init(w0, rng=rng)
    done, out, i = 0, [], 0
    while done < evaluations:
        x, state = ga.ask(state, rng=rng)
        state = ga.tell(state, x, evaluate_candidates(task, net, x, seed=done, n_repeats=1))
        done += len(x) if state.generation > 1 else 0
        while i < len(checkpoints) and done >= checkpoints[i]:
            best = ga.current(state)
            out.append(float(evaluate_candidates(task, net, best[None], seed=10**6,
                                                 n_repeats=8)[0]))
            i += 1
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--gain", type=float, default=math.sqrt(2.0),
                    help="weights ~ N(0, gain^2 / fan_in) (default sqrt 2: He init)")
    ap.add_argument("--sigma", type=float, default=0.01,
                    help="size for measurement 1 (default 0.01, the reference's)")
    ap.add_argument("--target", type=float, default=0.01,
                    help="median divergence for measurements 2 and 3 (default 0.01)")
    ap.add_argument("--threshold", type=float, default=0.1,
                    help="divergence counted as broken (default 0.1)")
    ap.add_argument("--children", type=int, default=200)
    ap.add_argument("--evaluations", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--json", default=None, metavar="FILE")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()

    net = deep_network(args.depth, args.width)
    task = TeacherTask(net, random_weights(net, args.gain, np.random.default_rng(1)))
    w0 = random_weights(net, args.gain, np.random.default_rng(2))
    x = task.sample_inputs(net, w0, seed=0, n=100)
    sens = output_sensitivity(net, w0, x, "abs")
    print(f"deep teacher task: {args.depth} relu layers x {args.width}, "
          f"{net.n_connections} connections; output sensitivity per weight (SM-G-ABS) from "
          f"{np.min(sens[sens > 0]):.1e} to {sens.max():.1e}, median {np.median(sens):.1e}")
    result: dict = {"settings": vars(args), "n_connections": net.n_connections}

    print(f"\n1. {args.children} children of the start at one size (sigma {args.sigma}, "
          f"SM-R target {args.target}); broken = divergence > {args.threshold}")
    print(f"{'operator':10s} {'median D':>10s} {'broken':>8s}")
    same = {}
    for name in OPERATORS:
        size = args.target if name == "sm-r" else args.sigma
        d = divergences(net, w0, x, make_operator(name, size, args.target), args.children, 0)
        same[name] = {"median": float(np.median(d)), "broken": float(np.mean(d > args.threshold))}
        print(f"{name:10s} {same[name]['median']:10.3g} {same[name]['broken']:8.1%}")
    result["same_size"] = same

    print(f"\n2. sizes calibrated to a median divergence of {args.target}: the tail")
    print(f"{'operator':10s} {'size':>9s} {'p90/p10':>8s} {'broken':>8s}")
    calibrated, sizes = {}, {}
    for name in OPERATORS:
        sizes[name] = calibrate(net, w0, x, name, args.target, 100, 1)
        d = divergences(net, w0, x, make_operator(name, sizes[name], args.target),
                        args.children, 2)
        calibrated[name] = {"size": sizes[name],
                            "p90_p10": float(np.percentile(d, 90) / np.percentile(d, 10)),
                            "broken": float(np.mean(d > args.threshold))}
        c = calibrated[name]
        print(f"{name:10s} {c['size']:9.3g} {c['p90_p10']:8.1f} {c['broken']:8.1%}")
    result["calibrated"] = calibrated

    checkpoints = sorted({args.evaluations // 4, args.evaluations // 2, args.evaluations})
    start = float(evaluate_candidates(task, net, w0[None], seed=10**6, n_repeats=8)[0])
    print(f"\n3. steady-state GA, calibrated sizes, {args.seeds} seeds: test -MSE of the best "
          f"(start {start:.4f})")
    print(f"{'operator':10s} " + " ".join(f"{c:>11d}" for c in checkpoints) + "   (evaluations)")
    progress = {}
    for name in OPERATORS:
        op = make_operator(name, sizes[name], args.target)
        runs = np.array([ga_run(task, net, w0, op, args.evaluations, s, checkpoints)
                         for s in range(args.seeds)])
        progress[name] = {"checkpoints": checkpoints, "mean": runs.mean(axis=0).tolist(),
                          "runs": runs.tolist()}
        print(f"{name:10s} " + " ".join(f"{v:11.4f}" for v in runs.mean(axis=0)))
    result["ga"] = {"start": start, **progress}
    result["seconds"] = time.perf_counter() - t0
    print(f"\n({result['seconds']:.0f} s)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
