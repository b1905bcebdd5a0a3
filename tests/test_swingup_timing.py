"""experiments/swingup_timing.py: its figures agree with the task's own scores and the trace."""

import json
import runpy
from pathlib import Path

import numpy as np
from conftest import reference_path

from wann_plugin.io import load_network, load_tuned_zoo, save_network
from wann_plugin.tasks import make_task
from wann_plugin.tasks.swingup.task import SwingUpTask

ROOT = Path(__file__).resolve().parents[1]


def test_timing_splits_the_return_into_swing_up_and_balancing(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))  # as `python experiments/...` has
    mod = runpy.run_path(str(ROOT / "experiments" / "swingup_timing.py"))
    task = make_task("swingup")
    net = load_network(reference_path("swing.out"), n_inputs=5, n_outputs=1).net
    w = load_tuned_zoo(reference_path("zoo/cartpole_swingup.wann.json"), net, -1.5)
    t = mod["timing"](net, w, 6)
    scores = np.asarray(task.evaluate_weights(net, w[None], seed=0, n_repeats=6))[0]
    assert t["mean"] == round(float(scores.mean()), 1)
    # every test episode runs its 1000 steps: the return is 1000 minus what was lost
    assert abs(1000 - t["lost_before_200"] - t["lost_after_200"] - scores.mean()) < 0.2
    assert 0 < t["first_upright_step"] < 200 and t["lost_after_200"] < 1
    # the return over the first 150 steps is the score of 150-step episodes
    first = np.asarray(SwingUpTask(max_steps=150).evaluate_weights(net, w[None], seed=0,
                                                                   n_repeats=6))[0]
    assert t["return_first_150"] == round(float(first.mean()), 1)
    assert t["reversals_before_upright"] >= 1 and 0 < t["max_abs_x_before_200"] < 2.4
    # the command line writes the same figures for the reference and a tuned network
    tuned = tmp_path / "tuned.json"
    save_network(tuned, net, conn_weights=w)
    out = tmp_path / "timing.json"
    doc = mod["main"]([str(reference_path("swing.out")), "--zoo",
                       str(reference_path("zoo/cartpole_swingup.wann.json")),
                       "--weight-bias", "-1.5", "--tuned", str(tuned), "--episodes", "6",
                       "--out", str(out)])
    assert json.loads(out.read_text()) == doc
    assert doc["reference"] == t and doc["tuned.json"] == t and doc["episodes"] == "0..5"
