"""The best shared weight: grid sweep plus golden-section refinement."""

import numpy as np
import pytest
from tuning_helpers import TeacherTask, layered_network

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task
from wann_plugin.tuning import DEFAULT_GRID, best_shared_weight


class CountingTeacher(TeacherTask):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        self.calls.append((np.array(weights), seed, n_repeats))
        return super().evaluate(nets, weights, seed=seed, n_repeats=n_repeats)


def test_finds_the_teachers_shared_weight_between_grid_points():
    net = layered_network(2, [3], 1, [5])
    true_w = 0.637
    task = CountingTeacher(net, np.full(net.n_connections, true_w))
    res = best_shared_weight(task, net, seed=5, n_repeats=2)
    assert res.weight == pytest.approx(true_w, abs=2e-3)
    assert res.score > -1e-5 and res.score >= res.grid_scores.max()
    np.testing.assert_array_equal(res.grid, DEFAULT_GRID)
    assert res.grid_scores.shape == res.grid_std.shape == (41,)
    assert len(res.weights) == 41 + 12 and np.all(np.diff(res.weights) > 0)
    # one batched sweep, then one weight per refinement step, all on the same episodes
    assert len(task.calls[0][0]) == 41 and all(len(c[0]) == 1 for c in task.calls[1:])
    assert {(c[1], c[2]) for c in task.calls} == {(5, 2)}
    # without refinement, the grid's best
    res0 = best_shared_weight(task, net, seed=5, n_repeats=2, refine_iters=0)
    assert res0.weight == pytest.approx(0.6)
    assert res0.score < res.score


def test_custom_grid_and_edges():
    net = layered_network(1, [], 1, [])          # y = w * (x + 1)
    task = TeacherTask(net, np.full(net.n_connections, -3.0))
    res = best_shared_weight(task, net, grid=[-1.0, 0.0, 1.0])
    assert res.weight == pytest.approx(-1.0)  # the optimum lies outside: stays at the edge
    with pytest.raises(ValueError, match="at least 2 distinct"):
        best_shared_weight(task, net, grid=[1.0, 1.0])
    with pytest.raises(ValueError, match="refine_iters == -1"):
        best_shared_weight(task, net, refine_iters=-1)


class NanAtPositive(Task):
    name, n_inputs, n_outputs = "nan", 1, 1

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        w = np.asarray(weights)
        s = np.where(w > 0, np.nan, w)  # best finite score at w = 0
        return np.broadcast_to(s[None, :, None], (len(nets), len(w), n_repeats)).copy()


def test_nan_scores_count_as_worst():
    net = WannNetwork.from_edges(1, 1, [1, 1, 1], [(1, 2)])
    res = best_shared_weight(NanAtPositive(), net, refine_iters=4)
    assert res.weight == 0.0 and res.score == 0.0
    assert np.all(res.grid_scores[res.grid > 0] == -np.inf)
    d = res.to_dict()
    assert d["weight"] == 0.0 and len(d["grid"]) == 41
