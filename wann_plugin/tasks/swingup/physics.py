"""Cart-pole swing-up physics, written once: the environment, the batched numpy path and the
compiled kernel all evaluate these functions.

The dynamics, reward and episode end are those of the reference WANN implementation
(Gaier & Ha 2019, ``WANN/domain/cartpole_swingup.py``, itself from zuoxingdong/DeepPILCO), to the
constant and to the order of the floating-point operations:

* constants: g = 9.82, cart mass 0.5, pole mass 0.5, pole half-length ``l`` = 0.6, force 10 N,
  dt = 0.01 s, cart friction b = 0.1, track ``|x| <= 2.4``;
* explicit Euler: positions move with the *old* velocities, then the velocities are updated;
* reward ``((cos th + 1) / 2) * cos((x / 2.4) * pi / 2)``, paid on the terminating step too;
* the pole starts hanging down: ``RandomState(seed).normal([0, 0, pi, 0], 0.2)``.

:func:`dynamics` and :func:`reward` are plain arithmetic on floats or numpy arrays; the compiled
kernel (:mod:`wann_plugin.tasks.swingup.kernel`) jit-compiles these very functions, so keep
them free of Python-only constructs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DT",
    "FORCE_MAG",
    "MAX_SEED",
    "T_LIMIT",
    "X_THRESHOLD",
    "check_seed",
    "dynamics",
    "reward",
    "swingup_initial_states",
    "swingup_observations",
    "swingup_step",
]

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
# The operation order follows the
# reference formulas term by term: the episodes are chaotic, and a different rounding in one
# step changes returns by whole points a few hundred steps later.
def dynamics(x, x_dot, theta, theta_dot, force, sin_theta, cos_theta):
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


def reward(x, cos_theta):
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
    seeds = [check_seed(s, "seed") for s in np.asarray(seeds).reshape(-1)]
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
    nxt = dynamics(x, x_dot, theta, theta_dot, forces, np.sin(theta), np.cos(theta))
    next_states = np.stack(nxt, axis=-1)
    rewards = reward(nxt[0], np.cos(nxt[2]))
    terminated = (nxt[0] < -X_THRESHOLD) | (nxt[0] > X_THRESHOLD)
    return next_states, rewards, terminated


def check_seed(seed, what: str) -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]`` (``what`` names it in errors)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{what} == {int(seed)}, must be in [0, 2**32 - 1]")
    return int(seed)
