"""Cart-pole swing-up: the physics, a gymnasium environment and the WANN task.

The dynamics, reward and episode end are those of the reference WANN implementation
(Gaier & Ha 2019, ``WANN/domain/cartpole_swingup.py``, itself from zuoxingdong/DeepPILCO), to the
constant and to the order of the floating-point operations:

* constants: g = 9.82, cart mass 0.5, pole mass 0.5, pole half-length ``l`` = 0.6, force 10 N,
  dt = 0.01 s, cart friction b = 0.1, track ``|x| <= 2.4``;
* explicit Euler: positions move with the *old* velocities, then the velocities are updated;
* reward ``((cos th + 1) / 2) * cos((x / 2.4) * pi / 2)``, paid on the terminating step too;
* the pole starts hanging down: ``RandomState(seed).normal([0, 0, pi, 0], 0.2)``.

The physics formulas are written once (:func:`_dynamics`, :func:`_reward`); the gymnasium
environment, the batched numpy path (:func:`swingup_step`) and the compiled engine
(``wann_plugin._engine``) all evaluate those same functions.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import NamedTuple

import gymnasium
import numpy as np
from gymnasium import spaces

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task, TaskError, register_task

__all__ = [
    "CartPoleSwingUpEnv",
    "ENV_ID",
    "Rollouts",
    "SwingUpTask",
    "swingup_initial_states",
    "swingup_observations",
    "swingup_step",
]

#: Gymnasium id of :class:`CartPoleSwingUpEnv`.
ENV_ID = "wann_plugin/CartPoleSwingUp-v0"

# --- constants (WANN_SPEC f) --------------------------------------------------------------------
GRAVITY = 9.82
MASS_CART = 0.5
MASS_POLE = 0.5
TOTAL_MASS = MASS_POLE + MASS_CART  # 1.0
POLE_LENGTH = 0.6  # the reference's ``l_base``
MASS_POLE_LENGTH = MASS_POLE * POLE_LENGTH  # 0.3
FORCE_MAG = 10.0
DT = 0.01
FRICTION = 0.1
T_LIMIT = 1000
X_THRESHOLD = 2.4
RESET_LOC = (0.0, 0.0, np.pi, 0.0)
RESET_SCALE = (0.2, 0.2, 0.2, 0.2)
MAX_SEED = 2**32 - 1  # numpy.random.RandomState accepts seeds 0 .. 2**32 - 1


# --- the physics, written once -------------------------------------------------------------------
# Plain arithmetic on floats or numpy arrays; the compiled engine jit-compiles these very
# functions, so keep them free of Python-only constructs. The operation order follows the
# reference formulas term by term: the episodes are chaotic, and a different rounding in one
# step changes returns by whole points a few hundred steps later.
def _dynamics(x, x_dot, theta, theta_dot, force, sin_theta, cos_theta):
    """One explicit-Euler step; ``sin_theta``/``cos_theta`` are of the current ``theta``."""
    s, c = sin_theta, cos_theta
    x_acc = (
        -2.0 * MASS_POLE_LENGTH * theta_dot**2 * s + 3.0 * MASS_POLE * GRAVITY * s * c
        + 4.0 * force - 4.0 * FRICTION * x_dot
    ) / (4.0 * TOTAL_MASS - 3.0 * MASS_POLE * c**2)
    theta_acc = (
        -3.0 * MASS_POLE_LENGTH * theta_dot**2 * s * c + 6.0 * TOTAL_MASS * GRAVITY * s
        + 6.0 * (force - FRICTION * x_dot) * c
    ) / (4.0 * POLE_LENGTH * TOTAL_MASS - 3.0 * MASS_POLE_LENGTH * c**2)
    # positions move with the old velocities (explicit Euler), then the velocities change
    return (
        x + x_dot * DT,
        x_dot + x_acc * DT,
        theta + theta_dot * DT,
        theta_dot + theta_acc * DT,
    )


def _reward(x, cos_theta):
    """``((cos th + 1) / 2) * cos((x / 2.4) * pi / 2)``: 1 upright at the centre."""
    return ((cos_theta + 1.0) / 2.0) * np.cos((x / X_THRESHOLD) * np.pi / 2.0)


# --- batched numpy path ------------------------------------------------------------------------
def swingup_initial_states(seeds: Sequence[int] | np.ndarray) -> np.ndarray:
    """Initial states of the episodes with the given seeds.

    Episode seed ``s`` starts at ``np.random.RandomState(s).normal([0, 0, pi, 0], 0.2)``, the
    reference's draw after ``np.random.seed(s)`` (so seeds 0..99 are the reference's
    ``model.py`` test episodes).

    Parameters
    ----------
    seeds : sequence of int, each in ``[0, 2**32 - 1]``

    Returns
    -------
    ndarray of shape (n_seeds, 4)
        ``[x, x_dot, theta, theta_dot]`` per episode.

    Examples
    --------
    >>> swingup_initial_states([0]).round(4).tolist()
    [[0.3528, 0.08, 3.3373, 0.4482]]
    """
    seeds = [_check_seed(s, "seed") for s in np.asarray(seeds).reshape(-1)]
    out = np.empty((len(seeds), 4))
    for i, s in enumerate(seeds):
        out[i] = np.random.RandomState(s).normal(loc=RESET_LOC, scale=RESET_SCALE)
    return out


def swingup_observations(states: np.ndarray) -> np.ndarray:
    """Observations ``[x, x_dot, cos th, sin th, th_dot]`` of states ``(n, 4)`` -> ``(n, 5)``.

    The angle is not wrapped (it does not need to be: only its sine and cosine are seen).
    """
    states = np.asarray(states, dtype=np.float64)
    theta = states[..., 2]
    return np.stack(
        [states[..., 0], states[..., 1], np.cos(theta), np.sin(theta), states[..., 3]], axis=-1
    )


def swingup_step(states: np.ndarray, forces: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Advance many episodes by one time step (dt = 0.01 s).

    Parameters
    ----------
    states : ndarray of shape (n, 4)
        ``[x, x_dot, theta, theta_dot]``; theta = 0 is upright.
    forces : ndarray of shape (n,)
        Force on the cart in newtons (the task passes ``clip(output, -1, 1) * 10``).

    Returns
    -------
    next_states : ndarray of shape (n, 4)
    rewards : ndarray of shape (n,)
        Reward of the new state (paid on the terminating step too).
    terminated : ndarray of shape (n,), bool
        The cart left the track: ``x < -2.4 or x > 2.4`` (the time limit is the caller's).

    Examples
    --------
    Hanging at rest, pushed with 10 N: x_acc = 40 / (4 - 1.5) = 16 and
    theta_acc = -60 / (2.4 - 0.9) = -40; positions keep their old velocities (0).

    >>> s1, r, done = swingup_step(np.array([[0.0, 0.0, np.pi, 0.0]]), np.array([10.0]))
    >>> s1[0].round(4).tolist(), bool(done[0])
    ([0.0, 0.16, 3.1416, -0.4], False)
    """
    states = np.asarray(states, dtype=np.float64)
    forces = np.asarray(forces, dtype=np.float64)
    if states.ndim != 2 or states.shape[1] != 4:
        raise ValueError(f"states must have shape (n, 4), got {states.shape}")
    if forces.shape != states.shape[:1]:
        raise ValueError(f"forces must have shape ({states.shape[0]},), got {forces.shape}")
    x, x_dot, theta, theta_dot = states.T
    nxt = _dynamics(x, x_dot, theta, theta_dot, forces, np.sin(theta), np.cos(theta))
    next_states = np.stack(nxt, axis=-1)
    rewards = _reward(nxt[0], np.cos(nxt[2]))
    terminated = (nxt[0] < -X_THRESHOLD) | (nxt[0] > X_THRESHOLD)
    return next_states, rewards, terminated


