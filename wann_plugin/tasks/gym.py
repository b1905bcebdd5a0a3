"""Any gymnasium environment as a WANN task, run as one vectorised batch per network.

All episodes of one network (every shared weight times every repetition) run side by side in
one :class:`gymnasium.vector.SyncVectorEnv`, with one batched network forward per time step.
Repetition ``r`` resets its environments with seed ``seed + r`` (the reference's ``testInd``
seeding), so every network and every weight of a call faces the same start states.
"""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import SyncVectorEnv
from gymnasium.vector.utils import concatenate, create_empty_array, iterate

from wann_plugin.compiled import BatchedForward
from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task, TaskError, check_engine, register_task, subsample_rows
from wann_plugin.validation import Key, validate_params

__all__ = ["GENERIC_WORST_SCORE", "GymTask", "ObservationEncoder"]

#: Declared options of :class:`GymTask` checked with the validation vocabulary.
#:
#: :meta hide-value:
_GYM_KEYS = (Key("max_steps", int, 0, low=0), Key("normalize_steps", int, 2000, low=1),
             Key("max_envs", int, 256, low=1), Key("exact_math", bool, False))

#: Worst score of an environment with no known lower bound on its return.
GENERIC_WORST_SCORE = -1e6

# Lower bounds of one step's reward (and of the rest of the return) for built-in envs whose
# return is bounded; the worst score is ``per_step * max_steps + extra - 1``.
_RETURN_BOUNDS: dict[str, tuple[float, float]] = {
    "CartPole": (0.0, 0.0),
    "Pendulum": (-(math.pi**2 + 0.1 * 8.0**2 + 0.001 * 2.0**2), 0.0),
    "MountainCarContinuous": (-0.1, 0.0),
    "MountainCar": (-1.0, 0.0),
    "Acrobot": (-1.0, 0.0),
}

ObservationEncoder = Callable[[Any], np.ndarray]
"""A callable mapping ONE raw observation to a 1-D feature vector.

If the object also has a method ``encode_batch(observations) -> ndarray (n_envs, n_features)``
the task calls that once per step for the whole batch instead (see
:class:`~wann_plugin.tasks.carracing.PCAEncoder`). An int attribute ``n_features`` gives the
vector's length up front; otherwise the task encodes one observation to find it.
"""


class _OneEpisode(gym.Wrapper):
    """Runs exactly one episode per reset inside a vector env.

    Once the wrapped env ends its episode (terminated or truncated), or the task ends it with
    :meth:`end`, every later ``step`` returns the last observation and reward 0 without
    touching the env. The vector env is never told the episode ended, so it never auto-resets;
    the task reads :attr:`ended` instead.

    Box2D environments (those with a ``world``) keep their physics world across resets, so an
    episode's return would depend on what the env ran before (and so on the batch and the
    worker). For them every episode after the first gets a freshly made env from
    ``factory`` (about 3 ms for BipedalWalker, less than its reset), which makes a seed's
    return the same wherever it runs.
    """

    def __init__(self, env: gym.Env, factory: Callable[[], gym.Env] | None = None):
        super().__init__(env)
        self.ended = False
        self._last_obs: Any = None
        self._factory = factory if hasattr(env.unwrapped, "world") else None
        self._used = False

    def reset(self, **kwargs):
        self.ended = False
        if self._factory is not None and self._used:
            self.env.close()
            self.env = self._factory()
        self._used = True
        obs, info = self.env.reset(**kwargs)
        self._last_obs = obs
        return obs, info

    def step(self, action):
        if self.ended:
            return self._last_obs, 0.0, False, False, {}
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._last_obs = obs
        if terminated or truncated:
            self.ended = True
        return obs, reward, False, False, info

    def end(self) -> None:
        """Stop this episode now (the network produced a non-finite action)."""
        self.ended = True


def _parse_env_kwargs(env_kwargs: dict | str) -> dict:
    """``"continuous=True, gravity=-9.0"`` -> dict; values parsed as Python literals."""
    if isinstance(env_kwargs, dict):
        return dict(env_kwargs)
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in str(env_kwargs).split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise TaskError(f"env_kwargs item {part!r} is not KEY=VALUE")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def _env_family(env_id: str) -> str:
    return env_id.split("/")[-1].split("-v")[0]


