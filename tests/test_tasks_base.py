"""wann_plugin.tasks.base: the Task contract's defaults and shared helpers."""

from __future__ import annotations

import numpy as np
import pytest

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import ENGINES, Task, TaskError, check_engine, subsample_rows


class Minimal(Task):
    name, n_inputs, n_outputs = "minimal", 1, 1

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        return np.zeros((len(nets), len(weights), n_repeats))


def test_sample_inputs_default_says_the_task_does_not_support_it():
    net = WannNetwork.from_edges(1, 1, [1, 1, 1], [(1, 2)])
    with pytest.raises(NotImplementedError,
                       match=r"task 'minimal' \(Minimal\) does not support sample_inputs\("
                             r"net, conn_weights, \*, seed, n\).*'ga', 'pepg' or 'cma'"):
        Minimal().sample_inputs(net, np.ones(1), seed=0, n=5)


def test_subsample_rows_keeps_order_and_is_seeded():
    x = np.arange(40).reshape(20, 2)
    assert subsample_rows(x, 20, seed=1) is not None
    np.testing.assert_array_equal(subsample_rows(x, 25, seed=1), x)
    sub = subsample_rows(x, 5, seed=3)
    assert sub.shape == (5, 2) and np.all(np.diff(sub[:, 0]) > 0)
    np.testing.assert_array_equal(sub, subsample_rows(x, 5, seed=3))
    assert not np.array_equal(sub, subsample_rows(x, 5, seed=4))


def test_check_engine_is_a_task_error_with_a_hint():
    assert ENGINES == ("numba", "numpy") and check_engine("numpy", "t") == "numpy"
    with pytest.raises(TaskError, match="task 't' option engine == 'numpi'.*did you mean 'numpy'"):
        check_engine("numpi", "t")