def _check_seed(seed, what: str) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{what} == {int(seed)}, must be in [0, 2**32 - 1]")
    return int(seed)


# --- gymnasium environment -----------------------------------------------------------------------
class CartPoleSwingUpEnv(gymnasium.Env):
    """Cart-pole swing-up: push a cart so that the pole it carries swings up and balances.

    The reference WANN swing-up task (Gaier & Ha 2019) as a gymnasium environment; it shares
    its physics with :class:`SwingUpTask` (:func:`swingup_step`), so an episode played here
    step by step scores exactly what the task computes in batch.

    Observation
        ``Box(-inf, inf, (5,), float64)``: ``[x, x_dot, cos th, sin th, th_dot]`` (cart position
        in m and velocity in m/s, the pole angle's cosine and sine with th = 0 upright, and its
        angular velocity in rad/s). float64 because the task computes in float64 and the
        episodes are chaotic: rounding the observation to float32 would change returns.
    Action
        ``Box(-1, 1, (1,), float32)``: the force on the cart is ``clip(a, -1, 1) * 10`` N. The
        value is used in float64 as given (pass a float64 array to match the task exactly).
    Reward
        ``((cos th + 1) / 2) * cos((x / 2.4) * pi / 2)``: 1 with the pole upright over the track's
        centre, 0 hanging down or at a track end; slightly negative only on the step that leaves
        the track. Paid on the terminating step too. An episode's return is at most 1000.
    Episode end
        ``terminated`` when the cart leaves the track (``x < -2.4`` or ``x > 2.4``); there is no
        angle limit. ``truncated`` after 1000 steps, by the ``TimeLimit`` wrapper that
        ``gymnasium.make("wann_plugin/CartPoleSwingUp-v0")`` adds (``max_episode_steps=1000``):
        the reference ends episodes at ``t >= 1000`` as ``done``, but that is a time limit, not
        a terminal state, so gymnasium calls it truncation. Direct instances have no time limit.
    Starting state
        ``reset(seed=s)`` draws ``np.random.RandomState(s).normal([0, 0, pi, 0], 0.2)`` (the
        reference's draw for episode seed ``s``); ``reset()`` without a seed draws ``s`` from
        the environment's ``np_random``.
    Version history
        v0: the reference dynamics and reward (g = 9.82, dt = 0.01, friction 0.1, explicit
        Euler with positions updated from the old velocities).

    Examples
    --------
    >>> env = CartPoleSwingUpEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.round(3).tolist()
    [0.353, 0.08, -0.981, -0.194, 0.448]
    >>> obs, reward, terminated, truncated, info = env.step(np.array([1.0]))
    >>> round(reward, 4), terminated, truncated
    (0.0097, False, False)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; use None or 'rgb_array'"
            )
        self.render_mode = render_mode
        high = np.array([np.inf, np.inf, 1.0, 1.0, np.inf])
        self.observation_space = spaces.Box(-high, high, dtype=np.float64)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.state: np.ndarray | None = None
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode; ``seed`` picks the reference's episode (see the class notes)."""
        super().reset(seed=seed)
        episode_seed = (
            _check_seed(seed, "seed") if seed is not None
            else int(self.np_random.integers(0, MAX_SEED, endpoint=True))
        )
        self.state = swingup_initial_states([episode_seed])[0]
        self.t = 0
        return swingup_observations(self.state), {"episode_seed": episode_seed}

    def step(self, action):
        """Apply ``clip(action, -1, 1) * 10`` N for 0.01 s."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (1,):
            raise ValueError(f"action must hold one value, got shape {np.shape(action)}")
        force = np.clip(a, -1.0, 1.0) * FORCE_MAG
        nxt, reward, terminated = swingup_step(self.state[None, :], force)
        self.state = nxt[0]
        self.t += 1
        return (swingup_observations(self.state), float(reward[0]), bool(terminated[0]), False,
                {})

    def render(self):
        """An RGB picture of the track, cart and pole (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called with render_mode=None; pass render_mode="
                                  "'rgb_array' to the constructor")
            return None
        return _draw(self.state if self.state is not None else np.array([0.0, 0, np.pi, 0]))


