"""Gradient training (method "adam"): exact cross-entropy gradients, Adam, the lift on digits."""

import numpy as np
import pytest

from wann_plugin.network import WannNetwork
from wann_plugin.tasks import make_task
from wann_plugin.tasks.base import TaskError
from wann_plugin.tasks.classify import ClassifyTask
from wann_plugin.tuning import GradientParams, GradientTraining, tune_weights


def sparse_digits_net(seed: int = 0) -> WannNetwork:
    """64 inputs -> 10 tanh hidden nodes (8 inputs each) -> 10 outputs, plus direct links."""
    rng = np.random.default_rng(seed)
    edges = [(int(s), h) for h in range(65, 75)
             for s in rng.choice(np.arange(1, 65), 8, replace=False)]
    edges += [(int(h), o) for o in range(75, 85)
              for h in rng.choice(np.arange(65, 75), 4, replace=False)]
    edges += [(int(s), o) for o in range(75, 85)
              for s in rng.choice(np.arange(1, 65), 3, replace=False)]
    return WannNetwork.from_edges(64, 10, [1] * 65 + [5] * 10 + [1] * 10, sorted(set(edges)))


def test_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    task = ClassifyTask(X, y, batch_size=40)
    net = WannNetwork.from_edges(3, 3, [1, 1, 1, 1, 5, 3, 1, 1, 1],
                                 [(1, 4), (2, 4), (3, 5), (0, 5), (4, 6), (5, 7), (4, 8),
                                  (1, 8), (5, 6)])
    w = rng.normal(size=net.n_connections)
    loss, grad = task.loss_gradient(net, w, seed=3, batch_size=30)
    eps = 1e-6
    for i in range(net.n_connections):
        e = np.zeros_like(w)
        e[i] = eps
        up, _ = task.loss_gradient(net, w + e, seed=3, batch_size=30)
        down, _ = task.loss_gradient(net, w - e, seed=3, batch_size=30)
        assert grad[i] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)
    # the loss is minus the task's own fitness on that mini-batch
    assert loss > 0 and np.any(grad != 0)
    with pytest.raises(TaskError, match="batch_size == 0"):
        task.loss_gradient(net, w, seed=3, batch_size=0)


def test_tasks_without_a_gradient_say_so():
    from wann_plugin.io import load_network  # noqa: F401  (the swing-up task is the example)

    task = make_task("swingup", max_steps=10)
    net = WannNetwork.from_edges(5, 1, [1] * 7, [(1, 6), (3, 6)])
    with pytest.raises(TaskError, match="no loss gradient.*use an evolutionary method"):
        tune_weights(task, net, method="adam", start=0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="needs gradient_fn"):
        GradientTraining(GradientParams(), None)


def test_adam_trained_weights_lift_digits_accuracy_far_above_the_shared_weight():
    task = make_task("digits")
    net = sparse_digits_net()
    res = tune_weights(task, net, method="adam", generations=30, rng=np.random.default_rng(0))
    assert res.method == "adam" and res.improved
    assert res.options["n_validation"] == 8 and res.n_episodes == 30   # one candidate a step
    shared_acc = task.accuracy(net, [res.shared.weight])["per_weight_accuracy"][0]
    trained_acc = task.summary(net, [], conn_weights=res.conn_weights)["accuracy"]
    assert shared_acc < 0.3            # held-out images, one shared weight
    assert trained_acc > 0.7           # the same topology with trained weights
    again = tune_weights(task, net, method="adam", generations=30, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(res.conn_weights, again.conn_weights)
