"""Any gymnasium environment as a WANN task, run as batches of episodes stepped side by side.

The episodes of a call (every network times every shared weight times every repetition) run
in batches of up to ``max_envs`` environments, stepped in lockstep with one encoder call per
step for the batch and one compiled forward per network (over its episodes still running).
Repetition ``r`` resets its environments with seed ``seed + r`` (the reference's ``testInd``
seeding), so every network and every weight of a call faces the same start states. An
episode's return does not depend on the batch it ran in."""

from __future__ import annotations

import ast
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
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


class _EpisodeEnv:
    """One environment slot of a batch: one episode per :meth:`reset`.

    Box2D environments (those with a ``world``) keep their physics world across resets, so an
    episode's return would depend on what the env ran before (and so on the batch and the
    worker). For them every episode after the first gets a freshly made env from
    ``factory`` (about 2 ms for BipedalWalker, less than its reset), which makes a seed's
    return the same wherever it runs.
    """

    def __init__(self, factory: Callable[[], gym.Env]):
        self.factory = factory
        self.env = factory()
        self.remake = hasattr(self.env.unwrapped, "world")
        self.used = False

    def reset(self, seed: int) -> Any:
        """The first observation of a new episode."""
        if self.remake and self.used:
            _discard(self.env)
            self.env = self.factory()
        self.used = True
        return self.env.reset(seed=seed)[0]

    def close(self) -> None:
        _discard(self.env)