def _draw(state: np.ndarray, width: int = 600, height: int = 400) -> np.ndarray:
    """A plain numpy drawing: track line, cart box, pole segment."""
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    scale = width / (2 * X_THRESHOLD * 1.2)
    cx = width / 2 + state[0] * scale
    track_y = int(height * 0.6)
    img[track_y, :] = 0
    x0, x1 = int(max(cx - 25, 0)), int(min(cx + 25, width))
    if x0 < x1:
        img[track_y - 12:track_y + 12, x0:x1] = (40, 40, 200)
    theta = state[2]
    length = 2 * POLE_LENGTH * scale
    for f in np.linspace(0.0, 1.0, 200):
        px = int(round(cx + f * length * np.sin(theta)))
        py = int(round(track_y - f * length * np.cos(theta)))
        if 0 <= px < width - 2 and 0 <= py < height - 2:
            img[py:py + 3, px:px + 3] = (200, 80, 40)
    return img


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point=f"{__name__}:CartPoleSwingUpEnv",
                       max_episode_steps=T_LIMIT)


# --- the task --------------------------------------------------------------------------------------
class Rollouts(NamedTuple):
    """Scores and episode lengths of :meth:`SwingUpTask.rollouts`.

    Attributes
    ----------
    scores : ndarray of shape (n_nets, n_weights, n_repeats)
        Episode returns (``worst_score`` where the network output was not finite).
    steps : ndarray of shape (n_nets, n_weights, n_repeats), int
        Environment steps each episode ran (its network forwards).
    """

    scores: np.ndarray
    steps: np.ndarray


