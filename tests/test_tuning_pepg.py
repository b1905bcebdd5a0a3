"""PEPG (Sehnke et al. 2010) with the reference's defaults: improvement, purity, seeding."""

import numpy as np
import pytest
from tuning_helpers import teacher_task

from wann_plugin.tuning import Pepg, PepgParams, centered_ranks, evaluate_candidates


def run(opt, task, net, x0, gens, seed):
    rng = np.random.default_rng(seed)
    state = opt.init(x0, rng=rng)
    for g in range(gens):
        x, state = opt.ask(state, rng=rng)
        state = opt.tell(state, x, evaluate_candidates(task, net, x, seed=g, n_repeats=1))
    return state


def test_pepg_reduces_the_error_on_a_teacher_task():
    task, net = teacher_task(0)
    x0 = np.full(net.n_connections, 0.5)
    opt = Pepg(PepgParams(pop_size=16, learning_rate=0.05))
    state = run(opt, task, net, x0, 80, seed=0)
    before = evaluate_candidates(task, net, x0[None], seed=999, n_repeats=4)[0]
    after = evaluate_candidates(task, net, opt.current(state)[None], seed=999, n_repeats=4)[0]
    assert after > 0.1 * before  # scores are -MSE: the error drops at least tenfold
    assert before == pytest.approx(-0.749, abs=1e-3)
    assert state.generation == 80 and state.best_score > before


def test_pepg_is_reproducible_and_pure():
    task, net = teacher_task(1)
    x0 = np.zeros(net.n_connections)
    opt = Pepg(PepgParams(pop_size=8))
    a = run(opt, task, net, x0, 10, seed=3)
    b = run(opt, task, net, x0, 10, seed=3)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.sigma, b.sigma)
    # ask/tell never write into the state they were given
    rng = np.random.default_rng(0)
    s0 = opt.init(x0, rng=rng)
    snapshot = {k: np.copy(v) for k, v in s0.__dict__.items() if isinstance(v, np.ndarray)}
    x, s1 = opt.ask(s0, rng=rng)
    opt.tell(s1, x, np.arange(8.0))
    for k, v in snapshot.items():
        np.testing.assert_array_equal(getattr(s0, k), v)
    assert s0.eps is None and s1.eps is not None


def test_pepg_samples_are_antithetic_and_sigma_is_clipped_and_decays():
    opt = Pepg(PepgParams(pop_size=6, sigma=0.1, sigma_alpha=100.0))
    rng = np.random.default_rng(0)
    state = opt.init(np.ones(4), rng=rng)
    x, state = opt.ask(state, rng=rng)
    np.testing.assert_allclose(x[:3] - 1.0, -(x[3:] - 1.0))
    state = opt.tell(state, x, rng.normal(size=6))
    ratio = state.sigma / 0.1
    # +-20 % per step, then * 0.999 (sigma above the 0.02 limit)
    assert np.all((ratio >= 0.8 * 0.999 - 1e-12) & (ratio <= 1.2 * 0.999 + 1e-12))
    assert np.any(np.isclose(ratio, 0.8 * 0.999) | np.isclose(ratio, 1.2 * 0.999))


def test_pepg_nan_scores_count_as_worst():
    opt = Pepg(PepgParams(pop_size=4))
    rng = np.random.default_rng(0)
    state = opt.init(np.zeros(2), rng=rng)
    x, state = opt.ask(state, rng=rng)
    new = opt.tell(state, x, np.array([np.nan, 1.0, np.inf, 0.5]))
    np.testing.assert_array_equal(new.best_weights, x[1])
    assert new.best_score == 1.0


def test_centered_ranks():
    np.testing.assert_allclose(centered_ranks(np.array([5.0, -np.inf, 1.0, 7.0, 3.0])),
                               [0.25, -0.5, -0.25, 0.5, 0.0])


def test_pepg_parameter_errors():
    with pytest.raises(ValueError, match=r"\[PepgParams\] pop_size == 7, must be even"):
        PepgParams(pop_size=7)
    with pytest.raises(ValueError, match=r"sigma_max_change == 1.5, must be in \(0, 1\)"):
        PepgParams(sigma_max_change=1.5)
    with pytest.raises(TypeError, match=r"\[PepgParams\] pop_size == 8.0, must be a whole number"):
        PepgParams(pop_size=8.0)
    opt = Pepg()
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        opt.init(np.zeros(2), rng=0)
    state = opt.init(np.zeros(2), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="call ask before tell"):
        opt.tell(state, np.zeros((64, 2)), np.zeros(64))
    x, state = opt.ask(state, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"scores must have shape \(64,\)"):
        opt.tell(state, x, np.zeros(3))
