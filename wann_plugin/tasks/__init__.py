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
from wann_plugin.tasks.biped import BipedTask, NoFallPenalty, make_biped_env
from wann_plugin.tasks.carracing import CarRacingTask, PCAEncoder
from wann_plugin.tasks.classify import ClassifyTask, make_digits_task, make_mnist_task
from wann_plugin.tasks.gym import GymTask
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
           "GymTask", "BipedTask", "NoFallPenalty", "make_biped_env", "ClassifyTask",
           "make_digits_task", "make_mnist_task", "CarRacingTask", "PCAEncoder"]
