"""GymTask: real gymnasium environments, vectorised rollouts checked against a plain loop."""

from __future__ import annotations

import functools
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import GymTask, TaskError, check_task, make_task
from wann_plugin.tasks.gym import GENERIC_WORST_SCORE

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])


def random_net(n_in: int, n_out: int, n_hidden: int, p: float, seed: int,
               acts=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) -> WannNetwork:
    """A random feed-forward network: bias, inputs, hidden (in order), outputs."""
    rng = np.random.default_rng(seed)
    n_fixed = 1 + n_in
    n_nodes = n_fixed + n_hidden + n_out
    act_ids = [1] * n_fixed + list(rng.choice(acts, size=n_hidden)) + [1] * n_out
    edges = [(s, d) for d in range(n_fixed, n_nodes) for s in range(min(d, n_nodes - n_out))
             if rng.random() < p]
    return WannNetwork.from_edges(n_in, n_out, act_ids, edges)


def full_net(n_in: int, n_out: int) -> WannNetwork:
    return WannNetwork.from_edges(n_in, n_out, [1] * (1 + n_in + n_out),
                                  [(s, 1 + n_in + o) for o in range(n_out) for s in range(1 + n_in)])


def plain_returns(task: GymTask, env_id: str, net: WannNetwork, weights, seed: int,
                  n_repeats: int, **make_kwargs) -> np.ndarray:
    """The obviously-correct loop: one env, one episode at a time, net.activate per step."""
    out = np.zeros((len(weights), n_repeats))
    for i, w in enumerate(weights):
        for r in range(n_repeats):
            env = gym.make(env_id, max_episode_steps=task.max_steps, **make_kwargs)
            obs, _ = env.reset(seed=seed + r)
            total = 0.0
            for _ in range(task.max_steps):
                y = net.activate(np.asarray(obs, dtype=float)[None], w)
                obs, reward, terminated, truncated, _ = env.step(task.map_actions(y)[0])
                total += float(reward)  # (a float32 reward would make a float32 total)
                if terminated or truncated:
                    break
            env.close()
            out[i, r] = total
    return out


# ----------------------------------------------------------------------------- rollouts
@pytest.mark.parametrize("env_id, max_steps", [
    ("CartPole-v1", 200), ("Acrobot-v1", 150), ("Pendulum-v1", 100),
    ("MountainCarContinuous-v0", 150), ("LunarLander-v3", 150), ("BipedalWalker-v3", 120),
])
def test_vectorised_rollouts_equal_a_plain_loop(env_id, max_steps):
    task = GymTask(env_id, max_steps=max_steps, engine="numpy")
    net = random_net(task.n_inputs, task.n_outputs, 6, 0.4, seed=3)
    got = task.evaluate([net], WEIGHTS, seed=11, n_repeats=2)[0]
    want = plain_returns(task, env_id, net, WEIGHTS, 11, 2)
    np.testing.assert_array_equal(got, want)
    # the compiled forward rounds differently (sums left to right); Box2D amplifies that
    fast = GymTask(env_id, max_steps=max_steps)
    np.testing.assert_allclose(fast.evaluate([net], WEIGHTS, seed=11, n_repeats=2)[0], want,
                               rtol=1e-4, atol=1e-4)


def test_cartpole_episodes_end_at_different_steps_and_are_counted_once():
    task = GymTask("CartPole-v1")
    net = random_net(4, 2, 4, 0.6, seed=1)
    scores = task.evaluate([net], WEIGHTS, seed=0, n_repeats=3)[0]
    assert task.max_steps == 500
    assert len(np.unique(scores)) > 1            # different lengths in one batch
    assert np.all(scores == np.round(scores))   # +1 per step, nothing after the end
    assert scores.max() <= 500 and scores.min() >= 1