def _discard(env: gym.Env) -> None:
    """Close ``env`` and take it apart so reference counting frees it at once.

    A Box2D env is a knot of reference cycles (the env and its contact listener, the bodies
    and their user data). Left to the cyclic collector, a discarded one waits for ``wann
    run``'s next full collection (the heap is frozen between them, :func:`gc.freeze`): about
    4 MB a CarRacing env, 96 a generation at population 16. So the env's bodies are destroyed
    the way its own ``reset`` does (``_destroy``) and the attributes of every wrapper layer
    are dropped.
    """
    env.close()
    destroy = getattr(env.unwrapped, "_destroy", None)
    if callable(destroy):
        try:
            destroy()
        except Exception:  # noqa: BLE001 - best effort: the env is discarded either way
            pass
    layers: list = []
    while isinstance(env, gym.Env) and all(env is not seen for seen in layers):
        layers.append(env)
        env = getattr(env, "env", None)
    for layer in layers:
        vars(layer).clear()


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
        Most episodes stepped side by side. The episodes of a call (networks x weights x
        repetitions) run in consecutive batches of this size; the scores do not depend on it.

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
        self._pool: list[_EpisodeEnv] = []
        #: Seconds spent in the network forward, the encoder, the env steps and the env resets
        #: (``reset_s``, with making the envs) by the last :meth:`evaluate` /
        #: :meth:`evaluate_weights` call, and steps taken (for benchmarks).
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

    def _make_env(self, checked: bool = True) -> gym.Env:
        """One environment, with the requested time limit. ``checked=False`` leaves out
        gymnasium's passive env checker (the environments of a batch: the first env the task
        made was checked)."""
        if isinstance(self.env_id, str):
            kwargs = dict(self.env_kwargs)
            if self._requested_max_steps > 0:
                kwargs["max_episode_steps"] = self._requested_max_steps
            if not checked:
                kwargs["disable_env_checker"] = True
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

    def _env_pool(self, n_envs: int) -> list[_EpisodeEnv]:
        """``n_envs`` environment slots, made on first use and kept for later batches."""
        pool = self.__dict__.setdefault("_pool", [])  # tasks pickled before the pool existed
        while len(pool) < n_envs:
            pool.append(_EpisodeEnv(functools.partial(self._make_env, checked=False)))
        return pool[:n_envs]

    def _episodes(self, forwards: Sequence[BatchedForward], n_groups: int, n_repeats: int,
                  seed: int) -> np.ndarray:
        """One episode per (network, group, repetition), in batches of at most
        :attr:`max_envs` episodes.

        Episode ``e = (k * n_groups + group) * n_repeats + r`` runs network ``forwards[k]``
        with weight column ``group`` and resets with seed ``seed + r``. Returns the returns
        ``(len(forwards), n_groups, n_repeats)``.
        """
        n_nets = len(forwards)
        per_net = n_groups * n_repeats
        n_envs = n_nets * per_net
        env_net = np.repeat(np.arange(n_nets), per_net)
        w_col = np.tile(np.repeat(np.arange(n_groups), n_repeats), n_nets)
        seeds = np.tile(int(seed) + np.arange(n_repeats), n_nets * n_groups)
        total = np.empty(n_envs)
        timings = {"forward_s": 0.0, "encode_s": 0.0, "env_s": 0.0, "reset_s": 0.0,
                   "steps": 0.0, "n_envs": float(n_envs)}
        for lo in range(0, n_envs, self.max_envs):
            hi = min(lo + self.max_envs, n_envs)
            total[lo:hi] = self._run_batch(forwards, env_net[lo:hi], w_col[lo:hi],
                                           seeds[lo:hi], timings)
        self.last_timings = timings
        return total.reshape(n_nets, n_groups, n_repeats)

    def _run_batch(self, forwards: Sequence[BatchedForward], env_net: np.ndarray,
                   w_col: np.ndarray, seeds: np.ndarray, timings: dict[str, float],
                   record: list | None = None) -> np.ndarray:
        """Returns of ``len(seeds)`` episodes stepped side by side: episode ``i`` runs
        ``forwards[env_net[i]]`` (``env_net`` sorted) with weight column ``w_col[i]``. Each
        step encodes the observations of the episodes still running in one call and runs one
        forward per network over them; with ``record``, those inputs are appended to it."""
        n_envs = len(seeds)
        space = self.observation_space
        t_reset = time.perf_counter()
        pool = self._env_pool(n_envs)
        obs = concatenate(space, [pool[i].reset(int(seeds[i])) for i in range(n_envs)],
                          create_empty_array(space, n=n_envs))
        timings["reset_s"] = timings.get("reset_s", 0.0) + time.perf_counter() - t_reset
        total = np.zeros(n_envs)
        failed = np.zeros(n_envs, dtype=bool)
        active = np.arange(n_envs)  # the episodes still running, in order; obs holds theirs
        t_fwd = t_enc = t_env = 0.0
        steps = 0
        for _ in range(self.max_steps):
            t0 = time.perf_counter()
            x = self._encode_batch(obs)
            if record is not None:
                record.append(np.array(x, dtype=float))
            t1 = time.perf_counter()
            y = self._forward_active(forwards, x, env_net[active], w_col[active])
            t2 = time.perf_counter()
            ok = np.all(np.isfinite(y), axis=1)
            if not ok.all():  # a non-finite output ends that episode, scored worst
                failed[active[~ok]] = True
                active, y = active[ok], y[ok]
            actions = self.map_actions(y)
            running, new_obs = [], []
            for j, i in enumerate(active):
                o, reward, terminated, truncated, _ = pool[i].env.step(actions[j])
                total[i] += reward
                if not (terminated or truncated):
                    running.append(j)
                    new_obs.append(o)
            t3 = time.perf_counter()
            t_enc += t1 - t0
            t_fwd += t2 - t1
            t_env += t3 - t2
            steps += 1
            active = active[running]
            if len(active) == 0:
                break
            obs = concatenate(space, new_obs, create_empty_array(space, n=len(new_obs)))
        failed |= ~np.isfinite(total)
        total[failed] = self.worst_score
        for key, value in (("forward_s", t_fwd), ("encode_s", t_enc), ("env_s", t_env),
                           ("steps", steps)):
            timings[key] = timings.get(key, 0.0) + value
        return total

    @staticmethod
    def _forward_active(forwards: Sequence[BatchedForward], x: np.ndarray, nets: np.ndarray,
                        w_col: np.ndarray) -> np.ndarray:
        """Outputs for the rows of ``x``: row ``e`` through ``forwards[nets[e]]`` (``nets``
        sorted) with weight column ``w_col[e]``; one call per network."""
        x = np.asarray(x, dtype=np.float64)
        x_t = np.ascontiguousarray(x.T)
        if nets[0] == nets[-1]:  # one network (a batch of one network's episodes)
            return forwards[nets[0]](x, np.arange(len(nets)), w_col, x_t=x_t)
        cuts = np.flatnonzero(np.diff(nets)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [len(nets)]))
        y = np.empty((len(nets), forwards[0].net.n_outputs))
        for a, b in zip(starts.tolist(), ends.tolist()):
            y[a:b] = forwards[nets[a]](x, np.arange(a, b), w_col[a:b], x_t=x_t)
        return y

    # ------------------------------------------------------------------ Task API
    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """Returns of every network at every shared weight: ``(n_nets, n_weights, n_repeats)``.

        The episodes of all networks run in batches of :attr:`max_envs`, stepped side by side.
        """
        w = self.check_call(weights, n_repeats)
        for net in nets:
            self.check_network(net)
        if not nets:
            return np.empty((0, len(w), n_repeats))
        return self._episodes([self.forward(net, weights=w) for net in nets], len(w),
                              n_repeats, seed)

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """Returns under per-connection weight vectors ``(n_sets, n_connections)``:
        ``(n_sets, n_repeats)``."""
        self.check_call(np.zeros(1), n_repeats)
        cw = self.check_conn_weights(net, conn_weights)
        return self._episodes([self.forward(net, conn_weights=cw)], cw.shape[0], n_repeats,
                              seed)[0]

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
        zero = np.zeros(1, dtype=np.int64)
        self._run_batch([self.forward(net, conn_weights=cw)], zero, zero,
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
        """Close the cached environments (they are made again on the next call)."""
        for slot in self.__dict__.get("_pool", []):
            slot.close()
        self._pool = []

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_pool"] = []  # environments are made again in the worker
        state.pop("_vec", None)
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
