"""The cart-pole swing-up as a gymnasium environment (``wann_plugin/CartPoleSwingUp-v0``)."""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from wann_plugin.tasks.swingup.physics import (
    FORCE_MAG,
    MAX_SEED,
    POLE_LENGTH,
    T_LIMIT,
    X_THRESHOLD,
    check_seed,
    swingup_initial_states,
    swingup_observations,
    swingup_step,
)

__all__ = ["ENV_ID", "CartPoleSwingUpEnv", "draw_swingup", "swingup_x_to_pixel"]

#: Gymnasium id of :class:`CartPoleSwingUpEnv`.
ENV_ID = "wann_plugin/CartPoleSwingUp-v0"


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
            check_seed(seed, "seed") if seed is not None
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
        """An RGB picture of the track, cart and pole (``render_mode="rgb_array"``): a
        600 x 400 :func:`draw_swingup` frame."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() called with render_mode=None; pass render_mode="
                                  "'rgb_array' to the constructor")
            return None
        state = self.state if self.state is not None else np.array([0.0, 0.0, np.pi, 0.0])
        return draw_swingup(state, width=600, height=400)


_SKY, _TRACK, _CART, _POLE, _AXLE = (255, 255, 255), (60, 60, 60), (40, 90, 200), \
    (200, 110, 40), (30, 30, 30)


def swingup_x_to_pixel(x: float, width: int) -> float:
    """Horizontal pixel of cart position ``x`` in a :func:`draw_swingup` frame of ``width``."""
    return width / 2 + x * width / (2 * X_THRESHOLD * 1.15)


def draw_swingup(state: np.ndarray, *, width: int = 400, height: int = 250) -> np.ndarray:
    """One frame of the cart-pole: track with its ends, cart, pole (the pole's length to
    scale; theta = 0 points up).

    Returns
    -------
    ndarray of shape (height, width, 3), uint8
    """
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), _SKY)
    d = ImageDraw.Draw(img)
    scale = width / (2 * X_THRESHOLD * 1.15)
    track_y = int(height * 0.55)
    left, right = swingup_x_to_pixel(-X_THRESHOLD, width), swingup_x_to_pixel(X_THRESHOLD, width)
    d.line([(left, track_y), (right, track_y)], fill=_TRACK, width=2)
    for end in (left, right):
        d.line([(end, track_y - 10), (end, track_y + 10)], fill=(200, 40, 40), width=3)
    cx = swingup_x_to_pixel(float(state[0]), width)
    cw, ch = 0.5 * scale, 0.25 * scale
    d.rectangle([cx - cw / 2, track_y - ch / 2, cx + cw / 2, track_y + ch / 2], fill=_CART)
    length = 2 * POLE_LENGTH * scale
    tip = (cx + length * np.sin(state[2]), track_y - length * np.cos(state[2]))
    d.line([(cx, track_y), tip], fill=_POLE, width=max(3, int(0.06 * scale)))
    r = max(3, int(0.04 * scale))
    d.ellipse([cx - r, track_y - r, cx + r, track_y + r], fill=_AXLE)
    return np.asarray(img)


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point=f"{__name__}:CartPoleSwingUpEnv",
                       max_episode_steps=T_LIMIT)
