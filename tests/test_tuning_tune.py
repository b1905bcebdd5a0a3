"""tune_weights: every method improves a small task; swing-up end to end (slow)."""

from pathlib import Path

import numpy as np
import pytest
from tuning_helpers import teacher_task

from wann_plugin.tasks.base import Task
from wann_plugin.tuning import (
    TUNING_METHODS,
    collect_experiences,
    evaluate_candidates,
    get_tuning_method,
    tune_weights,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "wann"

SMALL = {
    "pepg": {"pop_size": 16, "learning_rate": 0.05},
    "cma": {"pop_size": 12, "sigma": 0.3},
    "ga": {"pop_size": 16, "n_offspring": 4, "tournament_size": 3, "sigma": 0.1,
           "target_divergence": 0.01},
}
EVOLUTIONARY = [m for m in TUNING_METHODS if not TUNING_METHODS[m].needs_gradient]


@pytest.mark.parametrize("method", EVOLUTIONARY)
def test_every_method_improves_on_fresh_episodes(method):
    task, net = teacher_task(0)
    records = []
    res = tune_weights(task, net, method=method, start=0.5, generations=40, n_repeats=1,
                       options=SMALL.get(method, SMALL["ga"]), validate_every=5,
                       n_validation=32, rng=np.random.default_rng(0),
                       callback=records.append)
    assert res.method == method
    assert res.validation_score > res.start_score
    test_before = evaluate_candidates(task, net, res.start_weights[None], seed=12345,
                                      n_repeats=8)[0]
    test_after = evaluate_candidates(task, net, res.conn_weights[None], seed=12345,
                                     n_repeats=8)[0]
    # -MSE: at least halved on unseen batches. SM-G-SUM sums the gradients over the 100
    # experiences (no 1/T), so its steps are far smaller: it only has to improve.
    assert test_after > (test_before if method == "sm-g-sum" else 0.5 * test_before)
    assert [r.generation for r in records] == list(range(41))
    assert res.history == tuple(records)
    assert np.isfinite(records[10].validation) and np.isnan(records[11].validation)
    assert res.n_episodes == records[-1].n_episodes > 0


def test_start_from_the_best_shared_weight_and_reproducibility():
    task, net = teacher_task(1)
    kw = dict(method="cma", generations=5, n_repeats=1, options=SMALL["cma"], validate_every=5,
              shared_options={"refine_iters": 4}, starts=1)
    a = tune_weights(task, net, rng=np.random.default_rng(3), **kw)
    b = tune_weights(task, net, rng=np.random.default_rng(3), **kw)
    assert a.shared is not None
    np.testing.assert_array_equal(a.start_weights, np.full(net.n_connections, a.shared.weight))
    np.testing.assert_array_equal(a.conn_weights, b.conn_weights)
    d = a.to_dict()
    assert d["shared"]["weight"] == a.shared.weight and len(d["history"]) == 6
    assert d["history"][1]["validation"] is None


def test_errors_name_the_problem():
    task, net = teacher_task(0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="did you mean 'sm-g-so'"):
        tune_weights(task, net, method="sm-g-s0", rng=rng)
    with pytest.raises(ValueError, match="unknown option 'popsize'; did you mean 'pop_size'"):
        tune_weights(task, net, method="pepg", options={"popsize": 8}, rng=rng)
    with pytest.raises(ValueError, match=r"\[PepgParams\] pop_size == 7, must be even"):
        get_tuning_method("pepg").make(net, {"pop_size": 7})
    with pytest.raises(ValueError, match="preset == 'refrence'; did you mean 'reference'"):
        tune_weights(task, net, method="pepg", preset="refrence", rng=rng)
    with pytest.raises(ValueError, match="start must be a float or have shape"):
        tune_weights(task, net, start=np.zeros(3), rng=rng)
    with pytest.raises(ValueError, match="generations == -1"):
        tune_weights(task, net, generations=-1, rng=rng)

    class NoHook(Task):
        name, n_inputs, n_outputs = "nohook", 2, 1

        def evaluate_weights(self, net, conn_weights, *, seed, n_repeats=1):
            return np.zeros((len(conn_weights), n_repeats))

    with pytest.raises(NotImplementedError,
                       match=r"does not support sample_inputs\(net, conn_weights, \*, seed, n\)"):
        tune_weights(NoHook(), net, method="sm-r", start=0.5, rng=rng)
    res = tune_weights(NoHook(), net, method="ga", start=0.5, generations=2, rng=rng)
    assert not res.improved        # every score ties: the start comes back, flagged
    np.testing.assert_array_equal(res.conn_weights, np.full(net.n_connections, 0.5))


def swing():
    from wann_plugin.io import load_network
    from wann_plugin.tasks.swingup import SwingUpTask

    net = load_network(REFERENCE / "swing.out", n_inputs=5, n_outputs=1).net
    return SwingUpTask(), net


def test_swingup_experiences_are_observations_the_network_saw():
    task, net = swing()
    w = np.full(net.n_connections, -1.5)
    x = collect_experiences(task, net, w, seed=3, n=100)
    assert x.shape == (100, 5)
    np.testing.assert_allclose(x[:, 2] ** 2 + x[:, 3] ** 2, 1.0)   # cos^2 + sin^2
    np.testing.assert_array_equal(x, collect_experiences(task, net, w, seed=3, n=100))
    from wann_plugin.tasks.swingup import swingup_initial_states, swingup_observations

    x_all = collect_experiences(task, net, w, seed=3, n=5000)
    assert x_all.shape == (1000, 5)      # the whole episode (the cart stays on the track)
    np.testing.assert_allclose(x_all[0], swingup_observations(swingup_initial_states([3]))[0])


def test_classification_experiences_are_training_samples():
    from wann_plugin.network import WannNetwork
    from wann_plugin.tasks.classify import ClassifyTask

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    task = ClassifyTask(X, (X[:, 0] > 0).astype(int), batch_size=100)
    net = WannNetwork.from_edges(2, 2, [1] * 5, [(1, 3), (1, 4), (2, 3)])
    x = collect_experiences(task, net, np.ones(3), seed=0, n=50)
    assert x.shape == (50, 2)
    assert all(any(np.array_equal(row, t) for t in task.X_train) for row in x[:5])
    res = tune_weights(task, net, method="sm-g-abs", start=0.5, generations=10, n_repeats=1,
                       options=SMALL["ga"], n_validation=32, rng=np.random.default_rng(0))
    assert res.validation_score > res.start_score


@pytest.mark.slow
def test_cma_tunes_swing_out_from_the_reference_bias():
    """The reference setting: start every weight at -1.5, CMA-ES, 4 episodes per sample.
    60 generations here to stay fast (the README figure uses 150+)."""
    task, net = swing()
    res = tune_weights(task, net, method="cma", preset="reference", start=-1.5,
                       generations=60, n_validation=32, rng=np.random.default_rng(0))
    test = task.evaluate_weights(net, res.conn_weights[None], seed=0, n_repeats=100)[0]
    start = task.evaluate_weights(net, res.start_weights[None], seed=0, n_repeats=100)[0]
    assert start.mean() == pytest.approx(631.372, abs=0.01)  # shared weight -1.5, default engine
    assert test.mean() > start.mean() + 150


@pytest.mark.slow
def test_safe_mutation_ga_runs_on_swingup():
    task, net = swing()
    res = tune_weights(task, net, method="sm-g-so", start=-1.5, generations=15, n_repeats=2,
                       options={"pop_size": 12, "n_offspring": 6, "tournament_size": 3,
                                "sigma": 0.05}, n_validation=8,
                       rng=np.random.default_rng(0))
    state = res.final_state
    assert state.scores.max() > 750            # the population found better weights
    assert res.validation_score >= res.start_score


def test_auto_sigma_is_the_largest_step_that_keeps_half_of_the_margin():
    from wann_plugin.tuning import auto_sigma
    from wann_plugin.tuning.tune import SIGMA_LADDER

    task, net = teacher_task(0)
    x0 = np.full(net.n_connections, 0.5)
    sigma = auto_sigma(task, net, x0, seed=1)
    assert sigma in SIGMA_LADDER
    # recompute the criterion by hand on the same draws
    z = np.random.default_rng(1).standard_normal((16, net.n_connections))
    s0 = evaluate_candidates(task, net, x0[None], seed=1, n_repeats=8)[0]
    means = {s: evaluate_candidates(task, net, x0 + s * z, seed=1, n_repeats=8).mean()
             for s in SIGMA_LADDER}
    top = means[SIGMA_LADDER[-1]]
    assert sigma == max(s for s in SIGMA_LADDER if means[s] >= top + 0.5 * (s0 - top))
    # the default tuning records the step it chose
    res = tune_weights(task, net, start=0.5, generations=10, n_repeats=1, n_validation=8,
                       rng=np.random.default_rng(0))
    assert res.options["sigma"] in ([s] for s in SIGMA_LADDER)
    assert res.options["pop_size"] == 64 and res.options["restarts"] == 0


def test_peak_starts_are_the_best_separated_peaks_of_the_shared_curve():
    from wann_plugin.tuning.shared import SharedWeightResult
    from wann_plugin.tuning.tune import _peak_starts

    g = np.round(np.linspace(-2.0, 2.0, 41), 10)
    s = np.full(41, 100.0)
    s[30], s[31], s[29] = 700.0, 690.0, 650.0   # the best peak at 1.0 (refined to 1.03)
    s[28] = 660.0                                 # a peak 0.2 from it: the same basin
    s[10] = 680.0                                 # -1.0: the second basin
    s[5] = 600.0                                  # -1.5: the third
    r = SharedWeightResult(1.03, 705.0, g, s, 0 * s, g, s, 0, 32)
    assert _peak_starts(r, 1) == [1.03]
    assert _peak_starts(r, 2) == [1.03, -1.0]
    assert _peak_starts(r, 3) == [1.03, -1.0, -1.5]


def test_racing_starts_continues_the_best_probe():
    task, net = teacher_task(0)        # its shared-weight curve peaks near 0.3 and at -0.5
    records = []
    kw = dict(method="cma", generations=12, n_repeats=1, options=SMALL["cma"],
              validate_every=3, n_validation=8, shared_options={"refine_iters": 4})
    res = tune_weights(task, net, rng=np.random.default_rng(5), starts=2, probe_generations=4,
                       callback=records.append, **kw)
    from wann_plugin.tuning.tune import _peak_starts

    assert [p["weight"] for p in res.probes] == _peak_starts(res.shared, 2)
    assert len(res.probes) == 2 and res.probes[0]["weight"] == res.shared.weight
    assert res.start_label == "the best of 2 shared-weight peaks, raced"
    # two probes of 4 generations, then the winner's 8 more: 16 generations in the history
    assert [r.generation for r in records] == list(range(17))
    # the probe's best validation is what the records show for it
    assert res.probes[0]["validation"] == np.nanmax([r.validation for r in records[1:5]])
    assert res.probes[1]["validation"] == np.nanmax([r.validation for r in records[5:9]])
    assert np.isfinite(records[4].validation) and np.isfinite(records[8].validation)
    # the winner continued its own state (12 tells), not a fresh run
    assert res.final_state.generation == 12
    win = int(np.argmax([p["validation"] for p in res.probes]))
    np.testing.assert_allclose(res.final_state.anchor, res.probes[win]["weight"])
    assert res.validation_score == np.nanmax([r.validation for r in records])
    assert res.validation_score >= res.start_score
    assert res.to_dict()["probes"] == list(res.probes)
    # a given start is never raced
    one = tune_weights(task, net, rng=np.random.default_rng(5), starts=2, probe_generations=4,
                       start=0.5, **kw)
    assert one.probes == () and one.final_state.generation == 12
