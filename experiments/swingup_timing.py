"""Where two sets of swing-up weights differ: the swing-up or the balancing afterwards.

Usage (from the repository root)::

    python experiments/swingup_timing.py ../shared/reference/wann/swing.out \\
        --zoo cartpole_swingup.wann.json --weight-bias -1.5 \\
        --tuned results/swingup/swing-out/swing.tuned.json \\
        --out results/swingup/swing-out/timing.json

Plays episodes ``0 .. episodes-1`` (the test episodes) with the reference's tuned weights and
with each ``--tuned`` network's weights and reports, per weight set, the mean return, the mean
first step at which the pole is upright (``cos(theta) > 0.95``), the return over the first
150 steps (``tune_variants.py``'s ``first150``), the reward lost before step
200 (the swing-up: ``200 - sum of rewards``) and after it (the balancing), the mean largest
cart distance from the centre before step 200, and the mean number of reversals of the pole's
angular velocity before it is first upright (the pumps of the swing), and the RMS of the
weights themselves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from emit import emit
from reference_tuned_weights import load_reference

from wann_plugin.io import load_network
from wann_plugin.tasks.swingup.kernel import run_conn
from wann_plugin.tasks.swingup.physics import swingup_initial_states

SWING = 200  # steps counted as the swing-up phase


def timing(net, weights: np.ndarray, episodes: int) -> dict:
    """The figures of the module docstring for one weight vector."""
    init = swingup_initial_states(np.arange(episodes))
    trace = np.zeros((1, 1000, episodes, 6))
    scores, _ = run_conn(net, weights[None], init, max_steps=1000, worst=-1.0, trace=trace)
    x, theta, theta_dot, reward = (trace[0, :, :, i] for i in (0, 2, 3, 5))
    upright = np.cos(theta) > 0.95
    first = upright.argmax(axis=0)
    reversals = [int(np.sum(np.diff(np.sign(theta_dot[:f, e])) != 0))
                 for e, f in enumerate(first)]
    return {"mean": round(float(scores.mean()), 1), "std": round(float(scores.std()), 1),
            "first_upright_step": round(float(first.mean()), 1),
            "return_first_150": round(float(reward[:150].sum(0).mean()), 1),
            "lost_before_200": round(float((SWING - reward[:SWING].sum(0)).mean()), 1),
            "lost_after_200": round(float((1000 - SWING - reward[SWING:].sum(0)).mean()), 2),
            "max_abs_x_before_200": round(float(np.abs(x[:SWING]).max(0).mean()), 2),
            "reversals_before_upright": round(float(np.mean(reversals)), 2),
            "weights_rms": round(float(np.sqrt(np.mean(np.square(weights)))), 2)}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("network", help="reference .out file name or path")
    p.add_argument("--zoo", required=True, help="zoo/*.wann.json file name or path")
    p.add_argument("--weight-bias", type=float, required=True)
    p.add_argument("--tuned", action="append", default=[], help="a tuned network JSON")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    task, net, weights, _, _ = load_reference(argparse.Namespace(
        network=a.network, zoo=a.zoo, task="swingup", weight_bias=a.weight_bias))
    doc = {"episodes": f"0..{a.episodes - 1}", "reference": timing(net, weights, a.episodes)}
    for path in a.tuned:
        tuned = load_network(path, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
        doc[Path(path).name] = timing(tuned.net, np.asarray(tuned.conn_weights), a.episodes)
    return emit(doc, a.out)


if __name__ == "__main__":
    main()
