"""BipedTask: the fall penalty option, determinism, and the reference champion biped.out."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.box2d.bipedal_walker import MOTORS_TORQUE, SCALE

from wann_plugin.config import load_config
from wann_plugin.network import WannNetwork
from wann_plugin.tasks import BipedTask, NoFallPenalty, TaskError, make_biped_env, make_task

WEIGHTS = np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0])
CHAMPION = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "wann" / "biped.out"


def champion() -> WannNetwork:
    M = np.loadtxt(CHAMPION, delimiter=",")
    return WannNetwork.from_matrix(M[:, :-1], M[:, -1], 24, 4)


def _falling_episode(fall_penalty: bool, seed: int = 3):
    """Random actions (seeded) until the walker falls; rewards and hull states per step."""
    env = make_biped_env(fall_penalty=fall_penalty)
    env.reset(seed=seed)
    walker = env.unwrapped
    rng = np.random.default_rng(1)
    rewards, states, actions = [], [(walker.hull.position[0], walker.hull.angle)], []
    for _ in range(1600):
        a = rng.uniform(-1, 1, 4).astype(np.float32)
        _, r, terminated, truncated, info = env.step(a)
        rewards.append(float(r))
        states.append((walker.hull.position[0], walker.hull.angle))
        actions.append(a)
        if terminated or truncated:
            break
    env.close()
    return np.array(rewards), states, actions, walker.game_over, info


def test_no_fall_penalty_replaces_exactly_the_minus_100():
    with_pen, states, actions, fell, _ = _falling_episode(True)
    without, states2, _, fell2, info = _falling_episode(False)
    assert fell and fell2 and len(with_pen) == len(without) == 90
    assert states == states2                                # same physics
    np.testing.assert_array_equal(with_pen[:-1], without[:-1])
    assert with_pen[-1] == -100.0
    assert info["fall_penalty_removed"] is True
    # the fall step pays its ordinary reward: change of the shaping minus the torque cost
    (x0, a0), (x1, a1) = states[-2], states[-1]
    shaping = (130 * x1 / SCALE - 5 * abs(a1)) - (130 * x0 / SCALE - 5 * abs(a0))
    torque = sum(0.00035 * MOTORS_TORQUE * min(abs(float(v)), 1.0) for v in actions[-1])
    assert without[-1] == pytest.approx(shaping - torque, abs=1e-5)
    assert without[-1] != -100.0


def test_no_fall_penalty_only_wraps_a_bipedal_walker():
    with pytest.raises(TypeError, match="wraps a BipedalWalker"):
        NoFallPenalty(gym.make("CartPole-v1"))


def test_task_shape_options_and_errors():
    task = make_task("biped", fall_penalty="false", max_steps="1600")
    assert (task.n_inputs, task.n_outputs, task.max_steps, task.fall_penalty) == (24, 4, 1600, False)
    assert BipedTask().max_steps == 1600 and BipedTask(hardcore=True).max_steps == 2000
    assert BipedTask().fall_penalty is True
    with pytest.raises(TaskError, match="max_steps == -5"):
        BipedTask(max_steps=-5)
    with pytest.raises(TaskError, match="no option 'fall_penalti'; did you mean 'fall_penalty'"):
        make_task("biped", fall_penalti="false")
    with pytest.raises(TaskError, match=r"\[biped\] fall_penalty == 'maybe', must be true or false\."):
        make_task("biped", fall_penalty="maybe")


def test_scores_are_exactly_reproducible_for_a_seed():
    task = BipedTask(max_steps=200)
    net = champion()
    a = task.evaluate([net], WEIGHTS, seed=21, n_repeats=2)
    b = BipedTask(max_steps=200).evaluate([net], WEIGHTS, seed=21, n_repeats=2)
    np.testing.assert_array_equal(a, b)
    c = task.evaluate([net], WEIGHTS, seed=22, n_repeats=1)
    np.testing.assert_array_equal(c[0, :, 0], a[0, :, 1])  # episode seed 22 either way


def test_penalty_changes_only_falling_episodes():
    net = champion()
    on = BipedTask(max_steps=300).evaluate([net], WEIGHTS, seed=0, n_repeats=2)[0]
    off = BipedTask(max_steps=300, fall_penalty=False).evaluate([net], WEIGHTS, seed=0,
                                                               n_repeats=2)[0]
    diff = off - on
    assert np.all(diff >= 0)
    fell = diff > 0
    assert fell.sum() >= 6   # the positive weights fall at once
    # a fall costs -100 instead of its ordinary (small) reward
    assert np.all(np.abs(diff[fell] - 100) < 3)


@pytest.mark.slow
def test_reference_champion_walks_for_negative_weights_only():
    """biped.out, 10 episodes (seeds 0-9) per weight, 1600 steps, no fall penalty.

    Figures of gymnasium 1.x BipedalWalker-v3 with the compiled forward (engine="numba").
    """
    task = BipedTask(fall_penalty=False, max_steps=1600)
    scores = task.evaluate([champion()], WEIGHTS, seed=0, n_repeats=10)[0]
    means = scores.mean(axis=1)
    np.testing.assert_allclose(
        means, [261.5824, 264.3907, 1.9324, -11.2380, 2.9173, -4.0369], atol=1e-3)
    assert np.all(means[:2] > 250) and np.all(means[2:] < 5)
    assert np.median(scores[0]) > 280 and np.median(scores[1]) > 300


def test_example_config_has_the_reference_hyperparameters():
    config = load_config(Path(__file__).resolve().parents[1] / "examples" / "biped" / "config.cfg")
    assert config.pop_size == 480 and config.reproduction_config.tournament_size == 16
    assert config.genome_config.initial_connection_prob == 0.25
    assert config.wann.n_repeats == 4
    task = config.wann.make_task()
    assert (task.fall_penalty, task.max_steps) == (False, 1600)
