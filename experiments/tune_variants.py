"""Score one tuning variant on a swing-up network: how ``wann tune``'s default was chosen.

Usage (from the repository root)::

    python experiments/tune_variants.py ../shared/reference/wann/swing.out --name "start -1, 1200" \\
        --start=-1.0 --loop '{"generations": 1200}' >> results/swingup/swing-out/variants.jsonl

Runs :func:`~wann_plugin.tuning.tune_weights` (``--method``, ``--preset``, method options
``--opts`` and loop options ``--loop`` as JSON, ``--start`` a shared weight or the best one,
generator seed ``--seed``) and prints one JSON line: the test score over episodes 0..99 (the
paper's protocol), the score over 1000 fresh episodes (seeds ``7 * 10**6 + r``, a steadier
figure: it counts the rare failed swing-ups that 100 episodes may miss), the return over the
first :data:`EARLY` steps of the test episodes (``first150``: how fast the pole comes up), the
RMS of the tuned weights, the validation score, the episodes used and the wall and CPU seconds
(numba compilation excluded), the step size of each run (``sigma``) and at the end
(``final_sigma``; the RMS of PEPG's per-weight ones), and every validation as
``[generation, score]`` (where the runs and restarts peaked).

Two changes of the objective, to look for a faster swing-up:

- ``--horizon 150,300,1000`` tunes in stages on episodes cut to each length in turn (a
  curriculum), each stage starting from the previous one's weights with the same options;
- ``--early LAMBDA`` tunes on ``return + LAMBDA * (return over the first --early-steps
  steps)`` of the same episodes, which rewards the early steps more.

- ``--explore N`` first looks for a fast swing-up: N weight vectors drawn around ``--start``
  (normal, ``--explore-spread``) are each tuned on ``--explore-steps``-step episodes for
  ``--explore-gens`` generations (CMA-ES, step 0.3, weight decay 1, 128 validation
  episodes), and the one that validated best there is where the stages above start.

Test, fresh and ``first150`` figures are always plain returns; ``validation`` is the last
stage's, on that stage's objective (``stages`` lists each stage's).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from wann_plugin.io import load_network
from wann_plugin.tasks import make_task
from wann_plugin.tasks.swingup.task import SwingUpTask
from wann_plugin.tuning import tune_weights

FRESH_SEED = 7 * 10**6
#: Steps of the ``first150`` figure (the reference's weights have the pole up by step 99).
EARLY = 150


class EarlyWeighted:
    """A swing-up task scored ``return + lam * (return over the first steps)``."""

    def __init__(self, task, lam: float, steps: int):
        self.task, self.lam = task, lam
        self.early = SwingUpTask(max_steps=steps)

    def __getattr__(self, name):
        return getattr(self.task, name)

    def evaluate_weights(self, net, weights, seed, n_repeats, **kw):
        full = np.asarray(self.task.evaluate_weights(net, weights, seed=seed,
                                                     n_repeats=n_repeats, **kw))
        early = np.asarray(self.early.evaluate_weights(net, weights, seed=seed,
                                                       n_repeats=n_repeats, **kw))
        return full + self.lam * early


def _rms(sigma) -> float | None:
    """A step size as one number (the RMS of per-parameter ones, e.g. PEPG's)."""
    return None if sigma is None else float(np.sqrt(np.mean(np.square(sigma))))


def _explore(net, a: argparse.Namespace, rng: np.random.Generator):
    """``--explore``: the best of ``a.explore`` random starts tuned on short episodes.

    Returns its weights, the episodes used, and a summary (each start's validation on the
    short episodes, the best one's index)."""
    short = SwingUpTask(max_steps=a.explore_steps)
    scores, best, episodes = [], None, 0
    for i in range(a.explore):
        start = rng.normal(a.start, a.explore_spread, size=net.n_connections)
        r = tune_weights(short, net, rng=rng, start=start, generations=a.explore_gens,
                         n_validation=128, options={"sigma": 0.3, "weight_decay": 1.0})
        episodes += r.n_episodes
        scores.append(round(r.validation_score, 1))
        if best is None or r.validation_score > best[0]:
            best = (r.validation_score, r.conn_weights, i)
    return best[1], episodes, {"steps": a.explore_steps, "gens": a.explore_gens,
                               "spread": a.explore_spread, "best": best[2],
                               "validations": scores}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("network")
    p.add_argument("--name", default="variant")
    p.add_argument("--method", default="cma")
    p.add_argument("--preset", default="default")
    p.add_argument("--opts", default="{}", help="method options as JSON")
    p.add_argument("--loop", default="{}", help="loop options as JSON (generations, ...)")
    p.add_argument("--start", type=float, default=None, help="shared start weight")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--horizon", default="1000",
                   help="episode lengths of the tuning stages, comma-separated")
    p.add_argument("--early", type=float, default=0.0,
                   help="extra weight of the return over the first --early-steps steps")
    p.add_argument("--early-steps", type=int, default=EARLY)
    p.add_argument("--explore", type=int, default=0,
                   help="random starts tuned on short episodes before the stages")
    p.add_argument("--explore-steps", type=int, default=EARLY)
    p.add_argument("--explore-gens", type=int, default=200)
    p.add_argument("--explore-spread", type=float, default=1.6)
    a = p.parse_args(argv)
    if a.explore and a.start is None:
        p.error("--explore draws its starts around --start: give one")
    task = make_task("swingup")
    net = load_network(a.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    task.evaluate_weights(net, np.zeros((1, net.n_connections)), seed=0, n_repeats=1)  # compile
    horizons = [int(h) for h in a.horizon.split(",")]
    rng = np.random.default_rng(a.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    start, stages, episodes, explored = a.start, [], 0, None
    if a.explore:
        start, episodes, explored = _explore(net, a, rng)
    for steps in horizons:
        stage = task if steps == task.max_steps else SwingUpTask(max_steps=steps)
        if a.early:
            stage = EarlyWeighted(stage, a.early, a.early_steps)
        r = tune_weights(stage, net, rng=rng, method=a.method, preset=a.preset,
                         options=json.loads(a.opts), start=start, **json.loads(a.loop))
        start, episodes = r.conn_weights, episodes + r.n_episodes
        stages.append([steps, round(r.validation_score, 1)])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    test = np.asarray(task.evaluate_weights(net, r.conn_weights[None], seed=0,
                                            n_repeats=100))[0]
    fresh = np.asarray(task.evaluate_weights(net, r.conn_weights[None], seed=FRESH_SEED,
                                             n_repeats=1000))[0]
    first = np.asarray(SwingUpTask(max_steps=EARLY).evaluate_weights(
        net, r.conn_weights[None], seed=0, n_repeats=100))[0]
    doc = {"name": a.name, "network": a.network, "method": a.method, "preset": a.preset,
           "opts": json.loads(a.opts), "loop": json.loads(a.loop), "start": a.start,
           "seed": a.seed, "test": round(float(test.mean()), 1),
           "test_std": round(float(test.std()), 1), "fresh1000": round(float(fresh.mean()), 1),
           "fresh1000_std": round(float(fresh.std()), 1),
           "first150": round(float(first.mean()), 1), "rms": round(_rms(r.conn_weights), 2),
           "horizon": horizons, "early": a.early, "stages": stages, "explore": explored,
           "validation": round(r.validation_score, 1), "start_validation": round(r.start_score, 1),
           "probes": list(r.probes), "sigma": r.options.get("sigma"),
           "final_sigma": _rms(getattr(r.final_state, "sigma", None)), "episodes": episodes,
           "wall": round(wall, 1), "cpu": round(cpu, 1),
           "validations": [[h.generation, round(h.validation, 1)] for h in r.history
                           if np.isfinite(h.validation)]}
    print(json.dumps(doc), flush=True)
    return doc


if __name__ == "__main__":
    main()
