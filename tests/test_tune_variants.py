"""experiments/tune_variants.py: the objective variants score what they say."""

import runpy
from pathlib import Path

import numpy as np
from conftest import reference_path

from wann_plugin.io import load_network
from wann_plugin.tasks import make_task
from wann_plugin.tasks.swingup.task import SwingUpTask

ROOT = Path(__file__).resolve().parents[1]
MOD = runpy.run_path(str(ROOT / "experiments" / "tune_variants.py"))


def test_early_weighted_adds_the_first_steps_return():
    task = make_task("swingup")
    net = load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net
    w = np.random.default_rng(0).normal(-1.0, 0.5, size=(3, net.n_connections))
    shaped = MOD["EarlyWeighted"](task, 2.5, 40)
    got = np.asarray(shaped.evaluate_weights(net, w, seed=3, n_repeats=4))
    full = np.asarray(task.evaluate_weights(net, w, seed=3, n_repeats=4))
    early = np.asarray(SwingUpTask(max_steps=40).evaluate_weights(net, w, seed=3, n_repeats=4))
    np.testing.assert_allclose(got, full + 2.5 * early)
    assert shaped.n_inputs == task.n_inputs  # everything else is the task's


def test_horizon_stages_run_in_turn_and_report_plain_scores():
    doc = MOD["main"]([str(reference_path("swing.out")), "--start=-1.0", "--horizon", "50,1000",
                       "--early", "1", "--early-steps", "20",
                       "--loop", '{"generations": 2, "n_repeats": 2, "n_validation": 4}',
                       "--opts", '{"pop_size": 6}'])
    assert doc["horizon"] == [50, 1000] and [s[0] for s in doc["stages"]] == [50, 1000]
    # the last stage's validation is on its own (shaped) objective, the test on the plain one
    assert doc["validation"] == doc["stages"][-1][1]
    assert 0 < doc["first150"] <= 150 and 0 < doc["test"] <= 1000
    assert doc["episodes"] == 2 * (2 * 6 * 2)  # stages x (generations x samples x episodes)
