"""The four-condition table, the fixed-topology baseline and weight ensembles."""

import json
from pathlib import Path

import numpy as np
import pytest
from tuning_helpers import teacher_task

from wann_plugin.analysis import (
    CONDITIONS,
    PAPER_RESULTS,
    ensemble_accuracy,
    ensemble_predict,
    evaluate_conditions,
    fixed_topology_network,
    four_condition_report,
)
from wann_plugin.network import WannNetwork, reference_activate

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "wann"


def test_fixed_topology_network_is_fully_connected_with_one_hidden_layer():
    net = fixed_topology_network(5, 2, n_hidden=4, activation="sigmoid")
    assert (net.n_inputs, net.n_hidden, net.n_outputs) == (5, 4, 2)
    assert net.n_connections == 6 * 4 + 5 * 2
    assert set(net.activations[6:10]) == {6} and set(net.activations[10:]) == {1}
    x = np.random.default_rng(0).normal(size=(3, 5))
    w = np.random.default_rng(1).normal(size=net.n_connections)
    np.testing.assert_allclose(net.activate_weights(x, w), reference_activate(net, x,
                                                                              conn_weights=w))
    with pytest.raises(ValueError, match="n_hidden == 0"):
        fixed_topology_network(5, 1, n_hidden=0)


def test_evaluate_conditions_draws_per_episode_and_uses_the_test_seeds():
    task, net = teacher_task(0)
    w = np.full(net.n_connections, 0.3)
    a = evaluate_conditions(task, net, shared_weight=0.7, conn_weights=w, n_episodes=12,
                            seed=5, rng=np.random.default_rng(0))
    b = evaluate_conditions(task, net, shared_weight=0.7, conn_weights=w, n_episodes=12,
                            seed=5, rng=np.random.default_rng(0))
    assert tuple(a) == CONDITIONS
    for c in CONDITIONS:
        assert a[c].scores.shape == (12,)
        np.testing.assert_array_equal(a[c].scores, b[c].scores)
    np.testing.assert_array_equal(a["tuned_shared_weight"].scores,
                                  task.evaluate([net], [0.7], seed=5, n_repeats=12)[0, 0])
    np.testing.assert_allclose(a["tuned_weights"].scores,
                               task.evaluate([net], [0.3], seed=5, n_repeats=12)[0, 0],
                               rtol=1e-12)
    # the random conditions draw a new weight per episode: episode 0 with draw 0 ...
    rng = np.random.default_rng(0)
    sets = rng.uniform(-2, 2, (12, net.n_connections))
    shared = rng.uniform(-2, 2, 12)
    assert a["random_weights"].scores[3] == task.evaluate_weights(net, sets[3:4], seed=8)[0, 0]
    assert a["random_shared_weight"].scores[3] == task.evaluate([net], shared[3:4], seed=8)[0, 0, 0]
    assert a["random_weights"].std > 0
    c = evaluate_conditions(task, net, shared_weight=0.7, conn_weights=None, n_episodes=3,
                            rng=np.random.default_rng(0))
    assert "tuned_weights" not in c
    with pytest.raises(ValueError, match="weight_range"):
        evaluate_conditions(task, net, shared_weight=0.7, conn_weights=None,
                            rng=np.random.default_rng(0), weight_range=(2, -2))


def test_report_on_a_small_task_tuning_beats_the_random_conditions():
    task, net = teacher_task(0)
    seen = []
    report = four_condition_report(
        task, net, rng=np.random.default_rng(0), method="cma", generations=30, n_repeats=1,
        n_episodes=20, baseline_hidden=3, options={"pop_size": 12, "sigma": 0.3},
        callback=lambda label, rec: seen.append(label))
    wann, base = report.rows
    assert base.net.n_hidden == 3 and base.label == "Fixed topology (3 tanh)"
    for row in report.rows:
        c = row.conditions
        assert c["tuned_weights"].mean > c["random_weights"].mean
        assert c["tuned_weights"].mean > c["random_shared_weight"].mean
    assert wann.conditions["tuned_weights"].mean > wann.conditions["tuned_shared_weight"].mean
    # the WANN row races its two shared-weight peaks (30 generations each, as start=None in
    # tune_weights); the baseline starts from random weights: one run
    assert len(wann.tuning.probes) == 2
    assert seen.count(wann.label) == 1 + 2 * 30 and seen.count(base.label) == 31
    assert report.paper is None
    md = report.to_markdown()
    assert "| Network | Connections | Random weights | Random shared weight | Tuned shared weight"\
           " | Tuned weights |" in md
    assert md.count("\n| ") == 3 and "Paper" not in md
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["conditions"] == list(CONDITIONS)
    assert len(doc["rows"][0]["conditions"]["random_weights"]["scores"]) == 20