def test_pinned_returns_and_determinism():
    task = GymTask("Pendulum-v1", max_steps=200)
    net = full_net(3, 1)
    a = task.evaluate([net], WEIGHTS, seed=5, n_repeats=2)
    b = task.evaluate([net], WEIGHTS, seed=5, n_repeats=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[0], [
        [-1902.173037, -1702.292351], [-1904.226749, -1689.74157],
        [-1869.792896, -1563.298254], [-1602.66107, -1611.96152],
        [-1607.996734, -1620.189686], [-1607.996734, -1620.650871]], atol=1e-5)
    mc = GymTask("MountainCarContinuous-v0", max_steps=200)
    np.testing.assert_allclose(mc.evaluate([full_net(2, 1)], WEIGHTS, seed=5, n_repeats=1)[0, :, 0],
                               [-10.209196, -3.284191, -0.945793, -1.397871, -7.159462, -20.0],
                               atol=1e-5)


def test_common_random_numbers_per_repetition():
    """Every weight of repetition r starts from the same state (seed + r)."""
    task = GymTask("Pendulum-v1", max_steps=50)
    silent = WannNetwork.from_edges(3, 1, [1] * 5, [])  # output 0 whatever the weight
    scores = task.evaluate([silent, silent], WEIGHTS, seed=7, n_repeats=3)
    assert np.all(scores == scores[0, 0])                # same per repetition, net, weight
    assert len(np.unique(scores[0, 0])) == 3             # repetitions differ
    shifted = task.evaluate([silent], WEIGHTS, seed=8, n_repeats=2)
    np.testing.assert_array_equal(shifted[0, :, 0], scores[0, :, 1])  # (seed 8, r 0) == (7, 1)


def test_batches_capped_by_max_envs_give_the_same_scores():
    net = random_net(4, 2, 4, 0.6, seed=1)
    whole = GymTask("CartPole-v1", max_steps=100).evaluate([net], WEIGHTS, seed=3, n_repeats=3)
    capped = GymTask("CartPole-v1", max_steps=100, max_envs=5)
    np.testing.assert_array_equal(capped.evaluate([net], WEIGHTS, seed=3, n_repeats=3), whole)
    assert capped.last_timings["n_envs"] == 18
    with pytest.raises(TaskError, match="max_envs == 0"):
        GymTask("CartPole-v1", max_envs=0)


def test_evaluate_weights_matches_shared_weight():
    task = GymTask("Pendulum-v1", max_steps=100)
    net = random_net(3, 1, 5, 0.5, seed=4)
    shared = task.evaluate([net], WEIGHTS, seed=2, n_repeats=2)[0]
    cw = np.repeat(WEIGHTS[:, None], net.n_connections, axis=1)
    per_conn = task.evaluate_weights(net, cw, seed=2, n_repeats=2)
    assert per_conn.shape == (6, 2)
    np.testing.assert_allclose(per_conn, shared, rtol=1e-8)
    with pytest.raises(TaskError, match=r"conn_weights must have shape \(n_sets, "):
        task.evaluate_weights(net, cw[:, :-1], seed=2)


# ----------------------------------------------------------------------------- action mapping
class _SpaceEnv(gym.Env):
    """A real (tiny) gymnasium env with chosen spaces: reward = how well the action matches
    a target, observation = a counter, 5 steps."""

    def __init__(self, action_space, observation_space=None, obs_value=None):
        self.action_space = action_space
        self.observation_space = observation_space or spaces.Box(-10, 10, (2,), np.float64)
        self.obs_value = obs_value
        self.actions = []

    def _obs(self):
        if self.obs_value is not None:
            return np.full(self.observation_space.shape, self.obs_value)
        return np.array([self.t, 1.0]) if isinstance(self.observation_space, spaces.Box) \
            else self.observation_space.sample()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.actions.append(np.array(action))
        self.t += 1
        return self._obs(), float(np.sum(action)), self.t >= 5, False, {}


