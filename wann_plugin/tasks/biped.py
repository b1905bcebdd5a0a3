"""BipedalWalker, as gymnasium ships it or as the WANN reference trained on it.

The reference (Gaier & Ha 2019, ``WANN/domain/bipedal_walker.py``) trained on a copy of
BipedalWalker-v2 whose -100 fall penalty was commented out. :class:`BipedTask` runs gymnasium's
BipedalWalker-v3 as is by default; ``fall_penalty=False`` removes exactly that penalty again.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np

from wann_plugin.tasks.base import TaskError, register_task
from wann_plugin.tasks.gym import GymTask
from wann_plugin.validation import Key

__all__ = ["BipedTask", "NoFallPenalty", "make_biped_env"]


class NoFallPenalty(gym.Wrapper):
    """Undo BipedalWalker's -100 fall penalty, as the reference's training copy.

    gymnasium's ``BipedalWalker.step`` computes ``reward = shaping - prev_shaping - torque
    cost`` and then, if the hull touched the ground (``game_over``) or the walker left the
    terrain on the left (``hull.position.x < 0``), overwrites it with ``reward = -100`` and
    terminates. On exactly those steps this wrapper returns the overwritten value instead,
    recomputed with the env's own expressions (so it is bit-identical to the reference's
    ``reward`` without the ``-100`` line); every other step and the termination are untouched.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        from gymnasium.envs.box2d.bipedal_walker import BipedalWalker

        if not isinstance(env.unwrapped, BipedalWalker):
            raise TypeError(f"NoFallPenalty wraps a BipedalWalker, got {type(env.unwrapped).__name__}")
        self._walker = env.unwrapped

    def step(self, action):
        from gymnasium.envs.box2d.bipedal_walker import MOTORS_TORQUE

        walker = self._walker
        prev_shaping = walker.prev_shaping
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated and (walker.game_over or walker.hull.position[0] < 0):
            # the env's own reward before `reward = -100` (bipedal_walker.py, step)
            reward = 0
            if prev_shaping is not None:
                reward = walker.prev_shaping - prev_shaping
            for a in action:
                reward -= 0.00035 * MOTORS_TORQUE * np.clip(np.abs(a), 0, 1)
            info = dict(info, fall_penalty_removed=True)
        return obs, reward, terminated, truncated, info


def make_biped_env(*, fall_penalty: bool = True, hardcore: bool = False,
                   max_steps: int = 0, env_checker: bool = True) -> gym.Env:
    """BipedalWalker-v3 (or BipedalWalkerHardcore-v3), optionally without the fall penalty.

    Parameters
    ----------
    fall_penalty : bool, default=True
        ``False`` wraps the env in :class:`NoFallPenalty`.
    hardcore : bool, default=False
        The hardcore terrain (stumps, pits, stairs).
    max_steps : int, default=0
        Time limit; ``0`` keeps gymnasium's (1600, hardcore 2000).
    env_checker : bool, default=True
        Keep gymnasium's passive env checker (``False``: the environments of a task's batch).
    """
    env_id = "BipedalWalkerHardcore-v3" if hardcore else "BipedalWalker-v3"
    kwargs = {"max_episode_steps": int(max_steps)} if max_steps > 0 else {}
    env = gym.make(env_id, disable_env_checker=not env_checker, **kwargs)
    return env if fall_penalty else NoFallPenalty(env)


class BipedTask(GymTask):
    """BipedalWalker-v3: walk right over rough terrain (Gaier & Ha 2019, section 4.1).

    Parameters
    ----------
    fall_penalty : bool, default=True
        Keep gymnasium's -100 reward on a fall. ``False`` reproduces the reference's training
        environment, where that line was commented out ("no extra punishment"): the fall step
        then pays its ordinary shaping reward (see :class:`NoFallPenalty`).
    max_steps : int, default=0
        Episode length; ``0`` is gymnasium's limit, 1600 (hardcore 2000), the reference's
        ``BIPED_LIMIT``.
    hardcore : bool, default=False
        BipedalWalkerHardcore-v3 terrain.
    worst_score : float or None, default=None
        Score of an episode with non-finite network outputs; ``None`` gives -1e6 (the return
        has no closed-form lower bound).
    engine : {"numba", "numpy"}, default="numba"
        Network forward (see :class:`~wann_plugin.tasks.gym.GymTask`).
    max_envs : int, default=12
        Most episodes run side by side (see :class:`~wann_plugin.tasks.gym.GymTask`): two
        networks' 6 weights. More walkers stepped in turn fall out of the CPU cache: at 24 to
        256 the env's own step took 10-15 % longer (``benchmarks/bench_gym_generation.py``).

    Observation
        24 numbers: hull angle, angular velocity, horizontal and vertical speed, then for each
        leg hip angle and speed, knee angle and speed, ground contact, then 10 lidar readings.
    Action
        4 outputs, clipped to [-1, 1]: hip and knee motor of each leg (speed sign(a) times 4 or
        6, torque ``80 |a|``).
    Reward
        130 / SCALE per unit moved right, minus 5 times the change of ``|hull angle|``,
        minus ``0.00035 * 80 * |a|`` per motor and step; -100 on a fall unless ``fall_penalty=False``.
        The reference's network scores (``biped.out``) were made without the fall penalty.
    Episode end
        The hull touches the ground or the walker leaves the terrain's left end (terminated),
        the far end is reached (terminated) or ``max_steps`` steps (truncated).
    Version history
        * v0.1: gymnasium BipedalWalker-v3 (the reference used a v2 copy: v3 returns the
          closest lidar hit instead of the furthest).

    Examples
    --------
    >>> task = BipedTask(fall_penalty=False, max_steps=100)
    >>> task.n_inputs, task.n_outputs
    (24, 4)
    """

    name = "biped"

    def __init__(self, *, fall_penalty: bool = True, max_steps: int = 0, hardcore: bool = False,
                 worst_score: float | None = None, engine: str = "numba", max_envs: int = 12,
                 exact_math: bool = False):
        self.fall_penalty = bool(fall_penalty)
        self.hardcore = bool(hardcore)
        max_steps = Key("max_steps", int, 0, low=0).validate("biped", max_steps, TaskError)
        factory = functools.partial(make_biped_env, fall_penalty=self.fall_penalty,
                                    hardcore=self.hardcore, max_steps=int(max_steps))
        super().__init__(factory, max_steps=int(max_steps), worst_score=worst_score,
                         engine=engine, max_envs=max_envs, exact_math=exact_math)

    def _env_label(self) -> str:
        return "BipedalWalkerHardcore-v3" if self.hardcore else "BipedalWalker-v3"

    def _make_env(self, checked: bool = True) -> gym.Env:
        return self.env_id(env_checker=checked)

    def __repr__(self) -> str:
        return (f"BipedTask(fall_penalty={self.fall_penalty}, hardcore={self.hardcore}, "
                f"max_steps={self.max_steps})")


register_task("biped", BipedTask)
