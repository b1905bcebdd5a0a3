"""Custom activations registered at import, and a task whose unpickling imports them.

Worker processes (process pools, Dask workers) import this module when they unpickle
:class:`CustomActivationTask`, and so register the activations in :data:`WORKER_ORDER`; a test
process that registered other custom activations first holds different ids for the same names.
"""

from __future__ import annotations

import numpy as np
from _parallel_helpers import ToyTask

from wann_plugin.activations import ACTIVATIONS, register_activation


def halve(x):
    return np.asarray(x, dtype=float) / 2.0


def cube(x):
    x = np.asarray(x, dtype=float)
    return x * x * x


FUNCS = {"transport_cube": cube, "transport_halve": halve}
#: Registration order of a process that imports this module first.
WORKER_ORDER = ("transport_cube", "transport_halve")

for _name in WORKER_ORDER:
    if _name not in ACTIVATIONS:
        register_activation(_name, FUNCS[_name])


def activation_ids() -> dict:
    """This process's ids of the custom activations (submit it to ask a worker)."""
    return {name: ACTIVATIONS[name].id for name in WORKER_ORDER}


class CustomActivationTask(ToyTask):
    """The toy regression task, defined here so that a worker unpickling it imports this module."""

    name = "toy_custom"
