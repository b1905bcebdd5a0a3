"""Cart-pole swing-up: the physics, a gymnasium environment and the WANN task.

:mod:`~wann_plugin.tasks.swingup.physics`
    The reference's dynamics, reward and start states, written once.
:mod:`~wann_plugin.tasks.swingup.env`
    :class:`CartPoleSwingUpEnv`, registered as ``wann_plugin/CartPoleSwingUp-v0``.
:mod:`~wann_plugin.tasks.swingup.task`
    :class:`SwingUpTask` (registered as ``swingup`` and ``swingup_hard``).
:mod:`~wann_plugin.tasks.swingup.kernel`
    The compiled kernel: network forward and physics of many episodes in one call.
"""

from wann_plugin.tasks.swingup.env import (
    ENV_ID,
    CartPoleSwingUpEnv,
    draw_swingup,
    swingup_x_to_pixel,
)
from wann_plugin.tasks.swingup.physics import (
    FORCE_MAG,
    MAX_SEED,
    POLE_LENGTH,
    T_LIMIT,
    X_THRESHOLD,
    swingup_initial_states,
    swingup_observations,
    swingup_step,
)
from wann_plugin.tasks.swingup.task import (
    ENGINES,
    Rollouts,
    SwingUpTask,
    rollout_numpy,
    swingup_hard,
)

__all__ = [
    "CartPoleSwingUpEnv",
    "ENGINES",
    "ENV_ID",
    "FORCE_MAG",
    "MAX_SEED",
    "POLE_LENGTH",
    "Rollouts",
    "SwingUpTask",
    "T_LIMIT",
    "rollout_numpy",
    "X_THRESHOLD",
    "draw_swingup",
    "swingup_hard",
    "swingup_initial_states",
    "swingup_observations",
    "swingup_step",
    "swingup_x_to_pixel",
]
