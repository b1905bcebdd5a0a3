"""experiments/tune_variants.py: the objective variants score what they say."""

import json
import runpy
from pathlib import Path

import numpy as np
import pytest
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


def test_explore_tunes_random_starts_on_short_episodes_and_goes_on_from_the_best():
    base = [str(reference_path("swing.out")), "--start=-1.5", "--explore", "3",
            "--explore-steps", "30", "--explore-gens", "2",
            "--loop", '{"generations": 2, "n_repeats": 2, "n_validation": 4}',
            "--opts", '{"pop_size": 6}']
    doc = MOD["main"](base)
    ex = doc["explore"]
    assert ex["steps"] == 30 and len(ex["validations"]) == 3
    assert ex["validations"][ex["best"]] == max(ex["validations"])
    # the starts' episodes are counted besides the main stage's (2 generations x 6 x 2)
    assert doc["episodes"] > 2 * 6 * 2
    # the same generator seed draws the same starts and ends at the same weights
    again = MOD["main"](base)
    assert {k: v for k, v in again.items() if k not in ("wall", "cpu")} == \
        {k: v for k, v in doc.items() if k not in ("wall", "cpu")}
    with pytest.raises(SystemExit):
        MOD["main"]([str(reference_path("swing.out")), "--explore", "2"])


def test_multistart_tunes_the_start_that_swung_up_fastest(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "experiments"))  # as `python experiments/...` has
    mod = runpy.run_path(str(ROOT / "experiments" / "swingup_multistart.py"))
    out = tmp_path / "m.json"
    doc = mod["main"]([str(reference_path("swing.out")), "--starts", "3", "--steps", "30",
                       "--short-gens", "2", "--full-gens", "2", "--out", str(out)])
    assert len(doc["short_validations"]) == 3
    assert doc["short_validations"][doc["chosen"]] == max(doc["short_validations"])
    assert 0 < doc["first150"] <= 150 and doc["test"] <= 1000
    assert json.loads(out.read_text()) == doc
