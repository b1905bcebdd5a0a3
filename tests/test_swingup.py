"""Cart-pole swing-up: physics against the formulas, the gymnasium env, the task, and the
reference's tuned champion (WANN_SPEC f, h)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import check_task, make_task
from wann_plugin.tasks.base import TaskError
from wann_plugin.tasks.swingup import (
    ENV_ID,
    CartPoleSwingUpEnv,
    SwingUpTask,
    swingup_initial_states,
    swingup_observations,
    swingup_step,
)

REF = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "wann"
WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def load_champion(name: str) -> WannNetwork:
    m = np.loadtxt(REF / name, delimiter=",")
    return WannNetwork.from_matrix(m[:, :-1], m[:, -1], 5, 1)


def bias_only_net() -> WannNetwork:
    """Output = w * bias: a constant force clip(w, -1, 1) * 10."""
    return WannNetwork.from_edges(5, 1, [1] * 7, [(0, 6)])


# ---------------------------------------------------------------------------- physics
def test_step_pole_horizontal_by_hand():
    # theta = pi/2: s = 1, c ~ 0, force 10 N, at rest
    # x_acc = 4 F / (4 m) = 10;  theta_acc = 6 m g / (4 l m) = 6 * 9.82 / 2.4 = 24.55
    nxt, reward, done = swingup_step(np.array([[0.0, 0.0, np.pi / 2, 0.0]]), np.array([10.0]))
    np.testing.assert_allclose(nxt[0], [0.0, 0.1, np.pi / 2, 0.2455], rtol=1e-12, atol=1e-15)
    assert reward[0] == pytest.approx(0.5, abs=1e-15)  # ((0 + 1) / 2) * cos(0)
    assert not done[0]


def test_step_euler_uses_old_velocities():
    # theta = 0 (upright), x_dot = 2, theta_dot = 3, F = -5
    # x_acc = (4 F - 4 b x_dot) / (4 - 3 m_p) = (-20 - 0.8) / 2.5 = -8.32
    # theta_acc = 6 (F - b x_dot) / (4 l - 3 m_p l) = 6 * (-5.2) / 1.5 = -20.8
    nxt, reward, done = swingup_step(np.array([[1.0, 2.0, 0.0, 3.0]]), np.array([-5.0]))
    # positions move with the OLD velocities: 1 + 2 * 0.01, 0 + 3 * 0.01
    np.testing.assert_allclose(nxt[0], [1.02, 2.0 - 0.0832, 0.03, 3.0 - 0.208], rtol=1e-13)
    expected = (math.cos(0.03) + 1) / 2 * math.cos(1.02 / 2.4 * math.pi / 2)
    assert reward[0] == pytest.approx(expected, rel=1e-14)
    assert reward[0] == pytest.approx(0.78514, abs=1e-5)  # 0.99978 * cos(0.66759)
    assert not done[0]


def test_step_matches_formulas_on_random_states():
    rng = np.random.default_rng(3)
    states = rng.normal(size=(50, 4)) * [1.0, 2.0, 3.0, 5.0]
    forces = rng.uniform(-10, 10, size=50)
    nxt, reward, _ = swingup_step(states, forces)
    for (x, xd, th, thd), f, got, rew in zip(states, forces, nxt, reward, strict=True):
        s, c = math.sin(th), math.cos(th)
        xacc = (-2 * 0.3 * thd**2 * s + 3 * 0.5 * 9.82 * s * c + 4 * f - 4 * 0.1 * xd) / (
            4 * 1.0 - 3 * 0.5 * c**2)
        tacc = (-3 * 0.3 * thd**2 * s * c + 6 * 1.0 * 9.82 * s + 6 * (f - 0.1 * xd) * c) / (
            4 * 0.6 * 1.0 - 3 * 0.3 * c**2)
        want = [x + xd * 0.01, xd + xacc * 0.01, th + thd * 0.01, thd + tacc * 0.01]
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
        xn, thn = want[0], want[2]
        assert rew == pytest.approx((math.cos(thn) + 1) / 2 * math.cos(xn / 2.4 * math.pi / 2),
                                    rel=1e-12, abs=1e-15)


def test_termination_and_negative_reward_on_leaving_step():
    states = np.array([[2.39, 2.0, 0.0, 0.0], [-2.39, -2.0, 0.0, 0.0], [2.39, 1.0, 0.0, 0.0]])
    nxt, reward, done = swingup_step(states, np.zeros(3))
    np.testing.assert_allclose(nxt[:, 0], [2.41, -2.41, 2.40], atol=1e-12)
    assert done.tolist() == [True, True, False]  # x = 2.4 exactly is still on the track
    want = math.cos(2.41 / 2.4 * math.pi / 2)  # pole upright: (cos 0 + 1) / 2 = 1
    np.testing.assert_allclose(reward[:2], [want, want], rtol=1e-12)
    assert reward[0] == pytest.approx(-0.006545, abs=1e-6)


def test_observation_layout_and_no_wrap():
    obs = swingup_observations(np.array([[0.5, -1.0, 4 * np.pi + 0.3, 2.0]]))
    np.testing.assert_allclose(obs[0], [0.5, -1.0, math.cos(0.3), math.sin(0.3), 2.0],
                               atol=1e-14)


def test_initial_states_are_the_reference_draw():
    got = swingup_initial_states([0, 7])
    for row, seed in zip(got, [0, 7], strict=True):
        want = np.random.RandomState(seed).normal(loc=[0, 0, np.pi, 0], scale=[0.2] * 4)
        np.testing.assert_array_equal(row, want)
    # seed 0: standard normals 1.7641, 0.4002, 0.9787, 2.2409, times 0.2
    np.testing.assert_allclose(got[0], [0.35281, 0.08003, np.pi + 0.19575, 0.44818], atol=1e-5)
    many = swingup_initial_states(range(2000))
    np.testing.assert_allclose(many.mean(axis=0), [0, 0, np.pi, 0], atol=0.02)  # 0.2/sqrt(2000)*4
    np.testing.assert_allclose(many.std(axis=0), [0.2] * 4, atol=0.015)


def test_seed_validation():
    with pytest.raises(ValueError, match="2\\*\\*32"):
        swingup_initial_states([-1])
    with pytest.raises(TypeError, match="int"):
        swingup_initial_states([1.5])


# ---------------------------------------------------------------------------- environment
def test_check_env_passes():
    check_env(CartPoleSwingUpEnv())
    check_env(CartPoleSwingUpEnv(render_mode="rgb_array"))


def test_registered_id_truncates_at_1000_steps():
    env = gymnasium.make(ENV_ID)
    assert env.spec.max_episode_steps == 1000
    obs, info = env.reset(seed=3)
    np.testing.assert_array_equal(obs, swingup_observations(swingup_initial_states([3])[0]))
    for t in range(1, 1001):  # noqa: B007  (t is read after the loop)
        obs, reward, terminated, truncated, _ = env.step(np.zeros(1))
        if terminated or truncated:
            break
    # with no force the cart stays on the track: the episode ends by the time limit
    assert (t, terminated, truncated) == (1000, False, True)
    env.close()


def test_reset_without_seed_draws_from_np_random():
    env = CartPoleSwingUpEnv()
    env.reset(seed=11)
    _, info_a = env.reset()
    env.reset(seed=11)
    _, info_b = env.reset()
    assert info_a["episode_seed"] == info_b["episode_seed"]
    obs, _ = CartPoleSwingUpEnv().reset(seed=info_a["episode_seed"])
    np.testing.assert_array_equal(
        obs, swingup_observations(swingup_initial_states([info_a["episode_seed"]])[0]))


def test_render_rgb_array():
    env = CartPoleSwingUpEnv(render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (400, 600, 3) and img.dtype == np.uint8
    assert (img < 80).all(axis=-1).any() and (img != 255).sum() > 1000  # track, axle, cart
    with pytest.raises(ValueError, match="render_mode"):
        CartPoleSwingUpEnv(render_mode="human")


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_env_played_step_by_step_equals_task(engine):
    """Reward on the terminating step included; same physics in both."""
    net = WannNetwork.from_edges(5, 1, [1] * 8, [(0, 7), (1, 6), (5, 6), (6, 7), (3, 7)])
    task = SwingUpTask(engine=engine)
    for w in (-1.0, 0.5, 2.0):
        scores = task.evaluate([net], np.array([w]), seed=40, n_repeats=3)[0, 0]
        lengths = task.rollouts([net], np.array([w]), seed=40, n_repeats=3).steps[0, 0]
        env = CartPoleSwingUpEnv()
        for r in range(3):
            obs, _ = env.reset(seed=40 + r)
            total, n, terminated = 0.0, 0, False
            while not terminated and n < 1000:
                out = net.activate(obs[None, :], w)[0]
                obs, reward, terminated, _, _ = env.step(out)
                total += reward
                n += 1
            assert n == lengths[r]
            assert total == scores[r]


# ---------------------------------------------------------------------------- task
def test_task_shape_and_common_random_numbers():
    task = SwingUpTask(max_steps=300)
    nets = [bias_only_net(), load_champion("swing.out")]
    scores = task.evaluate(nets, WEIGHTS, seed=5, n_repeats=3)
    assert scores.shape == (2, 6, 3) and np.all(np.isfinite(scores))
    # repetition r is episode seed seed + r, whoever else is in the call
    alone = task.evaluate(nets[1:], WEIGHTS[3:4], seed=7, n_repeats=1)
    assert alone[0, 0, 0] == scores[1, 3, 2]
    again = task.evaluate(nets, WEIGHTS, seed=5, n_repeats=3)
    np.testing.assert_array_equal(scores, again)
    np.testing.assert_array_equal(
        task.episode_returns(nets[1], [5, 6, 7], weight=-1.0), scores[1, 1])


def test_constant_force_leaves_track_with_known_length():
    # w = 1: force +10 N from the first step; the cart leaves the track after t steps
    roll = SwingUpTask().rollouts([bias_only_net()], np.array([1.0, 0.0]), seed=0, n_repeats=2)
    assert np.all(roll.steps[0, 0] < 200)
    assert np.all(roll.steps[0, 1] == 1000)  # no force: stays on, cut at 1000
    # hand check of one episode: replay with swingup_step
    state = swingup_initial_states([0])
    total = 0.0
    for _ in range(int(roll.steps[0, 0, 0])):
        state, reward, done = swingup_step(state, np.array([10.0]))
        total += reward[0]
    assert done[0]
    assert total == roll.scores[0, 0, 0]


def test_max_steps_and_swingup_hard():
    hard = make_task("swingup_hard")
    assert hard.max_steps == 200 and hard.name == "swingup_hard"
    roll = hard.rollouts([bias_only_net()], np.array([0.0]), seed=0, n_repeats=2)
    assert roll.steps.tolist() == [[[200, 200]]]
    assert make_task("swingup", max_steps="50").max_steps == 50


def test_worst_score_for_non_finite_output_only_in_that_episode():
    # ten squares of w * (previous): w = 2 gives 4, 64, 16384, ... 9e307 * 2, then inf at
    # the first step; w = 0.5 shrinks towards 0
    acts = [1] * 6 + [11] * 10 + [1]
    edges = [(0, 6)] + [(i, i + 1) for i in range(6, 16)]
    net = WannNetwork.from_edges(5, 1, acts, edges)
    task = SwingUpTask(max_steps=100)
    roll = task.rollouts([net], np.array([2.0, 0.5]), seed=0, n_repeats=2)
    assert roll.scores[0, 0].tolist() == [-1.0, -1.0]
    assert roll.steps[0, 0].tolist() == [1, 1]
    assert np.all(roll.scores[0, 1] > 0)
    np.testing.assert_array_equal(
        roll.scores[0, 1], task.evaluate([net], np.array([0.5]), seed=0, n_repeats=2)[0, 0])


def test_check_task_and_validation_errors():
    """Every bad input is a TaskError naming the task (as for every task)."""
    check_task(SwingUpTask(max_steps=100))
    with pytest.raises(TaskError, match="did you mean 'numba'"):
        SwingUpTask(engine="numb")
    with pytest.raises(TaskError, match=r"\[swingup\] max_steps == 0, must be >= 1"):
        SwingUpTask(max_steps=0)
    with pytest.raises(TaskError, match=r"\[swingup_hard\] max_steps == 1.5"):
        make_task("swingup_hard", max_steps=1.5)
    task = SwingUpTask(max_steps=10)
    net = bias_only_net()
    with pytest.raises(TaskError, match="finite"):
        task.evaluate([net], np.array([np.nan]), seed=0)
    with pytest.raises(TaskError, match="2\\*\\*32"):
        task.evaluate([net], WEIGHTS, seed=2**32 - 1, n_repeats=2)
    with pytest.raises(TaskError, match=r"\[swingup\] seed must be an int"):
        task.evaluate([net], WEIGHTS, seed=1.5)
    with pytest.raises(TaskError, match="n_repeats == 0"):
        task.evaluate([net], WEIGHTS, seed=0, n_repeats=0)
    with pytest.raises(TaskError, match="shape \\(n_sets, 1\\)"):
        task.evaluate_weights(net, np.ones((2, 3)), seed=0)
    with pytest.raises(TaskError, match="exactly one"):
        task.episode_returns(net, [0], weight=1.0, conn_weights=np.ones(1))
    with pytest.raises(TaskError, match="2\\*\\*32"):
        task.episode_returns(net, [-1], weight=1.0)
    wrong = WannNetwork.from_edges(4, 1, [1] * 6, [(0, 5)])
    with pytest.raises(TaskError, match="5 inputs and 1 outputs"):
        task.evaluate([wrong], WEIGHTS, seed=0)


# ---------------------------------------------------------------------------- reference
# Measured with this implementation. The default engine computes sin, cos, the gaussian,
# tanh and sigmoid with its own polynomials (1-2 ulp from numpy), ``exact_math=True`` with libm:
# both are pinned. Where a controller is stable the two agree to the 4th decimal or better; at
# w = +-2 the closed loop is chaotic and last-bit differences move single episodes by tens
# of points and 100-episode means by a few (numpy path: 549.997 and 688.949).
TUNED = {False: (931.96052, 6.27927, 916.01502), True: (931.96059, 6.27936, 916.01514)}
PER_WEIGHT = {False: [555.16080, 687.82787, 521.01711, 521.63275, 701.54451, 688.83923],
              True: [551.45620, 687.82787, 521.01711, 521.63275, 701.54451, 689.12496]}


@pytest.mark.parametrize("exact_math", [False, True], ids=["polynomials", "exact_math"])
def test_reference_tuned_champion_scores_932(exact_math):
    """WANNTool README: cartpole_swingup zoo weights score 932 +- 6 over seeds 0..99."""
    net = load_champion("swing.out")
    params, stored = json.loads((REF / "zoo" / "cartpole_swingup.wann.json").read_text())
    assert len(params) == net.n_connections == 52 and stored == 932
    conn_weights = np.empty(net.n_connections)
    conn_weights[net.row_major_order()] = np.asarray(params) - 1.5
    returns = SwingUpTask(exact_math=exact_math).episode_returns(net, range(100),
                                                                 conn_weights=conn_weights)
    assert abs(returns.mean() - 932) < 1 and abs(returns.std() - 6) < 1
    # the controller is stable: rounding differences move these only in the 4th decimal
    mean, std, low = TUNED[exact_math]
    assert returns.mean() == pytest.approx(mean, abs=0.01)
    assert returns.std() == pytest.approx(std, abs=0.01)
    assert returns.min() == pytest.approx(low, abs=0.01)


@pytest.mark.parametrize("exact_math", [False, True], ids=["polynomials", "exact_math"])
def test_reference_champion_per_weight_scores(exact_math):
    """swing.out with shared weights, episode seeds 0..99 (measured, pinned).

    At w = +-2 the closed loop is chaotic (see above), so those two get a wider tolerance."""
    scores = SwingUpTask(exact_math=exact_math).evaluate([load_champion("swing.out")], WEIGHTS,
                                                         seed=0, n_repeats=100)[0]
    means = scores.mean(axis=1)
    tol = [3.0, 1e-3, 1e-3, 1e-3, 1e-3, 3.0]
    for w, got, exp, t in zip(WEIGHTS, means, PER_WEIGHT[exact_math], tol, strict=True):
        assert got == pytest.approx(exp, abs=t), f"weight {w}"


def test_exact_math_option():
    task = make_task("swingup", exact_math="true", max_steps="50")
    assert task.exact_math is True and "exact_math=True" in repr(task)
    assert SwingUpTask().exact_math is False and make_task("swingup_hard").exact_math is False
    with pytest.raises(TaskError, match=r"\[swingup\] exact_math == 'yes', must be true or false"):
        SwingUpTask(exact_math="yes")
    # identical scores where no polynomial activation is involved
    net = WannNetwork.from_edges(5, 1, [1] * 6 + [9, 1], [(0, 6), (1, 6), (6, 7), (5, 7)])
    np.testing.assert_array_equal(task.evaluate([net], WEIGHTS, seed=1, n_repeats=2),
                                  SwingUpTask(max_steps=50).evaluate([net], WEIGHTS, seed=1,
                                                                     n_repeats=2))


# ---------------------------------------------------------------------------- sample_inputs
def test_sample_inputs_are_the_observations_of_the_episode_on_both_engines():
    """The kernel's trace and the numpy path's record give the same observations (a network
    without polynomial activations: both compute the same numbers)."""
    net = WannNetwork.from_edges(5, 1, [1] * 6 + [9, 1], [(0, 6), (1, 6), (4, 6), (6, 7), (5, 7)])
    cw = np.linspace(-1.0, 1.0, net.n_connections)
    fast, plain = SwingUpTask(max_steps=300), SwingUpTask(max_steps=300, engine="numpy")
    x = fast.sample_inputs(net, cw, seed=4, n=10_000)
    np.testing.assert_array_equal(x, plain.sample_inputs(net, cw, seed=4, n=10_000))
    steps = fast._run_conn(net, cw[None], swingup_initial_states([4]))[1][0, 0]
    assert x.shape == (steps, 5)
    np.testing.assert_array_equal(x[0], swingup_observations(swingup_initial_states([4]))[0])
    sub = fast.sample_inputs(net, cw, seed=4, n=7)
    assert sub.shape == (7, 5) and all(any(np.array_equal(r, t) for t in x) for r in sub)
    np.testing.assert_array_equal(sub, plain.sample_inputs(net, cw, seed=4, n=7))
    with pytest.raises(TaskError, match="conn_weights must have shape"):
        fast.sample_inputs(net, np.ones(2), seed=0, n=5)