class GymTask(Task):
    """A gymnasium environment, scored by the undiscounted return of one episode.

    Parameters
    ----------
    env_id : str or callable, default=""
        A registered gymnasium id (``"CartPole-v1"``) or a factory ``() -> gymnasium.Env``.
        Required; the empty default only exists so configs can name it as an option. A
        factory must be picklable (a module-level function or ``functools.partial``) for
        tasks sent to worker processes.
    max_steps : int, default=0
        Episode length cap. ``0`` means the environment's own time limit
        (``spec.max_episode_steps``). With an id, a positive value replaces the env's
        ``TimeLimit``; with a factory the episode is cut at ``max_steps`` (the factory's own
        limit still applies).
    scale_actions : bool, default=False
        Box action spaces only. ``False``: outputs are clipped to the action bounds.
        ``True``: outputs are clipped to [-1, 1] and mapped linearly onto ``[low, high]``
        (needs finite bounds).
    normalize_obs : bool, default=False
        Standardise each input feature: ``(x - mean) / std`` with mean and std estimated once,
        at construction, from ``normalize_steps`` steps of uniformly random actions
        (episodes reset with seeds 0, 1, 2, ...); a std below 1e-8 is taken as 1. The
        statistics are fixed afterwards, so every network sees the same transform.
    normalize_steps : int, default=2000
        Random-action steps used for the statistics of ``normalize_obs``.
    worst_score : float or None, default=None
        Score of an episode whose network output or reward is not finite. ``None`` derives it:
        ``min_step_reward * max_steps - 1`` for envs with a known bounded return (CartPole:
        -1, Pendulum: -16.2736 * max_steps - 1, MountainCarContinuous: -0.1 * max_steps - 1,
        MountainCar and Acrobot: -max_steps - 1), or from a finite ``env.reward_range`` when
        the env sets one; otherwise :data:`GENERIC_WORST_SCORE` (-1e6).
    encoder : callable, optional
        Maps one raw observation to a 1-D feature vector (see :data:`ObservationEncoder`).
        Required for image or other multi-dimensional observations; with an encoder any
        observation space is accepted.
    env_kwargs : dict or str, default=""
        Extra keyword arguments for ``gymnasium.make`` (ids only); as a string
        ``"continuous=True, gravity=-9.0"`` (values are Python literals).
    engine : {"numba", "numpy"}, default="numba"
        Network forward: a compiled kernel over all episodes of the batch, or
        :meth:`WannNetwork.activate` (also used for custom activations). They agree to
        rounding; chaotic envs (BipedalWalker) can turn such rounding into different returns,
        so pinned scores name their engine.
    exact_math : bool, default=False
        With ``engine="numba"``: compute the sin, cos, gaussian, tanh and sigmoid nodes with
        libm instead of the SIMD polynomials of :mod:`wann_plugin.compiled` (which agree with
        numpy to 1-2 ulp), as every task does.
    max_envs : int, default=256
        Most episodes in one vector env. A network's episodes (weights x repetitions) run as
        one batch up to this size, and as consecutive batches beyond it (long evaluations such
        as ``summary`` over 100 episodes); the scores do not depend on it.

    Observation
        The network's inputs, per space: ``Box`` of one dimension as is (as float64);
        ``Discrete(n)`` one-hot (n inputs); ``MultiBinary(n)`` as 0/1 values; anything else
        (images, ``Dict``, ``Tuple``, ``Text``, ``Graph``, ``Sequence``) needs an ``encoder``.
        Then ``normalize_obs`` if asked.
    Action
        Outputs per action space: ``Box(n,)`` clipped (or scaled, ``scale_actions``) to the
        bounds, n outputs; ``Discrete(n, start)`` ``start + argmax``, n outputs;
        ``MultiBinary(n)`` ``output > 0``, n outputs; ``MultiDiscrete(nvec)`` the argmax of
        each consecutive group of ``nvec[k]`` outputs, ``sum(nvec)`` outputs. Actions are cast
        to the space's dtype. Other spaces raise :class:`TaskError`.
    Reward
        The environment's reward, summed over the episode (undiscounted), as the reference's
        ``testInd``. Steps after the episode ended are not counted.
    Episode end
        The environment terminates or truncates, or ``max_steps`` steps. A non-finite network
        output or reward ends the episode with :attr:`worst_score`.
    Version history
        * v0.1: first version (gymnasium 1.x vector API, one episode per sub-env, no
          auto-reset; at most ``max_envs`` sub-envs at once).

    Examples
    --------
    >>> import numpy as np
    >>> task = GymTask("CartPole-v1", max_steps=50)
    >>> net = WannNetwork.from_edges(4, 2, [1] * 7, [(3, 5), (4, 6)])
    >>> task.evaluate([net], np.array([-1.0, 1.0]), seed=0, n_repeats=2).shape
    (1, 2, 2)
    """

    name = "gym"
    exact_math = False  # class default: tasks pickled before the option existed load as before

    def __init__(
        self,
        env_id: str | Callable[[], gym.Env] = "",
        *,
        max_steps: int = 0,
        scale_actions: bool = False,
        normalize_obs: bool = False,
        normalize_steps: int = 2000,
        worst_score: float | str | None = None,
        encoder: ObservationEncoder | None = None,
        env_kwargs: dict | str = "",
        engine: str = "numba",
        max_envs: int = 256,
        exact_math: bool = False,
    ):
        if isinstance(env_id, str) and not env_id.strip():
            raise TaskError(
                f"task {self.name!r} needs an environment: pass env_id (a gymnasium id such as "
                "'CartPole-v1', or a factory), e.g. --task-option env_id=CartPole-v1"
            )
        if not isinstance(env_id, str) and not callable(env_id):
            raise TaskError(f"env_id must be a gymnasium id or a factory, got {env_id!r}")
        self.env_id = env_id.strip() if isinstance(env_id, str) else env_id
        self.env_kwargs = _parse_env_kwargs(env_kwargs)
        if self.env_kwargs and not isinstance(self.env_id, str):
            raise TaskError("env_kwargs only applies to an env id; a factory takes its own")
        validate_params(self.name, _GYM_KEYS, {
            "max_steps": max_steps, "normalize_steps": normalize_steps, "max_envs": max_envs,
            "exact_math": exact_math}, TaskError)
        self.engine = check_engine(engine, self.name)
        self.exact_math = bool(exact_math)
        self.max_envs = int(max_envs)
        self.scale_actions = bool(scale_actions)
        self.normalize_obs = bool(normalize_obs)
        self.encoder = encoder
        if encoder is not None and not callable(encoder):
            raise TaskError(f"encoder must be callable (one observation -> vector), got {encoder!r}")
        self._requested_max_steps = int(max_steps)
        self._vec: dict[int, SyncVectorEnv] = {}
        #: Seconds spent in the network forward, the encoder and the env steps by the last
        #: :meth:`evaluate` / :meth:`evaluate_weights` call, and steps taken (for benchmarks).
        self.last_timings: dict[str, float] = {}

        probe = self._make_env()
        try:
            self._setup_spaces(probe)
            self.max_steps = self._resolve_max_steps(probe)
            self.worst_score = self._resolve_worst_score(probe, worst_score)
            self.obs_mean = np.zeros(self.n_inputs)
            self.obs_std = np.ones(self.n_inputs)
            if self.normalize_obs:
                self.obs_mean, self.obs_std = self._observation_stats(probe, int(normalize_steps))
        finally:
            probe.close()

    # ------------------------------------------------------------------ construction helpers
    def _env_label(self) -> str:
        return self.env_id if isinstance(self.env_id, str) else getattr(
            self.env_id, "__name__", repr(self.env_id))

    def _make_env(self) -> gym.Env:
        """One environment, with the requested time limit."""
        if isinstance(self.env_id, str):
            kwargs = dict(self.env_kwargs)
            if self._requested_max_steps > 0:
                kwargs["max_episode_steps"] = self._requested_max_steps
            try:
                return gym.make(self.env_id, **kwargs)
            except gym.error.Error as exc:
                raise TaskError(f"task {self.name!r}: cannot make env {self.env_id!r}: {exc}") from None
            except TypeError as exc:
                raise TaskError(
                    f"task {self.name!r}: env {self.env_id!r} rejects env_kwargs "
                    f"{self.env_kwargs}: {exc}") from None
        env = self.env_id()
        if not isinstance(env, gym.Env):
            raise TaskError(f"env factory {self._env_label()} returned {type(env).__name__}, "
                            "not a gymnasium.Env")
        return env

    def _setup_spaces(self, env: gym.Env) -> None:
        obs_space, act_space = env.observation_space, env.action_space
        label = self._env_label()
        self.observation_space, self.action_space = obs_space, act_space
        # observation -> inputs
        if self.encoder is not None and isinstance(getattr(self.encoder, "n_features", None),
                                                   (int, np.integer)):
            self.n_inputs = int(self.encoder.n_features)   # known without encoding a frame
        elif self.encoder is not None:
            obs, _ = env.reset(seed=0)
            feats = self._encode_batch(
                self._batch_of_one(obs_space, obs), raw_space=obs_space, normalize=False)
            self.n_inputs = int(feats.shape[1])
        elif isinstance(obs_space, spaces.Box):
            if len(obs_space.shape) != 1:
                kind = "image" if len(obs_space.shape) >= 2 else "scalar"
                raise TaskError(
                    f"env {label!r} has {kind} observations of shape {obs_space.shape}; pass an "
                    "encoder (one observation -> 1-D vector), e.g. "
                    "encoder=lambda o: o.ravel() / 255 or a PCAEncoder")
            self.n_inputs = int(obs_space.shape[0])
        elif isinstance(obs_space, spaces.Discrete):
            self.n_inputs = int(obs_space.n)
        elif isinstance(obs_space, spaces.MultiBinary) and len(obs_space.shape) == 1:
            self.n_inputs = int(obs_space.shape[0])
        else:
            raise TaskError(
                f"env {label!r} has a {type(obs_space).__name__} observation space "
                f"({obs_space}), which GymTask cannot map to network inputs; supported: 1-D Box, "
                "Discrete, 1-D MultiBinary, or any space with an encoder")
        # outputs -> action
        if isinstance(act_space, spaces.Box):
            if len(act_space.shape) != 1:
                raise TaskError(f"env {label!r} has a Box action space of shape "
                                f"{act_space.shape}; only 1-D Box actions are supported")
            self.n_outputs = int(act_space.shape[0])
            self._act_low = act_space.low.astype(float)
            self._act_high = act_space.high.astype(float)
            if self.scale_actions and not (np.all(np.isfinite(self._act_low))
                                           and np.all(np.isfinite(self._act_high))):
                raise TaskError(f"scale_actions=True needs finite action bounds; env {label!r} "
                                f"has low={act_space.low}, high={act_space.high}")
        elif isinstance(act_space, spaces.Discrete):
            self.n_outputs = int(act_space.n)
        elif isinstance(act_space, spaces.MultiBinary) and len(act_space.shape) == 1:
            self.n_outputs = int(act_space.shape[0])
        elif isinstance(act_space, spaces.MultiDiscrete) and act_space.nvec.ndim == 1:
            self.n_outputs = int(act_space.nvec.sum())
        else:
            raise TaskError(
                f"env {label!r} has a {type(act_space).__name__} action space ({act_space}), "
                "which GymTask cannot map from network outputs; supported: 1-D Box, Discrete, "
                "1-D MultiBinary, 1-D MultiDiscrete")
        if self.n_inputs < 1:
            raise TaskError(f"env {label!r}: the observation maps to 0 network inputs")

    def _resolve_max_steps(self, env: gym.Env) -> int:
        if self._requested_max_steps > 0:
            return self._requested_max_steps
        spec_steps = env.spec.max_episode_steps if env.spec is not None else None
        if spec_steps:
            return int(spec_steps)
        raise TaskError(f"env {self._env_label()!r} has no time limit of its own; "
                        "set the option max_steps")

    def _resolve_worst_score(self, env: gym.Env, worst_score: float | str | None) -> float:
        if worst_score is not None and not (isinstance(worst_score, str) and not worst_score):
            try:
                value = float(worst_score)
            except (TypeError, ValueError):
                raise TaskError(f"task {self.name!r} option worst_score={worst_score!r}: "
                                "expected a float") from None
            if not math.isfinite(value):
                raise TaskError(f"worst_score must be finite, got {value}")
            return value
        reward_range = getattr(env.unwrapped, "reward_range", None)
        if reward_range is not None and np.isfinite(reward_range[0]):
            return float(min(reward_range[0], 0.0) * self.max_steps - 1.0)
        if isinstance(self.env_id, str) and not self.env_kwargs:
            bound = _RETURN_BOUNDS.get(_env_family(self.env_id))
            if bound is not None:
                return float(bound[0] * self.max_steps + bound[1] - 1.0)
        return GENERIC_WORST_SCORE

    def _observation_stats(self, env: gym.Env, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        env.action_space.seed(0)
        feats = []
        episode, t_episode = 0, 0
        obs, _ = env.reset(seed=episode)
        for _ in range(n_steps):
            feats.append(self._encode_batch(self._batch_of_one(env.observation_space, obs),
                                            raw_space=env.observation_space, normalize=False))
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            t_episode += 1
            if terminated or truncated or t_episode >= self.max_steps:
                episode, t_episode = episode + 1, 0
                obs, _ = env.reset(seed=episode)
        data = np.concatenate(feats)
        mean, std = data.mean(axis=0), data.std(axis=0)
        std[~(std > 1e-8)] = 1.0
        return mean, std

    @staticmethod
    def _batch_of_one(space: spaces.Space, obs: Any) -> Any:
        return concatenate(space, [obs], create_empty_array(space, n=1))

    # ------------------------------------------------------------------ mapping
    def _encode_batch(self, obs: Any, *, raw_space: spaces.Space | None = None,
                      normalize: bool = True) -> np.ndarray:
        """Raw batched observations -> network inputs ``(n_envs, n_inputs)``."""
        space = raw_space if raw_space is not None else self.observation_space
        enc = self.encoder
        if enc is not None:
            if hasattr(enc, "encode_batch"):
                x = np.asarray(enc.encode_batch(obs), dtype=float)
            else:
                x = np.stack([np.asarray(enc(o), dtype=float).ravel() for o in iterate(space, obs)])
            if x.ndim != 2:
                raise TaskError(f"encoder returned features of shape {x.shape[1:]}; it must "
                                "return a 1-D vector per observation")
        elif isinstance(space, spaces.Discrete):
            idx = np.asarray(obs, dtype=np.int64) - int(space.start)
            x = np.zeros((idx.shape[0], int(space.n)))
            x[np.arange(idx.shape[0]), idx] = 1.0
        else:
            x = np.asarray(obs, dtype=float)
        if normalize and self.normalize_obs:
            x = (x - self.obs_mean) / self.obs_std
        return x

    def map_actions(self, outputs: np.ndarray) -> np.ndarray:
        """Network outputs ``(n_envs, n_outputs)`` -> a batch of actions for the vector env.

        Subclasses override it for a task-specific mapping (see CarRacingTask).
        """
        space = self.action_space
        if isinstance(space, spaces.Box):
            if self.scale_actions:
                unit = (np.clip(outputs, -1.0, 1.0) + 1.0) / 2.0
                act = self._act_low + unit * (self._act_high - self._act_low)
            else:
                act = np.clip(outputs, self._act_low, self._act_high)
            return act.astype(space.dtype)
        if isinstance(space, spaces.Discrete):
            return (np.argmax(outputs, axis=1) + int(space.start)).astype(space.dtype)
        if isinstance(space, spaces.MultiBinary):
            return (outputs > 0).astype(space.dtype)
        # MultiDiscrete: argmax within each group of nvec[k] outputs
        nvec = space.nvec.astype(np.int64)
        bounds = np.concatenate([[0], np.cumsum(nvec)])
        cols = [np.argmax(outputs[:, bounds[k]:bounds[k + 1]], axis=1) for k in range(len(nvec))]
        return (np.stack(cols, axis=1) + space.start).astype(space.dtype)

    # ------------------------------------------------------------------ rollouts
    def forward(self, net: WannNetwork, *, weights: np.ndarray | None = None,
                conn_weights: np.ndarray | None = None) -> BatchedForward:
        """The batched forward of ``net`` with this task's ``engine`` and ``exact_math``."""
        return BatchedForward(net, weights=weights, conn_weights=conn_weights,
                              engine=self.engine, exact_math=self.exact_math)

    def _vector_env(self, n_envs: int) -> SyncVectorEnv:
        vec = self._vec.get(n_envs)
        if vec is None:
            while len(self._vec) >= 2:  # keep at most two batch sizes open
                self._vec.pop(next(iter(self._vec))).close()
            vec = SyncVectorEnv([lambda: _OneEpisode(self._make_env(), self._make_env)] * n_envs,
                                copy=False)
            self._vec[n_envs] = vec
        return vec

    def _rollouts(self, forward: BatchedForward, n_groups: int, n_repeats: int,
                  seed: int) -> np.ndarray:
        """One episode per (group, repetition), in one vector env (or in batches of at most
        :attr:`max_envs` episodes when there are more).

        Episode ``e = group * n_repeats + r`` uses weight column ``group`` of ``forward`` and
        resets with seed ``seed + r``. Returns the returns ``(n_groups, n_repeats)``.
        """
        n_envs = n_groups * n_repeats
        w_col = np.repeat(np.arange(n_groups), n_repeats)
        seeds = np.tile(int(seed) + np.arange(n_repeats), n_groups)
        total = np.empty(n_envs)
        timings = {"forward_s": 0.0, "encode_s": 0.0, "env_s": 0.0, "steps": 0.0,
                   "n_envs": float(n_envs)}
        for lo in range(0, n_envs, self.max_envs):
            hi = min(lo + self.max_envs, n_envs)
            total[lo:hi] = self._run_batch(forward, w_col[lo:hi], seeds[lo:hi], timings)
        self.last_timings = timings
        return total.reshape(n_groups, n_repeats)

    def _run_batch(self, forward: BatchedForward, w_col: np.ndarray, seeds: np.ndarray,
                   timings: dict[str, float], record: list | None = None) -> np.ndarray:
        """Returns of ``len(seeds)`` episodes run side by side in one vector env; with
        ``record``, the network inputs of the episodes still running are appended to it."""
        n_envs = len(seeds)
        rows = np.arange(n_envs)
        vec = self._vector_env(n_envs)
        obs, _ = vec.reset(seed=[int(v) for v in seeds])
        total = np.zeros(n_envs)
        failed = np.zeros(n_envs, dtype=bool)
        ended = np.zeros(n_envs, dtype=bool)
        t_fwd = t_enc = t_env = 0.0
        steps = 0
        for _ in range(self.max_steps):
            t0 = time.perf_counter()
            x = self._encode_batch(obs)
            if record is not None:
                record.append(np.array(x[~ended], dtype=float))
            t1 = time.perf_counter()
            y = forward(x, rows, w_col)
            t2 = time.perf_counter()
            bad = ~np.all(np.isfinite(y), axis=1) & ~ended
            if bad.any():
                failed |= bad
                for i in np.flatnonzero(bad):
                    vec.envs[i].end()
                ended |= bad
                y = np.where(np.isfinite(y), y, 0.0)
            obs, reward, _, _, _ = vec.step(self.map_actions(y))
            t3 = time.perf_counter()
            t_enc += t1 - t0
            t_fwd += t2 - t1
            t_env += t3 - t2
            steps += 1
            active = ~ended
            total[active] += reward[active]
            ended = np.fromiter((e.ended for e in vec.envs), dtype=bool, count=n_envs)
            if ended.all():
                break
        failed |= ~np.isfinite(total)
        total[failed] = self.worst_score
        for key, value in (("forward_s", t_fwd), ("encode_s", t_enc), ("env_s", t_env),
                           ("steps", steps)):
            timings[key] += value
        return total

    # ------------------------------------------------------------------ Task API
    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """Returns of every network at every shared weight: ``(n_nets, n_weights, n_repeats)``.

        All ``n_weights * n_repeats`` episodes of one network run as one vector-env batch.
        """
        w = self.check_call(weights, n_repeats)
        out = np.empty((len(nets), len(w), n_repeats))
        timings: dict[str, float] = {}
        for k, net in enumerate(nets):
            self.check_network(net)
            out[k] = self._rollouts(self.forward(net, weights=w), len(w), n_repeats,
                                    seed)
            for key, v in self.last_timings.items():
                timings[key] = timings.get(key, 0.0) + v
        self.last_timings = timings
        return out

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """Returns under per-connection weight vectors ``(n_sets, n_connections)``:
        ``(n_sets, n_repeats)``."""
        self.check_call(np.zeros(1), n_repeats)
        cw = self.check_conn_weights(net, conn_weights)
        return self._rollouts(self.forward(net, conn_weights=cw), cw.shape[0],
                              n_repeats, seed)

    def sample_inputs(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                      n: int) -> np.ndarray:
        """Up to ``n`` inputs ``net`` met with ``conn_weights`` in episode ``seed`` (see
        :meth:`Task.sample_inputs`)."""
        self.check_network(net)
        cw = np.asarray(conn_weights, dtype=float).reshape(1, -1)
        if cw.shape[1] != net.n_connections:
            raise TaskError(f"conn_weights has {cw.shape[1]} values, network {net.key!r} has "
                            f"{net.n_connections} connections")
        seen: list[np.ndarray] = []
        timings = dict.fromkeys(("forward_s", "encode_s", "env_s", "steps"), 0.0)
        self._run_batch(self.forward(net, conn_weights=cw), np.zeros(1, dtype=int),
                        np.array([int(seed)]), timings, record=seen)
        return subsample_rows(np.concatenate(seen, axis=0), n, seed)

    # ------------------------------------------------------------------ one episode, watched
    def make_env(self, render_mode: str | None = None) -> gym.Env:
        """One environment as the task runs it (time limit, env options); with
        ``render_mode="rgb_array"`` its ``render()`` returns frames (``wann render``).

        Raises
        ------
        TaskError
            If the environment does not offer that render mode.
        """
        env = self._make_env()
        if render_mode is not None:
            modes = env.metadata.get("render_modes", [])
            if render_mode not in modes:
                env.close()
                raise TaskError(f"env {self._env_label()!r} cannot render {render_mode!r} "
                                f"frames (its render modes: {modes or 'none'})")
            # the same env object the task would make; rendering does not change its dynamics
            env.unwrapped.render_mode = render_mode
        return env

    def policy(self, net: WannNetwork, *, weight: float | None = None,
               conn_weights: np.ndarray | None = None) -> Callable[[Any], np.ndarray | None]:
        """The evaluator's mapping from one raw observation to one action, for ``net`` with
        every connection at ``weight`` (or with tuned ``conn_weights``): the same encoding,
        normalisation, forward engine and :meth:`map_actions`. Returns ``None`` where the
        network output is not finite (the evaluator then ends the episode, scoring it as
        :attr:`worst_score`)."""
        self.check_network(net)
        if (weight is None) == (conn_weights is None):
            raise TaskError("give exactly one of weight= and conn_weights=")
        if conn_weights is None:
            forward = self.forward(net, weights=self.check_call([weight], 1))
        else:
            forward = self.forward(net,
                                   conn_weights=self.check_conn_weights(net, [conn_weights]))
        zero = np.zeros(1, dtype=np.int64)

        def act(obs: Any) -> np.ndarray | None:
            x = self._encode_batch(self._batch_of_one(self.observation_space, obs))
            y = forward(x, zero, zero)
            if not np.all(np.isfinite(y)):
                return None
            return self.map_actions(y)[0]

        return act

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the cached vector environments (they are rebuilt on the next call)."""
        for vec in self._vec.values():
            vec.close()
        self._vec = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_vec"] = {}  # environments are rebuilt in the worker
        return state

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(env_id={self._env_label()!r}, max_steps={self.max_steps}, "
                f"n_inputs={self.n_inputs}, n_outputs={self.n_outputs})")


def _make_gym_task(env_id: str = "", *, max_steps: int = 0, scale_actions: bool = False,
                   normalize_obs: bool = False, normalize_steps: int = 2000,
                   worst_score: float | None = None, env_kwargs: str = "",
                   engine: str = "numba", max_envs: int = 256,
                   exact_math: bool = False) -> GymTask:
    """Registry factory for ``"gym"``: config / command-line options only (no callables)."""
    return GymTask(env_id, max_steps=max_steps, scale_actions=scale_actions,
                   normalize_obs=normalize_obs, normalize_steps=normalize_steps,
                   worst_score=worst_score, env_kwargs=env_kwargs, engine=engine,
                   max_envs=max_envs, exact_math=exact_math)


register_task("gym", _make_gym_task)