def test_box_actions_clip_by_default_and_scale_on_request():
    box = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    factory = functools.partial(_SpaceEnv, box)
    y = np.array([[-3.0, 0.5], [0.5, -0.5], [1.0, 2.0]])
    clip = GymTask(factory, max_steps=5)
    np.testing.assert_allclose(clip.map_actions(y), [[-2, 0.5], [0.5, 0], [1, 1]])
    scale = GymTask(factory, max_steps=5, scale_actions=True)
    np.testing.assert_allclose(scale.map_actions(y), [[-2, 0.75], [1, 0.25], [2, 1]])
    assert clip.map_actions(y).dtype == np.float32
    unbounded = functools.partial(_SpaceEnv, spaces.Box(-np.inf, np.inf, (1,)))
    with pytest.raises(TaskError, match="scale_actions=True needs finite action bounds"):
        GymTask(unbounded, max_steps=5, scale_actions=True)


def test_discrete_multibinary_multidiscrete_actions():
    disc = GymTask(functools.partial(_SpaceEnv, spaces.Discrete(3, start=-1)), max_steps=5)
    assert disc.n_outputs == 3
    np.testing.assert_array_equal(disc.map_actions(np.array([[0, 2, 1], [5, 0, 0]])), [0, -1])
    mb = GymTask(functools.partial(_SpaceEnv, spaces.MultiBinary(3)), max_steps=5)
    np.testing.assert_array_equal(mb.map_actions(np.array([[0.1, 0.0, -1.0]])), [[1, 0, 0]])
    md = GymTask(functools.partial(_SpaceEnv, spaces.MultiDiscrete([2, 3])), max_steps=5)
    assert md.n_outputs == 5
    np.testing.assert_array_equal(md.map_actions(np.array([[0, 1, 3, 2, 9], [1, 0, 9, 0, 0]])),
                                  [[1, 2], [0, 0]])
    # and they run end to end: 5 steps, reward = sum of the action
    net = full_net(2, 3)
    scores = disc.evaluate([net], np.array([-1.0, 1.0]), seed=0)[:, :, 0]
    assert scores.shape == (1, 2) and np.all(scores >= -5) and np.all(scores <= 5)


def test_discrete_observations_are_one_hot():
    task = GymTask("FrozenLake-v1")
    assert (task.n_inputs, task.n_outputs, task.max_steps) == (16, 4, 100)
    x = task._encode_batch(np.array([0, 5]))
    assert x.shape == (2, 16) and x[0, 0] == 1 and x[1, 5] == 1 and x.sum() == 2
    check_task(task)


def test_non_finite_outputs_score_worst_and_end_only_that_episode():
    # observation 1e308: weight +-2 overflows to +-inf, weight +-0.5 stays finite
    factory = functools.partial(_SpaceEnv, spaces.Box(-1, 1, (1,), np.float32), obs_value=1e308)
    task = GymTask(factory, max_steps=5, worst_score=-99.0)
    net = WannNetwork.from_edges(2, 1, [1, 1, 1, 1], [(1, 3)])
    scores = task.evaluate([net], np.array([-2.0, -0.5, 0.5, 2.0]), seed=0)[0, :, 0]
    np.testing.assert_array_equal(scores, [-99.0, -5.0, 5.0, -99.0])


