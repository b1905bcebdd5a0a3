"""wann_plugin: Weight Agnostic Neural Network search for neat-python.

Gaier & Ha (2019), "Weight Agnostic Neural Networks", NeurIPS.
"""

from wann_plugin.activations import ACTIVATIONS, register_activation
from wann_plugin.network import NetworkError, WannNetwork, reference_activate
from wann_plugin.tasks import Task, TaskError, check_task, make_task, register_task

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "NetworkError",
    "Task",
    "TaskError",
    "WannNetwork",
    "check_task",
    "make_task",
    "reference_activate",
    "register_activation",
    "register_task",
]
