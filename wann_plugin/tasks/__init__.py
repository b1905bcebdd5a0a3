"""Things a network is judged on. Importing this package registers the built-in tasks."""

from wann_plugin.tasks.base import (
    TASKS,
    Task,
    TaskError,
    UnknownTaskError,
    check_task,
    make_task,
    register_task,
)
from wann_plugin.tasks.swingup import (
    CartPoleSwingUpEnv,
    SwingUpTask,
    swingup_initial_states,
    swingup_observations,
    swingup_step,
)

__all__ = ["TASKS", "Task", "TaskError", "UnknownTaskError", "check_task", "make_task",
           "register_task", "CartPoleSwingUpEnv", "SwingUpTask", "swingup_initial_states",
           "swingup_observations", "swingup_step",
           ]