# ----------------------------------------------------------------------------- validation
def test_unsupported_spaces_and_bad_ids_are_refused_clearly():
    with pytest.raises(TaskError, match="needs an environment: pass env_id"):
        make_task("gym")
    with pytest.raises(TaskError, match="Did you mean: `CartPole`"):
        GymTask("CartPol-v1")
    with pytest.raises(TaskError, match=r"image observations of shape \(96, 96, 3\); pass an encoder"):
        GymTask("CarRacing-v3")
    with pytest.raises(TaskError, match="Tuple observation space"):
        GymTask("Blackjack-v1")
    dict_obs = functools.partial(_SpaceEnv, spaces.Discrete(2),
                                 spaces.Dict({"a": spaces.Box(0, 1, (2,))}))
    with pytest.raises(TaskError, match="Dict observation space"):
        GymTask(dict_obs, max_steps=5)
    text_act = functools.partial(_SpaceEnv, spaces.Text(5))
    with pytest.raises(TaskError, match="Text action space"):
        GymTask(text_act, max_steps=5)
    with pytest.raises(TaskError, match="has no time limit of its own; set the option max_steps"):
        GymTask(functools.partial(_SpaceEnv, spaces.Discrete(2)))
    with pytest.raises(TaskError, match="rejects env_kwargs"):
        GymTask("CartPole-v1", env_kwargs="wings=2")
    with pytest.raises(TaskError, match="engine == 'numbaa'.*did you mean 'numba'"):
        GymTask("CartPole-v1", engine="numbaa")
    with pytest.raises(TaskError, match="max_steps == -1"):
        GymTask("CartPole-v1", max_steps=-1)
    task = GymTask("CartPole-v1", max_steps=10)
    with pytest.raises(TaskError, match="takes networks with 4 inputs and 2 outputs"):
        task.evaluate([full_net(3, 2)], WEIGHTS, seed=0)
    with pytest.raises(TaskError, match="n_repeats == 0"):
        task.evaluate([full_net(4, 2)], WEIGHTS, seed=0, n_repeats=0)


def test_an_encoder_accepts_image_observations():
    task = GymTask("CarRacing-v3", max_steps=3,
                   encoder=lambda frame: frame[:84].mean(axis=(0, 1)) / 255.0)
    assert task.n_inputs == 3
    scores = task.evaluate([full_net(3, 3)], np.array([-1.0, 1.0]), seed=0)
    assert scores.shape == (1, 2, 1) and np.all(np.isfinite(scores))


def test_worst_scores_per_env():
    assert GymTask("CartPole-v1").worst_score == -1.0
    assert GymTask("Acrobot-v1").worst_score == -501.0
    assert GymTask("MountainCarContinuous-v0").worst_score == pytest.approx(-0.1 * 999 - 1)
    assert GymTask("Pendulum-v1").worst_score == pytest.approx(-16.2736044 * 200 - 1)
    assert GymTask("LunarLander-v3").worst_score == GENERIC_WORST_SCORE
    assert GymTask("CartPole-v1", worst_score=-7.5).worst_score == -7.5
    assert make_task("gym", env_id="CartPole-v1", worst_score="-3").worst_score == -3.0


