"""Score one tuning variant on a swing-up network: how ``wann tune``'s default was chosen.

Usage (from the repository root)::

    python experiments/tune_variants.py ../shared/reference/wann/swing.out --name "start -1, 1200" \\
        --start=-1.0 --loop '{"generations": 1200}' >> results/swingup/swing-out/variants.jsonl

Runs :func:`~wann_plugin.tuning.tune_weights` (``--method``, ``--preset``, method options
``--opts`` and loop options ``--loop`` as JSON, ``--start`` a shared weight or the best one,
generator seed ``--seed``) and prints one JSON line: the test score over episodes 0..99 (the
paper's protocol), the score over 1000 fresh episodes (seeds ``7 * 10**6 + r``, a steadier
figure: it counts the rare failed swing-ups that 100 episodes may miss), the validation
score, the episodes used and the wall and CPU seconds (numba compilation excluded), the step
size of each run (``sigma``) and at the end (``final_sigma``; the RMS of PEPG's per-weight
ones), and every validation as ``[generation, score]`` (where the runs and restarts peaked).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from wann_plugin.io import load_network
from wann_plugin.tasks import make_task
from wann_plugin.tuning import tune_weights

FRESH_SEED = 7 * 10**6


def _rms(sigma) -> float | None:
    """A step size as one number (the RMS of per-parameter ones, e.g. PEPG's)."""
    return None if sigma is None else float(np.sqrt(np.mean(np.square(sigma))))


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
    a = p.parse_args(argv)
    task = make_task("swingup")
    net = load_network(a.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    task.evaluate_weights(net, np.zeros((1, net.n_connections)), seed=0, n_repeats=1)  # compile
    t0, c0 = time.perf_counter(), time.process_time()
    r = tune_weights(task, net, rng=np.random.default_rng(a.seed), method=a.method,
                     preset=a.preset, options=json.loads(a.opts), start=a.start,
                     **json.loads(a.loop))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    test = np.asarray(task.evaluate_weights(net, r.conn_weights[None], seed=0,
                                            n_repeats=100))[0]
    fresh = np.asarray(task.evaluate_weights(net, r.conn_weights[None], seed=FRESH_SEED,
                                             n_repeats=1000))[0]
    doc = {"name": a.name, "network": a.network, "method": a.method, "preset": a.preset,
           "opts": json.loads(a.opts), "loop": json.loads(a.loop), "start": a.start,
           "seed": a.seed, "test": round(float(test.mean()), 1),
           "test_std": round(float(test.std()), 1), "fresh1000": round(float(fresh.mean()), 1),
           "fresh1000_std": round(float(fresh.std()), 1),
           "validation": round(r.validation_score, 1), "start_validation": round(r.start_score, 1),
           "probes": list(r.probes), "sigma": r.options.get("sigma"),
           "final_sigma": _rms(getattr(r.final_state, "sigma", None)), "episodes": r.n_episodes,
           "wall": round(wall, 1), "cpu": round(cpu, 1),
           "validations": [[h.generation, round(h.validation, 1)] for h in r.history
                           if np.isfinite(h.validation)]}
    print(json.dumps(doc), flush=True)
    return doc


if __name__ == "__main__":
    main()
