"""CMA-ES through deap.cma.Strategy: seeded sampling without numpy's global generator."""

import numpy as np
import pytest
from tuning_helpers import teacher_task

from wann_plugin.tuning import CmaEs, CmaParams, evaluate_candidates


def run(opt, task, net, x0, gens, seed):
    rng = np.random.default_rng(seed)
    state = opt.init(x0, rng=rng)
    for g in range(gens):
        x, state = opt.ask(state, rng=rng)
        state = opt.tell(state, x, evaluate_candidates(task, net, x, seed=g, n_repeats=1))
    return state


def test_cma_reduces_the_error_on_a_teacher_task():
    task, net = teacher_task(0)
    x0 = np.full(net.n_connections, 0.5)
    opt = CmaEs(CmaParams(pop_size=12, sigma=0.3, weight_decay=0.0))
    state = run(opt, task, net, x0, 60, seed=0)
    before = evaluate_candidates(task, net, x0[None], seed=999, n_repeats=4)[0]
    after = evaluate_candidates(task, net, opt.current(state)[None], seed=999, n_repeats=4)[0]
    assert after > 0.1 * before   # the error drops at least tenfold
    assert state.generation == 60


def test_cma_uses_only_the_given_generator():
    task, net = teacher_task(1)
    x0 = np.zeros(net.n_connections)
    opt = CmaEs(CmaParams(pop_size=8))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = run(opt, task, net, x0, 5, seed=4)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    np.random.seed(999)  # a different global state changes nothing
    b = run(opt, task, net, x0, 5, seed=4)
    np.testing.assert_array_equal(a.centroid, b.centroid)
    assert a.sigma == b.sigma


def test_cma_samples_follow_deaps_distribution_and_tell_is_pure():
    opt = CmaEs(CmaParams(pop_size=2000, sigma=0.5))
    rng = np.random.default_rng(0)
    state = opt.init(np.array([1.0, -1.0]), rng=rng)
    x, same = opt.ask(state, rng=rng)
    assert same is state
    np.testing.assert_allclose(x.mean(axis=0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), 0.25 * np.eye(2), atol=0.03)
    c_before = state.strategy.C.copy()
    scores = -np.abs(x).sum(axis=1)
    new = opt.tell(state, x, scores)
    np.testing.assert_array_equal(state.strategy.C, c_before)   # old state untouched
    assert state.generation == 0 and new.generation == 1
    assert not np.allclose(new.strategy.C, c_before)


def test_cma_ranks_nan_last_and_ties_by_index():
    opt = CmaEs(CmaParams(pop_size=4, mu=1, weight_decay=0.0))
    rng = np.random.default_rng(0)
    state = opt.init(np.zeros(3), rng=rng)
    x, state = opt.ask(state, rng=rng)
    new = opt.tell(state, x, np.array([np.nan, 2.0, 2.0, 1.0]))
    # mu = 1: the new centroid is the single best sample; of the tie, the first (index 1)
    np.testing.assert_allclose(new.centroid, x[1])
    np.testing.assert_array_equal(new.best_weights, x[1])


def test_cma_parameter_errors():
    with pytest.raises(ValueError, match=r"\[CmaParams\] pop_size == 2, must be >= 4"):
        CmaParams(pop_size=2)
    with pytest.raises(ValueError, match="mu == 9 exceeds pop_size == 8"):
        CmaParams(pop_size=8, mu=9)
    with pytest.raises(ValueError, match="sigma"):
        CmaParams(sigma=0.0)
    opt = CmaEs(CmaParams(pop_size=4))
    state = opt.init(np.zeros(2), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"samples must have shape \(4, 2\)"):
        opt.tell(state, np.zeros((3, 2)), np.zeros(3))