def test_normalize_obs_uses_fixed_random_action_statistics():
    task = GymTask("CartPole-v1", normalize_obs=True, normalize_steps=500)
    again = GymTask("CartPole-v1", normalize_obs=True, normalize_steps=500)
    np.testing.assert_array_equal(task.obs_mean, again.obs_mean)
    np.testing.assert_array_equal(task.obs_std, again.obs_std)
    assert task.obs_std.shape == (4,) and np.all(task.obs_std > 0)
    x = np.array([[0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(task._encode_batch(x), (x - task.obs_mean) / task.obs_std)
    plain = GymTask("CartPole-v1")
    np.testing.assert_array_equal(plain._encode_batch(x), x)


def test_options_from_strings_env_kwargs_and_pickling():
    task = make_task("gym", env_id="LunarLander-v3", env_kwargs="continuous=True",
                     max_steps="60", scale_actions="true")
    assert (task.n_inputs, task.n_outputs, task.max_steps, task.scale_actions) == (8, 2, 60, True)
    net = random_net(8, 2, 3, 0.5, seed=2)
    before = task.evaluate([net], WEIGHTS, seed=4, n_repeats=2)
    clone = pickle.loads(pickle.dumps(task))
    np.testing.assert_array_equal(clone.evaluate([net], WEIGHTS, seed=4, n_repeats=2), before)
    assert task.last_timings["steps"] <= 60 and task.last_timings["n_envs"] == 12
    check_task(task)


def test_the_python_examples_of_docs_tasks_rst_run():
    """docs/tasks.rst's ``code-block:: python`` examples, executed as written."""
    import re
    from pathlib import Path

    from wann_plugin.tasks import TASKS

    text = (Path(__file__).resolve().parents[1] / "docs" / "tasks.rst").read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    assert len(blocks) == 4
    try:
        for block in blocks:
            code = "\n".join(line[3:] for line in block.splitlines())
            exec(compile(code, "docs/tasks.rst", "exec"), {})
    finally:
        TASKS.pop("target", None)


def test_sample_inputs_are_the_observations_the_network_saw():
    """Safe mutations' experiences: the inputs of one episode under given weights."""
    task = make_task("gym", env_id="CartPole-v1")
    edges = [(s, 5 + o) for o in range(2) for s in range(5)]
    net = WannNetwork.from_edges(4, 2, [1] * 7, edges)
    cw = np.full(net.n_connections, 0.5)
    x = task.sample_inputs(net, cw, seed=3, n=500)
    # the first input is the reset observation of seed 3
    env = gym.make("CartPole-v1")
    obs0, _ = env.reset(seed=3)
    np.testing.assert_allclose(x[0], obs0)
    # as many inputs as the episode had steps, a seeded subset when capped
    score = task.evaluate_weights(net, cw[None], seed=3, n_repeats=1)[0, 0]
    assert x.shape == (int(score), 4)  # CartPole pays 1 per step
    sub = task.sample_inputs(net, cw, seed=3, n=5)
    assert sub.shape == (5, 4) and all(any(np.array_equal(r, q) for q in x) for r in sub)
    np.testing.assert_array_equal(sub, task.sample_inputs(net, cw, seed=3, n=5))


def test_networks_stepped_together_score_as_each_alone():
    """The episodes of several networks run side by side, cut into batches anywhere (7 of a
    network's 12 in one batch, 5 in the next), score exactly as each network alone; a network
    whose outputs overflow at some weights ends only those episodes. LunarLander is a Box2D
    env: every episode gets a fresh env."""
    chain = [(2, 9)] + [(9 + k, 10 + k) for k in range(10)] + [(19, 20), (1, 21), (3, 22)]
    overflow = WannNetwork.from_edges(8, 4, [1] * 9 + [11] * 11 + [1] * 4,
                                      chain + [(4, 23), (5, 20)])
    nets = [random_net(8, 4, 3, 0.5, seed=s) for s in range(3)] + [overflow]
    task = GymTask("LunarLander-v3", max_steps=60, max_envs=7)
    together = task.evaluate(nets, WEIGHTS, seed=2, n_repeats=2)
    alone = GymTask("LunarLander-v3", max_steps=60)
    for k, net in enumerate(nets):
        np.testing.assert_array_equal(together[k], alone.evaluate([net], WEIGHTS, seed=2,
                                                                  n_repeats=2)[0])
    worst = together[3] == task.worst_score
    assert worst.any() and not worst.all()
    assert task.last_timings["n_envs"] == 48 and task.last_timings["steps"] <= 7 * 60


@pytest.mark.parametrize("env_id", ["BipedalWalker-v3", "CarRacing-v3"])
def test_a_remade_box2d_env_is_freed_without_the_cyclic_collector(env_id):
    """``wann run`` freezes the heap every generation, so a discarded env must not wait for
    the cyclic collector: the remade slot's old env is gone by reference counting alone."""
    import gc
    import weakref

    from wann_plugin.tasks.gym import _EpisodeEnv

    slot = _EpisodeEnv(functools.partial(gym.make, env_id))
    slot.reset(0)
    slot.env.step(slot.env.action_space.sample())
    old = weakref.ref(slot.env.unwrapped)
    gc.disable()
    try:
        slot.reset(1)
        assert old() is None
        new = weakref.ref(slot.env.unwrapped)
        slot.close()
        assert new() is None
    finally:
        gc.enable()
