"""Small real tasks for the tuning tests: regression onto a teacher network, numpy only."""

from __future__ import annotations

import numpy as np

from wann_plugin.network import WannNetwork
from wann_plugin.tasks.base import Task


class TeacherTask(Task):
    """Imitate a teacher network: score = -mean squared error over a batch of inputs.

    Repetition ``r`` of ``seed`` draws its batch of inputs, uniform in ``[-1, 1]``, from
    ``default_rng(seed + r)``. Implements the whole Task contract plus the ``sample_inputs``
    hook the safe mutations use.
    """

    name = "teacher"
    worst_score = -1e9

    def __init__(self, teacher: WannNetwork, teacher_weights: np.ndarray, *, batch: int = 32):
        self.teacher = teacher
        self.teacher_weights = np.asarray(teacher_weights, dtype=float)
        self.n_inputs = teacher.n_inputs
        self.n_outputs = teacher.n_outputs
        self.batch = batch

    def _inputs(self, seed: int, n_repeats: int) -> np.ndarray:
        return np.stack([np.random.default_rng(seed + r).uniform(-1, 1, (self.batch, self.n_inputs))
                         for r in range(n_repeats)])                      # (R, B, n_in)

    def _score(self, out: np.ndarray, target: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            mse = ((out - target) ** 2).mean(axis=(-1, -2))
        return np.where(np.isfinite(mse), -mse, self.worst_score)

    def evaluate(self, nets, weights, *, seed, n_repeats=1):
        x = self._inputs(seed, n_repeats)
        target = self.teacher.activate_weights(x, self.teacher_weights)  # (R, B, K)
        w = np.asarray(weights, dtype=float)
        return np.stack([self._score(net.activate(x[None], w[:, None, None]), target)
                         for net in nets])                               # (N, W, R)

    def evaluate_weights(self, net, conn_weights, *, seed, n_repeats=1):
        x = self._inputs(seed, n_repeats)
        target = self.teacher.activate_weights(x, self.teacher_weights)
        cw = np.asarray(conn_weights, dtype=float)
        return self._score(net.activate_weights(x[None], cw[:, None, None, :]), target)

    def sample_inputs(self, net, conn_weights, *, seed, n):
        return np.random.default_rng(seed).uniform(-1, 1, (n, self.n_inputs))


def layered_network(n_inputs: int, widths: list[int], n_outputs: int, acts: list[int],
                    *, bias_to_all: bool = True) -> WannNetwork:
    """A fully connected feed-forward network: inputs -> hidden layers -> outputs.

    ``acts`` holds one activation id per hidden layer; outputs are linear.
    """
    layers = [list(range(1 + n_inputs))]
    nxt = 1 + n_inputs
    node_acts = [1] * (1 + n_inputs)
    for width, act in zip(widths, acts):
        layers.append(list(range(nxt, nxt + width)))
        node_acts += [act] * width
        nxt += width
    layers.append(list(range(nxt, nxt + n_outputs)))
    node_acts += [1] * n_outputs
    edges = []
    for prev, cur in zip(layers[:-1], layers[1:]):
        for d in cur:
            edges += [(s, d) for s in prev if s != 0]
            if bias_to_all:
                edges.append((0, d))
    edges = sorted(set(edges))
    return WannNetwork.from_edges(n_inputs, n_outputs, node_acts, edges)


def teacher_task(seed: int = 0, *, widths=(4,), acts=(5,), n_inputs=2, n_outputs=1,
                 batch: int = 32, weight_scale: float = 1.0):
    """(task, net): a random teacher of the given shape; the student shares its topology."""
    net = layered_network(n_inputs, list(widths), n_outputs, list(acts))
    w = np.random.default_rng(seed).uniform(-weight_scale, weight_scale, net.n_connections)
    return TeacherTask(net, w, batch=batch), net