def test_swing_out_with_the_reference_tuned_weights_matches_the_paper_row():
    """The reference's own tuned weights (zoo, bias -1.5) in our table: 932 +- 6."""
    from wann_plugin.io import load_network, load_tuned_zoo
    from wann_plugin.tasks.swingup import SwingUpTask

    task = SwingUpTask()
    net = load_network(REFERENCE / "swing.out", n_inputs=5, n_outputs=1).net
    zoo = load_tuned_zoo(REFERENCE / "zoo" / "cartpole_swingup.wann.json", net, -1.5)
    report = four_condition_report(task, net, rng=np.random.default_rng(0), conn_weights=zoo,
                                   baseline=False, label="swing.out")
    (row,) = report.rows
    tuned = row.conditions["tuned_weights"]
    assert tuned.mean == pytest.approx(932.0, abs=0.5) and tuned.std == pytest.approx(6.3, abs=0.1)
    assert row.tuning is None and report.settings["network_weights"] == "given"
    assert report.paper == PAPER_RESULTS["swingup"]
    md = report.to_markdown()
    assert "| Paper: WANN |  | 57 +- 121 | 515 +- 58 | 723 +- 16 | 932 +- 6 |" in md
    assert "| swing.out | 52 |" in md and "| 932 +- 6 |" in md
    # the shared-weight conditions land near the paper's (515 +- 58, 723 +- 16)
    assert 450 < row.conditions["random_shared_weight"].mean < 600
    assert 650 < row.conditions["tuned_shared_weight"].mean < 800


def test_ensemble_is_the_mean_of_softmaxes():
    net = WannNetwork.from_edges(2, 3, [1] * 6, [(1, 3), (2, 4), (0, 5), (1, 5)])
    x = np.random.default_rng(0).normal(size=(7, 2))
    weights = np.array([-1.0, 0.5, 2.0])
    out = net.activate(x[None], weights[:, None])
    soft = np.exp(out) / np.exp(out).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(ensemble_predict(net, x, weights), soft.mean(axis=0))
    np.testing.assert_allclose(ensemble_predict(net, x, weights, kind="mean"), out.mean(axis=0))
    y = np.argmax(soft.mean(axis=0), axis=1)
    assert ensemble_accuracy(net, x, y, weights) == 1.0
    with pytest.raises(ValueError, match="kind"):
        ensemble_predict(net, x, weights, kind="vote")


def test_ensemble_skips_weights_with_non_finite_outputs():
    net = WannNetwork.from_edges(1, 2, [1, 1, 11, 1], [(1, 2), (0, 3)])   # square, linear
    x = np.array([[1e200], [1.0]])
    p = ensemble_predict(net, x, np.array([1.0, 1e-300]))
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@pytest.mark.parametrize("starts", [1, 2])
def test_report_settings_name_the_start_the_tuning_used(starts):
    """With raced starts the settings say so (they used to say "best shared weight")."""
    task, net = teacher_task(0)        # its shared-weight curve has two peaks
    report = four_condition_report(
        task, net, rng=np.random.default_rng(0), method="cma", generations=6, n_repeats=1,
        n_episodes=4, baseline_hidden=2, options={"pop_size": 6, "sigma": 0.3},
        tune_options={"starts": starts, "probe_generations": 3})
    probes = report.rows[0].tuning.probes
    assert len(probes) == (2 if starts == 2 else 0)
    assert report.settings["start"] == ("the best of 2 shared-weight peaks, raced"
                                        if starts == 2 else "best shared weight")