ENGINES = ("numba", "numpy")


class SwingUpTask(Task):
    """Cart-pole swing-up scored over episodes, many networks and weights at once.

    Parameters
    ----------
    max_steps : int, default=1000
        Episode length cap. 1000 reproduces the reference's ``swingup`` (its first step plus
        the loop, cut at env time 1000). The ``swingup_hard`` task uses 200; the reference's
        loop there actually runs 201 steps (an off-by-one), pass ``max_steps=201`` to replay it.
    engine : {"numba", "numpy"}, default="numba"
        ``"numba"`` runs network forward and physics of all episodes in one compiled call
        (``wann_plugin._engine``; networks with custom activation ids fall back to numpy).
        ``"numpy"`` is the plain reference path (:meth:`WannNetwork.activate` plus
        :func:`swingup_step`), kept to test the engine against.
    exact_math : bool, default=False
        With ``engine="numba"``: compute the sin, cos, gaussian, tanh and sigmoid nodes with
        the C library instead of the engine's SIMD polynomials (which agree with numpy to
        1-2 ulp). Slower; the scores then equal the numpy path's wherever numpy and libm
        compute the same functions (see ``wann_plugin._engine``). The physics is exact
        either way.

    Notes
    -----
    Observation
        ``[x, x_dot, cos th, sin th, th_dot]`` (5 inputs), as :class:`CartPoleSwingUpEnv`.
    Action
        One output; force = ``clip(output, -1, 1) * 10`` N.
    Reward
        As :class:`CartPoleSwingUpEnv`; the score is the undiscounted episode return (<= 1000).
        A network output that is not finite ends that episode with :attr:`worst_score`; other
        episodes are unaffected.
    Episode end
        Cart off the track (``|x| > 2.4``) or ``max_steps`` steps. Repetition ``r`` of a call
        with ``seed`` plays episode seed ``seed + r`` for every network and weight (common
        random numbers).
    Version history
        swingup, swingup_hard v0: reference dynamics; ``worst_score = -1``.

    ``worst_score`` is -1.0: every step inside the track pays a reward in [0, 1], only the step
    that leaves the track can pay less, and never below -1 (a product of a number in [0, 1]
    and a cosine), so a real return is >= -1, and equals -1 only if the cart ends a 10 ms step
    4.8 m from the centre. Real returns are >= about -0.15.

    Examples
    --------
    >>> import numpy as np
    >>> from wann_plugin.network import WannNetwork
    >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
    >>> task = SwingUpTask(max_steps=200)
    >>> task.evaluate([net], np.array([-1.0, 1.0]), seed=0, n_repeats=2).shape
    (1, 2, 2)
    """

    n_inputs = 5
    n_outputs = 1
    worst_score = -1.0
    exact_math = False  # class default: tasks pickled before the option existed load as before

    def __init__(self, max_steps: int = 1000, engine: str = "numba", *, exact_math: bool = False,
                 name: str = "swingup"):
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)):
            raise TypeError(f"[{name}] max_steps must be an int, got {max_steps!r}")
        if max_steps < 1:
            raise ValueError(f"[{name}] max_steps == {max_steps}, must be >= 1")
        if engine not in ENGINES:
            hint = difflib.get_close_matches(str(engine), ENGINES, n=1)
            raise ValueError(
                f"[{name}] engine == {engine!r}, must be one of {ENGINES}"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
            )
        if not isinstance(exact_math, (bool, np.bool_)):
            raise TypeError(f"[{name}] exact_math must be a bool, got {exact_math!r}")
        self.max_steps = int(max_steps)
        self.engine = engine
        self.exact_math = bool(exact_math)
        self.name = name

    def __repr__(self) -> str:
        exact = ", exact_math=True" if self.exact_math else ""
        return (f"SwingUpTask(max_steps={self.max_steps}, engine={self.engine!r}{exact}, "
                f"name={self.name!r})")

    # ------------------------------------------------------------------ public scoring
    def evaluate(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> np.ndarray:
        """Episode returns of every network at every shared weight.

        Parameters
        ----------
        nets : sequence of WannNetwork
            5 inputs, 1 output.
        weights : ndarray of shape (n_weights,)
            Shared weight values (finite).
        seed : int
            Repetition ``r`` plays episode seed ``seed + r``.
        n_repeats : int, default=1

        Returns
        -------
        ndarray of shape (n_nets, n_weights, n_repeats)
        """
        return self.rollouts(nets, weights, seed=seed, n_repeats=n_repeats).scores

    def rollouts(self, nets: Sequence[WannNetwork], weights: np.ndarray, *, seed: int,
                 n_repeats: int = 1) -> Rollouts:
        """As :meth:`evaluate`, also returning each episode's step count (for benchmarks)."""
        nets = list(nets)
        for net in nets:
            self.check_network(net)
        weights = _check_weights(weights)
        init = self._initial_states(seed, n_repeats)
        return self._run_shared(nets, weights, init)

    def evaluate_weights(self, net: WannNetwork, conn_weights: np.ndarray, *, seed: int,
                         n_repeats: int = 1) -> np.ndarray:
        """Episode returns of one topology under per-connection weight vectors.

        Parameters
        ----------
        net : WannNetwork
        conn_weights : ndarray of shape (n_sets, n_connections)
            In ``net``'s connection order (``net.conn_src``/``net.conn_dst``); a reference
            ``zoo`` parameter vector ``p`` maps to ``w[net.row_major_order()] = p + bias``.
        seed, n_repeats
            As in :meth:`evaluate`.

        Returns
        -------
        ndarray of shape (n_sets, n_repeats)
        """
        self.check_network(net)
        cw = self._engine_conn_weights(net, conn_weights)
        init = self._initial_states(seed, n_repeats)
        return self._run_conn(net, cw, init)[0]

    def episode_returns(self, net: WannNetwork, seeds: Sequence[int], *,
                        weight: float | None = None,
                        conn_weights: np.ndarray | None = None) -> np.ndarray:
        """Returns of one network on an explicit list of episode seeds (``wann evaluate``).

        Give exactly one of ``weight`` (every connection at that value) and ``conn_weights``
        (shape ``(n_connections,)``, tuned weights in ``net``'s connection order).

        Returns
        -------
        ndarray of shape (n_seeds,)

        Examples
        --------
        >>> from wann_plugin.network import WannNetwork
        >>> net = WannNetwork.from_edges(5, 1, [1] * 7, [(i, 6) for i in range(6)])
        >>> SwingUpTask(max_steps=50).episode_returns(net, [0, 1, 2], weight=1.0).shape
        (3,)
        """
        self.check_network(net)
        if (weight is None) == (conn_weights is None):
            raise ValueError("give exactly one of weight= and conn_weights=")
        init = swingup_initial_states(seeds)
        if conn_weights is not None:
            cw = self._engine_conn_weights(net, np.asarray(conn_weights, dtype=float)[None, :])
            return self._run_conn(net, cw, init)[0][0]
        return self._run_shared([net], _check_weights([weight]), init).scores[0, 0]

    # ------------------------------------------------------------------ internals
    def _engine_conn_weights(self, net: WannNetwork, conn_weights) -> np.ndarray:
        """:meth:`Task.check_conn_weights`, plus what the engine needs: finite values in a
        contiguous array."""
        cw = self.check_conn_weights(net, conn_weights)
        if not np.all(np.isfinite(cw)):
            raise TaskError(f"conn_weights for network {net.key!r} must be finite")
        return np.ascontiguousarray(cw)

    def _initial_states(self, seed: int, n_repeats: int) -> np.ndarray:
        seed = _check_seed(seed, f"[{self.name}] seed")
        if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)):
            raise TypeError(f"[{self.name}] n_repeats must be an int, got {n_repeats!r}")
        if n_repeats < 1:
            raise ValueError(f"[{self.name}] n_repeats == {n_repeats}, must be >= 1")
        if seed + n_repeats - 1 > MAX_SEED:
            raise ValueError(f"[{self.name}] seed + n_repeats - 1 == {seed + n_repeats - 1} "
                             "exceeds 2**32 - 1, the largest episode seed")
        return swingup_initial_states(np.arange(seed, seed + n_repeats))

    def _use_engine(self, net: WannNetwork) -> bool:
        return self.engine == "numba" and net.uses_builtin_activations

    def _run_shared(self, nets: list[WannNetwork], weights: np.ndarray,
                    init: np.ndarray) -> Rollouts:
        n_w, n_r = len(weights), len(init)
        scores = np.empty((len(nets), n_w, n_r))
        steps = np.empty((len(nets), n_w, n_r), dtype=np.int64)
        fast = [i for i, net in enumerate(nets) if self._use_engine(net)]
        if fast:
            from wann_plugin import _engine

            s, n = _engine.run_shared([nets[i] for i in fast], weights, init,
                                      max_steps=self.max_steps, worst=self.worst_score,
                                      exact_math=self.exact_math)
            scores[fast], steps[fast] = s, n
        ep_weight = np.repeat(weights, n_r)
        ep_init = np.tile(init, (n_w, 1))
        for i, net in enumerate(nets):
            if not self._use_engine(net):
                s, n = _rollout_numpy(net, ep_init, self.max_steps, self.worst_score,
                                      weight=ep_weight)
                scores[i], steps[i] = s.reshape(n_w, n_r), n.reshape(n_w, n_r)
        return Rollouts(scores, steps)

    def _run_conn(self, net: WannNetwork, cw: np.ndarray,
                  init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_s, n_r = len(cw), len(init)
        if self._use_engine(net):
            from wann_plugin import _engine

            return _engine.run_conn(net, cw, init, max_steps=self.max_steps,
                                    worst=self.worst_score, exact_math=self.exact_math)
        s, n = _rollout_numpy(net, np.tile(init, (n_s, 1)), self.max_steps, self.worst_score,
                              conn_weights=np.repeat(cw, n_r, axis=0))
        return s.reshape(n_s, n_r), n.reshape(n_s, n_r)


def _check_weights(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0:
        raise ValueError(f"weights must be a non-empty 1-D array, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite, got {w.tolist()}")
    return w




def _rollout_numpy(net: WannNetwork, init: np.ndarray, max_steps: int, worst: float, *,
                   weight: np.ndarray | None = None,
                   conn_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The plain path: ``net.activate`` + :func:`swingup_step`, all episodes in lockstep.

    Every episode is computed every step (finished ones are frozen, not dropped) so that the
    batch shape, and with it numpy's summation order, stays fixed.

    Parameters
    ----------
    init : ndarray of shape (n_episodes, 4)
    weight : ndarray of shape (n_episodes,), optional
        Shared weight per episode.
    conn_weights : ndarray of shape (n_episodes, n_connections), optional

    Returns
    -------
    scores, steps : ndarrays of shape (n_episodes,)
    """
    states = np.array(init, dtype=float)
    n_ep = len(states)
    ret = np.zeros(n_ep)
    steps = np.full(n_ep, max_steps, dtype=np.int64)
    alive = np.ones(n_ep, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(max_steps):
            obs = swingup_observations(states)
            if conn_weights is None:
                out = net.activate(obs, weight)[:, 0]
            else:
                out = net.activate_weights(obs, conn_weights)[:, 0]
            bad = alive & ~np.isfinite(out)
            ret[bad] = worst
            steps[bad] = t + 1
            alive &= ~bad
            force = np.clip(np.where(alive, out, 0.0), -1.0, 1.0) * FORCE_MAG
            nxt, reward, off_track = swingup_step(states, force)
            states[alive] = nxt[alive]
            ret[alive] += reward[alive]
            ended = alive & off_track
            steps[ended] = t + 1
            alive &= ~off_track
            if not alive.any():
                break
    ret[~np.isfinite(ret)] = worst
    return ret, steps


def swingup_hard(max_steps: int = 200, engine: str = "numba",
                 exact_math: bool = False) -> SwingUpTask:
    """The reference's ``swingup_hard``: swing-up with 200-step episodes (2 s to swing up)."""
    return SwingUpTask(max_steps=max_steps, engine=engine, exact_math=exact_math,
                       name="swingup_hard")


register_task("swingup", SwingUpTask)
register_task("swingup_hard", swingup_hard)
